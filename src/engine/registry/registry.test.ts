/**
 * Pull and push end to end against an in-process fake registry (test/fake-registry.ts) on
 * 127.0.0.1, into a real content store, snapshotter and image store in a temp directory:
 * the auth dance and token refresh, platform selection, parallel downloads that resume
 * after a cut, tampered blobs, HEAD checks, mounts and uploads.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeRegistry } from '../../../test/fake-registry.js';
import type { ImageManifestEntry } from '../../core/manifest-list.js';
import { MEDIA_TYPES, type Descriptor, type ImageConfig, type Manifest } from '../../core/oci.js';
import { parseReference } from '../../core/reference.js';
import { LocalContentStore } from '../content/store.js';
import { importRootfs } from '../images/import.js';
import { ImageStore } from '../images/store.js';
import { makeTar } from '../layers/test-helpers.js';
import { chainIds, OverlaySnapshotter } from '../snapshots/overlay.js';
import { defaultRegistryConfig, registryConfigFromJson } from './config.js';
import type { ProgressMessage } from './progress.js';
import { pushManifest } from './push.js';
import { RegistryService } from './service.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

let base: string;
let images: ImageStore;
let reg: FakeRegistry;

async function newStore(dir: string): Promise<ImageStore> {
  const content = new LocalContentStore(join(dir, 'content'));
  await content.init();
  const snapshots = new OverlaySnapshotter(join(dir, 'snapshots'));
  await snapshots.init();
  const store = new ImageStore(join(dir, 'image'), content, snapshots);
  await store.init();
  return store;
}

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'berth-registry-test-'));
  images = await newStore(base);
});

afterEach(async () => {
  await reg?.stop();
  await rm(base, { recursive: true, force: true });
});

interface Built {
  manifestDigest: string;
  configDigest: string;
  layers: { digest: string; size: number; tar: Buffer }[];
}

/** Puts an image of `n` gzip layers (file `/layer<i>` each, `bytes` of random data) into the fake registry. */
async function buildImage(r: FakeRegistry, repo: string, tag: string | undefined, opts: { n?: number; bytes?: number; arch?: string; plain?: boolean } = {}): Promise<Built> {
  const layers: Built['layers'] = [];
  const diffIds: string[] = [];
  for (let i = 0; i < (opts.n ?? 2); i++) {
    const tar = await makeTar([{ header: { name: `layer${i}`, mode: 0o644, mtime: new Date(0) }, body: randomBytes(opts.bytes ?? 1000) }]);
    diffIds.push(sha(tar));
    const blob = opts.plain ? tar : gzipSync(tar);
    layers.push({ ...r.addBlob(repo, blob), tar });
  }
  const config: ImageConfig = { architecture: opts.arch ?? 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: diffIds } };
  const configBytes = Buffer.from(JSON.stringify(config));
  const c = r.addBlob(repo, configBytes);
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.dockerManifest,
    config: { mediaType: MEDIA_TYPES.dockerConfig, digest: c.digest, size: c.size },
    layers: layers.map((l) => ({ mediaType: opts.plain ? MEDIA_TYPES.ociLayer : MEDIA_TYPES.dockerLayerGzip, digest: l.digest, size: l.size })),
  };
  const manifestDigest = r.addManifest(repo, manifest, MEDIA_TYPES.dockerManifest, tag);
  return { manifestDigest, configDigest: c.digest, layers };
}

function service(extra: Record<string, unknown> = {}, o: { chunk?: number } = {}): RegistryService {
  return new RegistryService({
    images,
    config: registryConfigFromJson(extra),
    retryDelaysMs: [10, 10, 10, 10],
    ...(o.chunk !== undefined ? { uploadChunkSize: o.chunk } : {}),
  });
}

function collect(): { msgs: ProgressMessage[]; sink: (m: ProgressMessage) => void; lines: () => string[] } {
  const msgs: ProgressMessage[] = [];
  return { msgs, sink: (m) => msgs.push(m), lines: () => msgs.filter((m) => m.progressDetail === undefined || Object.keys(m.progressDetail).length === 0).map((m) => `${m.id ? `${m.id}: ` : ''}${m.status ?? ''}`) };
}

describe('pull', () => {
  it('pulls by tag: layers, config, tag, RepoDigests and the stored manifest; Docker-shaped progress', async () => {
    reg = new FakeRegistry();
    await reg.start();
    const img = await buildImage(reg, 'library/app', 'v1');
    const p = collect();
    const res = await service().pull(parseReference(`${reg.host}/library/app:v1`), { progress: p.sink });
    expect(res).toMatchObject({ id: img.configDigest, digest: img.manifestDigest, updated: true });
    const rec = images.resolve(`${reg.host}/library/app:v1`);
    expect(rec.id).toBe(img.configDigest);
    expect(rec.manifestDigest).toBe(img.manifestDigest);
    expect(rec.repoDigests).toEqual([`${reg.host}/library/app@${img.manifestDigest}`]);
    expect(images.resolve(`${reg.host}/library/app@${img.manifestDigest}`).id).toBe(img.configDigest);
    const ids = img.layers.map((l) => l.digest.slice(7, 19));
    const lines = p.lines();
    expect(lines[0]).toBe('v1: Pulling from library/app');
    expect(lines).toContain(`${ids[0]}: Pulling fs layer`);
    expect(lines).toContain(`${ids[1]}: Download complete`);
    expect(lines.filter((l) => l.endsWith('Pull complete'))).toEqual([`${ids[0]}: Pull complete`, `${ids[1]}: Pull complete`]);
    expect(lines.slice(-2)).toEqual([`Digest: ${img.manifestDigest}`, `Status: Downloaded newer image for ${reg.host}/library/app:v1`]);
    const dl = p.msgs.find((m) => m.status === 'Downloading' && m.id === ids[0]);
    expect(dl?.progressDetail?.total).toBe(img.layers[0]?.size);
    expect(dl?.progress).toMatch(/^\[=*>\s*\] /);

    // Again: nothing to do.
    const again = collect();
    const r2 = await service().pull(parseReference(`${reg.host}/library/app:v1`), { progress: again.sink });
    expect(r2.updated).toBe(false);
    expect(again.lines().slice(-1)).toEqual([`Status: Image is up to date for ${reg.host}/library/app:v1`]);
    // Nothing half-written is left behind.
    expect(await readdir(join(base, 'content', 'ingest', 'partial'))).toEqual([]);
  });

  it('pulls by digest, with "Already exists" for layers it has', async () => {
    reg = new FakeRegistry();
    await reg.start();
    const img = await buildImage(reg, 'team/app', 'v1');
    await service().pull(parseReference(`${reg.host}/team/app:v1`), { progress: () => undefined });
    await images.untag(`${reg.host}/team/app:v1`);
    const p = collect();
    const r = await service().pull(parseReference(`${reg.host}/team/app@${img.manifestDigest}`), { progress: p.sink });
    expect(r.updated).toBe(false);
    const manifestGets = reg.log.filter((l) => l.path.includes('/manifests/'));
    expect(manifestGets.at(-1)?.path).toBe(`/v2/team/app/manifests/${img.manifestDigest}`);
    // A new layer on top of one that is here.
    const img2 = await buildImage(reg, 'team/app', 'v2', { n: 1 });
    void img2;
    const p2 = collect();
    await service().pull(parseReference(`${reg.host}/team/app:v2`), { progress: p2.sink });
    expect(p2.lines()).toContain(`${img2.layers[0]?.digest.slice(7, 19)}: Pull complete`);
  });

  it('rmi of a digest reference drops it, and the image with it when nothing else names it', async () => {
    reg = new FakeRegistry();
    await reg.start();
    const img = await buildImage(reg, 'rm/app', 'v1', { n: 1 });
    await service().pull(parseReference(`${reg.host}/rm/app:v1`), { progress: () => undefined });
    const byDigest = `${reg.host}/rm/app@${img.manifestDigest}`;
    // Still tagged: only the digest reference goes.
    expect(await images.remove(byDigest, { force: false, inUse: () => undefined })).toEqual([{ Untagged: byDigest }]);
    expect(images.resolve(img.configDigest).repoDigests).toEqual([]);
    await service().pull(parseReference(byDigest), { progress: () => undefined });
    await images.untag(`${reg.host}/rm/app:v1`);
    expect(await images.remove(byDigest, { force: false, inUse: () => undefined })).toEqual([{ Untagged: byDigest }, { Deleted: img.configDigest }]);
    expect(images.tryResolve(img.configDigest)).toBeUndefined();
  });

  it('chooses the platform of a manifest list / OCI index (host default, or --platform)', async () => {
    reg = new FakeRegistry();
    await reg.start();
    const amd = await buildImage(reg, 'multi', undefined, { arch: 'amd64', n: 1 });
    const arm = await buildImage(reg, 'multi', undefined, { arch: 'arm64', n: 1 });
    const index = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociIndex,
      manifests: [
        { mediaType: MEDIA_TYPES.dockerManifest, digest: amd.manifestDigest, size: reg.manifests.get(`multi@${amd.manifestDigest}`)?.body.length, platform: { os: 'linux', architecture: 'amd64' } },
        { mediaType: MEDIA_TYPES.dockerManifest, digest: arm.manifestDigest, size: reg.manifests.get(`multi@${arm.manifestDigest}`)?.body.length, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      ],
    };
    const indexDigest = reg.addManifest('multi', index, MEDIA_TYPES.ociIndex, 'latest');
    const r = await service().pull(parseReference(`${reg.host}/multi:latest`), { progress: () => undefined, platform: { os: 'linux', architecture: 'arm64' } });
    expect(r).toMatchObject({ id: arm.configDigest, digest: indexDigest });
    const rec = images.resolve(`${reg.host}/multi:latest`);
    expect(rec.manifestDigest).toBe(arm.manifestDigest);
    expect(rec.repoDigests).toEqual([`${reg.host}/multi@${indexDigest}`]);
    await expect(service().pull(parseReference(`${reg.host}/multi:latest`), { progress: () => undefined, platform: { os: 'linux', architecture: 's390x' } })).rejects.toThrow(
      /no matching manifest for linux\/s390x in the manifest list entries \(.* is available for linux\/amd64, linux\/arm64\/v8\)/,
    );
  });

  it('pulls every tag with -a', async () => {
    reg = new FakeRegistry();
    await reg.start();
    await buildImage(reg, 'tags', 'a', { n: 1 });
    await buildImage(reg, 'tags', 'b', { n: 1 });
    const r = await service().pull(parseReference(`${reg.host}/tags`), { progress: () => undefined });
    expect(r).toMatchObject({ tags: ['a', 'b'], updated: true });
    expect(images.repoTags(images.resolve(`${reg.host}/tags:a`).id)).toEqual([`${reg.host}/tags:a`]);
    expect(images.tryResolve(`${reg.host}/tags:b`)).toBeDefined();
  });

  it("reports unknown tags and repositories in Docker's words", async () => {
    reg = new FakeRegistry();
    await reg.start();
    await expect(service().pull(parseReference(`${reg.host}/nope:v9`), { progress: () => undefined })).rejects.toThrow(`manifest for ${reg.host}/nope:v9 not found: manifest unknown: manifest unknown`);
    reg.rateLimited = 1;
    await expect(service().pull(parseReference(`${reg.host}/nope:v9`), { progress: () => undefined })).rejects.toThrow(/^toomanyrequests: You have reached your pull rate limit/);
  });

  it('does the bearer-token dance (anonymous and with credentials), and fetches a new token when one expires', async () => {
    reg = new FakeRegistry({ auth: 'bearer', users: { alice: 'pw' }, tokenSeconds: 300 });
    await reg.start();
    const img = await buildImage(reg, 'private/app', 'v1', { n: 3 });
    const svc = service();
    await svc.pull(parseReference(`${reg.host}/private/app:v1`), { progress: () => undefined, credentials: { username: 'alice', password: 'pw' } });
    expect(reg.tokenRequests.length).toBe(1);
    expect(reg.tokenRequests[0]?.get('scope')).toBe('repository:private/app:pull');
    expect(reg.tokenRequests[0]?.get('service')).toBe('fake-registry');
    expect(reg.tokenRequests[0]?.get('account')).toBe('alice');
    // The cached token is reused; once the registry forgets it, a 401 brings a new one.
    reg.expireTokens();
    await images.remove(`${reg.host}/private/app:v1`, { force: true, inUse: () => undefined });
    await images.gc([]);
    await svc.pull(parseReference(`${reg.host}/private/app:v1`), { progress: () => undefined, credentials: { username: 'alice', password: 'pw' } });
    expect(reg.tokenRequests.length).toBe(2);
    expect(images.resolve(`${reg.host}/private/app:v1`).id).toBe(img.configDigest);
    // Wrong password: the token endpoint's message.
    await expect(service().pull(parseReference(`${reg.host}/private/app:v1`), { progress: () => undefined, credentials: { username: 'alice', password: 'bad' } })).rejects.toThrow(
      /unauthorized: incorrect username or password/,
    );
  });

  it('logs in for an identity token and pulls with it through the refresh_token grant', async () => {
    reg = new FakeRegistry({ auth: 'bearer', users: { carol: 'pw' } });
    await reg.start();
    await buildImage(reg, 'id/app', 'v1', { n: 1 });
    const { identityToken } = await service().login({ username: 'carol', password: 'pw', serverAddress: reg.host });
    expect(identityToken).toBeDefined();
    expect(reg.tokenRequests.at(-1)?.get('offline_token')).toBe('true');
    await service().pull(parseReference(`${reg.host}/id/app:v1`), { progress: () => undefined, credentials: { identityToken: identityToken as string } });
    expect(reg.tokenRequests.at(-1)?.get('grant_type')).toBe('refresh_token');
    expect(reg.tokenRequests.at(-1)?.get('scope')).toBe('repository:id/app:pull');
    await expect(service().login({ username: 'carol', password: 'nope', serverAddress: reg.host })).rejects.toThrow(/unauthorized: incorrect username or password/);
  });

  it('sends Basic credentials when the registry asks for them, and says when there are none', async () => {
    reg = new FakeRegistry({ auth: 'basic', users: { bob: 'secret' } });
    await reg.start();
    await buildImage(reg, 'b/app', 'v1', { n: 1 });
    await service().pull(parseReference(`${reg.host}/b/app:v1`), { progress: () => undefined, credentials: { username: 'bob', password: 'secret' } });
    expect(reg.log.filter((l) => l.path.startsWith('/v2/b/')).every((l) => l.authorization === `Basic ${Buffer.from('bob:secret').toString('base64')}`)).toBe(true);
    await expect(service().pull(parseReference(`${reg.host}/b/app:v1`), { progress: () => undefined })).rejects.toThrow('no basic auth credentials');
    await expect(service().login({ username: 'bob', password: 'wrong', serverAddress: reg.host })).rejects.toThrow(`login attempt to http://${reg.host}/v2/ failed with status: 401 Unauthorized`);
    await expect(service().login({ username: 'bob', password: 'secret', serverAddress: reg.host })).resolves.toEqual({});
  });

  it('resumes a blob cut in the middle with a Range request, and keeps nothing bad', async () => {
    reg = new FakeRegistry();
    await reg.start();
    const img = await buildImage(reg, 'cut', 'v1', { n: 2, bytes: 300_000 });
    const big = img.layers[1] as Built['layers'][number];
    reg.blobFaults.set(big.digest, { cutAfter: 100_000, times: 1 });
    const p = collect();
    await service().pull(parseReference(`${reg.host}/cut:v1`), { progress: p.sink });
    const gets = reg.log.filter((l) => l.method === 'GET' && l.path.endsWith(big.digest));
    expect(gets.length).toBe(2);
    // From what arrived before the cut (all 100000 bytes, unless the kernel dropped some).
    const from = Number(/^bytes=(\d+)-$/.exec(gets[1]?.range ?? '')?.[1]);
    expect(from).toBeGreaterThan(0);
    expect(from).toBeLessThanOrEqual(100_000);
    expect(p.lines()).toContain(`${big.digest.slice(7, 19)}: Retrying in 1 second`);
    expect((await readFile(images.content.path(big.digest))).equals(reg.blobs.get(big.digest) as Buffer)).toBe(true);
  });

  it('starts over when the registry ignores Range', async () => {
    reg = new FakeRegistry();
    await reg.start();
    const img = await buildImage(reg, 'norange', 'v1', { n: 1, bytes: 200_000 });
    const layer = img.layers[0] as Built['layers'][number];
    reg.blobFaults.set(layer.digest, { cutAfter: 50_000, times: 1, ignoreRange: true });
    await service().pull(parseReference(`${reg.host}/norange:v1`), { progress: () => undefined });
    expect(images.resolve(`${reg.host}/norange:v1`).id).toBe(img.configDigest);
  });

  it('resumes an interrupted pull from the partial blob left behind', async () => {
    reg = new FakeRegistry();
    await reg.start();
    const img = await buildImage(reg, 'stall', 'v1', { n: 1, bytes: 400_000 });
    const layer = img.layers[0] as Built['layers'][number];
    reg.blobFaults.set(layer.digest, { stallAfter: 150_000, times: 1 });
    const abort = new AbortController();
    const first = service().pull(parseReference(`${reg.host}/stall:v1`), { signal: abort.signal, progress: () => undefined });
    first.catch(() => undefined);
    for (let i = 0; i < 500 && (await images.content.partialSize(layer.digest)) < 150_000; i++) await new Promise((r) => setTimeout(r, 10));
    abort.abort(new Error('client went away'));
    await expect(first).rejects.toThrow('client went away');
    expect(await images.content.partialSize(layer.digest)).toBe(150_000);
    // The partial survives a restart of the content store (the daemon's).
    const again = await newStore(base);
    images = again;
    await service().pull(parseReference(`${reg.host}/stall:v1`), { progress: () => undefined });
    const gets = reg.log.filter((l) => l.method === 'GET' && l.path.endsWith(layer.digest));
    expect(gets.at(-1)?.range).toBe('bytes=150000-');
    expect(images.resolve(`${reg.host}/stall:v1`).id).toBe(img.configDigest);
    expect(await images.content.partialSize(layer.digest)).toBe(0);
  });

  it('rejects a tampered blob and keeps none of it', async () => {
    reg = new FakeRegistry();
    await reg.start();
    const img = await buildImage(reg, 'evil', 'v1', { n: 1 });
    const layer = img.layers[0] as Built['layers'][number];
    const bad = Buffer.from(reg.blobs.get(layer.digest) as Buffer);
    bad[bad.length - 5] = (bad[bad.length - 5] as number) ^ 0xff;
    reg.tampered.set(layer.digest, bad);
    await expect(service().pull(parseReference(`${reg.host}/evil:v1`), { progress: () => undefined })).rejects.toThrow(
      `filesystem layer verification failed for digest ${layer.digest}: digest mismatch`,
    );
    expect(await images.content.has(layer.digest)).toBe(false);
    expect(await images.content.partialSize(layer.digest)).toBe(0);
    expect(images.tryResolve(`${reg.host}/evil:v1`)).toBeUndefined();
  });

  it('unpacks a layer while it downloads, files it only once the blob is verified, and resumes into a fresh unpack', async () => {
    reg = new FakeRegistry();
    await reg.start();
    const big = randomBytes(400_000);
    const tar = await makeTar([
      { header: { name: 'first', mode: 0o644, mtime: new Date(0) }, body: Buffer.from('arrives first') },
      { header: { name: 'big', mode: 0o644, mtime: new Date(0) }, body: big },
    ]);
    const blob = gzipSync(tar);
    const layer = reg.addBlob('stream', blob);
    const config: ImageConfig = { architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [sha(tar)] } };
    const c = reg.addBlob('stream', Buffer.from(JSON.stringify(config)));
    reg.addManifest(
      'stream',
      { schemaVersion: 2, mediaType: MEDIA_TYPES.dockerManifest, config: { mediaType: MEDIA_TYPES.dockerConfig, digest: c.digest, size: c.size }, layers: [{ mediaType: MEDIA_TYPES.dockerLayerGzip, ...layer }] },
      MEDIA_TYPES.dockerManifest,
      'v1',
    );
    reg.blobFaults.set(layer.digest, { stallAfter: 200_000, times: 1 });
    const snapshotsDir = join(base, 'snapshots');
    const unpacking = async () => (await readdir(snapshotsDir)).filter((n) => n.includes('.tmp-'));
    const abort = new AbortController();
    const first = service().pull(parseReference(`${reg.host}/stream:v1`), { signal: abort.signal, progress: () => undefined });
    first.catch(() => undefined);
    // The first file is on disk while the blob is still coming (stalled half-way).
    let seen = false;
    for (let i = 0; i < 500 && !seen; i++) {
      for (const d of await unpacking()) if ((await readFile(join(snapshotsDir, d, 'fs', 'first'), 'utf8').catch(() => '')) === 'arrives first') seen = true;
      if (!seen) await new Promise((r) => setTimeout(r, 10));
    }
    expect(seen).toBe(true);
    expect(await images.content.partialSize(layer.digest)).toBeLessThan(blob.length);
    expect(await images.snapshots.get(sha(tar))).toBeUndefined();
    abort.abort(new Error('client went away'));
    await expect(first).rejects.toThrow('client went away');
    // Nothing half-unpacked stays; the partial blob does.
    expect(await unpacking()).toEqual([]);
    expect(await images.snapshots.get(sha(tar))).toBeUndefined();
    expect(await images.content.partialSize(layer.digest)).toBeGreaterThan(0);
    // The next pull feeds the unpacker the partial first, then the rest from the registry.
    await service().pull(parseReference(`${reg.host}/stream:v1`), { progress: () => undefined });
    expect(reg.log.filter((l) => l.method === 'GET' && l.path.endsWith(layer.digest)).at(-1)?.range).toMatch(/^bytes=[1-9]\d*-$/);
    const fs = await images.snapshots.path(sha(tar));
    expect((await readFile(join(fs, 'big'))).equals(big)).toBe(true);
    expect(await readFile(join(fs, 'first'), 'utf8')).toBe('arrives first');
  });

  it('pulls two images with the same layers in other blobs at once: both complete, each layer unpacked once', async () => {
    reg = new FakeRegistry();
    await reg.start();
    // The same three tars, gzip-compressed in one image and plain in the other: same diffIDs
    // and chain IDs, different blobs; one download at a time for both pulls.
    const tars = await Promise.all([0, 1, 2].map((i) => makeTar([{ header: { name: `f${i}`, mode: 0o644, mtime: new Date(0) }, body: randomBytes(1_500_000) }])));
    const image = (repo: string, plain: boolean) => {
      const layers = tars.map((t) => ({ mediaType: plain ? MEDIA_TYPES.ociLayer : MEDIA_TYPES.dockerLayerGzip, ...reg.addBlob(repo, plain ? t : gzipSync(t)) }));
      const config: ImageConfig = { architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: tars.map(sha) } };
      const c = reg.addBlob(repo, Buffer.from(JSON.stringify(config)));
      reg.addManifest(repo, { schemaVersion: 2, mediaType: MEDIA_TYPES.dockerManifest, config: { mediaType: MEDIA_TYPES.dockerConfig, ...c }, layers }, MEDIA_TYPES.dockerManifest, 'v1');
    };
    image('gz', false);
    image('plain', true);
    const svc = service({ 'max-concurrent-downloads': 1 });
    await Promise.all([svc.pull(parseReference(`${reg.host}/gz:v1`), { progress: () => undefined }), svc.pull(parseReference(`${reg.host}/plain:v1`), { progress: () => undefined })]);
    for (const name of ['gz', 'plain']) expect(images.resolve(`${reg.host}/${name}:v1`).diffIds).toEqual(tars.map(sha));
    expect((await images.snapshots.list()).map((m) => m.chainId).sort()).toEqual(chainIds(tars.map(sha)).sort());
    const top = await images.snapshots.path(chainIds(tars.map(sha)).at(-1) as string);
    expect((await readFile(join(top, 'f2'))).equals(tars[2]?.subarray(512, 512 + 1_500_000) as Buffer)).toBe(true);
  });

  it('starts the next download while a downloaded blob is checked and filed (max-concurrent-downloads 1)', async () => {
    reg = new FakeRegistry();
    await reg.start();
    const built = await buildImage(reg, 'slots/app', 'v1', { n: 2, bytes: 200_000 });
    const [first, second] = built.layers.map((l) => l.digest);
    // Filing the first blob takes 300 ms; the second one's GET must not wait for it.
    const getsOfSecond = () => reg.log.filter((e) => e.method === 'GET' && e.path.endsWith(second as string)).length;
    let seenWhileFiling: number | undefined;
    const store = LocalContentStore.prototype as unknown as { commit: (tmp: string, digest: string) => Promise<void> };
    const commit = store.commit;
    const spy = vi.spyOn(store, 'commit').mockImplementation(async function (this: unknown, tmp: string, digest: string) {
      if (digest === first) {
        await new Promise((r) => setTimeout(r, 300));
        seenWhileFiling = getsOfSecond();
      }
      return commit.call(this, tmp, digest);
    });
    try {
      await service({ 'max-concurrent-downloads': 1 }).pull(parseReference(`${reg.host}/slots/app:v1`), { progress: () => undefined });
    } finally {
      spy.mockRestore();
    }
    expect(seenWhileFiling).toBe(1);
    expect(images.resolve(`${reg.host}/slots/app:v1`).diffIds).toEqual(built.layers.map((l) => sha(l.tar)));
  });

  it('keeps no snapshot of a tampered layer that unpacks cleanly', async () => {
    reg = new FakeRegistry();
    await reg.start();
    // Uncompressed: a flipped byte in a file's data still makes a valid tar.
    const img = await buildImage(reg, 'evil2', 'v1', { n: 1, bytes: 50_000, plain: true });
    const layer = img.layers[0] as Built['layers'][number];
    const bad = Buffer.from(reg.blobs.get(layer.digest) as Buffer);
    bad[1000] = (bad[1000] as number) ^ 0xff;
    reg.tampered.set(layer.digest, bad);
    await expect(service().pull(parseReference(`${reg.host}/evil2:v1`), { progress: () => undefined })).rejects.toThrow(
      `filesystem layer verification failed for digest ${layer.digest}: digest mismatch`,
    );
    expect(await images.content.has(layer.digest)).toBe(false);
    expect((await readdir(join(base, 'snapshots'))).sort()).toEqual(['empty', 'l']);
    expect(await readdir(join(base, 'snapshots', 'l'))).toEqual(['empty']);
  });

  it('uses a mirror first and falls back to the origin', async () => {
    reg = new FakeRegistry();
    await reg.start();
    const mirror = new FakeRegistry();
    await mirror.start();
    try {
      const img = await buildImage(reg, 'm/app', 'v1', { n: 1 });
      const svc = service({ 'registry-mirrors-for': { [reg.host]: [`http://${mirror.host}`] } });
      await svc.pull(parseReference(`${reg.host}/m/app:v1`), { progress: () => undefined });
      expect(mirror.log.some((l) => l.path === '/v2/m/app/manifests/v1')).toBe(true);
      expect(images.resolve(`${reg.host}/m/app:v1`).id).toBe(img.configDigest);
      // The mirror has it: the origin is not asked.
      await buildImage(mirror, 'm/app', 'v2', { n: 1 });
      const before = reg.log.length;
      await svc.pull(parseReference(`${reg.host}/m/app:v2`), { progress: () => undefined });
      expect(reg.log.length).toBe(before);
    } finally {
      await mirror.stop();
    }
  });

  it.skipIf(spawnSync('openssl', ['version']).status !== 0)('verifies TLS: an unknown CA is an error naming the fixes; a CA in certs.d or an insecure registry works', async () => {
    const key = join(base, 'tls.key');
    const cert = join(base, 'tls.crt');
    const gen = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
    expect(gen.status).toBe(0);
    reg = new FakeRegistry({ tls: { key: await readFile(key), cert: await readFile(cert) } });
    await reg.start();
    const img = await buildImage(reg, 'tls/app', 'v1', { n: 1 });
    const certsDir = join(base, 'certs.d');
    // Loopback is insecure by default: here it must not be, to see verification at work.
    const secure = () => new RegistryService({ images, config: { ...defaultRegistryConfig(), insecure: [], certsDirs: [certsDir] }, retryDelaysMs: [] });
    await expect(secure().pull(parseReference(`${reg.host}/tls/app:v1`), { progress: () => undefined })).rejects.toThrow(
      new RegExp(`^Get "https://${reg.host}/v2/": tls: failed to verify certificate: x509: certificate signed by unknown authority \\(.*/etc/docker/certs.d/${reg.host}/ca.crt.*"insecure-registries"`),
    );
    await mkdir(join(certsDir, reg.host), { recursive: true });
    await writeFile(join(certsDir, reg.host, 'ca.crt'), await readFile(cert));
    await secure().pull(parseReference(`${reg.host}/tls/app:v1`), { progress: () => undefined });
    expect(images.resolve(`${reg.host}/tls/app:v1`).id).toBe(img.configDigest);
    await images.untag(`${reg.host}/tls/app:v1`);
    await service().pull(parseReference(`${reg.host}/tls/app:v1`), { progress: () => undefined });
    expect(reg.log.some((l) => l.path === '/v2/tls/app/manifests/v1')).toBe(true);
  });

  it('downloads a blob once: the same layer twice in a manifest, and two pulls at once', async () => {
    reg = new FakeRegistry();
    await reg.start();
    const tar = await makeTar([{ header: { name: 'same', mode: 0o644, mtime: new Date(0) }, body: randomBytes(100_000) }]);
    const l = reg.addBlob('dup/app', gzipSync(tar));
    const cfg = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha(tar), sha(tar), sha(tar)] } }));
    const c = reg.addBlob('dup/app', cfg);
    const layer = { mediaType: MEDIA_TYPES.ociLayerGzip, ...l };
    reg.addManifest('dup/app', { schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config: { mediaType: MEDIA_TYPES.ociConfig, ...c }, layers: [layer, layer, layer] }, MEDIA_TYPES.ociManifest, 'v1');
    const svc = service();
    const ref = parseReference(`${reg.host}/dup/app:v1`);
    await Promise.all([svc.pull(ref, { progress: () => undefined }), svc.pull(ref, { progress: () => undefined })]);
    expect(reg.log.filter((e) => e.method === 'GET' && e.path.endsWith(l.digest))).toHaveLength(1);
    expect(images.resolve(`${reg.host}/dup/app:v1`).diffIds).toEqual([sha(tar), sha(tar), sha(tar)]);
  });

  it('unpacks uncompressed layers too', async () => {
    reg = new FakeRegistry();
    await reg.start();
    const img = await buildImage(reg, 'plain', 'v1', { n: 2, plain: true });
    await service().pull(parseReference(`${reg.host}/plain:v1`), { progress: () => undefined });
    const rec = images.resolve(`${reg.host}/plain:v1`);
    expect(rec.diffIds).toEqual(img.layers.map((l) => l.digest));
  });
});

describe('push', () => {
  it('uploads what the registry lacks, mounts what another repository has, and skips what it has', async () => {
    reg = new FakeRegistry({ auth: 'bearer' });
    await reg.start();
    const img = await buildImage(reg, 'src/app', 'v1', { n: 2, bytes: 50_000 });
    await service().pull(parseReference(`${reg.host}/src/app:v1`), { progress: () => undefined });
    // A new image on top, to push elsewhere.
    await images.tag(img.configDigest, `${reg.host}/dst/app:v1`);
    const p = collect();
    const pushed = await service({}, { chunk: 30_000 }).push(parseReference(`${reg.host}/dst/app:v1`), { progress: p.sink });
    expect(pushed).toEqual([{ tag: 'v1', digest: img.manifestDigest, size: reg.manifests.get(`src/app@${img.manifestDigest}`)?.body.length }]);
    const lines = p.lines();
    expect(lines[0]).toBe(`The push refers to repository [${reg.host}/dst/app]`);
    expect(lines.filter((l) => l.includes('Mounted from'))).toHaveLength(2);
    expect(lines.at(-2)).toBe(`v1: digest: ${img.manifestDigest} size: ${pushed[0]?.size}`);
    expect(p.msgs.at(-1)).toEqual({ progressDetail: {}, aux: { Tag: 'v1', Digest: img.manifestDigest, Size: pushed[0]?.size } });
    expect(reg.manifests.get(`dst/app:v1`)?.body.equals(reg.manifests.get(`src/app@${img.manifestDigest}`)?.body as Buffer)).toBe(true);
    expect(images.resolve(img.configDigest).repoDigests).toContain(`${reg.host}/dst/app@${img.manifestDigest}`);

    // Into a fresh registry: HEAD misses, chunked uploads (PATCH, PATCH, PUT).
    const other = new FakeRegistry();
    await other.start();
    try {
      await images.tag(img.configDigest, `${other.host}/x/app:v1`);
      const p2 = collect();
      await service({}, { chunk: 30_000 }).push(parseReference(`${other.host}/x/app:v1`), { progress: p2.sink });
      for (const l of img.layers) expect(other.blobs.get(l.digest)?.equals(reg.blobs.get(l.digest) as Buffer)).toBe(true);
      expect(other.blobs.has(img.configDigest)).toBe(true);
      expect(p2.lines().filter((l) => l.endsWith(': Pushed'))).toHaveLength(2);
      expect(other.log.filter((l) => l.method === 'PATCH').length).toBeGreaterThanOrEqual(4);
      // Again: everything is there.
      const p3 = collect();
      await service().push(parseReference(`${other.host}/x/app:v1`), { progress: p3.sink });
      expect(p3.lines().filter((l) => l.endsWith('Layer already exists'))).toHaveLength(2);
      await expect(service().push(parseReference(`${other.host}/x/app:nope`), { progress: () => undefined })).rejects.toThrow(`tag does not exist: ${other.host}/x/app:nope`);
      // Monolithic: POST, then one PUT with the blob.
      const mono = new FakeRegistry();
      await mono.start();
      try {
        await images.tag(img.configDigest, `${mono.host}/m/app:v1`);
        await new RegistryService({ images, monolithicUploads: true }).push(parseReference(`${mono.host}/m/app:v1`), { progress: () => undefined });
        expect(mono.log.filter((l) => l.method === 'PATCH')).toEqual([]);
        expect(mono.log.filter((l) => l.method === 'PUT' && l.path.includes('/blobs/uploads/')).length).toBe(3);
        for (const l of img.layers) expect(mono.blobs.get(l.digest)?.equals(reg.blobs.get(l.digest) as Buffer)).toBe(true);
      } finally {
        await mono.stop();
      }
    } finally {
      await other.stop();
    }
  });
});

describe('push of layers stored uncompressed', () => {
  /** A local image of one uncompressed layer (what import makes). */
  async function localImage(body: string, tag: string): Promise<{ id: string; diffId: string }> {
    const tar = await makeTar([{ header: { name: 'hello', mode: 0o644, mtime: new Date(0) }, body }]);
    const id = await importRootfs(images, Readable.from([tar]), { tag });
    return { id, diffId: sha(tar) };
  }

  it('sends a gzip blob, names it in a Docker manifest, keeps the diffIDs, and never compresses a layer twice', async () => {
    reg = new FakeRegistry();
    await reg.start();
    const { id, diffId } = await localImage('x'.repeat(20_000), `${reg.host}/local/app:v1`);
    expect(images.resolve(id).layers[0]?.digest).toBe(diffId); // stored as the tar
    const ingest = vi.spyOn(images.content, 'ingest');
    const p = collect();
    const [first] = await service().push(parseReference(`${reg.host}/local/app:v1`), { progress: p.sink });
    expect(ingest).toHaveBeenCalledTimes(1);
    expect(p.lines()).toEqual([`The push refers to repository [${reg.host}/local/app]`, `${diffId.slice(7, 19)}: Preparing`, `${diffId.slice(7, 19)}: Pushed`, `v1: digest: ${first?.digest} size: ${first?.size}`, '']);
    const m = JSON.parse(reg.manifests.get('local/app:v1')?.body.toString() ?? '') as Manifest;
    expect(m.mediaType).toBe(MEDIA_TYPES.dockerManifest);
    expect(m.config).toEqual({ mediaType: MEDIA_TYPES.dockerConfig, digest: id, size: (await images.content.read(id)).length });
    const layer = m.layers[0] as Descriptor;
    expect(layer.mediaType).toBe(MEDIA_TYPES.dockerLayerGzip);
    expect(layer.digest).not.toBe(diffId);
    const blob = reg.blobs.get(layer.digest) as Buffer;
    expect(sha(blob)).toBe(layer.digest);
    expect(blob.length).toBe(layer.size);
    expect(blob.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect(sha(gunzipSync(blob))).toBe(diffId);
    expect(blob.length).toBeLessThan(2000); // 20 kB of one letter
    expect((JSON.parse(reg.blobs.get(id)?.toString() ?? '') as ImageConfig).rootfs.diff_ids).toEqual([diffId]);
    // The variant is remembered, its blob kept in the content store.
    expect(images.compressed.get(diffId)).toEqual({ diffId, digest: layer.digest, size: layer.size, mediaType: MEDIA_TYPES.ociLayerGzip });
    expect(await images.content.has(layer.digest)).toBe(true);

    // Again, to the same repository (HEAD finds it), to another one (mounted), to another
    // registry (uploaded): the same blob, compressed no more, the same manifest digest.
    ingest.mockClear();
    const again = collect();
    const [second] = await service().push(parseReference(`${reg.host}/local/app:v1`), { progress: again.sink });
    expect(again.lines()).toContain(`${diffId.slice(7, 19)}: Layer already exists`);
    expect(second?.digest).toBe(first?.digest);
    await images.tag(id, `${reg.host}/other/app:v1`);
    const mounted = collect();
    await service().push(parseReference(`${reg.host}/other/app:v1`), { progress: mounted.sink });
    expect(mounted.lines()).toContain(`${diffId.slice(7, 19)}: Mounted from local/app`);
    const other = new FakeRegistry();
    await other.start();
    try {
      await images.tag(id, `${other.host}/x/app:v1`);
      const [third] = await service().push(parseReference(`${other.host}/x/app:v1`), { progress: () => undefined });
      expect(third?.digest).toBe(first?.digest);
      expect(other.blobs.get(layer.digest)?.equals(blob)).toBe(true);
    } finally {
      await other.stop();
    }
    expect(ingest).not.toHaveBeenCalled();

    // A daemon restart keeps the variant.
    const reopened = await newStore(base);
    expect(reopened.compressed.get(diffId)?.digest).toBe(layer.digest);
    expect((await reopened.compressedLayer(diffId)).made).toBe(false);

    // The variant and its blob go with the last image that has the layer.
    expect(await images.gc([])).toBe(0);
    expect(await images.content.has(layer.digest)).toBe(true);
    await images.remove(id, { force: true, inUse: () => undefined });
    await images.gc([]);
    expect(images.compressed.get(diffId)).toBeUndefined();
    expect(await images.content.has(layer.digest)).toBe(false);
    expect(await readdir(join(base, 'image', 'compressed'))).toEqual([]);
  });

  it('compresses a layer once when pushes of it run at once', async () => {
    reg = new FakeRegistry();
    await reg.start();
    const { id, diffId } = await localImage('shared\n', `${reg.host}/a/app:1`);
    await images.tag(id, `${reg.host}/b/app:1`);
    const ingest = vi.spyOn(images.content, 'ingest');
    const [a, b] = await Promise.all([
      service().push(parseReference(`${reg.host}/a/app:1`), { progress: () => undefined }),
      service().push(parseReference(`${reg.host}/b/app:1`), { progress: () => undefined }),
    ]);
    expect(ingest).toHaveBeenCalledTimes(1);
    expect(a[0]?.digest).toBe(b[0]?.digest);
    expect(images.compressed.get(diffId)).toBeDefined();
  });

  it('refuses to compress a damaged tar, and keeps nothing of the attempt', async () => {
    reg = new FakeRegistry();
    await reg.start();
    const { diffId } = await localImage('will be damaged\n', `${reg.host}/bad/app:1`);
    const before = (await images.content.list()).sort();
    const path = images.content.path(diffId);
    const bytes = await readFile(path);
    bytes[600] = (bytes[600] as number) ^ 0xff;
    await writeFile(path, bytes);
    await expect(service().push(parseReference(`${reg.host}/bad/app:1`), { progress: () => undefined })).rejects.toThrow(`layer ${diffId} is damaged in the content store`);
    expect((await images.content.list()).sort()).toEqual(before);
    expect(await readdir(join(base, 'content', 'ingest'))).toEqual(['partial']);
    expect(images.compressed.get(diffId)).toBeUndefined();
    expect([...reg.manifests.keys()].some((k) => k.startsWith('bad/app'))).toBe(false);
  });

  it('a pulled image with uncompressed layers is pushed unchanged: same manifest, same digest', async () => {
    reg = new FakeRegistry();
    await reg.start();
    const img = await buildImage(reg, 'plain', 'v1', { n: 2, plain: true });
    await service().pull(parseReference(`${reg.host}/plain:v1`), { progress: () => undefined });
    await images.tag(img.configDigest, `${reg.host}/copy:v1`);
    const ingest = vi.spyOn(images.content, 'ingest');
    const [pushed] = await service().push(parseReference(`${reg.host}/copy:v1`), { progress: () => undefined });
    expect(pushed?.digest).toBe(img.manifestDigest);
    expect(ingest).not.toHaveBeenCalled();
    expect(images.compressed.list()).toEqual([]);
  });

  it('a local layer on top of pulled gzip layers: the manifest keeps their blobs and media types', async () => {
    reg = new FakeRegistry();
    await reg.start();
    const img = await buildImage(reg, 'base', 'v1', { n: 1 });
    await service().pull(parseReference(`${reg.host}/base:v1`), { progress: () => undefined });
    const base0 = images.resolve(img.configDigest);
    const tar = await makeTar([{ header: { name: 'top', mode: 0o644, mtime: new Date(0) }, body: 'top\n' }]);
    const added = await images.addLayer({ stream: Readable.from([tar]) }, images.topChain(base0));
    const config: ImageConfig = { ...(await images.config(base0.id)), rootfs: { type: 'layers', diff_ids: [...base0.diffIds, added.diffId] } };
    const rec = await images.createImage(config, [...base0.layers, added.descriptor]);
    await images.tag(rec.id, `${reg.host}/derived:v1`);
    await service().push(parseReference(`${reg.host}/derived:v1`), { progress: () => undefined });
    const m = JSON.parse(reg.manifests.get('derived:v1')?.body.toString() ?? '') as Manifest;
    expect(m.mediaType).toBe(MEDIA_TYPES.dockerManifest);
    expect(m.layers[0]).toEqual({ mediaType: MEDIA_TYPES.dockerLayerGzip, digest: img.layers[0]?.digest, size: img.layers[0]?.size });
    expect(m.layers[1]?.mediaType).toBe(MEDIA_TYPES.dockerLayerGzip);
    expect(m.layers[1]?.digest).toBe(images.compressed.get(added.diffId)?.digest);
  });
});

describe('pushManifest', () => {
  const cfg = { digest: `sha256:${'c'.repeat(64)}`, size: 10 };
  const d = (n: string, mediaType: string) => ({ mediaType, digest: `sha256:${n.repeat(64)}`, size: 5 });
  it('is Docker schema 2 when every layer berth did not compress has a Docker media type, OCI otherwise', () => {
    const docker = JSON.parse(pushManifest(cfg, [{ descriptor: d('a', MEDIA_TYPES.dockerLayerGzip), compressedByBerth: false }, { descriptor: d('b', MEDIA_TYPES.ociLayerGzip), compressedByBerth: true }]).bytes.toString()) as Manifest;
    expect(docker.mediaType).toBe(MEDIA_TYPES.dockerManifest);
    expect(docker.config.mediaType).toBe(MEDIA_TYPES.dockerConfig);
    expect(docker.layers.map((l) => l.mediaType)).toEqual([MEDIA_TYPES.dockerLayerGzip, MEDIA_TYPES.dockerLayerGzip]);
    const oci = JSON.parse(pushManifest(cfg, [{ descriptor: d('a', MEDIA_TYPES.ociLayerZstd), compressedByBerth: false }, { descriptor: d('b', MEDIA_TYPES.ociLayerGzip), compressedByBerth: true }]).bytes.toString()) as Manifest;
    expect(oci.mediaType).toBe(MEDIA_TYPES.ociManifest);
    expect(oci.config.mediaType).toBe(MEDIA_TYPES.ociConfig);
    expect(oci.layers.map((l) => l.mediaType)).toEqual([MEDIA_TYPES.ociLayerZstd, MEDIA_TYPES.ociLayerGzip]);
  });
});

describe('manifest lists (berth manifest)', () => {
  async function twoPlatforms(): Promise<{ amd: Built; arm: Built }> {
    reg = new FakeRegistry({ auth: 'bearer' });
    await reg.start();
    return { amd: await buildImage(reg, 'multi', 'amd64', { n: 1 }), arm: await buildImage(reg, 'multi', 'arm64', { n: 1, arch: 'arm64' }) };
  }

  it("reads a remote manifest with its config's platform, and a list with its members", async () => {
    const { amd, arm } = await twoPlatforms();
    const r = await service().inspectManifest(parseReference(`${reg.host}/multi:arm64`), {});
    expect(r.Kind).toBe('manifest');
    expect(r.Descriptor).toEqual({ mediaType: MEDIA_TYPES.dockerManifest, digest: arm.manifestDigest, size: reg.manifests.get('multi:arm64')?.body.length });
    expect(r.Manifest?.Ref).toBe(`${reg.host}/multi:arm64`);
    expect(r.Manifest?.Descriptor.platform).toEqual({ architecture: 'arm64', os: 'linux' });
    expect(Buffer.from(r.Manifest?.Raw ?? '', 'base64').equals(reg.manifests.get('multi:arm64')?.body as Buffer)).toBe(true);
    expect((r.Manifest?.SchemaV2Manifest as Manifest).config.digest).toBe(arm.configDigest);

    const index = { schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: [amd, arm].map((b, i) => ({ mediaType: MEDIA_TYPES.dockerManifest, digest: b.manifestDigest, size: reg.manifests.get(`multi@${b.manifestDigest}`)?.body.length, platform: { architecture: i === 0 ? 'amd64' : 'arm64', os: 'linux', ...(i === 1 ? { variant: 'v8' } : {}) } })) };
    const indexDigest = reg.addManifest('multi', index, MEDIA_TYPES.ociIndex, 'both');
    const l = await service().inspectManifest(parseReference(`${reg.host}/multi:both`), { members: true });
    expect(l.Kind).toBe('list');
    expect(l.Descriptor.digest).toBe(indexDigest);
    expect(l.Manifests?.map((m) => [m.Ref, m.Descriptor.platform])).toEqual([
      [`${reg.host}/multi@${amd.manifestDigest}`, { architecture: 'amd64', os: 'linux' }],
      [`${reg.host}/multi@${arm.manifestDigest}`, { architecture: 'arm64', os: 'linux', variant: 'v8' }],
    ]);
    expect((await service().inspectManifest(parseReference(`${reg.host}/multi:both`), {})).Manifests).toBeUndefined();
    await expect(service().inspectManifest(parseReference(`${reg.host}/multi:nosuch`), {})).rejects.toThrow(`no such manifest: ${reg.host}/multi:nosuch`);
  });

  it('pushes a list: images of the same repository as they are; of other ones, mounted or copied in first', async () => {
    const { amd, arm } = await twoPlatforms();
    const entries = await Promise.all(['amd64', 'arm64'].map(async (t) => (await service().inspectManifest(parseReference(`${reg.host}/multi:${t}`), {})).Manifest as ImageManifestEntry));

    const before = reg.log.length;
    const same = await service().pushManifestList(parseReference(`${reg.host}/multi:1`), entries, {});
    expect(same.Pushed).toEqual([]);
    expect(same.MediaType).toBe(MEDIA_TYPES.dockerManifestList);
    const body = reg.manifests.get('multi:1');
    expect(body?.mediaType).toBe(MEDIA_TYPES.dockerManifestList);
    expect(same.Digest).toBe(sha(body?.body as Buffer));
    expect((JSON.parse(body?.body.toString() ?? '') as { manifests: Descriptor[] }).manifests.map((m) => m.digest)).toEqual([amd.manifestDigest, arm.manifestDigest]);
    expect(reg.log.slice(before).filter((e) => e.path.includes('/blobs/'))).toEqual([]);

    // Another repository: blobs mounted, manifests put by digest, then the list.
    const other = await service().pushManifestList(parseReference(`${reg.host}/elsewhere:2`), entries, {});
    expect(other.Pushed).toEqual([amd, arm].map((b) => ({ Ref: `${reg.host}/elsewhere@${b.manifestDigest}`, Digest: b.manifestDigest })));
    for (const b of [amd, arm]) {
      expect(reg.manifests.has(`elsewhere@${b.manifestDigest}`)).toBe(true);
      for (const d of [b.configDigest, ...b.layers.map((x) => x.digest)]) expect(reg.links.has(`elsewhere@${d}`)).toBe(true);
    }
    expect(reg.log.filter((e) => e.method === 'POST' && e.path.startsWith('/v2/elsewhere/blobs/uploads/?mount=')).length).toBe(4);

    // A registry that will not mount: the blobs are read and uploaded.
    reg.mountsRefused = true;
    await service().pushManifestList(parseReference(`${reg.host}/copied:3`), entries, {});
    for (const d of [amd.configDigest, ...amd.layers.map((x) => x.digest)]) expect(reg.links.has(`copied@${d}`)).toBe(true);
    expect(reg.log.some((e) => e.method === 'GET' && e.path === `/v2/multi/blobs/${amd.layers[0]?.digest}`)).toBe(true);
    expect(reg.log.some((e) => e.method === 'PUT' && e.path.startsWith('/v2/copied/blobs/uploads/'))).toBe(true);
  });

  it('refuses an entry whose bytes are not its digest, before sending anything', async () => {
    const { amd } = await twoPlatforms();
    const e = (await service().inspectManifest(parseReference(`${reg.host}/multi:amd64`), {})).Manifest as ImageManifestEntry;
    const tampered = { ...e, Raw: Buffer.from(Buffer.from(e.Raw as string, 'base64').toString().replace('"schemaVersion":2', '"schemaVersion": 2')).toString('base64') };
    const before = reg.log.length;
    await expect(service().pushManifestList(parseReference(`${reg.host}/multi:1`), [tampered], {})).rejects.toThrow(`its content in the local list does not match its digest ${amd.manifestDigest}`);
    expect(reg.log.length).toBe(before);
  });
});
