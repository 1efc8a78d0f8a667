import * as fs from 'node:fs';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { BigIntStats, Stats } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { basePath, cleanPath, containerAbsPath, goFileMode, rfc3339Nano, splitPath, type ContainerPathStat } from '../../core/copypath.js';
import { BerthError, Internal, InvalidArgument, NotFound } from '../../core/errors.js';
import { baseOf, depthOf, devMajor, devMinor, joinRel, parentOf } from '../layers/paths.js';
import { mknod } from '../layers/whiteouts.js';
import { run } from '../../sys/exec.js';
import { entryPath, dirHandle, lastKind, relOf, releaseCursor, resolveInScope, ScopeError, type Cursor } from './scope.js';
import type { ContainerService } from './service.js';
import { resolveUser } from './spec.js';
import type { ContainerRecord, MountPoint } from './types.js';
import {
  CREATE_FLAGS,
  ContainerView,
  DIR_FLAGS,
  closeFd,
  fdPath,
  fdPathForChild,
  fstatFd,
  openFd,
  openRegularFile,
  dirsClosed,
  releaseDir,
  retainDir,
  type Dir,
  type Entry,
} from './view.js';

/**
 * `docker cp` on the daemon side: the Engine API's archive endpoints. `statPath` (HEAD),
 * `archivePath` (GET: a tar of a path) and `extractToDir` (PUT: a tar extracted into a
 * directory), with Docker's path rules (`/.`, trailing `/`, the entry names of the archive,
 * the overwrite rules of go-archive's Unpack) on a `ContainerView`: every path is resolved
 * inside the container (symlinks followed in its scope, `..` stopping at its root) and every
 * read and write goes through directory descriptors opened without following symlinks, so a
 * container can neither point a copy at the host nor race one there.
 */

const IS_ROOT = process.getuid?.() === 0;
const READ_CHUNK = 1024 * 1024;
const SMALL_FILE = 1024 * 1024;
const OUT_BATCH = 256 * 1024;
/** Largest id a ustar header holds as tar-stream writes it; above it goes to PAX. */
const MAX_USTAR_ID = 0o777777;
/** Files read for user lookups (/etc/passwd, /etc/group) stop here. */
const MAX_ID_FILE = 4 * 1024 * 1024;

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/** An fs error as a berth error naming the container path (never a /proc/self/fd path). */
function fsFailure(e: unknown, op: string, at: string): unknown {
  if (e instanceof BerthError || !(e instanceof Error) || errno(e) === undefined) return e;
  const desc = /^[A-Z0-9]+: ([^,]+)/.exec(e.message)?.[1] ?? e.message;
  const msg = `${op} ${at}: ${desc}`;
  return ['ENOTDIR', 'EISDIR', 'EEXIST', 'ENOTEMPTY', 'EXDEV', 'ELOOP', 'ENAMETOOLONG', 'EROFS'].includes(errno(e) as string)
    ? new InvalidArgument(msg, { cause: e })
    : new Internal(msg, { cause: e });
}

function scopeFailure(e: unknown, absPath: string): unknown {
  if (e instanceof ScopeError) {
    return new InvalidArgument(e.code === 'ENOTDIR' ? `lstat ${absPath}: not a directory` : `evalSymlinksInScope: too many links in ${absPath}`);
  }
  return fsFailure(e, 'lstat', absPath);
}

function notFound(path: string, container: string): NotFound {
  return new NotFound(`Could not find the file ${path} in container ${container}`);
}

// ---- locating a path ------------------------------------------------------------------------

interface Located {
  absPath: string;
  /** The directory holding the target (or the target itself when it is that directory). */
  cursor: Cursor<Dir>;
  /** Canonical container path of the target. */
  rel: string;
  /** The target, not followed; a directory comes with its own (owned) handle. */
  entry: Exclude<Entry, { kind: 'missing' }>;
}

/**
 * Docker's `ResolvePath` + `lstat`: everything up to the last `/` is resolved in the
 * container's scope, the last element is looked at as it is (a symlink stays a symlink).
 */
async function locate(view: ContainerView, path: string, container: string): Promise<Located> {
  const absPath = containerAbsPath(path);
  const [dir, base] = splitPath(absPath);
  let cur: Cursor<Dir>;
  try {
    cur = await resolveInScope(view, dir, { followFinal: true });
  } catch (e) {
    throw scopeFailure(e, absPath);
  }
  try {
    const k = lastKind(cur);
    if (k === 'missing') throw notFound(path, container);
    if (k !== 'dir') throw new InvalidArgument(`lstat ${absPath}: not a directory`);
    const parent = dirHandle(cur) as Dir;
    if (base === '' || base === '.') {
      // The directory itself (`/dir/`, `/dir/.`, `/`).
      const st = await fstatFd(parent.fd);
      return { absPath, cursor: cur, rel: relOf(cur), entry: { kind: 'dir', dir: retainDir(parent), st } };
    }
    const entry = await view.lookup(parent, relOf(cur), base, true).catch((e: unknown) => Promise.reject(fsFailure(e, 'lstat', absPath)));
    if (entry.kind === 'missing') throw notFound(path, container);
    return { absPath, cursor: cur, rel: joinRel(relOf(cur), base), entry };
  } catch (e) {
    releaseCursor(view, cur);
    throw e;
  }
}

function release(view: ContainerView, loc: Located): void {
  if (loc.entry.kind === 'dir') releaseDir(loc.entry.dir);
  releaseCursor(view, loc.cursor);
}

async function bigStat(e: Located['entry']): Promise<BigIntStats> {
  if (e.kind === 'dir') return new Promise((res, rej) => fs.fstat(e.dir.fd, { bigint: true }, (err, st) => (err ? rej(err) : res(st))));
  return e.kind === 'other' && e.mount !== undefined ? fs.promises.stat(e.path, { bigint: true }) : fs.promises.lstat(e.path, { bigint: true });
}

async function pathStat(view: ContainerView, loc: Located): Promise<ContainerPathStat> {
  const st = loc.entry.st as Stats;
  let linkTarget = '';
  if (loc.entry.kind === 'symlink') {
    // Fully resolved in the container's scope, as an absolute container path.
    let c: Cursor<Dir>;
    try {
      c = await resolveInScope(view, loc.absPath, { followFinal: true });
    } catch (e) {
      throw scopeFailure(e, loc.absPath);
    }
    linkTarget = `/${relOf(c)}`;
    releaseCursor(view, c);
  }
  const big = await bigStat(loc.entry).catch(() => undefined);
  const mtimeNs = big?.mtimeNs ?? BigInt(Math.floor(st.mtimeMs)) * 1_000_000n;
  return { name: basePath(loc.absPath), size: st.size, mode: goFileMode(st.mode), mtime: rfc3339Nano(mtimeNs), linkTarget };
}

/** `HEAD /containers/{id}/archive`: the stat of a path (a symlink is not followed). */
export async function statPath(view: ContainerView, path: string, container: string): Promise<ContainerPathStat> {
  const loc = await locate(view, path, container);
  try {
    return await pathStat(view, loc);
  } finally {
    release(view, loc);
  }
}

// ---- packing ------------------------------------------------------------------------------

type Header = Parameters<tar.Pack['entry']>[0];

function waitFor(emitter: NodeJS.EventEmitter, event: string): Promise<void> {
  return new Promise((res, rej) => {
    const cleanup = (): void => {
      emitter.off(event, ok);
      emitter.off('error', bad);
      emitter.off('close', closed);
    };
    const ok = (): void => {
      cleanup();
      res();
    };
    const bad = (e: unknown): void => {
      cleanup();
      rej(e instanceof Error ? e : new Error(String(e)));
    };
    const closed = (): void => {
      cleanup();
      rej(new Internal('the client went away before the archive was written'));
    };
    emitter.on(event, ok);
    emitter.on('error', bad);
    emitter.on('close', closed);
  });
}

/** A tar written as it is walked, with backpressure from `out`. */
class TarWriter {
  private readonly pack = tar.pack();
  private readonly pump: Promise<void>;
  private readonly links = new Map<string, string>();

  constructor(out: NodeJS.WritableStream) {
    this.pump = (async () => {
      let batch: Buffer[] = [];
      let bytes = 0;
      const flush = async (): Promise<void> => {
        const buf = batch.length === 1 ? (batch[0] as Buffer) : Buffer.concat(batch, bytes);
        batch = [];
        bytes = 0;
        if (!out.write(buf)) await waitFor(out, 'drain');
      };
      for await (const chunk of this.pack) {
        batch.push(chunk as Buffer);
        bytes += (chunk as Buffer).length;
        if (bytes >= OUT_BATCH) await flush();
      }
      if (bytes > 0) await flush();
    })();
    // The client went away: stop the walk (pending entries fail with the pack).
    this.pump.catch((e: unknown) => this.abort(e));
  }

  header(st: Stats, name: string): Header {
    const h: Header = {
      name,
      mode: st.mode,
      uid: st.uid,
      gid: st.gid,
      mtime: new Date(Math.max(0, Math.floor(st.mtimeMs / 1000)) * 1000),
    };
    if (st.uid > MAX_USTAR_ID || st.gid > MAX_USTAR_ID) (h as { pax?: Record<string, string> }).pax = { uid: String(st.uid), gid: String(st.gid) };
    return h;
  }

  /** A hardlink to an entry already written, when `st` is an inode seen before. */
  linkTo(st: Stats, name: string): string | undefined {
    if (st.isDirectory() || st.nlink <= 1) return undefined;
    const key = `${st.dev}:${st.ino}`;
    const first = this.links.get(key);
    if (first === undefined) this.links.set(key, name);
    return first;
  }

  add(header: Header, body?: Buffer): Promise<void> {
    return new Promise((res, rej) => {
      const cb = (err?: Error | null): void => (err ? rej(err) : res());
      if (body !== undefined) this.pack.entry(header, body, cb);
      else this.pack.entry(header, cb);
    });
  }

  /** A regular file's content from `fd`: exactly `size` bytes (zeros if it shrank meanwhile). */
  async addFile(header: Header, fd: number, size: number): Promise<void> {
    const read = (buf: Buffer, pos: number): Promise<number> =>
      new Promise((res, rej) => fs.read(fd, buf, 0, buf.length, pos, (e, n) => (e ? rej(e) : res(n))));
    if (size <= SMALL_FILE) {
      const buf = Buffer.alloc(size);
      let pos = 0;
      while (pos < size) {
        const n = await read(buf.subarray(pos), pos);
        if (n === 0) break;
        pos += n;
      }
      await this.add({ ...header, size }, buf);
      return;
    }
    let settle: ((e?: Error | null) => void) | undefined;
    const done = new Promise<void>((res, rej) => {
      settle = (e) => (e ? rej(e) : res());
    });
    const sink = this.pack.entry({ ...header, size }, (e) => settle?.(e));
    let pos = 0;
    try {
      while (pos < size) {
        const buf = Buffer.alloc(Math.min(READ_CHUNK, size - pos));
        const n = await read(buf, pos);
        const chunk = n === 0 ? buf : buf.subarray(0, n);
        pos += chunk.length;
        if (!sink.write(chunk)) await waitFor(sink, 'drain');
      }
    } catch (e) {
      sink.destroy(e instanceof Error ? e : new Error(String(e)));
      throw e;
    }
    sink.end(undefined);
    await done;
  }

  async finish(): Promise<void> {
    this.pack.finalize();
    await this.pump;
  }

  abort(e: unknown): void {
    if (!this.pack.destroyed) this.pack.destroy(e instanceof Error ? e : new Error(String(e)));
  }
}

/** How a non-directory is written: a symlink's target, a small file's bytes, or where to read it. */
interface Leaf {
  st: Stats;
  target?: string;
  data?: Buffer;
  /** No-follow path of a file to stream (or a file bind's host source, with `follow`). */
  path?: string;
  follow?: boolean;
}

/** One non-directory entry. */
async function packLeaf(w: TarWriter, name: string, leaf: Leaf): Promise<void> {
  const st = leaf.st;
  if (st.isSocket()) return; // tar has no sockets (Docker skips them too)
  const base = w.header(st, name);
  const first = w.linkTo(st, name);
  if (first !== undefined) return w.add({ ...base, type: 'link', linkname: first, size: 0 });
  if (st.isSymbolicLink()) return w.add({ ...base, type: 'symlink', linkname: leaf.target ?? '' });
  if (st.isFIFO()) return w.add({ ...base, type: 'fifo' });
  if (st.isCharacterDevice() || st.isBlockDevice()) {
    return w.add({ ...base, type: st.isCharacterDevice() ? 'character-device' : 'block-device', devmajor: devMajor(st.rdev), devminor: devMinor(st.rdev) });
  }
  if (!st.isFile()) return;
  if (leaf.data !== undefined) return w.add({ ...base, type: 'file', size: leaf.data.length }, leaf.data);
  if (leaf.path === undefined) return;
  const f = await openRegularFile(leaf.path, leaf.follow === true);
  if (f === undefined) return; // gone, or swapped for something else meanwhile
  try {
    await w.addFile({ ...w.header(f.st, name), type: 'file' }, f.fd, f.st.size);
  } finally {
    await closeFd(f.fd);
  }
}

function leafOf(e: Extract<Entry, { kind: 'symlink' | 'other' }>): Leaf {
  return e.kind === 'symlink' ? { st: e.st, target: e.target } : { st: e.st, path: e.path, follow: e.mount !== undefined };
}

/** Children of a directory prepared this far ahead of their turn (stats, small files read). */
const AHEAD = 32;
/** Regular files up to this size are read ahead whole. */
const PREFETCH = 64 * 1024;

/** A child prepared ahead: a directory or mount point is only noted (opened in its turn: few descriptors). */
type Prepared = { kind: 'skip' } | { kind: 'dir' } | { kind: 'leaf'; leaf: Leaf };

const lstatAt = (p: string): Promise<Stats> => new Promise((res, rej) => fs.lstat(p, (e, st) => (e ? rej(e) : res(st))));

async function readWhole(fd: number, size: number): Promise<Buffer> {
  const buf = Buffer.alloc(size);
  let pos = 0;
  while (pos < size) {
    const n = await new Promise<number>((res, rej) => fs.read(fd, buf, pos, size - pos, pos, (e, r) => (e ? rej(e) : res(r))));
    if (n === 0) break; // shrank meanwhile: the rest stays zeros, the size as stat'ed
    pos += n;
  }
  return buf;
}

async function prepare(view: ContainerView, dir: Dir, rel: string, name: string): Promise<Prepared> {
  if (view.mountAt(joinRel(rel, name)) !== undefined) return { kind: 'dir' };
  const p = fdPath(dir.fd, name);
  let st: Stats;
  try {
    st = await lstatAt(p);
  } catch (e) {
    if (errno(e) === 'ENOENT') return { kind: 'skip' }; // vanished while walking
    throw e;
  }
  if (st.isDirectory()) return { kind: 'dir' };
  if (st.isSymbolicLink()) {
    const target = await fs.promises.readlink(p).catch((e: unknown) => (['ENOENT', 'EINVAL'].includes(errno(e) as string) ? undefined : Promise.reject(e)));
    return target === undefined ? { kind: 'skip' } : { kind: 'leaf', leaf: { st, target } };
  }
  if (st.isFile() && st.size <= PREFETCH && st.nlink <= 1) {
    const f = await openRegularFile(p);
    if (f === undefined) return { kind: 'skip' };
    try {
      return { kind: 'leaf', leaf: { st: f.st, data: await readWhole(f.fd, f.st.size) } };
    } finally {
      await closeFd(f.fd);
    }
  }
  return { kind: 'leaf', leaf: { st, path: p } };
}

/** A directory and everything below it (mounts inside it included), depth first, sorted. */
async function packDir(view: ContainerView, w: TarWriter, dir: Dir, rel: string, name: string, st: Stats): Promise<void> {
  await w.add({ ...w.header(st, `${name}/`), type: 'directory' });
  const names = new Set(await fs.promises.readdir(fdPath(dir.fd)));
  for (const n of view.mountNamesIn(rel)) names.add(n);
  const list = [...names].sort();
  const ahead = new Map<number, Promise<Prepared>>();
  try {
    for (let i = 0; i < list.length; i++) {
      for (let j = i; j < Math.min(list.length, i + AHEAD); j++) {
        if (ahead.has(j)) continue;
        const pr = prepare(view, dir, rel, list[j] as string);
        pr.catch(() => undefined);
        ahead.set(j, pr);
      }
      const item = await (ahead.get(i) as Promise<Prepared>);
      ahead.delete(i);
      const n = list[i] as string;
      const childName = `${name}/${n}`;
      if (item.kind === 'skip') continue;
      if (item.kind === 'leaf') {
        await packLeaf(w, childName, item.leaf);
        continue;
      }
      // A directory (or mount point): opened now, without following; it may have changed meanwhile.
      const e = await view.lookup(dir, rel, n, true);
      if (e.kind === 'missing') continue;
      if (e.kind === 'dir') {
        try {
          await packDir(view, w, e.dir, joinRel(rel, n), childName, e.st as Stats);
        } finally {
          releaseDir(e.dir);
        }
      } else await packLeaf(w, childName, leafOf(e));
    }
  } finally {
    // Nothing may still use this directory's descriptor once the caller releases it.
    await Promise.allSettled(ahead.values());
  }
}

/**
 * `GET /containers/{id}/archive`: a tar of `path`. `start` gets the path's stat once it is
 * known (to send the response head) and returns where the tar goes. Entry names are
 * Docker's: a directory `/a/dir` gives `dir/...`, `/a/dir/.` gives `./...`, `/` gives `/...`,
 * a file (or a symlink, not followed) is one entry named after the last element.
 */
export async function archivePath(
  view: ContainerView,
  path: string,
  container: string,
  start: (stat: ContainerPathStat) => NodeJS.WritableStream,
): Promise<void> {
  const loc = await locate(view, path, container);
  try {
    const stat = await pathStat(view, loc);
    const w = new TarWriter(start(stat));
    try {
      const rebase = basePath(loc.absPath);
      if (loc.entry.kind === 'dir') await packDir(view, w, loc.entry.dir, loc.rel, rebase === '/' ? '' : rebase, loc.entry.st as Stats);
      else await packLeaf(w, rebase, leafOf(loc.entry));
      await w.finish();
    } catch (e) {
      w.abort(e);
      throw fsFailure(e, 'archive', loc.absPath);
    }
  } finally {
    release(view, loc);
  }
}

// ---- extracting ---------------------------------------------------------------------------

export interface ExtractOptions {
  /** Refuse to replace a directory by a non-directory and the reverse (the docker CLI always asks). */
  noOverwriteDirNonDir: boolean;
  /** The owner of every entry (`copyUIDGID` with a container user); otherwise the archive's. */
  chown?: { uid: number; gid: number };
  /** The container's `--read-only`. */
  readonlyRootfs: boolean;
}

interface Meta {
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch (fractional with PAX). */
  mtime: number;
}

function metaOf(h: tar.Header): Meta {
  const pax = (h as { pax?: Record<string, string> | null }).pax ?? undefined;
  const num = (v: string | undefined, dflt: number): number => {
    if (v === undefined) return dflt;
    const n = Number(v);
    return Number.isFinite(n) ? n : dflt;
  };
  return {
    mode: (h.mode ?? 0) & 0o7777,
    uid: num(pax?.['uid'], h.uid ?? 0),
    gid: num(pax?.['gid'], h.gid ?? 0),
    mtime: num(pax?.['mtime'], (h.mtime?.getTime() ?? 0) / 1000),
  };
}

function toBuffer(c: unknown): Buffer {
  if (Buffer.isBuffer(c)) return c;
  if (typeof c === 'string') return Buffer.from(c);
  const u = c as Uint8Array;
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/** The tar inside `input`: plain, or gzip-compressed (as Docker's DecompressStream accepts). */
async function* plainTar(input: AsyncIterable<unknown>): AsyncGenerator<Buffer> {
  const it = input[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  let ended = false;
  try {
    while (head.length < 2) {
      const r = await it.next();
      if (r.done === true) {
        ended = true;
        break;
      }
      head = Buffer.concat([head, toBuffer(r.value)]);
    }
    async function* all(): AsyncGenerator<Buffer> {
      if (head.length > 0) yield head;
      while (!ended) {
        const r = await it.next();
        if (r.done === true) {
          ended = true;
          return;
        }
        yield toBuffer(r.value);
      }
    }
    if (head[0] === 0x1f && head[1] === 0x8b) {
      const gunzip = createGunzip();
      const piping = pipeline(Readable.from(all()), gunzip).catch((e: unknown) => {
        gunzip.destroy(e instanceof Error ? e : new Error(String(e)));
      });
      for await (const c of gunzip) yield c as Buffer;
      await piping;
    } else yield* all();
  } finally {
    if (!ended) await it.return?.();
  }
}

type Done = (e: NodeJS.ErrnoException | null) => void;
const callback = (res: () => void, rej: (e: unknown) => void): Done => (e) => (e ? rej(e) : res());
const writeAll = (fd: number, chunks: Buffer[]): Promise<void> => new Promise((res, rej) => fs.writev(fd, chunks, (e) => (e ? rej(e) : res())));
const fchown = (fd: number, uid: number, gid: number): Promise<void> => new Promise((res, rej) => fs.fchown(fd, uid, gid, callback(res, rej)));
const fchmod = (fd: number, mode: number): Promise<void> => new Promise((res, rej) => fs.fchmod(fd, mode, callback(res, rej)));
const futimes = (fd: number, t: number): Promise<void> => new Promise((res, rej) => fs.futimes(fd, t, t, callback(res, rej)));

/** Removes `name` in the directory open as `dirFd`; a tree through descriptors only (never a path walk). */
async function removeAt(dirFd: number, name: string): Promise<void> {
  const p = fdPath(dirFd, name);
  try {
    await fs.promises.unlink(p);
    return;
  } catch (e) {
    if (errno(e) === 'ENOENT') return;
    if (errno(e) !== 'EISDIR' && errno(e) !== 'EPERM') throw e;
  }
  const sub = await openFd(p, DIR_FLAGS);
  try {
    for (const n of await fs.promises.readdir(fdPath(sub))) await removeAt(sub, n);
  } finally {
    await closeFd(sub);
  }
  await fs.promises.rmdir(p);
}

/** Writes of small files and symlinks in flight at most (the layer unpacker's approach). */
const MAX_JOBS = 32;

class Extractor {
  /** The cursor of the last entry's parent directory, reused while entries stay in it. */
  private cache: { tarParent: string; cursor: Cursor<Dir> } | undefined;
  private readonly dirs: { rel: string; meta: Meta }[] = [];
  /** Background writes, and the one in flight for each path (later entries there wait for it). */
  private readonly jobs = new Set<Promise<void>>();
  private readonly pendingAt = new Map<string, Promise<void>>();
  private failure: unknown;

  constructor(
    private readonly view: ContainerView,
    private readonly dest: Cursor<Dir>,
    private readonly destPath: string,
    private readonly opts: ExtractOptions,
  ) {}

  close(): void {
    this.dropCache();
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  /** Runs `job` (which writes `rel` in `dir`) in the background, a bounded number at a time. */
  private async schedule(rel: string, dir: Dir, job: () => Promise<void>): Promise<void> {
    while (this.jobs.size >= MAX_JOBS) await Promise.race(this.jobs);
    this.throwIfFailed();
    const d = retainDir(dir);
    const p: Promise<void> = job()
      .catch((e: unknown) => {
        this.failure ??= fsFailure(e, 'open', `/${rel}`);
      })
      .finally(() => {
        releaseDir(d);
        this.jobs.delete(p);
        if (this.pendingAt.get(rel) === p) this.pendingAt.delete(rel);
      });
    this.jobs.add(p);
    this.pendingAt.set(rel, p);
  }

  /** Waits for every background write; the first failure is thrown. */
  async drain(): Promise<void> {
    await this.settle();
    this.throwIfFailed();
  }

  /** Waits for every background write (after a failure: nothing may outlive the extraction). */
  async settle(): Promise<void> {
    while (this.jobs.size > 0) await Promise.allSettled([...this.jobs]);
  }

  private dropCache(): void {
    if (this.cache) releaseCursor(this.view, this.cache.cursor);
    this.cache = undefined;
  }

  /** Refuses writes into a read-only volume, or into a read-only root filesystem. */
  checkWritable(rel: string): void {
    const m = this.view.mountOf(rel);
    if (m !== undefined) {
      if (!m.point.RW) throw new InvalidArgument('mounted volume is marked read-only');
    } else if (this.opts.readonlyRootfs) throw new InvalidArgument('container rootfs is marked read-only');
  }

  private ids(meta: Meta): { uid: number; gid: number } | undefined {
    if (!IS_ROOT) return undefined;
    return this.opts.chown ?? { uid: meta.uid, gid: meta.gid };
  }

  /** The (existing, created if need be) directory an entry goes in, resolved in the container's scope. */
  private async parentOf(tarParent: string): Promise<Cursor<Dir>> {
    if (this.cache?.tarParent === tarParent) return this.cache.cursor;
    this.dropCache();
    const at = `/${joinRel(relOf(this.dest), tarParent)}`;
    // An earlier entry of this archive may still be being written at one of the parent's
    // components (a symlink it planted, say): resolve only once those writes are done.
    const parts = at.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) await this.pendingAt.get(parts.slice(0, i).join('/'));
    let c: Cursor<Dir>;
    try {
      c = await resolveInScope(this.view, tarParent, { followFinal: true, from: this.dest });
    } catch (e) {
      throw e instanceof ScopeError ? new InvalidArgument(`mkdir ${at}: not a directory`) : fsFailure(e, 'lstat', at);
    }
    try {
      for (let i = 0; i < c.parts.length; i++) {
        const kind = c.kinds[i];
        if (kind === 'dir') continue;
        if (kind !== 'missing') throw new InvalidArgument(`mkdir /${c.parts.slice(0, i + 1).join('/')}: not a directory`);
        // A directory the archive implies: made like MkdirAll, 0755, owned by root.
        const top = c.stack[c.stack.length - 1] as Dir;
        const parentRel = c.parts.slice(0, i).join('/');
        const name = c.parts[i] as string;
        this.checkWritable(parentRel);
        try {
          await fs.promises.mkdir(fdPath(top.fd, name), 0o755);
          if (IS_ROOT) await fs.promises.lchown(fdPath(top.fd, name), 0, 0);
        } catch (e) {
          if (errno(e) !== 'EEXIST') throw fsFailure(e, 'mkdir', `/${joinRel(parentRel, name)}`);
        }
        const e = await this.view.lookup(top, parentRel, name, false);
        if (e.kind !== 'dir') throw new InvalidArgument(`mkdir /${joinRel(parentRel, name)}: not a directory`);
        c.stack.push(e.dir);
        c.kinds[i] = 'dir';
      }
    } catch (e) {
      releaseCursor(this.view, c);
      throw e;
    }
    this.cache = { tarParent, cursor: c };
    return c;
  }

  async entry(h: tar.Header, body: AsyncIterable<unknown> & { resume(): unknown }): Promise<void> {
    this.throwIfFailed();
    const type = h.type ?? 'file';
    const isFile = type === 'file' || type === 'contiguous-file';
    if (!isFile) body.resume();
    const rel = entryPath(h.name, this.destPath);
    if (rel === '') {
      // "." itself: an existing directory is kept as it is (go-archive's Unpack).
      if (isFile) body.resume();
      if (type === 'directory') return;
      throw new InvalidArgument(`cannot overwrite directory ${JSON.stringify(this.destPath)} with non-directory ${JSON.stringify(this.destPath)}`);
    }
    const parent = await this.parentOf(parentOf(rel));
    // Our own reference: replacing an entry below drops the cached cursor.
    const dir = retainDir(dirHandle(parent) as Dir);
    const parentRel = relOf(parent);
    const base = baseOf(rel);
    const targetRel = joinRel(parentRel, base);
    const abs = `/${targetRel}`;
    let keep: Dir | undefined;
    try {
      this.checkWritable(parentRel);
      await this.pendingAt.get(targetRel);
      const existing = await this.view.lookup(dir, parentRel, base, false).catch((e: unknown) => Promise.reject(fsFailure(e, 'lstat', abs)));
      if (existing.kind === 'dir' && type === 'directory') keep = existing.dir;
      else if (existing.kind !== 'missing') {
        const isDir = existing.kind === 'dir';
        if (existing.kind === 'dir') releaseDir(existing.dir);
        if (this.opts.noOverwriteDirNonDir && isDir) {
          throw new InvalidArgument(`cannot overwrite directory ${JSON.stringify(abs)} with non-directory ${JSON.stringify(this.destPath)}`);
        }
        if (this.opts.noOverwriteDirNonDir && type === 'directory') {
          throw new InvalidArgument(`cannot overwrite non-directory ${JSON.stringify(abs)} with directory ${JSON.stringify(this.destPath)}`);
        }
        if (this.view.hasMountsWithin(targetRel)) throw new InvalidArgument(`cannot replace mount point ${JSON.stringify(abs)}`);
        // Replaced, never written through: a symlink here is removed, not followed. A
        // directory's tree goes: nothing may still be writing in it.
        if (isDir) {
          await this.drain();
          this.dropCache();
        }
        await removeAt(dir.fd, base).catch((e: unknown) => Promise.reject(fsFailure(e, 'remove', abs)));
      }
      await this.create(h, type, body, metaOf(h), dir, parentRel, base, abs, keep);
    } catch (e) {
      throw fsFailure(e, type === 'directory' ? 'mkdir' : 'open', abs);
    } finally {
      releaseDir(dir);
      if (keep) releaseDir(keep);
    }
  }

  private async create(
    h: tar.Header,
    type: NonNullable<tar.Header['type']>,
    body: AsyncIterable<unknown> & { resume(): unknown },
    meta: Meta,
    dir: Dir,
    parentRel: string,
    base: string,
    abs: string,
    keep: Dir | undefined,
  ): Promise<void> {
    const ids = this.ids(meta);
    const at = fdPath(dir.fd, base);
    const targetRel = joinRel(parentRel, base);
    switch (type) {
      case 'directory': {
        let d = keep;
        if (d === undefined) {
          // Owner rwx until the end, so that a read-only mode never blocks what goes inside.
          await fs.promises.mkdir(at, 0o700 | (meta.mode & 0o777));
          const e = await this.view.lookup(dir, parentRel, base, false);
          if (e.kind !== 'dir') throw new InvalidArgument(`mkdir ${abs}: not a directory`);
          d = e.dir;
        } else {
          this.checkWritable(targetRel); // merging into a mount's root changes that mount
          retainDir(d);
        }
        try {
          if (ids) await fchown(d.fd, ids.uid, ids.gid);
        } finally {
          releaseDir(d);
        }
        this.dirs.push({ rel: targetRel, meta });
        return;
      }
      case 'file':
      case 'contiguous-file': {
        const write = async (chunks: AsyncIterable<unknown> | Buffer[]): Promise<void> => {
          const fd = await openFd(at, CREATE_FLAGS, meta.mode & 0o777);
          try {
            let batch: Buffer[] = [];
            let bytes = 0;
            for await (const c of chunks) {
              batch.push(toBuffer(c));
              bytes += batch[batch.length - 1]?.length ?? 0;
              if (bytes >= READ_CHUNK) {
                await writeAll(fd, batch);
                batch = [];
                bytes = 0;
              }
            }
            if (batch.length > 0) await writeAll(fd, batch);
            if (ids) await fchown(fd, ids.uid, ids.gid);
            await fchmod(fd, meta.mode); // after chown, which clears setuid/setgid
            await futimes(fd, meta.mtime);
          } finally {
            await closeFd(fd);
          }
        };
        if ((h.size ?? 0) > SMALL_FILE) return write(body);
        // Small: read now, written in the background (the name was cleared above).
        const chunks: Buffer[] = [];
        for await (const c of body) chunks.push(toBuffer(c));
        return this.schedule(targetRel, dir, () => write(chunks));
      }
      case 'symlink': {
        const target = h.linkname ?? '';
        return this.schedule(targetRel, dir, async () => {
          await fs.promises.symlink(target, at);
          if (ids) await fs.promises.lchown(at, ids.uid, ids.gid);
          await fs.promises.lutimes(at, meta.mtime, meta.mtime);
        });
      }
      case 'link': {
        await this.drain(); // the target may still be being written
        const linkname = h.linkname ?? '';
        const target = entryPath(linkname, this.destPath);
        if (target === '') throw new InvalidArgument(`invalid hardlink ${JSON.stringify(abs)} -> ${JSON.stringify(linkname)}`);
        let tc: Cursor<Dir>;
        try {
          tc = await resolveInScope(this.view, parentOf(target), { followFinal: true, from: this.dest });
        } catch {
          throw new InvalidArgument(`hardlink target ${JSON.stringify(linkname)} of ${JSON.stringify(abs)} does not exist`);
        }
        try {
          const tdir = dirHandle(tc);
          const te = tdir === undefined ? ({ kind: 'missing' } as const) : await this.view.lookup(tdir, relOf(tc), baseOf(target), false);
          if (te.kind === 'dir') releaseDir(te.dir);
          if (te.kind === 'missing' || te.kind === 'dir' || (te.kind === 'other' && te.mount !== undefined)) {
            throw new InvalidArgument(`hardlink target ${JSON.stringify(linkname)} of ${JSON.stringify(abs)} is not a file in the container`);
          }
          await fs.promises.link(te.path, at);
        } finally {
          releaseCursor(this.view, tc);
        }
        return;
      }
      case 'character-device':
      case 'block-device':
      case 'fifo': {
        const t = type === 'fifo' ? 'p' : type === 'character-device' ? 'c' : 'b';
        await mknod(fdPathForChild(dir.fd, base), t, h.devmajor ?? 0, h.devminor ?? 0, run, meta.mode);
        if (ids) await fs.promises.lchown(at, ids.uid, ids.gid);
        await fs.promises.lutimes(at, meta.mtime, meta.mtime);
        return;
      }
      default:
        throw new InvalidArgument(`unhandled tar header type ${String(type)} for ${JSON.stringify(h.name)}`);
    }
  }

  /** Directory modes and times last, deepest first (creating entries changes a directory's mtime). */
  async finish(): Promise<void> {
    await this.drain();
    this.dropCache();
    const dirs = [...this.dirs].sort((a, b) => depthOf(b.rel) - depthOf(a.rel));
    for (const { rel, meta } of dirs) {
      const d = await this.view.openCanonical(rel);
      if (d === undefined) continue; // replaced by a later entry
      try {
        await fchmod(d.fd, meta.mode);
        await futimes(d.fd, meta.mtime);
      } catch (e) {
        throw fsFailure(e, 'chmod', `/${rel}`);
      } finally {
        releaseDir(d);
      }
    }
  }
}

/**
 * `PUT /containers/{id}/archive`: extracts the tar (plain or gzip) in `input` into the
 * directory `path`, which must exist (a final symlink is followed, in the container's scope).
 * Entry names may not climb above it; parents of entries are resolved in the container's
 * scope too, so a symlink in the container can redirect an entry only within the container.
 * An existing entry is replaced (a symlink is removed, never written through), a directory
 * merged; with `noOverwriteDirNonDir` a directory and a non-directory never replace each other.
 */
export async function extractToDir(
  view: ContainerView,
  path: string,
  container: string,
  input: AsyncIterable<unknown>,
  opts: ExtractOptions,
): Promise<void> {
  const absPath = containerAbsPath(path);
  let dest: Cursor<Dir>;
  try {
    dest = await resolveInScope(view, absPath, { followFinal: true });
  } catch (e) {
    throw scopeFailure(e, absPath);
  }
  const x = new Extractor(view, dest, absPath, opts);
  try {
    const k = lastKind(dest);
    if (k === 'missing') throw notFound(path, container);
    if (k !== 'dir') throw new InvalidArgument('extraction point is not a directory');
    x.checkWritable(relOf(dest));
    const extract = tar.extract();
    const fed = pipeline(Readable.from(plainTar(input)), extract);
    fed.catch(() => undefined);
    try {
      for await (const entry of extract) await x.entry(entry.header, entry);
      await fed;
    } catch (e) {
      extract.destroy();
      if (e instanceof BerthError || errno(e) !== undefined) throw e;
      throw new InvalidArgument(`invalid tar archive: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    await x.finish();
  } finally {
    await x.settle();
    x.close();
    releaseCursor(view, dest);
  }
}

// ---- helpers for the API ----------------------------------------------------------------

/** Reads a small regular file of the container (resolved in its scope), undefined if there is none. */
export async function readContainerFile(view: ContainerView, path: string): Promise<string | undefined> {
  const c = await resolveInScope(view, path, { followFinal: true }).catch(() => undefined);
  if (c === undefined) return undefined;
  try {
    if (lastKind(c) !== 'other') return undefined;
    const parent = c.stack[c.stack.length - 1] as Dir;
    const e = await view.lookup(parent, c.parts.slice(0, -1).join('/'), c.parts[c.parts.length - 1] as string, false);
    if (e.kind === 'dir') releaseDir(e.dir);
    if (e.kind !== 'other') return undefined;
    const f = await openRegularFile(e.path, e.mount !== undefined).catch(() => undefined);
    if (f === undefined) return undefined;
    const fd = f.fd;
    try {
      if (f.st.size > MAX_ID_FILE) return undefined;
      const buf = Buffer.alloc(f.st.size);
      let pos = 0;
      while (pos < buf.length) {
        const n = await new Promise<number>((res, rej) => fs.read(fd, buf, pos, buf.length - pos, pos, (e, r) => (e ? rej(e) : res(r))));
        if (n === 0) break;
        pos += n;
      }
      return buf.subarray(0, pos).toString('utf8');
    } finally {
      await closeFd(fd);
    }
  } finally {
    releaseCursor(view, c);
  }
}

/**
 * `mkdir -p` of `path` inside the container (its WorkingDir, say): resolved in its scope, so
 * that a symlink in the image can only lead to a directory of the container, never one of the
 * host; missing directories are made 0755 (owned by the daemon's user).
 */
export async function mkdirAllInScope(view: ContainerView, path: string): Promise<void> {
  const absPath = cleanPath(`/${path}`);
  let c: Cursor<Dir>;
  try {
    c = await resolveInScope(view, absPath, { followFinal: true });
  } catch (e) {
    throw scopeFailure(e, absPath);
  }
  try {
    for (let i = 0; i < c.parts.length; i++) {
      const kind = c.kinds[i];
      if (kind === 'dir') continue;
      const at = `/${c.parts.slice(0, i + 1).join('/')}`;
      if (kind !== 'missing') throw new InvalidArgument(`mkdir ${at}: not a directory`);
      const top = c.stack[c.stack.length - 1] as Dir;
      const name = c.parts[i] as string;
      await fs.promises.mkdir(fdPath(top.fd, name), 0o755).catch((e: unknown) => (errno(e) === 'EEXIST' ? undefined : Promise.reject(fsFailure(e, 'mkdir', at))));
      const e = await view.lookup(top, c.parts.slice(0, i).join('/'), name, false);
      if (e.kind !== 'dir') throw new InvalidArgument(`mkdir ${at}: not a directory`);
      c.stack.push(e.dir);
      c.kinds[i] = 'dir';
    }
  } finally {
    releaseCursor(view, c);
  }
}

/** uid and gid of the container's `User` (`copyUIDGID`), from its own /etc/passwd and /etc/group. */
export async function containerUserIds(view: ContainerView, user: string): Promise<{ uid: number; gid: number }> {
  const passwd = (await readContainerFile(view, '/etc/passwd')) ?? '';
  const group = (await readContainerFile(view, '/etc/group')) ?? '';
  const u = resolveUser(user, passwd, group);
  return { uid: u.uid, gid: u.gid };
}

const inUse = new Map<string, number>();

/**
 * The generated /etc/hostname, /etc/hosts and /etc/resolv.conf a started container has
 * bind-mounted (another container's with `--network container:<x>`), as Docker's `cp` sees
 * them; a user mount at the same place wins.
 */
function networkFiles(containers: ContainerService, rec: ContainerRecord, user: readonly MountPoint[]): MountPoint[] {
  const mode = rec.hostConfig.NetworkMode ?? '';
  const owner = mode.startsWith('container:') ? (containers.find(mode.slice('container:'.length)) ?? rec) : rec;
  const dir = containers.etcDir(owner.id);
  const taken = new Set(user.map((m) => cleanPath(`/${m.Destination}`)));
  return ['hostname', 'hosts', 'resolv.conf']
    .filter((f) => !taken.has(`/etc/${f}`) && existsSync(join(dir, f)))
    .map((f) => ({ Type: 'bind', Source: join(dir, f), Destination: `/etc/${f}`, Mode: '', RW: rec.hostConfig.ReadonlyRootfs !== true, Propagation: 'rprivate' }));
}

/**
 * Runs `fn` on a view of the container's filesystem: its root mounted if it was not (and
 * unmounted afterwards when the container is not running and no other copy uses it), its
 * mounts from `mountPoints`, its tmpfs mounts through its process while it runs.
 */
export async function withContainerFs<T>(
  containers: ContainerService,
  idOrName: string,
  fn: (view: ContainerView, rec: ContainerRecord) => Promise<T>,
): Promise<T> {
  const rec = containers.get(idOrName);
  inUse.set(rec.id, (inUse.get(rec.id) ?? 0) + 1);
  try {
    const root = await containers.mountRoot(rec);
    const pid = rec.state.Running && rec.state.Pid > 0 ? rec.state.Pid : undefined;
    const user = containers.mountPoints(rec);
    const mounts = rec.hasBeenStarted ? [...networkFiles(containers, rec, user), ...user] : user;
    const view = await ContainerView.open({ root, mounts, ...(pid !== undefined ? { pid } : {}) });
    try {
      return await fn(view, rec);
    } finally {
      view.close();
      // Nothing of the root may stay open when it is unmounted: umount -l would keep the old
      // overlay alive next to the one the next copy mounts on the same upper dir.
      await dirsClosed();
    }
  } finally {
    const n = (inUse.get(rec.id) ?? 1) - 1;
    if (n > 0) inUse.set(rec.id, n);
    else {
      inUse.delete(rec.id);
      if (containers.find(rec.id)?.state.Running !== true) await containers.unmountRoot(rec).catch(() => undefined);
    }
  }
}
