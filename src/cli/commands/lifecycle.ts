/** stop, kill, restart, rm, pause, unpause, rename, wait: one Engine API call per container. */
import { NotFound } from '../../core/errors.js';
import type { FlagDef, Flags } from '../args.js';
import { forEachTarget, formatError, StatusError, type Cli, type CommandDef } from '../context.js';

const c = (name: string) => `/containers/${encodeURIComponent(name)}`;

function simple(
  name: string,
  description: string,
  flags: FlagDef[],
  action: (cli: Cli, f: Flags, target: string) => Promise<string | undefined>,
): CommandDef {
  return {
    name,
    usage: '[OPTIONS] CONTAINER [CONTAINER...]',
    description,
    flags,
    minArgs: 1,
    run: (cli, f, args) => forEachTarget(cli, args, (t) => action(cli, f, t)),
  };
}

/** `-t, --timeout` (docker 23 and later), and `--time`, its older name, hidden as docker hides it. */
const TIMEOUT_FLAGS: readonly FlagDef[] = [
  { long: 'timeout', short: 't', kind: 'int', help: 'Seconds to wait before killing the container' },
  { long: 'time', kind: 'int', help: 'Seconds to wait before killing the container (deprecated: use --timeout)', hidden: true },
];

function timeout(f: Flags): number | undefined {
  if (f.changed('timeout')) return f.int('timeout');
  return f.changed('time') ? f.int('time') : undefined;
}

export const stop = simple(
  'stop',
  'Stop one or more running containers',
  [
    { long: 'signal', short: 's', kind: 'string', help: 'Signal to send to the container' },
    ...TIMEOUT_FLAGS,
  ],
  async (cli, f, t) => {
    await cli.client().call('POST', `${c(t)}/stop`, { query: { t: timeout(f), signal: f.str('signal') || undefined } });
    return t;
  },
);

export const kill = simple(
  'kill',
  'Kill one or more running containers',
  [{ long: 'signal', short: 's', kind: 'string', help: 'Signal to send to the container' }],
  async (cli, f, t) => {
    await cli.client().call('POST', `${c(t)}/kill`, { query: { signal: f.str('signal') || undefined } });
    return t;
  },
);

export const restart = simple(
  'restart',
  'Restart one or more containers',
  [
    { long: 'signal', short: 's', kind: 'string', help: 'Signal to send to the container' },
    ...TIMEOUT_FLAGS,
  ],
  async (cli, f, t) => {
    await cli.client().call('POST', `${c(t)}/restart`, { query: { t: timeout(f), signal: f.str('signal') || undefined } });
    return t;
  },
);

export const rm = simple(
  'rm',
  'Remove one or more containers',
  [
    { long: 'force', short: 'f', kind: 'bool', help: 'Force the removal of a running container (uses SIGKILL)' },
    { long: 'link', short: 'l', kind: 'bool', help: 'Remove the specified link' },
    { long: 'volumes', short: 'v', kind: 'bool', help: 'Remove anonymous volumes associated with the container' },
  ],
  async (cli, f, t) => {
    const name = t.replace(/^\//, '');
    if (name === '') throw new Error('Container name cannot be empty');
    try {
      await cli.client().call('DELETE', c(name), { query: { v: f.bool('volumes') || undefined, link: f.bool('link') || undefined, force: f.bool('force') || undefined } });
    } catch (e) {
      if (f.bool('force') && e instanceof NotFound) return undefined;
      throw e;
    }
    return name;
  },
);

export const pause = simple('pause', 'Pause all processes within one or more containers', [], async (cli, _f, t) => {
  await cli.client().call('POST', `${c(t)}/pause`);
  return t;
});

export const unpause = simple('unpause', 'Unpause all processes within one or more containers', [], async (cli, _f, t) => {
  await cli.client().call('POST', `${c(t)}/unpause`);
  return t;
});

export const wait = simple('wait', 'Block until one or more containers stop, then print their exit codes', [], async (cli, _f, t) => {
  const res = await cli.client().json<{ StatusCode: number; Error?: { Message?: string } | null }>('POST', `${c(t)}/wait`);
  if (res.Error?.Message) throw new Error(res.Error.Message);
  return String(res.StatusCode);
});

export const rename: CommandDef = {
  name: 'rename',
  usage: 'CONTAINER NEW_NAME',
  description: 'Rename a container',
  flags: [],
  minArgs: 2,
  maxArgs: 2,
  async run(cli, _f, args) {
    const [oldName = '', newName = ''] = args.map((a) => a.trim());
    if (oldName === '' || newName === '') throw new Error('Error: neither old nor new names may be empty');
    try {
      await cli.client().call('POST', `${c(oldName)}/rename`, { query: { name: newName } });
    } catch (e) {
      // docker prints the daemon's answer, then what failed.
      cli.err(`${formatError(e)}\n`);
      throw new StatusError(1, `Error: failed to rename container named ${oldName}`);
    }
    return 0;
  },
};
