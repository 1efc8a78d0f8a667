import { chmod, chown, link, lutimes, mkdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { packDiff, packTree, unpackLayer } from './index.js';
import { IS_ROOT, collector, describeTree, fakeWriter, readTar, sha256hex, tempDir } from './test-helpers.js';
import { mknod } from './whiteouts.js';

let base: string;
beforeEach(async () => {
  base = await tempDir();
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

const T1 = new Date('2019-05-06T07:08:09Z');
const T2 = new Date('2021-10-11T12:13:14Z');

/** A tree with most of what a rootfs has; owners and devices only as root. */
async function buildTree(root: string): Promise<void> {
  await mkdir(join(root, 'etc/ssl/certs'), { recursive: true });
  await mkdir(join(root, 'usr/bin'), { recursive: true });
  await mkdir(join(root, 'tmp'));
  await chmod(join(root, 'tmp'), 0o1777);
  await writeFile(join(root, 'etc/hostname'), 'box\n');
  await writeFile(join(root, 'etc/shadow'), 'root:*:1::::::\n', { mode: 0o640 });
  await writeFile(join(root, 'etc/empty'), '');
  await writeFile(join(root, 'usr/bin/su'), 'ELF su');
  await chmod(join(root, 'usr/bin/su'), 0o4755);
  await link(join(root, 'usr/bin/su'), join(root, 'usr/bin/su-hardlink'));
  await symlink('../usr/bin/su', join(root, 'etc/su-link'));
  await symlink('/etc/ssl/certs', join(root, 'certs'));
  const big = Buffer.alloc(2 * 1024 * 1024 + 3);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
  await writeFile(join(root, 'usr/big.bin'), big);
  const long = join(root, 'd'.repeat(110), 'e'.repeat(120));
  await mkdir(long, { recursive: true });
  await writeFile(join(long, 'f'.repeat(130)), 'long');
  await writeFile(join(root, 'héllo ✓'), 'unicode');
  if (IS_ROOT) {
    await writeFile(join(root, 'etc/noperm'), 'x');
    await chmod(join(root, 'etc/noperm'), 0o000);
    await chown(join(root, 'etc/shadow'), 0, 42);
    await chown(join(root, 'tmp'), 1000, 1000);
    await mknod(join(root, 'null'), 'c', 1, 3);
    await mknod(join(root, 'fifo'), 'p', 0, 0);
    await chown(join(root, 'etc/ssl'), 3000000, 3000001); // beyond ustar's octal fields: PAX
  }
  for (const p of ['etc/hostname', 'usr/bin/su', 'usr/big.bin', 'etc/ssl/certs', 'etc/ssl', 'etc', 'usr/bin', 'usr']) {
    await utimes(join(root, p), T1, T1);
  }
  await lutimes(join(root, 'certs'), T2, T2);
}

async function roundTrip(tar: Buffer): Promise<string> {
  const dest = join(base, `unpacked-${Math.random().toString(36).slice(2)}`);
  await mkdir(dest);
  await unpackLayer(Readable.from([tar]), dest, { whiteouts: fakeWriter() });
  return dest;
}

describe('packTree', () => {
  it('round-trips a tree through unpackLayer', async () => {
    const src = join(base, 'src');
    await mkdir(src);
    await buildTree(src);
    const { out, bytes } = collector();
    const { size } = await packTree(src, out);
    const tar = bytes();
    expect(size).toBe(tar.length);
    const dest = await roundTrip(tar);
    // Directory mtimes move when the tree is built: compare them separately.
    expect(await describeTree(dest)).toEqual(await describeTree(src));
    const names = (await readTar(tar)).map((e) => e.header.name);
    expect(names).not.toContain('./');
    expect(names[0]).toBe('certs');
    const hl = (await readTar(tar)).find((e) => e.header.name === 'usr/bin/su-hardlink');
    expect(hl?.header.type).toBe('link');
    expect(hl?.header.linkname).toBe('usr/bin/su');
  });

  it('puts entries under a prefix', async () => {
    const src = join(base, 'src');
    await mkdir(join(src, 'a'), { recursive: true });
    await writeFile(join(src, 'a/b'), 'b');
    await writeFile(join(src, 'c'), 'c');
    await link(join(src, 'c'), join(src, 'a/c2'));
    const { out, bytes } = collector();
    await packTree(src, out, { prefix: '/rootfs/' });
    const entries = await readTar(bytes());
    expect(entries.map((e) => `${e.header.type} ${e.header.name}`)).toEqual([
      'directory rootfs/',
      'directory rootfs/a/',
      'file rootfs/a/b',
      'file rootfs/a/c2',
      'link rootfs/c',
    ]);
    expect(entries[4]?.header.linkname).toBe('rootfs/a/c2');
  });

  it('ends the output stream and reports errors of unreadable trees', async () => {
    const { out } = collector();
    await expect(packTree(join(base, 'missing'), out)).rejects.toThrow();
    const ok = collector();
    await mkdir(join(base, 'empty'));
    const { size } = await packTree(join(base, 'empty'), ok.out);
    expect(size).toBe(1024);
    expect(ok.out.writableEnded).toBe(true);
  });
});

describe('packDiff', () => {
  it('writes opaque markers (from the reader) and hashes what it wrote', async () => {
    const upper = join(base, 'upper');
    await mkdir(join(upper, 'var/cache/apt'), { recursive: true });
    await writeFile(join(upper, 'var/cache/apt/pkgcache.bin'), 'cache');
    await writeFile(join(upper, 'new'), 'new file');
    let asked: string[] = [];
    const readOpaque = async (dirs: string[]) => {
      asked = dirs;
      return new Set([join(upper, 'var/cache')]);
    };
    const { out, bytes } = collector();
    const res = await packDiff(upper, out, { readOpaque });
    const tar = bytes();
    expect(res.size).toBe(tar.length);
    expect(res.diffId).toBe(`sha256:${sha256hex(tar)}`);
    expect(asked.sort()).toEqual([join(upper, 'var'), join(upper, 'var/cache'), join(upper, 'var/cache/apt')]);
    const entries = await readTar(tar);
    expect(entries.map((e) => e.header.name)).toEqual([
      'new',
      'var/',
      'var/cache/',
      'var/cache/.wh..wh..opq',
      'var/cache/apt/',
      'var/cache/apt/pkgcache.bin',
    ]);
    const opq = entries[3]?.header;
    expect(opq?.type).toBe('file');
    expect(opq?.size).toBe(0);

    // Unpacking it gives the marker back to the writer.
    const writer = fakeWriter();
    const dest = join(base, 'dest');
    await mkdir(dest);
    await unpackLayer(Readable.from([tar]), dest, { whiteouts: writer });
    expect(writer.calls).toEqual([{ whiteouts: [], opaqueDirs: [join(dest, 'var/cache')] }]);
  });

  it.skipIf(!IS_ROOT)('turns char devices 0:0 into .wh. entries and keeps real devices', async () => {
    const upper = join(base, 'upper');
    await mkdir(join(upper, 'etc'), { recursive: true });
    await mknod(join(upper, 'etc/motd'), 'c', 0, 0);
    await mknod(join(upper, 'gone-dir'), 'c', 0, 0);
    await mknod(join(upper, 'etc/null'), 'c', 1, 3);
    await chown(join(upper, 'etc/motd'), 5, 6);
    const { out, bytes } = collector();
    await packDiff(upper, out, { readOpaque: async () => new Set() });
    const entries = await readTar(bytes());
    expect(entries.map((e) => `${e.header.type} ${e.header.name}`)).toEqual([
      'directory etc/',
      'file etc/.wh.motd',
      'character-device etc/null',
      'file .wh.gone-dir',
    ]);
    const wh = entries[1]?.header;
    expect([wh?.size, wh?.mode, wh?.uid, wh?.gid]).toEqual([0, 0o600, 5, 6]);
    expect([entries[2]?.header.devmajor, entries[2]?.header.devminor]).toEqual([1, 3]);

    const writer = fakeWriter();
    const dest = join(base, 'dest');
    await mkdir(dest);
    await unpackLayer(Readable.from([bytes()]), dest, { whiteouts: writer });
    expect(writer.calls).toEqual([{ whiteouts: [join(dest, 'etc/motd'), join(dest, 'gone-dir')], opaqueDirs: [] }]);
  });

  it('round-trips a whole upper dir (without whiteouts) like packTree', async () => {
    const upper = join(base, 'upper');
    await mkdir(upper);
    await buildTree(upper);
    if (IS_ROOT) await rm(join(upper, 'null')); // a real device is fine, but not a whiteout
    const { out, bytes } = collector();
    await packDiff(upper, out, { readOpaque: async () => new Set() });
    const dest = await roundTrip(bytes());
    expect(await describeTree(dest)).toEqual(await describeTree(upper));
  });
});
