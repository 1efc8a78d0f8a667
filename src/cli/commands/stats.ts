/** `berth stats`: one sample per container (GET /containers/{id}/stats?stream=0), computed like docker. */
import { formatRows } from '../format/index.js';
import { formatError, type Cli, type CommandDef } from '../context.js';
import { STATS_HEADERS, STATS_TABLE, invalidStats, statsEntry, statsRow, type StatsEntry, type StatsJson } from '../stats-calc.js';
import type { Flags } from '../args.js';

async function sample(cli: Cli, targets: readonly string[]): Promise<{ entries: StatsEntry[]; errors: string[] }> {
  const client = cli.client();
  const results = await Promise.allSettled(
    targets.map((t) => client.json<StatsJson>('GET', `/containers/${encodeURIComponent(t)}/stats`, { query: { stream: false } })),
  );
  const entries: StatsEntry[] = [];
  const errors: string[] = [];
  results.forEach((r, i) => {
    const t = targets[i] as string;
    if (r.status === 'fulfilled') entries.push(statsEntry(t, r.value));
    else {
      entries.push(invalidStats(t));
      errors.push(formatError(r.reason));
    }
  });
  return { entries, errors };
}

async function runStats(cli: Cli, f: Flags, args: string[]): Promise<number> {
  const client = cli.client();
  const render = (entries: StatsEntry[]) =>
    formatRows(f.str('format'), entries.map((e) => statsRow(e, { trunc: !f.bool('no-trunc') })), { table: STATS_TABLE, headers: STATS_HEADERS, context: '*container.statsContext' });
  // Containers it lists itself go by their short IDs, as docker's do (its `.Container`).
  const targets = async () =>
    args.length > 0 ? args : ((await client.json<{ Id: string }[]>('GET', '/containers/json', { query: { all: f.bool('all') || undefined } })) ?? []).map((c) => c.Id.slice(0, 12));
  let first: Awaited<ReturnType<typeof sample>> | undefined = await sample(cli, await targets());
  // Containers named on the command line must all answer once, or nothing is shown (docker's rule).
  if (args.length > 0 && first.errors.length > 0) {
    for (const e of first.errors) cli.err(`${e}\n`);
    return 1;
  }
  if (f.bool('no-stream')) {
    cli.out(render(first.entries.filter((e) => !e.isInvalid)));
    for (const e of first.errors) cli.err(`${e}\n`);
    return first.errors.length > 0 ? 1 : 0;
  }
  const tty = cli.io.stdout.isTTY === true;
  for (;;) {
    const { entries } = first ?? (await sample(cli, await targets()));
    first = undefined;
    cli.out(`${tty ? '\x1b[2J\x1b[H' : ''}${render(entries)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export const stats: CommandDef = {
  name: 'stats',
  usage: '[OPTIONS] [CONTAINER...]',
  description: 'Display a live stream of container(s) resource usage statistics',
  flags: [
    { long: 'all', short: 'a', kind: 'bool', help: 'Show all containers (default shows just running)' },
    { long: 'format', kind: 'string', help: "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go template" },
    { long: 'no-stream', kind: 'bool', help: 'Disable streaming stats and only pull the first result' },
    { long: 'no-trunc', kind: 'bool', help: "Do not truncate output" },
  ],
  run: runStats,
};
