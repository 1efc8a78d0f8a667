import { describe, expect, it } from 'vitest';
import { authKey, defaultRegistryConfig, endpointsFor, isInsecureRegistry, registryConfigFromJson, splitHostPort } from './config.js';

describe('registryConfigFromJson (daemon.json)', () => {
  it("has Docker's defaults", () => {
    const c = registryConfigFromJson({});
    expect(c).toMatchObject({ mirrors: {}, origins: {}, insecure: ['127.0.0.0/8'], maxConcurrentDownloads: 3, maxConcurrentUploads: 5 });
  });

  it('reads registry-mirrors (docker.io), registry-mirrors-for (any registry) and the limits', () => {
    const c = registryConfigFromJson({
      'registry-mirrors': ['https://mirror.example.com/', 'http://127.0.0.1:5001'],
      'registry-mirrors-for': { 'ghcr.io': ['https://ghcr-cache.example.com'], 'index.docker.io': ['https://third.example.com'] },
      'insecure-registries': ['myreg:5000', 'http://other.example.com/', '10.0.0.0/8'],
      'max-concurrent-downloads': 6,
      'max-concurrent-uploads': 2,
      debug: true,
    });
    expect(c.mirrors).toEqual({
      'docker.io': ['https://mirror.example.com', 'http://127.0.0.1:5001', 'https://third.example.com'],
      'ghcr.io': ['https://ghcr-cache.example.com'],
    });
    expect(c.insecure).toEqual(['127.0.0.0/8', 'myreg:5000', 'other.example.com', '10.0.0.0/8']);
    expect(c.maxConcurrentDownloads).toBe(6);
    expect(c.maxConcurrentUploads).toBe(2);
  });

  it('refuses invalid values, naming the key', () => {
    expect(() => registryConfigFromJson({ 'registry-mirrors': 'https://x' })).toThrow(/"registry-mirrors" must be a list/);
    expect(() => registryConfigFromJson({ 'registry-mirrors': ['mirror.example.com'] })).toThrow(/invalid mirror/);
    expect(() => registryConfigFromJson({ 'registry-mirrors': ['https://m.example.com/v2/'] })).toThrow(/path, query, or fragment/);
    expect(() => registryConfigFromJson({ 'registry-mirrors': ['ftp://m.example.com'] })).toThrow(/unsupported scheme/);
    expect(() => registryConfigFromJson({ 'registry-mirrors-for': ['x'] })).toThrow(/registry-mirrors-for/);
    expect(() => registryConfigFromJson({ 'max-concurrent-downloads': 0 })).toThrow(/max-concurrent-downloads/);
    expect(() => registryConfigFromJson({ 'max-concurrent-uploads': 1.5 })).toThrow(/max-concurrent-uploads/);
  });
});

describe('insecure registries', () => {
  const cfg = registryConfigFromJson({ 'insecure-registries': ['myreg:5000', 'plain.example.com', '10.1.0.0/16', 'fd00::/8'] });

  it('treats loopback as insecure by default, localhost included', () => {
    const d = defaultRegistryConfig();
    expect(isInsecureRegistry(d, '127.0.0.1:5000')).toBe(true);
    expect(isInsecureRegistry(d, '127.8.9.1')).toBe(true);
    expect(isInsecureRegistry(d, 'localhost:5000')).toBe(true);
    expect(isInsecureRegistry(d, '128.0.0.1:5000')).toBe(false);
    expect(isInsecureRegistry(d, 'registry-1.docker.io')).toBe(false);
  });

  it('matches host:port, a host on any port, and CIDRs (v4 and v6)', () => {
    expect(isInsecureRegistry(cfg, 'myreg:5000')).toBe(true);
    expect(isInsecureRegistry(cfg, 'myreg:5001')).toBe(false);
    expect(isInsecureRegistry(cfg, 'plain.example.com:8443')).toBe(true);
    expect(isInsecureRegistry(cfg, '10.1.200.3:5000')).toBe(true);
    expect(isInsecureRegistry(cfg, '10.2.0.1:5000')).toBe(false);
    expect(isInsecureRegistry(cfg, '[fd12::1]:5000')).toBe(true);
    expect(isInsecureRegistry(cfg, '[fe80::1]:5000')).toBe(false);
  });

  it('splits host and port', () => {
    expect(splitHostPort('a:1')).toEqual({ host: 'a', port: '1' });
    expect(splitHostPort('[::1]:5000')).toEqual({ host: '::1', port: '5000' });
    expect(splitHostPort('a')).toEqual({ host: 'a' });
  });
});

describe('endpointsFor', () => {
  const cfg = registryConfigFromJson({
    'registry-mirrors': ['https://mirror.example.com', 'http://127.0.0.1:5001'],
    'registry-mirrors-for': { 'localhost:5000': ['http://127.0.0.1:6000'] },
  });

  it('puts mirrors first for pulls and docker.io at registry-1.docker.io last', () => {
    expect(endpointsFor(cfg, 'docker.io', 'pull')).toEqual([
      { url: 'https://mirror.example.com', host: 'mirror.example.com', mirror: true, insecure: false },
      { url: 'http://127.0.0.1:5001', host: '127.0.0.1:5001', mirror: true, insecure: true },
      { url: 'https://registry-1.docker.io', host: 'registry-1.docker.io', mirror: false, insecure: false },
    ]);
  });

  it('never pushes to a mirror', () => {
    expect(endpointsFor(cfg, 'docker.io', 'push').map((e) => e.url)).toEqual(['https://registry-1.docker.io']);
  });

  it('mirrors any registry that has them; loopback origins are insecure', () => {
    expect(endpointsFor(cfg, 'localhost:5000', 'pull').map((e) => [e.url, e.mirror, e.insecure])).toEqual([
      ['http://127.0.0.1:6000', true, true],
      ['https://localhost:5000', false, true],
    ]);
    expect(endpointsFor(cfg, 'ghcr.io', 'pull')).toEqual([{ url: 'https://ghcr.io', host: 'ghcr.io', mirror: false, insecure: false }]);
  });

  it('sends a registry with an origin override to that server only (registry-origin-for)', () => {
    const c = registryConfigFromJson({ 'registry-mirrors': ['https://mirror.example.com'], 'registry-origin-for': { 'docker.io': 'http://127.0.0.1:9' } });
    expect(endpointsFor(c, 'docker.io', 'pull').map((e) => [e.url, e.mirror, e.insecure])).toEqual([
      ['https://mirror.example.com', true, false],
      ['http://127.0.0.1:9', false, true],
    ]);
    expect(endpointsFor(c, 'docker.io', 'push').map((e) => e.url)).toEqual(['http://127.0.0.1:9']);
    expect(() => registryConfigFromJson({ 'registry-origin-for': { 'docker.io': ['x'] } })).toThrow(/must be a URL/);
  });

  it('names the credentials key of a registry as docker does', () => {
    expect(authKey('docker.io')).toBe('https://index.docker.io/v1/');
    expect(authKey('index.docker.io')).toBe('https://index.docker.io/v1/');
    expect(authKey('localhost:5000')).toBe('localhost:5000');
  });
});
