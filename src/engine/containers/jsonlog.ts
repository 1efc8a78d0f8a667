import { watch } from 'node:fs';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { normaliseTime, type LogRecord } from './logs.js';

/**
 * Docker's json-file log format, with its rotation: one JSON object per line,
 * `{"log":"text\n","stream":"stdout","time":"2026-11-23T09:17:55.920584634Z"}`; a partial line
 * (no trailing newline yet) is a record whose `log` does not end in `\n`. When the file would
 * exceed `maxSize`, it becomes `<path>.1` (older ones shift up to `<path>.<maxFiles-1>`) and a
 * new file starts. With `maxFiles` 1 the file is truncated instead, as Docker does.
 */

export interface RotateOptions {
  /** Bytes; 0 or less: never rotate. */
  maxSize: number;
  /** Files kept, the current one included (at least 1). */
  maxFiles: number;
}

export function formatJsonLine(r: Pick<LogRecord, 'stream' | 'time' | 'text' | 'partial'>): string {
  return `${JSON.stringify({ log: r.partial ? r.text : `${r.text}\n`, stream: r.stream, time: r.time })}\n`;
}

export function parseJsonLine(line: string): LogRecord | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (v === null || typeof v !== 'object') return undefined;
  const o = v as { log?: unknown; stream?: unknown; time?: unknown };
  if (typeof o.log !== 'string' || (o.stream !== 'stdout' && o.stream !== 'stderr') || typeof o.time !== 'string') return undefined;
  const partial = !o.log.endsWith('\n');
  const { time, nanos } = normaliseTime(o.time);
  return { stream: o.stream, time, nanos, text: partial ? o.log : o.log.slice(0, -1), partial };
}

/** The files of a log, oldest first: `<path>.<n-1>` … `<path>.1`, `<path>`. */
export function logFiles(path: string, maxFiles: number): string[] {
  const out: string[] = [];
  for (let i = Math.max(1, maxFiles) - 1; i >= 1; i--) out.push(`${path}.${i}`);
  out.push(path);
  return out;
}

/** Appends json-file lines to a log, rotating as configured. One writer per file. */
export class JsonLogWriter {
  private size = -1;

  constructor(
    readonly path: string,
    private readonly rotate: RotateOptions,
  ) {}

  async append(lines: string[]): Promise<void> {
    if (lines.length === 0) return;
    if (this.size < 0) this.size = await stat(this.path).then((s) => s.size, () => 0);
    let batch: string[] = [];
    let batchBytes = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      const fh = await open(this.path, 'a', 0o640);
      try {
        await fh.write(batch.join(''));
      } finally {
        await fh.close();
      }
      this.size += batchBytes;
      batch = [];
      batchBytes = 0;
    };
    for (const line of lines) {
      const n = Buffer.byteLength(line);
      if (this.rotate.maxSize > 0 && this.size + batchBytes > 0 && this.size + batchBytes + n > this.rotate.maxSize) {
        await flush();
        await this.rotateNow();
      }
      batch.push(line);
      batchBytes += n;
    }
    await flush();
  }

  private async rotateNow(): Promise<void> {
    const files = this.rotate.maxFiles;
    if (files <= 1) {
      await rm(this.path, { force: true });
    } else {
      await rm(`${this.path}.${files - 1}`, { force: true });
      for (let i = files - 2; i >= 1; i--) await rename(`${this.path}.${i}`, `${this.path}.${i + 1}`).catch(() => undefined);
      await rename(this.path, `${this.path}.1`).catch(() => undefined);
    }
    this.size = 0;
  }
}

export interface ReadJsonLogOptions {
  maxFiles: number;
  follow?: boolean;
  /** Resolves when the writer has finished: follow stops after reading what is left. */
  done?: Promise<unknown>;
  signal?: AbortSignal;
  /** Called each time the reader has read all there is and starts waiting for more. */
  onIdle?: () => void;
}

/**
 * Yields every record of a log in order, rotated files first. With `follow`, keeps reading the
 * current file as it grows; when it is rotated away, what was still unread in it is read
 * through the open handle before the new file is taken up.
 */
export async function* readJsonLog(path: string, opts: ReadJsonLogOptions): AsyncGenerator<LogRecord> {
  const files = logFiles(path, opts.maxFiles);
  // Rotated files are complete; read them whole, oldest first.
  for (const f of files.slice(0, -1)) {
    const fh = await open(f, 'r').catch(() => undefined);
    if (!fh) continue;
    try {
      yield* drain(fh, newPos());
    } finally {
      await fh.close();
    }
  }
  let finished = false;
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const onAbort = () => {
    finished = true;
    poke();
  };
  void opts.done?.then(onAbort, onAbort);
  opts.signal?.addEventListener('abort', onAbort);
  let fh: FileHandle | undefined;
  let ino = -1;
  let pos = newPos();
  let watcher: ReturnType<typeof watch> | undefined;
  try {
    for (;;) {
      const lastRound = finished || opts.follow !== true;
      if (!fh) {
        fh = await open(path, 'r').catch(() => undefined);
        if (fh) {
          ino = (await fh.stat()).ino;
          pos = newPos();
        }
      }
      if (fh) yield* drain(fh, pos);
      // Rotated away (or truncated with max-file=1)? Finish the old file, then take up the new one.
      const now = await stat(path).catch(() => undefined);
      if (fh && (now === undefined || now.ino !== ino || now.size < pos.offset)) {
        if (now !== undefined && now.ino === ino) pos.offset = 0;
        else {
          yield* drain(fh, pos);
          await fh.close();
          fh = undefined;
          // Rotated more than once since the last look: the files between ours and the
          // current one are complete, read them in order.
          const rotated = files.slice(0, -1);
          const inos = await Promise.all(rotated.map((f) => stat(f).then((st) => st.ino, () => -1)));
          const ours = inos.indexOf(ino);
          if (ours >= 0) {
            for (const f of rotated.slice(ours + 1)) {
              const h = await open(f, 'r').catch(() => undefined);
              if (!h) continue;
              try {
                yield* drain(h, newPos());
              } finally {
                await h.close();
              }
            }
          }
        }
        watcher?.close();
        watcher = undefined;
        if (!lastRound) continue;
      }
      if (lastRound || opts.signal?.aborted === true) return;
      opts.onIdle?.();
      if (!watcher) {
        try {
          watcher = watch(path, poke);
        } catch {
          watcher = undefined;
        }
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(poke, watcher ? 500 : 50).unref();
      });
    }
  } finally {
    watcher?.close();
    await fh?.close();
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

interface Pos {
  offset: number;
  rest: string;
  decoder: StringDecoder;
}

function newPos(): Pos {
  return { offset: 0, rest: '', decoder: new StringDecoder('utf8') };
}

async function* drain(fh: FileHandle, pos: Pos): AsyncGenerator<LogRecord> {
  const buf = Buffer.alloc(256 * 1024);
  for (;;) {
    const { bytesRead } = await fh.read(buf, 0, buf.length, pos.offset);
    if (bytesRead === 0) return;
    pos.offset += bytesRead;
    const lines = (pos.rest + pos.decoder.write(buf.subarray(0, bytesRead))).split('\n');
    pos.rest = lines.pop() ?? '';
    for (const l of lines) {
      const r = parseJsonLine(l);
      if (r) yield r;
    }
  }
}
