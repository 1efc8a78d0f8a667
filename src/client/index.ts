/**
 * @module
 * berth's Engine API client: Docker Engine API v1.44 over the daemon's unix socket,
 * with HTTP/1.1 written and read in `./http1.ts` and `./wire.ts` (one connection per request,
 * keep-alive off; the same bytes node:http sent, without loading it), connection hijacking for
 * attach and exec, Docker's stream demultiplexer and a JSON-lines progress reader. The CLI is
 * nothing but a user of this module.
 *
 * Answers read whole (`json`, `call`, `ping`) travel on libuv's pipe handle (`./pipe.ts`);
 * streams, uploads and hijacked connections on node:net, loaded when the first of them is
 * made. A short command such as `berth ps` or `berth run -d` thus never loads node:net or
 * node:stream.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex, Readable } from 'node:stream';
import { BerthError, Unavailable } from '../core/errors.js';
import { daemonError, errorText } from './errors.js';
import { CutBody, requestHead, type BufferedResponse, type WireRequest } from './http1.js';
import { pipeTransport, type PipeTransport } from './pipe.js';
import type { WireHandlers, WireResponse } from './wire.js';

export { DEFAULT_SOCKET, parseHost, resolveHost } from './host.js';
export { Demuxer, demux, type Frame } from './demux.js';
export { jsonMessages, displayJsonMessages, renderMessage, checkMessage, type JsonMessage } from './progress.js';
export { daemonError, isDaemonError, type DaemonError } from './errors.js';

export const API_VERSION = '1.44';

export type QueryValue = string | number | boolean | null | undefined | readonly string[];
/** Query parameters: `undefined`/`null` are left out, arrays repeat the key, booleans are `1`/`0`. */
export type Query = Readonly<Record<string, QueryValue>>;

export interface RequestOptions {
  query?: Query;
  /** JSON-encoded unless a Buffer, a string or a Readable (sent as is). */
  body?: unknown;
  headers?: Readonly<Record<string, string>>;
  signal?: AbortSignal;
  /** Skip the `/v1.44` prefix (for `/_ping`). */
  unversioned?: boolean;
}

export interface EngineResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The response body as a stream (for logs, events, tar archives, progress). */
  stream: Readable;
  json<T = unknown>(): Promise<T>;
  text(): Promise<string>;
  buffer(): Promise<Buffer>;
}

export interface HijackOptions {
  query?: Query;
  body?: unknown;
  headers?: Readonly<Record<string, string>>;
  /** Informational: whether the caller expects a raw (TTY) stream rather than a multiplexed one. */
  tty?: boolean;
}

export interface HijackedConnection {
  /** The raw connection: read container output from it, write stdin to it, `end()` to close stdin. */
  socket: Duplex;
  status: number;
  headers: IncomingHttpHeaders;
  /** True when the daemon answered with `application/vnd.docker.raw-stream`. */
  raw: boolean;
}

export interface EngineClientOptions {
  socketPath: string;
  apiVersion?: string;
  /**
   * Called when the daemon cannot be reached (ENOENT, ECONNREFUSED); resolving true
   * retries the request once (nothing has been sent yet). Used for daemon auto-start.
   */
  onConnectError?: (err: Error) => Promise<boolean>;
  userAgent?: string;
  /**
   * `net`: every request through node:net (what `pipe` falls back to on a node without the
   * pipe handle's bindings). Default `pipe`.
   */
  transport?: 'pipe' | 'net';
}

const CONNECT_ERRORS = new Set(['ENOENT', 'ECONNREFUSED']);

/** `encodeURIComponent` that keeps `/`, `:` and `@` (image references travel unescaped, as docker sends them). */
export function pathSegment(s: string): string {
  return encodeURIComponent(s).replace(/%2F/gi, '/').replace(/%3A/gi, ':').replace(/%40/g, '@');
}

export function buildQuery(query: Query | undefined): string {
  if (!query) return '';
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null) continue;
    if (Array.isArray(v)) for (const item of v as readonly string[]) q.append(k, item);
    else if (typeof v === 'boolean') q.set(k, v ? '1' : '0');
    else q.set(k, String(v));
  }
  const s = q.toString();
  return s === '' ? '' : `?${s}`;
}

/** A stream body: node's or any with `pipe` and `on` (tar-stream's pack). */
function isReadable(v: unknown): v is Readable {
  return typeof v === 'object' && v !== null && typeof (v as Readable).pipe === 'function' && typeof (v as Readable).on === 'function';
}

/** The whole body, read by events (a short command's first `for await` over a stream costs it a few ms). */
function readAll(stream: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer | string) => chunks.push(typeof c === 'string' ? Buffer.from(c) : c));
    stream.once('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    stream.once('error', reject);
    stream.once('close', () => {
      // Destroyed before its end: what for-await reported as a premature close.
      if (!stream.readableEnded) reject(Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    });
  });
}

function makeResponse(res: WireResponse): EngineResponse {
  let body: Promise<Buffer> | undefined;
  const buffer = () => (body ??= readAll(res));
  return {
    status: res.statusCode,
    headers: res.headers,
    stream: res,
    buffer,
    text: async () => (await buffer()).toString('utf8'),
    json: async <T>() => {
      const b = await buffer();
      return (b.length === 0 ? null : JSON.parse(b.toString('utf8'))) as T;
    },
  };
}

async function responseError(res: WireResponse): Promise<BerthError> {
  return statusError(res.statusCode, await readAll(res).catch(() => Buffer.alloc(0)));
}

/** The daemon's error for a status >= 400 and its body. */
async function statusError(status: number, raw: Buffer): Promise<BerthError> {
  const body = raw.toString('utf8');
  // The status text is shown only when the body is empty: node:http's table is loaded then.
  const statusText = body.trim() === '' ? (await import('node:http')).STATUS_CODES[status] : undefined;
  return daemonError(status, errorText(status, body, statusText));
}

/** The error node:http gave for an aborted request. */
function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error('The operation was aborted', { cause: signal.reason }), { name: 'AbortError', code: 'ABORT_ERR' });
}

/** A client of the berth (Docker Engine API) daemon on a unix socket. */
export class EngineClient {
  readonly socketPath: string;
  readonly apiVersion: string;
  private readonly onConnectError: ((err: Error) => Promise<boolean>) | undefined;
  private readonly userAgent: string;
  private readonly pipe: PipeTransport | undefined;

  constructor(opts: EngineClientOptions) {
    this.socketPath = opts.socketPath;
    this.apiVersion = opts.apiVersion ?? API_VERSION;
    this.onConnectError = opts.onConnectError;
    this.userAgent = opts.userAgent ?? 'berth-cli (linux)';
    this.pipe = opts.transport === 'net' ? undefined : pipeTransport();
  }

  /** How answers read whole travel: `pipe` (libuv's pipe handle) or `net` (node:net). */
  get transport(): 'pipe' | 'net' {
    return this.pipe === undefined ? 'net' : 'pipe';
  }

  /** `unix:///path`: how messages name the daemon's address. */
  get address(): string {
    return `unix://${this.socketPath}`;
  }

  private url(path: string, query: Query | undefined, unversioned = false): string {
    return `${unversioned ? '' : `/v${this.apiVersion}`}${path}${buildQuery(query)}`;
  }

  private connectError(e: NodeJS.ErrnoException): BerthError {
    if (e.code !== undefined && CONNECT_ERRORS.has(e.code)) {
      return new Unavailable(`Cannot connect to the berth daemon at ${this.address}. Is the daemon running?`, { cause: e });
    }
    if (e.code === 'EACCES') {
      return new Unavailable(`permission denied while trying to connect to the berth daemon socket at ${this.address}: ${e.message}`, { cause: e });
    }
    return new BerthError(`error during connect: ${e.message}`, { cause: e });
  }

  private async withRetry<T>(attempt: () => Promise<T>): Promise<T> {
    try {
      return await attempt();
    } catch (e) {
      const errno = (e as { cause?: NodeJS.ErrnoException }).cause;
      if (this.onConnectError && errno?.code !== undefined && CONNECT_ERRORS.has(errno.code) && (await this.onConnectError(e as Error))) {
        return attempt();
      }
      throw e;
    }
  }

  /** The request as it goes out: the caller's headers after berth's, a JSON body encoded. */
  private wireRequest(method: string, path: string, opts: RequestOptions, extraHeaders: Record<string, string>): WireRequest {
    const headers: Record<string, string> = { 'User-Agent': this.userAgent, ...extraHeaders, ...(opts.headers ?? {}) };
    let payload: Buffer | Readable | undefined;
    const body = opts.body;
    if (body === undefined) payload = undefined;
    else if (Buffer.isBuffer(body)) payload = body;
    else if (typeof body === 'string') payload = Buffer.from(body);
    else if (isReadable(body)) payload = body;
    else {
      payload = Buffer.from(JSON.stringify(body));
      headers['Content-Type'] ??= 'application/json';
    }
    if (Buffer.isBuffer(payload)) headers['Content-Length'] = String(payload.length);
    return { method, path: this.url(path, opts.query, opts.unversioned), headers, ...(payload !== undefined ? { body: payload } : {}) };
  }

  /** Connects and sends one request through node:net; `handlers` get the response, an upgrade or the error. */
  private send(method: string, path: string, opts: RequestOptions, extraHeaders: Record<string, string>, handlers: WireHandlers): void {
    const req = this.wireRequest(method, path, opts, extraHeaders);
    const signal = opts.signal;
    if (signal?.aborted) {
      handlers.error(abortError(signal));
      return;
    }
    Promise.all([import('node:net'), import('./wire.js')]).then(
      ([{ createConnection }, { exchange }]) => {
        if (signal?.aborted) {
          handlers.error(abortError(signal));
          return;
        }
        // One connection per request (keep-alive off), as docker's CLI does for berth's socket.
        const socket = createConnection(this.socketPath);
        if (signal !== undefined) {
          const onAbort = () => socket.destroy(abortError(signal));
          signal.addEventListener('abort', onAbort, { once: true });
          socket.once('close', () => signal.removeEventListener('abort', onAbort));
        }
        exchange(socket, req, handlers);
      },
      (e: Error) => handlers.error(e),
    );
  }

  /**
   * One request whose whole answer is read, on the pipe transport; undefined when it must go
   * through node:net (a stream body, an abort signal, no pipe transport). Errors before the
   * answer's head are the connection's (auto-start retries them unless `retry` is false, as
   * for `ping`); statuses are the caller's.
   */
  private whole(method: string, path: string, opts: RequestOptions, retry = true): Promise<BufferedResponse> | undefined {
    const pipe = this.pipe;
    if (pipe === undefined || opts.signal !== undefined || isReadable(opts.body)) return undefined;
    const req = this.wireRequest(method, path, opts, {});
    const head = Buffer.from(requestHead(req), 'latin1');
    const bytes = Buffer.isBuffer(req.body) && req.body.length > 0 ? Buffer.concat([head, req.body]) : head;
    const attempt = () =>
      pipe(this.socketPath, { method, bytes }).catch((e: NodeJS.ErrnoException) => {
        throw e instanceof CutBody ? e : this.connectError(e);
      });
    return retry ? this.withRetry(attempt) : attempt();
  }

  /** One API call. Resolves once the response headers arrive; throws the daemon's error for status >= 400. */
  request(method: string, path: string, opts: RequestOptions = {}): Promise<EngineResponse> {
    return this.withRetry(
      () =>
        new Promise<EngineResponse>((resolve, reject) => {
          this.send(method, path, opts, {}, {
            response: (res) => {
              if (res.statusCode >= 400) responseError(res).then(reject, reject);
              else resolve(makeResponse(res));
            },
            upgrade: (_res, socket) => {
              socket.destroy();
              reject(new BerthError(`unexpected protocol upgrade from the daemon on ${method} ${path}`));
            },
            error: (e: NodeJS.ErrnoException) => reject(e.name === 'AbortError' ? e : this.connectError(e)),
          });
        }),
    );
  }

  /** Shorthand: a request whose JSON answer is returned. */
  async json<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const whole = this.whole(method, path, opts);
    if (whole === undefined) return (await this.request(method, path, opts)).json<T>();
    const res = await whole;
    if (res.statusCode >= 400) throw await statusError(res.statusCode, res.body);
    return (res.body.length === 0 ? null : JSON.parse(res.body.toString('utf8'))) as T;
  }

  /** Shorthand: a request whose (empty) answer is drained. */
  async call(method: string, path: string, opts: RequestOptions = {}): Promise<void> {
    const whole = this.whole(method, path, opts);
    if (whole === undefined) {
      const res = await this.request(method, path, opts);
      res.stream.resume();
      return;
    }
    const res = await whole;
    if (res.statusCode >= 400) throw await statusError(res.statusCode, res.body);
  }

  /** `GET /_ping`: true when the daemon answers. */
  async ping(): Promise<boolean> {
    try {
      // Only asks: never starts a daemon (`daemon stop` and the auto-start itself poll with it).
      const whole = this.whole('GET', '/_ping', { unversioned: true }, false);
      if (whole !== undefined) return (await whole).statusCode === 200;
      const res = await new Promise<EngineResponse>((resolve, reject) => {
        this.send('GET', '/_ping', { unversioned: true }, {}, {
          response: (res) => resolve(makeResponse(res)),
          upgrade: (_res, socket) => {
            socket.destroy();
            reject(new Error('unexpected upgrade'));
          },
          error: reject,
        });
      });
      await res.buffer();
      return res.status === 200;
    } catch {
      return false;
    }
  }

  /**
   * Hijacks the connection (attach, exec start): sends `Connection: Upgrade` / `Upgrade: tcp`
   * and hands back the raw duplex socket on `101` (or the response stream on a plain `200`).
   */
  hijack(method: string, path: string, opts: HijackOptions = {}): Promise<HijackedConnection> {
    return this.withRetry(
      () =>
        new Promise<HijackedConnection>((resolve, reject) => {
          this.send(method, path, { query: opts.query, body: opts.body, headers: opts.headers }, { Connection: 'Upgrade', Upgrade: 'tcp' }, {
            upgrade: (res, socket: Socket) => {
              socket.setNoDelay(true);
              resolve({ socket, status: res.statusCode, headers: res.headers, raw: isRawStream(res.headers, opts.tty) });
            },
            response: (res) => {
              if (res.statusCode >= 400) {
                responseError(res).then(reject, reject);
                return;
              }
              // A daemon that does not upgrade: output comes as the response body, stdin cannot be sent.
              import('node:stream').then(({ Duplex, Writable }) => {
                const sink = new Writable({ write: (_c, _e, cb) => cb() });
                resolve({ socket: Duplex.from({ readable: res, writable: sink }), status: res.statusCode, headers: res.headers, raw: isRawStream(res.headers, opts.tty) });
              }, reject);
            },
            error: (e: NodeJS.ErrnoException) => reject(this.connectError(e)),
          });
        }),
    );
  }
}

function isRawStream(headers: IncomingHttpHeaders, tty: boolean | undefined): boolean {
  const ct = headers['content-type'];
  if (ct === 'application/vnd.docker.raw-stream') return true;
  if (ct === 'application/vnd.docker.multiplexed-stream') return false;
  return tty === true;
}
