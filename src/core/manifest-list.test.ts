import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  annotateEntry,
  assembleManifestList,
  entriesFromOtherRepositories,
  entryBytes,
  manifestBlobs,
  manifestFileNames,
  normalizeManifestRef,
  parseImageManifestEntry,
  platformOfConfig,
  type ImageManifestEntry,
} from './manifest-list.js';
import { MEDIA_TYPES } from './oci.js';
import { formatReference } from './reference.js';

const sha = (s: string | Buffer) => `sha256:${createHash('sha256').update(s).digest('hex')}`;

function entry(ref: string, arch: string, o: { mediaType?: string; variant?: string; body?: string } = {}): ImageManifestEntry {
  const body = o.body ?? JSON.stringify({ schemaVersion: 2, mediaType: o.mediaType ?? MEDIA_TYPES.dockerManifest, config: { digest: sha(`cfg-${arch}`) }, layers: [] });
  return {
    Ref: ref,
    Descriptor: { mediaType: o.mediaType ?? MEDIA_TYPES.dockerManifest, digest: sha(body), size: body.length, platform: { architecture: arch, os: 'linux', ...(o.variant ? { variant: o.variant } : {}) } },
    Raw: Buffer.from(body).toString('base64'),
    SchemaV2Manifest: JSON.parse(body),
  };
}

describe('references and store names', () => {
  it("normalises as docker's manifest commands do", () => {
    expect(formatReference(normalizeManifestRef('busybox'))).toBe('docker.io/library/busybox:latest');
    expect(formatReference(normalizeManifestRef('127.0.0.1:5000/app'))).toBe('127.0.0.1:5000/app:latest');
    expect(formatReference(normalizeManifestRef(`127.0.0.1:5000/app@${sha('x')}`))).toBe(`127.0.0.1:5000/app@${sha('x')}`);
    expect(() => normalizeManifestRef('Bad/Name')).toThrow('invalid reference format');
  });

  it("names files as docker 28 does, and as newer docker CLIs do", () => {
    expect(manifestFileNames('127.0.0.1:5000/team/app:1')).toEqual({ current: '127.0.0.1-5000_team_app-1', newer: '127.0.0.1%5000#team#app%1' });
    expect(manifestFileNames(`docker.io/library/busybox@${sha('x')}`).current).toBe(`docker.io_library_busybox@sha256-${sha('x').slice(7)}`);
  });
});

describe('annotateEntry (manifest annotate)', () => {
  const e = entry('127.0.0.1:5000/app:arm', 'arm');
  it('sets the fields given, leaves the others, adds OS features once', () => {
    const a = annotateEntry(e, { variant: 'v7', osFeatures: ['sse4', 'sse4', ''] });
    expect(a.Descriptor.platform).toEqual({ architecture: 'arm', os: 'linux', 'os.features': ['sse4'], variant: 'v7' });
    const b = annotateEntry(a, { osFeatures: ['sse4', 'avx'], osVersion: '10.0.1', os: '', arch: '' });
    expect(b.Descriptor.platform).toEqual({ architecture: 'arm', os: 'linux', 'os.version': '10.0.1', 'os.features': ['sse4', 'avx'], variant: 'v7' });
    expect(b.Descriptor.digest).toBe(e.Descriptor.digest);
    expect(b.Raw).toBe(e.Raw);
    expect(e.Descriptor.platform).toEqual({ architecture: 'arm', os: 'linux' }); // not changed in place
  });

  it('refuses an os/arch pair Go does not know, naming the result', () => {
    expect(() => annotateEntry(e, { arch: 'sparc' })).toThrow('manifest entry for image has unsupported os/arch combination: linux/sparc');
    expect(() => annotateEntry(e, { os: 'windows', arch: 'arm64' })).toThrow('unsupported os/arch combination: windows/arm64');
    expect(annotateEntry(e, { os: 'linux', arch: 's390x' }).Descriptor.platform).toEqual({ architecture: 's390x', os: 'linux' });
    const bare: ImageManifestEntry = { Ref: 'x', Descriptor: { mediaType: MEDIA_TYPES.dockerManifest, digest: sha('x'), size: 1 } };
    expect(() => annotateEntry(bare, { variant: 'v8' })).toThrow('unsupported os/arch combination: /');
    expect(annotateEntry(bare, { os: 'linux', arch: 'arm64' }).Descriptor.platform).toEqual({ architecture: 'arm64', os: 'linux' });
  });
});

describe('platformOfConfig', () => {
  it("reads the config's platform fields, Docker's key order, empty ones out", () => {
    expect(platformOfConfig({ os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763.1879', 'os.features': ['win32k'], rootfs: {} })).toEqual({
      architecture: 'amd64',
      os: 'windows',
      'os.version': '10.0.17763.1879',
      'os.features': ['win32k'],
    });
    expect(Object.keys(platformOfConfig({ variant: 'v8', os: 'linux', architecture: 'arm64' }))).toEqual(['architecture', 'os', 'variant']);
    expect(platformOfConfig(null)).toEqual({ architecture: '', os: '' });
    expect(platformOfConfig({ os: 1, architecture: 'x', variant: '' })).toEqual({ architecture: 'x', os: '' });
  });
});

describe('assembleManifestList (manifest push)', () => {
  const target = normalizeManifestRef('127.0.0.1:5000/app:1');

  it("makes a Docker manifest list laid out as docker's (same entries, same bytes, same digest)", () => {
    const amd = entry('127.0.0.1:5000/app:amd64', 'amd64');
    const arm = entry('127.0.0.1:5000/app:arm64', 'arm64', { variant: 'v8' });
    const list = assembleManifestList([amd, arm], target);
    expect(list.mediaType).toBe(MEDIA_TYPES.dockerManifestList);
    expect(list.json).toBe(
      [
        '{',
        '   "schemaVersion": 2,',
        '   "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",',
        '   "manifests": [',
        '      {',
        '         "mediaType": "application/vnd.docker.distribution.manifest.v2+json",',
        `         "size": ${amd.Descriptor.size},`,
        `         "digest": "${amd.Descriptor.digest}",`,
        '         "platform": {',
        '            "architecture": "amd64",',
        '            "os": "linux"',
        '         }',
        '      },',
        '      {',
        '         "mediaType": "application/vnd.docker.distribution.manifest.v2+json",',
        `         "size": ${arm.Descriptor.size},`,
        `         "digest": "${arm.Descriptor.digest}",`,
        '         "platform": {',
        '            "architecture": "arm64",',
        '            "os": "linux",',
        '            "variant": "v8"',
        '         }',
        '      }',
        '   ]',
        '}',
      ].join('\n'),
    );
  });

  it('makes an OCI index when every image is an OCI manifest, a Docker list when they are mixed', () => {
    const a = entry('127.0.0.1:5000/app:a', 'amd64', { mediaType: MEDIA_TYPES.ociManifest });
    const b = entry('127.0.0.1:5000/app:b', 'arm64', { mediaType: MEDIA_TYPES.ociManifest });
    expect(assembleManifestList([a, b], target).mediaType).toBe(MEDIA_TYPES.ociIndex);
    expect(JSON.parse(assembleManifestList([a, b], target).json)).toMatchObject({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex });
    expect(assembleManifestList([a, entry('127.0.0.1:5000/app:c', 'arm')], target).mediaType).toBe(MEDIA_TYPES.dockerManifestList);
  });

  it("refuses what docker refuses: no entries, no platform, another registry, a digest that is not one", () => {
    expect(() => assembleManifestList([], target)).toThrow('127.0.0.1:5000/app:1 not found');
    const noPlatform: ImageManifestEntry = { ...entry('127.0.0.1:5000/app:x', 'amd64'), Descriptor: { mediaType: MEDIA_TYPES.dockerManifest, digest: sha('x'), size: 1 } };
    expect(() => assembleManifestList([noPlatform], target)).toThrow('manifest 127.0.0.1:5000/app:x must have an OS and Architecture to be pushed to a registry');
    expect(assembleManifestList([noPlatform], target, { forPush: false }).manifests[0]?.platform).toEqual({ architecture: '', os: '' });
    expect(() => assembleManifestList([entry('ghcr.io/x/app:1', 'amd64')], target)).toThrow('cannot use source images from a different registry than the target image: ghcr.io != 127.0.0.1:5000');
    const bad = entry('127.0.0.1:5000/app:b', 'amd64');
    bad.Descriptor.digest = 'sha256:nothex';
    expect(() => assembleManifestList([bad], target)).toThrow('digest parse of image "127.0.0.1:5000/app:b" failed');
  });

  it('copies first the images of other repositories, each with its config and layers', () => {
    const same = entry('127.0.0.1:5000/app:amd64', 'amd64');
    const other = entry('127.0.0.1:5000/base@sha256:' + 'a'.repeat(64), 'arm64');
    expect(entriesFromOtherRepositories([same, other], target)).toEqual([other]);
    const cfg = { mediaType: MEDIA_TYPES.dockerConfig, digest: sha('c'), size: 1 };
    const l = { mediaType: MEDIA_TYPES.dockerLayerGzip, digest: sha('l'), size: 2 };
    expect(manifestBlobs({ config: cfg, layers: [l] })).toEqual([cfg, l]);
    expect(manifestBlobs({ manifests: [] })).toEqual([]);
  });
});

describe('entries', () => {
  it("gives the manifest's bytes: Raw, or the JSON laid out as docker re-serialises entries that have none", () => {
    const e = entry('127.0.0.1:5000/app:1', 'amd64');
    expect(entryBytes(e)?.toString()).toBe(Buffer.from(e.Raw as string, 'base64').toString());
    const { Raw: _raw, ...old } = e;
    expect(entryBytes(old)?.toString()).toBe(JSON.stringify(e.SchemaV2Manifest, null, 3));
    expect(entryBytes({ Ref: 'x', Descriptor: e.Descriptor, OCIManifest: { a: 1 } })?.toString()).toBe('{\n  "a": 1\n}');
    expect(entryBytes({ Ref: 'x', Descriptor: e.Descriptor })).toBeUndefined();
  });

  it('reads entries from untrusted JSON, keeping what a push needs and refusing what it cannot use', () => {
    const e = entry('127.0.0.1:5000/app:1', 'amd64', { variant: 'v1' });
    expect(parseImageManifestEntry({ ...e, Extra: true }, 'f')).toEqual(e);
    expect(() => parseImageManifestEntry([], 'f')).toThrow('f: invalid manifest entry: not a JSON object');
    expect(() => parseImageManifestEntry({ Descriptor: e.Descriptor }, 'f')).toThrow('no Ref');
    expect(() => parseImageManifestEntry({ Ref: 'x', Descriptor: { digest: 'x' } }, 'f')).toThrow('the Descriptor needs mediaType, digest and size');
    expect(() => parseImageManifestEntry({ Ref: 'x', Descriptor: { ...e.Descriptor, platform: { 'os.features': [1] } } }, 'f')).toThrow('os.features is not a list of strings');
    expect(parseImageManifestEntry({ Ref: 'x', Descriptor: { ...e.Descriptor, platform: null } }, 'f').Descriptor.platform).toBeUndefined();
  });
});
