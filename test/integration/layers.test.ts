import { lstat, mkdir, mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffChanges, packDiff, packTree, unpackLayer } from '../../src/engine/layers/index.js';
import { collector, describeTree, makeTar, readTar, type TarEntry } from '../../src/engine/layers/test-helpers.js';
import { Mounter } from '../../src/sys/mount.js';
import { rootSkipReason, rootTestsEnabled } from '../harness.js';

/**
 * Layers on a real overlayfs: whiteouts and opaque markers made by the spawning writer
 * (mknod/setfattr) must hide lower content in a mount, and an upper dir written through a
 * mount must pack back into an equivalent layer.
 */

const T = new Date('2022-03-04T05:06:07Z');
const f = (name: string, body: string): TarEntry => ({ header: { name, mtime: T, mode: 0o644 }, body });
const d = (name: string): TarEntry => ({ header: { name, type: 'directory', mtime: T, mode: 0o755 } });

describe.skipIf(!rootTestsEnabled())(`layers on overlayfs (${rootSkipReason})`, () => {
  const mounter = new Mounter();
  let base: string;
  const mounted: string[] = [];

  async function layer(name: string, entries: TarEntry[]): Promise<string> {
    const dir = join(base, name);
    await mkdir(dir);
    await unpackLayer(Readable.from([await makeTar(entries)]), dir);
    return dir;
  }

  async function mount(lowers: string[], upper?: string): Promise<string> {
    const target = await mkdtemp(join(base, 'mnt-'));
    const options = [`lowerdir=${lowers.join(':')}`];
    if (upper !== undefined) {
      const work = `${upper}.work`;
      await mkdir(work, { recursive: true });
      options.push(`upperdir=${upper}`, `workdir=${work}`);
    }
    await mounter.mount({ type: 'overlay', source: 'overlay', options }, target);
    mounted.push(target);
    return target;
  }

  async function unmount(target: string): Promise<void> {
    await mounter.unmount(target);
    mounted.splice(mounted.indexOf(target), 1);
  }

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'berth-layers-it-'));
  });
  afterAll(async () => {
    for (const m of mounted.reverse()) await mounter.unmount(m);
    await rm(base, { recursive: true, force: true });
  });

  it('whiteouts and opaque dirs hide lower content; a committed upper reproduces the view', async () => {
    const l1 = await layer('l1', [
      d('etc/'),
      f('etc/motd', 'welcome'),
      f('etc/issue', 'Debian'),
      d('var/'),
      d('var/cache/'),
      f('var/cache/old1', 'o1'),
      f('var/cache/old2', 'o2'),
      d('var/log/'),
      f('var/log/dpkg.log', 'log'),
      d('usr/'),
      d('usr/bin/'),
      f('usr/bin/tool', 'v1'),
    ]);
    const l2 = await layer('l2', [
      d('etc/'),
      { header: { name: 'etc/.wh.motd', mtime: T } },
      d('var/'),
      d('var/cache/'),
      { header: { name: 'var/cache/.wh..wh..opq', mtime: T } },
      f('var/cache/new', 'fresh'),
    ]);
    const wh = await lstat(join(l2, 'etc/motd'));
    expect(wh.isCharacterDevice() && wh.rdev === 0).toBe(true);

    const view = await mount([l2, l1]);
    expect((await readdir(join(view, 'etc'))).sort()).toEqual(['issue']);
    expect((await readdir(join(view, 'var/cache'))).sort()).toEqual(['new']);
    expect(await readFile(join(view, 'var/log/dpkg.log'), 'utf8')).toBe('log');
    await unmount(view);

    // A container's writes go to an upper dir.
    const upper = join(base, 'upper');
    await mkdir(upper);
    const rw = await mount([l2, l1], upper);
    await unlink(join(rw, 'etc/issue'));
    await writeFile(join(rw, 'etc/hostname'), 'box');
    await writeFile(join(rw, 'usr/bin/tool'), 'v2');
    await rm(join(rw, 'var/log'), { recursive: true });
    await mkdir(join(rw, 'var/log'));
    await writeFile(join(rw, 'var/log/new.log'), 'new');
    await mkdir(join(rw, 'opt/app'), { recursive: true });
    const expected = await describeTree(rw, { dirMtimes: false });
    await unmount(rw);

    expect(await diffChanges(upper, [l2, l1])).toEqual([
      { Path: '/etc', Kind: 0 },
      { Path: '/etc/hostname', Kind: 1 },
      { Path: '/etc/issue', Kind: 2 },
      { Path: '/opt', Kind: 1 },
      { Path: '/opt/app', Kind: 1 },
      { Path: '/usr', Kind: 0 },
      { Path: '/usr/bin', Kind: 0 },
      { Path: '/usr/bin/tool', Kind: 0 },
      { Path: '/var', Kind: 0 },
      { Path: '/var/log', Kind: 0 },
      { Path: '/var/log/new.log', Kind: 1 },
    ]);

    // Commit: the upper dir as a layer, with OCI whiteouts.
    const { out, bytes } = collector();
    const { diffId, size } = await packDiff(upper, out);
    expect(size).toBe(bytes().length);
    expect(diffId).toMatch(/^sha256:[0-9a-f]{64}$/);
    const names = (await readTar(bytes())).map((e) => e.header.name);
    expect(names).toContain('etc/.wh.issue');
    expect(names).toContain('var/log/.wh..wh..opq');
    expect(names).not.toContain('etc/issue');

    const l3 = join(base, 'l3');
    await mkdir(l3);
    const unpacked = await unpackLayer(Readable.from([bytes()]), l3);
    expect(unpacked.diffId).toBe(diffId);
    const again = await mount([l3, l2, l1]);
    expect(await describeTree(again, { dirMtimes: false })).toEqual(expected);
    await unmount(again);
  });

  it('packTree of a merged view is a flat rootfs without whiteouts', async () => {
    const l1 = await layer('t1', [d('a/'), f('a/x', 'x'), f('a/y', 'y')]);
    const l2 = await layer('t2', [d('a/'), { header: { name: 'a/.wh.x', mtime: T } }]);
    const view = await mount([l2, l1]);
    const { out, bytes } = collector();
    await packTree(view, out);
    await unmount(view);
    expect((await readTar(bytes())).map((e) => e.header.name)).toEqual(['a/', 'a/y']);
  });
});
