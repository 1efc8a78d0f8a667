/**
 * The HTTP/1.1 of berth's client that needs no streams: the request head (byte for byte what
 * node:http wrote for berth's requests), the response head, chunked bodies, and a collector
 * of a whole response for requests whose answer is read at once (`./pipe.ts`). `./wire.ts`
 * builds the streamed exchange (logs, attach, uploads) on the same parts.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** A response head: status, message and headers (lower-case names, as node:http gives them). */
export interface ResponseHead {
  statusCode: number;
  statusMessage: string;
  headers: IncomingHttpHeaders;
}

/** A response read whole. */
export interface BufferedResponse extends ResponseHead {
  body: Buffer;
}

export interface WireRequest {
  method: string;
  path: string;
  /** In the order given; `Host`, `Connection: close` and the body's framing are added as node:http adds them. */
  headers: Readonly<Record<string, string>>;
  /**
   * A Buffer goes out with the `Content-Length` the caller set; a stream (node's, or any with
   * `on`/`pause`/`resume`, such as tar-stream's) goes out chunked unless the caller set one.
   */
  body?: Buffer | NodeJS.ReadableStream;
}


/** Methods whose empty body node:http announces with `Content-Length: 0`. */
const BODYLESS = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);

/** Headers node:http keeps the first of when repeated; others are joined with `, ` (set-cookie: a list). */
const SINGLE = new Set(['age', 'authorization', 'content-length', 'content-type', 'etag', 'expires', 'from', 'host', 'if-modified-since', 'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'proxy-authorization', 'referer', 'retry-after', 'server', 'user-agent']);

export const HEAD_END = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');
export const MAX_HEAD = 64 * 1024;

/** True when a streamed body goes out in chunks: the caller gave no `Content-Length`. */
export function isChunked(req: WireRequest): boolean {
  return req.body !== undefined && !Buffer.isBuffer(req.body) && !Object.keys(req.headers).some((name) => name.toLowerCase() === 'content-length');
}

/** The request head, byte for byte what node:http's ClientRequest wrote for the same options. */
export function requestHead(req: WireRequest): string {
  let head = `${req.method} ${req.path} HTTP/1.1\r\n`;
  let host = false;
  let connection = false;
  let length = false;
  for (const [name, value] of Object.entries(req.headers)) {
    const lower = name.toLowerCase();
    if (lower === 'host') host = true;
    else if (lower === 'connection') connection = true;
    else if (lower === 'content-length' || lower === 'transfer-encoding') length = true;
    head += `${name}: ${value}\r\n`;
  }
  if (!host) head += 'Host: localhost\r\n';
  if (!connection) head += 'Connection: close\r\n';
  if (!length) {
    if (isChunked(req)) head += 'Transfer-Encoding: chunked\r\n';
    else if (req.body === undefined && !BODYLESS.has(req.method)) head += 'Content-Length: 0\r\n';
  }
  return `${head}\r\n`;
}

export function parseHead(text: string): ResponseHead {
  const lines = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0] ?? '');
  if (!m) throw Object.assign(new Error('Parse Error: Invalid response status'), { code: 'HPE_INVALID_STATUS' });
  const headers: Record<string, string | string[]> = {};
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const prev = headers[name];
    if (name === 'set-cookie') headers[name] = [...((prev as string[] | undefined) ?? []), value];
    else if (prev === undefined) headers[name] = value;
    else if (!SINGLE.has(name)) headers[name] = `${prev as string}, ${value}`;
  }
  return { statusCode: Number(m[1]), statusMessage: m[2] ?? '', headers };
}

/** Decodes a chunked body as it arrives: `push` gets the data, `done` is called after the last chunk. */
export class ChunkedDecoder {
  private buf: Buffer = Buffer.alloc(0);
  private state: 'size' | 'data' | 'data-end' | 'trailer' | 'done' = 'size';
  /** Bytes of the current chunk's data still to come. */
  private left = 0;

  constructor(
    private readonly push: (data: Buffer) => void,
    private readonly done: () => void,
  ) {}

  write(data: Buffer): void {
    this.buf = this.buf.length === 0 ? data : Buffer.concat([this.buf, data]);
    for (;;) {
      switch (this.state) {
        case 'size': {
          const end = this.buf.indexOf(CRLF);
          if (end < 0) return;
          const text = this.buf.toString('latin1', 0, end).split(';')[0]?.trim() ?? '';
          const size = /^[0-9a-fA-F]+$/.test(text) ? parseInt(text, 16) : NaN;
          if (!Number.isSafeInteger(size)) throw Object.assign(new Error('Parse Error: Invalid character in chunk size'), { code: 'HPE_INVALID_CHUNK_SIZE' });
          this.buf = this.buf.subarray(end + 2);
          this.left = size;
          this.state = size === 0 ? 'trailer' : 'data';
          break;
        }
        case 'data': {
          if (this.buf.length === 0) return;
          const take = Math.min(this.left, this.buf.length);
          const chunk = this.buf.subarray(0, take);
          this.buf = this.buf.subarray(take);
          this.left -= take;
          if (this.left === 0) this.state = 'data-end';
          this.push(chunk);
          break;
        }
        case 'data-end':
          // The CRLF after a chunk's data.
          if (this.buf.length < 2) return;
          this.buf = this.buf.subarray(2);
          this.state = 'size';
          break;
        case 'trailer': {
          // Trailer fields (the Engine API sends none) end with an empty line.
          const end = this.buf.indexOf(CRLF);
          if (end < 0) return;
          this.buf = this.buf.subarray(end + 2);
          if (end === 0) {
            this.state = 'done';
            this.done();
          }
          break;
        }
        case 'done':
          return;
      }
    }
  }
}

/** How a response's body is delimited: none, chunks, a length, or the connection's close. */
export type BodyFraming = { kind: 'none' } | { kind: 'chunked' } | { kind: 'length'; length: number } | { kind: 'close' };

/** The framing of the body after `head` (RFC 9112 section 6.3, as node:http reads it). */
export function bodyFraming(method: string, head: ResponseHead): BodyFraming {
  if (method === 'HEAD' || head.statusCode === 204 || head.statusCode === 304) return { kind: 'none' };
  const te = String(head.headers['transfer-encoding'] ?? '').toLowerCase();
  if (te.split(',').some((t) => t.trim() === 'chunked')) return { kind: 'chunked' };
  const cl = head.headers['content-length'];
  if (cl !== undefined) return Number(cl) === 0 ? { kind: 'none' } : { kind: 'length', length: Number(cl) };
  return { kind: 'close' };
}

/** The connection closed before a response head, in node:http's words. */
export function hangUp(): Error {
  return Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
}

/** The connection closed inside a framed body, in node:http's words: not a connection error, the answer had begun. */
export class CutBody extends Error {
  readonly code = 'ECONNRESET';
  constructor() {
    super('aborted');
  }
}

/**
 * Reads one response from the bytes of a connection, as `exchange` in `./wire.ts` does for a
 * stream: an interim `1xx` skipped, no body for HEAD, 204 and 304, the body by
 * `Content-Length`, chunked encoding, or until the connection closes. `write` and `end` throw
 * what the response cannot be read for; `done` gets it once whole (the connection may stay
 * open: the caller closes it).
 */
export class ResponseCollector {
  private head: Buffer = Buffer.alloc(0);
  private parsed: ResponseHead | undefined;
  private readonly chunks: Buffer[] = [];
  private feed: ((data: Buffer) => void) | undefined;
  private complete = false;

  constructor(
    private readonly method: string,
    private readonly done: (res: BufferedResponse) => void,
  ) {}

  write(data: Buffer): void {
    if (this.complete) return;
    if (this.feed !== undefined) {
      this.feed(data);
      return;
    }
    this.head = this.head.length === 0 ? data : Buffer.concat([this.head, data]);
    const end = this.head.indexOf(HEAD_END);
    if (end < 0) {
      if (this.head.length > MAX_HEAD) throw Object.assign(new Error('Parse Error: Header overflow'), { code: 'HPE_HEADER_OVERFLOW' });
      return;
    }
    const buf = this.head;
    this.head = Buffer.alloc(0);
    this.onHead(parseHead(buf.toString('latin1', 0, end)), buf.subarray(end + 4));
  }

  /** The connection has closed. */
  end(): void {
    if (this.complete) return;
    if (this.parsed === undefined) throw hangUp();
    // A body read until the close ends here; a framed one cut short is an error.
    if (this.feed !== this.push) throw new CutBody();
    this.finish();
  }

  private readonly push = (data: Buffer): void => {
    if (data.length > 0) this.chunks.push(data);
  };

  private finish(): void {
    this.complete = true;
    const body = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks);
    this.done({ ...(this.parsed as ResponseHead), body });
  }

  private onHead(parsed: ResponseHead, rest: Buffer): void {
    if (parsed.statusCode === 101) throw Object.assign(new Error('unexpected protocol upgrade'), { code: 'HPE_UNEXPECTED_UPGRADE' });
    if (parsed.statusCode >= 100 && parsed.statusCode < 200) {
      // An interim response (100 Continue): the real head follows.
      if (rest.length > 0) this.write(rest);
      return;
    }
    this.parsed = parsed;
    const framing = bodyFraming(this.method, parsed);
    if (framing.kind === 'none') {
      this.finish();
      return;
    }
    if (framing.kind === 'chunked') {
      const decoder = new ChunkedDecoder(this.push, () => this.finish());
      this.feed = (data) => decoder.write(data);
    } else if (framing.kind === 'length') {
      let left = framing.length;
      this.feed = (data) => {
        const take = data.subarray(0, left);
        left -= take.length;
        this.push(take);
        if (left === 0) this.finish();
      };
    } else {
      this.feed = this.push;
    }
    if (rest.length > 0) this.feed(rest);
  }
}
