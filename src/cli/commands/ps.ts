/** `berth ps` / `container ls`: GET /containers/json rendered like docker's formatter. */
import { formatRows } from '../format/index.js';
import type { Flags } from '../args.js';
import { filtersJson, type Cli, type CommandDef } from '../context.js';
import { PS_HEADERS, PS_TABLE, containerRow, type ContainerSummary } from '../rows.js';

/** The GET /containers/json query for ps flags (docker's `buildContainerListOptions`). */
export function psQuery(f: Flags): Record<string, string | boolean | number | undefined> {
  let limit = f.int('last') ?? -1;
  if (f.bool('latest') && limit === -1) limit = 1;
  const format = f.str('format') ?? '';
  let size = f.bool('size');
  if (!size && !f.changed('size') && !f.bool('quiet') && /\.Size\b/.test(format)) size = true;
  return {
    all: f.bool('all') || undefined,
    limit: limit > 0 ? limit : undefined,
    size: size || undefined,
    filters: filtersJson(f.list('filter')),
  };
}

async function runPs(cli: Cli, f: Flags): Promise<number> {
  const list = await cli.client().json<ContainerSummary[]>('GET', '/containers/json', { query: psQuery(f) });
  const trunc = !f.bool('no-trunc');
  const now = Date.now();
  const rows = (list ?? []).map((c) => containerRow(c, { trunc, now }));
  let format = f.str('format');
  if (f.bool('quiet') && (format === undefined || format === '')) format = '{{.ID}}';
  const table = f.bool('size') ? `${PS_TABLE}\t{{.Size}}` : PS_TABLE;
  cli.out(formatRows(format, rows, { table, headers: PS_HEADERS, context: '*formatter.ContainerContext' }));
  return 0;
}

export const ps: CommandDef = {
  name: 'ps',
  usage: '[OPTIONS]',
  description: 'List containers',
  flags: [
    { long: 'all', short: 'a', kind: 'bool', help: 'Show all containers (default shows just running)' },
    { long: 'filter', short: 'f', kind: 'list', type: 'filter', help: 'Filter output based on conditions provided' },
    { long: 'format', kind: 'string', help: "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go template" },
    { long: 'last', short: 'n', kind: 'int', default: -1, help: 'Show n last created containers (includes all states)' },
    { long: 'latest', short: 'l', kind: 'bool', help: 'Show the latest created container (includes all states)' },
    { long: 'no-trunc', kind: 'bool', help: "Don't truncate output" },
    { long: 'quiet', short: 'q', kind: 'bool', help: 'Only display container IDs' },
    { long: 'size', short: 's', kind: 'bool', help: 'Display total file sizes' },
  ],
  maxArgs: 0,
  run: runPs,
};
