import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import { InvalidArgument } from '../core/errors.js';
import type { Engine } from '../engine/index.js';

/**
 * What a route handler sees. Handlers decode the request, call the engine and encode the
 * answer; a hijacked request (attach, exec start) carries the raw connection instead of `res`.
 */
export interface Ctx {
  engine: Engine;
  req: IncomingMessage;
  params: Record<string, string | undefined>;
  query: URLSearchParams;
  apiVersion: number;
  /** Set for ordinary requests. */
  res?: ServerResponse;
  /** Set when the client asked to upgrade the connection (docker attach / exec). */
  hijack?: { socket: Duplex; head: Buffer };
}

export type Handler = (ctx: Ctx) => Promise<void>;

export function param(ctx: Ctx, name: string): string {
  const v = ctx.params[name];
  if (v === undefined || v === '') throw new InvalidArgument(`missing path parameter ${name}`);
  return decodeURIComponent(v);
}

export function boolQuery(q: URLSearchParams, name: string, dflt = false): boolean {
  const v = q.get(name);
  if (v === null || v === '') return dflt;
  return !['0', 'false', 'False', 'no'].includes(v);
}

export function intQuery(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgument(`invalid value for ${name}: ${v}`);
  return n;
}

/**
 * A prune's `until` filter as a time in ms: a Unix timestamp, a duration back from now
 * (`10m`, `24h`) or a date.
 */
export function untilTime(v: string): number {
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const d = /^(\d+)([smh])$/.exec(v);
  if (d) return Date.now() - Number(d[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[d[2] as 's' | 'm' | 'h'];
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new InvalidArgument(`invalid filter 'until=${v}'`);
  return t;
}

/** Docker's `filters` query parameter: `{"label":{"a=b":true}}` or `{"label":["a=b"]}`. */
export function filtersQuery(q: URLSearchParams): Map<string, string[]> {
  const raw = q.get('filters');
  const out = new Map<string, string[]>();
  if (raw === null || raw === '') return out;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new InvalidArgument(`invalid filter: ${raw}`);
  }
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (Array.isArray(v)) out.set(k, v.map(String));
    else if (v !== null && typeof v === 'object') out.set(k, Object.keys(v));
    else out.set(k, [String(v)]);
  }
  return out;
}

/**
 * The request body as a handler reads an upload (an image tar, an archive): a consumer that
 * stops early, or fails, leaves the request alone, so the server can take the rest of the
 * upload and answer with the error (a destroyed request would close the connection, and the
 * client would see a broken pipe instead of the message).
 */
export function uploadOf(ctx: Ctx): AsyncIterable<Buffer> {
  return ctx.req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>;
}

export async function readBody(req: Readable, head?: Buffer, length?: number): Promise<Buffer> {
  const chunks: Buffer[] = head && head.length > 0 ? [head] : [];
  let got = head?.length ?? 0;
  if (length !== undefined && got >= length) return Buffer.concat(chunks).subarray(0, length);
  for await (const c of req) {
    chunks.push(c as Buffer);
    got += (c as Buffer).length;
    if (length !== undefined && got >= length) break;
  }
  return Buffer.concat(chunks);
}

export async function jsonBody<T>(ctx: Ctx): Promise<T | undefined> {
  const len = Number(ctx.req.headers['content-length'] ?? NaN);
  const buf = ctx.hijack ? await readBodyFromSocket(ctx.hijack, Number.isFinite(len) ? len : 0) : await readBody(ctx.req);
  if (buf.length === 0) return undefined;
  try {
    return JSON.parse(buf.toString()) as T;
  } catch (e) {
    throw new InvalidArgument(`invalid JSON in request body: ${(e as Error).message}`);
  }
}

/** Reads exactly `length` body bytes of a hijacked request; what follows stays for stdin. */
async function readBodyFromSocket(h: { socket: Duplex; head: Buffer }, length: number): Promise<Buffer> {
  if (length <= h.head.length) {
    const body = h.head.subarray(0, length);
    h.head = h.head.subarray(length);
    return body;
  }
  const chunks = [h.head];
  let got = h.head.length;
  while (got < length) {
    const chunk = await new Promise<Buffer>((resolve, reject) => {
      const onData = (d: Buffer) => {
        h.socket.off('error', reject);
        h.socket.pause();
        resolve(d);
      };
      h.socket.once('data', onData);
      h.socket.once('error', reject);
      h.socket.resume();
    });
    chunks.push(chunk);
    got += chunk.length;
  }
  const all = Buffer.concat(chunks);
  h.head = all.subarray(length);
  return all.subarray(0, length);
}

export function sendJson(ctx: Ctx, status: number, value: unknown): void {
  const res = ctx.res;
  if (!res) throw new InvalidArgument('this endpoint does not support connection upgrade');
  const body = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

export function sendStatus(ctx: Ctx, status: number): void {
  if (!ctx.res) throw new InvalidArgument('this endpoint does not support connection upgrade');
  ctx.res.writeHead(status);
  ctx.res.end();
}
