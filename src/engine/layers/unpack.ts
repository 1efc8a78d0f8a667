import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { chmod, lchown, link, lstat, lutimes, mkdir, readdir, readFile, rm, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { BerthError, Internal, InvalidArgument } from '../../core/errors.js';
import {
  WHITEOUT_META_PREFIX,
  WHITEOUT_OPAQUE,
  WHITEOUT_PREFIX,
  baseOf,
  depthOf,
  isWithin,
  joinRel,
  normalizeEntryName,
  parentOf,
} from './paths.js';
import { zstdDecompress, type Decompressor } from '../../sys/zstd.js';
import { defaultWhiteoutWriter, mknod, type WhiteoutWriter } from './whiteouts.js';

export interface UnpackResult {
  /** `sha256:<hex>` of the uncompressed tar stream. */
  diffId: string;
  /** Uncompressed bytes. */
  size: number;
  /** Tar entries seen (PAX/GNU extension headers not counted). */
  entries: number;
  /**
   * What the layer's files take, as Docker reports a layer's size (its overlay2 driver sums
   * the diff directory): regular files' sizes and symlinks' target lengths, each path once
   * (the last entry for it wins), hardlinks, directories, whiteouts and devices nothing.
   */
  contentSize: number;
}

export interface UnpackOptions {
  signal?: AbortSignal;
  /** Makes whiteouts and opaque markers; the default spawns mknod/setfattr once per layer. */
  whiteouts?: WhiteoutWriter;
  /** Decompresses zstd layers; the default runs the zstd program (src/sys/zstd.ts). */
  zstd?: Decompressor;
  /**
   * Makes directories, small files, symlinks and hardlinks with blocking calls instead of
   * the thread pool's: ~40% less time per entry, for a process that has nothing else to do
   * meanwhile (the unpack process, unpack-process.ts), never for the daemon's event loop.
   */
  blocking?: boolean;
}

/** A tar entry's body stream (tar-stream's streamx Source). */
interface EntryBody extends AsyncIterable<unknown> {
  resume(): unknown;
}

type Kind = 'dir' | 'file' | 'symlink' | 'special' | 'whiteout';

interface Meta {
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch (fractional with PAX). */
  mtime: number;
}

/** Files up to this size are buffered and written in the background; bigger ones stream in line. */
const SMALL_FILE = 1024 * 1024;
const MAX_JOBS = 64;
const MAX_BUFFERED = 8 * 1024 * 1024;
const WRITE_BATCH = 1024 * 1024;

const IS_ROOT = process.getuid?.() === 0;

const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

function toBuffer(c: Buffer | Uint8Array | string): Buffer {
  return typeof c === 'string' ? Buffer.from(c) : Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
}

function startsWith(buf: Buffer, magic: number[]): boolean {
  return buf.length >= magic.length && magic.every((b, i) => buf[i] === b);
}

/** The uncompressed bytes of a layer blob: plain tar passes through, gzip is inflated, zstd goes through `zstd`. */
async function* uncompressed(input: AsyncIterable<Buffer | Uint8Array | string>, zstd: Decompressor = zstdDecompress): AsyncGenerator<Buffer> {
  const it = input[Symbol.asyncIterator]();
  let head: Buffer = Buffer.alloc(0);
  let ended = false;
  try {
    while (head.length < 4) {
      const r = await it.next();
      if (r.done === true) {
        ended = true;
        break;
      }
      head = head.length === 0 ? toBuffer(r.value) : Buffer.concat([head, toBuffer(r.value)]);
    }
  } catch (e) {
    await it.return?.();
    throw e;
  }
  async function* all(): AsyncGenerator<Buffer> {
    try {
      if (head.length > 0) yield head;
      while (!ended) {
        const r = await it.next();
        if (r.done === true) return;
        yield toBuffer(r.value);
      }
    } finally {
      if (!ended) await it.return?.();
    }
  }
  if (startsWith(head, ZSTD_MAGIC)) {
    for await (const chunk of zstd(all())) yield toBuffer(chunk);
    return;
  }
  if (!startsWith(head, GZIP_MAGIC)) {
    yield* all();
    return;
  }
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  const out = pipeline(Readable.from(all(), { objectMode: false }), gunzip, () => undefined);
  try {
    for await (const chunk of out) yield chunk as Buffer;
  } catch (e) {
    if (e instanceof BerthError) throw e;
    const code = (e as { code?: string }).code;
    if (typeof code === 'string' && code.startsWith('Z_')) {
      throw new InvalidArgument(`invalid layer tar: gzip: ${(e as Error).message}`, { cause: e });
    }
    throw e;
  }
}

function isAbort(e: unknown, signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true && e === signal.reason;
}

/**
 * Class of an error raised while handling entries: ours as they are, fs failures as Internal,
 * anything else came from the tar parser (an entry body cut short, say): an invalid tar.
 */
function asEntryError(e: unknown): unknown {
  if (e instanceof BerthError) return e;
  if (e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string') {
    return new Internal(`unpacking layer: ${e.message}`, { cause: e });
  }
  if (e instanceof Error) return new InvalidArgument(`invalid layer tar: ${e.message}`, { cause: e });
  return e;
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

/**
 * Extraction state of one layer. What exists under the root is tracked in `known`: the
 * root starts empty (checked), so every parent check is a map lookup rather than an lstat,
 * and no path is ever resolved through a symlink. Small file bodies are written by
 * background jobs (bounded in count and bytes); anything that depends on a pending job
 * (a hardlink to it, a later entry replacing it) waits for it first.
 */
class Unpacker {
  private readonly known = new Map<string, Kind>();
  /** Whether `known` is the whole truth (the root was empty); otherwise unknown paths are lstat'ed. */
  private complete = true;
  private readonly pending = new Map<string, Promise<void>>();
  private jobs = 0;
  private jobBytes = 0;
  private wakers: (() => void)[] = [];
  private error: unknown;
  private readonly dirMeta = new Map<string, DirMeta>();
  private readonly whiteouts = new Set<string>();
  private readonly opaque = new Set<string>();
  private ids: Ids = { umask: 0o022, uid: -1, gid: -1, chownAlways: true };

  constructor(
    private readonly root: string,
    private readonly writer: WhiteoutWriter,
    private readonly blocking = false,
  ) {}

  async init(): Promise<void> {
    const st = await lstat(this.root);
    if (!st.isDirectory()) throw new InvalidArgument(`unpack destination ${this.root} is not a directory`);
    this.complete = (await readdir(this.root)).length === 0;
    this.ids = {
      umask: await currentUmask(),
      uid: process.geteuid?.() ?? -1,
      gid: process.getegid?.() ?? -1,
      // In a directory we did not make, a setgid bit may hand new files another group.
      chownAlways: !this.complete,
    };
  }

  private async mkdir(abs: string, mode: number): Promise<void> {
    if (this.blocking) fs.mkdirSync(abs, { mode });
    else await mkdir(abs, { mode });
  }

  private abs(rel: string): string {
    return rel === '' ? this.root : join(this.root, rel);
  }

  private async kindOf(rel: string): Promise<Kind | undefined> {
    const k = this.known.get(rel);
    if (k !== undefined || this.complete) return k;
    // Only reached when the destination was not empty; parents are known real directories.
    const st = await lstat(this.abs(rel)).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw e;
    });
    if (st === undefined) return undefined;
    const kind: Kind = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : 'special';
    this.known.set(rel, kind);
    return kind;
  }

  private throwIfFailed(): void {
    if (this.error !== undefined) throw this.error;
  }

  private wait(): Promise<void> {
    return new Promise((r) => this.wakers.push(r));
  }

  /** Waits for every background job; the first failure is thrown. */
  async drain(): Promise<void> {
    while (this.jobs > 0) await this.wait();
    this.throwIfFailed();
  }

  /** Waits for background jobs without throwing (cleanup after a failure). */
  async settle(): Promise<void> {
    while (this.jobs > 0) await this.wait();
  }

  private async capacity(bytes: number): Promise<void> {
    while (this.jobs >= MAX_JOBS || (this.jobs > 0 && this.jobBytes + bytes > MAX_BUFFERED)) await this.wait();
    this.throwIfFailed();
  }

  private schedule(rel: string, bytes: number, job: Promise<void>): void {
    this.jobs++;
    this.jobBytes += bytes;
    const p: Promise<void> = job.then(
      () => this.jobDone(rel, bytes, p),
      (e: unknown) => {
        this.error ??= asEntryError(e);
        this.jobDone(rel, bytes, p);
      },
    );
    this.pending.set(rel, p);
  }

  private jobDone(rel: string, bytes: number, p: Promise<void>): void {
    this.jobs--;
    this.jobBytes -= bytes;
    if (this.pending.get(rel) === p) this.pending.delete(rel);
    const w = this.wakers;
    this.wakers = [];
    for (const f of w) f();
  }

  /** Removes whatever is at `rel` (later entries win), with everything recorded below it. */
  private async remove(rel: string, kind: Kind): Promise<void> {
    if (kind === 'whiteout') {
      this.whiteouts.delete(rel);
      this.known.delete(rel);
      return;
    }
    if (kind === 'dir') {
      await this.drain();
      await rm(this.abs(rel), { recursive: true, force: true });
      for (const m of [this.known, this.dirMeta]) for (const k of m.keys()) if (isWithin(k, rel)) m.delete(k);
      for (const s of [this.whiteouts, this.opaque]) for (const k of s) if (isWithin(k, rel)) s.delete(k);
      return;
    }
    const p = this.pending.get(rel);
    if (p !== undefined) await p;
    this.throwIfFailed();
    if (this.blocking) fs.unlinkSync(this.abs(rel));
    else await unlink(this.abs(rel));
    this.known.delete(rel);
  }

  /** Makes sure every parent of `rel` is a real directory in the root, creating missing ones. */
  private async ensureParents(rel: string, name: string): Promise<void> {
    const parent = parentOf(rel);
    if (parent === '' || this.known.get(parent) === 'dir') return;
    let cur = '';
    for (const part of parent.split('/')) {
      cur = joinRel(cur, part);
      const k = await this.kindOf(cur);
      if (k === 'dir') continue;
      if (k === 'symlink') throw new InvalidArgument(`layer entry "${name}" goes through symlink "${cur}"`);
      if (k === 'whiteout') await this.remove(cur, k);
      else if (k !== undefined) throw new InvalidArgument(`layer entry "${name}" goes through non-directory "${cur}"`);
      await this.mkdir(this.abs(cur), 0o755);
      this.known.set(cur, 'dir');
    }
  }

  /** Checks that an existing entry (a hardlink target) is reachable through real directories only. */
  private async resolveExisting(rel: string, name: string): Promise<Kind | undefined> {
    let cur = '';
    const parts = rel.split('/');
    for (let i = 0; i < parts.length - 1; i++) {
      cur = joinRel(cur, parts[i] as string);
      const k = await this.kindOf(cur);
      if (k === 'symlink') throw new InvalidArgument(`layer entry "${name}" links through symlink "${cur}"`);
      if (k !== 'dir') return undefined;
    }
    return this.kindOf(rel);
  }

  async entry(h: tar.Header, body: EntryBody): Promise<void> {
    this.throwIfFailed();
    const name = h.name;
    const rel = normalizeEntryName(name);
    const type = h.type;
    const isFile = type === 'file' || type === 'contiguous-file';
    if (!isFile) body.resume();
    if (rel === '') {
      // The root itself ("./"): kept as the snapshotter made it, as moby does.
      if (isFile) body.resume();
      if (type !== 'directory') throw new InvalidArgument(`layer entry "${name}" replaces the root`);
      return;
    }
    const base = baseOf(rel);
    if (base.startsWith(WHITEOUT_PREFIX)) {
      if (isFile) body.resume();
      return this.whiteout(rel, base, name);
    }
    await this.ensureParents(rel, name);
    const existing = await this.kindOf(rel);
    const meta = metaOf(h);
    const abs = this.abs(rel);
    switch (type) {
      case 'directory': {
        if (existing !== 'dir') {
          if (existing !== undefined) await this.remove(rel, existing);
          // Owner rwx until the end, so that a read-only mode never blocks what goes inside.
          const mode = 0o700 | (meta.mode & 0o777);
          await this.mkdir(abs, mode);
          this.known.set(rel, 'dir');
          this.dirMeta.set(rel, { ...meta, created: mode & ~this.ids.umask });
        } else this.dirMeta.set(rel, meta);
        return;
      }
      case 'file':
      case 'contiguous-file': {
        if (existing !== undefined) await this.remove(rel, existing);
        this.known.set(rel, 'file');
        const size = h.size ?? 0;
        if (size <= SMALL_FILE) {
          await this.capacity(size);
          const chunks: Buffer[] = [];
          for await (const c of body) chunks.push(c as Buffer);
          if (this.blocking) writeSmallFileSync(abs, chunks, meta, this.ids);
          else this.schedule(rel, size, writeSmallFile(abs, chunks, meta, this.ids));
        } else {
          await writeLargeFile(abs, body as AsyncIterable<Buffer>, meta, this.ids);
        }
        return;
      }
      case 'symlink': {
        if (existing !== undefined) await this.remove(rel, existing);
        this.known.set(rel, 'symlink');
        const target = h.linkname ?? '';
        if (this.blocking) {
          makeSymlinkSync(target, abs, meta, this.ids);
          return;
        }
        await this.capacity(0);
        this.schedule(rel, 0, makeSymlink(target, abs, meta, this.ids));
        return;
      }
      case 'link': {
        const linkname = h.linkname ?? '';
        const target = normalizeEntryName(
          linkname,
          (n) => `layer entry "${name}": hardlink target "${n}" escapes the root`,
        );
        if (target === '' || target === rel) {
          throw new InvalidArgument(`layer entry "${name}": invalid hardlink target "${linkname}"`);
        }
        const tk = await this.resolveExisting(target, name);
        if (tk === undefined || tk === 'whiteout') {
          throw new InvalidArgument(`layer entry "${name}": hardlink target "${linkname}" does not exist in the layer`);
        }
        if (tk === 'dir') throw new InvalidArgument(`layer entry "${name}": hardlink target "${linkname}" is a directory`);
        const p = this.pending.get(target);
        if (p !== undefined) await p;
        this.throwIfFailed();
        if (existing !== undefined) await this.remove(rel, existing);
        if (this.blocking) fs.linkSync(this.abs(target), abs);
        else await link(this.abs(target), abs);
        this.known.set(rel, tk);
        return;
      }
      case 'character-device':
      case 'block-device':
      case 'fifo': {
        if (existing !== undefined) await this.remove(rel, existing);
        const t = type === 'fifo' ? 'p' : type === 'character-device' ? 'c' : 'b';
        await mknod(abs, t, h.devmajor ?? 0, h.devminor ?? 0);
        this.known.set(rel, 'special');
        await this.capacity(0);
        const ids = this.ids;
        this.schedule(
          rel,
          0,
          (async () => {
            if (wantChown(ids, meta)) await lchown(abs, meta.uid, meta.gid);
            await chmod(abs, meta.mode);
            await lutimes(abs, meta.mtime, meta.mtime);
          })(),
        );
        return;
      }
      default:
        throw new InvalidArgument(`invalid layer tar: entry "${name}" has unsupported type ${String(type)}`);
    }
  }

  private async whiteout(rel: string, base: string, name: string): Promise<void> {
    const dir = parentOf(rel);
    if (base === WHITEOUT_OPAQUE) {
      // The marker's parents, the opaque directory included, must be real directories.
      await this.ensureParents(rel, name);
      this.opaque.add(dir);
      return;
    }
    if (base.startsWith(WHITEOUT_META_PREFIX)) return; // aufs bookkeeping (.wh..wh.plnk etc.)
    const target = joinRel(dir, base.slice(WHITEOUT_PREFIX.length));
    const tbase = baseOf(target);
    if (tbase === '' || tbase === '.' || tbase === '..') {
      throw new InvalidArgument(`layer entry "${name}" is an invalid whiteout`);
    }
    await this.ensureParents(target, name);
    const existing = await this.kindOf(target);
    if (existing !== undefined) await this.remove(target, existing);
    this.known.set(target, 'whiteout');
    this.whiteouts.add(target);
  }

  /** `finish`'s work on one directory, with blocking calls. */
  private setDirMetaSync(rel: string): void {
    const m = this.dirMeta.get(rel) as DirMeta;
    const abs = this.abs(rel);
    if ((wantChown(this.ids, m) || m.created === undefined) && IS_ROOT) fs.lchownSync(abs, m.uid, m.gid);
    if (m.created !== m.mode) fs.chmodSync(abs, m.mode);
    fs.lutimesSync(abs, m.mtime, m.mtime);
  }

  /** After the last entry: wait for writes, make whiteouts, then directory metadata deepest first. */
  async finish(signal: AbortSignal | undefined): Promise<void> {
    await this.drain();
    signal?.throwIfAborted();
    if (this.whiteouts.size > 0 || this.opaque.size > 0) {
      await this.writer.apply(
        [...this.whiteouts].map((r) => this.abs(r)),
        [...this.opaque].map((r) => this.abs(r)),
      );
    }
    // Children first: a directory's mtime is set once nothing will be created in it any more,
    // and a read-only mode never blocks work below it.
    const byDepth = new Map<number, string[]>();
    for (const rel of this.dirMeta.keys()) {
      const d = depthOf(rel);
      const list = byDepth.get(d);
      if (list) list.push(rel);
      else byDepth.set(d, [rel]);
    }
    for (const d of [...byDepth.keys()].sort((a, b) => b - a)) {
      const rels = byDepth.get(d) as string[];
      for (let i = 0; i < rels.length; i += MAX_JOBS) {
        signal?.throwIfAborted();
        const batch = rels.slice(i, i + MAX_JOBS);
        if (this.blocking) {
          for (const rel of batch) this.setDirMetaSync(rel);
          continue;
        }
        await Promise.all(
          batch.map(async (rel) => {
            const m = this.dirMeta.get(rel) as DirMeta;
            const abs = this.abs(rel);
            if (wantChown(this.ids, m) || m.created === undefined) {
              if (IS_ROOT) await lchown(abs, m.uid, m.gid);
            }
            // After chown; a mode that mkdir (and the umask) already gave is left alone.
            if (m.created !== m.mode) await chmod(abs, m.mode);
            await lutimes(abs, m.mtime, m.mtime);
          }),
        );
      }
    }
  }
}

interface DirMeta extends Meta {
  /** The mode the directory got when this unpack created it. */
  created?: number;
}

interface Ids {
  umask: number;
  uid: number;
  gid: number;
  /** Chown even entries whose ids are the process's own. */
  chownAlways: boolean;
}

/** The process umask, read without changing it (process.umask() without arguments is deprecated). */
async function currentUmask(): Promise<number> {
  try {
    const m = /^Umask:\s*([0-7]+)$/m.exec(await readFile('/proc/self/status', 'utf8'));
    if (m?.[1] !== undefined) return parseInt(m[1], 8);
  } catch {
    // not Linux procfs: assume the worst, chmod everything
  }
  return 0o777;
}

function wantChown(ids: Ids, m: Meta): boolean {
  return IS_ROOT && (ids.chownAlways || m.uid !== ids.uid || m.gid !== ids.gid);
}

/** Whether a file created with `mode & 0o777` under the umask needs a chmod to get `mode`. */
function wantChmod(ids: Ids, mode: number): boolean {
  return (mode & 0o7000) !== 0 || (mode & ids.umask) !== 0;
}

type Done = (e: NodeJS.ErrnoException | null) => void;

/** Sets owner, mode and times through an open fd, then closes it (callback API: fewest hops). */
function finishFd(fd: number, chunks: Buffer[], meta: Meta, ids: Ids, done: Done): void {
  const close = (e: NodeJS.ErrnoException | null): void => fs.close(fd, (e2) => done(e ?? e2));
  const times = (): void => fs.futimes(fd, meta.mtime, meta.mtime, close);
  // chmod after chown, which clears setuid/setgid bits.
  const mode = (): void => {
    if (wantChmod(ids, meta.mode)) fs.fchmod(fd, meta.mode, (e) => (e ? close(e) : times()));
    else times();
  };
  const own = (): void => {
    if (wantChown(ids, meta)) fs.fchown(fd, meta.uid, meta.gid, (e) => (e ? close(e) : mode()));
    else mode();
  };
  if (chunks.length > 0) fs.writev(fd, chunks, (e) => (e ? close(e) : own()));
  else own();
}

/** O_CREAT|O_EXCL: the path was cleared before, so nothing (no symlink) is ever followed. */
function createExclusive(abs: string, meta: Meta): Promise<number> {
  return new Promise((res, rej) => fs.open(abs, 'wx', meta.mode & 0o777, (e, fd) => (e ? rej(e) : res(fd))));
}

async function writeSmallFile(abs: string, chunks: Buffer[], meta: Meta, ids: Ids): Promise<void> {
  const fd = await createExclusive(abs, meta);
  return new Promise((res, rej) => finishFd(fd, chunks, meta, ids, (e) => (e ? rej(e) : res())));
}

function writeSmallFileSync(abs: string, chunks: Buffer[], meta: Meta, ids: Ids): void {
  const fd = fs.openSync(abs, 'wx', meta.mode & 0o777);
  try {
    if (chunks.length > 0) fs.writevSync(fd, chunks);
    if (wantChown(ids, meta)) fs.fchownSync(fd, meta.uid, meta.gid);
    if (wantChmod(ids, meta.mode)) fs.fchmodSync(fd, meta.mode);
    fs.futimesSync(fd, meta.mtime, meta.mtime);
  } finally {
    fs.closeSync(fd);
  }
}

async function writeLargeFile(abs: string, body: AsyncIterable<Buffer>, meta: Meta, ids: Ids): Promise<void> {
  const fd = await createExclusive(abs, meta);
  const writev = (chunks: Buffer[]): Promise<void> =>
    new Promise((res, rej) => fs.writev(fd, chunks, (e) => (e ? rej(e) : res())));
  try {
    let batch: Buffer[] = [];
    let bytes = 0;
    for await (const c of body) {
      batch.push(c);
      bytes += c.length;
      if (bytes >= WRITE_BATCH) {
        await writev(batch);
        batch = [];
        bytes = 0;
      }
    }
    if (batch.length > 0) await writev(batch);
  } catch (e) {
    await new Promise<void>((res) => fs.close(fd, () => res()));
    throw e;
  }
  return new Promise((res, rej) => finishFd(fd, [], meta, ids, (e) => (e ? rej(e) : res())));
}

function makeSymlink(target: string, abs: string, meta: Meta, ids: Ids): Promise<void> {
  return new Promise((res, rej) =>
    fs.symlink(target, abs, (e) => {
      if (e) return rej(e);
      const times = (): void => fs.lutimes(abs, meta.mtime, meta.mtime, (e2) => (e2 ? rej(e2) : res()));
      if (wantChown(ids, meta)) fs.lchown(abs, meta.uid, meta.gid, (e3) => (e3 ? rej(e3) : times()));
      else times();
    }),
  );
}

function makeSymlinkSync(target: string, abs: string, meta: Meta, ids: Ids): void {
  fs.symlinkSync(target, abs);
  if (wantChown(ids, meta)) fs.lchownSync(abs, meta.uid, meta.gid);
  fs.lutimesSync(abs, meta.mtime, meta.mtime);
}

/**
 * Unpacks one image layer (plain, gzip- or zstd-compressed tar) into `dest`, an empty directory
 * that becomes an overlayfs lower dir. Whiteouts become overlayfs whiteouts (char device 0:0)
 * and opaque markers the `trusted.overlay.opaque=y` xattr. The diffId is the sha256 of the
 * uncompressed tar stream. On failure `dest` is left half-filled: the caller removes it.
 */
export async function unpackLayer(
  input: NodeJS.ReadableStream | AsyncIterable<Buffer>,
  dest: string,
  opts: UnpackOptions = {},
): Promise<UnpackResult> {
  const { signal } = opts;
  signal?.throwIfAborted();
  const u = new Unpacker(resolve(dest), opts.whiteouts ?? defaultWhiteoutWriter, opts.blocking === true);
  await u.init();

  const hash = createHash('sha256');
  let size = 0;
  let entries = 0;
  const sizes = new Map<string, number>();
  const extract = tar.extract();
  let failure: unknown;
  const fail = (e: unknown): void => {
    if (failure !== undefined) return;
    failure = e;
    extract.destroy(e instanceof Error ? e : new Error(String(e)));
    // Unblocks a feeder waiting on a stalled input.
    const src = input as Partial<Readable>;
    if (typeof src.destroy === 'function') src.destroy();
  };
  const onAbort = (): void => fail(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });

  const parsed = new Promise<void>((res, rej) => {
    extract.on('entry', (header, stream, next) => {
      entries++;
      countContent(sizes, header);
      // A tar cut short errors the entry's stream as well as the extractor: the extractor's
      // error handler reports it, this one keeps it from becoming an uncaught exception.
      stream.on('error', (e: Error) => fail(new InvalidArgument(`invalid layer tar: ${e.message}`, { cause: e })));
      u.entry(header, stream).then(
        () => next(),
        (e: unknown) => {
          stream.resume();
          fail(isAbort(e, signal) ? e : asEntryError(e));
        },
      );
    });
    extract.on('finish', () => res());
    extract.on('error', (e) => rej(failure ?? new InvalidArgument(`invalid layer tar: ${e.message}`, { cause: e })));
    extract.on('close', () => rej(failure ?? new InvalidArgument('invalid layer tar: stream closed early')));
  });
  parsed.catch(() => undefined);

  const feeding = (async () => {
    const source = uncompressed(input as AsyncIterable<Buffer | string>, opts.zstd);
    for await (const chunk of source) {
      if (failure !== undefined || extract.destroyed) break;
      hash.update(chunk);
      size += chunk.length;
      if (!extract.write(chunk)) {
        await new Promise<void>((res) => {
          const done = (): void => {
            extract.off('drain', done);
            extract.off('close', done);
            res();
          };
          extract.on('drain', done);
          extract.on('close', done);
        });
      }
    }
    if (failure === undefined && !extract.destroyed) extract.end(undefined);
  })().catch((e: unknown) => fail(e));

  try {
    await parsed;
    await feeding;
    if (failure !== undefined) throw failure;
    await u.finish(signal);
  } catch (e) {
    await feeding;
    await u.settle();
    if (isAbort(e, signal) || isAbort(failure, signal)) throw signal?.reason;
    throw failure ?? asEntryError(e);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  let contentSize = 0;
  for (const n of sizes.values()) if (n > 0) contentSize += n;
  return { diffId: `sha256:${hash.digest('hex')}`, size, entries, contentSize };
}

/**
 * Records an entry's share of `contentSize` under its path (-1 for a directory): a later entry
 * for the same path replaces it, and one that replaces a directory drops what was below it,
 * as the unpacker does with the files.
 */
function countContent(sizes: Map<string, number>, h: { name: string; type?: string | null; size?: number | null; linkname?: string | null }): void {
  const name = h.name.replace(/^(\.?\/)+/, '').replace(/\/+$/, '');
  const bytes =
    h.type === 'directory' ? -1 : h.type === 'file' || h.type === 'contiguous-file' ? (h.size ?? 0) : h.type === 'symlink' ? Buffer.byteLength(h.linkname ?? '') : 0;
  if (bytes !== -1 && sizes.get(name) === -1) {
    for (const k of sizes.keys()) if (k.startsWith(`${name}/`)) sizes.delete(k);
  }
  sizes.set(name, bytes);
}
