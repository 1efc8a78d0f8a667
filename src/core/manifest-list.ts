/**
 * Manifest lists as `docker manifest` makes them, the pure part shared by the CLI (which
 * keeps local lists) and the engine (which pushes them): the entry a local list holds per
 * image, the rules of `annotate`, and the list (or OCI index) a push sends.
 *
 * An entry is the docker CLI's `types.ImageManifest` as it stores it in
 * `~/.docker/manifests/<list>/<image>`, so lists move between berth and docker:
 *
 * ```json
 * {"Ref":"127.0.0.1:5000/app:arm64",
 *  "Descriptor":{"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
 *                "digest":"sha256:…","size":528,"platform":{"architecture":"arm64","os":"linux"}},
 *  "Raw":"<the manifest's bytes, base64>",
 *  "SchemaV2Manifest":{…the manifest as JSON…}}
 * ```
 */
import { InvalidArgument } from './errors.js';
import { MEDIA_TYPES, type Descriptor, type Platform } from './oci.js';
import { formatReference, parseReference, withDefaultTag, type Reference } from './reference.js';

export interface ImageManifestEntry {
  /** The image's fully qualified reference (`docker.io/library/busybox:latest`, or `repo@sha256:…`). */
  Ref: string;
  /** The manifest's descriptor; `platform` says where it runs (from its config, or set by annotate). */
  Descriptor: Descriptor;
  /** The manifest's exact bytes, base64 (Go's `[]byte` in JSON): what a push sends. */
  Raw?: string;
  /** The manifest as JSON when it is a Docker schema 2 manifest (for inspection). */
  SchemaV2Manifest?: unknown;
  /** The manifest as JSON when it is an OCI image manifest (for inspection). */
  OCIManifest?: unknown;
}

/** docker's `normalizeReference`: fully qualified, `latest` when neither tag nor digest is given. */
export function normalizeManifestRef(input: string): Reference {
  return withDefaultTag(parseReference(input));
}

/**
 * The names a reference's file or directory can have in the local store: docker CLIs up to
 * 28 write `:` as `-` and `/` as `_` (`127.0.0.1-5000_app-1`), which berth writes too;
 * newer ones write `%` and `#` (`127.0.0.1%5000#app%1`), which berth also reads.
 */
export function manifestFileNames(ref: string): { current: string; newer: string } {
  return { current: ref.replace(/:/g, '-').replace(/\//g, '_'), newer: ref.replace(/:/g, '%').replace(/\//g, '#') };
}

/**
 * os/arch pairs `annotate` accepts: Go's list of valid GOOS/GOARCH pairs plus linux/s390x,
 * as the docker CLI keeps it (`cli/command/manifest/util.go`).
 */
export const VALID_OS_ARCH: ReadonlySet<string> = new Set([
  'darwin/386',
  'darwin/amd64',
  'darwin/arm',
  'darwin/arm64',
  'dragonfly/amd64',
  'freebsd/386',
  'freebsd/amd64',
  'freebsd/arm',
  'linux/386',
  'linux/amd64',
  'linux/arm',
  'linux/arm64',
  'linux/ppc64le',
  'linux/mips64',
  'linux/mips64le',
  'linux/riscv64',
  'linux/s390x',
  'netbsd/386',
  'netbsd/amd64',
  'netbsd/arm',
  'openbsd/386',
  'openbsd/amd64',
  'openbsd/arm',
  'plan9/386',
  'plan9/amd64',
  'solaris/amd64',
  'windows/386',
  'windows/amd64',
]);

export interface AnnotateOptions {
  os?: string;
  arch?: string;
  variant?: string;
  osVersion?: string;
  osFeatures?: readonly string[];
}

/**
 * `manifest annotate`: sets the given platform fields of an entry (empty ones are left as
 * they are), adds OS features not already there, and refuses an os/arch pair that is not
 * in {@link VALID_OS_ARCH}. Returns a new entry; the manifest itself is not touched.
 */
export function annotateEntry(entry: ImageManifestEntry, o: AnnotateOptions): ImageManifestEntry {
  const p: Platform = { ...(entry.Descriptor.platform ?? { architecture: '', os: '' }) };
  if (o.os !== undefined && o.os !== '') p.os = o.os;
  if (o.arch !== undefined && o.arch !== '') p.architecture = o.arch;
  for (const f of o.osFeatures ?? []) {
    if (f === '') continue;
    const have = p['os.features'] ?? [];
    if (!have.includes(f)) p['os.features'] = [...have, f];
  }
  if (o.variant !== undefined && o.variant !== '') p.variant = o.variant;
  if (o.osVersion !== undefined && o.osVersion !== '') p['os.version'] = o.osVersion;
  if (!VALID_OS_ARCH.has(`${p.os}/${p.architecture}`)) {
    throw new InvalidArgument(`manifest entry for image has unsupported os/arch combination: ${p.os}/${p.architecture}`);
  }
  return { ...entry, Descriptor: { ...entry.Descriptor, platform: p } };
}

/** A platform with the keys in the order Docker writes them, empty ones left out. */
export function platformJson(p: Platform): Platform {
  const out: Platform = { architecture: p.architecture, os: p.os };
  if (p['os.version'] !== undefined && p['os.version'] !== '') out['os.version'] = p['os.version'];
  if (p['os.features'] !== undefined && p['os.features'].length > 0) out['os.features'] = [...p['os.features']];
  if (p.variant !== undefined && p.variant !== '') out.variant = p.variant;
  return out;
}

/** The platform an image config describes (docker reads the config's JSON into an OCI platform). */
export function platformOfConfig(config: unknown): Platform {
  const c = (config !== null && typeof config === 'object' ? config : {}) as Record<string, unknown>;
  const str = (k: string) => (typeof c[k] === 'string' ? c[k] : undefined);
  const features = Array.isArray(c['os.features']) ? c['os.features'].filter((f): f is string => typeof f === 'string') : undefined;
  const osVersion = str('os.version');
  const variant = str('variant');
  return platformJson({
    architecture: str('architecture') ?? '',
    os: str('os') ?? '',
    ...(osVersion !== undefined ? { 'os.version': osVersion } : {}),
    ...(features !== undefined ? { 'os.features': features } : {}),
    ...(variant !== undefined ? { variant } : {}),
  });
}

const digestRe = /^sha256:[a-f0-9]{64}$/;

export interface AssembledList {
  mediaType: string;
  /** The list's bytes as they are pushed. */
  json: string;
  manifests: Descriptor[];
}

/**
 * The list `manifest push` sends for `target`, from a local list's entries (in the order
 * given: the store's, sorted by file name, as docker reads them). Every entry needs an OS
 * and an architecture and must come from the target's registry. The result is an OCI
 * index when every entry is an OCI manifest, else a Docker manifest list (what the docker
 * CLI always makes). The JSON is laid out as the distribution library writes manifest lists
 * (keys in its order, three-space indent), so the same entries give docker's digest.
 * `forPush: false` (what `manifest inspect` shows of a local list) lets entries without a
 * platform through.
 */
export function assembleManifestList(entries: readonly ImageManifestEntry[], target: Reference, o: { forPush?: boolean } = {}): AssembledList {
  const forPush = o.forPush !== false;
  if (forPush && entries.length === 0) throw new InvalidArgument(`${formatReference(target)} not found`);
  const manifests: Descriptor[] = [];
  for (const e of entries) {
    const p = e.Descriptor.platform ?? { architecture: '', os: '' };
    if (forPush && (p.architecture === '' || p.os === '')) {
      throw new InvalidArgument(`manifest ${e.Ref} must have an OS and Architecture to be pushed to a registry`);
    }
    const ref = parseReference(e.Ref);
    if (ref.domain !== target.domain) {
      throw new InvalidArgument(`cannot use source images from a different registry than the target image: ${ref.domain} != ${target.domain}`);
    }
    if (!digestRe.test(e.Descriptor.digest)) throw new InvalidArgument(`digest parse of image "${e.Ref}" failed: invalid checksum digest format`);
    manifests.push({ mediaType: e.Descriptor.mediaType, size: e.Descriptor.size, digest: e.Descriptor.digest, platform: platformJson(p) });
  }
  const oci = manifests.every((d) => d.mediaType === MEDIA_TYPES.ociManifest);
  const mediaType = oci ? MEDIA_TYPES.ociIndex : MEDIA_TYPES.dockerManifestList;
  return { mediaType, json: JSON.stringify({ schemaVersion: 2, mediaType, manifests }, null, 3), manifests };
}

/**
 * Which entries a push must first copy into the target repository (their manifest and
 * blobs live in another repository of the registry): docker mounts their blobs and puts
 * their manifests by digest before the list.
 */
export function entriesFromOtherRepositories(entries: readonly ImageManifestEntry[], target: Reference): ImageManifestEntry[] {
  return entries.filter((e) => parseReference(e.Ref).repository !== target.repository);
}

/** The blobs an image manifest references: its config, then its layers. */
export function manifestBlobs(manifest: unknown): Descriptor[] {
  if (manifest === null || typeof manifest !== 'object') return [];
  const m = manifest as { config?: Descriptor; layers?: Descriptor[] };
  return [...(m.config !== undefined ? [m.config] : []), ...(Array.isArray(m.layers) ? m.layers : [])];
}

/**
 * The manifest's bytes an entry holds: `Raw`; for entries written by docker CLIs older than
 * `Raw`, the manifest JSON laid out as docker re-serialises it before a push (three-space
 * indent for Docker schema 2, two for OCI). The caller checks them against the digest.
 */
export function entryBytes(entry: ImageManifestEntry): Buffer | undefined {
  if (typeof entry.Raw === 'string' && entry.Raw !== '') return Buffer.from(entry.Raw, 'base64');
  if (entry.SchemaV2Manifest !== undefined && entry.SchemaV2Manifest !== null) return Buffer.from(JSON.stringify(entry.SchemaV2Manifest, null, 3));
  if (entry.OCIManifest !== undefined && entry.OCIManifest !== null) return Buffer.from(JSON.stringify(entry.OCIManifest, null, 2));
  return undefined;
}

/**
 * Reads an entry from untrusted JSON (a store file, a request body); `where` names it in
 * errors. Unknown keys are dropped; the manifest's JSON is kept as it is.
 */
export function parseImageManifestEntry(json: unknown, where: string): ImageManifestEntry {
  const bad = (what: string) => new InvalidArgument(`${where}: invalid manifest entry: ${what}`);
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw bad('not a JSON object');
  const e = json as Record<string, unknown>;
  if (typeof e.Ref !== 'string' || e.Ref === '') throw bad('no Ref');
  const d = e.Descriptor;
  if (d === null || typeof d !== 'object' || Array.isArray(d)) throw bad('no Descriptor');
  const desc = d as Record<string, unknown>;
  if (typeof desc.mediaType !== 'string' || typeof desc.digest !== 'string' || typeof desc.size !== 'number') throw bad('the Descriptor needs mediaType, digest and size');
  const out: ImageManifestEntry = { Ref: e.Ref, Descriptor: { mediaType: desc.mediaType, digest: desc.digest, size: desc.size } };
  const p = desc.platform;
  if (p !== undefined && p !== null) {
    if (typeof p !== 'object' || Array.isArray(p)) throw bad('the platform is not an object');
    const pl = p as Record<string, unknown>;
    const features = pl['os.features'];
    if (features !== undefined && features !== null && (!Array.isArray(features) || !features.every((f) => typeof f === 'string'))) throw bad('os.features is not a list of strings');
    out.Descriptor.platform = platformJson({
      architecture: typeof pl.architecture === 'string' ? pl.architecture : '',
      os: typeof pl.os === 'string' ? pl.os : '',
      ...(typeof pl['os.version'] === 'string' ? { 'os.version': pl['os.version'] } : {}),
      ...(Array.isArray(features) ? { 'os.features': features as string[] } : {}),
      ...(typeof pl.variant === 'string' ? { variant: pl.variant } : {}),
    });
  }
  if (typeof e.Raw === 'string') out.Raw = e.Raw;
  if (e.SchemaV2Manifest !== undefined && e.SchemaV2Manifest !== null) out.SchemaV2Manifest = e.SchemaV2Manifest;
  if (e.OCIManifest !== undefined && e.OCIManifest !== null) out.OCIManifest = e.OCIManifest;
  return out;
}
