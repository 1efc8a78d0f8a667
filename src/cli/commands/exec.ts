/**
 * `berth exec`: POST /containers/{id}/exec, then hijacked POST /exec/{id}/start
 * (or a detached start), then GET /exec/{id}/json for the exit code.
 */
import type { Flags } from '../args.js';
import { StatusError, type Cli, type CommandDef } from '../context.js';
import { readEnv } from '../envfile.js';
import { checkTty, monitorTtySize, streamConnection, terminalSize } from '../session.js';

/** The exec create body for exec flags (docker's `parseExec`). */
export function execConfig(f: Flags, cmd: readonly string[], env: NodeJS.ProcessEnv, consoleSize?: [number, number]): Record<string, unknown> {
  const detach = f.bool('detach');
  const body: Record<string, unknown> = {
    User: f.str('user') ?? '',
    Privileged: f.bool('privileged'),
    Tty: f.bool('tty'),
    ConsoleSize: consoleSize ?? null,
    AttachStdin: !detach && f.bool('interactive'),
    AttachStderr: !detach,
    AttachStdout: !detach,
    Detach: detach,
    DetachKeys: f.str('detach-keys') ?? '',
    Env: readEnv(f.list('env-file'), f.list('env'), env),
    WorkingDir: f.str('workdir') ?? '',
    Cmd: [...cmd],
  };
  return body;
}

async function runExec(cli: Cli, f: Flags, args: string[]): Promise<number> {
  const [container = '', ...cmd] = args;
  const client = cli.client();
  const tty = f.bool('tty');
  const detach = f.bool('detach');
  const size = tty ? terminalSize(cli) : undefined;
  const body = execConfig(f, cmd, cli.io.env, size);
  if (!detach) await checkTty(body.AttachStdin === true, tty);
  const { Id: id } = await client.json<{ Id: string }>('POST', `/containers/${encodeURIComponent(container)}/exec`, { body });
  const startPath = `/exec/${encodeURIComponent(id)}/start`;
  if (detach) {
    await client.call('POST', startPath, { body: { Detach: true, Tty: tty, ...(size ? { ConsoleSize: size } : {}) } });
    return 0;
  }
  const conn = await client.hijack('POST', startPath, { body: { Detach: false, Tty: tty, ...(size ? { ConsoleSize: size } : {}) }, tty });
  const stopResize = tty ? monitorTtySize(cli, `/exec/${encodeURIComponent(id)}/resize`) : () => {};
  try {
    const keys = f.str('detach-keys');
    const result = await streamConnection(cli, { conn, tty, stdin: body.AttachStdin === true, ...(keys ? { detachKeys: keys } : {}) });
    if (result === 'detached') return 0;
  } finally {
    stopResize();
  }
  const inspect = await client.json<{ ExitCode: number | null; Running?: boolean }>('GET', `/exec/${encodeURIComponent(id)}/json`);
  const code = inspect.ExitCode ?? 0;
  if (code !== 0) throw new StatusError(code);
  return 0;
}

export const exec: CommandDef = {
  name: 'exec',
  usage: '[OPTIONS] CONTAINER COMMAND [ARG...]',
  description: 'Execute a command in a running container',
  flags: [
    { long: 'detach', short: 'd', kind: 'bool', help: 'Detached mode: run command in the background' },
    { long: 'detach-keys', kind: 'string', help: 'Override the key sequence for detaching a container' },
    { long: 'env', short: 'e', kind: 'list', help: 'Set environment variables' },
    { long: 'env-file', kind: 'list', help: 'Read in a file of environment variables' },
    { long: 'interactive', short: 'i', kind: 'bool', help: 'Keep STDIN open even if not attached' },
    { long: 'privileged', kind: 'bool', help: 'Give extended privileges to the command' },
    { long: 'tty', short: 't', kind: 'bool', help: 'Allocate a pseudo-TTY' },
    { long: 'user', short: 'u', kind: 'string', help: 'Username or UID (format: "<name|uid>[:<group|gid>]")' },
    { long: 'workdir', short: 'w', kind: 'string', help: 'Working directory inside the container' },
  ],
  interspersed: false,
  minArgs: 2,
  run: runExec,
};
