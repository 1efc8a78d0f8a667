import { PassThrough, type Readable } from 'node:stream';
import type { Ctx } from './context.js';
import { frame } from './mux.js';

/**
 * The output side of attach, exec start and logs: raw bytes for a TTY, Docker's 8-byte
 * multiplexed frames otherwise; over a hijacked connection (101 UPGRADED) or a plain response.
 */
export interface RawStream {
  write(stream: 1 | 2, data: Buffer | string): void;
  end(): void;
  /** What the client sends after the request (stdin), when the connection was hijacked or streamed. */
  input: Readable;
  closed: Promise<void>;
}

export function openRawStream(ctx: Ctx, tty: boolean): RawStream {
  const contentType = tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream';
  if (ctx.hijack) {
    const { socket, head } = ctx.hijack;
    socket.write(`HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`);
    const input = new PassThrough();
    if (head.length > 0) input.write(head);
    socket.on('data', (d: Buffer) => input.write(d));
    socket.on('end', () => input.end());
    socket.on('error', () => input.end());
    socket.resume();
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    return {
      write: (s, d) => {
        if (!socket.writableEnded && !socket.destroyed) socket.write(tty ? d : frame(s, d));
      },
      end: () => {
        if (!socket.writableEnded) socket.end();
      },
      input,
      closed,
    };
  }
  const res = ctx.res;
  if (!res) throw new Error('no response to write to');
  res.writeHead(200, { 'Content-Type': contentType });
  res.flushHeaders();
  const closed = new Promise<void>((r) => res.once('close', () => r()));
  return {
    write: (s, d) => {
      if (!res.writableEnded && !res.destroyed) res.write(tty ? d : frame(s, d));
    },
    end: () => {
      if (!res.writableEnded) res.end();
    },
    input: ctx.req,
    closed,
  };
}
