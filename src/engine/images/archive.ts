/**
 * `docker save` / `docker load` archives.
 *
 * `saveImages` writes what Docker 25+ writes: one tar that is both an OCI image layout
 * (`oci-layout`, `index.json`, `blobs/sha256/<hex>`) and the legacy docker-archive
 * (`manifest.json`, `repositories`). Layers are written uncompressed (legacy loaders expect
 * plain tars), so a gzip layer is gunzipped on the way out and its blob digest becomes its diffID.
 *
 * `loadImages` reads that format, the legacy docker-archive (`<hex>.json`, `<id>/layer.tar`,
 * layers maybe gzip or symlinked to each other) and a plain OCI layout (names from the
 * `io.containerd.image.name` / `org.opencontainers.image.ref.name` annotations). The input is
 * a stream (plain or gzip), spooled to a temporary directory first because `manifest.json`
 * may come last. Layers are checked against the config's `rootfs.diff_ids`, and the image ID
 * is the digest of the config bytes exactly as they are in the archive.
 *
 * The archive bookkeeping is pure (`parseArchiveIndex`, `buildSaveManifest`,
 * `buildSaveMetadata`) and tested on its own; the I/O around it is thin.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar-stream';
import { BerthError, Internal, InvalidArgument, errorMessage } from '../../core/errors.js';
import { MEDIA_TYPES, type Descriptor, type ImageConfig, type Manifest, type Platform } from '../../core/oci.js';
import { familiarName, familiarString, formatReference, parseReference, withDefaultTag, type Reference } from '../../core/reference.js';
import { zstdDecompress } from '../../sys/zstd.js';
import { sha256 } from '../content/store.js';
import { chainIds } from '../snapshots/overlay.js';
import { hostArchitecture } from './import.js';
import type { ImageStore } from './store.js';

// ---------------------------------------------------------------------------------------------
// Shared

/** Annotation containerd (and Docker 25+ `save`) puts the full image name in. */
export const ANNOTATION_IMAGE_NAME = 'io.containerd.image.name';
/** OCI's reference annotation: Docker writes the tag; other tools often write a full name. */
export const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';

const NO_INDEX = 'invalid archive: neither manifest.json nor index.json found';
/** Archive files larger than this are never read as JSON (registries cap manifests at 4 MiB). */
const MAX_JSON = 4 * 1024 * 1024;
const EPOCH = new Date(0);
const digestRe = /^sha256:[a-f0-9]{64}$/;

/** `sha256:<hex>` → `blobs/sha256/<hex>`. */
export function blobPath(digest: string): string {
  if (!digestRe.test(digest)) throw new InvalidArgument(`invalid archive: unsupported digest "${digest}"`);
  return `blobs/sha256/${digest.slice(7)}`;
}

/**
 * Normalises a path inside the archive (a tar entry name or a path named by manifest.json):
 * no `./` or empty components. Absolute paths and `..` components are refused.
 */
export function archivePath(name: string): string {
  if (name.startsWith('/')) throw new InvalidArgument(`invalid archive: path "${name}" is absolute`);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new InvalidArgument(`invalid archive: path "${name}" contains ".."`);
  return parts.join('/');
}

// ---------------------------------------------------------------------------------------------
// Reading the archive's index (pure)

/** One image of an archive, as its index files describe it. */
export interface ArchiveImage {
  /** Archive path of the config blob. */
  configPath: string;
  /** Familiar `name:tag` strings (`busybox:latest`); empty when the image is untagged. */
  repoTags: string[];
  /** Archive paths of the layer blobs, base layer first. */
  layerPaths: string[];
  /** OCI layouts: the config digest the manifest names (checked against the bytes). */
  configDigest?: string;
  /** OCI layouts: the manifest blob, kept as the image's manifest. */
  manifestPath?: string;
  /** OCI layouts: the manifest's layer descriptors (digests are checked while storing). */
  layers?: Descriptor[];
}

export interface ParseOptions {
  /** The platform picked from a nested index; default linux/amd64. */
  platform?: Platform;
}

/** The legacy docker-archive `manifest.json` entry. */
export interface LegacyManifestItem {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
}

interface IndexJson {
  schemaVersion?: number;
  mediaType?: string;
  manifests?: Descriptor[];
}

/**
 * Reads an archive's index files from `files` (archive path → contents; only the small JSON
 * files need be there: `manifest.json`, `index.json` and the manifest/index blobs).
 * `manifest.json` wins when present (with `index.json` beside it, the OCI manifest of the same
 * config and layers is attached so its exact bytes are kept); otherwise `index.json` is read
 * as an OCI image layout. Whether config and layer files exist is left to the caller.
 */
export function parseArchiveIndex(files: Map<string, Buffer>, opts: ParseOptions = {}): ArchiveImage[] {
  const platform = opts.platform ?? { os: 'linux', architecture: 'amd64' };
  const legacy = files.get('manifest.json');
  const index = files.get('index.json');
  if (legacy === undefined && index === undefined) throw new InvalidArgument(NO_INDEX);
  if (legacy === undefined) return parseOciLayout(files, platform);
  const images = parseLegacyManifest(legacy);
  if (index !== undefined) {
    let oci: ArchiveImage[] = [];
    try {
      oci = parseOciLayout(files, platform);
    } catch {
      // manifest.json is enough to load the images; a broken OCI side only loses the manifests.
    }
    for (const img of images) {
      const match = oci.find((o) => o.configPath === img.configPath && sameList(o.layerPaths, img.layerPaths));
      if (match?.manifestPath !== undefined && match.layers !== undefined && match.configDigest !== undefined) {
        img.configDigest = match.configDigest;
        img.manifestPath = match.manifestPath;
        img.layers = match.layers;
      }
    }
  }
  return images;
}

function parseLegacyManifest(buf: Buffer): ArchiveImage[] {
  const items = parseJson<unknown>(buf, 'manifest.json');
  if (!Array.isArray(items)) throw new InvalidArgument('invalid archive: manifest.json is not a list');
  return items.map((raw: unknown, i) => {
    const item = raw as Partial<LegacyManifestItem> | null;
    if (
      item === null ||
      typeof item !== 'object' ||
      typeof item.Config !== 'string' ||
      !Array.isArray(item.Layers) ||
      !item.Layers.every((l) => typeof l === 'string') ||
      !(item.RepoTags === undefined || item.RepoTags === null || (Array.isArray(item.RepoTags) && item.RepoTags.every((t) => typeof t === 'string')))
    ) {
      throw new InvalidArgument(`invalid archive: manifest.json entry ${i} is malformed`);
    }
    const repoTags: string[] = [];
    for (const t of item.RepoTags ?? []) {
      const name = tagName(t);
      if (name === undefined) throw new InvalidArgument(`invalid archive: invalid tag "${t}" in manifest.json`);
      if (!repoTags.includes(name)) repoTags.push(name);
    }
    return { configPath: archivePath(item.Config), repoTags, layerPaths: item.Layers.map(archivePath) };
  });
}

/** A tagged reference in its familiar form, or undefined (invalid, untagged or digest-only). */
function tagName(name: string): string | undefined {
  let ref: Reference;
  try {
    ref = parseReference(name);
  } catch {
    return undefined;
  }
  if (ref.digest !== undefined) return undefined;
  return familiarString(withDefaultTag(ref));
}

function isManifestType(t: string | undefined): boolean {
  return t === MEDIA_TYPES.ociManifest || t === MEDIA_TYPES.dockerManifest;
}

function isIndexType(t: string | undefined): boolean {
  return t === MEDIA_TYPES.ociIndex || t === MEDIA_TYPES.dockerManifestList;
}

function parseOciLayout(files: Map<string, Buffer>, platform: Platform): ArchiveImage[] {
  const index = parseJson<IndexJson>(files.get('index.json') as Buffer, 'index.json');
  if (index === null || typeof index !== 'object' || !Array.isArray(index.manifests)) {
    throw new InvalidArgument('invalid archive: index.json has no manifests');
  }
  const byManifest = new Map<string, ArchiveImage>();
  for (const desc of index.manifests) {
    const manifestDesc = resolveManifest(files, desc, platform, 0);
    if (manifestDesc === undefined) continue;
    const names = descriptorNames(desc);
    const seen = byManifest.get(manifestDesc.digest);
    if (seen) {
      for (const n of names) if (!seen.repoTags.includes(n)) seen.repoTags.push(n);
      continue;
    }
    const path = blobPath(manifestDesc.digest);
    const manifest = readBlobJson<Manifest>(files, manifestDesc.digest);
    if (
      manifest === null ||
      typeof manifest !== 'object' ||
      typeof manifest.config?.digest !== 'string' ||
      !Array.isArray(manifest.layers) ||
      !manifest.layers.every((l) => l !== null && typeof l === 'object' && typeof l.digest === 'string')
    ) {
      throw new InvalidArgument(`invalid archive: manifest ${path} is malformed`);
    }
    byManifest.set(manifestDesc.digest, {
      configPath: blobPath(manifest.config.digest),
      repoTags: names,
      layerPaths: manifest.layers.map((l) => blobPath(l.digest)),
      configDigest: manifest.config.digest,
      manifestPath: path,
      layers: manifest.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    });
  }
  return [...byManifest.values()];
}

/** The names an index.json descriptor gives its image (familiar `name:tag`). */
function descriptorNames(desc: Descriptor): string[] {
  const a = desc.annotations ?? {};
  const full = a[ANNOTATION_IMAGE_NAME];
  if (full !== undefined) {
    const n = tagName(full);
    return n === undefined ? [] : [n];
  }
  const ref = a[ANNOTATION_REF_NAME];
  // A bare tag (`latest`, what Docker writes there) names no repository: it cannot be a name.
  if (ref !== undefined && /[:/@]/.test(ref)) {
    const n = tagName(ref);
    return n === undefined ? [] : [n];
  }
  return [];
}

/** Follows a descriptor to an image manifest: itself, or the platform's entry of an index. */
function resolveManifest(files: Map<string, Buffer>, desc: Descriptor, platform: Platform, depth: number): Descriptor | undefined {
  if (desc === null || typeof desc !== 'object' || typeof desc.digest !== 'string') {
    throw new InvalidArgument('invalid archive: index entry without a digest');
  }
  let kind: 'manifest' | 'index' | undefined;
  if (isManifestType(desc.mediaType)) kind = 'manifest';
  else if (isIndexType(desc.mediaType)) kind = 'index';
  else if (desc.mediaType === undefined) {
    const body = readBlobJson<{ mediaType?: string; manifests?: unknown; config?: unknown }>(files, desc.digest);
    if (isIndexType(body?.mediaType) || Array.isArray(body?.manifests)) kind = 'index';
    else if (isManifestType(body?.mediaType) || (body !== null && typeof body === 'object' && body.config !== undefined)) kind = 'manifest';
  }
  if (kind === 'manifest') return desc;
  if (kind === undefined) return undefined; // not an image (an artifact, an attestation): skipped
  if (depth > 4) throw new InvalidArgument(`invalid archive: indexes nested too deep at ${blobPath(desc.digest)}`);
  const nested = readBlobJson<IndexJson>(files, desc.digest);
  if (nested === null || typeof nested !== 'object' || !Array.isArray(nested.manifests)) {
    throw new InvalidArgument(`invalid archive: index ${blobPath(desc.digest)} is malformed`);
  }
  const candidates: Descriptor[] = [];
  for (const m of nested.manifests) {
    if (m === null || typeof m !== 'object') continue;
    if (isIndexType(m.mediaType)) {
      const inner = resolveManifest(files, m, platform, depth + 1);
      if (inner) candidates.push(inner);
    } else if (m.platform !== undefined && platformMatches(m.platform, platform)) {
      candidates.push(m);
    }
  }
  if (candidates.length === 0) {
    const unplatformed = nested.manifests.filter((m) => m !== null && typeof m === 'object' && m.platform === undefined && !isIndexType(m.mediaType));
    if (unplatformed.length === 1) candidates.push(unplatformed[0] as Descriptor);
  }
  // Saved multi-platform images often hold only some platforms' blobs: prefer one that is here.
  const chosen = candidates.find((c) => digestRe.test(c.digest) && files.has(blobPath(c.digest))) ?? candidates[0];
  if (chosen === undefined) {
    throw new InvalidArgument(`invalid archive: no ${platform.os}/${platform.architecture} manifest in ${blobPath(desc.digest)}`);
  }
  return chosen;
}

function platformMatches(have: Platform, want: Platform): boolean {
  if (have.os !== want.os || have.architecture !== want.architecture) return false;
  return want.variant === undefined || have.variant === undefined || have.variant === want.variant;
}

function readBlobJson<T>(files: Map<string, Buffer>, digest: string): T {
  const path = blobPath(digest);
  const buf = files.get(path);
  if (buf === undefined) throw new InvalidArgument(`invalid archive: missing blob ${path}`);
  if (sha256(buf) !== digest) throw new InvalidArgument(`invalid archive: blob ${path} does not match its digest`);
  return parseJson<T>(buf, path);
}

function parseJson<T>(buf: Buffer, what: string): T {
  try {
    return JSON.parse(buf.toString('utf8')) as T;
  } catch {
    throw new InvalidArgument(`invalid archive: ${what} is not valid JSON`);
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

// ---------------------------------------------------------------------------------------------
// Writing the archive's index (pure)

/** One image as `saveImages` wrote it, the input of `buildSaveMetadata`. */
export interface SavedImage {
  /** Image ID (config digest). */
  id: string;
  /** The manifest blob written for it. */
  manifest: Descriptor;
  /** Digests of its (uncompressed) layer blobs, base first. */
  layers: string[];
  /** Fully qualified tagged references (`docker.io/library/busybox:latest`); empty when saved by ID. */
  refs: string[];
}

export interface SaveMetadata {
  'index.json': string;
  'manifest.json': string;
  'oci-layout': string;
  /** Absent when no image is tagged (Docker writes no `repositories` then). */
  repositories?: string;
}

/** The OCI manifest `save` writes: the config and the uncompressed layers. */
export function buildSaveManifest(config: Descriptor, layers: Descriptor[]): string {
  // Field order follows the image-spec Go types, so the bytes match what Docker writes.
  const m = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    config: { mediaType: MEDIA_TYPES.ociConfig, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: MEDIA_TYPES.ociLayer, digest: l.digest, size: l.size })),
  };
  return JSON.stringify(m);
}

/** `index.json`, `manifest.json`, `oci-layout` and `repositories` for the saved images. */
export function buildSaveMetadata(images: SavedImage[]): SaveMetadata {
  const manifests: Descriptor[] = [];
  const legacy: LegacyManifestItem[] = [];
  const repos: Record<string, Record<string, string>> = {};
  for (const img of images) {
    const repoTags: string[] = [];
    const top = img.layers[img.layers.length - 1];
    for (const full of img.refs) {
      const ref = parseReference(full);
      if (ref.tag === undefined) throw new Internal(`saved reference ${full} has no tag`);
      const name = familiarName(ref.repository);
      repoTags.push(`${name}:${ref.tag}`);
      if (top !== undefined) (repos[name] ??= {})[ref.tag] = top.slice(7);
      manifests.push({
        mediaType: img.manifest.mediaType,
        digest: img.manifest.digest,
        size: img.manifest.size,
        annotations: { [ANNOTATION_IMAGE_NAME]: formatReference(ref), [ANNOTATION_REF_NAME]: ref.tag },
      });
    }
    if (img.refs.length === 0) manifests.push({ mediaType: img.manifest.mediaType, digest: img.manifest.digest, size: img.manifest.size });
    legacy.push({
      Config: blobPath(img.id),
      // Docker writes null, not [], for an image saved by ID.
      RepoTags: repoTags.length > 0 ? repoTags : null,
      Layers: img.layers.map(blobPath),
    });
  }
  const out: SaveMetadata = {
    'index.json': JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests }),
    'manifest.json': JSON.stringify(legacy),
    'oci-layout': JSON.stringify({ imageLayoutVersion: '1.0.0' }),
  };
  const names = Object.keys(repos).sort();
  if (names.length > 0) {
    // Go marshals maps with sorted keys.
    const sorted: Record<string, Record<string, string>> = {};
    for (const n of names) {
      const tags = repos[n] as Record<string, string>;
      sorted[n] = Object.fromEntries(Object.keys(tags).sort().map((t) => [t, tags[t] as string]));
    }
    out.repositories = JSON.stringify(sorted);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// save

/**
 * Writes the images `names` designate as one archive to `out` (and ends it). A name is a
 * reference (`busybox`, `busybox:1.36`: saved with that tag; a bare repository name saves
 * every tag of it, as Docker does) or an image ID or ID prefix (saved untagged). Names of the
 * same image are merged into one entry.
 */
export async function saveImages(store: ImageStore, names: string[], out: NodeJS.WritableStream): Promise<void> {
  const selected = selectImages(store, names);
  const tmp = await mkdtemp(join(tmpdir(), 'berth-save-'));
  const pack = tar.pack();
  let outputError: unknown;
  const piping = pipeline(pack, out).catch((e: unknown) => {
    outputError = e;
  });
  try {
    const written = new Set<string>();
    await addBuffer(pack, 'blobs/', undefined);
    await addBuffer(pack, 'blobs/sha256/', undefined);
    const saved: SavedImage[] = [];
    for (const [id, refs] of selected) {
      const rec = store.resolve(id);
      const configBytes = await store.content.read(id);
      if (!written.has(id)) {
        await addBuffer(pack, blobPath(id), configBytes);
        written.add(id);
      }
      const layers: Descriptor[] = [];
      for (const [i, layer] of rec.layers.entries()) {
        const diffId = rec.diffIds[i];
        if (diffId === undefined) throw new Internal(`image ${id} has more layers than diffIDs`);
        layers.push({ mediaType: MEDIA_TYPES.ociLayer, digest: diffId, size: await writeLayer(store, pack, layer, diffId, tmp, written) });
      }
      const manifestBytes = (await storedManifestFits(store, rec.manifestDigest, id, rec.diffIds)) ?? Buffer.from(buildSaveManifest({ mediaType: MEDIA_TYPES.ociConfig, digest: id, size: configBytes.length }, layers));
      const manifestDigest = sha256(manifestBytes);
      if (!written.has(manifestDigest)) {
        await addBuffer(pack, blobPath(manifestDigest), manifestBytes);
        written.add(manifestDigest);
      }
      const mediaType = (JSON.parse(manifestBytes.toString()) as Manifest).mediaType ?? MEDIA_TYPES.ociManifest;
      saved.push({ id, manifest: { mediaType, digest: manifestDigest, size: manifestBytes.length }, layers: layers.map((l) => l.digest), refs: refs.map(formatReference) });
    }
    const meta = buildSaveMetadata(saved);
    for (const name of ['index.json', 'manifest.json', 'oci-layout', 'repositories'] as const) {
      const body = meta[name];
      if (body !== undefined) await addBuffer(pack, name, Buffer.from(body));
    }
    pack.finalize();
    await piping;
    if (outputError !== undefined) throw outputError;
  } catch (e) {
    // A pack already torn down means the output failed first (a client gone): report that.
    const outputFirst = pack.destroying || pack.destroyed;
    if (!outputFirst) pack.destroy(e instanceof Error ? e : new Error(String(e)));
    await piping;
    throw outputFirst && outputError !== undefined ? outputError : e;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Image ID → the tagged references it is saved under, in the order first named. */
function selectImages(store: ImageStore, names: string[]): Map<string, Reference[]> {
  const out = new Map<string, Reference[]>();
  const add = (id: string, ref?: Reference) => {
    let refs = out.get(id);
    if (!refs) out.set(id, (refs = []));
    if (ref && !refs.some((r) => formatReference(r) === formatReference(ref))) refs.push(ref);
  };
  for (const name of names) {
    let ref: Reference | undefined;
    try {
      ref = parseReference(name);
    } catch {
      ref = undefined;
    }
    if (ref !== undefined && ref.digest === undefined) {
      if (ref.tag === undefined) {
        const all = tagsOfRepository(store, ref.repository);
        for (const t of all) add(t.id, t.ref);
        if (all.length > 0) continue;
      }
      const full = withDefaultTag(ref);
      const rec = store.tryResolve(formatReference(full));
      if (rec && store.repoTags(rec.id).includes(familiarString(full))) {
        add(rec.id, full);
        continue;
      }
    }
    add(store.resolve(name).id); // an ID, a prefix or a digest reference; NotFound otherwise
  }
  return out;
}

function tagsOfRepository(store: ImageStore, repository: string): { id: string; ref: Reference }[] {
  const found: { id: string; ref: Reference }[] = [];
  for (const rec of store.list()) {
    for (const t of store.repoTags(rec.id)) {
      const ref = parseReference(t);
      if (ref.repository === repository) found.push({ id: rec.id, ref });
    }
  }
  return found.sort((a, b) => (a.ref.tag ?? '').localeCompare(b.ref.tag ?? ''));
}

/** The stored manifest's bytes when it already describes the uncompressed layers. */
async function storedManifestFits(store: ImageStore, digest: string, id: string, diffIds: string[]): Promise<Buffer | undefined> {
  try {
    const buf = await store.content.read(digest);
    const m = JSON.parse(buf.toString()) as Partial<Manifest>;
    const ok =
      (m.mediaType === undefined || isManifestType(m.mediaType)) &&
      m.config?.digest === id &&
      Array.isArray(m.layers) &&
      sameList(m.layers.map((l) => l.digest), diffIds);
    return ok ? buf : undefined;
  } catch {
    return undefined;
  }
}

/** Writes one layer blob uncompressed (once per archive); returns its size. */
async function writeLayer(store: ImageStore, pack: tar.Pack, layer: Descriptor, diffId: string, tmp: string, written: Set<string>): Promise<number> {
  if (layer.digest === diffId) {
    const size = await store.content.size(diffId);
    if (!written.has(diffId)) {
      await addStream(pack, blobPath(diffId), size, store.content.stream(diffId));
      written.add(diffId);
    }
    return size;
  }
  // tar headers need the size first: gunzip (or un-zstd) to a file, checking it is the layer the config names.
  const file = join(tmp, diffId.slice(7));
  const hash = createHash('sha256');
  let size = 0;
  const decompress = layer.mediaType.includes('zstd')
    ? async function* (src: AsyncIterable<Buffer>) {
        yield* zstdDecompress(src);
      }
    : createGunzip();
  await pipeline(
    store.content.stream(layer.digest),
    decompress,
    async function* (src: AsyncIterable<Buffer>) {
      for await (const chunk of src) {
        hash.update(chunk);
        size += chunk.length;
        yield chunk;
      }
    },
    createWriteStream(file),
  );
  const got = `sha256:${hash.digest('hex')}`;
  if (got !== diffId) {
    await rm(file, { force: true });
    throw new Internal(`layer ${layer.digest} uncompresses to ${got}, not its diffID ${diffId}`);
  }
  try {
    if (!written.has(diffId)) {
      await addStream(pack, blobPath(diffId), size, createReadStream(file));
      written.add(diffId);
    }
  } finally {
    await rm(file, { force: true });
  }
  return size;
}

/** Adds a file entry (or, without data, a directory entry when the name ends in `/`). */
function addBuffer(pack: tar.Pack, name: string, data: Buffer | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const header: Partial<tar.Header> & { name: string } =
      data === undefined
        ? { name, type: 'directory', mode: 0o755, mtime: EPOCH }
        : { name, type: 'file', mode: 0o644, mtime: EPOCH, size: data.length };
    const done = (err?: Error | null) => (err ? reject(err) : resolve());
    if (data === undefined) pack.entry(header, done);
    else pack.entry(header, data, done);
  });
}

function addStream(pack: tar.Pack, name: string, size: number, source: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    const sink = pack.entry({ name, type: 'file', mode: 0o644, mtime: EPOCH, size }, (err) => {
      if (!err) return resolve();
      source.destroy(); // the pack is gone (the output failed): close the file too
      reject(err);
    });
    source.on('error', (e) => {
      sink.destroy(e);
      reject(e);
    });
    source.pipe(sink);
  });
}

// ---------------------------------------------------------------------------------------------
// load

interface Spooled {
  path: string;
  size: number;
}

/**
 * Loads every image of an archive (read from `input`, plain or gzip) into the store and tags
 * it. Returns Docker's result lines: `Loaded image: <name:tag>` per tag, or
 * `Loaded image ID: <id>` for an untagged image. `onProgress` gets progress lines
 * (`Loading layer <id>`, renamed-tag notices), not the result lines.
 */
export async function loadImages(
  store: ImageStore,
  input: NodeJS.ReadableStream | AsyncIterable<Buffer>,
  onProgress: (line: string) => void = () => undefined,
): Promise<string[]> {
  const tmp = await mkdtemp(join(tmpdir(), 'berth-load-'));
  try {
    const spool = await spoolArchive(input, tmp);
    const images = parseArchiveIndex(await readSmallJson(spool), { platform: { os: 'linux', architecture: hostArchitecture() } });
    // Everything must be there before anything is stored.
    for (const img of images) {
      for (const p of [img.configPath, ...img.layerPaths]) {
        if (!spool.has(p)) throw new InvalidArgument(`invalid archive: missing blob ${p}`);
      }
    }
    const lines: string[] = [];
    for (const img of images) lines.push(...(await loadImage(store, img, spool, onProgress)));
    return lines;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function loadImage(store: ImageStore, img: ArchiveImage, spool: Map<string, Spooled>, onProgress: (line: string) => void): Promise<string[]> {
  const configBytes = await readFile((spool.get(img.configPath) as Spooled).path);
  const id = sha256(configBytes);
  if (img.configDigest !== undefined && img.configDigest !== id) {
    throw new InvalidArgument(`invalid archive: blob ${img.configPath} does not match its digest`);
  }
  const config = parseJson<ImageConfig>(configBytes, img.configPath);
  const diffIds = config?.rootfs?.diff_ids;
  if (!Array.isArray(diffIds) || !diffIds.every((d) => typeof d === 'string')) {
    throw new InvalidArgument(`invalid archive: image config ${img.configPath} has no rootfs.diff_ids`);
  }
  if (diffIds.length !== img.layerPaths.length) {
    throw new InvalidArgument(`invalid archive: image config ${img.configPath} names ${diffIds.length} layers, the manifest ${img.layerPaths.length}`);
  }
  const chains = chainIds(diffIds);
  const descriptors: Descriptor[] = [];
  let parent: string | undefined;
  for (const [i, layerPath] of img.layerPaths.entries()) {
    const file = spool.get(layerPath) as Spooled;
    const want = diffIds[i] as string;
    const fromManifest = img.layers?.[i];
    let desc = await existingLayer(store, chains[i] as string, want, file.path, fromManifest);
    if (desc === undefined) {
      onProgress(`Loading layer ${want.slice(7, 19)}`);
      const added = await store.addLayer(
        { stream: createReadStream(file.path), ...(fromManifest ? { mediaType: fromManifest.mediaType, expectedDigest: fromManifest.digest } : {}) },
        parent,
      );
      if (added.diffId !== want) {
        throw new InvalidArgument(`invalid archive: layer ${layerPath} has diffID ${added.diffId}, but the image config says ${want}`);
      }
      desc = added.descriptor;
    }
    descriptors.push(desc);
    parent = chains[i];
  }
  const manifestBytes = img.manifestPath !== undefined ? await readFile((spool.get(img.manifestPath) as Spooled).path) : undefined;
  const rec = await store.createImage(config, descriptors, { configBytes, ...(manifestBytes ? { manifest: manifestBytes } : {}) });
  if (rec.id !== id) throw new Internal(`image stored as ${rec.id}, but its config digest is ${id}`);
  if (img.repoTags.length === 0) return [`Loaded image ID: ${id}`];
  const lines: string[] = [];
  for (const t of img.repoTags) {
    const old = store.tryResolve(t);
    if (old && old.id !== id && store.repoTags(old.id).includes(t)) {
      onProgress(`The image ${t} already exists, renaming the old one with ID ${old.id} to empty string`);
    }
    await store.tag(id, t);
    lines.push(`Loaded image: ${t}`);
  }
  return lines;
}

/**
 * A layer whose snapshot is already there is not unpacked again: its blob is only hashed,
 * and reused when the content store has it too.
 */
async function existingLayer(store: ImageStore, chainId: string, diffId: string, path: string, fromManifest: Descriptor | undefined): Promise<Descriptor | undefined> {
  if ((await store.snapshots.get(chainId)) === undefined) return undefined;
  const { digest, size } = await hashFile(path);
  if (fromManifest !== undefined && fromManifest.digest !== digest) {
    throw new InvalidArgument(`invalid archive: blob ${blobPath(fromManifest.digest)} does not match its digest`);
  }
  if (!(await store.content.has(digest))) return undefined;
  const mediaType = fromManifest?.mediaType ?? (digest === diffId ? MEDIA_TYPES.ociLayer : MEDIA_TYPES.ociLayerGzip);
  return { mediaType, digest, size };
}

async function hashFile(path: string): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

/** Reads the archive into `dir` (one file per entry); returns archive path → file. */
async function spoolArchive(input: NodeJS.ReadableStream | AsyncIterable<Buffer>, dir: string): Promise<Map<string, Spooled>> {
  const files = new Map<string, Spooled>();
  const links = new Map<string, string>();
  let count = 0;
  let entries = 0;
  let handlerError: unknown;

  const handle = async (header: tar.Header, stream: AsyncIterable<Buffer>): Promise<void> => {
    const name = archivePath(header.name);
    switch (header.type) {
      case 'file':
      case 'contiguous-file':
      case undefined:
      case null: {
        const path = join(dir, String(count++));
        await pipeline(stream, createWriteStream(path));
        files.set(name, { path, size: header.size ?? 0 });
        links.delete(name);
        return;
      }
      case 'symlink':
      case 'link': {
        // Old `docker save` links duplicate layers to one copy (`<id>/layer.tar` → `../<id2>/layer.tar`).
        const target = header.linkname ?? '';
        if (target.startsWith('/')) throw new InvalidArgument(`invalid archive: link "${header.name}" points to an absolute path`);
        links.set(name, archivePath(header.type === 'symlink' ? posix.join(posix.dirname(name), target) : target));
        files.delete(name);
        break;
      }
      default:
        break;
    }
    for await (const chunk of stream) void chunk; // directories and the like: nothing to keep
  };

  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    entries++;
    handle(header, stream as AsyncIterable<Buffer>).then(
      () => next(),
      (e: unknown) => {
        handlerError = e;
        next(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
  const { source, gzip } = await sniffGzip(input);
  try {
    if (gzip) await pipeline(source, createGunzip(), extract);
    else await pipeline(source, extract);
  } catch (e) {
    if (handlerError !== undefined) throw handlerError instanceof BerthError ? handlerError : new Internal(`loading archive: ${errorMessage(handlerError)}`, { cause: handlerError });
    if (e instanceof BerthError) throw e;
    if (entries === 0) throw new InvalidArgument(NO_INDEX, { cause: e });
    throw new InvalidArgument(`invalid archive: ${errorMessage(e)}`, { cause: e });
  }
  for (const [name, first] of links) {
    let target = first;
    for (let hops = 0; hops < 32; hops++) {
      const f = files.get(target);
      if (f) {
        files.set(name, f);
        break;
      }
      const next = links.get(target);
      if (next === undefined) break;
      target = next;
    }
  }
  return files;
}

/** `docker load` takes a compressed archive too: gzip is recognised by its magic bytes. */
async function sniffGzip(input: NodeJS.ReadableStream | AsyncIterable<Buffer>): Promise<{ source: AsyncIterable<Buffer>; gzip: boolean }> {
  const it = (async function* () {
    for await (const c of input as AsyncIterable<Buffer | string>) yield typeof c === 'string' ? Buffer.from(c) : c;
  })();
  const head: Buffer[] = [];
  let len = 0;
  let done = false;
  while (len < 2) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    head.push(r.value);
    len += r.value.length;
  }
  const first = Buffer.concat(head);
  async function* source(): AsyncGenerator<Buffer> {
    try {
      if (first.length > 0) yield first;
      if (done) return;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield r.value;
      }
    } finally {
      await it.return(undefined);
    }
  }
  return { source: source(), gzip: first[0] === 0x1f && first[1] === 0x8b };
}

/** The small JSON files of the spooled archive (index files, manifests, configs). */
async function readSmallJson(spool: Map<string, Spooled>): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const probe = Buffer.alloc(64);
  for (const [name, f] of spool) {
    if (f.size > MAX_JSON || f.size === 0) continue;
    const fh = await open(f.path, 'r');
    let start: string;
    try {
      const { bytesRead } = await fh.read(probe, 0, probe.length, 0);
      start = probe.subarray(0, bytesRead).toString('utf8').trimStart();
    } finally {
      await fh.close();
    }
    if (start.startsWith('{') || start.startsWith('[')) out.set(name, await readFile(f.path));
  }
  return out;
}

