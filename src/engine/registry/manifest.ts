/**
 * Manifests as a registry serves them, the pure part: which media types berth asks for,
 * telling an image manifest from an index, validating them, and choosing a platform's
 * manifest from a manifest list / OCI index the way containerd's `platforms.Only` does.
 */
import { InvalidArgument, NotFound } from '../../core/errors.js';
import { MEDIA_TYPES, type Descriptor, type Manifest, type Platform } from '../../core/oci.js';

export const DOCKER_SCHEMA1 = 'application/vnd.docker.distribution.manifest.v1+json';
export const DOCKER_SCHEMA1_SIGNED = 'application/vnd.docker.distribution.manifest.v1+prettyjws';

/** What `GET /v2/<name>/manifests/<ref>` asks for, best first. */
export const MANIFEST_ACCEPT: readonly string[] = [
  MEDIA_TYPES.dockerManifestList,
  MEDIA_TYPES.ociIndex,
  MEDIA_TYPES.dockerManifest,
  MEDIA_TYPES.ociManifest,
];

/** Registries cap manifests at 4 MiB; berth refuses bigger ones rather than buffering them. */
export const MAX_MANIFEST_SIZE = 4 * 1024 * 1024;

/** Layer media types berth can unpack (the blob's magic bytes pick the decompressor). */
export const LAYER_MEDIA_TYPES: ReadonlySet<string> = new Set([
  MEDIA_TYPES.dockerLayerGzip,
  MEDIA_TYPES.dockerLayer,
  MEDIA_TYPES.ociLayer,
  MEDIA_TYPES.ociLayerGzip,
  MEDIA_TYPES.ociLayerZstd,
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
]);

export interface Index {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

export type ParsedManifest =
  | { kind: 'manifest'; mediaType: string; manifest: Manifest }
  | { kind: 'index'; mediaType: string; index: Index };

const digestRe = /^sha256:[a-f0-9]{64}$/;

/**
 * Reads a manifest body served with `contentType`. The body's own `mediaType` wins over the
 * header (registries send `application/json` sometimes); without either, the shape decides.
 */
export function parseManifest(body: Buffer, contentType: string | undefined): ParsedManifest {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw new InvalidArgument('the registry answered with a manifest that is not valid JSON');
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new InvalidArgument('the registry answered with a manifest that is not a JSON object');
  const m = json as Record<string, unknown>;
  const header = (contentType ?? '').split(';')[0]?.trim() ?? '';
  const declared = typeof m.mediaType === 'string' && m.mediaType !== '' ? m.mediaType : header;
  if (declared === DOCKER_SCHEMA1 || declared === DOCKER_SCHEMA1_SIGNED || m.schemaVersion === 1) {
    throw new InvalidArgument(
      'unsupported manifest format: Docker image manifest version 2, schema 1 is deprecated and not supported by berth; push the image again with a current client',
    );
  }
  if (m.schemaVersion !== 2) throw new InvalidArgument(`unsupported manifest schemaVersion ${String(m.schemaVersion)}`);
  const isIndex = declared === MEDIA_TYPES.ociIndex || declared === MEDIA_TYPES.dockerManifestList || (Array.isArray(m.manifests) && m.config === undefined);
  if (isIndex) {
    if (!Array.isArray(m.manifests)) throw new InvalidArgument('invalid manifest list: no manifests');
    for (const d of m.manifests) checkDescriptor(d, 'manifest list entry');
    return { kind: 'index', mediaType: declared === MEDIA_TYPES.dockerManifestList ? declared : MEDIA_TYPES.ociIndex, index: m as unknown as Index };
  }
  const isManifest = declared === MEDIA_TYPES.ociManifest || declared === MEDIA_TYPES.dockerManifest || ((declared === '' || declared === 'application/json') && m.config !== undefined);
  if (!isManifest) throw new InvalidArgument(`unsupported manifest media type "${declared}"`);
  checkDescriptor(m.config, 'config');
  if (!Array.isArray(m.layers)) throw new InvalidArgument('invalid manifest: no layers');
  for (const l of m.layers) checkDescriptor(l, 'layer');
  return { kind: 'manifest', mediaType: declared === '' || declared === 'application/json' ? MEDIA_TYPES.ociManifest : declared, manifest: m as unknown as Manifest };
}

function checkDescriptor(d: unknown, what: string): void {
  if (d === null || typeof d !== 'object') throw new InvalidArgument(`invalid manifest: ${what} is not a descriptor`);
  const desc = d as Partial<Descriptor>;
  if (typeof desc.digest !== 'string' || !digestRe.test(desc.digest)) {
    throw new InvalidArgument(`invalid manifest: ${what} has an unsupported digest "${String(desc.digest)}" (berth verifies sha256 only)`);
  }
  if (typeof desc.size !== 'number' || !Number.isSafeInteger(desc.size) || desc.size < 0) throw new InvalidArgument(`invalid manifest: ${what} ${desc.digest} has no valid size`);
}

// ---------------------------------------------------------------------------------------------
// Platforms

const ARCH_ALIASES: Readonly<Record<string, string>> = { x86_64: 'amd64', 'x86-64': 'amd64', aarch64: 'arm64', armhf: 'arm', armel: 'arm', i386: '386', i686: '386' };

/** containerd's `platforms.Normalize`: aliases, arm64's implicit v8, arm's implicit v7. */
export function normalizePlatform(p: Platform): Platform {
  const os = p.os.toLowerCase();
  let architecture = p.architecture.toLowerCase();
  let variant = p.variant?.toLowerCase();
  if (p.architecture === 'armhf') variant ??= 'v7';
  if (p.architecture === 'armel') variant ??= 'v6';
  architecture = ARCH_ALIASES[architecture] ?? architecture;
  if (architecture === 'arm64' && (variant === 'v8' || variant === '8')) variant = undefined;
  if (architecture === 'arm') {
    if (variant === undefined || variant === '' || variant === '7') variant = 'v7';
    else if (/^\d$/.test(variant)) variant = `v${variant}`;
  }
  if (architecture === 'amd64' && variant === 'v1') variant = undefined;
  return variant !== undefined && variant !== '' ? { os, architecture, variant } : { os, architecture };
}

/** The daemon's own platform (Node's `process.arch` in OCI's words). */
export function hostPlatform(): Platform {
  const map: Readonly<Record<string, Platform>> = {
    x64: { os: 'linux', architecture: 'amd64' },
    arm64: { os: 'linux', architecture: 'arm64' },
    arm: { os: 'linux', architecture: 'arm', variant: 'v7' },
    ia32: { os: 'linux', architecture: '386' },
    ppc64: { os: 'linux', architecture: 'ppc64le' },
    s390x: { os: 'linux', architecture: 's390x' },
    riscv64: { os: 'linux', architecture: 'riscv64' },
  };
  return map[process.arch] ?? { os: 'linux', architecture: process.arch };
}

/**
 * `--platform` as docker takes it: `os[/arch[/variant]]`, or an architecture alone
 * (`arm64`, taken for linux). Missing parts come from the host.
 */
export function parsePlatform(spec: string, host: Platform = hostPlatform()): Platform {
  const s = spec.trim();
  if (s === '') return normalizePlatform(host);
  const parts = s.split('/');
  if (parts.length > 3 || parts.some((p) => !/^[A-Za-z0-9_.-]+$/.test(p))) throw new InvalidArgument(`"${spec}": unknown operating system or architecture: invalid argument`);
  const [a, b, c] = parts as [string, string | undefined, string | undefined];
  const knownOs = ['linux', 'windows', 'darwin', 'freebsd'];
  if (parts.length === 1) {
    if (knownOs.includes(a.toLowerCase())) return normalizePlatform({ os: a, architecture: host.architecture, ...(host.variant ? { variant: host.variant } : {}) });
    return normalizePlatform({ os: 'linux', architecture: a });
  }
  return normalizePlatform({ os: a, architecture: b as string, ...(c !== undefined ? { variant: c } : {}) });
}

/** `linux/arm64/v8` → `linux/arm64/v8` (normalised but with arm64's variant shown, as Docker prints it). */
export function formatPlatform(p: Platform): string {
  const n = normalizePlatform(p);
  const variant = n.variant ?? (n.architecture === 'arm64' && p.variant !== undefined ? 'v8' : undefined);
  return `${n.os}/${n.architecture}${variant !== undefined ? `/${variant}` : ''}`;
}

/**
 * Variants a platform also runs, best first (containerd's `platforms.Only`): arm/v7 runs
 * v6 and v5 images, arm64 accepts entries with or without `v8`.
 */
function acceptedVariants(want: Platform): (string | undefined)[] {
  if (want.architecture === 'arm') {
    const order = ['v8', 'v7', 'v6', 'v5'];
    const i = order.indexOf(want.variant ?? 'v7');
    return i < 0 ? [want.variant] : order.slice(i);
  }
  return [want.variant];
}

/** Whether an index entry's platform runs on `want`, and how well (0 best; undefined: no). */
export function platformRank(have: Platform | undefined, want: Platform): number | undefined {
  if (have === undefined || typeof have.os !== 'string' || typeof have.architecture !== 'string') return undefined;
  const h = normalizePlatform(have);
  const w = normalizePlatform(want);
  if (h.os !== w.os || h.architecture !== w.architecture) return undefined;
  const accepted = acceptedVariants(w);
  const i = accepted.indexOf(h.variant);
  if (i >= 0) return i;
  // An entry without a variant where one is wanted (or the other way round) still matches,
  // after every exact variant.
  if (h.variant === undefined || w.variant === undefined) return accepted.length;
  return undefined;
}

/**
 * The entry of an index for `want`: the best-ranked match, the first of equals (indexes
 * list the preferred entry first). Attestation manifests (`unknown/unknown`) never match.
 * Throws NotFound with Docker's wording when nothing matches.
 */
export function selectManifest(index: Index, want: Platform): Descriptor {
  let best: { d: Descriptor; rank: number } | undefined;
  for (const d of index.manifests) {
    if (d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest') continue;
    const rank = platformRank(d.platform, want);
    if (rank === undefined) continue;
    if (best === undefined || rank < best.rank) best = { d, rank };
  }
  if (best === undefined) {
    throw new NotFound(`no matching manifest for ${formatPlatform(want)} in the manifest list entries`);
  }
  return best.d;
}

/** The platforms an index offers (for error messages). */
export function indexPlatforms(index: Index): string[] {
  return index.manifests.filter((d) => d.platform !== undefined && d.platform.os !== 'unknown').map((d) => formatPlatform(d.platform as Platform));
}

/** Whether an image config (os/architecture/variant) satisfies `want` (for single-platform manifests). */
export function configMatches(config: { os?: string; architecture?: string; variant?: string }, want: Platform): boolean {
  if (typeof config.os !== 'string' || typeof config.architecture !== 'string') return true;
  return platformRank({ os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) }, want) !== undefined;
}
