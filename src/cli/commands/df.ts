/** `berth system df [-v] [--format]`: GET /system/df rendered by docker 28's disk usage formatter. */
import type { CommandDef } from '../context.js';
import { renderDiskUsage, type DiskUsage } from '../disk-usage.js';
import { formatted } from './volume.js';

export const systemDf: CommandDef = {
  name: 'system df',
  usage: '[OPTIONS]',
  description: 'Show berth disk usage',
  flags: [
    { long: 'format', kind: 'string', help: "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go template" },
    { long: 'verbose', short: 'v', kind: 'bool', help: 'Show detailed information on space usage' },
  ],
  maxArgs: 0,
  async run(cli, f) {
    const du = await cli.client().json<DiskUsage>('GET', '/system/df');
    cli.out(formatted(() => renderDiskUsage(du ?? {}, { format: f.str('format'), verbose: f.bool('verbose') })));
    return 0;
  },
};
