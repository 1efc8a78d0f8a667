/**
 * `pull`: manifest (by tag or digest; from a manifest list / OCI index the platform's
 * entry), config, then the layers: downloaded in parallel (a daemon-wide limit) into the
 * content store's partial files, hashed as they stream, verified before they are committed,
 * resumed with Range requests after a cut or an interrupted pull, and unpacked as their
 * bytes arrive, each into its own snapshot, filed once its digest is verified. Progress is
 * Docker's JSON message stream.
 */
import { createReadStream } from 'node:fs';
import { InvalidArgument, NotFound, BerthError } from '../../core/errors.js';
import type { Descriptor, ImageConfig, Manifest, Platform } from '../../core/oci.js';
import { familiarName, familiarString, type Reference } from '../../core/reference.js';
import type { ImageStore } from '../images/store.js';
import { chainIds } from '../snapshots/overlay.js';
import { ByteFeed } from '../util/feed.js';
import type { Credentials } from './auth.js';
import { RegistryClient, type TokenCache } from './client.js';
import { endpointsFor, type RegistryConfig } from './config.js';
import { RegistryError, toBerthError } from './errors.js';
import { delay, type KeyedMutex, type Semaphore } from '../util/limit.js';
import { configMatches, formatPlatform, hostPlatform, indexPlatforms, LAYER_MEDIA_TYPES, parseManifest, selectManifest } from './manifest.js';
import { progressMessage, shortId, statusMessage, Throttle, type ProgressSink } from './progress.js';
import { NetworkError, drain } from './transport.js';

export interface PullDeps {
  images: ImageStore;
  config: RegistryConfig;
  tokens: TokenCache;
  downloads: Semaphore;
  userAgent: string;
  caFor?: (host: string) => Promise<Buffer[] | undefined>;
  /** Blobs being downloaded by some pull: a second pull of the same blob waits for the first. */
  inflight: Map<string, Promise<void>>;
  /** One unpack per layer chain at a time across pulls. */
  unpacking: KeyedMutex;
  /** Delays between download attempts (its length + 1 attempts in all). */
  retryDelaysMs?: readonly number[];
  idleTimeoutMs?: number;
}

export interface PullOptions {
  credentials?: Credentials;
  /** `--platform`; the host's when absent. */
  platform?: Platform;
  signal?: AbortSignal;
  progress: ProgressSink;
}

export interface PullResult {
  id: string;
  /** The digest pulled (the index's for a multi-platform image). */
  digest: string;
  /** Whether anything changed (an image or tag new to this daemon). */
  updated: boolean;
}

const DEFAULT_RETRY_DELAYS = [500, 1000, 2000, 4000];

/** `docker pull` of one reference (with a tag or a digest). */
export async function pullReference(deps: PullDeps, ref: Reference, opts: PullOptions): Promise<PullResult> {
  const tagOrDigest = ref.digest ?? ref.tag;
  if (tagOrDigest === undefined) throw new InvalidArgument(`pull of ${familiarName(ref.repository)} needs a tag or a digest`);
  const client = new RegistryClient({
    path: ref.path,
    endpoints: endpointsFor(deps.config, ref.domain, 'pull'),
    actions: ['pull'],
    tokens: deps.tokens,
    userAgent: deps.userAgent,
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
    ...(deps.caFor ? { caFor: deps.caFor } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(deps.idleTimeoutMs !== undefined ? { idleTimeoutMs: deps.idleTimeoutMs } : {}),
  });
  const p = new Puller(deps, client, ref, opts);
  return p.run(tagOrDigest);
}

/** `docker pull -a`: every tag of the repository, one after the other. */
export async function pullAllTags(deps: PullDeps, ref: Reference, opts: PullOptions): Promise<{ updated: boolean; tags: string[] }> {
  const client = new RegistryClient({
    path: ref.path,
    endpoints: endpointsFor(deps.config, ref.domain, 'pull'),
    actions: ['pull'],
    tokens: deps.tokens,
    userAgent: deps.userAgent,
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
    ...(deps.caFor ? { caFor: deps.caFor } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  let tags: string[];
  try {
    tags = await client.listTags();
  } catch (e) {
    throw pullError(e, ref);
  }
  if (tags.length === 0) throw new NotFound(`no tags found for ${familiarName(ref.repository)}`);
  let updated = false;
  for (const tag of tags) {
    const r = await pullReference(deps, { ...ref, tag }, opts);
    updated ||= r.updated;
  }
  return { updated, tags };
}

/** Docker's wording for what went wrong fetching a manifest. */
export function pullError(e: unknown, ref: Reference): unknown {
  if (!(e instanceof RegistryError)) return e;
  const name = familiarName(ref.repository);
  if (e.kind === 'unauthorized' || e.kind === 'denied' || e.codes.includes('NAME_UNKNOWN')) {
    return new NotFound(`pull access denied for ${name}, repository does not exist or may require 'docker login': ${e.message}`, { cause: e });
  }
  if (e.kind === 'not_found') {
    const what = ref.digest !== undefined ? `${name}@${ref.digest}` : `${name}:${ref.tag ?? 'latest'}`;
    return new NotFound(`manifest for ${what} not found: ${e.message}`, { cause: e });
  }
  return toBerthError(e);
}

interface LayerJob {
  index: number;
  descriptor: Descriptor;
  id: string;
  diffId: string;
  chainId: string;
  /** Resolves when the layer is in place (blob and snapshot). */
  done?: Promise<void>;
  /** The snapshot is there already: nothing to unpack. */
  snapshotExists: boolean;
}

class Puller {
  private readonly throttle = new Throttle();
  private readonly abort = new AbortController();
  private readonly signal: AbortSignal;

  constructor(
    private readonly deps: PullDeps,
    private readonly client: RegistryClient,
    private readonly ref: Reference,
    private readonly opts: PullOptions,
  ) {
    this.signal = opts.signal ? AbortSignal.any([opts.signal, this.abort.signal]) : this.abort.signal;
  }

  private emit = (m: Parameters<ProgressSink>[0]) => this.opts.progress(m);

  async run(tagOrDigest: string): Promise<PullResult> {
    const { images } = this.deps;
    let fetched;
    try {
      fetched = await this.client.getManifest(tagOrDigest);
    } catch (e) {
      throw pullError(e, this.ref);
    }
    const topDigest = fetched.digest;
    let endpoint = fetched.endpoint;
    // Docker names the repository by its path on the registry here (`library/busybox`).
    this.emit({ status: `Pulling from ${this.ref.path}`, id: tagOrDigest });
    let parsed = parseManifest(fetched.body, fetched.mediaType);
    let manifestBytes = fetched.body;
    const want = this.opts.platform ?? hostPlatform();
    if (parsed.kind === 'index') {
      let chosen: Descriptor;
      try {
        chosen = selectManifest(parsed.index, want);
      } catch (e) {
        if (e instanceof NotFound) {
          const offered = indexPlatforms(parsed.index);
          throw new NotFound(`${e.message}${offered.length > 0 ? ` (${familiarString(this.ref)} is available for ${offered.join(', ')})` : ''}`);
        }
        throw e;
      }
      let inner;
      try {
        inner = await this.client.getManifest(chosen.digest, endpoint);
      } catch (e) {
        throw pullError(e, { ...this.ref, digest: chosen.digest });
      }
      endpoint = inner.endpoint;
      parsed = parseManifest(inner.body, inner.mediaType);
      manifestBytes = inner.body;
      if (parsed.kind !== 'manifest') throw new InvalidArgument(`the manifest list entry ${chosen.digest} for ${formatPlatform(want)} is itself a list`);
    }
    const manifest = parsed.manifest;
    for (const l of manifest.layers) {
      if (!LAYER_MEDIA_TYPES.has(l.mediaType)) throw new InvalidArgument(`unsupported layer media type "${l.mediaType}" (layer ${l.digest})`);
    }
    const { config, configBytes } = await this.fetchConfig(manifest, endpoint);
    if (this.opts.platform !== undefined && parsed.kind === 'manifest' && !configMatches(config, want)) {
      const actual = formatPlatform({ os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) });
      throw new NotFound(`image with reference ${familiarString(this.ref)} was found but does not match the specified platform: wanted ${formatPlatform(want)}, actual: ${actual}`);
    }
    const diffIds = config.rootfs?.diff_ids;
    if (!Array.isArray(diffIds) || diffIds.length !== manifest.layers.length) {
      throw new InvalidArgument(`invalid image: the config names ${Array.isArray(diffIds) ? diffIds.length : 0} layers, the manifest ${manifest.layers.length}`);
    }
    const id = configDigest(manifest);
    // A reference with a digest pulls that digest; a tag beside it is not applied (Docker's rule).
    const tagKey = this.ref.tag !== undefined && this.ref.digest === undefined ? `${this.ref.repository}:${this.ref.tag}` : undefined;
    const before = tagKey !== undefined ? images.refTarget(tagKey) : undefined;
    let existing = images.tryResolve(id);
    if (existing === undefined || !(await this.layersPresent(diffIds, manifest.layers))) {
      existing = undefined;
      await this.pullLayers(manifest, diffIds, endpoint);
      await images.createImage(config, manifest.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })), { configBytes, manifest: manifestBytes, fromRegistry: true });
    }
    const repoDigest = `${this.ref.repository}@${topDigest}`;
    await images.addRepoDigest(id, repoDigest);
    if (tagKey !== undefined) await images.tag(id, tagKey);
    this.emit({ status: `Digest: ${topDigest}` });
    // Docker's rule: "up to date" unless something was downloaded or the tag moved.
    const updated = existing === undefined || (tagKey !== undefined && before !== id);
    const shown = familiarString(this.ref);
    this.emit({ status: updated ? `Status: Downloaded newer image for ${shown}` : `Status: Image is up to date for ${shown}` });
    return { id, digest: topDigest, updated };
  }

  private async fetchConfig(manifest: Manifest, endpoint: number): Promise<{ config: ImageConfig; configBytes: Buffer }> {
    const { content } = this.deps.images;
    const digest = manifest.config.digest;
    let configBytes: Buffer;
    if (await content.has(digest)) {
      configBytes = await content.read(digest);
    } else {
      let lastError: unknown;
      let got: Buffer | undefined;
      for (let i = endpoint; i < this.client.endpoints.length && got === undefined; i++) {
        try {
          got = await this.client.getBlobBytes(i, digest);
        } catch (e) {
          lastError = e;
          if (this.signal.aborted) throw e;
        }
      }
      if (got === undefined) throw lastError;
      configBytes = got;
    }
    let config: ImageConfig;
    try {
      config = JSON.parse(configBytes.toString('utf8')) as ImageConfig;
    } catch {
      throw new InvalidArgument(`invalid image config ${digest}: not JSON`);
    }
    if (config === null || typeof config !== 'object' || typeof config.rootfs !== 'object') throw new InvalidArgument(`invalid image config ${digest}: no rootfs`);
    return { config, configBytes };
  }

  /** Whether every layer's snapshot and blob are here (an image record alone is not enough). */
  private async layersPresent(diffIds: string[], layers: Descriptor[]): Promise<boolean> {
    const chains = chainIds(diffIds);
    for (const [i, l] of layers.entries()) {
      if (!(await this.deps.images.content.has(l.digest))) return false;
      if ((await this.deps.images.snapshots.get(chains[i] as string)) === undefined) return false;
    }
    return true;
  }

  private async pullLayers(manifest: Manifest, diffIds: string[], endpoint: number): Promise<void> {
    const { images } = this.deps;
    const chains = chainIds(diffIds);
    const jobs: LayerJob[] = [];
    for (const [i, l] of manifest.layers.entries()) {
      const snapshotExists = (await images.snapshots.get(chains[i] as string)) !== undefined;
      const blobExists = await images.content.has(l.digest);
      const job: LayerJob = { index: i, descriptor: l, id: shortId(l.digest), diffId: diffIds[i] as string, chainId: chains[i] as string, snapshotExists };
      jobs.push(job);
      if (snapshotExists && blobExists) {
        this.emit(statusMessage('Already exists', job.id));
        job.done = Promise.resolve();
      } else {
        this.emit(statusMessage('Pulling fs layer', job.id));
      }
    }
    // Every layer at once (the semaphore keeps at most N downloads running): each is unpacked
    // while it downloads, into its own snapshot (a snapshot names its parent; it does not need
    // it on disk), so no layer waits for the one below it.
    for (const job of jobs) {
      if (job.done !== undefined) continue;
      job.done = this.layer(job, endpoint, job.index === 0 ? undefined : (chains[job.index - 1] as string));
      job.done.catch(() => this.abort.abort(new Error('pull failed')));
    }
    try {
      // "Pull complete" in layer order, as Docker reports it.
      for (const job of jobs) {
        await job.done;
        if (!job.snapshotExists) this.emit(statusMessage('Pull complete', job.id));
      }
    } catch (e) {
      this.abort.abort(e);
      // Let every layer stop (a download keeps its partial) before reporting.
      await Promise.allSettled(jobs.map((j) => j.done));
      throw await firstRealError(jobs, e);
    }
  }

  /** One layer: its blob downloaded (and unpacked on the way), or unpacked from the store. */
  private async layer(job: LayerJob, endpoint: number, parent: string | undefined): Promise<void> {
    if (job.snapshotExists) {
      // Its snapshot is here: the blob is needed only (for push and save).
      await this.download(job, () => this.fetchBlob(job, endpoint));
      return;
    }
    const streamed = await this.download(job, () => this.fetchAndUnpack(job, endpoint, parent));
    // The blob was in the store already, or another pull fetched it.
    if (!streamed) await this.unpackFromStore(job, parent);
  }

  /** Unpacks a layer from its stored blob, unless another pull has meanwhile. */
  private unpackFromStore(job: LayerJob, parent: string | undefined): Promise<void> {
    return this.deps.unpacking.run(job.chainId, async () => {
      if ((await this.deps.images.snapshots.get(job.chainId)) === undefined) await this.unpackStored(job, parent);
    });
  }

  private async unpackStored(job: LayerJob, parent: string | undefined): Promise<void> {
    const total = job.descriptor.size;
    let read = 0;
    const onRead = (n: number) => {
      read += n;
      if (this.throttle.update(`x${job.id}`, read, total)) this.emit(progressMessage('Extracting', job.id, read, total));
    };
    await this.deps.images.addStoredLayer(job.descriptor, parent, { onRead, signal: this.signal, diffId: job.diffId });
  }

  /**
   * Downloads a blob and unpacks it as its bytes arrive: they go to the partial file (hashed)
   * and to the unpacker at once. The snapshot is filed only once the blob's digest is right
   * (and its diffID the config's); a failure of either side stops the other.
   */
  private async fetchAndUnpack(job: LayerJob, endpoint: number, parent: string | undefined): Promise<void> {
    const { images } = this.deps;
    if (this.deps.unpacking.busy(job.chainId)) {
      // Another pull unpacks this layer (from another blob of the same content): streaming
      // into an unpacker queued behind it would stall this download while it holds a download
      // slot. Download at full speed, then unpack from the store if it is still missing.
      await this.fetchBlob(job, endpoint);
      await this.unpackFromStore(job, parent);
      return;
    }
    const feed = new ByteFeed(FEED_BYTES);
    let settle!: (e?: unknown) => void;
    const verified = new Promise<void>((res, rej) => (settle = (e) => (e === undefined ? res() : rej(e))));
    verified.catch(() => undefined);
    const unpacked = this.deps.unpacking
      .run(job.chainId, async () => {
        // Another pull (of another blob with the same content) may have unpacked it meanwhile.
        if ((await images.snapshots.get(job.chainId)) !== undefined) return;
        await images.unpackLayerFrom(feed, job.descriptor, parent, { signal: this.signal, diffId: job.diffId, verified });
      })
      .finally(() => feed.close());
    // A layer that cannot be unpacked stops its download (and the pull) at once.
    unpacked.catch(() => this.abort.abort(new Error('pull failed')));
    let downloadError: unknown;
    try {
      await this.fetchBlob(job, endpoint, new DownloadTap(feed));
      feed.end();
      settle();
    } catch (e) {
      downloadError = e;
      feed.fail(e);
      settle(e);
    }
    const unpackError = await unpacked.then(
      () => undefined,
      (e: unknown) => e ?? new Error('unpack failed'),
    );
    // The download's own failure (a bad digest, the network) explains an unpack stopped by it.
    if (downloadError !== undefined && !isPullFailed(downloadError)) throw downloadError;
    if (unpackError !== undefined) throw unpackError;
    if (downloadError !== undefined) throw downloadError;
  }

  /**
   * Runs `fetch` for one layer blob unless it is in the content store. One download per
   * digest at a time in the daemon: another pull (or the same blob twice in one manifest)
   * waits for it, then finds the blob there. Returns whether `fetch` ran.
   */
  private async download(job: LayerJob, fetch: () => Promise<void>): Promise<boolean> {
    const { content } = this.deps.images;
    const digest = job.descriptor.digest;
    for (;;) {
      const other = this.deps.inflight.get(digest);
      if (other !== undefined) {
        await other;
        this.signal.throwIfAborted();
        continue;
      }
      let fetched = false;
      // Claimed with no await between the check and the set.
      const work = (async () => {
        if (await content.has(digest)) {
          this.emit(statusMessage('Download complete', job.id));
          return;
        }
        fetched = true;
        await fetch();
      })();
      const shared = work.then(
        () => undefined,
        () => undefined,
      );
      this.deps.inflight.set(digest, shared);
      try {
        await work;
      } finally {
        if (this.deps.inflight.get(digest) === shared) this.deps.inflight.delete(digest);
      }
      return fetched;
    }
  }

  private async fetchBlob(job: LayerJob, firstEndpoint: number, tap?: DownloadTap): Promise<void> {
    const { content } = this.deps.images;
    const { digest, size } = job.descriptor;
    let release: (() => void) | undefined;
    if (this.deps.downloads.busy) this.emit(statusMessage('Waiting', job.id));
    release = await this.deps.downloads.acquire(this.signal);
    const partial = await content.openPartial(digest);
    try {
      const delays = this.deps.retryDelaysMs ?? DEFAULT_RETRY_DELAYS;
      let endpoint = firstEndpoint;
      for (let attempt = 0; ; attempt++) {
        try {
          await this.fetchInto(job, partial, endpoint, tap);
          if (partial.offset < size) {
            throw new ShortRead(`${digest}: the registry sent ${partial.offset} of ${size} bytes`);
          }
          break;
        } catch (e) {
          if (this.signal.aborted) throw this.signal.reason ?? e;
          const retryable = e instanceof NetworkError || e instanceof ShortRead || isStreamCut(e) || (e instanceof RegistryError && (e.kind === 'server'));
          const mirrorLeft = endpoint < this.client.endpoints.length - 1;
          if (!retryable && !mirrorLeft) throw e;
          if (!retryable && mirrorLeft) {
            endpoint++;
            continue;
          }
          const wait = delays[attempt];
          if (wait === undefined) {
            if (mirrorLeft) {
              endpoint++;
              attempt = -1;
              continue;
            }
            throw e;
          }
          const secs = Math.max(1, Math.round(wait / 1000));
          this.emit(statusMessage(`Retrying in ${secs} second${secs === 1 ? '' : 's'}`, job.id));
          await delay(wait, this.signal);
        }
      }
      // The bytes are in: the next layer's download may start while this one is checked.
      release?.();
      release = undefined;
      await tap?.catchUp(partial.path, partial.offset);
      this.emit(statusMessage('Verifying Checksum', job.id));
      try {
        await partial.commit(size);
      } catch (e) {
        throw new InvalidArgument(`filesystem layer verification failed for digest ${digest}: ${(e as Error).message}`, { cause: e });
      }
      this.emit(statusMessage('Download complete', job.id));
    } finally {
      partial.close();
      release?.();
      release = undefined;
    }
  }

  /** One attempt: a GET (a Range request from what the partial has), appended to the partial. */
  private async fetchInto(job: LayerJob, partial: Awaited<ReturnType<ImageStore['content']['openPartial']>>, endpoint: number, tap?: DownloadTap): Promise<void> {
    const { digest, size } = job.descriptor;
    if (partial.offset > size) await partial.reset();
    if (partial.offset === size) return;
    const offset = partial.offset;
    const res = await this.client.getBlob(endpoint, digest, offset);
    if (res.status === 416) {
      // The registry has fewer bytes than we do: start over.
      drain(res.body);
      await partial.reset();
      throw new ShortRead(`${digest}: range not satisfiable at ${offset}`);
    }
    if (offset > 0) {
      const range = /^bytes (\d+)-/.exec(String(res.headers['content-range'] ?? ''));
      if (res.status !== 206 || range === null || Number(range[1]) !== offset) {
        // The server ignored (or misread) the Range header: take the whole blob again.
        await partial.reset();
      }
    }
    let current = partial.offset;
    if (current > 0 && this.throttle.update(job.id, current, size)) this.emit(progressMessage('Downloading', job.id, current, size));
    const onBytes = (n: number) => {
      current += n;
      if (current > size) throw new InvalidArgument(`filesystem layer verification failed for digest ${digest}: the registry sent more than ${size} bytes`);
      if (this.throttle.update(job.id, current, size)) this.emit(progressMessage('Downloading', job.id, current, size));
    };
    if (tap === undefined) {
      await partial.append(res.body, onBytes);
      return;
    }
    // The tap gets what the partial held from an earlier attempt first, then this response.
    await tap.catchUp(partial.path, partial.offset);
    await partial.append(tap.pass(res.body, partial.offset), onBytes);
  }
}

/** Bytes a layer's unpacker may have waiting before the download waits for it. */
const FEED_BYTES = 512 * 1024;

/**
 * Hands a download's bytes to an unpacker: every byte of the blob once and in order, across
 * retries and resumes (a resumed download's first bytes come from its partial file).
 */
class DownloadTap {
  /** Bytes of the blob handed over so far. */
  private fed = 0;

  constructor(private readonly feed: ByteFeed) {}

  /** Hands over what the partial file holds beyond what was handed over, up to `offset`. */
  async catchUp(file: string, offset: number): Promise<void> {
    if (this.fed >= offset || this.feed.isClosed) return;
    for await (const chunk of createReadStream(file, { start: this.fed, end: offset - 1, highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
      await this.feed.push(chunk);
      this.fed += chunk.length;
    }
  }

  /** Passes a response body through, handing over the bytes from `start` on not yet handed over. */
  async *pass(body: AsyncIterable<Buffer>, start: number): AsyncGenerator<Buffer> {
    let pos = start;
    for await (const chunk of body) {
      const skip = this.fed - pos;
      if (skip < chunk.length) {
        const fresh = skip > 0 ? chunk.subarray(skip) : chunk;
        await this.feed.push(fresh);
        this.fed += fresh.length;
      }
      pos += chunk.length;
      yield chunk;
    }
  }
}

function isPullFailed(e: unknown): boolean {
  return e instanceof Error && e.message === 'pull failed';
}

class ShortRead extends BerthError {}

function isStreamCut(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'EPIPE' || code === 'ETIMEDOUT' || (e instanceof Error && e.message === 'aborted');
}

/** The error that started a failure (not the "aborted" the others saw because of it). */
async function firstRealError(jobs: LayerJob[], fallback: unknown): Promise<unknown> {
  if (!isPullFailed(fallback)) return fallback;
  for (const j of jobs) {
    try {
      await j.done;
    } catch (e) {
      if (!isPullFailed(e)) return e;
    }
  }
  return fallback;
}

function configDigest(m: Manifest): string {
  return m.config.digest;
}
