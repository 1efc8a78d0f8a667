import { watch } from 'node:fs';
import { open, stat } from 'node:fs/promises';

/**
 * Reads a container log written by the monitor (one record per line:
 * `<RFC3339Nano> <stdout|stderr> <P|F> <text>`, P marking a partial line).
 * `follow` keeps reading as the file grows until `until()` says the writer is done.
 */
export interface LogRecord {
  stream: 'stdout' | 'stderr';
  /** RFC 3339 with nanoseconds, in UTC with a `Z`. */
  time: string;
  /** Nanoseconds since the epoch, for --since/--until. */
  nanos: bigint;
  text: string;
  partial: boolean;
}

export function parseLogLine(line: string): LogRecord | undefined {
  const a = line.indexOf(' ');
  const b = line.indexOf(' ', a + 1);
  const c = line.indexOf(' ', b + 1);
  if (a < 0 || b < 0) return undefined;
  const stream = line.slice(a + 1, b);
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  const flag = c < 0 ? line.slice(b + 1) : line.slice(b + 1, c);
  const text = c < 0 ? '' : line.slice(c + 1);
  const { time, nanos } = normaliseTime(line.slice(0, a));
  return { stream, time, nanos, text, partial: flag === 'P' };
}

/** `2026-11-23T09:17:55.920584634+00:00` → `2026-11-23T09:17:55.920584634Z` and epoch nanoseconds. */
export function normaliseTime(t: string): { time: string; nanos: bigint } {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(t);
  if (!m) return { time: t, nanos: 0n };
  const frac = (m[2] ?? '').padEnd(9, '0').slice(0, 9);
  const ms = Date.parse(`${m[1]}${m[3]}`);
  const nanos = BigInt(ms) * 1_000_000n + BigInt(frac);
  const iso = new Date(ms).toISOString().slice(0, 19);
  return { time: `${iso}.${frac}Z`, nanos };
}

export interface ReadLogOptions {
  /** Start at this byte offset of the file (attach reads only what comes after it). */
  offset?: number;
  follow?: boolean;
  /** Resolves when the writer has finished: follow stops after reading what is left. */
  done?: Promise<unknown>;
  signal?: AbortSignal;
}

/** Yields log records in order; partial lines come as records with `partial` set. */
export async function* readLog(path: string, opts: ReadLogOptions = {}): AsyncGenerator<LogRecord> {
  let offset = opts.offset ?? 0;
  let rest = '';
  let finished = false;
  void opts.done?.then(() => (finished = true), () => (finished = true));
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  let watcher: ReturnType<typeof watch> | undefined;
  const onAbort = () => {
    finished = true;
    poke();
  };
  opts.signal?.addEventListener('abort', onAbort);
  void opts.done?.then(poke, poke);
  try {
    /** Which file is being read: a new one at the same path (a restarted container's spool) starts over. */
    let identity: string | undefined;
    for (;;) {
      const lastRound = finished;
      let size = -1;
      try {
        const st = await stat(path);
        size = st.size;
        const id = `${st.ino}:${st.birthtimeMs}`;
        if (identity !== undefined && id !== identity) {
          offset = 0;
          rest = '';
          watcher?.close();
          watcher = undefined;
        }
        identity = id;
      } catch {
        size = -1;
      }
      if (size >= 0 && size < offset) offset = 0; // rotated or truncated: start over
      if (size > offset) {
        const fh = await open(path, 'r');
        try {
          const buf = Buffer.alloc(size - offset);
          const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
          offset += bytesRead;
          const text = rest + buf.subarray(0, bytesRead).toString();
          const lines = text.split('\n');
          rest = lines.pop() ?? '';
          for (const l of lines) {
            const rec = parseLogLine(l);
            if (rec) yield rec;
          }
        } finally {
          await fh.close();
        }
      }
      if (opts.follow !== true || lastRound || opts.signal?.aborted === true) return;
      if (!watcher && size >= 0) {
        try {
          watcher = watch(path, poke);
        } catch {
          watcher = undefined;
        }
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        // inotify covers writes; the timer covers a file that did not exist yet or was replaced.
        setTimeout(poke, watcher ? 1000 : 50).unref();
      });
    }
  } finally {
    watcher?.close();
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

export function logSize(path: string): Promise<number> {
  return stat(path).then((s) => s.size, () => 0);
}
