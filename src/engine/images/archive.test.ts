import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidArgument, NotFound } from '../../core/errors.js';
import { MEDIA_TYPES, type Descriptor, type ImageConfig, type Manifest } from '../../core/oci.js';
import { familiarString, formatReference, parseReference, withDefaultTag } from '../../core/reference.js';
import { LocalContentStore, sha256 } from '../content/store.js';
import {
  archivePath,
  blobPath,
  buildSaveManifest,
  buildSaveMetadata,
  loadImages,
  parseArchiveIndex,
  saveImages,
  type SavedImage,
} from './archive.js';
import { hostArchitecture } from './import.js';
import type { ImageRecord, ImageStore, LayerInput } from './store.js';

const GOLDEN_DIR = fileURLToPath(new URL('../../../test/golden/archive/', import.meta.url));

/** Compares with test/golden/archive/<name>; `UPDATE_GOLDEN=1` rewrites the file instead. */
function expectGolden(name: string, actual: string): void {
  const file = join(GOLDEN_DIR, name);
  if (process.env['UPDATE_GOLDEN'] === '1') {
    mkdirSync(GOLDEN_DIR, { recursive: true });
    writeFileSync(file, actual);
  }
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

const pretty = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
const d = (c: string) => `sha256:${c.repeat(64)}`;

// ---------------------------------------------------------------------------------------------
// Tar helpers

interface TarEntry {
  name: string;
  data?: Buffer | string;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  linkname?: string;
}

async function makeTar(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  })();
  for (const e of entries) {
    const type = e.type ?? 'file';
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (type === 'file') pack.entry({ name: e.name, type }, Buffer.from(e.data ?? ''), cb);
      else pack.entry({ name: e.name, type, ...(e.linkname !== undefined ? { linkname: e.linkname } : {}) }, cb);
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

async function readTar(buf: Buffer): Promise<{ names: string[]; files: Map<string, Buffer> }> {
  const extract = tar.extract();
  const names: string[] = [];
  const files = new Map<string, Buffer>();
  const feeding = (async () => {
    extract.end(buf);
  })();
  for await (const entry of extract) {
    const parts: Buffer[] = [];
    for await (const c of entry as AsyncIterable<Buffer>) parts.push(c);
    names.push(entry.header.name);
    if (entry.header.type === 'file') files.set(entry.header.name, Buffer.concat(parts));
  }
  await feeding;
  return { names, files };
}

function collector(): { out: Writable; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      cb();
    },
  });
  return { out, bytes: () => Buffer.concat(chunks) };
}

async function* once(buf: Buffer): AsyncGenerator<Buffer> {
  // Uneven chunks, as a socket would deliver them.
  for (let i = 0; i < buf.length; i += 1000) yield buf.subarray(i, i + 1000);
}

// ---------------------------------------------------------------------------------------------
// A store double: the real content store, layers "unpacked" by hashing them (no root needed).

class FakeStore {
  readonly snapshotMap = new Map<string, { chainId: string; diffId: string; size: number }>();
  readonly snapshots = { get: async (chain: string) => this.snapshotMap.get(chain) };
  readonly records = new Map<string, ImageRecord>();
  readonly refs = new Map<string, string>();
  unpacked = 0;

  constructor(readonly content: LocalContentStore) {}

  static async create(dir: string): Promise<FakeStore> {
    const content = new LocalContentStore(dir);
    await content.init();
    return new FakeStore(content);
  }

  asStore(): ImageStore {
    return this as unknown as ImageStore;
  }

  async addLayer(input: LayerInput, parent: string | undefined) {
    const expected = input.expectedDigest !== undefined ? { digest: input.expectedDigest } : {};
    const { digest, size } = await this.content.ingest(input.stream, expected);
    const blob = await this.content.read(digest);
    const raw = blob[0] === 0x1f && blob[1] === 0x8b ? gunzipSync(blob) : blob;
    const diffId = sha256(raw);
    const chainId = parent === undefined ? diffId : sha256(`${parent} ${diffId}`);
    this.unpacked++;
    this.snapshotMap.set(chainId, { chainId, diffId, size: raw.length });
    const mediaType = input.mediaType ?? (digest === diffId ? MEDIA_TYPES.ociLayer : MEDIA_TYPES.ociLayerGzip);
    return { descriptor: { mediaType, digest, size }, diffId, chainId };
  }

  async createImage(config: ImageConfig, layers: Descriptor[], opts: { manifest?: Buffer; configBytes?: Buffer } = {}): Promise<ImageRecord> {
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
    const rec: ImageRecord = { id, manifestDigest, layers, diffIds: config.rootfs.diff_ids, created: '', repoDigests: [], size: 0 };
    this.records.set(id, rec);
    return rec;
  }

  async tag(id: string, name: string): Promise<void> {
    this.refs.set(formatReference(withDefaultTag(parseReference(name))), id);
  }

  tryResolve(nameOrId: string): ImageRecord | undefined {
    const hex = nameOrId.replace(/^sha256:/, '');
    if (/^[a-f0-9]{64}$/.test(hex)) return this.records.get(`sha256:${hex}`);
    try {
      const id = this.refs.get(formatReference(withDefaultTag(parseReference(nameOrId))));
      if (id !== undefined) return this.records.get(id);
    } catch {
      // not a reference
    }
    const matches = [...this.records.keys()].filter((k) => k.slice(7).startsWith(hex));
    return matches.length === 1 ? this.records.get(matches[0] as string) : undefined;
  }

  resolve(nameOrId: string): ImageRecord {
    const r = this.tryResolve(nameOrId);
    if (!r) throw new NotFound(`No such image: ${nameOrId}`);
    return r;
  }

  repoTags(id: string): string[] {
    return [...this.refs].filter(([, v]) => v === id).map(([k]) => familiarString(parseReference(k))).sort();
  }

  list(): ImageRecord[] {
    return [...this.records.values()];
  }
}

/** A small rootfs tar with one file. */
function layerTar(file: string, body: string): Promise<Buffer> {
  return makeTar([{ name: `${file}`, data: body }]);
}

/** Adds an image (layers given as blobs as they should be stored) to the fake store. */
async function addImage(store: FakeStore, blobs: Buffer[], extra: Partial<ImageConfig> = {}): Promise<ImageRecord> {
  const layers: Descriptor[] = [];
  const diffIds: string[] = [];
  let parent: string | undefined;
  for (const b of blobs) {
    const r = await store.addLayer({ stream: once(b) }, parent);
    layers.push(r.descriptor);
    diffIds.push(r.diffId);
    parent = r.chainId;
  }
  // Indented on purpose: the ID must be the digest of these exact bytes, not of a re-serialisation.
  const config: ImageConfig = { architecture: 'amd64', os: 'linux', ...extra, rootfs: { type: 'layers', diff_ids: diffIds } };
  return store.createImage(config, layers, { configBytes: Buffer.from(JSON.stringify(config, null, 2)) });
}

// ---------------------------------------------------------------------------------------------

describe('archivePath', () => {
  it('normalises entry names', () => {
    expect(archivePath('./manifest.json')).toBe('manifest.json');
    expect(archivePath('blobs//sha256/./ab')).toBe('blobs/sha256/ab');
    expect(archivePath('blobs/')).toBe('blobs');
  });
  it('refuses absolute names and ".."', () => {
    expect(() => archivePath('/etc/passwd')).toThrow(InvalidArgument);
    expect(() => archivePath('a/../../b')).toThrow('contains ".."');
    expect(() => archivePath('../x')).toThrow(InvalidArgument);
  });
});

describe('save metadata', () => {
  const images: SavedImage[] = [
    {
      id: d('c'),
      manifest: { mediaType: MEDIA_TYPES.ociManifest, digest: d('e'), size: 741 },
      layers: [d('1'), d('2')],
      refs: ['docker.io/library/busybox:latest', 'docker.io/library/busybox:1.36', 'localhost:5000/team/app:v1'],
    },
    { id: d('f'), manifest: { mediaType: MEDIA_TYPES.ociManifest, digest: d('a'), size: 402 }, layers: [d('3')], refs: [] },
  ];

  it('writes index.json, manifest.json and repositories as Docker 25 does', () => {
    const meta = buildSaveMetadata(images);
    expectGolden('save-index.json', meta['index.json']);
    expectGolden('save-manifest.json', meta['manifest.json']);
    expectGolden('save-repositories.json', meta.repositories ?? '');
    expect(meta['oci-layout']).toBe('{"imageLayoutVersion":"1.0.0"}');
  });

  it('writes no repositories file when nothing is tagged', () => {
    const meta = buildSaveMetadata([images[1] as SavedImage]);
    expect(meta.repositories).toBeUndefined();
    expect(JSON.parse(meta['manifest.json'])).toEqual([{ Config: blobPath(d('f')), RepoTags: null, Layers: [blobPath(d('3'))] }]);
  });

  it('writes manifests of uncompressed layers', () => {
    const m = buildSaveManifest({ mediaType: MEDIA_TYPES.ociConfig, digest: d('c'), size: 1234 }, [
      { mediaType: MEDIA_TYPES.ociLayerGzip, digest: d('1'), size: 10240 },
      { mediaType: MEDIA_TYPES.ociLayer, digest: d('2'), size: 2048 },
    ]);
    expectGolden('save-image-manifest.json', m);
  });
});

describe('parseArchiveIndex', () => {
  it('reads the combined Docker 25 layout through manifest.json, keeping the OCI manifest', () => {
    const manifest = buildSaveManifest({ mediaType: MEDIA_TYPES.ociConfig, digest: d('c'), size: 10 }, [
      { mediaType: MEDIA_TYPES.ociLayer, digest: d('1'), size: 1 },
      { mediaType: MEDIA_TYPES.ociLayer, digest: d('2'), size: 2 },
    ]);
    const mDigest = sha256(manifest);
    const meta = buildSaveMetadata([
      { id: d('c'), manifest: { mediaType: MEDIA_TYPES.ociManifest, digest: mDigest, size: manifest.length }, layers: [d('1'), d('2')], refs: ['docker.io/library/busybox:latest'] },
    ]);
    const files = new Map<string, Buffer>([
      ['index.json', Buffer.from(meta['index.json'])],
      ['manifest.json', Buffer.from(meta['manifest.json'])],
      [blobPath(mDigest), Buffer.from(manifest)],
    ]);
    expectGolden('parse-combined.json', pretty(parseArchiveIndex(files)));
  });

  it('reads a legacy docker-archive, normalising tags', () => {
    const files = new Map<string, Buffer>([
      [
        'manifest.json',
        Buffer.from(
          JSON.stringify([
            { Config: `${'c'.repeat(64)}.json`, RepoTags: ['busybox', 'docker.io/library/busybox:1.36', 'localhost:5000/app:v1', 'busybox:latest'], Layers: ['aaa/layer.tar', './bbb/layer.tar'] },
            { Config: `${'f'.repeat(64)}.json`, RepoTags: null, Layers: [] },
          ]),
        ),
      ],
    ]);
    expectGolden('parse-legacy.json', pretty(parseArchiveIndex(files)));
  });

  it('reads an OCI layout: names from annotations, linux/amd64 from a nested index', () => {
    const cfg = (n: string) => ({ mediaType: MEDIA_TYPES.ociConfig, digest: d(n), size: 5 });
    const layer = (n: string) => ({ mediaType: MEDIA_TYPES.ociLayerGzip, digest: d(n), size: 7 });
    const amd = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config: cfg('1'), layers: [layer('2')] }));
    const arm = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config: cfg('3'), layers: [layer('4')] }));
    const solo = Buffer.from(JSON.stringify({ schemaVersion: 2, config: cfg('5'), layers: [layer('6'), layer('7')] }));
    const desc = (b: Buffer, mediaType?: string) => ({ ...(mediaType ? { mediaType } : {}), digest: sha256(b), size: b.length });
    const nested = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.ociIndex,
        manifests: [
          { ...desc(arm, MEDIA_TYPES.ociManifest), platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
          { ...desc(amd, MEDIA_TYPES.ociManifest), platform: { os: 'linux', architecture: 'amd64' } },
          { ...desc(amd, MEDIA_TYPES.ociManifest), platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } },
        ],
      }),
    );
    const index = {
      schemaVersion: 2,
      manifests: [
        { ...desc(nested, MEDIA_TYPES.ociIndex), annotations: { 'io.containerd.image.name': 'docker.io/library/alpine:3.20', 'org.opencontainers.image.ref.name': '3.20' } },
        { ...desc(nested, MEDIA_TYPES.ociIndex), annotations: { 'io.containerd.image.name': 'docker.io/library/alpine:latest' } },
        { ...desc(solo), annotations: { 'org.opencontainers.image.ref.name': 'example.com/team/tool:2' } },
        { ...desc(solo, MEDIA_TYPES.ociManifest), annotations: { 'org.opencontainers.image.ref.name': 'latest' } },
        { mediaType: 'application/vnd.example.artifact', digest: d('9'), size: 3 },
      ],
    };
    const files = new Map<string, Buffer>([
      ['index.json', Buffer.from(JSON.stringify(index))],
      [blobPath(sha256(nested)), nested],
      [blobPath(sha256(amd)), amd],
      [blobPath(sha256(arm)), arm],
      [blobPath(sha256(solo)), solo],
    ]);
    expectGolden('parse-oci.json', pretty(parseArchiveIndex(files)));
    // The platform is a parameter: the loader passes the host's.
    const onArm = parseArchiveIndex(files, { platform: { os: 'linux', architecture: 'arm64' } });
    expect(onArm[0]?.configPath).toBe(blobPath(d('3')));
  });

  it('rejects archives without index files, missing or corrupt blobs, bad tags and paths', () => {
    expect(() => parseArchiveIndex(new Map())).toThrow('invalid archive: neither manifest.json nor index.json found');
    const idx = (m: object) => new Map([['index.json', Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [m] }))]]);
    expect(() => parseArchiveIndex(idx({ mediaType: MEDIA_TYPES.ociManifest, digest: d('a'), size: 1 }))).toThrow(`missing blob ${blobPath(d('a'))}`);
    const files = idx({ mediaType: MEDIA_TYPES.ociManifest, digest: d('a'), size: 1 });
    files.set(blobPath(d('a')), Buffer.from('{}'));
    expect(() => parseArchiveIndex(files)).toThrow('does not match its digest');
    const legacy = (v: unknown) => new Map([['manifest.json', Buffer.from(JSON.stringify(v))]]);
    expect(() => parseArchiveIndex(legacy({}))).toThrow('manifest.json is not a list');
    expect(() => parseArchiveIndex(legacy([{ Config: 'c.json' }]))).toThrow('manifest.json entry 0 is malformed');
    expect(() => parseArchiveIndex(legacy([{ Config: 'c.json', RepoTags: ['Bad:Tag'], Layers: [] }]))).toThrow('invalid tag "Bad:Tag"');
    expect(() => parseArchiveIndex(legacy([{ Config: 'c.json', RepoTags: [], Layers: ['../l.tar'] }]))).toThrow('contains ".."');
    expect(() => parseArchiveIndex(legacy([{ Config: '/c.json', RepoTags: [], Layers: [] }]))).toThrow('is absolute');
    expect(() => parseArchiveIndex(new Map([['manifest.json', Buffer.from('nope')]]))).toThrow('manifest.json is not valid JSON');
    const armOnly = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: MEDIA_TYPES.ociManifest, digest: d('b'), size: 1, platform: { os: 'linux', architecture: 'arm64' } }] }));
    const nestedFiles = idx({ mediaType: MEDIA_TYPES.ociIndex, digest: sha256(armOnly), size: armOnly.length });
    nestedFiles.set(blobPath(sha256(armOnly)), armOnly);
    expect(() => parseArchiveIndex(nestedFiles)).toThrow('no linux/amd64 manifest');
  });
});

// ---------------------------------------------------------------------------------------------

describe('save and load (store double)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-archive-test-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function fixture() {
    const src = await FakeStore.create(join(dir, 'src'));
    const base = await layerTar('etc/os-release', 'NAME=test\n');
    const top = await layerTar('bin/hello', '#!/bin/sh\necho hello\n');
    const a = await addImage(src, [gzipSync(base), top], { config: { Cmd: ['sh'] } });
    await src.tag(a.id, 'busybox:latest');
    await src.tag(a.id, 'busybox:1.36');
    await src.tag(a.id, 'other:x');
    const b = await addImage(src, [gzipSync(base)], { created: '2024-01-01T00:00:00Z' });
    return { src, a, b, base, top };
  }

  it('saves both layouts, with uncompressed layers, and loads them back with the same IDs', async () => {
    const { src, a, b, base, top } = await fixture();
    const { out, bytes } = collector();
    await saveImages(src.asStore(), ['busybox', a.id.slice(7, 19), b.id.slice(7, 19)], out);
    const { names, files } = await readTar(bytes());

    const baseId = sha256(base);
    const topId = sha256(top);
    const manifest = JSON.parse((files.get('manifest.json') as Buffer).toString()) as { Config: string; RepoTags: string[] | null; Layers: string[] }[];
    expect(manifest).toEqual([
      { Config: blobPath(a.id), RepoTags: ['busybox:1.36', 'busybox:latest'], Layers: [blobPath(baseId), blobPath(topId)] },
      { Config: blobPath(b.id), RepoTags: null, Layers: [blobPath(baseId)] },
    ]);
    // Every blob once, its name its digest; the gzip layer was written uncompressed.
    const blobs = names.filter((n) => n.startsWith('blobs/sha256/') && n.length > 'blobs/sha256/'.length);
    expect(new Set(blobs).size).toBe(blobs.length);
    for (const n of blobs) expect(sha256(files.get(n) as Buffer)).toBe(`sha256:${n.slice(13)}`);
    expect(files.get(blobPath(baseId))?.equals(base)).toBe(true);
    expect(files.get(blobPath(a.id))?.toString()).toBe((await src.content.read(a.id)).toString());
    expect(names.slice(0, 2)).toEqual(['blobs/', 'blobs/sha256/']);
    expect(names.slice(-4)).toEqual(['index.json', 'manifest.json', 'oci-layout', 'repositories']);
    expect(JSON.parse((files.get('repositories') as Buffer).toString())).toEqual({ busybox: { '1.36': topId.slice(7), latest: topId.slice(7) } });

    const index = JSON.parse((files.get('index.json') as Buffer).toString()) as { manifests: Descriptor[] };
    expect(index.manifests.map((m) => m.annotations?.['io.containerd.image.name'])).toEqual([
      'docker.io/library/busybox:1.36',
      'docker.io/library/busybox:latest',
      undefined,
    ]);
    const ociManifest = JSON.parse((files.get(blobPath(index.manifests[0]?.digest as string)) as Buffer).toString()) as Manifest;
    expect(ociManifest.config.digest).toBe(a.id);
    expect(ociManifest.layers.map((l) => [l.mediaType, l.digest, l.size])).toEqual([
      [MEDIA_TYPES.ociLayer, baseId, base.length],
      [MEDIA_TYPES.ociLayer, topId, top.length],
    ]);

    const dst = await FakeStore.create(join(dir, 'dst'));
    const progress: string[] = [];
    const lines = await loadImages(dst.asStore(), once(bytes()), (l) => progress.push(l));
    expect(lines).toEqual(['Loaded image: busybox:1.36', 'Loaded image: busybox:latest', `Loaded image ID: ${b.id}`]);
    expect(dst.tryResolve('busybox:latest')?.id).toBe(a.id);
    expect(dst.tryResolve(b.id)?.id).toBe(b.id);
    expect(dst.tryResolve('other:x')).toBeUndefined();
    // The archive's manifest is kept as the image's manifest.
    expect(dst.tryResolve(a.id)?.manifestDigest).toBe(index.manifests[0]?.digest);
    // The base layer of the second image is not unpacked twice.
    expect(progress).toEqual([`Loading layer ${baseId.slice(7, 19)}`, `Loading layer ${topId.slice(7, 19)}`]);

    // Saving the loaded image again gives the same bytes for it.
    const again = collector();
    await saveImages(dst.asStore(), ['busybox:latest'], again.out);
    const second = await readTar(again.bytes());
    expect(second.files.get(blobPath(index.manifests[0]?.digest as string))?.equals(files.get(blobPath(index.manifests[0]?.digest as string)) as Buffer)).toBe(true);
  });

  it('merges names of one image and reports unknown names', async () => {
    const { src, a } = await fixture();
    const { out, bytes } = collector();
    await saveImages(src.asStore(), ['busybox:latest', a.id, 'other:x', 'busybox:latest'], out);
    const { files } = await readTar(bytes());
    expect(JSON.parse((files.get('manifest.json') as Buffer).toString())).toEqual([
      { Config: blobPath(a.id), RepoTags: ['busybox:latest', 'other:x'], Layers: expect.any(Array) },
    ]);
    await expect(saveImages(src.asStore(), ['nope:1'], collector().out)).rejects.toThrow('No such image: nope:1');
  });

  it('loads a legacy docker-archive: gzip input, ./ names, symlinked layers, gzip layers', async () => {
    const l1 = await layerTar('a', 'one');
    const l2 = await layerTar('b', 'two');
    const config = JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(l1), sha256(l2), sha256(l1)] } });
    const hex = sha256(config).slice(7);
    const archive = await makeTar([
      { name: './', type: 'directory' },
      { name: './l1/', type: 'directory' },
      { name: './l1/layer.tar', data: gzipSync(l1) },
      { name: './l2/layer.tar', data: l2 },
      { name: './l3/layer.tar', type: 'symlink', linkname: '../l1/layer.tar' },
      { name: `./${hex}.json`, data: config },
      { name: './repositories', data: '{}' },
      { name: './manifest.json', data: JSON.stringify([{ Config: `${hex}.json`, RepoTags: ['app:v1', 'example.com/app'], Layers: ['l1/layer.tar', 'l2/layer.tar', 'l3/layer.tar'] }]) },
    ]);
    const store = await FakeStore.create(join(dir, 's'));
    const lines = await loadImages(store.asStore(), once(gzipSync(archive)));
    expect(lines).toEqual(['Loaded image: app:v1', 'Loaded image: example.com/app:latest']);
    const rec = store.resolve('app:v1');
    expect(rec.id).toBe(`sha256:${hex}`);
    expect(rec.layers.map((l) => l.mediaType)).toEqual([MEDIA_TYPES.ociLayerGzip, MEDIA_TYPES.ociLayer, MEDIA_TYPES.ociLayerGzip]);
    expect(rec.diffIds).toEqual([sha256(l1), sha256(l2), sha256(l1)]);
  });

  it('loads a pure OCI layout for the host platform', async () => {
    const l1 = await layerTar('x', 'x');
    const gz = gzipSync(l1);
    const config = Buffer.from(JSON.stringify({ architecture: hostArchitecture(), os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(l1)] } }));
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.ociManifest,
        config: { mediaType: MEDIA_TYPES.ociConfig, digest: sha256(config), size: config.length },
        layers: [{ mediaType: MEDIA_TYPES.ociLayerGzip, digest: sha256(gz), size: gz.length }],
      }),
    );
    const nested = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.ociIndex,
        manifests: [
          { mediaType: MEDIA_TYPES.ociManifest, digest: d('9'), size: 10, platform: { os: 'linux', architecture: 's390x' } },
          { mediaType: MEDIA_TYPES.ociManifest, digest: sha256(manifest), size: manifest.length, platform: { os: 'linux', architecture: hostArchitecture() } },
        ],
      }),
    );
    const index = JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: MEDIA_TYPES.ociIndex, digest: sha256(nested), size: nested.length, annotations: { 'org.opencontainers.image.ref.name': 'ghcr.io/acme/tool:1.0' } }] });
    const archive = await makeTar([
      { name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' },
      { name: 'index.json', data: index },
      { name: blobPath(sha256(nested)), data: nested },
      { name: blobPath(sha256(manifest)), data: manifest },
      { name: blobPath(sha256(config)), data: config },
      { name: blobPath(sha256(gz)), data: gz },
    ]);
    const store = await FakeStore.create(join(dir, 's'));
    expect(await loadImages(store.asStore(), once(archive))).toEqual(['Loaded image: ghcr.io/acme/tool:1.0']);
    const rec = store.resolve('ghcr.io/acme/tool:1.0');
    expect(rec.id).toBe(sha256(config));
    expect(rec.manifestDigest).toBe(sha256(manifest));
    expect(rec.layers).toEqual([{ mediaType: MEDIA_TYPES.ociLayerGzip, digest: sha256(gz), size: gz.length }]);
  });

  it('reloading skips present layers and reports a tag moved off another image', async () => {
    const { src, a, b } = await fixture();
    await src.tag(b.id, 'busybox:1.36');
    const first = collector();
    await saveImages(src.asStore(), ['busybox:latest'], first.out);
    const second = collector();
    await saveImages(src.asStore(), ['busybox:1.36'], second.out);
    const dst = await FakeStore.create(join(dir, 'dst'));
    await loadImages(dst.asStore(), once(second.bytes()));
    await dst.tag(b.id, 'busybox:latest');
    const unpackedBefore = dst.unpacked;
    const progress: string[] = [];
    expect(await loadImages(dst.asStore(), once(first.bytes()), (l) => progress.push(l))).toEqual(['Loaded image: busybox:latest']);
    expect(dst.unpacked - unpackedBefore).toBe(1); // only the top layer; the base was there
    expect(progress).toContain(`The image busybox:latest already exists, renaming the old one with ID ${b.id} to empty string`);
    expect(dst.resolve('busybox:latest').id).toBe(a.id);
  });

  it('rejects what is not an archive, unsafe names, missing blobs and wrong layers', async () => {
    const store = (await FakeStore.create(join(dir, 's'))).asStore();
    const noIndex = 'invalid archive: neither manifest.json nor index.json found';
    await expect(loadImages(store, once(Buffer.from('this is not a tar archive at all'.repeat(40))))).rejects.toThrow(noIndex);
    await expect(loadImages(store, once(Buffer.alloc(0)))).rejects.toThrow(noIndex);
    await expect(loadImages(store, once(await makeTar([{ name: 'repositories', data: '{}' }])))).rejects.toThrow(noIndex);
    await expect(loadImages(store, once(await makeTar([{ name: '../evil', data: 'x' }])))).rejects.toThrow(InvalidArgument);
    await expect(loadImages(store, once(await makeTar([{ name: '/abs', data: 'x' }])))).rejects.toThrow('is absolute');
    await expect(loadImages(store, once(await makeTar([{ name: 'l', type: 'symlink', linkname: '../../etc/passwd' }])))).rejects.toThrow(InvalidArgument);

    const l1 = await layerTar('a', 'one');
    const config = JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [d('0')] } });
    const manifest = JSON.stringify([{ Config: 'c.json', RepoTags: ['x:1'], Layers: ['l/layer.tar'] }]);
    await expect(loadImages(store, once(await makeTar([{ name: 'c.json', data: config }, { name: 'manifest.json', data: manifest }])))).rejects.toThrow(
      'invalid archive: missing blob l/layer.tar',
    );
    const wrong = await makeTar([
      { name: 'c.json', data: config },
      { name: 'l/layer.tar', data: l1 },
      { name: 'manifest.json', data: manifest },
    ]);
    await expect(loadImages(store, once(wrong))).rejects.toThrow(`layer l/layer.tar has diffID ${sha256(l1)}, but the image config says ${d('0')}`);
    const tooFew = JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } });
    await expect(
      loadImages(store, once(await makeTar([{ name: 'c.json', data: tooFew }, { name: 'l/layer.tar', data: l1 }, { name: 'manifest.json', data: manifest }]))),
    ).rejects.toThrow('names 0 layers, the manifest 1');
  });

  it('fails when the output fails, without hanging', async () => {
    const { src } = await fixture();
    let n = 0;
    const out = new Writable({
      write(_c, _e, cb) {
        cb(++n > 2 ? new Error('client went away') : null);
      },
    });
    await expect(saveImages(src.asStore(), ['busybox'], out)).rejects.toThrow('client went away');
  });
});
