import { describe, expect, it } from 'vitest';
import { codeText, formatErrors, networkErrorText, registryError } from './errors.js';
import { errorMessage, humanSize4, progressMessage, progressString, shortId, statusMessage, Throttle } from './progress.js';

describe('progress messages', () => {
  it('sizes like go-units with four digits', () => {
    expect(humanSize4(512)).toBe('512B');
    expect(humanSize4(2247)).toBe('2.247kB');
    expect(humanSize4(32768)).toBe('32.77kB');
    expect(humanSize4(2152262)).toBe('2.152MB');
    expect(humanSize4(1_000_000)).toBe('1MB');
  });

  it("writes jsonmessage's progress string at the daemon's width", () => {
    expect(progressString(32768, 2152262)).toBe(`[>${' '.repeat(50)}]  32.77kB/2.152MB`);
    expect(progressString(2152262, 2152262)).toBe(`[${'='.repeat(50)}>]  2.152MB/2.152MB`);
    expect(progressString(1076131, 2152262)).toBe(`[${'='.repeat(25)}>${' '.repeat(25)}]  1.076MB/2.152MB`);
    expect(progressString(5, 0)).toBe('      5B');
    expect(progressString(0, 0)).toBe('');
    // A narrow terminal gets the numbers only; more than the total shows the count alone.
    expect(progressString(32768, 2152262, 80)).toBe(' 32.77kB/2.152MB');
    expect(progressString(3000, 2000, 80)).toBe('     3kB');
  });

  it("has Docker's shapes and key order", () => {
    expect(JSON.stringify(statusMessage('Pulling fs layer', 'a46fbb00284b'))).toBe('{"status":"Pulling fs layer","progressDetail":{},"id":"a46fbb00284b"}');
    expect(JSON.stringify(statusMessage('Digest: sha256:x'))).toBe('{"status":"Digest: sha256:x"}');
    expect(JSON.stringify(progressMessage('Downloading', 'abc', 1, 2))).toBe(
      `{"status":"Downloading","progressDetail":{"current":1,"total":2},"progress":"[=========================>${' '.repeat(25)}]       1B/2B","id":"abc"}`,
    );
    expect(JSON.stringify(errorMessage('manifest unknown'))).toBe('{"errorDetail":{"message":"manifest unknown"},"error":"manifest unknown"}');
    expect(shortId('sha256:a46fbb00284b0f1d5bd6b2ae0bd7e85e0ab2fb3eb6a3e2bc0c7b0e8f1f1d1d1d')).toBe('a46fbb00284b');
  });

  it('throttles updates per layer, never the last one', () => {
    let t = 0;
    const th = new Throttle(100, () => t);
    expect(th.update('a', 1, 10)).toBe(true);
    t = 50;
    expect(th.update('a', 2, 10)).toBe(false);
    expect(th.update('b', 2, 10)).toBe(true);
    expect(th.update('a', 10, 10)).toBe(true);
    t = 200;
    expect(th.update('a', 3, 10)).toBe(true);
  });
});

describe('registry errors', () => {
  it("words distribution errors as Docker's errcode does", () => {
    expect(codeText('MANIFEST_UNKNOWN')).toBe('manifest unknown');
    const body = '{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}';
    const e = registryError(404, body, 'Not Found');
    expect(e.message).toBe('manifest unknown: manifest unknown');
    expect(e.kind).toBe('not_found');
    expect(formatErrors([{ code: 'DENIED', message: 'requested access to the resource is denied' }, { code: 'UNAUTHORIZED', message: '' }])).toBe(
      'denied: requested access to the resource is denied, unauthorized',
    );
  });

  it("keeps a 429's message; falls back to the status", () => {
    const limit = registryError(429, '{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your pull rate limit."}]}', 'Too Many Requests');
    expect(limit.message).toBe('toomanyrequests: You have reached your pull rate limit.');
    expect(limit.kind).toBe('rate_limited');
    expect(registryError(429, 'slow down', 'Too Many Requests').message).toBe('toomanyrequests: slow down');
    expect(registryError(401, '', 'Unauthorized')).toMatchObject({ message: 'unauthorized: authentication required', kind: 'unauthorized' });
    expect(registryError(502, '<html>bad gateway</html>', 'Bad Gateway')).toMatchObject({ message: '502 Bad Gateway', kind: 'server' });
  });

  it('names the host in network errors, as Go does', () => {
    const err = (code: string, message = code) => Object.assign(new Error(message), { code }) as NodeJS.ErrnoException;
    expect(networkErrorText(err('ECONNREFUSED'), '127.0.0.1:5000')).toBe('dial tcp 127.0.0.1:5000: connect: connection refused');
    expect(networkErrorText(err('ENOTFOUND'), 'nosuch.example:443')).toBe('dial tcp: lookup nosuch.example: no such host');
    expect(networkErrorText(err('DEPTH_ZERO_SELF_SIGNED_CERT'), 'reg:443')).toMatch(/^tls: failed to verify certificate: x509: certificate signed by unknown authority \(.*insecure-registries/);
    expect(networkErrorText(err('EPROTO', 'write EPROTO ... wrong version number'), 'reg:443')).toBe('http: server gave HTTP response to HTTPS client');
  });
});
