import { chmod, lstat, mkdir, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { spawnSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidArgument } from '../../core/errors.js';
import { unpackLayer } from './index.js';
import { IS_ROOT, fakeWriter, makeTar, sha256hex, tempDir, type TarEntry } from './test-helpers.js';

let base: string;
let dest: string;
let outside: string;
/** Whether `unpack` writes with blocking calls (set by the suites below). */
let blocking = false;

beforeEach(async () => {
  base = await tempDir();
  dest = join(base, 'dest');
  outside = join(base, 'outside');
  await mkdir(dest);
  await mkdir(outside);
  await writeFile(join(outside, 'passwd'), 'root:x:0:0\n');
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

const HAS_ZSTD = spawnSync('zstd', ['--version']).status === 0;
const T = new Date('2020-01-02T03:04:05Z');
const TS = T.getTime() / 1000;

async function unpack(entries: TarEntry[] | Buffer, opts: { writer?: ReturnType<typeof fakeWriter> } = {}) {
  const buf = Buffer.isBuffer(entries) ? entries : await makeTar(entries);
  const writer = opts.writer ?? fakeWriter();
  const res = await unpackLayer(Readable.from([buf]), dest, { whiteouts: writer, blocking });
  return { res, buf, writer };
}

/** Asserts an InvalidArgument with the message, and that nothing leaked outside dest. */
async function rejects(entries: TarEntry[], message: string | RegExp): Promise<void> {
  const before = await readdir(outside);
  const err = await unpack(entries).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InvalidArgument);
  if (typeof message === 'string') expect((err as Error).message).toBe(message);
  else expect((err as Error).message).toMatch(message);
  expect(await readdir(outside)).toEqual(before);
  expect(await readFile(join(outside, 'passwd'), 'utf8')).toBe('root:x:0:0\n');
  await expect(lstat(join(base, 'x'))).rejects.toThrow();
}

function entriesSuite(): void {
  it('unpacks files, dirs, modes, mtimes, symlinks and hardlinks; diffId is the tar digest', async () => {
    const { res, buf } = await unpack([
      { header: { name: 'etc/', type: 'directory', mode: 0o755, mtime: T } },
      { header: { name: 'etc/hostname', mode: 0o644, mtime: T }, body: 'box\n' },
      { header: { name: 'etc/shadow', mode: 0o640, mtime: T }, body: 'secret' },
      { header: { name: './usr/bin/su', mode: 0o4755, mtime: T }, body: 'ELF' },
      { header: { name: '/tmp/', type: 'directory', mode: 0o1777, mtime: T } },
      { header: { name: 'ro', mode: 0o400, mtime: T }, body: 'r' },
      { header: { name: 'lib', type: 'symlink', linkname: 'usr/lib', mtime: T } },
      { header: { name: 'abs', type: 'symlink', linkname: '/etc/hostname', mtime: T } },
      { header: { name: 'usr/bin/su2', type: 'link', linkname: 'usr/bin/su', mtime: T } },
      { header: { name: 'empty', mtime: T } },
    ]);
    expect(res.diffId).toBe(`sha256:${sha256hex(buf)}`);
    expect(res.size).toBe(buf.length);
    expect(res.entries).toBe(10);
    // What `du --apparent-size` of the files would say, hardlinks once: Docker's layer size.
    expect(res.contentSize).toBe('box\n'.length + 'secret'.length + 'ELF'.length + 'r'.length + 'usr/lib'.length + '/etc/hostname'.length);

    expect(await readFile(join(dest, 'etc/hostname'), 'utf8')).toBe('box\n');
    const mode = async (p: string) => ((await lstat(join(dest, p))).mode & 0o7777).toString(8);
    expect(await mode('etc')).toBe('755');
    expect(await mode('etc/hostname')).toBe('644');
    expect(await mode('etc/shadow')).toBe('640');
    expect(await mode('usr/bin/su')).toBe('4755');
    expect(await mode('tmp')).toBe('1777');
    expect(await mode('ro')).toBe('400');
    expect(await readlink(join(dest, 'lib'))).toBe('usr/lib');
    expect(await readlink(join(dest, 'abs'))).toBe('/etc/hostname');
    const su = await lstat(join(dest, 'usr/bin/su'));
    const su2 = await lstat(join(dest, 'usr/bin/su2'));
    expect(su2.ino).toBe(su.ino);
    expect(su.nlink).toBe(2);
    expect((await stat(join(dest, 'empty'))).size).toBe(0);
    for (const p of ['etc', 'etc/hostname', 'tmp', 'usr/bin/su', 'lib', 'empty']) {
      expect((await lstat(join(dest, p))).mtimeMs / 1000, p).toBe(TS);
    }
  });

  it.skipIf(!IS_ROOT)('sets owners from the header (lchown, symlinks included)', async () => {
    await unpack([
      { header: { name: 'home/', type: 'directory', uid: 1000, gid: 1000 } },
      { header: { name: 'home/f', uid: 1000, gid: 1001, mode: 0o2755 }, body: 'x' },
      { header: { name: 'home/l', type: 'symlink', linkname: '/nowhere', uid: 33, gid: 34 } },
      { header: { name: 'big-id', uid: 165536, gid: 165537 }, body: 'x' },
    ]);
    const own = async (p: string) => {
      const st = await lstat(join(dest, p));
      return `${st.uid}:${st.gid}`;
    };
    expect(await own('home')).toBe('1000:1000');
    expect(await own('home/f')).toBe('1000:1001');
    expect(await own('home/l')).toBe('33:34');
    expect(await own('big-id')).toBe('165536:165537');
    // chown clears setgid: the mode is applied after it.
    expect((await lstat(join(dest, 'home/f'))).mode & 0o7777).toBe(0o2755);
  });

  it('takes uid, gid and mtime from PAX records', async () => {
    const pax = { uid: '3000000', gid: '3000001', mtime: '1600000000.5' };
    await unpack([{ header: { name: 'f', uid: 1, gid: 1, mtime: T, pax } as TarEntry['header'], body: 'x' }]);
    const st = await lstat(join(dest, 'f'));
    expect(st.mtimeMs).toBe(1600000000500);
    if (IS_ROOT) expect(`${st.uid}:${st.gid}`).toBe('3000000:3000001');
  });

  it('unpacks long (PAX) and non-ASCII names and long symlink targets', async () => {
    const long = `${'d'.repeat(120)}/${'e'.repeat(120)}/${'f'.repeat(150)}`;
    const target = `/${'t'.repeat(200)}`;
    await unpack([
      { header: { name: long }, body: 'deep' },
      { header: { name: 'héllo wörld ✓' }, body: 'utf8' },
      { header: { name: 'longlink', type: 'symlink', linkname: target } },
    ]);
    expect(await readFile(join(dest, long), 'utf8')).toBe('deep');
    expect(await readFile(join(dest, 'héllo wörld ✓'), 'utf8')).toBe('utf8');
    expect(await readlink(join(dest, 'longlink'))).toBe(target);
  });

  it('sets directory mtimes after their content is written, deepest first', async () => {
    const t1 = new Date('2001-01-01T00:00:00Z');
    const t2 = new Date('2002-02-02T00:00:00Z');
    await unpack([
      { header: { name: 'a/', type: 'directory', mtime: t1 } },
      { header: { name: 'a/b/', type: 'directory', mtime: t2 } },
      { header: { name: 'a/b/c', mtime: t2 }, body: 'c' },
      { header: { name: 'a/z', mtime: t2 }, body: 'z' },
      { header: { name: 'ro/', type: 'directory', mode: 0o555, mtime: t1 } },
      { header: { name: 'ro/inside', mtime: t1 }, body: 'x' },
    ]);
    expect((await lstat(join(dest, 'a'))).mtimeMs).toBe(t1.getTime());
    expect((await lstat(join(dest, 'a/b'))).mtimeMs).toBe(t2.getTime());
    expect((await lstat(join(dest, 'ro'))).mode & 0o777).toBe(0o555);
    expect(await readFile(join(dest, 'ro/inside'), 'utf8')).toBe('x');
    await chmod(join(dest, 'ro'), 0o755); // so that a non-root run can clean up
  });

  it('creates missing parent directories', async () => {
    await unpack([{ header: { name: 'x/y/z/file' }, body: 'deep' }]);
    expect(await readFile(join(dest, 'x/y/z/file'), 'utf8')).toBe('deep');
    expect((await lstat(join(dest, 'x/y'))).isDirectory()).toBe(true);
  });

  it('streams big files and keeps many small ones right', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
    const small: TarEntry[] = [];
    for (let i = 0; i < 300; i++) small.push({ header: { name: `many/${i}` }, body: `file ${i}` });
    await unpack([{ header: { name: 'big' }, body: big }, ...small]);
    expect(sha256hex(await readFile(join(dest, 'big')))).toBe(sha256hex(big));
    expect((await readdir(join(dest, 'many'))).length).toBe(300);
    expect(await readFile(join(dest, 'many/299'), 'utf8')).toBe('file 299');
  });

  it('lets later entries win: file over file, dir over file, file over dir, dir over dir', async () => {
    const writer = fakeWriter();
    const { res } = await unpack(
      [
        { header: { name: 'f' }, body: 'first' },
        { header: { name: 'f' }, body: 'second' },
        { header: { name: 'x' }, body: 'file' },
        { header: { name: 'x/', type: 'directory' } },
        { header: { name: 'x/in' }, body: 'in' },
        { header: { name: 'd/', type: 'directory', mode: 0o700 } },
        { header: { name: 'd/sub/.wh.gone' } },
        { header: { name: 'd/old' }, body: 'old' },
        { header: { name: 'd' }, body: 'now a file' },
        { header: { name: 'k/', type: 'directory', mode: 0o700 } },
        { header: { name: 'k/keep' }, body: 'kept' },
        { header: { name: 'k/', type: 'directory', mode: 0o751 } },
        { header: { name: 's', type: 'symlink', linkname: '/etc' } },
        { header: { name: 's' }, body: 'not a link' },
      ],
      { writer },
    );
    expect(await readFile(join(dest, 'f'), 'utf8')).toBe('second');
    expect(await readFile(join(dest, 'x/in'), 'utf8')).toBe('in');
    // The size Docker reports counts what is left: f, x/in, d (not d/old), k/keep, s.
    expect(res.contentSize).toBe('second'.length + 'in'.length + 'now a file'.length + 'kept'.length + 'not a link'.length);
    expect(await readFile(join(dest, 'd'), 'utf8')).toBe('now a file');
    expect(await readFile(join(dest, 'k/keep'), 'utf8')).toBe('kept');
    expect((await lstat(join(dest, 'k'))).mode & 0o777).toBe(0o751);
    expect((await lstat(join(dest, 's'))).isFile()).toBe(true);
    // The whiteout recorded under the replaced directory is dropped with it.
    expect(writer.calls).toEqual([]);
  });

  it('skips the root entry', async () => {
    await unpack([
      { header: { name: './', type: 'directory', mode: 0o700 } },
      { header: { name: './a' }, body: 'a' },
    ]);
    expect(await readFile(join(dest, 'a'), 'utf8')).toBe('a');
    expect((await lstat(dest)).mode & 0o777).not.toBe(0o700);
  });

  it.skipIf(!IS_ROOT)('creates char/block devices and fifos with mknod', async () => {
    await unpack([
      { header: { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 } },
      { header: { name: 'dev/loop9', type: 'block-device', devmajor: 7, devminor: 9, mode: 0o660, gid: 6 } },
      { header: { name: 'run/fifo', type: 'fifo', mode: 0o620 } },
    ]);
    const nul = await lstat(join(dest, 'dev/null'));
    expect(nul.isCharacterDevice()).toBe(true);
    expect(nul.rdev).toBe((1 << 8) | 3);
    expect(nul.mode & 0o777).toBe(0o666);
    const loop = await lstat(join(dest, 'dev/loop9'));
    expect(loop.isBlockDevice()).toBe(true);
    expect(loop.gid).toBe(6);
    const fifo = await lstat(join(dest, 'run/fifo'));
    expect(fifo.isFIFO()).toBe(true);
    expect(fifo.mode & 0o777).toBe(0o620);
  });

  it('rejects entry types it cannot represent', async () => {
    const buf = await makeTar([{ header: { name: 'f' }, body: 'x' }]);
    // Turn the typeflag into 'S' (GNU sparse) and fix the header checksum.
    buf[156] = 'S'.charCodeAt(0);
    buf.fill(0x20, 148, 156);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += buf[i] as number;
    buf.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    await expect(unpack(buf)).rejects.toThrow(/unsupported type/);
  });
}

describe('unpackLayer: compression and input', () => {
  const entries: TarEntry[] = [
    { header: { name: 'a/', type: 'directory' } },
    { header: { name: 'a/b' }, body: 'hello' },
  ];

  it('detects gzip by magic and hashes the uncompressed stream', async () => {
    const plain = await makeTar(entries);
    const { res } = await unpack(gzipSync(plain));
    expect(res.diffId).toBe(`sha256:${sha256hex(plain)}`);
    expect(res.size).toBe(plain.length);
    expect(await readFile(join(dest, 'a/b'), 'utf8')).toBe('hello');
  });

  it('accepts any AsyncIterable, with the magic split over chunks', async () => {
    const gz = gzipSync(await makeTar(entries));
    async function* bytewise() {
      for (let i = 0; i < 6; i++) yield gz.subarray(i, i + 1);
      yield gz.subarray(6);
    }
    const res = await unpackLayer(bytewise(), dest, { whiteouts: fakeWriter() });
    expect(res.entries).toBe(2);
    expect(await readFile(join(dest, 'a/b'), 'utf8')).toBe('hello');
  });

  it.skipIf(!HAS_ZSTD)('unpacks zstd layers through the zstd program; the diffId is the plain tar digest', async () => {
    const tarBuf = await makeTar([{ header: { name: 'a/b', mode: 0o644, mtime: T }, body: 'zstd says hi' }]);
    const compressed = spawnSync('zstd', ['-q', '-c'], { input: tarBuf }).stdout;
    expect(compressed.subarray(0, 4)).toEqual(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]));
    const res = await unpackLayer(Readable.from([compressed]), dest, { whiteouts: fakeWriter() });
    expect(res.diffId).toBe(`sha256:${sha256hex(tarBuf)}`);
    expect(await readFile(join(dest, 'a/b'), 'utf8')).toBe('zstd says hi');
  });

  it('uses the zstd decompressor it is given, and rejects a corrupt zstd stream', async () => {
    const tarBuf = await makeTar([{ header: { name: 'f', mode: 0o644, mtime: T }, body: 'x' }]);
    const seen: number[] = [];
    const fake = async function* (input: AsyncIterable<Buffer>) {
      for await (const c of input) seen.push(c.length);
      yield tarBuf;
    };
    const magic = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(10)]);
    const res = await unpackLayer(Readable.from([magic]), dest, { whiteouts: fakeWriter(), zstd: fake });
    expect(res.diffId).toBe(`sha256:${sha256hex(tarBuf)}`);
    expect(seen.reduce((a, b) => a + b, 0)).toBe(14);
    if (HAS_ZSTD) {
      await rm(dest, { recursive: true, force: true });
      await mkdir(dest);
      const err = await unpack(Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(100)])).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidArgument);
      expect((err as Error).message).toMatch(/^invalid layer: zstd: /);
    }
  });

  it('rejects a truncated tar', async () => {
    const buf = await makeTar([{ header: { name: 'f' }, body: Buffer.alloc(5000, 1) }]);
    const err = await unpack(buf.subarray(0, 2000)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgument);
    expect((err as Error).message).toMatch(/^invalid layer tar: /);
  });

  it('rejects a tar cut short inside a file after slow entries, without an uncaught error', async () => {
    // The daemon once died here: the entry's own stream errored with no listener.
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown) => uncaught.push(e);
    process.on('uncaughtException', onUncaught);
    try {
      const dirs = ['a/', 'a/b/', 'a/b/c/', 'a/b/c/d/'].map((name) => ({ header: { name, type: 'directory' as const, mode: 0o755 } }));
      const whole = await makeTar([...dirs, { header: { name: 'a/b/c/d/big.bin', mode: 0o644 }, body: Buffer.alloc(5000, 3) }]);
      const err = await unpack(whole.subarray(0, 5 * 512 + 540)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidArgument);
      expect((err as Error).message).toMatch(/^invalid layer tar: /);
      await new Promise((r) => setTimeout(r, 50));
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });

  it('rejects a truncated gzip stream', async () => {
    const gz = gzipSync(await makeTar([{ header: { name: 'f' }, body: Buffer.alloc(50000, 7) }]));
    const err = await unpack(gz.subarray(0, gz.length - 30)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgument);
    expect((err as Error).message).toMatch(/^invalid layer tar: /);
  });

  it('rejects garbage', async () => {
    const err = await unpack(Buffer.alloc(1024, 0x41)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgument);
    expect((err as Error).message).toMatch(/^invalid layer tar: /);
  });

  it('stops on abort', async () => {
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await expect(unpackLayer(Readable.from([Buffer.alloc(1024)]), dest, { signal: ac.signal })).rejects.toThrow('stop');
    const ac2 = new AbortController();
    async function* slow() {
      yield await makeTar([{ header: { name: 'a' }, body: 'a' }]).then((b) => b.subarray(0, 512));
      ac2.abort(new Error('stopped midway'));
      await new Promise((r) => setTimeout(r, 10));
      yield Buffer.alloc(512);
    }
    await expect(unpackLayer(slow(), dest, { signal: ac2.signal, whiteouts: fakeWriter() })).rejects.toThrow(
      'stopped midway',
    );
  });
});

describe('unpackLayer: whiteouts', () => {
  it('batches whiteouts and opaque markers into one writer call at the end', async () => {
    const writer = fakeWriter();
    const { res } = await unpack(
      [
        { header: { name: '.wh.gone' } },
        { header: { name: 'etc/.wh.motd' } },
        { header: { name: 'var/cache/', type: 'directory' } },
        { header: { name: 'var/cache/.wh..wh..opq' } },
        { header: { name: 'var/cache/fresh' }, body: 'new' },
        { header: { name: 'new/dir/.wh..wh..opq' } },
        { header: { name: '.wh..wh.plnk/', type: 'directory' } },
        { header: { name: '.wh.back' } },
        { header: { name: 'back' }, body: 're-added' },
      ],
      { writer },
    );
    expect(res.entries).toBe(9);
    expect(writer.calls).toEqual([
      {
        whiteouts: [join(dest, '.wh.gone'.slice(4)), join(dest, 'etc/motd')].sort(),
        opaqueDirs: [join(dest, 'new/dir'), join(dest, 'var/cache')],
      },
    ]);
    // Nothing of the markers lands on disk; parents of whiteouts exist.
    expect((await readdir(dest)).sort()).toEqual(['back', 'etc', 'new', 'var']);
    expect(await readdir(join(dest, 'etc'))).toEqual([]);
    expect(await readFile(join(dest, 'var/cache/fresh'), 'utf8')).toBe('new');
  });

  it('a whiteout after an entry of the same layer removes it', async () => {
    const writer = fakeWriter();
    await unpack(
      [
        { header: { name: 'tmp/x/', type: 'directory' } },
        { header: { name: 'tmp/x/y' }, body: 'y' },
        { header: { name: 'tmp/.wh.x' } },
      ],
      { writer },
    );
    expect(await readdir(join(dest, 'tmp'))).toEqual([]);
    expect(writer.calls).toEqual([{ whiteouts: [join(dest, 'tmp/x')], opaqueDirs: [] }]);
  });

  it('does not call the writer when there is nothing to do', async () => {
    const writer = fakeWriter();
    await unpack([{ header: { name: 'a' }, body: 'a' }], { writer });
    expect(writer.calls).toEqual([]);
  });

  it('rejects whiteouts through symlinks and malformed whiteout names', async () => {
    await rejects(
      [
        { header: { name: 'evil', type: 'symlink', linkname: '/' } },
        { header: { name: 'evil/etc/.wh.passwd' } },
      ],
      'layer entry "evil/etc/.wh.passwd" goes through symlink "evil"',
    );
    await rejects([{ header: { name: 'a/.wh..' } }], /invalid whiteout/);
  });
});

function securitySuite(): void {
  it('rejects names escaping the root', async () => {
    await rejects([{ header: { name: '../etc/passwd' }, body: 'pwned' }], 'layer entry "../etc/passwd" escapes the root');
    await rejects([{ header: { name: 'a/../../x' }, body: 'pwned' }], 'layer entry "a/../../x" escapes the root');
    await rejects([{ header: { name: '/../x' }, body: 'pwned' }], 'layer entry "/../x" escapes the root');
    await rejects([{ header: { name: '../x/', type: 'directory' } }], 'layer entry "../x/" escapes the root');
    await rejects(
      [{ header: { name: '..', type: 'symlink', linkname: '/' } }],
      'layer entry ".." escapes the root',
    );
  });

  it('accepts .. that stays inside the root', async () => {
    await unpack([{ header: { name: 'a/b/../c' }, body: 'c' }]);
    expect(await readFile(join(dest, 'a/c'), 'utf8')).toBe('c');
  });

  it('never writes through a symlink to /', async () => {
    await rejects(
      [
        { header: { name: 'evil', type: 'symlink', linkname: '/' } },
        { header: { name: 'evil/etc/x' }, body: 'pwned' },
      ],
      'layer entry "evil/etc/x" goes through symlink "evil"',
    );
  });

  it('never writes through a symlink to ..', async () => {
    await rejects(
      [
        { header: { name: 'up', type: 'symlink', linkname: '..' } },
        { header: { name: 'up/x' }, body: 'pwned' },
      ],
      'layer entry "up/x" goes through symlink "up"',
    );
    await rejects(
      [
        { header: { name: 'a/', type: 'directory' } },
        { header: { name: 'a/up', type: 'symlink', linkname: '../..' } },
        { header: { name: 'a/up/x/', type: 'directory' } },
      ],
      'layer entry "a/up/x/" goes through symlink "a/up"',
    );
  });

  it('rejects hardlinks escaping the root or going through symlinks', async () => {
    await rejects(
      [{ header: { name: 'pw', type: 'link', linkname: '../../etc/passwd' } }],
      'layer entry "pw": hardlink target "../../etc/passwd" escapes the root',
    );
    await rejects(
      [
        { header: { name: 'evil', type: 'symlink', linkname: join(outside) } },
        { header: { name: 'pw', type: 'link', linkname: 'evil/passwd' } },
      ],
      'layer entry "pw" links through symlink "evil"',
    );
  });

  it('rejects hardlinks to missing targets and directories', async () => {
    await rejects(
      [{ header: { name: 'pw', type: 'link', linkname: 'etc/passwd' } }],
      'layer entry "pw": hardlink target "etc/passwd" does not exist in the layer',
    );
    await rejects(
      [
        { header: { name: 'd/', type: 'directory' } },
        { header: { name: 'l', type: 'link', linkname: 'd' } },
      ],
      'layer entry "l": hardlink target "d" is a directory',
    );
  });

  it('a hardlink to a symlink links the symlink itself, never its target', async () => {
    await unpack([
      { header: { name: 'evil', type: 'symlink', linkname: join(outside, 'passwd') } },
      { header: { name: 'hl', type: 'link', linkname: 'evil' } },
    ]);
    const st = await lstat(join(dest, 'hl'));
    expect(st.isSymbolicLink()).toBe(true);
    expect((await lstat(join(outside, 'passwd'))).nlink).toBe(1);
  });

  it('does not write through a symlink that was already in a non-empty destination', async () => {
    await symlink(outside, join(dest, 'pre'));
    await rejects([{ header: { name: 'pre/x' }, body: 'pwned' }], 'layer entry "pre/x" goes through symlink "pre"');
  });

  it('replaces (not follows) a symlink at the final component', async () => {
    await unpack([
      { header: { name: 'pw', type: 'symlink', linkname: join(outside, 'passwd') } },
      { header: { name: 'pw' }, body: 'overwritten?' },
    ]);
    expect(await readFile(join(outside, 'passwd'), 'utf8')).toBe('root:x:0:0\n');
    expect(await readFile(join(dest, 'pw'), 'utf8')).toBe('overwritten?');
  });
}

// Each suite twice: small files and symlinks written through the thread pool (the daemon)
// and with blocking calls (the unpack process, unpack-process.ts).
for (const mode of ['thread pool', 'blocking'] as const) {
  describe(`unpackLayer: entries (${mode})`, () => {
    beforeEach(() => void (blocking = mode === 'blocking'));
    entriesSuite();
  });
  describe(`unpackLayer: security (${mode})`, () => {
    beforeEach(() => void (blocking = mode === 'blocking'));
    securitySuite();
  });
}
