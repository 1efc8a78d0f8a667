import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MEDIA_TYPES } from '../../core/oci.js';
import { CompressedLayers, gzipLayerMediaType, parseVariant, type CompressedVariant } from './compressed.js';

const digest = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;
const variant = (n: string): CompressedVariant => ({ diffId: digest(`tar${n}`), digest: digest(`gz${n}`), size: 100 + Number(n), mediaType: MEDIA_TYPES.ociLayerGzip });

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-compressed-test-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('parseVariant', () => {
  it('takes a whole variant and refuses anything else', () => {
    const v = variant('1');
    expect(parseVariant({ ...v, extra: 1 })).toEqual(v);
    expect(parseVariant(null)).toBeUndefined();
    expect(parseVariant({ ...v, diffId: 'sha256:xyz' })).toBeUndefined();
    expect(parseVariant({ ...v, digest: v.diffId })).toBeUndefined(); // a variant is never the tar itself
    expect(parseVariant({ ...v, size: 0 })).toBeUndefined();
    expect(parseVariant({ ...v, size: 1.5 })).toBeUndefined();
    expect(parseVariant({ ...v, mediaType: '' })).toBeUndefined();
  });
});

describe('gzipLayerMediaType', () => {
  it("names gzip in the manifest's family", () => {
    expect(gzipLayerMediaType(MEDIA_TYPES.dockerManifest)).toBe('application/vnd.docker.image.rootfs.diff.tar.gzip');
    expect(gzipLayerMediaType(MEDIA_TYPES.ociManifest)).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
  });
});

describe('CompressedLayers (diffID → compressed blob)', () => {
  it('records variants atomically, finds them by diffID and digest, and reads them back after a restart', async () => {
    const a = new CompressedLayers(dir);
    await a.init();
    await a.record(variant('1'));
    await a.record(variant('2'));
    expect(a.get(variant('1').diffId)).toEqual(variant('1'));
    expect(a.byDigest(variant('2').digest)).toEqual(variant('2'));
    expect(a.byDigest(variant('3').digest)).toBeUndefined();
    expect((await readdir(dir)).sort()).toEqual([`${variant('1').diffId.slice(7)}.json`, `${variant('2').diffId.slice(7)}.json`].sort());

    const b = new CompressedLayers(dir);
    await b.init();
    expect(b.list().sort((x, y) => x.size - y.size)).toEqual([variant('1'), variant('2')]);
    await b.forget(variant('1').diffId);
    expect(b.get(variant('1').diffId)).toBeUndefined();
    const c = new CompressedLayers(dir);
    await c.init();
    expect(c.list()).toEqual([variant('2')]);
  });

  it('refuses to record a variant that is not one', async () => {
    const a = new CompressedLayers(dir);
    await a.init();
    await expect(a.record({ ...variant('1'), digest: variant('1').diffId })).rejects.toThrow('invalid compressed layer variant');
    expect(await readdir(dir)).toEqual([]);
  });

  it('drops what a crash left at start: temp files of a write cut short, unreadable files, files named for another diffID', async () => {
    const v = variant('1');
    await writeFile(join(dir, `${v.diffId.slice(7)}.json.tmp-0a1b2c3d`), '{"diffId":');
    await writeFile(join(dir, `${variant('2').diffId.slice(7)}.json`), '{"diffId":');
    await writeFile(join(dir, `${variant('3').diffId.slice(7)}.json`), JSON.stringify(v));
    const a = new CompressedLayers(dir);
    await a.init();
    expect(a.list()).toEqual([]);
    expect(await readdir(dir)).toEqual([]);
  });
});
