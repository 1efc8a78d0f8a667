import { InvalidArgument } from '../../core/errors.js';
import { filterMatch, filterMatchKVList } from '../../core/network-filters.js';
import type { CreateVolumeRequest, VolumeRecord } from '../../engine/index.js';
import { boolQuery, filtersQuery, jsonBody, param, sendJson, sendStatus, type Ctx, type Handler } from '../context.js';

type Route = [method: string, path: string, handler: Handler];

export const volumeRoutes: readonly Route[] = [
  ['GET', '/volumes', list],
  ['POST', '/volumes/create', create],
  ['GET', '/volumes/:name', inspect],
  ['DELETE', '/volumes/:name', remove],
  ['POST', '/volumes/prune', prune],
];

/** A volume in the Engine API's shape (`UsageData` only where asked, as for system df). */
export function volumeView(v: VolumeRecord, usage?: { Size: number; RefCount: number }): Record<string, unknown> {
  const { anonymous: _a, ...shown } = v;
  return { ...shown, Status: null, ...(usage ? { UsageData: usage } : {}) };
}

export const LIST_FILTERS: readonly string[] = ['dangling', 'driver', 'label', 'name'];
export const PRUNE_FILTERS: readonly string[] = ['all', 'label', 'label!'];

/**
 * Docker's volume filters (moby volume/service `filtersToBy`): only the `accepted` keys;
 * `driver` exact, `name` exact or an unanchored regular expression, every `label` held,
 * not every `label!` held, `dangling` true/1 or false/0 (unreferenced or referenced).
 */
export function volumeFilter(filters: Map<string, string[]>, accepted: readonly string[], users: (name: string) => number): (v: VolumeRecord) => boolean {
  for (const key of filters.keys()) if (!accepted.includes(key)) throw new InvalidArgument(`invalid filter '${key}'`);
  const get = (k: string): string[] => filters.get(k) ?? [];
  let dangling: boolean | undefined;
  if (filters.has('dangling')) {
    const values = get('dangling');
    const isTrue = values.includes('true') || values.includes('1');
    const isFalse = values.includes('false') || values.includes('0');
    if (isTrue === isFalse) throw new InvalidArgument(`invalid filter 'dangling=[${values.join(' ')}]'`);
    dangling = isTrue;
  }
  return (v) => {
    const drivers = get('driver');
    if (drivers.length > 0 && !drivers.includes(v.Driver)) return false;
    if (filters.has('name') && !filterMatch(get('name'), v.Name)) return false;
    if (!filterMatchKVList(get('label'), v.Labels)) return false;
    if (get('label!').length > 0 && filterMatchKVList(get('label!'), v.Labels)) return false;
    if (dangling !== undefined && (users(v.Name) === 0) !== dangling) return false;
    return true;
  };
}

async function list(ctx: Ctx): Promise<void> {
  const keep = volumeFilter(filtersQuery(ctx.query), LIST_FILTERS, (n) => ctx.engine.containers.volumeUsers(n).length);
  const volumes = ctx.engine.volumes
    .list()
    .filter(keep)
    .sort((a, b) => a.Name.localeCompare(b.Name))
    .map((v) => volumeView(v));
  sendJson(ctx, 200, { Volumes: volumes, Warnings: [] });
}

async function create(ctx: Ctx): Promise<void> {
  const body = (await jsonBody<CreateVolumeRequest>(ctx)) ?? {};
  const v = await ctx.engine.volumes.create(body);
  sendJson(ctx, 201, volumeView(v));
}

async function inspect(ctx: Ctx): Promise<void> {
  sendJson(ctx, 200, volumeView(ctx.engine.volumes.get(param(ctx, 'name'))));
}

async function remove(ctx: Ctx): Promise<void> {
  const name = param(ctx, 'name');
  await ctx.engine.volumes.remove(name, { force: boolQuery(ctx.query, 'force'), inUse: (n) => ctx.engine.containers.volumeUsers(n) });
  sendStatus(ctx, 204);
}

/**
 * Docker 23+: anonymous volumes only, unless the `all` filter is true; never one a container
 * references, nor one with driver options (a mount, not local data: nothing to reclaim).
 */
async function prune(ctx: Ctx): Promise<void> {
  const filters = filtersQuery(ctx.query);
  const allValues = filters.get('all') ?? [];
  if (allValues.length > 1) throw new InvalidArgument(`invalid filter 'all=[${allValues.join(' ')}]': only one value is expected`);
  const all = allValues.length === 1 && parseGoBool(allValues[0] as string);
  const keep = volumeFilter(filters, PRUNE_FILTERS, (n) => ctx.engine.containers.volumeUsers(n).length);
  const deleted: string[] = [];
  let reclaimed = 0;
  for (const v of ctx.engine.volumes.list()) {
    if (!all && v.anonymous !== true) continue;
    if (Object.keys(v.Options).length > 0) continue;
    if (ctx.engine.containers.volumeUsers(v.Name).length > 0) continue;
    if (!keep(v)) continue;
    const size = await ctx.engine.volumes.size(v.Name);
    await ctx.engine.volumes.remove(v.Name, { inUse: () => [] });
    deleted.push(v.Name);
    reclaimed += size;
  }
  sendJson(ctx, 200, { VolumesDeleted: deleted.length > 0 ? deleted : null, SpaceReclaimed: reclaimed });
}

/** strconv.ParseBool, with its error as the `all` filter reports it. */
function parseGoBool(v: string): boolean {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(v)) return false;
  throw new InvalidArgument(`invalid filter 'all': strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`);
}
