import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { splitCpArg } from './commands/cp.js';
import { copyInfoDestinationPath, copyInfoSourcePath, copyTo, prepareArchiveCopy, rebaseArchiveEntries, resolveLocalPath, tarResource, untar, validateOutputPath } from './cp-archive.js';

type Header = Parameters<tar.Pack['entry']>[0];

async function makeTar(entries: { header: Header; body?: string }[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(c as Buffer);
  })();
  for (const e of entries) {
    await new Promise<void>((res, rej) => {
      const cb = (err?: Error | null): void => (err ? rej(err) : res());
      if (e.body !== undefined || (e.header.type ?? 'file') === 'file') pack.entry(e.header, e.body ?? '', cb);
      else pack.entry(e.header, cb);
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

async function names(stream: NodeJS.ReadableStream): Promise<string[]> {
  const extract = tar.extract();
  stream.pipe(extract);
  const out: string[] = [];
  for await (const e of extract) {
    out.push(e.header.name);
    e.resume();
  }
  return out;
}

let base: string;
let src: string;
let dst: string;
let outside: string;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'berth-cpcli-'));
  src = join(base, 'src');
  dst = join(base, 'dst');
  outside = join(base, 'outside');
  await mkdir(join(src, 'tree/sub'), { recursive: true });
  await mkdir(dst);
  await mkdir(outside);
  await writeFile(join(src, 'tree/a'), 'A');
  await writeFile(join(src, 'tree/sub/b'), 'B');
  await chmod(join(src, 'tree/sub/b'), 0o640);
  await chmod(join(src, 'tree/sub'), 0o750);
  await symlink('a', join(src, 'tree/la'));
  await symlink('tree', join(src, 'treelink'));
  await utimes(join(src, 'tree/a'), new Date('2020-05-06T07:08:09Z'), new Date('2020-05-06T07:08:09Z'));
});
afterEach(async () => {
  await chmod(join(src, 'tree/sub'), 0o755).catch(() => undefined);
  await rm(base, { recursive: true, force: true });
});

describe('splitCpArg', () => {
  it('splits CONTAINER:PATH the docker way', () => {
    expect(splitCpArg('c1:/etc')).toEqual(['c1', '/etc']);
    expect(splitCpArg('c1:')).toEqual(['c1', '']);
    expect(splitCpArg('/abs:file')).toEqual(['', '/abs:file']);
    expect(splitCpArg('./rel:file')).toEqual(['', './rel:file']);
    expect(splitCpArg('file')).toEqual(['', 'file']);
    expect(splitCpArg('-')).toEqual(['', '-']);
    expect(splitCpArg('c1:a:b')).toEqual(['c1', 'a:b']);
  });
});

describe('describing local paths', () => {
  it('resolveLocalPath keeps a trailing / and /.', () => {
    expect(resolveLocalPath('/a/b/')).toBe('/a/b/');
    expect(resolveLocalPath('/a/b/.')).toBe('/a/b/.');
    expect(resolveLocalPath('/a/../b')).toBe('/b');
    expect(resolveLocalPath('rel')).toBe(join(process.cwd(), 'rel'));
  });

  it('copyInfoSourcePath resolves the parent, and the link itself with followLink', async () => {
    expect(await copyInfoSourcePath(join(src, 'treelink'), false)).toEqual({ path: join(src, 'treelink'), exists: true, isDir: false, rebaseName: '' });
    expect(await copyInfoSourcePath(join(src, 'treelink'), true)).toEqual({ path: join(src, 'tree'), exists: true, isDir: true, rebaseName: 'treelink' });
    expect(await copyInfoSourcePath(`${join(src, 'treelink')}/`, false)).toEqual({ path: `${join(src, 'tree')}/`, exists: true, isDir: true, rebaseName: 'treelink' });
    await expect(copyInfoSourcePath(join(src, 'nope'), false)).rejects.toThrow(`lstat ${join(src, 'nope')}: no such file or directory`);
  });

  it('copyInfoDestinationPath follows a final symlink and wants an existing parent', async () => {
    await symlink(join(dst), join(base, 'dlink'));
    expect(await copyInfoDestinationPath(join(base, 'dlink'))).toEqual({ path: dst, exists: true, isDir: true, rebaseName: '' });
    expect(await copyInfoDestinationPath(join(dst, 'new'))).toEqual({ path: join(dst, 'new'), exists: false, isDir: false, rebaseName: '' });
    await expect(copyInfoDestinationPath(join(dst, 'no/new'))).rejects.toThrow(`stat ${join(dst, 'no')}: no such file or directory`);
    await writeFile(join(dst, 'file'), '');
    await expect(copyInfoDestinationPath(join(dst, 'file/new'))).rejects.toThrow('not a directory');
  });

  it('validateOutputPath', async () => {
    await validateOutputPath(join(dst, 'x'));
    await validateOutputPath('-');
    await expect(validateOutputPath(join(base, 'no/x'))).rejects.toThrow(`invalid output path: directory "${join(base, 'no')}" does not exist`);
    await expect(validateOutputPath('/dev/null')).rejects.toThrow('invalid output path: "/dev/null" must be a directory or a regular file: got a device');
  });
});

describe('tarResource', () => {
  it('names entries after the source, rebased when asked', async () => {
    const info = await copyInfoSourcePath(join(src, 'tree'), false);
    expect(await names(await tarResource(info))).toEqual(['tree/', 'tree/a', 'tree/la', 'tree/sub/', 'tree/sub/b']);
    const dot = await copyInfoSourcePath(`${join(src, 'tree')}/.`, false);
    expect(await names(await tarResource(dot))).toEqual(['./', './a', './la', './sub/', './sub/b']);
    const viaLink = await copyInfoSourcePath(join(src, 'treelink'), true);
    expect(await names(await tarResource(viaLink))).toEqual(['treelink/', 'treelink/a', 'treelink/la', 'treelink/sub/', 'treelink/sub/b']);
    const file = await copyInfoSourcePath(join(src, 'tree/a'), false);
    expect(await names(await tarResource(file))).toEqual(['a']);
  });

  it('rebaseArchiveEntries renames the first element (and "/" prefixes)', async () => {
    const t = await makeTar([
      { header: { name: '/', type: 'directory' } },
      { header: { name: '/bin/', type: 'directory' } },
      { header: { name: '/bin/sh' }, body: 'x' },
      { header: { name: '/bin/ash', type: 'link', linkname: '/bin/sh' } },
    ]);
    expect(await names(rebaseArchiveEntries(Readable.from([t]), '/', 'rootfs'))).toEqual(['rootfs/', 'rootfs/bin/', 'rootfs/bin/sh', 'rootfs/bin/ash']);
    const long = `${'d'.repeat(120)}/f`;
    const t2 = await makeTar([{ header: { name: long }, body: 'y' }]);
    expect(await names(rebaseArchiveEntries(Readable.from([t2]), 'd'.repeat(120), 'short'))).toEqual(['short/f']);
  });
});

describe('prepareArchiveCopy', () => {
  const info = (path: string, exists: boolean, isDir: boolean, rebaseName = '') => ({ path, exists, isDir, rebaseName });
  const empty = () => Readable.from([]);

  it('extracts into an existing directory as is', () => {
    const s = empty();
    const [dir, content] = prepareArchiveCopy(s, info('/s/tree', true, true), info('/d', true, true));
    expect(dir).toBe('/d');
    expect(content).toBe(s);
  });

  it('renames to a new name in the parent, and refuses what cp refuses', async () => {
    const t = await makeTar([{ header: { name: 'tree/', type: 'directory' } }, { header: { name: 'tree/a' }, body: 'A' }]);
    const [dir, content] = prepareArchiveCopy(Readable.from([t]), info('/s/tree', true, true), info('/d/new', false, false));
    expect(dir).toBe('/d');
    expect(await names(content)).toEqual(['new/', 'new/a']);
    expect(() => prepareArchiveCopy(empty(), info('/s/tree', true, true), info('/d/file', true, false))).toThrow('cannot copy directory');
    expect(() => prepareArchiveCopy(empty(), info('/s/a', true, false), info('/d/new/', false, false))).toThrow('no such directory');
  });
});

describe('untar and copyTo', () => {
  async function run(entries: { header: Header; body?: string }[], opts = { chown: false, noOverwriteDirNonDir: true }): Promise<void> {
    await untar(Readable.from([await makeTar(entries)]), dst, opts);
  }

  it('copies a tree with modes, times and symlinks', async () => {
    const info = await copyInfoSourcePath(join(src, 'tree'), false);
    await copyTo(await tarResource(info), info, join(dst, 'copy'), false);
    expect(await readFile(join(dst, 'copy/a'), 'utf8')).toBe('A');
    expect(await readFile(join(dst, 'copy/sub/b'), 'utf8')).toBe('B');
    expect((await stat(join(dst, 'copy/sub/b'))).mode & 0o777).toBe(0o640);
    expect((await stat(join(dst, 'copy/sub'))).mode & 0o777).toBe(0o750);
    expect(await readlink(join(dst, 'copy/la'))).toBe('a');
    expect((await stat(join(dst, 'copy/a'))).mtime.toISOString()).toBe('2020-05-06T07:08:09.000Z');
    // Again into the existing directory: a copy inside it.
    await copyTo(await tarResource(info), info, join(dst, 'copy'), false);
    expect(await readdir(join(dst, 'copy'))).toContain('tree');
  });

  it('refuses names climbing out, links pointing out, and writing through symlinks', async () => {
    await expect(run([{ header: { name: '../x' }, body: 'x' }])).rejects.toThrow(`"../x" is outside of "${dst}"`);
    await expect(run([{ header: { name: 'l', type: 'symlink', linkname: '../../x' } }])).rejects.toThrow(`invalid symlink "${join(dst, 'l')}" -> "../../x"`);
    await expect(run([{ header: { name: 'h', type: 'link', linkname: '../outside/x' } }])).rejects.toThrow('invalid hardlink');
    await expect(
      run([
        { header: { name: 'esc', type: 'symlink', linkname: outside } },
        { header: { name: 'esc/pwned' }, body: 'x' },
      ]),
    ).rejects.toThrow('refusing to extract through symlink');
    expect(await readdir(outside)).toEqual([]);
  });

  it('replaces an existing symlink rather than writing through it', async () => {
    await symlink(join(outside, 'target'), join(dst, 'f'));
    await run([{ header: { name: 'f' }, body: 'mine' }]);
    expect((await lstat(join(dst, 'f'))).isFile()).toBe(true);
    expect(await readdir(outside)).toEqual([]);
    // A directory entry over a symlink to a directory: refused (a non-directory), or with
    // overwriting allowed, a real directory replaces it; never written through.
    await symlink(outside, join(dst, 'd'));
    const entries = [{ header: { name: 'd/', type: 'directory' as const } }, { header: { name: 'd/x' }, body: 'x' }];
    await expect(run(entries)).rejects.toThrow('cannot overwrite non-directory');
    await run(entries, { chown: false, noOverwriteDirNonDir: false });
    expect((await lstat(join(dst, 'd'))).isDirectory()).toBe(true);
    expect(await readdir(outside)).toEqual([]);
  });

  it('keeps directories and files apart', async () => {
    await mkdir(join(dst, 'dir'));
    await expect(run([{ header: { name: 'dir' }, body: 'x' }])).rejects.toThrow(`cannot overwrite directory "${join(dst, 'dir')}" with non-directory "${dst}"`);
    await writeFile(join(dst, 'file'), '');
    await expect(run([{ header: { name: 'file/', type: 'directory' } }])).rejects.toThrow(`cannot overwrite non-directory "${join(dst, 'file')}" with directory "${dst}"`);
  });
});
