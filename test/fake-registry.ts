/**
 * A small in-process registry (the distribution API subset berth uses) for tests that
 * need a registry to misbehave on purpose: tampered blobs, connections cut or stalled in
 * the middle of a blob, tokens that expire, rate limits. Listens on 127.0.0.1 only.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface FakeRegistryOptions {
  /** Bearer token auth (a token endpoint on the same server); Basic with `basic`; none by default. */
  auth?: 'bearer' | 'basic';
  /** Accepted credentials (for basic, and for the token endpoint when given). */
  users?: Record<string, string>;
  /** Token lifetime in seconds (the token endpoint's `expires_in`). */
  tokenSeconds?: number;
  /** Serve HTTPS with this key and certificate (PEM). */
  tls?: { key: Buffer; cert: Buffer };
}

export interface RequestLog {
  method: string;
  path: string;
  range?: string;
  authorization?: string;
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export class FakeRegistry {
  readonly blobs = new Map<string, Buffer>();
  /** `repo@digest` for every blob a repository has (HEAD, GET and mounts are per repository). */
  readonly links = new Set<string>();
  readonly manifests = new Map<string, { body: Buffer; mediaType: string }>();
  readonly log: RequestLog[] = [];
  /** Blob digest → behaviour for the next GETs. */
  readonly blobFaults = new Map<string, { cutAfter?: number; stallAfter?: number; times: number; ignoreRange?: boolean }>();
  /** Serve these bytes instead of the blob's own (a tampered blob). */
  readonly tampered = new Map<string, Buffer>();
  /** Answer 429 to this many manifest requests. */
  rateLimited = 0;
  /** Open an upload instead of mounting (as registries without cross-repository mounts do). */
  mountsRefused = false;
  /** Tokens issued and still valid. */
  private readonly tokens = new Map<string, { scopes: string[]; expires: number }>();
  tokenRequests: URLSearchParams[] = [];
  /** Refresh tokens handed out (`offline_token=true` with credentials). */
  readonly refreshTokens = new Set<string>();
  private server?: Server;
  private readonly stalled: ServerResponse[] = [];
  private uploads = new Map<string, Buffer[]>();
  port = 0;

  constructor(private readonly opts: FakeRegistryOptions = {}) {}

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      this.handle(req, res).catch((e: unknown) => {
        if (!res.headersSent) res.writeHead(500);
        res.end(String(e));
      });
    };
    this.server = this.opts.tls ? createTlsServer({ key: this.opts.tls.key, cert: this.opts.tls.cert }, handler) : createServer(handler);
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.port = (this.server?.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const r of this.stalled) r.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /** Adds a blob to a repository; returns its descriptor fields. */
  addBlob(repo: string, data: Buffer): { digest: string; size: number } {
    const digest = sha(data);
    this.blobs.set(digest, data);
    this.links.add(`${repo}@${digest}`);
    return { digest, size: data.length };
  }

  /** Adds a manifest under `repo` by digest and, when given, by tag; returns its digest. */
  addManifest(repo: string, body: Buffer | object, mediaType: string, tag?: string): string {
    const b = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
    const digest = sha(b);
    this.manifests.set(`${repo}@${digest}`, { body: b, mediaType });
    if (tag !== undefined) this.manifests.set(`${repo}:${tag}`, { body: b, mediaType });
    return digest;
  }

  /** Expires every token now (the next request with one gets a 401). */
  expireTokens(): void {
    this.tokens.clear();
  }

  private challenge(scope?: string): string {
    if (this.opts.auth === 'basic') return 'Basic realm="fake"';
    return `Bearer realm="http://${this.host}/token",service="fake-registry"${scope ? `,scope="${scope}"` : ''}`;
  }

  private authorized(req: IncomingMessage, scope: string | undefined): boolean {
    const h = req.headers.authorization ?? '';
    if (this.opts.auth === undefined) return true;
    if (this.opts.auth === 'basic') {
      if (!h.startsWith('Basic ')) return false;
      const [u, p] = Buffer.from(h.slice(6), 'base64').toString().split(':');
      return this.opts.users?.[u ?? ''] === p;
    }
    if (!h.startsWith('Bearer ')) return false;
    const t = this.tokens.get(h.slice(7));
    if (!t || t.expires < Date.now()) return false;
    if (scope === undefined) return true;
    const [, name, actions] = /^repository:(.+):([^:]+)$/.exec(scope) ?? [];
    return t.scopes.some((s) => {
      const m = /^repository:(.+):([^:]+)$/.exec(s);
      return m !== null && m[1] === name && (actions ?? '').split(',').every((a) => (m[2] ?? '').split(',').includes(a));
    });
  }

  private error(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
    const body = JSON.stringify({ errors: [{ code, message, detail: null }] });
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...headers });
    res.end(body);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `http://${this.host}`);
    const path = url.pathname;
    const entry: RequestLog = { method: req.method ?? 'GET', path: `${path}${url.search}` };
    if (req.headers.range !== undefined) entry.range = req.headers.range;
    if (req.headers.authorization !== undefined) entry.authorization = req.headers.authorization;
    this.log.push(entry);
    if (path === '/token' && req.method === 'POST') {
      // OAuth2's refresh_token grant (identity tokens handed out at login).
      const form = new URLSearchParams((await readAll(req)).toString());
      this.tokenRequests.push(form);
      if (form.get('grant_type') !== 'refresh_token' || !this.refreshTokens.has(form.get('refresh_token') ?? '')) {
        res.writeHead(401, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: 'invalid_grant', error_description: 'refresh token is not valid' }));
        return;
      }
      const token = randomBytes(8).toString('hex');
      const seconds = this.opts.tokenSeconds ?? 300;
      this.tokens.set(token, { scopes: (form.get('scope') ?? '').split(' ').filter(Boolean), expires: Date.now() + seconds * 1000 });
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ access_token: token, expires_in: seconds, scope: form.get('scope') ?? '' }));
      return;
    }
    if (path === '/token') {
      this.tokenRequests.push(url.searchParams);
      const h = req.headers.authorization ?? '';
      if (this.opts.users !== undefined && h.startsWith('Basic ')) {
        const [u, p] = Buffer.from(h.slice(6), 'base64').toString().split(':');
        if (this.opts.users[u ?? ''] !== p) {
          const body = JSON.stringify({ details: 'incorrect username or password' });
          res.writeHead(401, { 'Content-Type': 'application/json' });
          res.end(body);
          return;
        }
      }
      const token = randomBytes(8).toString('hex');
      const seconds = this.opts.tokenSeconds ?? 300;
      this.tokens.set(token, { scopes: url.searchParams.getAll('scope'), expires: Date.now() + seconds * 1000 });
      let refresh: string | undefined;
      if (url.searchParams.get('offline_token') === 'true' && h.startsWith('Basic ')) {
        refresh = randomBytes(8).toString('hex');
        this.refreshTokens.add(refresh);
      }
      const body = JSON.stringify({ token, expires_in: seconds, issued_at: new Date().toISOString(), ...(refresh ? { refresh_token: refresh } : {}) });
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(body);
      return;
    }
    if (path === '/v2/' || path === '/v2') {
      if (!this.authorized(req, undefined)) return this.error(res, 401, 'UNAUTHORIZED', 'authentication required', { 'WWW-Authenticate': this.challenge() });
      res.writeHead(200, { 'Content-Type': 'application/json', 'Docker-Distribution-API-Version': 'registry/2.0' });
      res.end('{}');
      return;
    }
    const m = /^\/v2\/(.+)\/(manifests|blobs|tags)\/(.*)$/.exec(path);
    if (!m) return this.error(res, 404, 'NOT_FOUND', 'not found');
    const [, name, kind, rest] = m as unknown as [string, string, string, string];
    const write = req.method !== 'GET' && req.method !== 'HEAD';
    const scope = `repository:${name}:${write ? 'pull,push' : 'pull'}`;
    if (!this.authorized(req, scope)) return this.error(res, 401, 'UNAUTHORIZED', 'authentication required', { 'WWW-Authenticate': this.challenge(scope) });
    if (kind === 'tags') {
      const tags = [...this.manifests.keys()].filter((k) => k.startsWith(`${name}:`)).map((k) => k.slice(name.length + 1)).sort();
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ name, tags }));
      return;
    }
    if (kind === 'manifests') return this.manifest(req, res, name, rest);
    return this.blob(req, res, name, rest, url);
  }

  private async manifest(req: IncomingMessage, res: ServerResponse, name: string, ref: string): Promise<void> {
    if (req.method === 'PUT') {
      const body = await readAll(req);
      const mediaType = String(req.headers['content-type'] ?? 'application/json');
      const digest = this.addManifest(name, body, mediaType, ref.startsWith('sha256:') ? undefined : ref);
      res.writeHead(201, { 'Docker-Content-Digest': digest, Location: `/v2/${name}/manifests/${digest}` });
      res.end();
      return;
    }
    if (this.rateLimited > 0) {
      this.rateLimited--;
      return this.error(res, 429, 'TOOMANYREQUESTS', 'You have reached your pull rate limit. You may increase the limit by authenticating and upgrading');
    }
    const found = this.manifests.get(ref.startsWith('sha256:') ? `${name}@${ref}` : `${name}:${ref}`);
    if (!found) return this.error(res, 404, 'MANIFEST_UNKNOWN', 'manifest unknown');
    res.writeHead(200, { 'Content-Type': found.mediaType, 'Content-Length': found.body.length, 'Docker-Content-Digest': sha(found.body) });
    res.end(req.method === 'HEAD' ? undefined : found.body);
  }

  private async blob(req: IncomingMessage, res: ServerResponse, name: string, rest: string, url: URL): Promise<void> {
    if (rest.startsWith('uploads')) return this.upload(req, res, name, rest, url);
    const digest = rest;
    const data = this.links.has(`${name}@${digest}`) ? (this.tampered.get(digest) ?? this.blobs.get(digest)) : undefined;
    if (!data) return this.error(res, 404, 'BLOB_UNKNOWN', 'blob unknown to registry');
    if (req.method === 'HEAD') {
      res.writeHead(200, { 'Content-Length': data.length, 'Docker-Content-Digest': digest });
      res.end();
      return;
    }
    const fault = this.blobFaults.get(digest);
    let start = 0;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range && !fault?.ignoreRange) start = Number(range[1]);
    if (start >= data.length && data.length > 0) {
      res.writeHead(416, { 'Content-Range': `bytes */${data.length}` });
      res.end();
      return;
    }
    const body = data.subarray(start);
    const headers: Record<string, string | number> = { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length, 'Docker-Content-Digest': digest };
    if (start > 0) headers['Content-Range'] = `bytes ${start}-${data.length - 1}/${data.length}`;
    res.writeHead(start > 0 ? 206 : 200, headers);
    if (fault && fault.times > 0) {
      fault.times--;
      const n = fault.cutAfter ?? fault.stallAfter ?? 0;
      const flushed = new Promise<void>((resolve) => res.write(body.subarray(0, n), () => resolve()));
      if (fault.cutAfter !== undefined) {
        void flushed.then(() => setTimeout(() => res.socket?.destroy(), 50));
      } else {
        this.stalled.push(res); // never ends: the client gives up or is killed
      }
      return;
    }
    res.end(body);
  }

  private async upload(req: IncomingMessage, res: ServerResponse, name: string, rest: string, url: URL): Promise<void> {
    if (req.method === 'POST') {
      const mount = url.searchParams.get('mount');
      const from = url.searchParams.get('from');
      await readAll(req);
      if (mount !== null && from !== null && !this.mountsRefused && this.links.has(`${from}@${mount}`)) {
        this.links.add(`${name}@${mount}`);
        res.writeHead(201, { Location: `/v2/${name}/blobs/${mount}`, 'Docker-Content-Digest': mount });
        res.end();
        return;
      }
      const id = randomBytes(8).toString('hex');
      this.uploads.set(id, []);
      res.writeHead(202, { Location: `/v2/${name}/blobs/uploads/${id}`, Range: '0-0', 'Docker-Upload-UUID': id });
      res.end();
      return;
    }
    const id = rest.split('/')[1] ?? '';
    const parts = this.uploads.get(id);
    if (!parts) return this.error(res, 404, 'BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry');
    parts.push(await readAll(req));
    if (req.method === 'PATCH') {
      const size = parts.reduce((a, b) => a + b.length, 0);
      res.writeHead(202, { Location: `/v2/${name}/blobs/uploads/${id}`, Range: `0-${size - 1}` });
      res.end();
      return;
    }
    const data = Buffer.concat(parts);
    const want = url.searchParams.get('digest');
    if (want !== sha(data)) return this.error(res, 400, 'DIGEST_INVALID', 'provided digest did not match uploaded content');
    this.blobs.set(want, data);
    this.links.add(`${name}@${want}`);
    this.uploads.delete(id);
    res.writeHead(201, { Location: `/v2/${name}/blobs/${want}`, 'Docker-Content-Digest': want });
    res.end();
  }
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
