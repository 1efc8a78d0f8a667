import { InvalidArgument } from '../../core/errors.js';
import type { CreateVolumeRequest, Engine, VolumeRecord } from '../../engine/index.js';
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

function matches(engine: Engine, v: VolumeRecord, filters: Map<string, string[]>): boolean {
  for (const [key, values] of filters) {
    const ok = (f: string): boolean => {
      switch (key) {
        case 'name':
          return v.Name.includes(f);
        case 'driver':
          return v.Driver === f;
        case 'dangling':
          return (engine.containers.volumeUsers(v.Name).length === 0) === (f === 'true' || f === '1');
        case 'label': {
          const i = f.indexOf('=');
          return i < 0 ? f in v.Labels : v.Labels[f.slice(0, i)] === f.slice(i + 1);
        }
        case 'all':
          return true;
        default:
          throw new InvalidArgument(`invalid filter '${key}'`);
      }
    };
    if (key === 'label' ? !values.every(ok) : !values.some(ok)) return false;
  }
  return true;
}

async function list(ctx: Ctx): Promise<void> {
  const filters = filtersQuery(ctx.query);
  const volumes = ctx.engine.volumes
    .list()
    .filter((v) => matches(ctx.engine, v, filters))
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

/** Docker 23+: anonymous volumes only, unless `all=true`; never one a container references. */
async function prune(ctx: Ctx): Promise<void> {
  const filters = filtersQuery(ctx.query);
  const all = (filters.get('all') ?? []).some((v) => v === 'true' || v === '1');
  filters.delete('all');
  const deleted: string[] = [];
  let reclaimed = 0;
  for (const v of ctx.engine.volumes.list()) {
    if (!all && v.anonymous !== true) continue;
    if (ctx.engine.containers.volumeUsers(v.Name).length > 0) continue;
    if (!matches(ctx.engine, v, filters)) continue;
    const size = await ctx.engine.volumes.size(v.Name);
    await ctx.engine.volumes.remove(v.Name, { inUse: () => [] });
    deleted.push(v.Name);
    reclaimed += size;
  }
  sendJson(ctx, 200, { VolumesDeleted: deleted.length > 0 ? deleted : null, SpaceReclaimed: reclaimed });
}
