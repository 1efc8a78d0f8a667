import { encodePathStat, PATH_STAT_HEADER } from '../../core/copypath.js';
import { InvalidArgument } from '../../core/errors.js';
import { archivePath, containerUserIds, extractToDir, statPath, withContainerFs } from '../../engine/containers/archive.js';
import { boolQuery, param, type Ctx, type Handler } from '../context.js';

type Route = [method: string, path: string, handler: Handler];

/** `docker cp`: a container's files as tar archives (Docker's archive endpoints). */
export const archiveRoutes: readonly Route[] = [
  ['HEAD', '/containers/:id/archive', head],
  ['GET', '/containers/:id/archive', get],
  ['PUT', '/containers/:id/archive', put],
];

function args(ctx: Ctx): { name: string; path: string } {
  const name = param(ctx, 'id');
  const path = ctx.query.get('path') ?? '';
  if (path === '') throw new InvalidArgument('path cannot be empty');
  return { name, path };
}

function response(ctx: Ctx) {
  if (!ctx.res) throw new InvalidArgument('this endpoint does not support connection upgrade');
  return ctx.res;
}

async function head(ctx: Ctx): Promise<void> {
  const res = response(ctx);
  const { name, path } = args(ctx);
  const stat = await withContainerFs(ctx.engine.containers, name, (view) => statPath(view, path, name));
  res.writeHead(200, { [PATH_STAT_HEADER]: encodePathStat(stat), 'Content-Type': 'application/json' });
  res.end();
}

async function get(ctx: Ctx): Promise<void> {
  const res = response(ctx);
  const { name, path } = args(ctx);
  const id = await withContainerFs(ctx.engine.containers, name, async (view, rec) => {
    try {
      await archivePath(view, path, name, (stat) => {
        res.writeHead(200, { [PATH_STAT_HEADER]: encodePathStat(stat), 'Content-Type': 'application/x-tar' });
        return res;
      });
    } catch (e) {
      // Half an archive must not look like a whole one: break the response off.
      if (res.headersSent) res.destroy(e instanceof Error ? e : new Error(String(e)));
      throw e;
    }
    return rec.id;
  });
  res.end();
  const containers = ctx.engine.containers;
  const rec = containers.find(id);
  if (rec) ctx.engine.events.publish('container', 'archive-path', id, containers.attrs(rec));
}

async function put(ctx: Ctx): Promise<void> {
  const res = response(ctx);
  try {
    const { name, path } = args(ctx);
    const copyUIDGID = boolQuery(ctx.query, 'copyUIDGID');
    const noOverwriteDirNonDir = boolQuery(ctx.query, 'noOverwriteDirNonDir');
    const id = await withContainerFs(ctx.engine.containers, name, async (view, rec) => {
      // `-a`: everything owned by the container's user (when it has one); else the archive's owners.
      const user = rec.config.User ?? '';
      const chown = copyUIDGID && user !== '' ? await containerUserIds(view, user) : undefined;
      await extractToDir(view, path, name, ctx.req, {
        noOverwriteDirNonDir,
        readonlyRootfs: rec.hostConfig.ReadonlyRootfs === true,
        ...(chown ? { chown } : {}),
      });
      return rec.id;
    });
    res.writeHead(200, { 'Content-Length': 0 });
    res.end();
    const containers = ctx.engine.containers;
    const rec = containers.find(id);
    if (rec) ctx.engine.events.publish('container', 'extract-to-dir', id, containers.attrs(rec));
  } catch (e) {
    // The client is still sending the archive: take it, so that it reads our answer.
    ctx.req.resume();
    throw e;
  }
}
