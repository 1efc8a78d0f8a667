import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ImageManifestEntry } from '../core/manifest-list.js';
import { MEDIA_TYPES } from '../core/oci.js';
import { manifestsDir, ManifestStore } from './manifest-store.js';

const sha = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;
const entry = (ref: string, arch: string): ImageManifestEntry => ({
  Ref: ref,
  Descriptor: { mediaType: MEDIA_TYPES.dockerManifest, digest: sha(ref), size: 10, platform: { architecture: arch, os: 'linux' } },
  Raw: Buffer.from(`{"ref":"${ref}"}`).toString('base64'),
  SchemaV2Manifest: { ref },
});

let root: string;
let store: ManifestStore;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'berth-manifests-test-'));
  store = new ManifestStore(join(root, 'manifests'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('ManifestStore (~/.docker/manifests)', () => {
  const list = '127.0.0.1:5000/app:1';

  it("lives in the docker CLI's config directory", () => {
    expect(manifestsDir({ DOCKER_CONFIG: '/x/cfg' })).toBe('/x/cfg/manifests');
    expect(manifestsDir({ HOME: '/home/u' })).toBe('/home/u/.docker/manifests');
  });

  it("saves entries as docker does (a directory per list, compact JSON per image), reads them back by file name order", async () => {
    await store.save(list, '127.0.0.1:5000/app:b', entry('127.0.0.1:5000/app:b', 'arm64'));
    await store.save(list, '127.0.0.1:5000/app:a', entry('127.0.0.1:5000/app:a', 'amd64'));
    const dir = join(root, 'manifests', '127.0.0.1-5000_app-1');
    expect((await readdir(dir)).sort()).toEqual(['127.0.0.1-5000_app-a', '127.0.0.1-5000_app-b']);
    expect(await readFile(join(dir, '127.0.0.1-5000_app-a'), 'utf8')).toBe(JSON.stringify(entry('127.0.0.1:5000/app:a', 'amd64')));
    expect((await store.getList(list)).map((e) => e.Ref)).toEqual(['127.0.0.1:5000/app:a', '127.0.0.1:5000/app:b']);
    expect(await store.get(list, '127.0.0.1:5000/app:b')).toEqual(entry('127.0.0.1:5000/app:b', 'arm64'));
    // Replaced whole; no temp file left where a list or docker would see it.
    await store.save(list, '127.0.0.1:5000/app:b', entry('127.0.0.1:5000/app:b', 's390x'));
    expect((await store.get(list, '127.0.0.1:5000/app:b')).Descriptor.platform?.architecture).toBe('s390x');
    expect(await readdir(join(root, 'manifests'))).toEqual(['127.0.0.1-5000_app-1']);
  });

  it("says what is missing in docker's words", async () => {
    await expect(store.getList(list)).rejects.toThrow(`No such manifest: ${list}`);
    await store.save(list, '127.0.0.1:5000/app:a', entry('127.0.0.1:5000/app:a', 'amd64'));
    await expect(store.get(list, '127.0.0.1:5000/app:z')).rejects.toThrow('No such manifest: 127.0.0.1:5000/app:z');
    await store.remove(list);
    await expect(store.getList(list)).rejects.toThrow(`No such manifest: ${list}`);
    await store.remove(list); // nothing to remove: no error
  });

  it('reads and amends a list a newer docker CLI wrote (`%` and `#` in names)', async () => {
    const dir = join(root, 'manifests', '127.0.0.1%5000#app%1');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, '127.0.0.1%5000#app%a'), JSON.stringify({ ...entry('127.0.0.1:5000/app:a', 'amd64'), Unknown: 1 }));
    expect(await store.getList(list)).toEqual([entry('127.0.0.1:5000/app:a', 'amd64')]);
    await store.save(list, '127.0.0.1:5000/app:b', entry('127.0.0.1:5000/app:b', 'arm64'));
    expect((await readdir(dir)).sort()).toEqual(['127.0.0.1%5000#app%a', '127.0.0.1%5000#app%b']);
    await store.remove(list);
    expect(await readdir(join(root, 'manifests'))).toEqual([]);
  });

  it('refuses a damaged entry instead of pushing it, and clears temp files a killed save left', async () => {
    const dir = join(root, 'manifests', '127.0.0.1-5000_app-1');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'broken'), '{"Ref":');
    await expect(store.getList(list)).rejects.toThrow(`invalid manifest file ${join(dir, 'broken')}`);
    const stale = join(root, 'manifests', '.tmp-0123456789ab');
    await writeFile(stale, '{"Ref":');
    await utimes(stale, new Date(Date.now() - 7200_000), new Date(Date.now() - 7200_000));
    await store.save('127.0.0.1:5000/other:1', '127.0.0.1:5000/app:a', entry('127.0.0.1:5000/app:a', 'amd64'));
    expect((await readdir(join(root, 'manifests'))).sort()).toEqual(['127.0.0.1-5000_app-1', '127.0.0.1-5000_other-1']);
  });
});
