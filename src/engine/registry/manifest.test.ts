import { describe, expect, it } from 'vitest';
import { MEDIA_TYPES, type Descriptor } from '../../core/oci.js';
import { configMatches, formatPlatform, normalizePlatform, parseManifest, parsePlatform, selectManifest, type Index } from './manifest.js';

const d = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;

const manifest = (mediaType?: string) =>
  Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      ...(mediaType ? { mediaType } : {}),
      config: { mediaType: MEDIA_TYPES.dockerConfig, digest: d(1), size: 10 },
      layers: [{ mediaType: MEDIA_TYPES.dockerLayerGzip, digest: d(2), size: 20 }],
    }),
  );

const entry = (digest: string, platform?: Descriptor['platform'], annotations?: Record<string, string>): Descriptor => ({
  mediaType: MEDIA_TYPES.ociManifest,
  digest,
  size: 100,
  ...(platform ? { platform } : {}),
  ...(annotations ? { annotations } : {}),
});

describe('parseManifest', () => {
  it('tells image manifests from lists, by mediaType, header or shape', () => {
    expect(parseManifest(manifest(MEDIA_TYPES.dockerManifest), 'application/json').kind).toBe('manifest');
    const oci = parseManifest(manifest(), `${MEDIA_TYPES.ociManifest}; charset=utf-8`);
    expect(oci).toMatchObject({ kind: 'manifest', mediaType: MEDIA_TYPES.ociManifest });
    const list = parseManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.dockerManifestList, manifests: [entry(d(3))] })), undefined);
    expect(list).toMatchObject({ kind: 'index', mediaType: MEDIA_TYPES.dockerManifestList });
    const bare = parseManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [] })), 'application/json');
    expect(bare).toMatchObject({ kind: 'index', mediaType: MEDIA_TYPES.ociIndex });
  });

  it('refuses schema 1, unknown types, non-sha256 digests and missing sizes', () => {
    expect(() => parseManifest(Buffer.from(JSON.stringify({ schemaVersion: 1, name: 'x' })), 'application/vnd.docker.distribution.manifest.v1+prettyjws')).toThrow(/schema 1/);
    expect(() => parseManifest(Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.example+json"}'), undefined)).toThrow(/unsupported manifest media type/);
    const bad = { schemaVersion: 2, config: { digest: 'sha512:abc', size: 1 }, layers: [] };
    expect(() => parseManifest(Buffer.from(JSON.stringify(bad)), MEDIA_TYPES.ociManifest)).toThrow(/unsupported digest/);
    const noSize = { schemaVersion: 2, config: { digest: d(1) }, layers: [] };
    expect(() => parseManifest(Buffer.from(JSON.stringify(noSize)), MEDIA_TYPES.ociManifest)).toThrow(/no valid size/);
    expect(() => parseManifest(Buffer.from('<html>'), MEDIA_TYPES.ociManifest)).toThrow(/not valid JSON/);
  });
});

describe('platforms', () => {
  it('normalises like containerd', () => {
    expect(normalizePlatform({ os: 'Linux', architecture: 'x86_64' })).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(normalizePlatform({ os: 'linux', architecture: 'aarch64', variant: 'v8' })).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(normalizePlatform({ os: 'linux', architecture: 'arm' })).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(normalizePlatform({ os: 'linux', architecture: 'armhf' })).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
  });

  it('parses --platform as docker does', () => {
    const host = { os: 'linux', architecture: 'amd64' };
    expect(parsePlatform('linux/arm64', host)).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(parsePlatform('linux/arm/v6', host)).toEqual({ os: 'linux', architecture: 'arm', variant: 'v6' });
    expect(parsePlatform('arm64', host)).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(parsePlatform('linux', host)).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(parsePlatform('', host)).toEqual(host);
    expect(() => parsePlatform('linux/amd64/v2/x', host)).toThrow(/unknown operating system or architecture/);
    expect(formatPlatform({ os: 'linux', architecture: 'arm64', variant: 'v8' })).toBe('linux/arm64/v8');
    expect(formatPlatform({ os: 'linux', architecture: 'amd64' })).toBe('linux/amd64');
  });

  const index: Index = {
    schemaVersion: 2,
    manifests: [
      entry(d(1), { os: 'linux', architecture: 'amd64' }),
      entry(d(2), { os: 'linux', architecture: 'arm64', variant: 'v8' }),
      entry(d(3), { os: 'linux', architecture: 'arm', variant: 'v6' }),
      entry(d(4), { os: 'unknown', architecture: 'unknown' }, { 'vnd.docker.reference.type': 'attestation-manifest' }),
      entry(d(5), { os: 'windows', architecture: 'amd64' }),
    ],
  };

  it("picks the platform's entry of an index", () => {
    expect(selectManifest(index, { os: 'linux', architecture: 'amd64' }).digest).toBe(d(1));
    expect(selectManifest(index, { os: 'linux', architecture: 'arm64' }).digest).toBe(d(2));
    expect(selectManifest(index, { os: 'linux', architecture: 'arm64', variant: 'v8' }).digest).toBe(d(2));
    expect(selectManifest(index, { os: 'windows', architecture: 'amd64' }).digest).toBe(d(5));
  });

  it('lets arm/v7 run a v6 image, but prefers an exact variant', () => {
    expect(selectManifest(index, { os: 'linux', architecture: 'arm', variant: 'v7' }).digest).toBe(d(3));
    const both: Index = { schemaVersion: 2, manifests: [entry(d(3), { os: 'linux', architecture: 'arm', variant: 'v6' }), entry(d(6), { os: 'linux', architecture: 'arm', variant: 'v7' })] };
    expect(selectManifest(both, { os: 'linux', architecture: 'arm', variant: 'v7' }).digest).toBe(d(6));
    expect(() => selectManifest(both, { os: 'linux', architecture: 'arm', variant: 'v5' })).toThrow();
  });

  it("says so in Docker's words when nothing matches (attestations never do)", () => {
    expect(() => selectManifest(index, { os: 'linux', architecture: 's390x' })).toThrow('no matching manifest for linux/s390x in the manifest list entries');
    expect(() => selectManifest(index, { os: 'unknown', architecture: 'unknown' })).toThrow(/no matching manifest/);
  });

  it('checks a single-platform config against --platform', () => {
    expect(configMatches({ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'amd64' })).toBe(true);
    expect(configMatches({ os: 'linux', architecture: 'arm64' }, { os: 'linux', architecture: 'amd64' })).toBe(false);
    expect(configMatches({ os: 'linux', architecture: 'arm64', variant: 'v8' }, { os: 'linux', architecture: 'arm64' })).toBe(true);
  });
});
