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
import { bodyFraming, ChunkedDecoder, HEAD_END, MAX_HEAD, CutBody, hangUp, isChunked, parseHead, requestHead, type ResponseHead, type WireRequest } from './http1.js';

export type { WireRequest } from './http1.js';

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

export interface WireHandlers {
  /** The response head has been read; the body follows on `res`. */
  response(res: WireResponse): void;
  /** `101 Switching Protocols`: the socket is the caller's, with the bytes after the head already unshifted. */
  upgrade(res: ResponseHead, socket: Socket): void;
  /** The request failed before a response head arrived (connection refused, reset, aborted). */
  error(err: Error): void;
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
    const framing = bodyFraming(req.method, parsed);
    if (framing.kind === 'none') {
      handlers.response(res);
      finish();
      return;
    }
    if (framing.kind === 'chunked') {
      const decoder = new ChunkedDecoder(pushBody, finish);
      feed = (data) => decoder.write(data);
    } else if (framing.kind === 'length') {
      let left = framing.length;
      feed = (data) => {
        const take = data.subarray(0, left);
        left -= take.length;
        if (take.length > 0) pushBody(take);
        if (left === 0) finish();
      };
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
      fail(hangUp());
      return;
    }
    if (res !== undefined && !complete && !res.destroyed) {
      // Read-until-close bodies end here; a framed body cut short is an error, as in node:http.
      if (feed === pushBody) res.push(null);
      else res.destroy(new CutBody());
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
