import { InvalidArgument } from '../../core/errors.js';
import { parseReference } from '../../core/reference.js';
import { saveImages, loadImages } from '../../engine/images/archive.js';
import { commitContainer } from '../../engine/images/commit.js';
import type { ContainerConfig } from '../../engine/index.js';
import { diffChanges, packTree } from '../../engine/layers/index.js';
import { boolQuery, jsonBody, param, sendJson, uploadOf, type Ctx, type Handler } from '../context.js';

type Route = [method: string, path: string, handler: Handler];

/** Image archives (save/load), commit, and a container's filesystem (diff, export). */
export const extraRoutes: readonly Route[] = [
  ['GET', '/images/get', saveMany],
  ['GET', '/images/:name/get', saveOne],
  ['POST', '/images/load', load],
  ['POST', '/commit', commit],
  ['GET', '/containers/:id/changes', changes],
  ['GET', '/containers/:id/export', exportRootfs],
];

function response(ctx: Ctx) {
  if (!ctx.res) throw new InvalidArgument('this endpoint does not support connection upgrade');
  return ctx.res;
}

async function save(ctx: Ctx, names: string[]): Promise<void> {
  const res = response(ctx);
  if (names.length === 0) throw new InvalidArgument('no image names given');
  // Resolve every name before the 200 goes out, so an unknown image is a proper 404.
  for (const n of names) ctx.engine.images.resolve(n);
  res.writeHead(200, { 'Content-Type': 'application/x-tar' });
  await saveImages(ctx.engine.images, names, res);
}

async function saveMany(ctx: Ctx): Promise<void> {
  await save(ctx, ctx.query.getAll('names'));
}

async function saveOne(ctx: Ctx): Promise<void> {
  await save(ctx, [param(ctx, 'name')]);
}

async function load(ctx: Ctx): Promise<void> {
  const res = response(ctx);
  const quiet = boolQuery(ctx.query, 'quiet');
  const progress: string[] = [];
  const lines = await loadImages(ctx.engine.images, uploadOf(ctx), (l) => progress.push(l));
  for (const l of lines) {
    const m = /^Loaded image(?: ID)?: (.*)$/.exec(l);
    if (m?.[1]) {
      const name = m[1];
      const id = name.startsWith('sha256:') ? name : (ctx.engine.images.tryResolve(name)?.id ?? name);
      ctx.engine.events.publish('image', 'load', id, { name });
    }
  }
  res.writeHead(200, { 'Content-Type': 'application/json' });
  for (const l of quiet ? [] : progress) res.write(`${JSON.stringify({ stream: `${l}\n` })}\r\n`);
  for (const l of lines) res.write(`${JSON.stringify({ stream: `${l}\n` })}\r\n`);
  res.end();
}

async function commit(ctx: Ctx): Promise<void> {
  const q = ctx.query;
  const container = q.get('container') ?? '';
  if (container === '') throw new InvalidArgument('missing container parameter');
  const repo = q.get('repo') ?? '';
  const t = q.get('tag') ?? '';
  const tag = repo === '' ? undefined : t !== '' ? `${repo}:${t}` : repo;
  if (tag !== undefined) parseReference(tag);
  const body = await jsonBody<ContainerConfig>(ctx);
  const id = await commitContainer(ctx.engine.containers, ctx.engine.images, container, {
    ...(tag !== undefined ? { tag } : {}),
    comment: q.get('comment') ?? '',
    author: q.get('author') ?? '',
    changes: q.getAll('changes').filter((c) => c !== ''),
    pause: boolQuery(q, 'pause', true),
    ...(body ? { config: body } : {}),
  });
  const rec = ctx.engine.containers.get(container);
  ctx.engine.events.publish('container', 'commit', rec.id, { ...ctx.engine.containers.attrs(rec), comment: q.get('comment') ?? '' });
  sendJson(ctx, 201, { Id: id });
}

async function changes(ctx: Ctx): Promise<void> {
  const containers = ctx.engine.containers;
  const rec = containers.get(param(ctx, 'id'));
  const lowers = await containers.lowerDirs(rec);
  const list = await diffChanges(containers.upperDir(rec.id), lowers);
  sendJson(ctx, 200, list.length > 0 ? list : null);
}

async function exportRootfs(ctx: Ctx): Promise<void> {
  const res = response(ctx);
  const containers = ctx.engine.containers;
  const rec = containers.get(param(ctx, 'id'));
  const root = await containers.mountRoot(rec);
  try {
    res.writeHead(200, { 'Content-Type': 'application/x-tar' });
    await packTree(root, res);
  } finally {
    if (!containers.get(rec.id).state.Running) await containers.unmountRoot(rec).catch(() => undefined);
  }
  ctx.engine.events.publish('container', 'export', rec.id, containers.attrs(rec));
}
