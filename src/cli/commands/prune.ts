/** `container prune` and `image prune`: confirm (unless -f), POST /…/prune, report like docker. */
import { confirm, filtersJson, type CommandDef } from '../context.js';
import { humanSize } from '../units.js';

const FILTER = { long: 'filter', kind: 'list', type: 'filter', help: 'Provide filter values (e.g. "until=<timestamp>")' } as const;
const FORCE = { long: 'force', short: 'f', kind: 'bool', help: 'Do not prompt for confirmation' } as const;

export const containerPrune: CommandDef = {
  name: 'container prune',
  usage: '[OPTIONS]',
  description: 'Remove all stopped containers',
  flags: [FILTER, FORCE],
  maxArgs: 0,
  async run(cli, f) {
    if (!f.bool('force') && !(await confirm(cli, 'WARNING! This will remove all stopped containers.\nAre you sure you want to continue?'))) return 0;
    const r = await cli.client().json<{ ContainersDeleted?: string[] | null; SpaceReclaimed?: number }>('POST', '/containers/prune', {
      query: { filters: filtersJson(f.list('filter')) },
    });
    const deleted = r.ContainersDeleted ?? [];
    if (deleted.length > 0) cli.out(`Deleted Containers:\n${deleted.map((id) => `${id}\n`).join('')}\n`);
    cli.out(`Total reclaimed space: ${humanSize(r.SpaceReclaimed ?? 0)}\n`);
    return 0;
  },
};

export const imagePrune: CommandDef = {
  name: 'image prune',
  usage: '[OPTIONS]',
  description: 'Remove unused images',
  flags: [{ long: 'all', short: 'a', kind: 'bool', help: 'Remove all unused images, not just dangling ones' }, FILTER, FORCE],
  maxArgs: 0,
  async run(cli, f) {
    const all = f.bool('all');
    const warning = all
      ? 'WARNING! This will remove all images without at least one container associated to them.'
      : 'WARNING! This will remove all dangling images.';
    if (!f.bool('force') && !(await confirm(cli, `${warning}\nAre you sure you want to continue?`))) return 0;
    const r = await cli.client().json<{ ImagesDeleted?: { Untagged?: string; Deleted?: string }[] | null; SpaceReclaimed?: number }>('POST', '/images/prune', {
      query: { filters: filtersJson(f.list('filter'), { dangling: [all ? 'false' : 'true'] }) },
    });
    const deleted = r.ImagesDeleted ?? [];
    if (deleted.length > 0) {
      cli.out(`Deleted Images:\n${deleted.map((d) => (d.Untagged ? `untagged: ${d.Untagged}\n` : `deleted: ${d.Deleted ?? ''}\n`)).join('')}\n`);
    }
    cli.out(`Total reclaimed space: ${humanSize(r.SpaceReclaimed ?? 0)}\n`);
    return 0;
  },
};
