/**
 * `push`: for each layer (a daemon-wide limit on uploads at once) a HEAD to see whether the
 * repository has it, a cross-repository mount from a repository of the same registry known
 * to have it, or an upload (POST, then PATCH and PUT ?digest=, or one monolithic PUT); then
 * the config and the manifest. A pulled image is pushed with its manifest unchanged, so it
 * keeps its digest; otherwise layers stored uncompressed are sent as their gzip variant
 * (made once, kept in the content store: see ImageStore.compressedLayer) and the manifest
 * names the compressed blobs, while the config's diff_ids stay the tars' digests.
 */
import { createReadStream } from 'node:fs';
import { InvalidArgument, NotFound } from '../../core/errors.js';
import { MEDIA_TYPES, type Descriptor, type Manifest } from '../../core/oci.js';
import { familiarName, parseReference, type Reference } from '../../core/reference.js';
import { gzipLayerMediaType } from '../images/compressed.js';
import type { ImageRecord, ImageStore } from '../images/store.js';
import type { Credentials } from './auth.js';
import { RegistryClient, type TokenCache } from './client.js';
import { endpointsFor, type RegistryConfig } from './config.js';
import { RegistryError, toBerthError } from './errors.js';
import type { Semaphore } from '../util/limit.js';
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
  const stored = await storedManifest(images, rec);
  const throttle = new Throttle();
  const emit = opts.progress;
  // What each layer's blob is: the manifest's when it is pushed unchanged, else the stored
  // blob, or the gzip variant of a layer stored uncompressed (made when its upload starts).
  const layers: LayerPlan[] = (stored?.manifest.layers ?? rec.layers).map((l, i) => ({
    stored: l,
    diffId: rec.diffIds[i] ?? l.digest,
    compress: stored === undefined && l.digest === rec.diffIds[i],
  }));
  // Docker lists the layers top first; its IDs are the layers' diffIDs.
  const order = layers.map((l) => ({ l, id: shortId(l.diffId) })).reverse();
  const seen = new Set<string>();
  const unique = order.filter((o) => (seen.has(o.l.stored.digest) ? false : (seen.add(o.l.stored.digest), true)));
  for (const o of unique) emit(statusMessage('Preparing', o.id));
  const abort = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, abort.signal]) : abort.signal;
  const sent = new Map<string, Descriptor>();
  const uploads = unique.map(async (o) => {
    if (deps.uploads.busy) emit(statusMessage('Waiting', o.id));
    const release = await deps.uploads.acquire(signal);
    try {
      let desc = o.l.stored;
      if (o.l.compress) {
        const { variant } = await images.compressedLayer(o.l.diffId);
        desc = { mediaType: variant.mediaType, digest: variant.digest, size: variant.size };
      }
      sent.set(o.l.stored.digest, desc);
      await pushBlob(deps, client, ref, desc, o.id, signal, (m) => emit(m), throttle);
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
  const { bytes: manifestBytes, mediaType } =
    stored ??
    pushManifest(
      { digest: rec.id, size: configBytes.length },
      layers.map((l) => ({ descriptor: sent.get(l.stored.digest) ?? l.stored, compressedByBerth: l.compress })),
    );
  const manifest = JSON.parse(manifestBytes.toString()) as Manifest;
  // The config, quietly (Docker shows no line for it).
  await pushBlob(deps, client, ref, manifest.config, undefined, signal, () => undefined, throttle);
  const digest = await client.putManifest(tag, mediaType, manifestBytes);
  await images.addRepoDigest(rec.id, `${ref.repository}@${digest}`);
  emit({ status: `${tag}: digest: ${digest} size: ${manifestBytes.length}` });
  emit({ progressDetail: {}, aux: { Tag: tag, Digest: digest, Size: manifestBytes.length } });
  return { tag, digest, size: manifestBytes.length };
}

interface LayerPlan {
  /** The layer's blob in the content store. */
  stored: Descriptor;
  diffId: string;
  /** Stored uncompressed and pushed as its gzip variant. */
  compress: boolean;
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
    // The blob is the image's layer, or the gzip variant berth made of one of its layers.
    const variant = images.compressed.byDigest(digest);
    if (!rec.layers.some((l) => l.digest === digest) && (variant === undefined || !rec.diffIds.includes(variant.diffId))) continue;
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
 * The stored manifest when a push sends it unchanged: it describes exactly this image
 * (config and layer blobs), and it came from a registry (a pulled image keeps its digest) or
 * none of its layers is stored uncompressed. Otherwise the push builds one ({@link pushManifest}).
 */
export async function storedManifest(images: ImageStore, rec: ImageRecord): Promise<{ bytes: Buffer; mediaType: string; manifest: Manifest } | undefined> {
  let bytes: Buffer;
  let m: Partial<Manifest>;
  try {
    bytes = await images.content.read(rec.manifestDigest);
    m = JSON.parse(bytes.toString()) as Partial<Manifest>;
  } catch {
    return undefined; // no usable stored manifest: build one
  }
  const mediaType = m.mediaType ?? MEDIA_TYPES.ociManifest;
  const describes =
    (mediaType === MEDIA_TYPES.ociManifest || mediaType === MEDIA_TYPES.dockerManifest) &&
    m.config?.digest === rec.id &&
    Array.isArray(m.layers) &&
    m.layers.length === rec.layers.length &&
    m.layers.every((l, i) => l.digest === rec.layers[i]?.digest);
  if (!describes) return undefined;
  // Records from before berth marked pulled manifests: a repo digest naming this manifest says so.
  const fromRegistry = rec.manifestFromRegistry === true || rec.repoDigests.some((rd) => rd.endsWith(`@${rec.manifestDigest}`));
  const uncompressed = rec.layers.some((l, i) => l.digest === rec.diffIds[i]);
  if (!fromRegistry && uncompressed) return undefined;
  return { bytes, mediaType, manifest: m as Manifest };
}

/**
 * The manifest a push builds: Docker schema 2 (what `docker push` sends) when every layer
 * not compressed by berth has a Docker media type, OCI otherwise; the layers berth
 * compressed get the family's gzip media type, the others keep theirs.
 */
export function pushManifest(
  config: { digest: string; size: number },
  layers: readonly { descriptor: Descriptor; compressedByBerth: boolean }[],
): { bytes: Buffer; mediaType: string } {
  const docker = layers.length > 0 && layers.every((l) => l.compressedByBerth || l.descriptor.mediaType.startsWith('application/vnd.docker.'));
  const mediaType = docker ? MEDIA_TYPES.dockerManifest : MEDIA_TYPES.ociManifest;
  const m = {
    schemaVersion: 2,
    mediaType,
    config: { mediaType: docker ? MEDIA_TYPES.dockerConfig : MEDIA_TYPES.ociConfig, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({
      mediaType: l.compressedByBerth ? gzipLayerMediaType(mediaType) : l.descriptor.mediaType,
      digest: l.descriptor.digest,
      size: l.descriptor.size,
    })),
  };
  return { bytes: Buffer.from(JSON.stringify(m)), mediaType };
}
