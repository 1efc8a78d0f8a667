/**
 * `push`: for each layer (a daemon-wide limit on uploads at once) a HEAD to see whether the
 * repository has it, a cross-repository mount from a repository of the same registry known
 * to have it, or an upload (POST, then PATCH and PUT ?digest=, or one monolithic PUT); then
 * the config and the manifest. The stored manifest is pushed as it is when it describes the
 * image, so a pulled image keeps its digest.
 */
import { createReadStream } from 'node:fs';
import { InvalidArgument, NotFound } from '../../core/errors.js';
import { MEDIA_TYPES, type Descriptor, type Manifest } from '../../core/oci.js';
import { familiarName, parseReference, type Reference } from '../../core/reference.js';
import type { ImageRecord, ImageStore } from '../images/store.js';
import type { Credentials } from './auth.js';
import { RegistryClient, type TokenCache } from './client.js';
import { endpointsFor, type RegistryConfig } from './config.js';
import { RegistryError, toBerthError } from './errors.js';
import type { Semaphore } from './limit.js';
import { progressMessage, shortId, statusMessage, Throttle, type ProgressSink } from './progress.js';

export interface PushDeps {
  images: ImageStore;
  config: RegistryConfig;
  tokens: TokenCache;
  uploads: Semaphore;
  userAgent: string;
  caFor?: (host: string) => Promise<Buffer[] | undefined>;
  /** Uploads in PATCH requests of this many bytes (one PATCH per blob when undefined). */
  chunkSize?: number;
  /** Upload blobs in the closing PUT instead of PATCH requests. */
  monolithic?: boolean;
}

export interface PushOptions {
  credentials?: Credentials;
  signal?: AbortSignal;
  progress: ProgressSink;
}

export interface PushResult {
  tag: string;
  digest: string;
  size: number;
}

/** Docker's wording for a push the registry refused. */
export function pushError(e: unknown, ref: Reference): unknown {
  if (!(e instanceof RegistryError)) return e;
  if (e.codes.includes('NAME_UNKNOWN')) return new NotFound(`repository ${familiarName(ref.repository)} not found: ${e.message}`, { cause: e });
  return toBerthError(e);
}

/**
 * Pushes the tags of `ref` (its tag, or every tag of its repository when it has none).
 * The caller has printed nothing yet; the first line is `The push refers to repository [...]`.
 */
export async function pushReference(deps: PushDeps, ref: Reference, opts: PushOptions): Promise<PushResult[]> {
  const { images } = deps;
  const targets: { tag: string; rec: ImageRecord }[] = [];
  if (ref.tag !== undefined) {
    const rec = images.tryResolve(`${ref.repository}:${ref.tag}`);
    if (rec === undefined || !images.repoTags(rec.id).includes(familiarTag(ref.repository, ref.tag))) {
      throw new NotFound(`tag does not exist: ${familiarTag(ref.repository, ref.tag)}`);
    }
    targets.push({ tag: ref.tag, rec });
  } else {
    for (const { ref: full, id } of images.tagsOf(ref.repository)) {
      const t = parseReference(full).tag as string;
      targets.push({ tag: t, rec: images.resolve(id) });
    }
    if (targets.length === 0) throw new NotFound(`An image does not exist locally with the tag: ${familiarName(ref.repository)}`);
  }
  opts.progress({ status: `The push refers to repository [${ref.repository}]` });
  const client = new RegistryClient({
    path: ref.path,
    endpoints: endpointsFor(deps.config, ref.domain, 'push'),
    actions: ['pull', 'push'],
    tokens: deps.tokens,
    userAgent: deps.userAgent,
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
    ...(deps.caFor ? { caFor: deps.caFor } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  const results: PushResult[] = [];
  for (const t of targets) {
    try {
      results.push(await pushImage(deps, client, ref, t.tag, t.rec, opts));
    } catch (e) {
      throw pushError(e, ref);
    }
  }
  return results;
}

function familiarTag(repository: string, tag: string): string {
  return `${familiarName(repository)}:${tag}`;
}

async function pushImage(deps: PushDeps, client: RegistryClient, ref: Reference, tag: string, rec: ImageRecord, opts: PushOptions): Promise<PushResult> {
  const { images } = deps;
  const configBytes = await images.content.read(rec.id);
  const { bytes: manifestBytes, mediaType } = await manifestFor(images, rec, configBytes);
  const manifest = JSON.parse(manifestBytes.toString()) as Manifest;
  const throttle = new Throttle();
  const emit = opts.progress;
  // Docker lists the layers top first; its IDs are the layers' diffIDs.
  const order = manifest.layers.map((l, i) => ({ l, id: shortId(rec.diffIds[i] ?? l.digest) })).reverse();
  const seen = new Set<string>();
  const unique = order.filter((o) => (seen.has(o.l.digest) ? false : (seen.add(o.l.digest), true)));
  for (const o of unique) emit(statusMessage('Preparing', o.id));
  const abort = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, abort.signal]) : abort.signal;
  const uploads = unique.map(async (o) => {
    if (deps.uploads.busy) emit(statusMessage('Waiting', o.id));
    const release = await deps.uploads.acquire(signal);
    try {
      await pushBlob(deps, client, ref, o.l, o.id, signal, (m) => emit(m), throttle);
    } finally {
      release();
    }
  });
  const settled = await Promise.allSettled(uploads.map((u) => u.catch((e: unknown) => {
    abort.abort(e);
    throw e;
  })));
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  // The config, quietly (Docker shows no line for it).
  await pushBlob(deps, client, ref, manifest.config, undefined, signal, () => undefined, throttle);
  const digest = await client.putManifest(tag, mediaType, manifestBytes);
  await images.addRepoDigest(rec.id, `${ref.repository}@${digest}`);
  emit({ status: `${tag}: digest: ${digest} size: ${manifestBytes.length}` });
  emit({ progressDetail: {}, aux: { Tag: tag, Digest: digest, Size: manifestBytes.length } });
  return { tag, digest, size: manifestBytes.length };
}

async function pushBlob(
  deps: PushDeps,
  client: RegistryClient,
  ref: Reference,
  desc: Descriptor,
  id: string | undefined,
  _signal: AbortSignal,
  emit: ProgressSink,
  throttle: Throttle,
): Promise<void> {
  const { images } = deps;
  if (!(await images.content.has(desc.digest))) throw new NotFound(`blob ${desc.digest} of the image is missing from the content store`);
  const size = await images.content.size(desc.digest);
  if (size !== desc.size) throw new InvalidArgument(`blob ${desc.digest} is ${size} bytes, its descriptor says ${desc.size}`);
  if ((await client.headBlob(desc.digest)) !== undefined) {
    if (id !== undefined) emit(statusMessage('Layer already exists', id));
    return;
  }
  let location: string | undefined;
  for (const from of mountSources(images, ref, desc.digest)) {
    let r: 'mounted' | string;
    try {
      r = await client.mountBlob(desc.digest, from);
    } catch (e) {
      if (e instanceof RegistryError && (e.kind === 'unauthorized' || e.kind === 'denied' || e.kind === 'not_found')) continue;
      throw e;
    }
    if (r === 'mounted') {
      if (id !== undefined) emit(statusMessage(`Mounted from ${from}`, id));
      return;
    }
    location = r; // the registry opened an upload instead: use it
    break;
  }
  location ??= await client.startUpload();
  let sent = 0;
  const onBytes = (n: number) => {
    sent += n;
    if (id !== undefined && throttle.update(id, sent, size)) emit(progressMessage('Pushing', id, sent, size));
  };
  const path = images.content.path(desc.digest);
  await client.uploadBlob(location, (start, end) => createReadStream(path, { start, end, highWaterMark: 1024 * 1024 }), size, desc.digest, {
    onBytes,
    ...(deps.monolithic ? { monolithic: true } : {}),
    ...(deps.chunkSize !== undefined ? { chunkSize: deps.chunkSize } : {}),
  });
  if (id !== undefined) emit(statusMessage('Pushed', id));
}

/** Repositories of the same registry that have the blob (from the repo digests of images holding it). */
function mountSources(images: ImageStore, ref: Reference, digest: string): string[] {
  const out: string[] = [];
  for (const rec of images.list()) {
    if (!rec.layers.some((l) => l.digest === digest)) continue;
    for (const rd of rec.repoDigests) {
      const repo = rd.slice(0, rd.indexOf('@'));
      let r: Reference;
      try {
        r = parseReference(repo);
      } catch {
        continue;
      }
      if (r.domain === ref.domain && r.path !== ref.path && !out.includes(r.path)) out.push(r.path);
    }
  }
  return out.slice(0, 3);
}

/**
 * The manifest to push: the stored one when it describes exactly this image (config and
 * layer blobs), else a new one: Docker schema 2 when every layer has a Docker media type,
 * OCI otherwise.
 */
export async function manifestFor(images: ImageStore, rec: ImageRecord, configBytes: Buffer): Promise<{ bytes: Buffer; mediaType: string }> {
  try {
    const bytes = await images.content.read(rec.manifestDigest);
    const m = JSON.parse(bytes.toString()) as Partial<Manifest>;
    const mediaType = m.mediaType ?? MEDIA_TYPES.ociManifest;
    if (
      (mediaType === MEDIA_TYPES.ociManifest || mediaType === MEDIA_TYPES.dockerManifest) &&
      m.config?.digest === rec.id &&
      Array.isArray(m.layers) &&
      m.layers.length === rec.layers.length &&
      m.layers.every((l, i) => l.digest === rec.layers[i]?.digest)
    ) {
      return { bytes, mediaType };
    }
  } catch {
    // no usable stored manifest: build one
  }
  const docker = rec.layers.length > 0 && rec.layers.every((l) => l.mediaType.startsWith('application/vnd.docker.'));
  const m = {
    schemaVersion: 2,
    mediaType: docker ? MEDIA_TYPES.dockerManifest : MEDIA_TYPES.ociManifest,
    config: { mediaType: docker ? MEDIA_TYPES.dockerConfig : MEDIA_TYPES.ociConfig, digest: rec.id, size: configBytes.length },
    layers: rec.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  return { bytes: Buffer.from(JSON.stringify(m)), mediaType: m.mediaType };
}
