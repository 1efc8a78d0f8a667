/**
 * `container prune`, `image prune`, `volume prune` and `system prune`: confirm (unless -f),
 * POST /…/prune, report like docker 28. The pruners are the docker CLI's `RunPrune` functions:
 * each returns the space reclaimed and its `Deleted …:` text, and `system prune` runs them in
 * docker's order (containers, networks, volumes with --volumes, images, build cache).
 */
import { filtersJson, confirm, StatusError, type Cli, type CommandDef } from '../context.js';
import { hasFilter, systemPruneWarning } from '../disk-usage.js';
import { pruneResult, pruneSummary, VOLUME_PRUNE_ALL_WARNING, VOLUME_PRUNE_WARNING, type PruneResult } from '../volumes.js';

const FILTER = { long: 'filter', kind: 'list', type: 'filter', help: 'Provide filter values (e.g. "until=<timestamp>")' } as const;
const FORCE = { long: 'force', short: 'f', kind: 'bool', help: 'Do not prompt for confirmation' } as const;

export async function pruneContainers(cli: Cli, filters: readonly string[]): Promise<PruneResult> {
  const r = await cli.client().json<{ ContainersDeleted?: string[] | null; SpaceReclaimed?: number } | null>('POST', '/containers/prune', {
    query: { filters: filtersJson(filters) },
  });
  return pruneResult('Deleted Containers:', r?.ContainersDeleted, r?.SpaceReclaimed);
}

export async function pruneNetworks(cli: Cli, filters: readonly string[]): Promise<PruneResult> {
  const r = await cli.client().json<{ NetworksDeleted?: string[] | null } | null>('POST', '/networks/prune', {
    query: { filters: filtersJson(filters) },
  });
  return pruneResult('Deleted Networks:', r?.NetworksDeleted, 0);
}

/** Anonymous volumes only, unless `all` (what `volume prune -a` adds as the `all` filter). */
export async function pruneVolumes(cli: Cli, all: boolean, filters: readonly string[]): Promise<PruneResult> {
  const r = await cli.client().json<{ VolumesDeleted?: string[] | null; SpaceReclaimed?: number } | null>('POST', '/volumes/prune', {
    query: { filters: filtersJson(filters, all ? { all: ['true'] } : {}) },
  });
  return pruneResult('Deleted Volumes:', r?.VolumesDeleted, r?.SpaceReclaimed);
}

/** Dangling images, or (`all`) every image no container uses. */
export async function pruneImages(cli: Cli, all: boolean, filters: readonly string[]): Promise<PruneResult> {
  const r = await cli.client().json<{ ImagesDeleted?: { Untagged?: string; Deleted?: string }[] | null; SpaceReclaimed?: number } | null>('POST', '/images/prune', {
    query: { filters: filtersJson(filters, { dangling: [all ? 'false' : 'true'] }) },
  });
  const lines = (r?.ImagesDeleted ?? []).map((d) => (d.Untagged ? `untagged: ${d.Untagged}` : `deleted: ${d.Deleted ?? ''}`));
  return pruneResult('Deleted Images:', lines, r?.SpaceReclaimed);
}

/** The builder's cache (`all`: not just unused records); its space counts even when nothing is listed. */
export async function pruneBuildCache(cli: Cli, all: boolean, filters: readonly string[]): Promise<PruneResult> {
  const r = await cli.client().json<{ CachesDeleted?: string[] | null; SpaceReclaimed?: number } | null>('POST', '/build/prune', {
    query: { all: all ? '1' : undefined, filters: filtersJson(filters) },
  });
  return { ...pruneResult('Deleted build cache objects:', r?.CachesDeleted, 0), reclaimed: r?.SpaceReclaimed ?? 0 };
}

export const containerPrune: CommandDef = {
  name: 'container prune',
  usage: '[OPTIONS]',
  description: 'Remove all stopped containers',
  flags: [FILTER, FORCE],
  maxArgs: 0,
  async run(cli, f) {
    const filters = f.list('filter');
    filtersJson(filters);
    if (!f.bool('force') && !(await confirm(cli, 'WARNING! This will remove all stopped containers.\nAre you sure you want to continue?'))) return 0;
    cli.out(pruneSummary([await pruneContainers(cli, filters)]));
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
    const filters = f.list('filter');
    filtersJson(filters);
    const warning = all
      ? 'WARNING! This will remove all images without at least one container associated to them.'
      : 'WARNING! This will remove all dangling images.';
    if (!f.bool('force') && !(await confirm(cli, `${warning}\nAre you sure you want to continue?`))) return 0;
    cli.out(pruneSummary([await pruneImages(cli, all, filters)]));
    return 0;
  },
};

export const volumePrune: CommandDef = {
  name: 'volume prune',
  usage: '[OPTIONS]',
  description: 'Remove unused local volumes',
  flags: [
    { long: 'all', short: 'a', kind: 'bool', help: 'Remove all unused volumes, not just anonymous ones' },
    { long: 'filter', kind: 'list', type: 'filter', help: 'Provide filter values (e.g. "label=<label>")' },
    FORCE,
  ],
  maxArgs: 0,
  async run(cli, f) {
    const all = f.bool('all');
    const filters = f.list('filter');
    filtersJson(filters);
    if (all && hasFilter(filters, 'all')) throw new StatusError(1, 'conflicting options: cannot specify both --all and --filter all=1');
    if (!f.bool('force') && !(await confirm(cli, all ? VOLUME_PRUNE_ALL_WARNING : VOLUME_PRUNE_WARNING))) return 0;
    cli.out(pruneSummary([await pruneVolumes(cli, all, filters)]));
    return 0;
  },
};

export const systemPrune: CommandDef = {
  name: 'system prune',
  usage: '[OPTIONS]',
  description: 'Remove unused data',
  flags: [
    { long: 'all', short: 'a', kind: 'bool', help: 'Remove all unused images not just dangling ones' },
    { long: 'filter', kind: 'list', type: 'filter', help: 'Provide filter values (e.g. "label=<key>=<value>")' },
    FORCE,
    { long: 'volumes', kind: 'bool', help: 'Prune anonymous volumes' },
  ],
  maxArgs: 0,
  async run(cli, f) {
    const all = f.bool('all');
    const volumes = f.bool('volumes');
    const filters = f.list('filter');
    filtersJson(filters);
    if (volumes && hasFilter(filters, 'until')) throw new StatusError(1, 'ERROR: The "until" filter is not supported with "--volumes"');
    if (!f.bool('force') && !(await confirm(cli, systemPruneWarning({ all, volumes, buildCache: true, filters })))) return 0;
    // docker 28: --all widens images and build cache; volumes stay anonymous-only.
    const pruners: (() => Promise<PruneResult>)[] = [
      () => pruneContainers(cli, filters),
      () => pruneNetworks(cli, filters),
      ...(volumes ? [() => pruneVolumes(cli, false, filters)] : []),
      () => pruneImages(cli, all, filters),
      () => pruneBuildCache(cli, all, filters),
    ];
    let reclaimed = 0;
    for (const prune of pruners) {
      const r = await prune();
      reclaimed += r.reclaimed;
      if (r.output !== '') cli.out(`${r.output}\n`);
    }
    cli.out(pruneSummary([{ reclaimed, output: '' }]));
    return 0;
  },
};
