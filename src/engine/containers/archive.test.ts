import { chmod, link, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileMode, hasModeBit } from '../../core/copypath.js';
import { InvalidArgument, NotFound } from '../../core/errors.js';
import { collector, makeTar, readTar, type TarEntry } from '../layers/test-helpers.js';
import { archivePath, containerUserIds, extractToDir, mkdirAllInScope, readContainerFile, statPath, type ExtractOptions } from './archive.js';
import type { MountPoint } from './types.js';
import { ContainerView } from './view.js';

let base: string;
let root: string;
let host: string;
let vol: string;

const T = new Date('2021-02-03T04:05:06Z');

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'berth-cp-'));
  root = join(base, 'root');
  host = join(base, 'host');
  vol = join(base, 'vol');
  await mkdir(join(root, 'etc'), { recursive: true });
  await mkdir(join(root, 'srv/dir/sub'), { recursive: true });
  await mkdir(host);
  await mkdir(vol);
  await writeFile(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n');
  await writeFile(join(root, 'etc/group'), 'root:x:0:\napp:x:1001:\n');
  await writeFile(join(root, 'srv/dir/a.txt'), 'A');
  await writeFile(join(root, 'srv/dir/sub/b.txt'), 'BB');
  await chmod(join(root, 'srv/dir/sub/b.txt'), 0o600);
  await symlink('a.txt', join(root, 'srv/dir/link'));
  await link(join(root, 'srv/dir/a.txt'), join(root, 'srv/dir/hard'));
  await utimes(join(root, 'srv/dir/a.txt'), T, T);
  await writeFile(join(host, 'passwd'), 'host secret\n');
  await writeFile(join(vol, 'v.txt'), 'volume');
  await symlink('/', join(root, 'out'));
  await symlink('../../..', join(root, 'up'));
  await symlink(host, join(root, 'hostdir')); // absolute host path: inside the container it names root/<path>
  await symlink('/srv/dir', join(root, 'dirlink'));
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

const bind = (Source: string, Destination: string, RW = true): MountPoint => ({ Type: 'bind', Source, Destination, Mode: '', RW, Propagation: 'rprivate' });

async function view(mounts: MountPoint[] = []): Promise<ContainerView> {
  return ContainerView.open({ root, mounts });
}

async function archive(path: string, mounts: MountPoint[] = []) {
  const { out, bytes } = collector();
  let statSeen: unknown;
  await archivePath(await view(mounts), path, 'c1', (s) => {
    statSeen = s;
    return out;
  });
  const entries = await readTar(bytes());
  return { stat: statSeen, entries, names: entries.map((e) => e.header.name), size: bytes().length };
}

async function extract(path: string, entries: TarEntry[] | Buffer, opts: Partial<ExtractOptions> = {}, mounts: MountPoint[] = []): Promise<void> {
  const buf = Buffer.isBuffer(entries) ? entries : await makeTar(entries);
  await extractToDir(await view(mounts), path, 'c1', Readable.from([buf]), { noOverwriteDirNonDir: true, readonlyRootfs: false, ...opts });
}

async function failure(p: Promise<unknown>): Promise<Error> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(Error);
  return e as Error;
}

async function hostUntouched(): Promise<void> {
  expect(await readdir(host)).toEqual(['passwd']);
  expect(await readFile(join(host, 'passwd'), 'utf8')).toBe('host secret\n');
}

describe('statPath', () => {
  it('stats files, directories and symlinks with Docker names and Go file modes', async () => {
    const v = await view();
    const f = await statPath(v, '/srv/dir/a.txt', 'c1');
    expect(f).toMatchObject({ name: 'a.txt', size: 1, mode: 0o644, linkTarget: '' });
    expect(f.mtime).toBe('2021-02-03T04:05:06Z');
    const d = await statPath(v, '/srv/dir/', 'c1');
    expect(d.name).toBe('dir');
    expect(hasModeBit(d.mode, FileMode.Dir)).toBe(true);
    expect((await statPath(v, '/srv/dir/.', 'c1')).name).toBe('.');
    expect((await statPath(v, '/', 'c1')).name).toBe('/');
    expect((await statPath(v, 'srv', 'c1')).name).toBe('srv');
    const l = await statPath(v, '/srv/dir/link', 'c1');
    expect(hasModeBit(l.mode, FileMode.Symlink)).toBe(true);
    expect(l.linkTarget).toBe('/srv/dir/a.txt');
  });

  it('resolves link targets inside the container', async () => {
    const v = await view();
    expect((await statPath(v, '/out', 'c1')).linkTarget).toBe('/');
    expect((await statPath(v, '/up', 'c1')).linkTarget).toBe('/');
    expect((await statPath(v, '/hostdir', 'c1')).linkTarget).toBe(host);
    // A path through a symlinked directory is the container's file.
    expect((await statPath(v, '/out/etc/passwd', 'c1')).size).toBe((await stat(join(root, 'etc/passwd'))).size);
    expect((await statPath(v, '/dirlink/', 'c1')).name).toBe('dirlink');
  });

  it('says what Docker says for missing paths and non-directories', async () => {
    const v = await view();
    const e = await failure(statPath(v, '/nope', 'c1'));
    expect(e).toBeInstanceOf(NotFound);
    expect(e.message).toBe('Could not find the file /nope in container c1');
    expect((await failure(statPath(v, '/nope/deeper/x', 'web'))).message).toBe('Could not find the file /nope/deeper/x in container web');
    const nd = await failure(statPath(v, '/etc/passwd/', 'c1'));
    expect(nd).toBeInstanceOf(InvalidArgument);
    expect(nd.message).toBe('lstat /etc/passwd/: not a directory');
    expect((await failure(statPath(v, '/etc/passwd/x', 'c1'))).message).toBe('lstat /etc/passwd/x: not a directory');
  });
});

describe('archivePath', () => {
  it('names entries as Docker does for dir, dir/., a file, a symlink and /', async () => {
    expect((await archive('/srv/dir')).names).toEqual(['dir/', 'dir/a.txt', 'dir/hard', 'dir/link', 'dir/sub/', 'dir/sub/b.txt']);
    expect((await archive('/srv/dir/')).names[0]).toBe('dir/');
    expect((await archive('/srv/dir/.')).names).toEqual(['./', './a.txt', './hard', './link', './sub/', './sub/b.txt']);
    expect((await archive('/srv/dir/a.txt')).names).toEqual(['a.txt']);
    const l = await archive('/srv/dir/link');
    expect(l.names).toEqual(['link']);
    expect(l.entries[0]?.header).toMatchObject({ type: 'symlink', linkname: 'a.txt' });
    const all = await archive('/');
    expect(all.names[0]).toBe('/');
    expect(all.names).toContain('/etc/passwd');
    // Following a directory symlink with a trailing slash keeps the requested name.
    expect((await archive('/dirlink/')).names[0]).toBe('dirlink/');
  });

  it('keeps contents, modes, owners, times, symlinks and hardlinks', async () => {
    const { entries, stat: s } = await archive('/srv/dir');
    const by = new Map(entries.map((e) => [e.header.name, e]));
    expect(by.get('dir/a.txt')?.body.toString()).toBe('A');
    expect(by.get('dir/a.txt')?.header.mtime?.getTime()).toBe(T.getTime());
    expect(by.get('dir/hard')?.header).toMatchObject({ type: 'link', linkname: 'dir/a.txt' });
    expect(by.get('dir/sub/b.txt')?.header.mode).toBe(0o600);
    expect(by.get('dir/sub/b.txt')?.body.toString()).toBe('BB');
    expect(by.get('dir/sub/b.txt')?.header.uid).toBe(process.getuid?.());
    expect((s as { name: string }).name).toBe('dir');
  });

  it('reads the container’s files through symlinks that point at / or above it, never the host’s', async () => {
    const a = await archive('/out/etc/passwd');
    expect(a.names).toEqual(['passwd']);
    expect(a.entries[0]?.body.toString()).toContain('app:x:1000');
    const b = await archive('/up/etc/passwd');
    expect(b.entries[0]?.body.toString()).toContain('root:x:0:0');
    await expect(archive('/hostdir/passwd')).rejects.toThrow(`Could not find the file /hostdir/passwd in container c1`);
  });

  it('includes mounts inside the archived directory, from their source', async () => {
    const { names, entries } = await archive('/srv', [bind(vol, '/srv/data')]);
    expect(names).toContain('srv/data/');
    expect(names).toContain('srv/data/v.txt');
    expect(entries.find((e) => e.header.name === 'srv/data/v.txt')?.body.toString()).toBe('volume');
    const one = await archive('/srv/data/v.txt', [bind(vol, '/srv/data')]);
    expect(one.entries[0]?.body.toString()).toBe('volume');
  });
});

describe('extractToDir', () => {
  it('extracts files, directories, symlinks and hardlinks with modes and times', async () => {
    await extract('/srv', [
      { header: { name: 'new/', type: 'directory', mode: 0o750, mtime: T } },
      { header: { name: 'new/f', mode: 0o640, mtime: T }, body: 'hello' },
      { header: { name: 'new/x', mode: 0o4755, mtime: T }, body: 'suid' },
      { header: { name: 'new/l', type: 'symlink', linkname: '/etc/passwd', mtime: T } },
      { header: { name: 'new/h', type: 'link', linkname: 'new/f', mtime: T } },
      { header: { name: 'implied/deep/file', mode: 0o644, mtime: T }, body: 'x' },
    ]);
    const d = join(root, 'srv/new');
    expect(await readFile(join(d, 'f'), 'utf8')).toBe('hello');
    expect((await stat(join(d, 'f'))).mode & 0o7777).toBe(0o640);
    expect((await stat(join(d, 'x'))).mode & 0o7777).toBe(0o4755);
    expect(await readlink(join(d, 'l'))).toBe('/etc/passwd');
    expect((await stat(join(d, 'h'))).ino).toBe((await stat(join(d, 'f'))).ino);
    expect((await stat(d)).mode & 0o777).toBe(0o750);
    expect((await stat(d)).mtime.getTime()).toBe(T.getTime());
    expect((await stat(join(d, 'f'))).mtime.getTime()).toBe(T.getTime());
    expect((await stat(join(root, 'srv/implied/deep'))).mode & 0o777).toBe(0o755);
  });

  it('accepts gzip-compressed archives and an empty body', async () => {
    await extract('/srv', gzipSync(await makeTar([{ header: { name: 'gz', mode: 0o644 }, body: 'zipped' }])));
    expect(await readFile(join(root, 'srv/gz'), 'utf8')).toBe('zipped');
    await extract('/srv', Buffer.alloc(0));
  });

  it('writes into the container when the destination is a symlink to / or above it', async () => {
    await extract('/out', [{ header: { name: 'f1', mode: 0o644 }, body: 'one' }]);
    await extract('/up', [{ header: { name: 'f2', mode: 0o644 }, body: 'two' }]);
    await extract('/out/etc', [{ header: { name: 'passwd', mode: 0o644 }, body: 'replaced' }]);
    expect(await readFile(join(root, 'f1'), 'utf8')).toBe('one');
    expect(await readFile(join(root, 'f2'), 'utf8')).toBe('two');
    expect(await readFile(join(root, 'etc/passwd'), 'utf8')).toBe('replaced');
    // A symlink naming a host directory leads to that path inside the container, which is missing.
    await expect(extract('/hostdir', [{ header: { name: 'x', mode: 0o644 }, body: 'x' }])).rejects.toThrow(NotFound);
    await hostUntouched();
  });

  it('resolves entry parents in the container: a symlinked parent redirects within it, never out', async () => {
    await extract('/', [
      { header: { name: 'out/etc/hostname', mode: 0o644 }, body: 'box\n' },
      { header: { name: 'up/up/tmp/x', mode: 0o644 }, body: 'x' },
      { header: { name: 'hostdir/passwd', mode: 0o644 }, body: 'pwned\n' },
    ]);
    expect(await readFile(join(root, 'etc/hostname'), 'utf8')).toBe('box\n');
    expect(await readFile(join(root, 'tmp/x'), 'utf8')).toBe('x');
    // /hostdir names a host path: inside the container that path is made, and written.
    expect(await readFile(join(root, host.slice(1), 'passwd'), 'utf8')).toBe('pwned\n');
    await hostUntouched();
    // An archive that plants a symlink and then writes through it stays inside too.
    await extract('/srv', [
      { header: { name: 'evil', type: 'symlink', linkname: host } },
      { header: { name: 'evil/passwd', mode: 0o644 }, body: 'pwned\n' },
      { header: { name: 'evil2', type: 'symlink', linkname: '../../../../../../../../..' + host } },
      { header: { name: 'evil2/passwd', mode: 0o644 }, body: 'pwned\n' },
    ]);
    expect(await readFile(join(root, host.slice(1), 'passwd'), 'utf8')).toBe('pwned\n');
    await hostUntouched();
  });

  it('replaces an existing symlink instead of writing through it', async () => {
    await symlink(join(host, 'passwd'), join(root, 'srv/trap'));
    await extract('/srv', [{ header: { name: 'trap', mode: 0o644 }, body: 'mine' }]);
    expect((await lstat(join(root, 'srv/trap'))).isFile()).toBe(true);
    expect(await readFile(join(root, 'srv/trap'), 'utf8')).toBe('mine');
    await hostUntouched();
  });

  it('refuses names that climb out of the destination', async () => {
    const e = await failure(extract('/srv', [{ header: { name: '../../etc/x', mode: 0o644 }, body: 'x' }]));
    expect(e).toBeInstanceOf(InvalidArgument);
    expect(e.message).toBe('"../../etc/x" is outside of "/srv"');
    const h = await failure(extract('/srv', [{ header: { name: 'h', type: 'link', linkname: '../etc/passwd' } }]));
    expect(h.message).toBe('"../etc/passwd" is outside of "/srv"');
    await expect(lstat(join(root, 'etc/x'))).rejects.toThrow();
  });

  it('keeps dirs and non-dirs apart with noOverwriteDirNonDir, replaces them without it', async () => {
    const a = await failure(extract('/srv', [{ header: { name: 'dir', mode: 0o644 }, body: 'f' }]));
    expect(a.message).toBe('cannot overwrite directory "/srv/dir" with non-directory "/srv"');
    const b = await failure(extract('/srv/dir', [{ header: { name: 'a.txt/', type: 'directory', mode: 0o755 } }]));
    expect(b.message).toBe('cannot overwrite non-directory "/srv/dir/a.txt" with directory "/srv/dir"');
    await extract('/srv', [{ header: { name: 'dir', mode: 0o644 }, body: 'f' }], { noOverwriteDirNonDir: false });
    expect(await readFile(join(root, 'srv/dir'), 'utf8')).toBe('f');
  });

  it('merges into an existing directory, replacing files', async () => {
    await extract('/srv', [
      { header: { name: 'dir/', type: 'directory', mode: 0o700, mtime: T } },
      { header: { name: 'dir/a.txt', mode: 0o644 }, body: 'new A' },
    ]);
    expect(await readFile(join(root, 'srv/dir/a.txt'), 'utf8')).toBe('new A');
    expect(await readFile(join(root, 'srv/dir/sub/b.txt'), 'utf8')).toBe('BB');
    expect((await stat(join(root, 'srv/dir'))).mode & 0o777).toBe(0o700);
  });

  it('checks the destination like Docker', async () => {
    const nf = await failure(extract('/nope', []));
    expect(nf).toBeInstanceOf(NotFound);
    expect(nf.message).toBe('Could not find the file /nope in container c1');
    const nd = await failure(extract('/etc/passwd', []));
    expect(nd.message).toBe('extraction point is not a directory');
    expect((await failure(extract('/srv', [], { readonlyRootfs: true }))).message).toBe('container rootfs is marked read-only');
    expect((await failure(extract('/data', [], {}, [bind(vol, '/data', false)]))).message).toBe('mounted volume is marked read-only');
    // A writable volume of a read-only container is fine.
    await extract('/data', [{ header: { name: 'w', mode: 0o644 }, body: 'w' }], { readonlyRootfs: true }, [bind(vol, '/data')]);
    expect(await readFile(join(vol, 'w'), 'utf8')).toBe('w');
    // Entries may not reach a read-only place by way of a symlink either.
    await symlink('/', join(vol, 'back'));
    const ro = await failure(extract('/data', [{ header: { name: 'back/etc/x', mode: 0o644 }, body: 'x' }], { readonlyRootfs: true }, [bind(vol, '/data')]));
    expect(ro.message).toBe('container rootfs is marked read-only');
  });

  it('writes below a mount point into the mount source, and never replaces the mount point', async () => {
    await extract('/srv', [{ header: { name: 'data/new.txt', mode: 0o644 }, body: 'to volume' }], {}, [bind(vol, '/srv/data')]);
    expect(await readFile(join(vol, 'new.txt'), 'utf8')).toBe('to volume');
    await expect(lstat(join(root, 'srv/data/new.txt'))).rejects.toThrow();
    const e = await failure(extract('/srv', [{ header: { name: 'data', mode: 0o644 }, body: 'x' }], { noOverwriteDirNonDir: false }, [bind(vol, '/srv/data')]));
    expect(e.message).toBe('cannot replace mount point "/srv/data"');
  });

  it('streams big files both ways, and lets a later entry of the same name win', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 17, 'z');
    big.write('start', 0);
    await writeFile(join(root, 'srv/big'), big);
    const { entries } = await archive('/srv/big');
    expect(entries[0]?.body.equals(big)).toBe(true);
    await extract('/srv/dir', [
      { header: { name: 'big', mode: 0o600 }, body: big.toString('latin1') },
      { header: { name: 'twice', mode: 0o644 }, body: 'first' },
      { header: { name: 'twice', mode: 0o644 }, body: 'second' },
      { header: { name: 'twice2', type: 'symlink', linkname: 'x' } },
      { header: { name: 'twice2', mode: 0o644 }, body: 'file now' },
    ]);
    expect((await readFile(join(root, 'srv/dir/big'))).equals(big)).toBe(true);
    expect(await readFile(join(root, 'srv/dir/twice'), 'utf8')).toBe('second');
    expect(await readFile(join(root, 'srv/dir/twice2'), 'utf8')).toBe('file now');
  });

  it('copies many files (reads ahead, writes in the background) exactly', async () => {
    const entries: TarEntry[] = [];
    for (let d = 0; d < 5; d++) {
      entries.push({ header: { name: `many/d${d}/`, type: 'directory', mode: 0o755, mtime: T } });
      for (let f = 0; f < 60; f++) entries.push({ header: { name: `many/d${d}/f${f}`, mode: 0o644, mtime: T }, body: `${d}-${f}` });
    }
    await extract('/srv', entries);
    const back = await archive('/srv/many');
    const files = back.entries.filter((e) => e.header.type === 'file');
    expect(files.length).toBe(300);
    for (const e of files) {
      const m = /^many\/d(\d)\/f(\d+)$/.exec(e.header.name);
      expect(e.body.toString()).toBe(`${m?.[1]}-${m?.[2]}`);
    }
    expect(back.names.slice(0, 3)).toEqual(['many/', 'many/d0/', 'many/d0/f0']);
  });

  it('rejects what is not a tar', async () => {
    const e = await failure(extract('/srv', Buffer.from('this is not a tar archive, not at all'.repeat(20))));
    expect(e).toBeInstanceOf(InvalidArgument);
  });
});

describe('mkdirAllInScope', () => {
  it('makes directories inside the container even through symlinks to the host’s paths', async () => {
    const v = await view();
    await mkdirAllInScope(v, '/hostdir/work/dir');
    await mkdirAllInScope(v, '/out/app/sub');
    await mkdirAllInScope(v, '/up/srv/dir/sub'); // exists already
    expect((await stat(join(root, host.slice(1), 'work/dir'))).isDirectory()).toBe(true);
    expect((await stat(join(root, 'app/sub'))).isDirectory()).toBe(true);
    await hostUntouched();
    await expect(mkdirAllInScope(v, '/etc/passwd/x')).rejects.toThrow('lstat /etc/passwd/x: not a directory');
  });
});

describe('container files and users', () => {
  it('reads /etc/passwd in the container’s scope and resolves users', async () => {
    const v = await view();
    expect(await readContainerFile(v, '/out/etc/group')).toContain('app:x:1001');
    expect(await readContainerFile(v, '/hostdir/passwd')).toBeUndefined();
    expect(await containerUserIds(v, 'app')).toEqual({ uid: 1000, gid: 1000 });
    expect(await containerUserIds(v, 'app:app')).toEqual({ uid: 1000, gid: 1001 });
    expect(await containerUserIds(v, '4242:99')).toEqual({ uid: 4242, gid: 99 });
    await expect(containerUserIds(v, 'nobody')).rejects.toThrow('unable to find user nobody');
  });
});

describe('descriptors', () => {
  it('are all released, on success and on failure', async () => {
    const count = async () => (await readdir('/proc/self/fd')).length;
    const settle = () => new Promise((r) => setTimeout(r, 30));
    await settle();
    const before = await count();
    const mounts = [bind(vol, '/srv/data')];
    for (let i = 0; i < 3; i++) {
      await archive('/', mounts);
      await archive('/srv/dir/a.txt');
      await statPath(await view(), '/out', 'c1');
      await statPath(await view(), '/srv/dir/', 'c1').catch(() => undefined);
      await statPath(await view(), '/nope', 'c1').catch(() => undefined);
      await extract('/srv', [
        { header: { name: `x${i}/`, type: 'directory', mode: 0o755 } },
        { header: { name: `x${i}/f`, mode: 0o644 }, body: 'f' },
        { header: { name: 'dir/a.txt', mode: 0o644 }, body: 'again' },
        { header: { name: 'data/v2', mode: 0o644 }, body: 'v' },
      ], {}, mounts);
      await extract('/srv', [{ header: { name: 'dir', mode: 0o644 }, body: 'x' }]).catch(() => undefined);
      await extract('/srv', [{ header: { name: '../x', mode: 0o644 }, body: 'x' }]).catch(() => undefined);
      await readContainerFile(await view(), '/etc/passwd');
    }
    await settle();
    expect(await count()).toBe(before);
  });
});
