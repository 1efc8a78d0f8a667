import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';

/** One payload of Docker's multiplexed stream: 0 stdin, 1 stdout, 2 stderr. */
export interface Frame {
  stream: number;
  data: Buffer;
}

const HEADER = 8;

/**
 * Incremental decoder for Docker's stream framing: each frame is an 8-byte header
 * `[stream, 0, 0, 0, uint32 BE length]` followed by `length` payload bytes. Chunk
 * boundaries may fall anywhere, including inside a header; payloads are handed out as
 * they arrive (a frame split across chunks yields several pieces of the same stream).
 */
export class Demuxer {
  private header = Buffer.alloc(HEADER);
  private headerFill = 0;
  private stream = 0;
  private remaining = 0;

  push(chunk: Buffer): Frame[] {
    const out: Frame[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      if (this.remaining === 0) {
        const take = Math.min(HEADER - this.headerFill, chunk.length - pos);
        chunk.copy(this.header, this.headerFill, pos, pos + take);
        this.headerFill += take;
        pos += take;
        if (this.headerFill < HEADER) break;
        this.headerFill = 0;
        this.stream = this.header[0] ?? 0;
        if (this.stream > 2) throw new Error(`Unrecognized input header: ${this.stream}`);
        this.remaining = this.header.readUInt32BE(4);
        continue;
      }
      const take = Math.min(this.remaining, chunk.length - pos);
      out.push({ stream: this.stream, data: chunk.subarray(pos, pos + take) });
      this.remaining -= take;
      pos += take;
    }
    return out;
  }

  /** True when the input ended cleanly on a frame boundary. */
  get idle(): boolean {
    return this.headerFill === 0 && this.remaining === 0;
  }
}

async function write(w: Writable, data: Buffer): Promise<void> {
  if (data.length === 0) return;
  if (!w.write(data)) await once(w, 'drain');
}

function isDisconnect(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE';
}

/**
 * Copies a container output stream to stdout/stderr: demultiplexed (stdin frames go
 * to stdout, like docker's StdCopy) or, for a TTY, passed through raw.
 * Resolves when the source ends.
 */
export async function demux(
  src: Readable,
  stdout: Writable,
  stderr: Writable,
  opts: { tty?: boolean } = {},
): Promise<void> {
  const d = opts.tty ? undefined : new Demuxer();
  try {
    for await (const chunk of src) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      if (!d) {
        await write(stdout, buf);
        continue;
      }
      for (const f of d.push(buf)) await write(f.stream === 2 ? stderr : stdout, f.data);
    }
  } catch (e) {
    if (!isDisconnect(e)) throw e;
  }
}
