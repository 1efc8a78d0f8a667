import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256 } from '../content/store.js';
import { OverlaySnapshotter } from './overlay.js';

describe('OverlaySnapshotter', () => {
  let root: string;
  let snaps: OverlaySnapshotter;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-snapshots-'));
    snaps = new OverlaySnapshotter(root);
    await snaps.init();
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  const layer = (name: string, parent?: string) =>
    snaps.unpackNew(parent, async (dir) => {
      await writeFile(join(dir, name), name);
      return { diffId: sha256(name), size: name.length };
    });

  it('mounts a chain through its short links, topmost first, below the init dir', async () => {
    const base = await layer('base');
    const top = await layer('top', base.chainId);
    expect(top.chainId).toBe(sha256(`${base.chainId} ${top.diffId}`));
    const m = await snaps.mountFor(top.chainId, '/c/upper', '/c/work', '/init');
    expect(m.options[0]).toBe(`lowerdir=/init:l/${top.short}:l/${base.short}`);
    expect(m.cwd).toBe(root);
  });

  it('keeps what it read of a snapshot until the snapshot is removed', async () => {
    const base = await layer('base');
    const fresh = new OverlaySnapshotter(root);
    expect(await fresh.get(base.chainId)).toEqual(base);
    // Read once: a mount no longer reads meta.json (a snapshot never changes).
    await rm(join(root, base.chainId.replace(/^sha256:/, ''), 'meta.json'));
    expect((await fresh.mountFor(base.chainId, '/u', '/w')).options[0]).toBe(`lowerdir=l/${base.short}`);
    await fresh.remove(base.chainId);
    expect(await fresh.get(base.chainId)).toBeUndefined();
    await expect(fresh.mountFor(base.chainId, '/u', '/w')).rejects.toThrow(/not found/);
    // Unpacked again, it is a new snapshot, with a new short link.
    const again = await new OverlaySnapshotter(root).unpackNew(undefined, async (dir) => {
      await writeFile(join(dir, 'base'), 'base');
      return { diffId: base.diffId, size: 4 };
    });
    expect(await fresh.get(base.chainId)).toEqual(again);
    expect(again.short).not.toBe(base.short);
  });
});
