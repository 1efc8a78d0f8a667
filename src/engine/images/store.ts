import { createHash } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { Conflict, InvalidArgument, NotFound } from '../../core/errors.js';
import { MEDIA_TYPES, type Descriptor, type ImageConfig, type Manifest } from '../../core/oci.js';
import { familiarName, formatReference, parseReference, withDefaultTag } from '../../core/reference.js';
import type { LocalContentStore } from '../content/store.js';
import { unpackLayerPlaced, type UnpackPlacement } from '../layers/index.js';
import { chainIds, layerSize, type OverlaySnapshotter, type SnapshotMeta } from '../snapshots/overlay.js';
import { readJsonIfExists, writeJsonAtomic } from '../util/atomic.js';
import { Mutex } from '../util/mutex.js';
import { CompressedLayers, type CompressedVariant } from './compressed.js';

/**
 * The image store: image records keyed by config digest (the image ID), a reference index
 * (`refs.json`, fully qualified name → ID) and the layers as blobs plus unpacked snapshots.
 * Every index write is atomic; records are written before references point at them.
 */
export interface ImageRecord {
  id: string;
  manifestDigest: string;
  layers: Descriptor[];
  diffIds: string[];
  created: string;
  repoDigests: string[];
  parent?: string;
  lastTagTime?: string;
  size: number;
  /**
   * The manifest came from a registry (a pull): a push sends it unchanged, so the image keeps
   * its digest. Without it, a push compresses the layers stored uncompressed.
   */
  manifestFromRegistry?: boolean;
}

export interface Image {
  record: ImageRecord;
  config: ImageConfig;
  repoTags: string[];
}

export interface LayerInput {
  /** The layer blob as it should be stored (compressed or not). */
  stream: Readable | AsyncIterable<Buffer>;
  mediaType?: string;
  expectedDigest?: string;
}

export type ImageEvent = (action: 'tag' | 'untag' | 'delete' | 'import' | 'load', id: string, name?: string) => void;

export class ImageStore {
  private readonly recordsDir: string;
  private readonly refsPath: string;
  private refs: Record<string, string> = {};
  private readonly refsLock = new Mutex();
  private records = new Map<string, ImageRecord>();
  /** Gzip variants of layers stored uncompressed, made by pushes (diffID → blob). */
  readonly compressed: CompressedLayers;
  private readonly compressing = new Map<string, Promise<{ variant: CompressedVariant; made: boolean }>>();

  constructor(
    root: string,
    readonly content: LocalContentStore,
    readonly snapshots: OverlaySnapshotter,
    private readonly emit: ImageEvent = () => undefined,
    /** Where layers are unpacked: some in an unpack process when its script is given. */
    private readonly placement: UnpackPlacement = {},
  ) {
    this.recordsDir = join(root, 'images');
    this.refsPath = join(root, 'refs.json');
    this.compressed = new CompressedLayers(join(root, 'compressed'));
  }

  async init(): Promise<void> {
    await mkdir(this.recordsDir, { recursive: true });
    await this.compressed.init();
    this.refs = (await readJsonIfExists<Record<string, string>>(this.refsPath)) ?? {};
    for (const name of await readdir(this.recordsDir)) {
      if (!name.endsWith('.json')) continue;
      const rec = await readJsonIfExists<ImageRecord>(join(this.recordsDir, name));
      if (rec) this.records.set(rec.id, rec);
    }
    // A reference whose record is gone (crash between writes) is dropped, never left dangling.
    for (const [ref, id] of Object.entries(this.refs)) if (!this.records.has(id)) delete this.refs[ref];
  }

  /** Stores a layer blob and unpacks it onto `parentChain`; returns its descriptor and diffId. */
  async addLayer(input: LayerInput, parentChain: string | undefined): Promise<{ descriptor: Descriptor; diffId: string; chainId: string }> {
    const expected = input.expectedDigest !== undefined ? { digest: input.expectedDigest } : {};
    const { digest, size } = await this.content.ingest(input.stream, expected);
    // The chain ID needs the diffId, known only once the (maybe compressed) blob is read:
    // the snapshotter unpacks into a scratch directory and files it under its chain ID.
    let meta;
    try {
      meta = await this.snapshots.unpackNew(parentChain, (dir) =>
        unpackLayerPlaced(this.content.stream(digest) as AsyncIterable<Buffer>, dir, size, this.placement),
      );
    } catch (e) {
      // A layer that cannot be unpacked leaves nothing behind, unless an image already has the blob.
      if (![...this.records.values()].some((r) => r.layers.some((l) => l.digest === digest))) await this.content.delete(digest).catch(() => undefined);
      throw e;
    }
    const mediaType = input.mediaType ?? (digest === meta.diffId ? MEDIA_TYPES.ociLayer : MEDIA_TYPES.ociLayerGzip);
    return { descriptor: { mediaType, digest, size }, diffId: meta.diffId, chainId: meta.chainId };
  }

  /**
   * Unpacks a layer blob that is already in the content store (a pulled layer) onto
   * `parentChain`; `onRead` sees the blob's bytes as they are read (for progress). With
   * `diffId`, a layer that unpacks to another diffID is an error and no snapshot is kept.
   */
  async addStoredLayer(
    descriptor: Descriptor,
    parentChain: string | undefined,
    opts: { onRead?: (bytes: number) => void; signal?: AbortSignal; diffId?: string } = {},
  ): Promise<{ descriptor: Descriptor; diffId: string; chainId: string }> {
    if (!(await this.content.has(descriptor.digest))) throw new NotFound(`blob ${descriptor.digest}: not found`);
    const onRead = opts.onRead;
    const stream = this.content.stream(descriptor.digest) as AsyncIterable<Buffer>;
    const source = !onRead
      ? stream
      : (async function* () {
          for await (const chunk of stream) {
            onRead(chunk.length);
            yield chunk;
          }
        })();
    const meta = await this.unpackLayerFrom(source, descriptor, parentChain, opts);
    return { descriptor: { mediaType: descriptor.mediaType, digest: descriptor.digest, size: descriptor.size }, diffId: meta.diffId, chainId: meta.chainId };
  }

  /**
   * Unpacks the layer blob `descriptor` from `source` (its bytes, as a download receives
   * them) onto `parentChain`. The snapshot is filed only after `verified` resolves (the
   * blob's digest checked) and when the layer unpacks to `diffId` (when given): otherwise
   * nothing of it stays.
   */
  async unpackLayerFrom(
    source: AsyncIterable<Buffer>,
    descriptor: Descriptor,
    parentChain: string | undefined,
    opts: { signal?: AbortSignal; diffId?: string; verified?: Promise<void> } = {},
  ): Promise<SnapshotMeta> {
    return this.snapshots.unpackNew(parentChain, async (dir) => {
      const r = await unpackLayerPlaced(source, dir, descriptor.size, { ...this.placement, ...(opts.signal ? { signal: opts.signal } : {}) });
      await opts.verified;
      if (opts.diffId !== undefined && r.diffId !== opts.diffId) {
        throw new InvalidArgument(`layer ${descriptor.digest} unpacks to diffID ${r.diffId}, but the image config says ${opts.diffId}`);
      }
      return r;
    });
  }

  /** Records `repository@digest` (the manifest a registry served) for an image; returns false when already there. */
  async addRepoDigest(id: string, repoDigest: string): Promise<boolean> {
    return this.refsLock.run(async () => {
      const rec = this.records.get(id);
      if (!rec) throw new NotFound(`No such image: ${id}`);
      if (rec.repoDigests.includes(repoDigest)) return false;
      await this.updateRecord(rec, { repoDigests: [...rec.repoDigests, repoDigest] });
      return true;
    });
  }

  /** The image a reference points at (`docker.io/library/busybox:latest`), if any. */
  refTarget(name: string): string | undefined {
    return this.refs[formatReference(withDefaultTag(parseReference(name)))];
  }

  /** Fully qualified tagged references of one repository (`docker.io/library/busybox`) with their images. */
  tagsOf(repository: string): { ref: string; id: string }[] {
    return Object.entries(this.refs)
      .filter(([k]) => k.slice(0, k.lastIndexOf(':')) === repository)
      .map(([ref, id]) => ({ ref, id }))
      .sort((a, b) => a.ref.localeCompare(b.ref));
  }

  /** Creates (or finds) an image from a config and stored layers; layers must have been added. */
  async createImage(
    config: ImageConfig,
    layers: Descriptor[],
    opts: { parent?: string; manifest?: Buffer; configBytes?: Buffer; fromRegistry?: boolean } = {},
  ): Promise<ImageRecord> {
    // The image ID is the digest of the exact config bytes: keep them when they came from outside.
    const configBuf = opts.configBytes ?? Buffer.from(JSON.stringify(config));
    const id = await this.content.put(configBuf);
    const existing = this.records.get(id);
    if (existing) return existing;
    const manifest: Manifest = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociManifest,
      config: { mediaType: MEDIA_TYPES.ociConfig, digest: id, size: configBuf.length },
      layers,
    };
    const manifestDigest = await this.content.put(opts.manifest ?? JSON.stringify(manifest));
    const chains = chainIds(config.rootfs.diff_ids);
    let size = 0;
    for (const c of chains) {
      const meta = await this.snapshots.get(c);
      if (!meta) throw new InvalidArgument(`image config names layer ${c} that is not in the store`);
      size += layerSize(meta);
    }
    const record: ImageRecord = {
      id,
      manifestDigest,
      layers,
      diffIds: config.rootfs.diff_ids,
      created: config.created ?? new Date().toISOString(),
      repoDigests: [],
      size,
      ...(opts.parent !== undefined ? { parent: opts.parent } : {}),
      ...(opts.fromRegistry === true && opts.manifest !== undefined ? { manifestFromRegistry: true } : {}),
    };
    await writeJsonAtomic(join(this.recordsDir, `${id.slice(7)}.json`), record);
    this.records.set(id, record);
    return record;
  }

  /**
   * The gzip variant of a layer stored uncompressed (its blob is the tar, `diffId` its
   * digest): the one made before when its blob is still in the content store, else made now
   * and recorded; `made` says which. Making it streams the tar from the content store through
   * gzip back into the content store's ingest area, hashing while it writes; the blob is
   * committed (verified, fsynced, renamed) before the variant names it, and the tar read is
   * checked against `diffId` on the way. Concurrent requests for a layer share one compression.
   */
  compressedLayer(diffId: string): Promise<{ variant: CompressedVariant; made: boolean }> {
    const running = this.compressing.get(diffId);
    if (running !== undefined) return running.then(({ variant }) => ({ variant, made: false }));
    const work = (async () => {
      const known = this.compressed.get(diffId);
      if (known !== undefined && (await this.content.has(known.digest)) && (await this.content.size(known.digest)) === known.size) return { variant: known, made: false };
      if (!(await this.content.has(diffId))) throw new NotFound(`layer ${diffId}: its uncompressed blob is not in the content store`);
      // Output in 256 KiB pieces (16 KiB by default): the daemon's work is per piece. A 50 MB
      // layer of random data: 2.1–2.6 → 1.7–1.8 s with the daemon's V8 flags.
      const gzip = createGzip({ chunkSize: 256 * 1024 });
      const feeding = pipeline(this.content.stream(diffId), verifyingDigest(diffId), gzip);
      // Both settle before anything is decided, so a failed write has removed its temp file.
      const [written, fed] = await Promise.allSettled([this.content.ingest(gzip), feeding]);
      if (fed.status === 'rejected') throw fed.reason;
      if (written.status === 'rejected') throw written.reason;
      const { digest, size } = written.value;
      const variant: CompressedVariant = { diffId, digest, size, mediaType: MEDIA_TYPES.ociLayerGzip };
      await this.compressed.record(variant);
      return { variant, made: true };
    })();
    this.compressing.set(diffId, work);
    const clear = () => {
      if (this.compressing.get(diffId) === work) this.compressing.delete(diffId);
    };
    work.then(clear, clear);
    return work;
  }

  async config(id: string): Promise<ImageConfig> {
    return JSON.parse((await this.content.read(id)).toString()) as ImageConfig;
  }

  topChain(record: ImageRecord): string | undefined {
    const c = chainIds(record.diffIds);
    return c[c.length - 1];
  }

  /** Finds an image by name[:tag], name@digest, full ID or unique ID prefix. */
  resolve(nameOrId: string): ImageRecord {
    const found = this.tryResolve(nameOrId);
    if (!found) throw new NotFound(`No such image: ${nameOrId}`);
    return found;
  }

  tryResolve(nameOrId: string): ImageRecord | undefined {
    const hex = nameOrId.replace(/^sha256:/, '');
    if (/^[a-f0-9]{64}$/.test(hex)) return this.records.get(`sha256:${hex}`);
    let ref;
    try {
      ref = withDefaultTag(parseReference(nameOrId));
    } catch (e) {
      if (!/^(sha256:)?[a-f0-9]{1,63}$/.test(nameOrId)) throw e;
    }
    if (ref) {
      if (ref.digest !== undefined) {
        for (const r of this.records.values()) {
          if (r.manifestDigest === ref.digest || r.repoDigests.includes(`${ref.repository}@${ref.digest}`)) return r;
        }
      } else {
        const id = this.refs[formatReference(ref)];
        if (id !== undefined) return this.records.get(id);
      }
    }
    if (/^(sha256:)?[a-f0-9]{1,63}$/.test(nameOrId)) {
      const matches = [...this.records.keys()].filter((id) => id.slice(7).startsWith(hex));
      if (matches.length === 1) return this.records.get(matches[0] as string);
      if (matches.length > 1) throw new InvalidArgument(`image ID prefix ${nameOrId} is ambiguous`);
    }
    return undefined;
  }

  /** The image's tags, familiar (`busybox:latest`), in the order of their full names as Docker sorts them (`docker.io/library/...` before `docker.io/myorg/...`). */
  repoTags(id: string): string[] {
    return Object.entries(this.refs)
      .filter(([, v]) => v === id)
      .map(([k]) => k)
      .sort()
      .map((k) => familiarRef(k));
  }

  async tag(id: string, name: string): Promise<void> {
    const ref = withDefaultTag(parseReference(name));
    if (ref.digest !== undefined) throw new InvalidArgument('refusing to create a tag with a digest reference');
    const key = formatReference(ref);
    await this.refsLock.run(async () => {
      await this.updateRefs({ ...this.refs, [key]: id });
      const rec = this.records.get(id);
      if (rec) await this.updateRecord(rec, { lastTagTime: new Date().toISOString() });
    });
    this.emit('tag', id, familiarRef(key));
  }

  /** Removes one reference; returns the image ID it pointed at. */
  async untag(name: string): Promise<string> {
    const key = formatReference(withDefaultTag(parseReference(name)));
    return this.refsLock.run(async () => {
      const id = this.refs[key];
      if (id === undefined) throw new NotFound(`No such image: ${name}`);
      const { [key]: _gone, ...rest } = this.refs;
      await this.updateRefs(rest);
      this.emit('untag', id, familiarRef(key));
      return id;
    });
  }

  /**
   * Writes the reference store as `next`, then takes it: a write that fails (a full disk)
   * leaves the references as they were, in memory as on disk.
   */
  private async updateRefs(next: Record<string, string>): Promise<void> {
    await writeJsonAtomic(this.refsPath, next);
    this.refs = next;
  }

  /** Writes an image record with `change`, then applies it to the one in memory (see updateRefs). */
  private async updateRecord(rec: ImageRecord, change: Partial<ImageRecord>): Promise<void> {
    await writeJsonAtomic(join(this.recordsDir, `${rec.id.slice(7)}.json`), { ...rec, ...change });
    Object.assign(rec, change);
  }

  list(): ImageRecord[] {
    return [...this.records.values()];
  }

  /**
   * `rmi`: a name removes that tag, and the image when it was the last one; an ID removes the
   * image (with -f even when it has several tags). `inUse` names a container using the image.
   */
  async remove(
    nameOrId: string,
    opts: { force: boolean; inUse: (id: string) => string | undefined; runningUser?: (id: string) => string | undefined },
  ): Promise<{ Untagged?: string; Deleted?: string }[]> {
    const rec = this.resolve(nameOrId);
    const digestRef = digestReference(nameOrId);
    if (digestRef !== undefined && rec.repoDigests.includes(digestRef)) return this.removeDigestRef(rec, digestRef, opts);
    const tags = this.repoTags(rec.id);
    const byName = !rec.id.slice(7).startsWith(nameOrId.replace(/^sha256:/, '')) && tags.length > 0;
    const out: { Untagged?: string; Deleted?: string }[] = [];
    const user = opts.inUse(rec.id);
    if (byName && tags.length > 1) {
      out.push({ Untagged: familiarRef(formatReference(withDefaultTag(parseReference(nameOrId)))) });
      await this.untag(nameOrId);
      return out;
    }
    if (!byName && tags.length > 1 && !opts.force) {
      throw new Conflict(`conflict: unable to delete ${rec.id.slice(7, 19)} (must be forced) - image is referenced in multiple repositories`);
    }
    if (user !== undefined && !opts.force) {
      throw new Conflict(
        byName
          ? `conflict: unable to remove repository reference "${nameOrId}" (must force) - container ${user.slice(0, 12)} is using its referenced image ${rec.id.slice(7, 19)}`
          : `conflict: unable to delete ${rec.id.slice(7, 19)} (must be forced) - image is being used by container ${user.slice(0, 12)}`,
      );
    }
    for (const t of tags) {
      await this.untag(t);
      out.push({ Untagged: t });
    }
    // Forced: a stopped container does not keep the image (its layers stay while it exists);
    // a running one does, untagged (Docker's rule: that conflict cannot be forced).
    if (user !== undefined && opts.runningUser?.(rec.id) !== undefined) return out;
    if (user !== undefined && opts.runningUser === undefined) return out;
    await rm(join(this.recordsDir, `${rec.id.slice(7)}.json`), { force: true });
    this.records.delete(rec.id);
    out.push({ Deleted: rec.id });
    this.emit('delete', rec.id);
    return out;
  }

  /**
   * `rmi repo@sha256:…`: drops that digest reference; the image goes too when nothing else
   * names it (no tag, no other digest) and no container uses it, as in Docker.
   */
  private async removeDigestRef(rec: ImageRecord, digestRef: string, opts: { force: boolean; inUse: (id: string) => string | undefined }): Promise<{ Untagged?: string; Deleted?: string }[]> {
    const last = rec.repoDigests.length === 1 && this.repoTags(rec.id).length === 0;
    const user = opts.inUse(rec.id);
    const at = digestRef.indexOf('@');
    const shown = `${familiarName(digestRef.slice(0, at))}${digestRef.slice(at)}`;
    if (last && user !== undefined && !opts.force) {
      throw new Conflict(`conflict: unable to remove repository reference "${shown}" (must force) - container ${user.slice(0, 12)} is using its referenced image ${rec.id.slice(7, 19)}`);
    }
    await this.refsLock.run(() => this.updateRecord(rec, { repoDigests: rec.repoDigests.filter((r) => r !== digestRef) }));
    const out: { Untagged?: string; Deleted?: string }[] = [{ Untagged: shown }];
    this.emit('untag', rec.id, shown);
    if (!last || user !== undefined) return out;
    await rm(join(this.recordsDir, `${rec.id.slice(7)}.json`), { force: true });
    this.records.delete(rec.id);
    out.push({ Deleted: rec.id });
    this.emit('delete', rec.id);
    return out;
  }

  /** Deletes snapshots and blobs no image needs any more. `keepChains` are in use by containers. */
  async gc(keepChains: Iterable<string>): Promise<number> {
    const chains = new Set(keepChains);
    const blobs = new Set<string>();
    const diffIds = new Set<string>();
    for (const r of this.records.values()) {
      for (const c of chainIds(r.diffIds)) chains.add(c);
      blobs.add(r.id);
      blobs.add(r.manifestDigest);
      for (const l of r.layers) blobs.add(l.digest);
      for (const d of r.diffIds) diffIds.add(d);
    }
    // A layer's compressed variant stays while an image has the layer; then it goes too.
    for (const v of this.compressed.list()) {
      if (diffIds.has(v.diffId) || this.compressing.has(v.diffId)) blobs.add(v.digest);
      else await this.compressed.forget(v.diffId);
    }
    let reclaimed = 0;
    for (const s of await this.snapshots.list()) {
      if (!chains.has(s.chainId)) {
        reclaimed += layerSize(s);
        await this.snapshots.remove(s.chainId);
      }
    }
    for (const b of await this.content.list()) {
      if (!blobs.has(b)) await this.content.delete(b);
    }
    return reclaimed;
  }

  isDangling(id: string): boolean {
    return this.repoTags(id).length === 0;
  }
}

/** Passes a layer's tar through, throwing at its end when the tar is not `diffId` (a damaged blob). */
function verifyingDigest(diffId: string): (source: AsyncIterable<Buffer>) => AsyncGenerator<Buffer> {
  return async function* (source) {
    const hash = createHash('sha256');
    for await (const chunk of source) {
      hash.update(chunk);
      yield chunk;
    }
    const got = `sha256:${hash.digest('hex')}`;
    if (got !== diffId) throw new InvalidArgument(`layer ${diffId} is damaged in the content store: its blob hashes to ${got}`);
  };
}

/** `name@sha256:…` (no tag) as repoDigests store it (`docker.io/library/name@sha256:…`); undefined otherwise. */
function digestReference(name: string): string | undefined {
  try {
    const ref = parseReference(name);
    return ref.digest !== undefined && ref.tag === undefined ? `${ref.repository}@${ref.digest}` : undefined;
  } catch {
    return undefined;
  }
}

export function familiarRef(full: string): string {
  const i = full.lastIndexOf(':');
  const slash = full.lastIndexOf('/');
  if (i > slash) return `${familiarName(full.slice(0, i))}${full.slice(i)}`;
  return familiarName(full);
}

