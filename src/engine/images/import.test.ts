import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalContentStore } from '../content/store.js';
import { makeTar } from '../layers/test-helpers.js';
import { OverlaySnapshotter } from '../snapshots/overlay.js';
import { hostArchitecture, importRootfs } from './import.js';
import { ImageStore } from './store.js';

let dir: string;
let images: ImageStore;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-import-test-'));
  const content = new LocalContentStore(join(dir, 'content'));
  await content.init();
  const snapshots = new OverlaySnapshotter(join(dir, 'snapshots'));
  await snapshots.init();
  images = new ImageStore(join(dir, 'image'), content, snapshots);
  await images.init();
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('importRootfs', () => {
  const tar = () => makeTar([{ header: { name: 'hello', mode: 0o644, mtime: new Date(0) }, body: 'hi\n' }]);

  it("makes an image for the host's platform by default", async () => {
    const id = await importRootfs(images, Readable.from([await tar()]));
    const c = await images.config(id);
    expect([c.os, c.architecture, c.variant]).toEqual(['linux', hostArchitecture(), undefined]);
  });

  it('keeps the message, or where the image came from, as its comment and its history\'s, as Docker does', async () => {
    const plain = await images.config(await importRootfs(images, Readable.from([await tar()])));
    expect([plain.comment, plain.history?.[0]?.comment]).toEqual(['Imported from -', 'Imported from -']);
    const said = await images.config(await importRootfs(images, Readable.from([await tar()]), { message: 'my msg' }));
    expect([said.comment, said.history?.[0]?.comment]).toEqual(['my msg', 'my msg']);
  });

  it('makes an image for the platform given (--platform), the files unchecked, as Docker does', async () => {
    const arm = await images.config(await importRootfs(images, Readable.from([await tar()]), { platform: { os: 'linux', architecture: 'arm', variant: 'v7' } }));
    expect([arm.os, arm.architecture, arm.variant]).toEqual(['linux', 'arm', 'v7']);
    const arm64 = await images.config(await importRootfs(images, Readable.from([await tar()]), { platform: { os: 'linux', architecture: 'arm64' } }));
    expect([arm64.os, arm64.architecture, arm64.variant]).toEqual(['linux', 'arm64', undefined]);
    expect(arm64.rootfs.diff_ids).toEqual(arm.rootfs.diff_ids);
  });
});
