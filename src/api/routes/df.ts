import { layerSize } from '../../engine/snapshots/overlay.js';
import { dirSize } from '../../engine/volumes/service.js';
import { sendJson, type Ctx, type Handler } from '../context.js';
import { containerSummary, imageSummary } from '../views.js';
import { volumeView } from './volumes.js';

type Route = [method: string, path: string, handler: Handler];

/** `system df` and the build-cache prune `system prune` calls (berth has no build cache yet). */
export const dfRoutes: readonly Route[] = [
  ['GET', '/system/df', df],
  ['POST', '/build/prune', async (ctx) => sendJson(ctx, 200, { CachesDeleted: null, SpaceReclaimed: 0 })],
];

async function df(ctx: Ctx): Promise<void> {
  const e = ctx.engine;
  const want = new Set(ctx.query.getAll('type'));
  const all = want.size === 0;
  const containers = e.containers.list();
  const out: Record<string, unknown> = {};
  if (all || want.has('image')) {
    out.LayersSize = (await e.images.snapshots.list()).reduce((n, s) => n + layerSize(s), 0);
    const images = [];
    for (const rec of e.images.list()) {
      const users = containers.filter((c) => c.image === rec.id).length;
      images.push({ ...imageSummary(e, rec, await e.images.config(rec.id)), Containers: users, SharedSize: 0 });
    }
    out.Images = images;
  }
  if (all || want.has('container')) {
    const list = [];
    for (const c of containers) {
      const rw = await dirSize(e.containers.upperDir(c.id));
      const image = e.images.tryResolve(c.image);
      list.push({ ...containerSummary(c), SizeRw: rw, SizeRootFs: rw + (image?.size ?? 0) });
    }
    out.Containers = list;
  }
  if (all || want.has('volume')) {
    const vols = [];
    // Docker's LocalVolumesSize: volumes with driver options are mounts, not local data.
    for (const v of e.volumes.list().filter((x) => Object.keys(x.Options).length === 0)) vols.push(volumeView(v, { Size: await e.volumes.size(v.Name), RefCount: e.containers.volumeUsers(v.Name).length }));
    out.Volumes = vols;
  }
  if (all || want.has('build-cache')) out.BuildCache = [];
  sendJson(ctx, 200, out);
}
