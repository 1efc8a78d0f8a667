import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalContentStore, sha256 } from '../../src/engine/content/store.js';
import { loadImages, saveImages } from '../../src/engine/images/archive.js';
import { importRootfs } from '../../src/engine/images/import.js';
import { ImageStore } from '../../src/engine/images/store.js';
import { OverlaySnapshotter, chainIds } from '../../src/engine/snapshots/overlay.js';
import { rootTestsEnabled } from '../harness.js';

/** save → load between two real image stores (layers really unpacked: needs root). */

async function makeStore(root: string): Promise<ImageStore> {
  const content = new LocalContentStore(join(root, 'content'));
  await content.init();
  const snapshots = new OverlaySnapshotter(join(root, 'snapshots'));
  await snapshots.init();
  const store = new ImageStore(join(root, 'image'), content, snapshots);
  await store.init();
  return store;
}

async function rootfsTar(files: Record<string, string>): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  })();
  pack.entry({ name: 'etc/', type: 'directory' });
  for (const [name, body] of Object.entries(files)) pack.entry({ name, type: 'file', mode: 0o644 }, body);
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
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

describe.skipIf(!rootTestsEnabled())('image archives on a real store', () => {
  let base: string;
  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'berth-archive-it-'));
  });
  afterAll(async () => {
    if (base) await rm(base, { recursive: true, force: true });
  });

  it('save then load keeps the image ID, tags, diffIDs and snapshots', async () => {
    const src = await makeStore(join(base, 'src'));
    const layer = await rootfsTar({ 'etc/hello': 'hello from berth\n' });
    // Stored gzip: save must write it uncompressed, under its diffID.
    const id = await importRootfs(src, Readable.from([gzipSync(layer)]), { tag: 'berth-archive-test:1', message: 'archive test' });
    const rec = src.resolve(id);
    expect(rec.diffIds).toEqual([sha256(layer)]);

    const { out, bytes } = collector();
    await saveImages(src, ['berth-archive-test:1'], out);

    const dst = await makeStore(join(base, 'dst'));
    const lines = await loadImages(dst, Readable.from([bytes()]));
    expect(lines).toEqual(['Loaded image: berth-archive-test:1']);
    const loaded = dst.resolve('berth-archive-test:1');
    expect(loaded.id).toBe(id);
    expect(loaded.diffIds).toEqual(rec.diffIds);
    expect(dst.repoTags(id)).toEqual(['berth-archive-test:1']);
    expect(await dst.snapshots.get(chainIds(loaded.diffIds)[0] as string)).toBeDefined();
    expect(await dst.config(id)).toEqual(await src.config(id));
  });
});
