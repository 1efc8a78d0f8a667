/** `berth attach`: inspect, register the wait, hijack POST /containers/{id}/attach, stream, exit with the status. */
import type { Flags } from '../args.js';
import { type Cli, type CommandDef } from '../context.js';
import { checkTty, forwardSignals, monitorTtySize, streamConnection } from '../session.js';

interface Inspect {
  Id: string;
  Config: { Tty?: boolean; OpenStdin?: boolean };
  State: { Running?: boolean; Paused?: boolean; Restarting?: boolean };
}

async function runAttach(cli: Cli, f: Flags, args: string[]): Promise<number> {
  const client = cli.client();
  const c = await client.json<Inspect>('GET', `/containers/${encodeURIComponent(args[0] as string)}/json`);
  if (!c.State.Running) throw new Error('You cannot attach to a stopped container, start it first');
  if (c.State.Paused) throw new Error('You cannot attach to a paused container, unpause it first');
  if (c.State.Restarting) throw new Error('You cannot attach to a restarting container, wait until it is running');
  const tty = c.Config.Tty === true;
  const stdin = !f.bool('no-stdin') && c.Config.OpenStdin === true;
  await checkTty(stdin, tty);
  const cid = encodeURIComponent(c.Id);
  const keys = f.str('detach-keys');
  const waiting = client.request('POST', `/containers/${cid}/wait`);
  waiting.catch(() => undefined); // awaited below; keep an early failure from being unhandled
  const conn = await client.hijack('POST', `/containers/${cid}/attach`, {
    query: { stream: true, stdin: stdin || undefined, stdout: true, stderr: true, detachKeys: keys || undefined },
    tty,
  });
  const stopResize = tty ? monitorTtySize(cli, `/containers/${cid}/resize`) : () => {};
  const stopSignals = f.bool('sig-proxy') && !tty ? forwardSignals(client, c.Id) : () => {};
  try {
    const result = await streamConnection(cli, { conn, tty, stdin, ...(keys ? { detachKeys: keys } : {}) });
    const waitRes = await waiting;
    if (result === 'detached') {
      waitRes.stream.destroy();
      return 0;
    }
    const status = await waitRes.json<{ StatusCode: number }>();
    return status?.StatusCode ?? 0;
  } finally {
    stopResize();
    stopSignals();
  }
}

export const attach: CommandDef = {
  name: 'attach',
  usage: '[OPTIONS] CONTAINER',
  description: 'Attach local standard input, output, and error streams to a running container',
  flags: [
    { long: 'detach-keys', kind: 'string', help: 'Override the key sequence for detaching a container' },
    { long: 'no-stdin', kind: 'bool', help: 'Do not attach STDIN' },
    { long: 'sig-proxy', kind: 'bool', default: true, help: 'Proxy all received signals to the process' },
  ],
  minArgs: 1,
  maxArgs: 1,
  run: runAttach,
};
