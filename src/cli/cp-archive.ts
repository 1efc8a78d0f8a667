/**
 * The host side of `cp`, as the docker CLI does it with go-archive: describing the source
 * and destination (`CopyInfoSourcePath`, `CopyInfoDestinationPath`), packing a local path
 * with its archive names rebased (`TarResource`), fitting an archive to its destination
 * (`PrepareArchiveCopy`, `RebaseArchiveEntries`) and extracting one (`CopyTo`/`Untar`).
 *
 * Extraction is of archives a container produced, so it never follows a symlink: entry
 * names may not climb out of the destination, an existing symlink in the way is replaced,
 * not written through, a parent that is a symlink is refused, and a symlink whose target
 * climbs out of the destination is refused like go-archive refuses it.
 */
import * as fs from 'node:fs';
import type { Stats } from 'node:fs';
import { lstat, mkdir, readdir, readlink, realpath, rm, stat } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import tar from 'tar-stream';
import {
  assertsDirectory,
  basePath,
  cleanPath,
  dirPath,
  getRebaseName,
  hasTrailingPathSeparator,
  joinPath,
  preserveTrailingDotOrSeparator,
  splitPath,
  splitPathDirEntry,
} from '../core/copypath.js';

export interface CopyInfo {
  path: string;
  exists: boolean;
  isDir: boolean;
  rebaseName: string;
}

const STRERROR: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'not a directory',
  EACCES: 'permission denied',
  ELOOP: 'too many levels of symbolic links',
  EEXIST: 'file exists',
  EISDIR: 'is a directory',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on device',
  EXDEV: 'invalid cross-device link',
  ENAMETOOLONG: 'file name too long',
};

/** An fs error worded like Go's `*PathError`: `lstat /x: no such file or directory`. */
export function goError(op: string, path: string, e: unknown): Error {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const text = code !== undefined ? (STRERROR[code] ?? (e as Error).message) : e instanceof Error ? e.message : String(e);
  return new Error(`${op} ${path}: ${text}`);
}

function isNotExist(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/** Go's `filepath.Abs`, then the trailing `/` or `/.` of the original put back (the docker CLI's `resolveLocalPath`). */
export function resolveLocalPath(p: string): string {
  return preserveTrailingDotOrSeparator(cleanPath(resolvePath(p)), p);
}

/** Go's `filepath.EvalSymlinks` (the path must exist). */
async function evalSymlinks(p: string): Promise<string> {
  try {
    return await realpath(p === '' ? '.' : p);
  } catch (e) {
    throw goError('lstat', cleanPath(p), e);
  }
}

/** go-archive's `ResolveHostSourcePath`: symlinks before the last element are resolved; with followLink, all. */
async function resolveHostSourcePath(path: string, followLink: boolean): Promise<[string, string]> {
  if (followLink) return getRebaseName(path, await evalSymlinks(path));
  const [dir, base] = splitPath(path);
  const resolvedDir = await evalSymlinks(dir);
  const resolved = `${resolvedDir === '/' ? '' : resolvedDir}/${base}`;
  const rebase = hasTrailingPathSeparator(path) && basePath(path) !== basePath(resolved) ? basePath(path) : '';
  return [resolved, rebase];
}

/** go-archive's `CopyInfoSourcePath`: the local source, which must exist. */
export async function copyInfoSourcePath(path: string, followLink: boolean): Promise<CopyInfo> {
  const [resolved, rebaseName] = await resolveHostSourcePath(path, followLink);
  let st: Stats;
  try {
    st = await lstat(resolved);
  } catch (e) {
    throw goError('lstat', resolved, e);
  }
  return { path: resolved, exists: true, isDir: st.isDirectory(), rebaseName };
}

/** go-archive's `CopyInfoDestinationPath`: a final symlink is followed (10 times at most); the parent must exist. */
export async function copyInfoDestinationPath(path: string): Promise<CopyInfo> {
  const original = path;
  let p = path;
  let st = await lstat(p).catch((e: unknown) => e as NodeJS.ErrnoException);
  for (let n = 0; !(st instanceof Error) && st.isSymbolicLink(); n++) {
    if (n > 10) throw new Error(`too many symlinks in ${original}`);
    let target: string;
    try {
      target = await readlink(p);
    } catch (e) {
      throw goError('readlink', p, e);
    }
    p = target.startsWith('/') ? target : joinPath(splitPathDirEntry(p)[0], target);
    st = await lstat(p).catch((e: unknown) => e as NodeJS.ErrnoException);
  }
  if (st instanceof Error) {
    if (!isNotExist(st)) throw goError('lstat', p, st);
    const [parent] = splitPathDirEntry(p);
    let pst: Stats;
    try {
      pst = await stat(parent);
    } catch (e) {
      throw goError('stat', parent, e);
    }
    if (!pst.isDirectory()) throw new Error('not a directory');
    return { path: p, exists: false, isDir: false, rebaseName: '' };
  }
  return { path: p, exists: true, isDir: st.isDirectory(), rebaseName: '' };
}

/** docker's `ValidateOutputPath`: the parent must exist; an existing path must be a directory or a regular file. */
export async function validateOutputPath(path: string): Promise<void> {
  const dir = dirPath(cleanPath(path));
  if (dir !== '' && dir !== '.') {
    const e = await stat(dir).then(
      () => undefined,
      (err: unknown) => err,
    );
    if (isNotExist(e)) throw new Error(`invalid output path: directory ${JSON.stringify(dir)} does not exist`);
  }
  let st: Stats;
  try {
    st = await stat(path);
  } catch (e) {
    if (isNotExist(e)) return;
    throw goError('stat', path, e);
  }
  if (st.isDirectory() || st.isFile()) return;
  const why = st.isBlockDevice() || st.isCharacterDevice() ? 'got a device' : 'got an irregular file';
  throw new Error(`invalid output path: ${JSON.stringify(path)} must be a directory or a regular file: ${why}`);
}

// ---- packing a local path ---------------------------------------------------------------

type Header = Parameters<tar.Pack['entry']>[0];
const SMALL_FILE = 1024 * 1024;
const MAX_USTAR_ID = 0o777777;

function devMajor(rdev: number): number {
  return ((rdev >>> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
}
function devMinor(rdev: number): number {
  return (rdev & 0xff) | ((rdev >>> 12) & 0xfff00);
}

function headerOf(st: Stats, name: string): Header {
  const h: Header = { name, mode: st.mode, uid: st.uid, gid: st.gid, mtime: new Date(Math.max(0, Math.floor(st.mtimeMs / 1000)) * 1000) };
  if (st.uid > MAX_USTAR_ID || st.gid > MAX_USTAR_ID) (h as { pax?: Record<string, string> }).pax = { uid: String(st.uid), gid: String(st.gid) };
  return h;
}

function addEntry(pack: tar.Pack, header: Header, body?: Buffer): Promise<void> {
  return new Promise((res, rej) => {
    const cb = (err?: Error | null): void => (err ? rej(err) : res());
    if (body !== undefined) pack.entry(header, body, cb);
    else pack.entry(header, cb);
  });
}

async function addFile(pack: tar.Pack, header: Header, path: string, size: number): Promise<void> {
  if (size <= SMALL_FILE) {
    const buf = await fs.promises.readFile(path);
    const body = buf.length === size ? buf : Buffer.concat([buf.subarray(0, size), Buffer.alloc(Math.max(0, size - buf.length))]);
    return addEntry(pack, { ...header, size }, body);
  }
  await new Promise<void>((res, rej) => {
    const sink = pack.entry({ ...header, size }, (e) => (e ? rej(e) : res()));
    const src = fs.createReadStream(path, { start: 0, end: size - 1 });
    let got = 0;
    src.on('data', (c) => {
      got += c.length;
      if (!sink.write(c)) {
        src.pause();
        sink.once('drain', () => src.resume());
      }
    });
    src.on('error', (e) => sink.destroy(e));
    src.on('end', () => {
      if (got < size) sink.write(Buffer.alloc(size - got));
      sink.end(undefined);
    });
  });
}

/**
 * go-archive's `TarResourceRebase`: a tar of `sourcePath` (a directory with everything below
 * it, or one entry), its first name element replaced by `rebaseName` when given.
 */
export async function tarResource(info: CopyInfo): Promise<Readable> {
  const sourcePath = info.path;
  try {
    await lstat(sourcePath);
  } catch (e) {
    throw goError('lstat', sourcePath, e);
  }
  const [sourceDir, include] = splitPathDirEntry(sourcePath);
  const replacement = info.rebaseName === '/' ? '' : info.rebaseName;
  const nameOf = (rel: string, isDir: boolean): string => {
    let n = include === '.' && rel !== '.' ? `./${rel}` : rel;
    if (info.rebaseName !== '') n = n.replace(include, replacement);
    return isDir && !n.endsWith('/') ? `${n}/` : n;
  };
  const pack = tar.pack();
  const links = new Map<string, string>();
  const walk = async (abs: string, rel: string): Promise<void> => {
    const st = await lstat(abs);
    const name = nameOf(rel, st.isDirectory());
    if (st.isSocket()) return;
    const h = headerOf(st, name);
    if (!st.isDirectory() && st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      const first = links.get(key);
      if (first !== undefined) return addEntry(pack, { ...h, type: 'link', linkname: first, size: 0 });
      links.set(key, name);
    }
    if (st.isDirectory()) {
      await addEntry(pack, { ...h, type: 'directory' });
      for (const n of (await readdir(abs)).sort()) await walk(join(abs, n), rel === '.' ? n : `${rel}/${n}`);
    } else if (st.isSymbolicLink()) await addEntry(pack, { ...h, type: 'symlink', linkname: await readlink(abs) });
    else if (st.isFile()) await addFile(pack, { ...h, type: 'file' }, abs, st.size);
    else if (st.isFIFO()) await addEntry(pack, { ...h, type: 'fifo' });
    else if (st.isCharacterDevice() || st.isBlockDevice()) {
      await addEntry(pack, { ...h, type: st.isCharacterDevice() ? 'character-device' : 'block-device', devmajor: devMajor(st.rdev), devminor: devMinor(st.rdev) });
    }
  };
  const root = `${sourceDir === '/' ? '' : sourceDir}/${include}`;
  (async () => {
    await walk(include === '.' ? sourceDir : root, include);
    pack.finalize();
  })().catch((e: unknown) => pack.destroy(e instanceof Error ? e : new Error(String(e))));
  return pack as unknown as Readable;
}

// ---- fitting an archive to its destination --------------------------------------------------

/**
 * go-archive's `RebaseArchiveEntries`: the first occurrence of `oldBase` in every entry
 * name (and hardlink target) replaced by `newBase`; `/` as oldBase means the empty string.
 */
export function rebaseArchiveEntries(src: NodeJS.ReadableStream, oldBase: string, newBase: string): Readable {
  const from = oldBase === '/' ? '' : oldBase;
  const extract = tar.extract();
  const pack = tar.pack();
  (async () => {
    for await (const entry of extract) {
      const h = { ...entry.header } as tar.Header & { pax?: Record<string, string> | null };
      h.name = h.name.replace(from, newBase);
      if (h.type === 'link' && h.linkname) h.linkname = h.linkname.replace(from, newBase);
      if (h.pax) {
        // path and linkpath come from the names above; the other records stay.
        const { path: _p, linkpath: _l, ...rest } = h.pax;
        h.pax = Object.keys(rest).length > 0 ? rest : null;
      }
      if (h.type === 'file' || h.type === 'contiguous-file') {
        const chunks: Buffer[] = [];
        for await (const c of entry) chunks.push(c as Buffer);
        await addEntry(pack, h, Buffer.concat(chunks));
      } else {
        entry.resume();
        await addEntry(pack, h);
      }
    }
    pack.finalize();
  })().catch((e: unknown) => {
    pack.destroy(e instanceof Error ? e : new Error(String(e)));
    extract.destroy();
  });
  src.pipe(extract);
  src.on('error', (e: Error) => extract.destroy(e));
  return pack as unknown as Readable;
}

/**
 * go-archive's `PrepareArchiveCopy`: the directory to extract into (perhaps the parent of the
 * destination) and the archive, its entries renamed when the destination takes another name.
 */
export function prepareArchiveCopy(src: NodeJS.ReadableStream, srcInfo: CopyInfo, dstInfo: CopyInfo): [string, Readable | NodeJS.ReadableStream] {
  const [dstDir, dstBase] = splitPathDirEntry(dstInfo.path);
  let [, srcBase] = splitPathDirEntry(srcInfo.path);
  if (dstInfo.exists && dstInfo.isDir) return [dstInfo.path, src];
  if (dstInfo.exists && srcInfo.isDir) throw new Error('cannot copy directory');
  if (!dstInfo.exists && !srcInfo.isDir && assertsDirectory(dstInfo.path)) throw new Error('no such directory');
  if (srcInfo.rebaseName !== '') srcBase = srcInfo.rebaseName;
  return [dstDir, rebaseArchiveEntries(src, srcBase, dstBase)];
}

// ---- extracting on the host -----------------------------------------------------------------

export interface UntarOptions {
  /** Keep the archive's owners (`cp -a` from a container, as root); otherwise the files are the caller's. */
  chown: boolean;
  noOverwriteDirNonDir: boolean;
}

/** go-archive's `Untar` of an uncompressed archive into the existing directory `dest`, never following a symlink. */
export async function untar(src: NodeJS.ReadableStream, destArg: string, opts: UntarOptions): Promise<void> {
  const dest = cleanPath(destArg);
  const extract = tar.extract();
  src.on('error', (e: Error) => extract.destroy(e));
  src.pipe(extract);
  const dirs: { path: string; mode: number; mtime: Date }[] = [];
  const asRoot = process.getuid?.() === 0;
  // Parents known to be real directories (made or checked in this extraction).
  const realDirs = new Set<string>(['']);

  /** Every component of `rel`'s parent must be a real directory; missing ones are made (0755). */
  const ensureParent = async (rel: string, name: string): Promise<void> => {
    const parts = rel.split('/').slice(0, -1);
    let cur = '';
    for (const part of parts) {
      cur = cur === '' ? part : `${cur}/${part}`;
      if (realDirs.has(cur)) continue;
      const p = join(dest, cur);
      const st = await lstat(p).catch((e: unknown) => {
        if (isNotExist(e)) return undefined;
        throw goError('lstat', p, e);
      });
      if (st === undefined) {
        await mkdir(p, 0o755).catch((e: unknown) => Promise.reject(goError('mkdir', p, e)));
      } else if (st.isSymbolicLink()) {
        throw new Error(`${JSON.stringify(name)}: refusing to extract through symlink ${JSON.stringify(p)}`);
      } else if (!st.isDirectory()) throw goError('mkdir', join(dest, rel), { code: 'ENOTDIR' });
      realDirs.add(cur);
    }
  };

  try {
    for await (const entry of extract) {
      const h = entry.header as tar.Header & { pax?: Record<string, string> | null };
      const type = h.type ?? 'file';
      const isFile = type === 'file' || type === 'contiguous-file';
      if (!isFile) entry.resume();
      const name = cleanPath(h.name);
      const rel = cleanPath(`/${name}`).slice(1);
      if (name === '..' || name.startsWith('../')) throw new Error(`${JSON.stringify(h.name)} is outside of ${JSON.stringify(dest)}`);
      const dstPath = rel === '' ? dest : join(dest, rel);
      if (rel !== '') await ensureParent(rel, h.name);
      const existing = await lstat(dstPath).catch(() => undefined);
      if (existing !== undefined) {
        if (opts.noOverwriteDirNonDir && existing.isDirectory() && type !== 'directory') {
          throw new Error(`cannot overwrite directory ${JSON.stringify(dstPath)} with non-directory ${JSON.stringify(dest)}`);
        }
        if (opts.noOverwriteDirNonDir && !existing.isDirectory() && type === 'directory') {
          throw new Error(`cannot overwrite non-directory ${JSON.stringify(dstPath)} with directory ${JSON.stringify(dest)}`);
        }
        if (existing.isDirectory() && rel === '') {
          if (isFile) entry.resume();
          continue;
        }
        if (!existing.isDirectory() || type !== 'directory') {
          await rm(dstPath, { recursive: true, force: true });
          for (const d of [...realDirs]) if (d === rel || d.startsWith(`${rel}/`)) realDirs.delete(d);
        }
      }
      const mode = (h.mode ?? 0) & 0o7777;
      const mtime = h.mtime ?? new Date();
      const uid = Number(h.pax?.['uid'] ?? h.uid ?? 0);
      const gid = Number(h.pax?.['gid'] ?? h.gid ?? 0);
      const own = opts.chown && asRoot;
      switch (type) {
        case 'directory': {
          if (existing === undefined || !existing.isDirectory()) await mkdir(dstPath, 0o700 | (mode & 0o777)).catch((e: unknown) => Promise.reject(goError('mkdir', dstPath, e)));
          if (own) await fs.promises.lchown(dstPath, uid, gid);
          realDirs.add(rel);
          dirs.push({ path: dstPath, mode, mtime });
          break;
        }
        case 'file':
        case 'contiguous-file': {
          const fh = await fs.promises
            .open(dstPath, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, mode & 0o777)
            .catch((e: unknown) => Promise.reject(goError('open', dstPath, e)));
          try {
            for await (const c of entry) await fh.write(c as Buffer);
            if (own) await fh.chown(uid, gid);
            await fh.chmod(mode);
            await fh.utimes(mtime, mtime);
          } finally {
            await fh.close();
          }
          break;
        }
        case 'symlink': {
          const linkname = h.linkname ?? '';
          // go-archive refuses a symlink whose target climbs out of the extraction directory.
          // (An absolute target is joined too, as filepath.Join does: it stays inside.)
          const target = joinPath(dirPath(dstPath), linkname);
          if (!(target === dest || dest === '/' || target.startsWith(`${dest}/`))) {
            throw new Error(`invalid symlink ${JSON.stringify(dstPath)} -> ${JSON.stringify(linkname)}`);
          }
          await fs.promises.symlink(linkname, dstPath);
          if (own) await fs.promises.lchown(dstPath, uid, gid);
          await fs.promises.lutimes(dstPath, mtime, mtime);
          break;
        }
        case 'link': {
          const linkname = h.linkname ?? '';
          const trel = cleanPath(`/${linkname}`).slice(1);
          const lname = cleanPath(linkname);
          if (lname === '..' || lname.startsWith('../') || trel === '') throw new Error(`invalid hardlink ${JSON.stringify(join(dest, linkname))} -> ${JSON.stringify(linkname)}`);
          await ensureParent(trel, linkname);
          const tst = await lstat(join(dest, trel)).catch((e: unknown) => Promise.reject(goError('link', join(dest, trel), e)));
          if (tst.isDirectory()) throw goError('link', join(dest, trel), { code: 'EPERM' });
          await fs.promises.link(join(dest, trel), dstPath);
          break;
        }
        default:
          // Device nodes and fifos need mknod(2), which the CLI does not have: left out.
          break;
      }
    }
  } catch (e) {
    extract.destroy();
    throw e;
  }
  // Directory modes and times last, deepest first.
  dirs.sort((a, b) => b.path.split('/').length - a.path.split('/').length);
  for (const d of dirs) {
    const fh = await fs.promises.open(d.path, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW).catch(() => undefined);
    if (fh === undefined) continue;
    try {
      await fh.chmod(d.mode);
      await fh.utimes(d.mtime, d.mtime);
    } finally {
      await fh.close();
    }
  }
}

/** go-archive's `CopyTo`: extract `content` (entries from `srcInfo`) to the local `dstPath`. */
export async function copyTo(content: NodeJS.ReadableStream, srcInfo: CopyInfo, dstPath: string, chown: boolean): Promise<void> {
  const dstInfo = await copyInfoDestinationPath(dstPath);
  const [dstDir, archive] = prepareArchiveCopy(content, srcInfo, dstInfo);
  await untar(archive, dstDir, { chown, noOverwriteDirNonDir: true });
}

/** A pass-through that counts the bytes going by. */
export class Counter extends Transform {
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}
