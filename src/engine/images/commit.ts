import { PassThrough } from 'node:stream';
import type { ImageConfig, ImageRuntimeConfig } from '../../core/oci.js';
import type { ContainerService } from '../containers/service.js';
import type { ContainerConfig } from '../containers/types.js';
import { packDiff } from '../layers/index.js';
import { applyChanges } from './changes.js';
import type { ImageStore } from './store.js';

export interface CommitOptions {
  /** `name[:tag]` to tag the new image with. */
  tag?: string;
  comment?: string;
  author?: string;
  /** Dockerfile-style instructions applied on top of the container's config. */
  changes?: string[];
  /** Config fields from the request body that replace the container's (Docker's `commit` body). */
  config?: ContainerConfig;
  /** Pause a running container while its changes are read (Docker's default). */
  pause?: boolean;
}

/** The runtime config an image gets from a container: what the user set, minus run-only fields. */
export function runtimeConfigOf(c: ContainerConfig): ImageRuntimeConfig {
  const out: ImageRuntimeConfig = {};
  if (c.User) out.User = c.User;
  if (c.ExposedPorts && Object.keys(c.ExposedPorts).length > 0) out.ExposedPorts = c.ExposedPorts;
  if (c.Env && c.Env.length > 0) out.Env = [...c.Env];
  if (c.Entrypoint) out.Entrypoint = typeof c.Entrypoint === 'string' ? [c.Entrypoint] : [...c.Entrypoint];
  if (c.Cmd) out.Cmd = typeof c.Cmd === 'string' ? [c.Cmd] : [...c.Cmd];
  if (c.Volumes && Object.keys(c.Volumes).length > 0) out.Volumes = c.Volumes;
  if (c.WorkingDir) out.WorkingDir = c.WorkingDir;
  if (c.Labels && Object.keys(c.Labels).length > 0) out.Labels = { ...c.Labels };
  if (c.StopSignal) out.StopSignal = c.StopSignal;
  if (c.Healthcheck) out.Healthcheck = c.Healthcheck;
  if (c.Shell) out.Shell = [...c.Shell];
  if (c.OnBuild && c.OnBuild.length > 0) out.OnBuild = [...c.OnBuild];
  return out;
}

/**
 * `commit`: the container's upper dir becomes a new layer on top of its image. The new
 * image's config is the container's (overridden by `config`, then `changes`), its parent the
 * container's image.
 */
export async function commitContainer(
  containers: ContainerService,
  images: ImageStore,
  idOrName: string,
  opts: CommitOptions = {},
): Promise<string> {
  const rec = containers.get(idOrName);
  const base = await images.config(rec.image);
  const pause = opts.pause !== false && rec.state.Running && !rec.state.Paused;
  if (pause) await containers.pause(rec.id);
  let layer;
  try {
    const pipe = new PassThrough();
    const packing = packDiff(containers.upperDir(rec.id), pipe);
    const [added] = await Promise.all([images.addLayer({ stream: pipe }, images.topChain(images.resolve(rec.image))), packing]);
    layer = added;
  } finally {
    if (pause) await containers.unpause(rec.id);
  }
  const merged: ContainerConfig = { ...rec.config, ...(opts.config ?? {}) };
  const runtime = applyChanges(runtimeConfigOf(merged), opts.changes ?? []);
  const created = new Date().toISOString();
  const parent = images.resolve(rec.image);
  const config: ImageConfig = {
    architecture: base.architecture,
    os: base.os,
    ...(base.variant !== undefined ? { variant: base.variant } : {}),
    created,
    ...(opts.author ? { author: opts.author } : {}),
    ...(opts.comment ? { comment: opts.comment } : {}),
    container: rec.id,
    config: runtime,
    rootfs: { type: 'layers', diff_ids: [...parent.diffIds, layer.diffId] },
    history: [
      ...(base.history ?? []),
      {
        created,
        created_by: [rec.path, ...rec.args].join(' '),
        ...(opts.author ? { author: opts.author } : {}),
        ...(opts.comment ? { comment: opts.comment } : {}),
      },
    ],
  };
  const image = await images.createImage(config, [...parent.layers, layer.descriptor], { parent: parent.id });
  if (opts.tag) await images.tag(image.id, opts.tag);
  return image.id;
}
