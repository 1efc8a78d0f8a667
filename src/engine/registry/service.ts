/**
 * The daemon's registry service: its configuration (daemon.json's registry keys), the
 * token cache shared by every pull and push, the daemon-wide limits on downloads and
 * uploads at once, and the operations the Engine API exposes: pull, push, login.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageManifestEntry } from '../../core/manifest-list.js';
import type { Platform } from '../../core/oci.js';
import type { Reference } from '../../core/reference.js';
import type { ImageStore } from '../images/store.js';
import type { Credentials } from './auth.js';
import { RegistryClient, TokenCache } from './client.js';
import { DEFAULT_DOMAIN, defaultRegistryConfig, endpointsFor, isInsecureRegistry, normalizeDomain, type RegistryConfig } from './config.js';
import { RegistryError, toBerthError } from './errors.js';
import { KeyedMutex, Semaphore } from '../util/limit.js';
import type { ProgressSink } from './progress.js';
import { pullAllTags, pullReference, type PullResult } from './pull.js';
import { inspectRemote, pushManifestList, type ListPushResult, type RemoteManifest } from './lists.js';
import { pushReference, type PushResult } from './push.js';

export interface RegistryServiceOptions {
  images: ImageStore;
  config?: RegistryConfig;
  userAgent?: string;
  /** Delays between download attempts (tests shorten them). */
  retryDelaysMs?: readonly number[];
  idleTimeoutMs?: number;
  /** Upload in PATCH chunks of this size (default: one PATCH per blob). */
  uploadChunkSize?: number;
  /** Upload each blob in its closing PUT (`?digest=`) instead of PATCH requests. */
  monolithicUploads?: boolean;
}

export class RegistryService {
  private cfg: RegistryConfig;
  private readonly tokens = new TokenCache();
  private readonly downloads: Semaphore;
  private readonly uploads: Semaphore;
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly unpacking = new KeyedMutex();
  private readonly userAgent: string;
  private readonly caCache = new Map<string, Buffer[] | undefined>();

  constructor(private readonly opts: RegistryServiceOptions) {
    this.cfg = opts.config ?? defaultRegistryConfig();
    this.downloads = new Semaphore(this.cfg.maxConcurrentDownloads);
    this.uploads = new Semaphore(this.cfg.maxConcurrentUploads);
    this.userAgent = opts.userAgent ?? 'berth/0.1.0';
  }

  get config(): RegistryConfig {
    return this.cfg;
  }

  /** Applies new settings (limits take effect for the next transfers). */
  configure(cfg: RegistryConfig): void {
    this.cfg = cfg;
    this.downloads.resize(cfg.maxConcurrentDownloads);
    this.uploads.resize(cfg.maxConcurrentUploads);
    this.caCache.clear();
  }

  /** CA certificates for a registry host: `<certs.d>/<host[:port]>/*.crt` (Docker's layout). */
  private readonly caFor = async (host: string): Promise<Buffer[] | undefined> => {
    if (this.caCache.has(host)) return this.caCache.get(host);
    const found: Buffer[] = [];
    for (const dir of this.cfg.certsDirs) {
      const names = await readdir(join(dir, host)).catch(() => [] as string[]);
      for (const n of names.filter((x) => x.endsWith('.crt')).sort()) {
        const b = await readFile(join(dir, host, n)).catch(() => undefined);
        if (b) found.push(b);
      }
    }
    const v = found.length > 0 ? found : undefined;
    this.caCache.set(host, v);
    return v;
  };

  private pullDeps() {
    return {
      images: this.opts.images,
      config: this.cfg,
      tokens: this.tokens,
      downloads: this.downloads,
      userAgent: this.userAgent,
      caFor: this.caFor,
      inflight: this.inflight,
      unpacking: this.unpacking,
      ...(this.opts.retryDelaysMs ? { retryDelaysMs: this.opts.retryDelaysMs } : {}),
      ...(this.opts.idleTimeoutMs !== undefined ? { idleTimeoutMs: this.opts.idleTimeoutMs } : {}),
    };
  }

  /** Pulls one reference (tag or digest), or every tag when it has neither. */
  async pull(ref: Reference, o: { credentials?: Credentials; platform?: Platform; signal?: AbortSignal; progress: ProgressSink }): Promise<PullResult | { updated: boolean; tags: string[] }> {
    try {
      if (ref.tag === undefined && ref.digest === undefined) return await pullAllTags(this.pullDeps(), ref, o);
      return await pullReference(this.pullDeps(), ref, o);
    } catch (e) {
      throw e instanceof RegistryError ? toBerthError(e) : e;
    }
  }

  async push(ref: Reference, o: { credentials?: Credentials; signal?: AbortSignal; progress: ProgressSink }): Promise<PushResult[]> {
    try {
      return await pushReference(
        {
          images: this.opts.images,
          config: this.cfg,
          tokens: this.tokens,
          uploads: this.uploads,
          userAgent: this.userAgent,
          caFor: this.caFor,
          ...(this.opts.uploadChunkSize !== undefined ? { chunkSize: this.opts.uploadChunkSize } : {}),
          ...(this.opts.monolithicUploads === true ? { monolithic: true } : {}),
        },
        ref,
        o,
      );
    } catch (e) {
      throw e instanceof RegistryError ? toBerthError(e) : e;
    }
  }

  private listDeps() {
    return { config: this.cfg, tokens: this.tokens, userAgent: this.userAgent, caFor: this.caFor };
  }

  /** What a reference names on its registry (`berth manifest inspect` / `create`). */
  async inspectManifest(ref: Reference, o: { credentials?: Credentials; insecure?: boolean; members?: boolean; signal?: AbortSignal }): Promise<RemoteManifest> {
    try {
      return await inspectRemote(this.listDeps(), ref, o);
    } catch (e) {
      throw e instanceof RegistryError ? toBerthError(e) : e;
    }
  }

  /** Pushes a local manifest list (`berth manifest push`). */
  async pushManifestList(target: Reference, entries: readonly ImageManifestEntry[], o: { credentials?: Credentials; insecure?: boolean; signal?: AbortSignal }): Promise<ListPushResult> {
    try {
      return await pushManifestList(this.listDeps(), target, entries, o);
    } catch (e) {
      throw e instanceof RegistryError ? toBerthError(e) : e;
    }
  }

  /**
   * `POST /auth`: checks credentials against a registry (`docker.io` when `server` is
   * empty or Docker Hub's index address). Returns an identity token when the registry hands
   * out refresh tokens.
   */
  async login(creds: Credentials): Promise<{ identityToken?: string }> {
    const server = creds.serverAddress ?? '';
    const domain = server === '' ? DEFAULT_DOMAIN : normalizeDomain(server);
    const client = new RegistryClient({
      path: 'library/x',
      endpoints: endpointsFor(this.cfg, domain, 'push'),
      credentials: creds,
      actions: [],
      tokens: this.tokens,
      userAgent: this.userAgent,
      caFor: this.caFor,
    });
    try {
      return await client.login(true);
    } catch (e) {
      throw e instanceof RegistryError ? toBerthError(e) : e;
    }
  }

  /** What `GET /info` shows as `RegistryConfig`. */
  info(): { IndexConfigs: Record<string, unknown>; InsecureRegistryCIDRs: string[]; Mirrors: string[] } {
    const cidrs = this.cfg.insecure.filter((e) => e.includes('/'));
    const index: Record<string, unknown> = {
      [DEFAULT_DOMAIN]: { Name: DEFAULT_DOMAIN, Mirrors: (this.cfg.mirrors[DEFAULT_DOMAIN] ?? []).map((m) => `${m}/`), Secure: true, Official: true },
    };
    for (const e of this.cfg.insecure.filter((x) => !x.includes('/'))) index[e] = { Name: e, Mirrors: (this.cfg.mirrors[e] ?? []).map((m) => `${m}/`), Secure: false, Official: false };
    for (const [domain, list] of Object.entries(this.cfg.mirrors)) {
      if (domain === DEFAULT_DOMAIN || index[domain] !== undefined) continue;
      index[domain] = { Name: domain, Mirrors: list.map((m) => `${m}/`), Secure: !isInsecureRegistry(this.cfg, domain), Official: false };
    }
    return { IndexConfigs: index, InsecureRegistryCIDRs: cidrs, Mirrors: (this.cfg.mirrors[DEFAULT_DOMAIN] ?? []).map((m) => `${m}/`) };
  }
}
