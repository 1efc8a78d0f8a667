/**
 * A client of one repository on one registry (the distribution API, `/v2/`): endpoints
 * (mirrors, then the origin), the auth dance (`GET /v2/` → `WWW-Authenticate` → Bearer token
 * from the realm, anonymous or with credentials, or Basic), tokens cached by scope and
 * fetched again when the registry answers 401, redirects (blobs are often served from
 * elsewhere: credentials never follow them), manifests, blobs, uploads and tags.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { InvalidArgument, NotFound, Unauthorized } from '../../core/errors.js';
import { basicAuthorization, hasCredentials, mergeScopes, parseTokenResponse, parseWwwAuthenticate, repositoryScope, scopesCover, type Challenge, type Credentials } from './auth.js';
import type { Endpoint } from './config.js';
import { isCertificateError, registryError, RegistryError } from './errors.js';
import { MANIFEST_ACCEPT, MAX_MANIFEST_SIZE } from './manifest.js';
import { drain, NetworkError, readBody, send, type HttpResponse } from './transport.js';

export interface TokenCacheEntry {
  token: string;
  scopes: string[];
  expiresAt: number;
}

/** Tokens shared by all operations of a daemon, keyed by realm, service and credentials. */
export class TokenCache {
  private readonly entries = new Map<string, TokenCacheEntry[]>();

  get(key: string, scopes: readonly string[], now = Date.now()): TokenCacheEntry | undefined {
    const list = this.entries.get(key) ?? [];
    return list.find((e) => e.expiresAt - 10_000 > now && scopesCover(e.scopes, scopes));
  }

  put(key: string, entry: TokenCacheEntry): void {
    const list = (this.entries.get(key) ?? []).filter((e) => e.expiresAt > Date.now() && e.token !== entry.token);
    list.unshift(entry);
    this.entries.set(key, list.slice(0, 16));
  }

  invalidate(key: string, token: string): void {
    const list = this.entries.get(key);
    if (list) this.entries.set(key, list.filter((e) => e.token !== token));
  }
}

export interface ClientOptions {
  /** The repository path on the registry (`library/busybox`). */
  path: string;
  /** Endpoints to try in order (mirrors first). */
  endpoints: Endpoint[];
  /** Credentials for the registry (used with every endpoint of it). */
  credentials?: Credentials;
  /** Actions needed on the repository: `['pull']` or `['pull', 'push']`. */
  actions: string[];
  tokens: TokenCache;
  userAgent: string;
  /** Extra CA certificates for a host (`host[:port]`), from certs.d directories. */
  caFor?: (host: string) => Promise<Buffer[] | undefined>;
  signal?: AbortSignal;
  idleTimeoutMs?: number;
  /** Also ask for these scopes with the repository's (cross-repository mounts). */
  extraScopes?: string[];
}

interface EndpointState {
  endpoint: Endpoint;
  /** The base URL that answered (`https://…`, or `http://…` for an insecure registry without TLS). */
  base?: string;
  challenge?: Challenge | null;
  ca?: Buffer[];
}

export interface RequestOptions {
  headers?: Record<string, string>;
  body?: Buffer | Readable | AsyncIterable<Buffer>;
  /** Follow redirects (GET/HEAD of blobs). */
  follow?: boolean;
  /** Scopes beyond the repository's. */
  scopes?: string[];
}

export interface FetchedManifest {
  body: Buffer;
  mediaType: string;
  digest: string;
}

const MAX_REDIRECTS = 10;

export class RegistryClient {
  private readonly states: EndpointState[];
  private readonly scopes: string[];

  constructor(private readonly opts: ClientOptions) {
    this.states = opts.endpoints.map((endpoint) => ({ endpoint }));
    this.scopes = mergeScopes([repositoryScope(opts.path, opts.actions), ...(opts.extraScopes ?? [])]);
  }

  get path(): string {
    return this.opts.path;
  }

  get endpoints(): readonly Endpoint[] {
    return this.opts.endpoints;
  }

  /** The origin (last endpoint). */
  get origin(): Endpoint {
    return this.opts.endpoints[this.opts.endpoints.length - 1] as Endpoint;
  }

  private credentialsFor(e: Endpoint): Credentials | undefined {
    // Credentials are the origin's; a mirror gets them only when it is on the same host.
    if (!e.mirror || e.host === this.origin.host) return this.opts.credentials;
    return undefined;
  }

  /**
   * `GET /v2/`: finds the scheme (an insecure registry may be plain HTTP) and the auth
   * challenge. A 401 is expected; anything but 200/401 means this is not a registry.
   */
  private async ping(st: EndpointState): Promise<void> {
    if (st.base !== undefined && st.challenge !== undefined) return;
    const e = st.endpoint;
    st.ca ??= (await this.opts.caFor?.(e.host)) ?? [];
    const bases = e.url.startsWith('http://') ? [e.url] : e.insecure ? [e.url, e.url.replace(/^https:/, 'http:')] : [e.url];
    let lastError: unknown;
    for (const base of bases) {
      let res: HttpResponse;
      try {
        res = await send({ method: 'GET', url: `${base}/v2/`, headers: { 'User-Agent': this.opts.userAgent }, insecure: e.insecure, ca: st.ca, ...this.common() });
      } catch (err) {
        lastError = err;
        // An insecure registry that does not speak TLS: try plain HTTP. A certificate that
        // fails verification is no reason to fall back (that is a secure registry's error).
        if (err instanceof NetworkError && !isCertificateError(err.errno)) continue;
        throw err;
      }
      drain(res.body);
      if (res.status !== 200 && res.status !== 401) {
        if (res.status === 404) throw new NotFound(`${base}/v2/ answered 404: ${e.host} is not a registry (no /v2/ API)`);
        throw registryError(res.status, '', res.statusText);
      }
      st.base = base;
      st.challenge = res.status === 401 ? (pickChallenge(parseWwwAuthenticate(res.headers['www-authenticate'])) ?? null) : null;
      return;
    }
    throw lastError;
  }

  private common(): { signal?: AbortSignal; idleTimeoutMs?: number } {
    return { ...(this.opts.signal ? { signal: this.opts.signal } : {}), ...(this.opts.idleTimeoutMs !== undefined ? { idleTimeoutMs: this.opts.idleTimeoutMs } : {}) };
  }

  private tokenKey(c: Challenge, creds: Credentials | undefined): string {
    const who = creds?.identityToken ?? (creds?.username !== undefined ? `${creds.username}:${createHash('sha256').update(creds.password ?? '').digest('hex').slice(0, 16)}` : '');
    return `${c.params.realm ?? ''}|${c.params.service ?? ''}|${who}`;
  }

  /** The Authorization header for a request to `st` needing `scopes`; undefined when anonymous. */
  private async authorization(st: EndpointState, scopes: readonly string[], fresh: boolean): Promise<{ header?: string; release?: () => void }> {
    const c = st.challenge;
    const creds = this.credentialsFor(st.endpoint);
    if (c === null || c === undefined) return {};
    if (c.scheme === 'basic') {
      if (!hasCredentials(creds) || creds.username === undefined) throw new Unauthorized('no basic auth credentials');
      return { header: basicAuthorization(creds) };
    }
    if (c.scheme !== 'bearer') throw new Unauthorized(`unsupported authentication scheme "${c.scheme}" from ${st.endpoint.host}`);
    if (creds?.registryToken !== undefined) return { header: `Bearer ${creds.registryToken}` };
    const key = this.tokenKey(c, creds);
    const want = mergeScopes([...scopes]);
    if (!fresh) {
      const cached = this.opts.tokens.get(key, want);
      if (cached) return { header: `Bearer ${cached.token}`, release: () => this.opts.tokens.invalidate(key, cached.token) };
    }
    const t = await fetchToken({ challenge: c, scopes: want, creds, userAgent: this.opts.userAgent, insecure: st.endpoint.insecure, ca: st.ca ?? [], ...this.common() });
    const entry = { token: t.token, scopes: want, expiresAt: t.issuedAt + t.expiresIn * 1000 };
    this.opts.tokens.put(key, entry);
    return { header: `Bearer ${t.token}`, release: () => this.opts.tokens.invalidate(key, t.token) };
  }

  /**
   * A request to one endpoint, authorised; a 401 with a cached token fetches a new token
   * and tries once more (only for bodies that can be sent again). Redirects are followed
   * without credentials when `follow` is set.
   */
  async request(st: EndpointState | number, method: string, pathAndQuery: string, ro: RequestOptions = {}): Promise<HttpResponse> {
    const state = typeof st === 'number' ? (this.states[st] as EndpointState) : st;
    await this.ping(state);
    const base = state.base as string;
    const url = /^https?:\/\//.test(pathAndQuery) ? pathAndQuery : `${base}${pathAndQuery}`;
    const scopes = [...this.scopes, ...(ro.scopes ?? [])];
    const replayable = ro.body === undefined || Buffer.isBuffer(ro.body);
    let fresh = false;
    for (let attempt = 0; ; attempt++) {
      const auth = await this.authorization(state, scopes, fresh);
      const headers: Record<string, string> = { 'User-Agent': this.opts.userAgent, ...(ro.headers ?? {}) };
      if (auth.header !== undefined && sameOrigin(url, base)) headers.Authorization = auth.header;
      const res = await send({ method, url, headers, ...(ro.body !== undefined ? { body: ro.body } : {}), insecure: state.endpoint.insecure, ca: state.ca ?? [], ...this.common() });
      const again = res.status === 401 ? pickChallenge(parseWwwAuthenticate(res.headers['www-authenticate'])) : undefined;
      if (res.status === 401 && attempt === 0 && replayable && (state.challenge !== null || again !== undefined)) {
        // An expired or revoked token, or a challenge for more scope: ask again, once.
        if (again) {
          if (again.scheme === 'bearer' && again.params.scope !== undefined) scopes.push(...again.params.scope.split(' '));
          state.challenge = again;
        }
        auth.release?.();
        drain(res.body);
        fresh = true;
        continue;
      }
      if (ro.follow === true && [301, 302, 303, 307, 308].includes(res.status) && res.headers.location !== undefined) {
        drain(res.body);
        return this.follow(state, method, new URL(res.headers.location, url).toString(), ro, headers.Authorization, base);
      }
      return res;
    }
  }

  private async follow(state: EndpointState, method: string, url: string, ro: RequestOptions, authorization: string | undefined, base: string): Promise<HttpResponse> {
    let current = url;
    for (let i = 0; i < MAX_REDIRECTS; i++) {
      const headers: Record<string, string> = { 'User-Agent': this.opts.userAgent, ...(ro.headers ?? {}) };
      if (authorization !== undefined && sameOrigin(current, base)) headers.Authorization = authorization;
      const insecure = state.endpoint.insecure && sameOrigin(current, base);
      const res = await send({ method, url: current, headers, insecure, ...(sameOrigin(current, base) ? { ca: state.ca ?? [] } : {}), ...this.common() });
      if ([301, 302, 303, 307, 308].includes(res.status) && res.headers.location !== undefined) {
        drain(res.body);
        current = new URL(res.headers.location, current).toString();
        continue;
      }
      return res;
    }
    throw new InvalidArgument(`too many redirects fetching ${url}`);
  }

  /** Throws the registry's error for a response that is not one of `ok`. */
  async expect(res: HttpResponse, ok: readonly number[]): Promise<HttpResponse> {
    if (ok.includes(res.status)) return res;
    const body = res.status === 304 ? '' : (await readBody(res.body, 64 * 1024).catch(() => Buffer.alloc(0))).toString('utf8');
    throw registryError(res.status, body, res.statusText);
  }

  private v2(rest: string): string {
    return `/v2/${this.opts.path}/${rest}`;
  }

  /**
   * Fetches a manifest (by tag or digest) from the first endpoint that has it; returns which
   * endpoint answered. By digest the bytes are verified; by tag the registry's
   * Docker-Content-Digest must match the bytes when it is given.
   */
  async getManifest(reference: string, from = 0): Promise<FetchedManifest & { endpoint: number }> {
    let lastError: unknown;
    for (let i = from; i < this.states.length; i++) {
      try {
        return { ...(await this.getManifestFrom(i, reference)), endpoint: i };
      } catch (e) {
        lastError = e;
        const last = i === this.states.length - 1;
        if (last || this.opts.signal?.aborted === true) throw e;
        // A mirror that fails (down, missing the image, refusing us) falls back to the next.
      }
    }
    throw lastError;
  }

  private async getManifestFrom(i: number, reference: string): Promise<FetchedManifest> {
    const res = await this.expect(await this.request(i, 'GET', this.v2(`manifests/${reference}`), { headers: { Accept: MANIFEST_ACCEPT.join(', ') }, follow: true }), [200]);
    const len = Number(res.headers['content-length'] ?? NaN);
    if (Number.isFinite(len) && len > MAX_MANIFEST_SIZE) {
      drain(res.body);
      throw new InvalidArgument(`manifest ${reference} is ${len} bytes, more than the ${MAX_MANIFEST_SIZE} berth accepts`);
    }
    const body = await readBody(res.body, MAX_MANIFEST_SIZE);
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    if (reference.includes(':') && reference.startsWith('sha256:') && digest !== reference) {
      throw new InvalidArgument(`manifest verification failed for digest ${reference}: the registry served content with digest ${digest}`);
    }
    const header = res.headers['docker-content-digest'];
    if (typeof header === 'string' && header.startsWith('sha256:') && header !== digest && !reference.startsWith('sha256:')) {
      throw new InvalidArgument(`manifest verification failed for ${reference}: the registry says ${header}, the content is ${digest}`);
    }
    const ct = String(res.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
    return { body, mediaType: ct, digest };
  }

  /** `GET` of a blob from `offset` (a Range request when > 0); answers 200 or 206. */
  async getBlob(endpoint: number, digest: string, offset = 0): Promise<HttpResponse> {
    const headers: Record<string, string> = { Accept: '*/*' };
    if (offset > 0) headers.Range = `bytes=${offset}-`;
    const res = await this.request(endpoint, 'GET', this.v2(`blobs/${digest}`), { headers, follow: true });
    if (res.status === 416 && offset > 0) return res;
    return this.expect(res, [200, 206]);
  }

  /** A small blob (an image config) as bytes, verified. */
  async getBlobBytes(endpoint: number, digest: string, max = 8 * 1024 * 1024): Promise<Buffer> {
    const res = await this.getBlob(endpoint, digest);
    const body = await readBody(res.body, max);
    const got = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    if (got !== digest) throw new InvalidArgument(`digest mismatch: expected ${digest}, got ${got} from ${this.states[endpoint]?.endpoint.host ?? 'the registry'}`);
    return body;
  }

  /** Whether the repository already has a blob (`HEAD`); its size when it does. */
  async headBlob(digest: string): Promise<number | undefined> {
    const res = await this.request(this.states.length - 1, 'HEAD', this.v2(`blobs/${digest}`), { follow: true });
    drain(res.body);
    if (res.status === 200) return Number(res.headers['content-length'] ?? NaN);
    if (res.status === 404) return undefined;
    throw registryError(res.status, '', res.statusText);
  }

  /**
   * Tries a cross-repository mount (`POST …/blobs/uploads/?mount=<digest>&from=<repo>`).
   * Returns 'mounted', or the upload URL the registry opened instead.
   */
  async mountBlob(digest: string, fromPath: string): Promise<'mounted' | string> {
    const res = await this.request(this.states.length - 1, 'POST', `${this.v2('blobs/uploads/')}?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(fromPath)}`, {
      scopes: [repositoryScope(fromPath, ['pull'])],
      headers: { 'Content-Length': '0' },
      body: Buffer.alloc(0),
    });
    await this.expect(res, [201, 202]);
    drain(res.body);
    if (res.status === 201) return 'mounted';
    return this.location(res);
  }

  /** Opens an upload session; returns its URL. */
  async startUpload(): Promise<string> {
    const res = await this.expect(await this.request(this.states.length - 1, 'POST', this.v2('blobs/uploads/'), { headers: { 'Content-Length': '0' }, body: Buffer.alloc(0) }), [202]);
    drain(res.body);
    return this.location(res);
  }

  private location(res: HttpResponse): string {
    const loc = res.headers.location;
    if (loc === undefined) throw new InvalidArgument('the registry opened an upload without a Location');
    return new URL(loc, res.url).toString();
  }

  /**
   * Uploads a blob into an open session: `monolithic` sends it in the closing
   * `PUT ?digest=`; otherwise `PATCH` requests of `chunkSize` bytes (one when undefined)
   * carry it, and an empty `PUT ?digest=` closes the session.
   */
  async uploadBlob(
    location: string,
    open: (start: number, end: number) => Readable,
    size: number,
    digest: string,
    opts: { monolithic?: boolean; chunkSize?: number; onBytes?: (n: number) => void } = {},
  ): Promise<void> {
    const origin = this.states.length - 1;
    const count = (src: Readable): AsyncIterable<Buffer> => {
      const onBytes = opts.onBytes;
      return (async function* () {
        for await (const c of src as AsyncIterable<Buffer>) {
          onBytes?.(c.length);
          yield c;
        }
      })();
    };
    const withDigest = (url: string) => {
      const u = new URL(url);
      u.searchParams.set('digest', digest);
      return u.toString();
    };
    if (opts.monolithic === true || size === 0) {
      const res = await this.request(origin, 'PUT', withDigest(location), {
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) },
        body: size === 0 ? Buffer.alloc(0) : count(open(0, size - 1)),
      });
      await this.expect(res, [201]);
      drain(res.body);
      return;
    }
    const chunk = opts.chunkSize !== undefined && opts.chunkSize > 0 ? opts.chunkSize : size;
    let url = location;
    for (let start = 0; start < size; start += chunk) {
      const end = Math.min(size, start + chunk) - 1;
      const res = await this.request(origin, 'PATCH', url, {
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(end - start + 1), 'Content-Range': `${start}-${end}` },
        body: count(open(start, end)),
      });
      await this.expect(res, [202]);
      drain(res.body);
      url = this.location(res);
    }
    const res = await this.request(origin, 'PUT', withDigest(url), { headers: { 'Content-Length': '0' }, body: Buffer.alloc(0) });
    await this.expect(res, [201]);
    drain(res.body);
  }

  /** `PUT /v2/<name>/manifests/<ref>`; returns the digest the registry gives it. */
  async putManifest(reference: string, mediaType: string, body: Buffer): Promise<string> {
    const res = await this.expect(await this.request(this.states.length - 1, 'PUT', this.v2(`manifests/${reference}`), { headers: { 'Content-Type': mediaType }, body }), [200, 201]);
    drain(res.body);
    const d = res.headers['docker-content-digest'];
    return typeof d === 'string' && d !== '' ? d : `sha256:${createHash('sha256').update(body).digest('hex')}`;
  }

  /** Every tag of the repository (following `Link` pagination). */
  async listTags(): Promise<string[]> {
    const tags: string[] = [];
    let next: string | undefined = this.v2('tags/list');
    let endpoint = 0;
    for (let page = 0; next !== undefined && page < 1000; page++) {
      let res: HttpResponse;
      try {
        res = await this.expect(await this.request(endpoint, 'GET', next, { follow: true }), [200]);
      } catch (e) {
        if (page === 0 && endpoint < this.states.length - 1) {
          endpoint++;
          page--;
          continue;
        }
        throw e;
      }
      const body = JSON.parse((await readBody(res.body, 16 * 1024 * 1024)).toString()) as { tags?: string[] | null };
      for (const t of body.tags ?? []) tags.push(t);
      next = nextLink(res.headers.link);
    }
    return tags;
  }

  /** Opens the endpoint (ping + token) and checks the credentials: what `POST /auth` does. */
  async login(offline: boolean): Promise<{ identityToken?: string }> {
    const st = this.states[this.states.length - 1] as EndpointState;
    await this.ping(st);
    const c = st.challenge;
    const creds = this.opts.credentials;
    if (c === null || c === undefined) return {};
    if (c.scheme === 'basic') {
      if (!hasCredentials(creds)) throw new Unauthorized('no basic auth credentials');
      const res = await send({ method: 'GET', url: `${st.base as string}/v2/`, headers: { 'User-Agent': this.opts.userAgent, Authorization: basicAuthorization(creds) }, insecure: st.endpoint.insecure, ca: st.ca ?? [], ...this.common() });
      drain(res.body);
      if (res.status === 401) throw new Unauthorized(`login attempt to ${st.base as string}/v2/ failed with status: 401 Unauthorized`);
      return {};
    }
    const t = await fetchToken({ challenge: c, scopes: [], creds, userAgent: this.opts.userAgent, insecure: st.endpoint.insecure, ca: st.ca ?? [], offline, ...this.common() });
    return t.refreshToken !== undefined ? { identityToken: t.refreshToken } : {};
  }
}

/** Bearer beats Basic when a registry offers both (as Docker's auth handlers are ordered). */
function pickChallenge(list: Challenge[]): Challenge | undefined {
  return list.find((c) => c.scheme === 'bearer') ?? list.find((c) => c.scheme === 'basic') ?? list[0];
}

function sameOrigin(a: string, b: string): boolean {
  const x = new URL(a);
  const y = new URL(b);
  return x.protocol === y.protocol && x.host === y.host;
}

/** `<…/tags/list?last=x&n=100>; rel="next"` → the path and query. */
export function nextLink(link: string | string[] | undefined): string | undefined {
  const value = Array.isArray(link) ? link.join(', ') : link;
  if (value === undefined) return undefined;
  const m = /<([^>]+)>\s*;\s*rel="?next"?/.exec(value);
  return m ? (m[1] as string) : undefined;
}

interface TokenRequest {
  challenge: Challenge;
  scopes: readonly string[];
  creds: Credentials | undefined;
  userAgent: string;
  insecure: boolean;
  ca: Buffer[];
  offline?: boolean;
  signal?: AbortSignal;
  idleTimeoutMs?: number;
}

/**
 * Fetches a bearer token from the challenge's realm: with a refresh token (identity token)
 * through OAuth2's POST, else a GET with Basic credentials (or none: anonymous).
 */
export async function fetchToken(r: TokenRequest): Promise<{ token: string; expiresIn: number; issuedAt: number; refreshToken?: string }> {
  const realm = r.challenge.params.realm;
  if (realm === undefined || realm === '') throw new Unauthorized('the registry asked for a bearer token but named no realm');
  let realmUrl: URL;
  try {
    realmUrl = new URL(realm);
  } catch {
    throw new Unauthorized(`the registry's token realm "${realm}" is not a URL`);
  }
  const service = r.challenge.params.service;
  const scopes = [...r.scopes, ...(r.challenge.params.scope !== undefined && r.scopes.length === 0 ? r.challenge.params.scope.split(' ') : [])];
  const common = { insecure: r.insecure, ca: r.ca, ...(r.signal ? { signal: r.signal } : {}), ...(r.idleTimeoutMs !== undefined ? { idleTimeoutMs: r.idleTimeoutMs } : {}) };
  const shown = `${realmUrl.protocol}//${realmUrl.host}${realmUrl.pathname}`;
  if (r.creds?.identityToken !== undefined) {
    const form = new URLSearchParams();
    form.set('grant_type', 'refresh_token');
    form.set('refresh_token', r.creds.identityToken);
    form.set('client_id', 'berth');
    if (service !== undefined) form.set('service', service);
    if (scopes.length > 0) form.set('scope', scopes.join(' '));
    if (r.offline === true) form.set('access_type', 'offline');
    const body = Buffer.from(form.toString());
    const res = await send({ method: 'POST', url: realmUrl.toString(), headers: { 'User-Agent': r.userAgent, 'Content-Type': 'application/x-www-form-urlencoded' }, body, ...common });
    if (res.status !== 404 && res.status !== 405) return tokenFromResponse(res, 'Post', shown);
    drain(res.body);
  }
  const u = new URL(realmUrl);
  if (service !== undefined) u.searchParams.set('service', service);
  for (const s of scopes) u.searchParams.append('scope', s);
  const headers: Record<string, string> = { 'User-Agent': r.userAgent };
  if (r.creds?.username !== undefined && r.creds.username !== '') {
    headers.Authorization = basicAuthorization(r.creds);
    u.searchParams.set('account', r.creds.username);
    if (r.offline === true) {
      u.searchParams.set('offline_token', 'true');
      u.searchParams.set('client_id', 'berth');
    }
  }
  const res = await send({ method: 'GET', url: u.toString(), headers, ...common });
  return tokenFromResponse(res, 'Get', shown);
}

async function tokenFromResponse(res: HttpResponse, method: string, shown: string): Promise<{ token: string; expiresIn: number; issuedAt: number; refreshToken?: string }> {
  const body = await readBody(res.body as IncomingMessage, 1024 * 1024);
  if (res.status !== 200) {
    const text = body.toString('utf8');
    let message = registryError(res.status, text, res.statusText).message;
    try {
      const j = JSON.parse(text) as { details?: unknown; error?: unknown; error_description?: unknown };
      const d = j.details ?? j.error_description ?? j.error;
      if (typeof d === 'string' && d !== '') message = `${res.status === 401 ? 'unauthorized: ' : ''}${d}`;
    } catch {
      // not JSON
    }
    const err = new RegistryError(`${method} "${shown}": ${message}`, res.status, [], res.status === 401 || res.status === 403 ? 'unauthorized' : 'server');
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw new Unauthorized(`${method} "${shown}": the token endpoint answered with something that is not JSON`);
  }
  return parseTokenResponse(json);
}
