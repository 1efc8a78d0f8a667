import { describe, expect, it } from 'vitest';
import { DEFAULT_SOCKET, parseHost, resolveHost } from './host.js';

describe('host resolution', () => {
  it('prefers the flag, then BERTH_HOST, then the default', () => {
    expect(resolveHost('unix:///a.sock', { BERTH_HOST: 'unix:///b.sock' })).toBe('/a.sock');
    expect(resolveHost(undefined, { BERTH_HOST: 'unix:///b.sock' })).toBe('/b.sock');
    expect(resolveHost(undefined, {})).toBe(DEFAULT_SOCKET);
    expect(resolveHost('', { BERTH_HOST: '' })).toBe(DEFAULT_SOCKET);
    expect(DEFAULT_SOCKET).toBe('/run/berth/berth.sock');
  });

  it('ignores DOCKER_HOST', () => {
    expect(resolveHost(undefined, { DOCKER_HOST: 'unix:///var/run/docker.sock' })).toBe(DEFAULT_SOCKET);
  });

  it('accepts unix:// URLs and plain paths', () => {
    expect(parseHost('unix:///run/x/berth.sock')).toBe('/run/x/berth.sock');
    expect(parseHost('/tmp/b.sock')).toBe('/tmp/b.sock');
    expect(parseHost('./rel.sock')).toBe('./rel.sock');
    expect(parseHost(' unix:///t.sock ')).toBe('/t.sock');
    expect(parseHost('unix://')).toBe(DEFAULT_SOCKET);
  });

  it('refuses other schemes', () => {
    expect(() => parseHost('tcp://127.0.0.1:2375')).toThrow('unsupported host "tcp://127.0.0.1:2375"');
    expect(() => parseHost('ssh://me@host')).toThrow('berth only listens on a unix socket');
  });
});
