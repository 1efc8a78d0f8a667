/**
 * Registry authentication, the pure part: `WWW-Authenticate` challenges (RFC 7235 as the
 * distribution spec uses them), token scopes, token responses and the credentials a client
 * hands the daemon in `X-Registry-Auth`.
 */
import { InvalidArgument } from '../../core/errors.js';

export interface Challenge {
  /** Lower-cased: `bearer`, `basic`. */
  scheme: string;
  /** Parameter names lower-cased: `realm`, `service`, `scope`, `error`. */
  params: Record<string, string>;
}

const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/**
 * Parses one or more `WWW-Authenticate` header values into challenges:
 * `Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"`
 * or several challenges in one value (`Basic realm="x", Bearer realm="y"`).
 */
export function parseWwwAuthenticate(header: string | readonly string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const values = typeof header === 'string' ? [header] : header;
  const out: Challenge[] = [];
  for (const v of values) out.push(...parseOne(v));
  return out;
}

function parseOne(s: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const n = s.length;
  const skipSpace = () => {
    while (i < n && (s[i] === ' ' || s[i] === '\t')) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < n && TOKEN_CHAR.test(s[i] as string)) i++;
    return s.slice(start, i);
  };
  const quoted = (): string => {
    // at the opening quote
    i++;
    let v = '';
    while (i < n && s[i] !== '"') {
      if (s[i] === '\\' && i + 1 < n) i++;
      v += s[i];
      i++;
    }
    i++; // closing quote
    return v;
  };
  // An unquoted value: token characters plus the `/`, `:` and `=` sloppy servers put there.
  const bare = (): string => {
    const start = i;
    while (i < n && s[i] !== ',' && s[i] !== ' ' && s[i] !== '\t') i++;
    return s.slice(start, i);
  };
  let current: Challenge | undefined;
  while (i < n) {
    skipSpace();
    if (s[i] === ',') {
      i++;
      continue;
    }
    const start = i;
    const name = token();
    if (name === '') {
      i++; // junk: skip a character
      continue;
    }
    skipSpace();
    if (s[i] === '=' && current !== undefined) {
      i++;
      skipSpace();
      const value = s[i] === '"' ? quoted() : bare();
      current.params[name.toLowerCase()] = value;
      continue;
    }
    if (s[i] === '=' && current === undefined) {
      // a parameter with no scheme before it: not a challenge
      i = start + name.length + 1;
      continue;
    }
    current = { scheme: name.toLowerCase(), params: {} };
    out.push(current);
  }
  return out;
}

/** `repository:library/busybox:pull` (actions joined with commas, as the spec writes them). */
export function repositoryScope(path: string, actions: readonly string[]): string {
  return `repository:${path}:${actions.join(',')}`;
}

/**
 * Merges scopes that name the same resource (`repository:a:pull` + `repository:a:push` →
 * `repository:a:pull,push`), keeping the first-seen order.
 */
export function mergeScopes(scopes: readonly string[]): string[] {
  const order: string[] = [];
  const actions = new Map<string, Set<string>>();
  for (const scope of scopes) {
    for (const one of scope.split(' ')) {
      if (one === '') continue;
      const last = one.lastIndexOf(':');
      const resource = last > 0 ? one.slice(0, last) : one;
      const acts = last > 0 ? one.slice(last + 1).split(',') : [];
      let set = actions.get(resource);
      if (!set) {
        set = new Set();
        actions.set(resource, set);
        order.push(resource);
      }
      for (const a of acts) if (a !== '') set.add(a);
    }
  }
  return order.map((r) => {
    const acts = [...(actions.get(r) ?? [])];
    return acts.length > 0 ? `${r}:${acts.join(',')}` : r;
  });
}

/** Whether `have` grants every action `want` asks for (token cache lookups). */
export function scopesCover(have: readonly string[], want: readonly string[]): boolean {
  const granted = new Map<string, Set<string>>();
  for (const s of mergeScopes(have)) {
    const last = s.lastIndexOf(':');
    granted.set(s.slice(0, last), new Set(s.slice(last + 1).split(',')));
  }
  for (const s of mergeScopes(want)) {
    const last = s.lastIndexOf(':');
    const g = granted.get(s.slice(0, last));
    if (!g) return false;
    for (const a of s.slice(last + 1).split(',')) if (!g.has(a) && !g.has('*')) return false;
  }
  return true;
}

/** A token endpoint's answer (Docker's token spec and OAuth2's field names). */
export interface TokenResponse {
  token: string;
  /** Seconds; at least 60, as Docker assumes. */
  expiresIn: number;
  /** When the token was issued (ms since the epoch): the registry's clock if given, else ours. */
  issuedAt: number;
  refreshToken?: string;
}

export const MIN_TOKEN_LIFETIME = 60;

export function parseTokenResponse(body: unknown, now = Date.now()): TokenResponse {
  if (body === null || typeof body !== 'object') throw new InvalidArgument('token endpoint answered with something that is not a JSON object');
  const b = body as Record<string, unknown>;
  const token = typeof b.token === 'string' && b.token !== '' ? b.token : typeof b.access_token === 'string' ? b.access_token : '';
  if (token === '') throw new InvalidArgument('token endpoint answered without a token');
  const expires = typeof b.expires_in === 'number' && b.expires_in > 0 ? Math.max(b.expires_in, MIN_TOKEN_LIFETIME) : MIN_TOKEN_LIFETIME;
  const issued = typeof b.issued_at === 'string' ? Date.parse(b.issued_at) : NaN;
  const out: TokenResponse = { token, expiresIn: expires, issuedAt: Number.isFinite(issued) ? Math.min(issued, now) : now };
  if (typeof b.refresh_token === 'string' && b.refresh_token !== '') out.refreshToken = b.refresh_token;
  return out;
}

/** The credentials for one registry, as the client sends them (`X-Registry-Auth`) or the daemon keeps them. */
export interface Credentials {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token from an earlier login (Docker's `identitytoken`). */
  identityToken?: string;
  /** A bearer token to use as it is (Docker's `registrytoken`). */
  registryToken?: string;
  serverAddress?: string;
}

export function hasCredentials(c: Credentials | undefined): c is Credentials {
  return c !== undefined && ((c.username !== undefined && c.username !== '') || (c.identityToken ?? '') !== '' || (c.registryToken ?? '') !== '');
}

/**
 * Decodes `X-Registry-Auth`: base64 (URL-safe or standard, padded or not) of a JSON
 * `{username, password, auth, serveraddress, identitytoken, registrytoken}`.
 * An empty header, `e30=` (`{}`) or garbage means no credentials, as in Docker.
 */
export function decodeRegistryAuth(header: string | undefined | null): Credentials | undefined {
  if (header === undefined || header === null || header.trim() === '') return undefined;
  let json: unknown;
  try {
    const std = header.trim().replace(/-/g, '+').replace(/_/g, '/');
    json = JSON.parse(Buffer.from(std, 'base64').toString('utf8'));
  } catch {
    return undefined;
  }
  return credentialsFromJson(json);
}

/** `{username, password, auth, serveraddress, identitytoken, registrytoken}` (Docker's AuthConfig, any case). */
export function credentialsFromJson(json: unknown): Credentials | undefined {
  if (json === null || typeof json !== 'object') return undefined;
  const raw = json as Record<string, unknown>;
  const get = (k: string): string | undefined => {
    for (const [key, v] of Object.entries(raw)) if (key.toLowerCase() === k && typeof v === 'string' && v !== '') return v;
    return undefined;
  };
  const c: Credentials = {};
  let username = get('username');
  let password = get('password');
  const auth = get('auth');
  if (auth !== undefined && username === undefined) {
    const decoded = Buffer.from(auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) {
      username = decoded.slice(0, colon);
      password = decoded.slice(colon + 1);
    }
  }
  if (username !== undefined) c.username = username;
  if (password !== undefined) c.password = password;
  const identity = get('identitytoken');
  if (identity !== undefined) c.identityToken = identity;
  const registry = get('registrytoken');
  if (registry !== undefined) c.registryToken = registry;
  const server = get('serveraddress');
  if (server !== undefined) c.serverAddress = server;
  return c;
}

export function basicAuthorization(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username ?? ''}:${c.password ?? ''}`).toString('base64')}`;
}
