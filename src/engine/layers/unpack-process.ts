import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { constants as zconst, createGunzip } from 'node:zlib';
import { Internal, InvalidArgument } from '../../core/errors.js';
import { writeOrStop } from '../../core/streams.js';
import type { Semaphore } from '../util/limit.js';
import { unpackLayer, type UnpackOptions, type UnpackResult } from './unpack.js';

/**
 * Unpacking a layer in a process of its own (unpack-main.ts). The daemon runs without V8's
 * optimising and baseline compilers so that it idles small; a layer of thousands of small
 * files then costs ~250–400 µs of interpreted JavaScript per entry. The unpack process has
 * the compilers and writes small files with blocking calls, and two of them use both cores:
 * it is worth its ~50 ms start and the bytes' trip through a pipe for big layers of many
 * small files only (`unpackLayerPlaced`).
 * Its memory is gone when it ends; the daemon's idle size is untouched.
 */

/** Compressed layer size from which the daemon unpacks in a process of its own. */
export const UNPACK_PROCESS_MIN_BYTES = 4 * 1024 * 1024;

/**
 * The unpack process's script beside this module: dist/daemon/unpack-main.js next to the
 * daemon's bundle, dist/engine/layers/unpack-main.js next to tsc's output. Undefined when
 * running from the TypeScript sources (unit tests): the daemon then unpacks in-process.
 */
export function defaultUnpackScript(): string | undefined {
  const p = fileURLToPath(new URL('./unpack-main.js', import.meta.url));
  return existsSync(p) ? p : undefined;
}


export interface ProcessUnpackOptions {
  signal?: AbortSignal;
  /** The unpack process's script (unpack-main.js). */
  script: string;
  /** The node binary; this process's by default. */
  node?: string;
}

/** The environment for the unpack process: no CA bundle to load (it does no TLS), no NODE_OPTIONS. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, [PARENT_ENV]: String(process.pid) };
  delete env['NODE_EXTRA_CA_CERTS'];
  delete env['NODE_OPTIONS'];
  return env;
}

/** The unpack process's parent, the daemon: it ends when its parent is another. */
export const PARENT_ENV = 'BERTH_UNPACK_PARENT';

/**
 * Unpacks one layer blob read from `input` into the empty directory `dest` in an unpack
 * process; same result and errors as `unpackLayer` (an invalid tar is an InvalidArgument
 * naming what is wrong). On failure or abort `dest` is left half-filled for the caller to
 * remove, as `unpackLayer` leaves it; an abort kills the process.
 */
export async function unpackLayerInProcess(
  input: AsyncIterable<Buffer>,
  dest: string,
  opts: ProcessUnpackOptions,
): Promise<UnpackResult> {
  const { signal } = opts;
  signal?.throwIfAborted();
  const child = spawn(opts.node ?? process.execPath, [opts.script, dest], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: childEnv(),
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on('data', (d: Buffer) => {
    if (err.length < 64) err.push(d);
  });
  // The process stops reading when it fails (an invalid tar): its exit says why.
  child.stdin.on('error', () => undefined);
  let spawnError: Error | undefined;
  const exited = new Promise<{ code: number | null; sig: NodeJS.Signals | null }>((res) => {
    child.once('error', (e) => {
      spawnError = e;
      res({ code: null, sig: null });
    });
    child.once('close', (code, sig) => res({ code, sig }));
  });
  let gone = false;
  void exited.then(() => (gone = true));
  const onAbort = (): void => {
    child.kill('SIGKILL');
  };
  signal?.addEventListener('abort', onAbort, { once: true });

  let feedError: unknown;
  const feeding = (async () => {
    const it = input[Symbol.asyncIterator]();
    let ended = false;
    try {
      for (;;) {
        if (gone || signal?.aborted === true) break;
        const r = await it.next();
        if (r.done === true) {
          ended = true;
          break;
        }
        if (!(await writeOrStop(child.stdin, r.value))) break;
      }
      if (ended) child.stdin.end();
      else await it.return?.();
    } catch (e) {
      // The input failed (a download cut short): the process must not take a short tar
      // for a whole one.
      feedError = e;
      child.kill('SIGKILL');
    }
  })();

  try {
    const { code, sig } = await exited;
    // The process read its stdin to the end when it succeeded; when it failed, the feeder
    // stops at the next chunk (an input that stalls must not hold back the error).
    if (code === 0) await feeding;
    if (signal?.aborted === true) throw signal.reason;
    if (feedError !== undefined) throw feedError;
    if (spawnError !== undefined) throw new Internal(`unpacking layer: starting ${opts.script}: ${spawnError.message}`, { cause: spawnError });
    const text = Buffer.concat(out).toString('utf8').trim();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text.slice(text.lastIndexOf('\n') + 1));
    } catch {
      parsed = undefined;
    }
    const failure = (parsed as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    if (failure !== undefined) {
      const message = String(failure.message);
      throw failure.code === 'invalid_argument' ? new InvalidArgument(message) : new Internal(message);
    }
    const r = parsed as Partial<UnpackResult> | undefined;
    if (code !== 0 || typeof r?.diffId !== 'string' || typeof r.size !== 'number' || typeof r.entries !== 'number' || typeof r.contentSize !== 'number') {
      const how = sig !== null ? `was killed by ${sig}` : `exited with ${String(code)}`;
      const stderr = Buffer.concat(err).toString('utf8').trim().split('\n').slice(-3).join('; ');
      throw new Internal(`unpacking layer: the unpack process ${how}${stderr !== '' ? `: ${stderr}` : ''}`);
    }
    return { diffId: r.diffId, size: r.size, entries: r.entries, contentSize: r.contentSize };
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * Which layers go to an unpack process (none without `script`): `auto` those of at least
 * `UNPACK_PROCESS_MIN_BYTES` whose beginning shows many small files (`manySmallFiles`), `always`
 * every layer, `never` none.
 */
export interface UnpackPlacement {
  /** The unpack process's script (`defaultUnpackScript()`). */
  script?: string | undefined;
  mode?: 'auto' | 'always' | 'never';
  /** Limits the unpack processes running at once (none: no limit). */
  slots?: Semaphore | undefined;
}

/** Compressed bytes of a layer looked at before placing it. */
export const PLACEMENT_PEEK_BYTES = 1024 * 1024;
/** Inflated bytes of that looked at, at most (a MiB of zeros inflates to a GiB). */
const PLACEMENT_INFLATE_BYTES = 16 * 1024 * 1024;
/** Mean entry size (headers and data) under which a layer is one of many small files. */
const SMALL_MEAN_BYTES = 64 * 1024;
/** Fewer entries than this in the beginning of a layer say nothing: it stays in the daemon. */
const MIN_ENTRIES_SEEN = 8;
/** As many entries as this in the beginning of a layer are many, whatever their sizes. */
const MANY_ENTRIES_SEEN = 16;

/**
 * How a plain tar begins: entries whose headers lie in `buf`, and where the data of the last
 * of them ends (past `buf` when a file goes on beyond it). A rough walk over ustar headers
 * (PAX and GNU extension headers count as entries), for placing a layer only: the unpacker
 * checks everything.
 */
export function tarHead(buf: Buffer): { entries: number; end: number } {
  let off = 0;
  let entries = 0;
  while (off + 512 <= buf.length) {
    const h = buf.subarray(off, off + 512);
    if (h[0] === 0) break; // the end-of-archive blocks (or garbage)
    const field = h.subarray(124, 136);
    let size = 0;
    if (((field[0] as number) & 0x80) !== 0) {
      // base-256 (files of 8 GiB and more)
      for (let i = 1; i < field.length; i++) size = size * 256 + (field[i] as number);
    } else {
      const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
      size = text === '' ? 0 : parseInt(text, 8);
      if (!Number.isFinite(size)) break;
    }
    entries++;
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return { entries, end: off };
}

/**
 * Whether a layer whose blob begins with `head` (gzip or plain; a prefix of it) looks like
 * many small files, the layers an unpack process is worth its start for. A layer of big files
 * unpacks as fast in the daemon, which spends little per byte, without the process's start
 * and the bytes' trip through a pipe. zstd layers and anything unreadable: false.
 */
export async function manySmallFiles(head: Buffer): Promise<boolean> {
  let tarBytes = head;
  if (head[0] === 0x1f && head[1] === 0x8b) {
    tarBytes = await inflatePrefix(head, PLACEMENT_INFLATE_BYTES);
    if (tarBytes.length === 0) return false;
  } else if (head.subarray(257, 262).toString('latin1') !== 'ustar') {
    return false;
  }
  // A big file early in a layer (node_modules begins with a 10 MB binary) does not make it a
  // layer of big files: many entries in the first MiB are enough.
  const { entries, end } = tarHead(tarBytes);
  return entries >= MANY_ENTRIES_SEEN || (entries >= MIN_ENTRIES_SEEN && end / entries < SMALL_MEAN_BYTES);
}

/**
 * Inflates the beginning of a gzip stream (`gz`, a prefix of one), stopping at `limit` bytes;
 * what inflated before an error (garbage, a cut) counts, nothing when nothing did.
 */
function inflatePrefix(gz: Buffer, limit: number): Promise<Buffer> {
  return new Promise((resolve) => {
    // Z_SYNC_FLUSH: the end of a prefix is not an error.
    const z = createGunzip({ finishFlush: zconst.Z_SYNC_FLUSH });
    const out: Buffer[] = [];
    let n = 0;
    const done = (): void => resolve(Buffer.concat(out).subarray(0, limit));
    z.on('data', (c: Buffer) => {
      out.push(c);
      n += c.length;
      if (n >= limit) z.destroy();
    });
    z.once('end', done);
    z.once('close', done);
    z.once('error', () => undefined);
    z.end(gz);
  });
}

/** Reads up to `bytes` from the start of `input`; `all` yields those again, then the rest. */
async function peek(input: AsyncIterable<Buffer>, bytes: number): Promise<{ head: Buffer; all: AsyncIterable<Buffer> }> {
  const it = input[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let have = 0;
  let done = false;
  try {
    while (have < bytes) {
      const r = await it.next();
      if (r.done === true) {
        done = true;
        break;
      }
      chunks.push(r.value);
      have += r.value.length;
    }
  } catch (e) {
    // The input failed while peeked at: the unpacker meets the same failure after the bytes.
    const failure = e;
    return {
      head: Buffer.concat(chunks),
      all: (async function* () {
        yield* chunks;
        throw failure;
      })(),
    };
  }
  const all = async function* (): AsyncGenerator<Buffer> {
    yield* chunks;
    if (done) return;
    let finished = false;
    try {
      for (;;) {
        const r = await it.next();
        if (r.done === true) break;
        yield r.value;
      }
      finished = true;
    } finally {
      if (!finished) await it.return?.();
    }
  };
  return { head: Buffer.concat(chunks), all: all() };
}

/**
 * Unpacks a layer blob in an unpack process or in this one (`opts.mode`; `sizeHint`, its
 * compressed size, rules out small layers before any peeking).
 */
export async function unpackLayerPlaced(
  input: AsyncIterable<Buffer>,
  dest: string,
  sizeHint: number,
  opts: UnpackOptions & UnpackPlacement = {},
): Promise<UnpackResult> {
  const { script, mode = 'auto', slots, ...rest } = opts;
  const eligible = script !== undefined && mode !== 'never' && rest.whiteouts === undefined && rest.zstd === undefined;
  if (!eligible || (mode === 'auto' && sizeHint < UNPACK_PROCESS_MIN_BYTES)) return unpackLayer(input, dest, rest);
  let src = input;
  if (mode === 'auto') {
    const { head, all } = await peek(input, PLACEMENT_PEEK_BYTES);
    src = all;
    if (!(await manySmallFiles(head))) return unpackLayer(src, dest, rest);
  }
  // A limited number of unpack processes at once (each may take ~100 MB while it runs): a
  // layer waits for one to end (its download waits meanwhile: the cores are busy anyway).
  // `always` is always at once.
  const release = mode === 'auto' && slots !== undefined ? await slots.acquire(rest.signal) : undefined;
  try {
    return await unpackLayerInProcess(src, dest, { script, ...(rest.signal ? { signal: rest.signal } : {}) });
  } finally {
    release?.();
  }
}
