/**
 * The registry side of `berth manifest` (the docker CLI's `docker manifest`), done by the
 * daemon for the CLI: reading a remote manifest with the platform its config gives (what
 * `manifest create` stores and `manifest inspect` shows), and pushing a local list: the
 * images it names from other repositories of the registry are copied into the target
 * repository first (blobs mounted, or copied through the daemon when the registry will not
 * mount them, then their manifests put by digest), then the list is put under its tag.
 *
 * These talk to the registry itself, never a mirror (a list must name what the registry
 * has); `registry-origin-for`, insecure registries and certs.d apply as for push. With
 * `insecure`, the registry is treated as insecure for that request (the docker CLI's
 * `--insecure`: TLS without verification, then plain HTTP).
 */
import { createHash } from 'node:crypto';
import { InvalidArgument, NotFound } from '../../core/errors.js';
import {
  assembleManifestList,
  entriesFromOtherRepositories,
  entryBytes,
  manifestBlobs,
  platformJson,
  platformOfConfig,
  type ImageManifestEntry,
} from '../../core/manifest-list.js';
import { MEDIA_TYPES, type Descriptor } from '../../core/oci.js';
import { formatReference, parseReference, type Reference } from '../../core/reference.js';
import type { Credentials } from './auth.js';
import { RegistryClient, type TokenCache } from './client.js';
import { endpointsFor, normalizeDomain, type RegistryConfig } from './config.js';
import { RegistryError } from './errors.js';
import { parseManifest } from './manifest.js';
import { drain } from './transport.js';

export interface ListDeps {
  config: RegistryConfig;
  tokens: TokenCache;
  userAgent: string;
  caFor?: (host: string) => Promise<Buffer[] | undefined>;
}

export interface ListOptions {
  credentials?: Credentials;
  /** Treat the registry as insecure for this request. */
  insecure?: boolean;
  signal?: AbortSignal;
}

/** What `GET /berth/manifests/inspect` answers. */
export interface RemoteManifest {
  Ref: string;
  Kind: 'manifest' | 'list';
  /** The descriptor of what the reference names (the list's for a list). */
  Descriptor: Descriptor;
  /** Its bytes, base64. */
  Raw: string;
  /** For a manifest: its entry, the platform from its config. */
  Manifest?: ImageManifestEntry;
  /** For a list, when asked for: an entry per manifest of the list, the platform from the list. */
  Manifests?: ImageManifestEntry[];
}

/** What `POST /berth/manifests/push` answers. */
export interface ListPushResult {
  Digest: string;
  Size: number;
  MediaType: string;
  /** Manifests put into the target repository first (`<repository>@<digest>`). */
  Pushed: { Ref: string; Digest: string }[];
}

function clientFor(deps: ListDeps, ref: Reference, actions: string[], o: ListOptions): RegistryClient {
  let cfg = deps.config;
  if (o.insecure === true) {
    const origin = cfg.origins[normalizeDomain(ref.domain)];
    cfg = { ...cfg, insecure: [...cfg.insecure, ref.domain, ...(origin !== undefined ? [new URL(origin).host] : [])] };
  }
  return new RegistryClient({
    path: ref.path,
    endpoints: endpointsFor(cfg, ref.domain, 'push'),
    actions,
    tokens: deps.tokens,
    userAgent: deps.userAgent,
    ...(o.credentials ? { credentials: o.credentials } : {}),
    ...(deps.caFor ? { caFor: deps.caFor } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
}

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A manifest's entry: its descriptor, bytes and JSON; the platform given, else its config's. */
async function imageEntry(client: RegistryClient, ref: string, body: Buffer, mediaType: string, config: Descriptor, platform?: Descriptor['platform']): Promise<ImageManifestEntry> {
  let p = platform;
  if (p === undefined) {
    const bytes = await client.getBlobBytes(0, config.digest);
    let json: unknown;
    try {
      json = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new InvalidArgument(`image config ${config.digest} of ${ref} is not JSON`);
    }
    p = platformOfConfig(json);
  }
  const doc = JSON.parse(body.toString('utf8')) as unknown;
  return {
    Ref: ref,
    Descriptor: { mediaType, digest: sha256(body), size: body.length, platform: platformJson(p) },
    Raw: body.toString('base64'),
    ...(mediaType === MEDIA_TYPES.dockerManifest ? { SchemaV2Manifest: doc } : { OCIManifest: doc }),
  };
}

/** Reads what a reference names on its registry: an image manifest, or a list (with its members when `members`). */
export async function inspectRemote(deps: ListDeps, ref: Reference, o: ListOptions & { members?: boolean }): Promise<RemoteManifest> {
  const client = clientFor(deps, ref, ['pull'], o);
  const name = formatReference(ref);
  let fetched;
  try {
    fetched = await client.getManifest(ref.digest ?? ref.tag ?? 'latest');
  } catch (e) {
    if (e instanceof RegistryError && e.kind === 'not_found') throw new NotFound(`no such manifest: ${name}`, { cause: e });
    throw e;
  }
  const parsed = parseManifest(fetched.body, fetched.mediaType);
  const top: Descriptor = { mediaType: parsed.mediaType, digest: fetched.digest, size: fetched.body.length };
  const raw = fetched.body.toString('base64');
  if (parsed.kind === 'manifest') {
    const entry = await imageEntry(client, name, fetched.body, parsed.mediaType, parsed.manifest.config);
    return { Ref: name, Kind: 'manifest', Descriptor: top, Raw: raw, Manifest: entry };
  }
  const out: RemoteManifest = { Ref: name, Kind: 'list', Descriptor: top, Raw: raw };
  if (o.members === true) {
    out.Manifests = [];
    for (const d of parsed.index.manifests) {
      const inner = await client.getManifest(d.digest);
      const m = parseManifest(inner.body, inner.mediaType);
      if (m.kind !== 'manifest') throw new InvalidArgument(`${name}: the list entry ${d.digest} is itself a list`);
      out.Manifests.push(await imageEntry(client, `${ref.repository}@${d.digest}`, inner.body, m.mediaType, m.manifest.config, d.platform ?? { architecture: '', os: '' }));
    }
  }
  return out;
}

/**
 * Pushes a local list as `target` (a tag, or a digest): the list is assembled from the
 * entries (core/manifest-list.ts), each entry's bytes are checked against its digest, the
 * images of other repositories are copied in, and the list is put.
 */
export async function pushManifestList(deps: ListDeps, target: Reference, entries: readonly ImageManifestEntry[], o: ListOptions): Promise<ListPushResult> {
  const list = assembleManifestList(entries, target);
  const bodies = new Map<string, Buffer>();
  for (const e of entries) {
    const body = entryBytes(e);
    if (body === undefined) throw new InvalidArgument(`manifest ${e.Ref} has no content in the local list: create the list again`);
    if (sha256(body) !== e.Descriptor.digest) {
      throw new InvalidArgument(`manifest ${e.Ref}: its content in the local list does not match its digest ${e.Descriptor.digest}: create the list again`);
    }
    bodies.set(e.Ref, body);
  }
  const dst = clientFor(deps, target, ['pull', 'push'], o);
  const pushed: ListPushResult['Pushed'] = [];
  for (const e of entriesFromOtherRepositories(entries, target)) {
    const body = bodies.get(e.Ref) as Buffer;
    const from = parseReference(e.Ref);
    for (const blob of manifestBlobs(JSON.parse(body.toString('utf8')))) await copyBlob(deps, dst, from, blob, o);
    const digest = await dst.putManifest(e.Descriptor.digest, e.Descriptor.mediaType, body);
    pushed.push({ Ref: `${target.repository}@${e.Descriptor.digest}`, Digest: digest });
  }
  const bytes = Buffer.from(list.json);
  const digest = await dst.putManifest(target.digest ?? target.tag ?? 'latest', list.mediaType, bytes);
  return { Digest: digest, Size: bytes.length, MediaType: list.mediaType, Pushed: pushed };
}

/**
 * Makes a blob of another repository of the registry available in the target's: there
 * already (HEAD), mounted, or, when the registry opens an upload instead (or will not let us
 * read the other repository through a mount), read from it and uploaded.
 */
async function copyBlob(deps: ListDeps, dst: RegistryClient, from: Reference, blob: Descriptor, o: ListOptions): Promise<void> {
  if ((await dst.headBlob(blob.digest)) !== undefined) return;
  let location: string | undefined;
  try {
    const r = await dst.mountBlob(blob.digest, from.path);
    if (r === 'mounted') return;
    location = r;
  } catch (e) {
    if (!(e instanceof RegistryError && (e.kind === 'unauthorized' || e.kind === 'denied' || e.kind === 'not_found'))) throw e;
  }
  location ??= await dst.startUpload();
  const src = clientFor(deps, from, ['pull'], o);
  const res = await src.getBlob(0, blob.digest);
  if (blob.size === 0) drain(res.body);
  await dst.uploadBlob(location, () => res.body, blob.size, blob.digest);
}
