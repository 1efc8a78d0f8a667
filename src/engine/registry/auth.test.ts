import { describe, expect, it } from 'vitest';
import {
  basicAuthorization,
  credentialsFromJson,
  decodeRegistryAuth,
  hasCredentials,
  mergeScopes,
  parseTokenResponse,
  parseWwwAuthenticate,
  repositoryScope,
  scopesCover,
} from './auth.js';

describe('parseWwwAuthenticate', () => {
  it("reads Docker Hub's bearer challenge", () => {
    expect(parseWwwAuthenticate('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"')).toEqual([
      { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' } },
    ]);
  });

  it('reads basic challenges, spaces after commas and case-insensitive names', () => {
    expect(parseWwwAuthenticate('Basic realm="basic-realm"')).toEqual([{ scheme: 'basic', params: { realm: 'basic-realm' } }]);
    expect(parseWwwAuthenticate('BEARER Realm="http://127.0.0.1:5000/token", Service="reg"')).toEqual([
      { scheme: 'bearer', params: { realm: 'http://127.0.0.1:5000/token', service: 'reg' } },
    ]);
  });

  it('splits several challenges in one value and across header values', () => {
    expect(parseWwwAuthenticate('Basic realm="a", Bearer realm="b",service="s"')).toEqual([
      { scheme: 'basic', params: { realm: 'a' } },
      { scheme: 'bearer', params: { realm: 'b', service: 's' } },
    ]);
    expect(parseWwwAuthenticate(['Basic realm="a"', 'Bearer realm="b"']).map((c) => c.scheme)).toEqual(['basic', 'bearer']);
  });

  it('keeps escaped quotes, commas inside quotes and unquoted values', () => {
    expect(parseWwwAuthenticate('Bearer realm="a\\"b",scope="repository:a:pull,push",error=insufficient_scope')).toEqual([
      { scheme: 'bearer', params: { realm: 'a"b', scope: 'repository:a:pull,push', error: 'insufficient_scope' } },
    ]);
  });

  it('gives nothing for an absent or empty header', () => {
    expect(parseWwwAuthenticate(undefined)).toEqual([]);
    expect(parseWwwAuthenticate('')).toEqual([]);
  });
});

describe('scopes', () => {
  it('writes repository scopes as the token spec does', () => {
    expect(repositoryScope('library/busybox', ['pull'])).toBe('repository:library/busybox:pull');
    expect(repositoryScope('team/app', ['pull', 'push'])).toBe('repository:team/app:pull,push');
  });

  it('merges actions of the same resource, in first-seen order', () => {
    expect(mergeScopes(['repository:a:pull', 'repository:b:pull', 'repository:a:push', 'repository:a:pull'])).toEqual(['repository:a:pull,push', 'repository:b:pull']);
    expect(mergeScopes(['repository:a:pull repository:c:pull'])).toEqual(['repository:a:pull', 'repository:c:pull']);
  });

  it('knows whether a token granted for some scopes covers others', () => {
    expect(scopesCover(['repository:a:pull,push'], ['repository:a:pull'])).toBe(true);
    expect(scopesCover(['repository:a:pull'], ['repository:a:pull,push'])).toBe(false);
    expect(scopesCover(['repository:a:pull'], ['repository:b:pull'])).toBe(false);
    expect(scopesCover(['repository:a:*'], ['repository:a:push'])).toBe(true);
    expect(scopesCover(['repository:a:pull', 'repository:b:pull'], ['repository:b:pull', 'repository:a:pull'])).toBe(true);
  });
});

describe('parseTokenResponse', () => {
  const now = Date.parse('2024-05-01T10:00:00Z');

  it('takes token or access_token; lifetimes are at least 60 s', () => {
    expect(parseTokenResponse({ token: 't', expires_in: 300 }, now)).toEqual({ token: 't', expiresIn: 300, issuedAt: now });
    expect(parseTokenResponse({ access_token: 'a' }, now)).toEqual({ token: 'a', expiresIn: 60, issuedAt: now });
    expect(parseTokenResponse({ token: 't', expires_in: 5 }, now).expiresIn).toBe(60);
  });

  it("uses the registry's issued_at unless it is in the future, and keeps a refresh token", () => {
    expect(parseTokenResponse({ token: 't', issued_at: '2024-05-01T09:59:00Z' }, now).issuedAt).toBe(now - 60_000);
    expect(parseTokenResponse({ token: 't', issued_at: '2024-05-01T11:00:00Z' }, now).issuedAt).toBe(now);
    expect(parseTokenResponse({ token: 't', refresh_token: 'r' }, now).refreshToken).toBe('r');
  });

  it('refuses an answer without a token', () => {
    expect(() => parseTokenResponse({}, now)).toThrow(/without a token/);
    expect(() => parseTokenResponse('x', now)).toThrow(/not a JSON object/);
  });
});

describe('X-Registry-Auth', () => {
  const encode = (v: unknown, url = true) => {
    const b = Buffer.from(JSON.stringify(v)).toString('base64');
    return url ? b.replace(/\+/g, '-').replace(/\//g, '_') : b;
  };

  it('decodes base64url and standard base64 JSON', () => {
    const c = { username: 'u', password: 'p>?~', serveraddress: 'localhost:5000' };
    expect(decodeRegistryAuth(encode(c))).toEqual({ username: 'u', password: 'p>?~', serverAddress: 'localhost:5000' });
    expect(decodeRegistryAuth(encode(c, false))).toEqual({ username: 'u', password: 'p>?~', serverAddress: 'localhost:5000' });
    expect(decodeRegistryAuth(encode(c).replace(/=+$/, ''))).toEqual({ username: 'u', password: 'p>?~', serverAddress: 'localhost:5000' });
  });

  it('means no credentials for empty, {} or garbage', () => {
    expect(decodeRegistryAuth(undefined)).toBeUndefined();
    expect(decodeRegistryAuth('')).toBeUndefined();
    expect(hasCredentials(decodeRegistryAuth('e30='))).toBe(false);
    expect(decodeRegistryAuth('!!!not base64 json')).toBeUndefined();
  });

  it('takes identity and registry tokens, and the auth field of config.json', () => {
    expect(decodeRegistryAuth(encode({ identitytoken: 'refresh', serveraddress: 'https://index.docker.io/v1/' }))).toEqual({ identityToken: 'refresh', serverAddress: 'https://index.docker.io/v1/' });
    expect(credentialsFromJson({ auth: Buffer.from('me:se:cret').toString('base64') })).toEqual({ username: 'me', password: 'se:cret' });
    expect(credentialsFromJson({ Username: 'A', Password: 'B', RegistryToken: 'rt' })).toEqual({ username: 'A', password: 'B', registryToken: 'rt' });
    expect(hasCredentials({ registryToken: 'x' })).toBe(true);
  });

  it('builds a Basic header', () => {
    expect(basicAuthorization({ username: 'admin', password: 'secret' })).toBe(`Basic ${Buffer.from('admin:secret').toString('base64')}`);
  });
});
