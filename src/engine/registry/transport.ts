/**
 * HTTP for registries over node:http/https: keep-alive agents, TLS verified or (for
 * insecure registries) not, extra CA certificates, an idle timeout that also catches a
 * body that stalls, and network errors worded like Docker's, naming the host.
 */
import { Agent as HttpAgent, request as httpRequest, STATUS_CODES, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import { Unavailable } from '../../core/errors.js';
import { networkErrorText } from './errors.js';

export interface HttpRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: Buffer | Readable | AsyncIterable<Buffer>;
  signal?: AbortSignal;
  /** Skip TLS verification (insecure registries). */
  insecure?: boolean;
  /** Extra trusted CA certificates (PEM) for this host. */
  ca?: readonly Buffer[];
  /** Fails the request when the connection is idle this long (also while the body streams). */
  idleTimeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  statusText: string;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
  url: string;
}

/** A network failure (not an HTTP answer): the request may be retried, or another endpoint tried. */
export class NetworkError extends Unavailable {
  constructor(
    message: string,
    readonly errno: NodeJS.ErrnoException,
  ) {
    super(message, { cause: errno });
  }
}

const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 32 });
const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 32 });
const insecureAgent = new HttpsAgent({ keepAlive: true, maxSockets: 32, rejectUnauthorized: false });

export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

/** How much a registry connection may buffer (bench/README.md, "Pull"). */
export const SOCKET_BUFFER_BYTES = 256 * 1024;

function methodWord(method: string): string {
  return method.charAt(0).toUpperCase() + method.slice(1).toLowerCase();
}

/** `Get "https://host/v2/": dial tcp host:443: connect: connection refused` */
export function describeNetworkError(method: string, url: string, e: NodeJS.ErrnoException): string {
  const u = new URL(url);
  const hostPort = u.port !== '' ? u.host : `${u.host}:${u.protocol === 'https:' ? 443 : 80}`;
  const shown = `${u.protocol}//${u.host}${u.pathname}`;
  return `${methodWord(method)} "${shown}": ${networkErrorText(e, hostPort)}`;
}

/** Sends one request; resolves with the response head (the body is the caller's to read or drop). */
export function send(req: HttpRequest): Promise<HttpResponse> {
  const u = new URL(req.url);
  const https = u.protocol === 'https:';
  const headers: Record<string, string> = { ...(req.headers ?? {}) };
  if (Buffer.isBuffer(req.body)) headers['Content-Length'] ??= String(req.body.length);
  const options = {
    method: req.method,
    headers,
    // Sockets buffer up to this much (TLS takes `highWaterMark`, plain TCP the readable one):
    // what arrived while the reader was busy comes as one chunk, so a fast download is
    // handled in pieces of up to ~256 KiB rather than one per 64 KiB socket read.
    highWaterMark: SOCKET_BUFFER_BYTES,
    readableHighWaterMark: SOCKET_BUFFER_BYTES,
    agent: https ? (req.ca !== undefined && req.ca.length > 0 ? undefined : req.insecure ? insecureAgent : httpsAgent) : httpAgent,
    ...(https && req.ca !== undefined && req.ca.length > 0
      ? { ca: [...rootCertificates, ...req.ca.map((c) => c.toString())], rejectUnauthorized: req.insecure !== true }
      : {}),
    ...(req.signal ? { signal: req.signal } : {}),
  };
  return new Promise<HttpResponse>((resolve, reject) => {
    let settled = false;
    let response: IncomingMessage | undefined;
    const fail = (e: Error) => {
      const errno = e as NodeJS.ErrnoException;
      const wrapped = req.signal?.aborted === true ? (req.signal.reason as Error) : errno.code !== undefined || errno.message.includes('timeout') ? new NetworkError(describeNetworkError(req.method, req.url, errno), errno) : e;
      if (!settled) {
        settled = true;
        reject(wrapped);
      } else if (response && !response.destroyed) {
        response.destroy(wrapped);
      }
    };
    const r = (https ? httpsRequest : httpRequest)(u, options, (res) => {
      response = res;
      settled = true;
      const status = res.statusCode ?? 0;
      resolve({ status, statusText: res.statusMessage || STATUS_CODES[status] || '', headers: res.headers, body: res, url: req.url });
    });
    const idle = req.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    if (idle > 0) {
      r.setTimeout(idle, () => {
        const e: NodeJS.ErrnoException = new Error(`timeout: no data for ${Math.round(idle / 1000)}s`);
        e.code = 'ETIMEDOUT';
        r.destroy(e);
        fail(e);
      });
    }
    r.on('error', fail);
    const body = req.body;
    if (body === undefined) r.end();
    else if (Buffer.isBuffer(body)) r.end(body);
    else {
      const src = body instanceof Readable ? body : Readable.from(body, { objectMode: false });
      src.on('error', (e) => r.destroy(e));
      src.pipe(r);
    }
  });
}

/** Reads a whole (small) body; refuses more than `max` bytes. */
export async function readBody(res: IncomingMessage, max = 4 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > max) {
      res.destroy();
      throw new Unavailable(`the registry's response is larger than ${max} bytes`);
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

/** Throws the body away so the connection can be reused. */
export function drain(res: IncomingMessage): void {
  res.resume();
  res.on('error', () => undefined);
}
