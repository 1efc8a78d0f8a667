/**
 * HTTP/1.1 on a connected socket, the part of it the Engine API uses: one request per
 * connection (`Connection: close`), a body sent whole (`Content-Length`) or streamed
 * (`Transfer-Encoding: chunked`), a response read by `Content-Length`, chunked encoding or
 * until the connection closes, and connection upgrade (attach, exec) handing back the raw
 * socket. It writes the same bytes `node:http`'s client wrote for berth's requests (header
 * order included) without loading `node:http`, whose modules and per-request machinery were
 * a large part of a short CLI command's time (bench/README.md).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';

/** A response: status, headers (lower-case names, as node:http gives them) and the body as a stream. */
export class WireResponse extends Readable {
  constructor(
    readonly statusCode: number,
    readonly statusMessage: string,
    readonly headers: IncomingHttpHeaders,
    private readonly socket: Socket,
  ) {
    super();
  }

  override _read(): void {
    this.socket.resume();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.socket.destroy();
    cb(err);
  }
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

export interface WireHandlers {
  /** The response head has been read; the body follows on `res`. */
  response(res: WireResponse): void;
  /** `101 Switching Protocols`: the socket is the caller's, with the bytes after the head already unshifted. */
  upgrade(res: { statusCode: number; statusMessage: string; headers: IncomingHttpHeaders }, socket: Socket): void;
  /** The request failed before a response head arrived (connection refused, reset, aborted). */
  error(err: Error): void;
}

/** Methods whose empty body node:http announces with `Content-Length: 0`. */
const BODYLESS = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);

/** Headers node:http keeps the first of when repeated; others are joined with `, ` (set-cookie: a list). */
const SINGLE = new Set(['age', 'authorization', 'content-length', 'content-type', 'etag', 'expires', 'from', 'host', 'if-modified-since', 'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'proxy-authorization', 'referer', 'retry-after', 'server', 'user-agent']);

const HEAD_END = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');
const MAX_HEAD = 64 * 1024;

/** True when a streamed body goes out in chunks: the caller gave no `Content-Length`. */
function isChunked(req: WireRequest): boolean {
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

function parseHead(text: string): { statusCode: number; statusMessage: string; headers: IncomingHttpHeaders } {
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

/**
 * Sends `req` on `socket` (connected or connecting) and reads the response. Exactly one of
 * the handlers' `response`, `upgrade` or `error` is called. A body stream is read only once
 * the socket has connected, so a refused connection leaves it untouched (and retryable).
 */
export function exchange(socket: Socket, req: WireRequest, handlers: WireHandlers): void {
  let settled = false;
  /** The whole body has been read. */
  let complete = false;
  let res: WireResponse | undefined;
  let head: Buffer = Buffer.alloc(0);
  let feed: ((data: Buffer) => void) | undefined;
  const isHead = req.method === 'HEAD';

  const fail = (err: Error): void => {
    if (settled) {
      if (res !== undefined && !complete) res.destroy(err);
      return;
    }
    settled = true;
    socket.destroy();
    handlers.error(err);
  };
  const finish = (): void => {
    complete = true;
    socket.removeListener('data', onData);
    if (res !== undefined) res.push(null);
    socket.destroy();
  };
  const pushBody = (data: Buffer): void => {
    if (res !== undefined && !res.push(data)) socket.pause();
  };

  const onHead = (buf: Buffer, end: number): void => {
    const parsed = parseHead(buf.toString('latin1', 0, end));
    const rest = buf.subarray(end + 4);
    if (parsed.statusCode === 101) {
      settled = true;
      socket.pause();
      socket.removeListener('data', onData);
      socket.removeListener('error', fail);
      socket.removeListener('close', onClose);
      if (rest.length > 0) socket.unshift(rest);
      handlers.upgrade(parsed, socket);
      return;
    }
    if (parsed.statusCode >= 100 && parsed.statusCode < 200) {
      // An interim response (100 Continue): the real head follows.
      head = Buffer.alloc(0);
      if (rest.length > 0) onData(rest);
      return;
    }
    res = new WireResponse(parsed.statusCode, parsed.statusMessage, parsed.headers, socket);
    settled = true;
    const te = String(parsed.headers['transfer-encoding'] ?? '').toLowerCase();
    const cl = parsed.headers['content-length'];
    if (isHead || parsed.statusCode === 204 || parsed.statusCode === 304) {
      handlers.response(res);
      finish();
      return;
    }
    if (te.split(',').some((t) => t.trim() === 'chunked')) {
      const decoder = new ChunkedDecoder(pushBody, finish);
      feed = (data) => decoder.write(data);
    } else if (cl !== undefined) {
      let left = Number(cl);
      feed = (data) => {
        const take = data.subarray(0, left);
        left -= take.length;
        if (take.length > 0) pushBody(take);
        if (left === 0) finish();
      };
      if (left === 0) {
        handlers.response(res);
        finish();
        return;
      }
    } else {
      // Neither: the body is everything until the connection closes.
      feed = pushBody;
    }
    handlers.response(res);
    if (rest.length > 0) feed(rest);
  };

  function onData(data: Buffer): void {
    try {
      if (feed !== undefined) {
        feed(data);
        return;
      }
      head = head.length === 0 ? data : Buffer.concat([head, data]);
      const end = head.indexOf(HEAD_END);
      if (end < 0) {
        if (head.length > MAX_HEAD) throw Object.assign(new Error('Parse Error: Header overflow'), { code: 'HPE_HEADER_OVERFLOW' });
        return;
      }
      const buf = head;
      head = Buffer.alloc(0);
      onHead(buf, end);
    } catch (e) {
      fail(e as Error);
    }
  }
  function onClose(): void {
    if (!settled) {
      fail(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
      return;
    }
    if (res !== undefined && !complete && !res.destroyed) {
      // Read-until-close bodies end here; a framed body cut short is an error, as in node:http.
      if (feed === pushBody) res.push(null);
      else res.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    }
  }

  socket.on('data', onData);
  socket.on('error', fail);
  socket.on('close', onClose);

  // As node:http does, the head goes out with the body's first bytes (or its end), and what is
  // written in one tick leaves in one writev: a daemon that answers from the head alone (a 404
  // before reading an upload) then rarely closes the connection while the upload is still
  // being written (EPIPE instead of its answer).
  const requestText = requestHead(req);
  let headSent = false;
  let corked = false;
  /** Writes `parts`, the head first if not yet sent; false when the socket asks to wait. */
  const write = (...parts: (string | Buffer)[]): boolean => {
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(() => {
        corked = false;
        socket.uncork();
      });
    }
    let more = true;
    if (!headSent) {
      headSent = true;
      more = socket.write(requestText, 'latin1');
    }
    for (const part of parts) more = typeof part === 'string' ? socket.write(part, 'latin1') : socket.write(part);
    return more;
  };
  const send = (): void => {
    const body = req.body;
    if (body === undefined || Buffer.isBuffer(body)) {
      write(...(body !== undefined && body.length > 0 ? [body] : []));
      return;
    }
    // A stream: as it is with the caller's Content-Length, else in chunks.
    const chunked = isChunked(req);
    body.once('error', (err: Error) => fail(err));
    body.on('data', (chunk: Buffer | string) => {
      const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (data.length === 0 || socket.destroyed) return;
      if (!(chunked ? write(`${data.length.toString(16)}\r\n`, data, '\r\n') : write(data))) {
        body.pause();
        socket.once('drain', () => body.resume());
      }
    });
    body.once('end', () => {
      if (!socket.destroyed) write(...(chunked ? ['0\r\n\r\n'] : []));
    });
  };
  if (socket.connecting) socket.once('connect', send);
  else send();
}
