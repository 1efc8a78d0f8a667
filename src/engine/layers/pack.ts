import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { lstat, open, readlink } from 'node:fs/promises';
import { resolve } from 'node:path';
import tar from 'tar-stream';
import { BerthError, Internal } from '../../core/errors.js';
import { WHITEOUT_OPAQUE, WHITEOUT_PREFIX, baseOf, devMajor, devMinor, joinRel, parentOf } from './paths.js';
import { walkTree, type WalkItem } from './walk.js';
import { defaultOpaqueReader, type OpaqueReader } from './whiteouts.js';

export interface PackDiffOptions {
  /** Tells opaque directories; the default spawns getfattr once. */
  readOpaque?: OpaqueReader;
}

export interface PackTreeOptions {
  /** Puts every entry under this directory name (which then gets an entry of its own). */
  prefix?: string;
}

type HeaderArg = Parameters<tar.Pack['entry']>[0];

/** Files up to this size are read ahead (in parallel) while earlier entries are written. */
const SMALL_FILE = 1024 * 1024;
const READ_AHEAD_FILES = 32;
const READ_AHEAD_BYTES = 16 * 1024 * 1024;
const READ_CHUNK = 1024 * 1024;
const OUT_BATCH = 256 * 1024;
/** Largest id the 8-byte octal ustar field holds as tar-stream writes it; above it goes to PAX. */
const MAX_USTAR_ID = 0o777777;

interface Plan {
  item: WalkItem;
  header: HeaderArg;
  /** Whether the entry carries the file's content. */
  content: boolean;
}

function baseHeader(item: WalkItem, name: string): HeaderArg {
  const { st } = item;
  const h: HeaderArg = {
    name,
    // The type bits keep the mode non-zero: tar-stream replaces a 0 mode by its default.
    mode: st.mode,
    uid: st.uid,
    gid: st.gid,
    mtime: new Date(Math.max(0, Math.floor(st.mtimeMs / 1000)) * 1000),
  };
  if (st.uid > MAX_USTAR_ID || st.gid > MAX_USTAR_ID) h.pax = { uid: String(st.uid), gid: String(st.gid) };
  return h;
}

/**
 * Turns walked items into tar headers. `whiteouts` converts overlayfs whiteouts (char 0:0)
 * into `.wh.` entries and adds `.wh..wh..opq` after opaque directories.
 */
async function plan(
  items: WalkItem[],
  nameOf: (rel: string) => string,
  whiteouts: boolean,
  opaque: Set<string>,
): Promise<Plan[]> {
  const plans: Plan[] = [];
  const inodes = new Map<string, string>();
  for (const item of items) {
    const { st, rel } = item;
    const name = nameOf(rel);
    if (st.isDirectory()) {
      // Directory names end in '/', as GNU tar and Go's archive/tar write them.
      plans.push({ item, header: { ...baseHeader(item, `${name}/`), type: 'directory' }, content: false });
      if (whiteouts && opaque.has(rel)) {
        const h = baseHeader(item, `${name}/${WHITEOUT_OPAQUE}`);
        plans.push({ item, header: { ...h, type: 'file', size: 0, mode: 0o100000 | (st.mode & 0o777) }, content: false });
      }
      continue;
    }
    if (whiteouts && st.isCharacterDevice() && st.rdev === 0) {
      const h = baseHeader(item, nameOf(joinRel(parentOf(rel), WHITEOUT_PREFIX + baseOf(rel))));
      plans.push({ item, header: { ...h, type: 'file', size: 0, mode: 0o100600 }, content: false });
      continue;
    }
    if (st.isSocket()) continue; // tar has no sockets (moby skips them too)
    if (st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      const first = inodes.get(key);
      if (first !== undefined) {
        plans.push({ item, header: { ...baseHeader(item, name), type: 'link', linkname: first, size: 0 }, content: false });
        continue;
      }
      inodes.set(key, name);
    }
    const h = baseHeader(item, name);
    if (st.isFile()) plans.push({ item, header: { ...h, type: 'file', size: st.size }, content: true });
    else if (st.isSymbolicLink()) {
      plans.push({ item, header: { ...h, type: 'symlink', linkname: await readlink(item.abs) }, content: false });
    } else if (st.isCharacterDevice() || st.isBlockDevice()) {
      plans.push({
        item,
        header: {
          ...h,
          type: st.isCharacterDevice() ? 'character-device' : 'block-device',
          devmajor: devMajor(st.rdev),
          devminor: devMinor(st.rdev),
        },
        content: false,
      });
    } else if (st.isFIFO()) plans.push({ item, header: { ...h, type: 'fifo' }, content: false });
  }
  return plans;
}

/**
 * Reads a small file whose size is known (callback API: open, one read, close). One byte more
 * is asked for, so a file that grew since it was stat'ed shows as a length mismatch.
 */
function readSmall(abs: string, size: number): Promise<Buffer> {
  return new Promise((res, rej) => {
    fs.open(abs, 'r', (err, fd) => {
      if (err) return rej(err);
      const buf = Buffer.allocUnsafe(size + 1);
      const done = (e: NodeJS.ErrnoException | null, n: number): void =>
        fs.close(fd, (e2) => (e ? rej(e) : e2 ? rej(e2) : res(buf.subarray(0, n))));
      const step = (off: number): void =>
        fs.read(fd, buf, off, buf.length - off, off, (e, n) => {
          if (e) return done(e, off);
          if (n === 0 || off + n === buf.length) return done(null, off + n);
          step(off + n);
        });
      step(0);
    });
  });
}

function changed(rel: string): Internal {
  return new Internal(`${rel} changed size while it was being packed`);
}

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
      rej(new Internal('output stream closed before the tar was written'));
    };
    emitter.on(event, ok);
    emitter.on('error', bad);
    emitter.on('close', closed);
  });
}

/** Writes the planned entries as a tar into `out` (then ends it); returns sha256 and size. */
async function emit(plans: Plan[], out: NodeJS.WritableStream): Promise<{ digest: string; size: number }> {
  const pack = tar.pack();
  const hash = createHash('sha256');
  let size = 0;

  const consumer = (async () => {
    // tar-stream pushes every header and padding as its own small chunk: write in batches.
    let batch: Buffer[] = [];
    let batchBytes = 0;
    const flush = async (): Promise<void> => {
      const buf = batch.length === 1 ? (batch[0] as Buffer) : Buffer.concat(batch, batchBytes);
      batch = [];
      batchBytes = 0;
      if (!out.write(buf)) await waitFor(out, 'drain');
    };
    for await (const chunk of pack) {
      const buf = chunk as Buffer;
      hash.update(buf);
      size += buf.length;
      batch.push(buf);
      batchBytes += buf.length;
      if (batchBytes >= OUT_BATCH) await flush();
    }
    if (batchBytes > 0) await flush();
  })();

  const producer = (async () => {
    // Read-ahead of small file contents, bounded in count and bytes.
    const ahead = new Map<number, Promise<Buffer>>();
    let next = 0;
    let aheadBytes = 0;
    const fill = (from: number): void => {
      if (next < from) next = from;
      while (next < plans.length && next - from < READ_AHEAD_FILES && aheadBytes < READ_AHEAD_BYTES) {
        const p = plans[next] as Plan;
        const sz = p.item.st.size;
        if (p.content && sz > 0 && sz <= SMALL_FILE) {
          const read = readSmall(p.item.abs, sz);
          read.catch(() => undefined);
          ahead.set(next, read);
          aheadBytes += sz;
        }
        next++;
      }
    };
    for (let i = 0; i < plans.length; i++) {
      fill(i);
      const p = plans[i] as Plan;
      const sz = p.item.st.size;
      if (!p.content || sz === 0) {
        await entry(pack, p.header);
        continue;
      }
      const pre = ahead.get(i);
      if (pre !== undefined) {
        ahead.delete(i);
        const buf = await pre;
        aheadBytes -= sz;
        if (buf.length !== sz) throw changed(p.item.rel);
        await entry(pack, p.header, buf);
      } else {
        await streamEntry(pack, p);
      }
    }
    pack.finalize();
  })();

  const fail = (e: unknown): void => {
    if (!pack.destroying) pack.destroy(e instanceof Error ? e : new Error(String(e)));
  };
  producer.catch(fail);
  consumer.catch(fail);
  const [p, c] = await Promise.allSettled([producer, consumer]);
  if (p.status === 'rejected') throw toPackError(p.reason);
  if (c.status === 'rejected') throw toPackError(c.reason);
  const finished = waitFor(out, 'finish');
  out.end();
  await finished;
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

function toPackError(e: unknown): unknown {
  if (e instanceof BerthError) return e;
  return new Internal(`packing layer: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}

function entry(pack: tar.Pack, header: HeaderArg, body?: Buffer): Promise<void> {
  return new Promise((res, rej) => {
    const cb = (err?: Error | null): void => (err ? rej(err) : res());
    // A file entry without a body buffer would wait for its content to be written and ended.
    if (body !== undefined || header.type === 'file') pack.entry(header, body ?? Buffer.alloc(0), cb);
    else pack.entry(header, cb);
  });
}

async function streamEntry(pack: tar.Pack, p: Plan): Promise<void> {
  const size = p.item.st.size;
  let settle: ((e?: Error | null) => void) | undefined;
  const done = new Promise<void>((res, rej) => {
    settle = (e) => (e ? rej(e) : res());
  });
  const sink = pack.entry(p.header, (e) => settle?.(e));
  const fh = await open(p.item.abs, 'r');
  try {
    let pos = 0;
    while (pos < size) {
      const want = Math.min(READ_CHUNK, size - pos);
      const buf = Buffer.allocUnsafe(want);
      const { bytesRead } = await fh.read(buf, 0, want, pos);
      if (bytesRead === 0) throw changed(p.item.rel);
      pos += bytesRead;
      if (!sink.write(bytesRead === want ? buf : buf.subarray(0, bytesRead))) await waitFor(sink, 'drain');
    }
    const { bytesRead } = await fh.read(Buffer.alloc(1), 0, 1, pos);
    if (bytesRead !== 0) throw changed(p.item.rel);
  } catch (e) {
    sink.destroy(e instanceof Error ? e : new Error(String(e)));
    throw e;
  } finally {
    await fh.close();
  }
  sink.end(undefined);
  await done;
}

/**
 * Writes the upper dir of an overlay mount as a layer tar with OCI whiteouts: a char device
 * 0:0 becomes an empty `.wh.<name>` file, an opaque directory (xattr `trusted.overlay.opaque=y`)
 * is followed by `<dir>/.wh..wh..opq`. Owners, modes, mtimes, symlinks and hardlinks are kept.
 * Ends `out`; returns the diffId and byte size of the tar.
 */
export async function packDiff(
  upperDir: string,
  out: NodeJS.WritableStream,
  opts: PackDiffOptions = {},
): Promise<{ diffId: string; size: number }> {
  const root = resolve(upperDir);
  const items = await walkTree(root);
  const dirs = items.filter((i) => i.st.isDirectory());
  const opaqueAbs = dirs.length > 0 ? await (opts.readOpaque ?? defaultOpaqueReader)(dirs.map((d) => d.abs)) : new Set<string>();
  const opaque = new Set(dirs.filter((d) => opaqueAbs.has(d.abs)).map((d) => d.rel));
  const plans = await plan(items, (rel) => rel, true, opaque);
  const { digest, size } = await emit(plans, out);
  return { diffId: digest, size };
}

/** Writes a whole directory tree as a tar, without whiteout conversion (export, import). Ends `out`. */
export async function packTree(
  dir: string,
  out: NodeJS.WritableStream,
  opts: { prefix?: string } = {},
): Promise<{ size: number }> {
  const root = resolve(dir);
  const prefix = (opts.prefix ?? '').replace(/^\/+|\/+$/g, '');
  const items = await walkTree(root);
  const nameOf = prefix === '' ? (rel: string) => rel : (rel: string) => `${prefix}/${rel}`;
  if (prefix !== '') items.unshift({ rel: '', abs: root, st: await lstat(root) });
  const plans = await plan(items, (rel) => (rel === '' ? prefix : nameOf(rel)), false, new Set());
  const { size } = await emit(plans, out);
  return { size };
}
