/**
 * @module
 * berth's Engine API client: Docker Engine API v1.44 over the daemon's unix socket,
 * with plain `node:http` (one connection per request, keep-alive off), connection
 * hijacking for attach and exec, Docker's stream demultiplexer and a JSON-lines
 * progress reader. The CLI is nothing but a user of this module.
 */
import { request as httpRequest, STATUS_CODES, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { createConnection, type Socket } from 'node:net';
import { Duplex, Readable, Writable } from 'node:stream';
import { BerthError, Unavailable } from '../core/errors.js';
import { daemonError, errorText } from './errors.js';

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
  stream: IncomingMessage;
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

function isReadable(v: unknown): v is Readable {
  return v instanceof Readable || (typeof v === 'object' && v !== null && typeof (v as Readable).pipe === 'function' && typeof (v as Readable).on === 'function');
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks);
}

function makeResponse(res: IncomingMessage): EngineResponse {
  let body: Promise<Buffer> | undefined;
  const buffer = () => (body ??= readAll(res));
  return {
    status: res.statusCode ?? 0,
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

async function responseError(res: IncomingMessage): Promise<BerthError> {
  const status = res.statusCode ?? 500;
  const body = (await readAll(res).catch(() => Buffer.alloc(0))).toString('utf8');
  return daemonError(status, errorText(status, body, STATUS_CODES[status]));
}

/** A client of the berth (Docker Engine API) daemon on a unix socket. */
export class EngineClient {
  readonly socketPath: string;
  readonly apiVersion: string;
  private readonly onConnectError: ((err: Error) => Promise<boolean>) | undefined;
  private readonly userAgent: string;

  constructor(opts: EngineClientOptions) {
    this.socketPath = opts.socketPath;
    this.apiVersion = opts.apiVersion ?? API_VERSION;
    this.onConnectError = opts.onConnectError;
    this.userAgent = opts.userAgent ?? 'berth-cli (linux)';
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

  private open(method: string, path: string, opts: RequestOptions, extraHeaders: Record<string, string> = {}): { req: ClientRequest; send: () => void } {
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
    // One connection per request (keep-alive off), made here rather than by an http.Agent:
    // without an agent node sends `Connection: close` just the same, and skips the agent's
    // bookkeeping, whose first use also compiles net.isIPv6's large regex (~5 ms per CLI run).
    const socketPath = this.socketPath;
    const req = httpRequest({
      socketPath,
      method,
      path: this.url(path, opts.query, opts.unversioned),
      headers,
      createConnection: () => createConnection(socketPath),
      defaultPort: 80, // keeps the Host header `localhost`, as the agent sent it
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    const send = () => {
      if (payload === undefined) req.end();
      else if (Buffer.isBuffer(payload)) req.end(payload);
      else {
        const src = payload;
        // Only start reading a stream body once connected, so a refused connection can be retried.
        req.once('socket', (s: Socket) => {
          const go = () => {
            src.once('error', (err) => req.destroy(err));
            src.pipe(req);
          };
          if (s.connecting) s.once('connect', go);
          else go();
        });
      }
    };
    return { req, send };
  }

  /** One API call. Resolves once the response headers arrive; throws the daemon's error for status >= 400. */
  request(method: string, path: string, opts: RequestOptions = {}): Promise<EngineResponse> {
    return this.withRetry(
      () =>
        new Promise<EngineResponse>((resolve, reject) => {
          const { req, send } = this.open(method, path, opts);
          req.once('error', (e: NodeJS.ErrnoException) => reject(e.name === 'AbortError' ? e : this.connectError(e)));
          req.once('response', (res) => {
            const status = res.statusCode ?? 0;
            if (status >= 400) responseError(res).then(reject, reject);
            else resolve(makeResponse(res));
          });
          send();
        }),
    );
  }

  /** Shorthand: a request whose JSON answer is returned. */
  async json<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    return (await this.request(method, path, opts)).json<T>();
  }

  /** Shorthand: a request whose (empty) answer is drained. */
  async call(method: string, path: string, opts: RequestOptions = {}): Promise<void> {
    const res = await this.request(method, path, opts);
    res.stream.resume();
  }

  /** `GET /_ping`: true when the daemon answers. */
  async ping(): Promise<boolean> {
    try {
      const res = await new Promise<EngineResponse>((resolve, reject) => {
        const { req, send } = this.open('GET', '/_ping', { unversioned: true });
        req.once('error', reject);
        req.once('response', (res) => resolve(makeResponse(res)));
        send();
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
          const { req, send } = this.open(method, path, { query: opts.query, body: opts.body, headers: opts.headers }, { Connection: 'Upgrade', Upgrade: 'tcp' });
          req.once('error', (e: NodeJS.ErrnoException) => reject(this.connectError(e)));
          req.once('upgrade', (res: IncomingMessage, socket: Socket, head: Buffer) => {
            if (head.length > 0) socket.unshift(head);
            socket.setNoDelay(true);
            resolve({ socket, status: res.statusCode ?? 101, headers: res.headers, raw: isRawStream(res.headers, opts.tty) });
          });
          req.once('response', (res: IncomingMessage) => {
            const status = res.statusCode ?? 0;
            if (status >= 400) {
              responseError(res).then(reject, reject);
              return;
            }
            // A daemon that does not upgrade: output comes as the response body, stdin cannot be sent.
            const sink = new Writable({ write: (_c, _e, cb) => cb() });
            resolve({ socket: Duplex.from({ readable: res, writable: sink }), status, headers: res.headers, raw: isRawStream(res.headers, opts.tty) });
          });
          send();
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
