/** `berth start [-a] [-i] CONTAINER...` */
import type { Flags } from '../args.js';
import { StatusError, formatError, type Cli, type CommandDef } from '../context.js';
import { checkTty } from '../session.js';
import { attachStartWait } from './run.js';

interface Inspect {
  Id: string;
  Config: { Tty?: boolean; OpenStdin?: boolean };
  HostConfig?: { AutoRemove?: boolean };
}

async function runStart(cli: Cli, f: Flags, args: string[]): Promise<number> {
  const client = cli.client();
  if (f.bool('attach') || f.bool('interactive')) {
    if (args.length > 1) throw new Error('you cannot start and attach multiple containers at once');
    const c = await client.json<Inspect>('GET', `/containers/${encodeURIComponent(args[0] as string)}/json`);
    const tty = c.Config.Tty === true;
    const stdin = f.bool('interactive') && c.Config.OpenStdin === true;
    await checkTty(stdin, tty);
    const keys = f.str('detach-keys');
    return attachStartWait(cli, c.Id, {
      tty,
      stdin,
      stdout: true,
      stderr: true,
      autoRemove: c.HostConfig?.AutoRemove === true,
      sigProxy: true,
      ...(keys ? { detachKeys: keys } : {}),
      start: () => client.call('POST', `/containers/${encodeURIComponent(c.Id)}/start`),
    });
  }
  const failed: string[] = [];
  for (const name of args) {
    try {
      await client.call('POST', `/containers/${encodeURIComponent(name)}/start`);
      cli.out(`${name}\n`);
    } catch (e) {
      cli.err(`${formatError(e)}\n`);
      failed.push(name);
    }
  }
  if (failed.length > 0) throw new StatusError(1, `Error: failed to start containers: ${failed.join(', ')}`);
  return 0;
}

export const start: CommandDef = {
  name: 'start',
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Start one or more stopped containers',
  flags: [
    { long: 'attach', short: 'a', kind: 'bool', help: 'Attach STDOUT/STDERR and forward signals' },
    { long: 'detach-keys', kind: 'string', help: 'Override the key sequence for detaching a container' },
    { long: 'interactive', short: 'i', kind: 'bool', help: "Attach container's STDIN" },
  ],
  minArgs: 1,
  run: runStart,
};
