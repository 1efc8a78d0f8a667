import { InvalidArgument } from '../../core/errors.js';
import { filterNetworks, parseFiltersParam } from '../../core/network-filters.js';
import type { CreateNetworkRequest, EndpointConfig, Engine, NetworkRecord } from '../../engine/index.js';
import { boolQuery, filtersQuery, jsonBody, param, sendJson, sendStatus, untilTime, type Ctx, type Handler } from '../context.js';

type Route = [method: string, path: string, handler: Handler];

export const networkRoutes: readonly Route[] = [
  ['GET', '/networks', list],
  ['GET', '/networks/:id', inspect],
  ['POST', '/networks/create', create],
  ['DELETE', '/networks/:id', remove],
  ['POST', '/networks/prune', prune],
  ['POST', '/networks/:id/connect', connect],
  ['POST', '/networks/:id/disconnect', disconnect],
];

/** A network in the Engine API's shape: the record without berth's own fields, plus its containers. */
export function networkView(engine: Engine, r: NetworkRecord, opts: { containers?: boolean } = {}): Record<string, unknown> {
  const { bridge: _bridge, allocations: _alloc, ...shown } = r;
  const containers: Record<string, unknown> = {};
  if (opts.containers !== false) {
    for (const c of engine.containers.list()) {
      const ep = c.network?.endpoints[r.Name];
      if (!ep || !c.state.Running) continue;
      containers[c.id] = {
        Name: c.name.slice(1),
        EndpointID: ep.EndpointID,
        MacAddress: ep.MacAddress,
        IPv4Address: `${ep.IPAddress}/${ep.IPPrefixLen}`,
        IPv6Address: '',
      };
    }
  }
  // Docker's field order; berth networks always have IPv4 (API 1.48's EnableIPv4).
  const { Name, Id, Created, Scope, Driver, EnableIPv6, IPAM: _ipam, Internal, Attachable, Ingress, ConfigFrom, ConfigOnly, Options, Labels, ...rest } = shown;
  const IPAM = { ...r.IPAM, Config: r.IPAM.Config.map((c) => ({ ...c })) };
  return { Name, Id, Created, Scope, Driver, EnableIPv4: true, EnableIPv6, IPAM, Internal, Attachable, Ingress, ConfigFrom, ConfigOnly, Containers: containers, Options, Labels, ...rest };
}

async function list(ctx: Ctx): Promise<void> {
  // Docker's FilterNetworks; `dangling` looks at every member, running or not.
  const filters = parseFiltersParam(ctx.query.get('filters') ?? undefined);
  const records = ctx.engine.networks.list();
  const candidates = records.map((r) => ({
    Name: r.Name,
    Id: r.Id,
    Driver: r.Driver,
    Scope: r.Scope,
    Labels: r.Labels,
    Containers: Object.fromEntries(ctx.engine.networks.members(r).map((c) => [c.id, true])),
    record: r,
  }));
  const out = filterNetworks(candidates, filters)
    .map((n) => n.record)
    .sort((a, b) => a.Name.localeCompare(b.Name))
    .map((r) => networkView(ctx.engine, r, { containers: false }));
  sendJson(ctx, 200, out);
}

async function inspect(ctx: Ctx): Promise<void> {
  const r = ctx.engine.networks.get(param(ctx, 'id'));
  void boolQuery(ctx.query, 'verbose');
  sendJson(ctx, 200, networkView(ctx.engine, r));
}

async function create(ctx: Ctx): Promise<void> {
  const body = await jsonBody<CreateNetworkRequest>(ctx);
  if (!body) throw new InvalidArgument('missing request body');
  const r = await ctx.engine.networks.create(body);
  sendJson(ctx, 201, { Id: r.Id, Warning: '' });
}

async function remove(ctx: Ctx): Promise<void> {
  await ctx.engine.networks.remove(param(ctx, 'id'));
  sendStatus(ctx, 204);
}

async function prune(ctx: Ctx): Promise<void> {
  const filters = filtersQuery(ctx.query);
  for (const key of filters.keys()) if (!['label', 'until'].includes(key)) throw new InvalidArgument(`invalid filter '${key}'`);
  const until = filters.get('until')?.[0];
  const before = until !== undefined ? untilTime(until) : undefined;
  const deleted: string[] = [];
  for (const r of ctx.engine.networks.list()) {
    if (ctx.engine.networks.isBuiltin(r) || ctx.engine.networks.activeEndpoints(r).length > 0) continue;
    if (ctx.engine.networks.members(r).length > 0) continue;
    const labels = filters.get('label') ?? [];
    if (!labels.every((v) => (v.includes('=') ? r.Labels[v.slice(0, v.indexOf('='))] === v.slice(v.indexOf('=') + 1) : v in r.Labels))) continue;
    if (before !== undefined && Date.parse(r.Created) > before) continue;
    await ctx.engine.networks.remove(r.Id);
    deleted.push(r.Name);
  }
  sendJson(ctx, 200, { NetworksDeleted: deleted.length > 0 ? deleted : null });
}

async function connect(ctx: Ctx): Promise<void> {
  const body = await jsonBody<{ Container?: string; EndpointConfig?: EndpointConfig | null }>(ctx);
  if (!body?.Container) throw new InvalidArgument('missing Container in request body');
  const c = ctx.engine.containers.get(body.Container);
  await ctx.engine.networks.connect(param(ctx, 'id'), c, body.EndpointConfig ?? {});
  await ctx.engine.containers.saveRecord(c);
  sendStatus(ctx, 200);
}

async function disconnect(ctx: Ctx): Promise<void> {
  const body = await jsonBody<{ Container?: string; Force?: boolean }>(ctx);
  if (!body?.Container) throw new InvalidArgument('missing Container in request body');
  const c = ctx.engine.containers.get(body.Container);
  await ctx.engine.networks.disconnect(param(ctx, 'id'), c);
  await ctx.engine.containers.saveRecord(c);
  sendStatus(ctx, 200);
}
