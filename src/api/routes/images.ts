import { InvalidArgument, NotImplemented } from '../../core/errors.js';
import { parseReference } from '../../core/reference.js';
import { importRootfs } from '../../engine/images/import.js';
import { parsePlatform } from '../../engine/registry/index.js';
import { chainIds, layerSize } from '../../engine/snapshots/overlay.js';
import type { ImageRecord } from '../../engine/index.js';
import { boolQuery, filtersQuery, param, sendJson, untilTime, uploadOf, type Ctx, type Handler } from '../context.js';
import { pullImage, pushImage } from './registry.js';
import { imageInspect, imageSummary } from '../views.js';

type Route = [method: string, path: string, handler: Handler];

export const imageRoutes: readonly Route[] = [
  ['GET', '/images/json', list],
  ['GET', '/images/:name/json', inspect],
  ['GET', '/images/:name/history', history],
  ['POST', '/images/:name/tag', tag],
  ['DELETE', '/images/:name', remove],
  ['POST', '/images/prune', prune],
  ['POST', '/images/create', create],
  ['POST', '/images/:name/push', push],
];

/** Image names contain slashes; the router matches the rest of the path, handlers split it. */
export function imageName(ctx: Ctx): string {
  return param(ctx, 'name');
}

async function list(ctx: Ctx): Promise<void> {
  const images = ctx.engine.images;
  const filters = filtersQuery(ctx.query);
  checkImageFilters(ctx, filters);
  const all = boolQuery(ctx.query, 'all');
  const out = [];
  for (const rec of images.list()) {
    const config = await images.config(rec.id);
    if (!all && images.isDangling(rec.id) && ctx.engine.images.list().some((r) => r.parent === rec.id)) continue;
    if (!matchImage(ctx, rec, config.config?.Labels ?? {}, filters)) continue;
    const until = filters.get('until');
    if (until !== undefined && until.some((v) => Date.parse(config.created ?? rec.created) > untilTime(v))) continue;
    const summary = imageSummary(ctx.engine, rec, config);
    // Like Docker, a reference filter lists only the tags it matches.
    const patterns = filters.get('reference');
    if (patterns !== undefined) {
      summary.RepoTags = images.repoTags(rec.id).filter((t) => patterns.some((p) => referenceMatches(p, t)));
      // Digests too, by their repository (Docker filters every reference of the image).
      summary.RepoDigests = (summary.RepoDigests as string[]).filter((r) => patterns.some((p) => referenceMatches(p, r.slice(0, r.indexOf('@')))));
    }
    out.push(summary);
  }
  out.sort((a, b) => (b.Created as number) - (a.Created as number));
  sendJson(ctx, 200, out);
}

const IMAGE_FILTERS = ['dangling', 'label', 'reference', 'before', 'since', 'until'];

/** Refuses bad filters whether or not there are images to apply them to (Docker's words). */
function checkImageFilters(ctx: Ctx, filters: Map<string, string[]>): void {
  for (const [key, values] of filters) {
    if (!IMAGE_FILTERS.includes(key)) throw new InvalidArgument(`invalid filter '${key}'`);
    if (key === 'dangling' && !values.every((v) => ['true', 'false', '1', '0'].includes(v))) throw new InvalidArgument(`invalid filter 'dangling=[${values.join(' ')}]'`);
    if (key === 'until') for (const v of values) untilTime(v);
    if (key === 'before' || key === 'since') for (const v of values) ctx.engine.images.resolve(v);
  }
}

function matchImage(ctx: Ctx, rec: ImageRecord, labels: Record<string, string>, filters: Map<string, string[]>): boolean {
  const images = ctx.engine.images;
  for (const [key, values] of filters) {
    if (key === 'until') continue; // by the image's creation time, in list()
    const ok = (v: string): boolean => {
      switch (key) {
        case 'dangling':
          return images.isDangling(rec.id) === (v === 'true' || v === '1');
        case 'label': {
          const i = v.indexOf('=');
          return i < 0 ? v in labels : labels[v.slice(0, i)] === v.slice(i + 1);
        }
        case 'reference':
          return images.repoTags(rec.id).some((t) => referenceMatches(v, t));
        case 'before':
          return rec.created < images.resolve(v).created;
        case 'since':
          return rec.created > images.resolve(v).created;
        default:
          throw new InvalidArgument(`invalid filter '${key}'`);
      }
    };
    if (key === 'label' ? !values.every(ok) : !values.some(ok)) return false;
  }
  return true;
}

/**
 * Docker's `reference.FamiliarMatch`: the pattern (path.Match syntax) against the familiar
 * `name:tag`, or against the familiar name alone.
 */
export function referenceMatches(pattern: string, familiarTag: string): boolean {
  const colon = familiarTag.lastIndexOf(':');
  const name = colon > familiarTag.lastIndexOf('/') ? familiarTag.slice(0, colon) : familiarTag;
  return globMatch(pattern, familiarTag) || globMatch(pattern, name);
}

function globMatch(pattern: string, s: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
  return re.test(s);
}

async function inspect(ctx: Ctx): Promise<void> {
  const rec = ctx.engine.images.resolve(imageName(ctx));
  // The unpacked layers: the top one as UpperDir, the others as LowerDir (Docker also names a
  // merged and a work dir, which an image does not have).
  const layers = await ctx.engine.images.snapshots.lowerDirs(ctx.engine.images.topChain(rec)).catch(() => []);
  const graph = layers.length > 0 ? { ...(layers.length > 1 ? { LowerDir: layers.slice(1).join(':') } : {}), UpperDir: layers[0] as string } : null;
  sendJson(ctx, 200, imageInspect(ctx.engine, rec, await ctx.engine.images.config(rec.id), graph));
}

async function history(ctx: Ctx): Promise<void> {
  const images = ctx.engine.images;
  const rec = images.resolve(imageName(ctx));
  const config = await images.config(rec.id);
  const layerSizes: number[] = [];
  for (const c of chainIds(rec.diffIds)) {
    const meta = await images.snapshots.get(c);
    layerSizes.push(meta !== undefined ? layerSize(meta) : 0);
  }
  const entries = config.history ?? [];
  let layer = 0;
  const rows = entries.map((h, i) => {
    const size = h.empty_layer === true ? 0 : (layerSizes[layer++] ?? 0);
    return {
      Id: i === entries.length - 1 ? rec.id : '<missing>',
      Created: h.created ? Math.floor(Date.parse(h.created) / 1000) : 0,
      CreatedBy: h.created_by ?? '',
      Tags: i === entries.length - 1 ? images.repoTags(rec.id) : null,
      Size: size,
      Comment: h.comment ?? '',
    };
  });
  sendJson(ctx, 200, rows.reverse());
}

async function tag(ctx: Ctx): Promise<void> {
  const rec = ctx.engine.images.resolve(imageName(ctx));
  const repo = ctx.query.get('repo') ?? '';
  const t = ctx.query.get('tag') ?? '';
  if (repo === '') throw new InvalidArgument('repository name must have at least one component');
  parseReference(repo); // validates with Docker's messages
  await ctx.engine.images.tag(rec.id, t ? `${repo}:${t}` : repo);
  sendJson(ctx, 201, {});
}

async function remove(ctx: Ctx): Promise<void> {
  const engine = ctx.engine;
  const out = await engine.images.remove(imageName(ctx), {
    force: boolQuery(ctx.query, 'force'),
    inUse: (id) => engine.containers.userOfImage(id),
    runningUser: (id) => engine.containers.list().find((c) => c.image === id && (c.state.Running || c.state.Restarting))?.id,
  });
  if (!boolQuery(ctx.query, 'noprune')) await engine.gc();
  sendJson(ctx, 200, out);
}

async function prune(ctx: Ctx): Promise<void> {
  const engine = ctx.engine;
  const filters = filtersQuery(ctx.query);
  for (const key of filters.keys()) if (!['dangling', 'label', 'label!', 'until'].includes(key)) throw new InvalidArgument(`invalid filter '${key}'`);
  const danglingOnly = (filters.get('dangling') ?? ['true'])[0] !== 'false';
  const until = filters.get('until')?.[0];
  const before = until !== undefined ? untilTime(until) : undefined;
  const labelMatches = (labels: Record<string, string>, v: string) => (v.includes('=') ? labels[v.slice(0, v.indexOf('='))] === v.slice(v.indexOf('=') + 1) : v in labels);
  const deleted: { Untagged?: string; Deleted?: string }[] = [];
  for (const rec of engine.images.list()) {
    if (engine.containers.userOfImage(rec.id) !== undefined) continue;
    if (danglingOnly && !engine.images.isDangling(rec.id)) continue;
    const config = await engine.images.config(rec.id);
    const labels = config.config?.Labels ?? {};
    if (!(filters.get('label') ?? []).every((v) => labelMatches(labels, v))) continue;
    if ((filters.get('label!') ?? []).some((v) => labelMatches(labels, v))) continue;
    if (before !== undefined && Date.parse(config.created ?? '') > before) continue;
    deleted.push(...(await engine.images.remove(rec.id, { force: true, inUse: () => undefined })));
  }
  const reclaimed = await engine.gc();
  sendJson(ctx, 200, { ImagesDeleted: deleted.length > 0 ? deleted : null, SpaceReclaimed: reclaimed });
}

/** `POST /images/create`: `fromSrc=-` imports the request body; `fromImage` pulls from a registry. */
async function create(ctx: Ctx): Promise<void> {
  const q = ctx.query;
  const res = ctx.res;
  if (!res) throw new InvalidArgument('images/create does not support connection upgrade');
  const fromSrc = q.get('fromSrc');
  if (fromSrc !== null) {
    if (fromSrc !== '-') throw new NotImplemented('importing from a URL is not supported; pass the tar on stdin');
    const repo = q.get('repo') ?? '';
    const t = q.get('tag') ?? '';
    const name = repo === '' ? undefined : t !== '' ? `${repo}:${t}` : repo;
    if (name !== undefined) parseReference(name);
    const platformText = q.get('platform') ?? '';
    const platform = platformText !== '' ? parsePlatform(platformText) : undefined;
    const id = await importRootfs(ctx.engine.images, uploadOf(ctx), {
      changes: q.getAll('changes'),
      message: q.get('message') ?? '',
      ...(name !== undefined ? { tag: name } : {}),
      ...(platform !== undefined ? { platform } : {}),
    });
    ctx.engine.events.publish('image', 'import', id, {});
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(`${JSON.stringify({ status: id })}\n`);
    return;
  }
  if (q.get('fromImage') === null) throw new InvalidArgument('either fromSrc or fromImage must be given');
  await pullImage(ctx);
}

/** `POST /images/{name}/push?tag=`: streams Docker's push progress (see routes/registry.ts). */
async function push(ctx: Ctx): Promise<void> {
  await pushImage(ctx, imageName(ctx));
}
