/** `berth logs`: inspect for the TTY setting, then GET /containers/{id}/logs, demultiplexed unless TTY. */
import { demux } from '../../client/index.js';
import type { Flags } from '../args.js';
import { errorMessage } from '../../core/errors.js';
import { StatusError, type Cli, type CommandDef } from '../context.js';
import { getTimestamp } from '../times.js';

async function runLogs(cli: Cli, f: Flags, args: string[]): Promise<number> {
  const client = cli.client();
  const name = args[0] as string;
  const c = await client.json<{ Id: string; Config: { Tty?: boolean } }>('GET', `/containers/${encodeURIComponent(name)}/json`);
  const now = new Date();
  // A time docker cannot read, named as its client names it (`invalid value for "since": ...`).
  const time = (flag: 'since' | 'until'): string | undefined => {
    const v = f.str(flag);
    if (!v) return undefined;
    try {
      return getTimestamp(v, now);
    } catch (e) {
      throw new StatusError(1, `invalid value for "${flag}": ${errorMessage(e)}`);
    }
  };
  const since = time('since');
  const until = time('until');
  const res = await client.request('GET', `/containers/${encodeURIComponent(name)}/logs`, {
    query: {
      stdout: true,
      stderr: true,
      since,
      until,
      timestamps: f.bool('timestamps') || undefined,
      follow: f.bool('follow') || undefined,
      tail: f.str('tail') ?? 'all',
      details: f.bool('details') || undefined,
    },
  });
  await demux(res.stream, cli.io.stdout, cli.io.stderr, { tty: c.Config.Tty === true });
  return 0;
}

export const logs: CommandDef = {
  name: 'logs',
  usage: '[OPTIONS] CONTAINER',
  description: 'Fetch the logs of a container',
  flags: [
    { long: 'details', kind: 'bool', help: 'Show extra details provided to logs' },
    { long: 'follow', short: 'f', kind: 'bool', help: 'Follow log output' },
    { long: 'since', kind: 'string', help: 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)' },
    { long: 'tail', short: 'n', kind: 'string', default: 'all', help: 'Number of lines to show from the end of the logs' },
    { long: 'timestamps', short: 't', kind: 'bool', help: 'Show timestamps' },
    { long: 'until', kind: 'string', help: 'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)' },
  ],
  minArgs: 1,
  maxArgs: 1,
  run: runLogs,
};
