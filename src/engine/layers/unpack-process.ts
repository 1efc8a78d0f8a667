import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Internal, InvalidArgument } from '../../core/errors.js';
import { writeOrStop } from '../../core/streams.js';
import { unpackLayer, type UnpackOptions, type UnpackResult } from './unpack.js';

/**
 * Unpacking a layer in a process of its own (unpack-main.ts). The daemon runs without V8's
 * optimising and baseline compilers so that it idles small; a layer of thousands of small
 * files then costs ~250–400 µs of interpreted JavaScript per entry. The unpack process has
 * the compilers and writes small files with blocking calls, and two of them use both cores:
 * it is worth its ~40 ms start for big layers only (`UNPACK_PROCESS_MIN_BYTES`).
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
  const env = { ...process.env };
  delete env['NODE_EXTRA_CA_CERTS'];
  delete env['NODE_OPTIONS'];
  return env;
}

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
      ended = true;
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
    if (code !== 0 || typeof r?.diffId !== 'string' || typeof r.size !== 'number' || typeof r.entries !== 'number') {
      const how = sig !== null ? `was killed by ${sig}` : `exited with ${String(code)}`;
      const stderr = Buffer.concat(err).toString('utf8').trim().split('\n').slice(-3).join('; ');
      throw new Internal(`unpacking layer: the unpack process ${how}${stderr !== '' ? `: ${stderr}` : ''}`);
    }
    return { diffId: r.diffId, size: r.size, entries: r.entries };
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** Which layers go to an unpack process: none without `script`. */
export interface UnpackPlacement {
  /** The unpack process's script (`defaultUnpackScript()`). */
  script?: string | undefined;
  /** Compressed size from which a layer goes there (`UNPACK_PROCESS_MIN_BYTES`). */
  minBytes?: number | undefined;
}

/**
 * Unpacks in an unpack process when the layer is big (`sizeHint`, its compressed bytes, at
 * least `minBytes`) and the script is there, otherwise in this process.
 */
export function unpackLayerSized(
  input: AsyncIterable<Buffer>,
  dest: string,
  sizeHint: number,
  opts: UnpackOptions & UnpackPlacement = {},
): Promise<UnpackResult> {
  const { script, minBytes, ...rest } = opts;
  if (script !== undefined && sizeHint >= (minBytes ?? UNPACK_PROCESS_MIN_BYTES) && rest.whiteouts === undefined && rest.zstd === undefined) {
    return unpackLayerInProcess(input, dest, { script, ...(rest.signal ? { signal: rest.signal } : {}) });
  }
  return unpackLayer(input, dest, rest);
}
