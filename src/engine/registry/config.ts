/**
 * Registry settings of the daemon (daemon.json's registry keys) and the endpoints they give a
 * registry: mirrors first for pulls, the origin last; plain HTTP or unverified TLS only for
 * insecure registries (127.0.0.0/8 always is one, as in Docker).
 */
import { isIP } from 'node:net';
import { InvalidArgument } from '../../core/errors.js';

export interface RegistryConfig {
  /** Registry domain (`docker.io`, `ghcr.io`, `localhost:5000`) → mirror base URLs, tried in order. */
  mirrors: Record<string, string[]>;
  /** Registry domain → the server that answers for it instead of the domain itself (berth's `registry-origin-for`). */
  origins: Record<string, string>;
  /** `host[:port]` names and CIDRs whose registries may be plain HTTP or have unverifiable TLS. */
  insecure: string[];
  maxConcurrentDownloads: number;
  maxConcurrentUploads: number;
  /** Where per-registry CA certificates live (`<dir>/<host[:port]>/*.crt`), as /etc/docker/certs.d. */
  certsDirs: string[];
}

export const DEFAULT_DOMAIN = 'docker.io';
/** Where docker.io's registry API actually is. */
export const DOCKER_HUB_REGISTRY = 'registry-1.docker.io';
/** The server address docker uses for Docker Hub credentials. */
export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';
export const DEFAULT_INSECURE_CIDRS = ['127.0.0.0/8'];

export function defaultRegistryConfig(): RegistryConfig {
  return { mirrors: {}, origins: {}, insecure: [...DEFAULT_INSECURE_CIDRS], maxConcurrentDownloads: 3, maxConcurrentUploads: 5, certsDirs: ['/etc/berth/certs.d', '/etc/docker/certs.d'] };
}

/** The daemon.json keys this module reads (the rest of the file is the daemon's business). */
export const REGISTRY_KEYS = ['registry-mirrors', 'registry-mirrors-for', 'registry-origin-for', 'insecure-registries', 'max-concurrent-downloads', 'max-concurrent-uploads'] as const;

/**
 * Reads the registry keys of a daemon.json object:
 * `registry-mirrors` (Docker's: mirrors of docker.io), `registry-mirrors-for` (berth's:
 * `{"ghcr.io": ["https://mirror.example"]}`, mirrors of any registry), `registry-origin-for` (berth's:
 * `{"docker.io": "https://registry.internal"}`, the server that stands in for a registry: it is
 * never contacted itself), `insecure-registries`,
 * `max-concurrent-downloads`, `max-concurrent-uploads`. Invalid values are errors that name the key.
 */
export function registryConfigFromJson(json: Record<string, unknown>): RegistryConfig {
  const cfg = defaultRegistryConfig();
  const strings = (key: string): string[] => {
    const v = json[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new InvalidArgument(`daemon.json: "${key}" must be a list of strings`);
    return v as string[];
  };
  const dockerMirrors = strings('registry-mirrors').map((m) => validateMirror(m, 'registry-mirrors'));
  if (dockerMirrors.length > 0) cfg.mirrors[DEFAULT_DOMAIN] = dockerMirrors;
  const more = json['registry-mirrors-for'];
  if (more !== undefined && more !== null) {
    if (typeof more !== 'object' || Array.isArray(more)) throw new InvalidArgument('daemon.json: "registry-mirrors-for" must map registry names to lists of mirror URLs');
    for (const [domain, list] of Object.entries(more as Record<string, unknown>)) {
      if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) {
        throw new InvalidArgument(`daemon.json: "registry-mirrors-for": the mirrors of "${domain}" must be a list of URLs`);
      }
      const key = normalizeDomain(domain);
      cfg.mirrors[key] = [...(cfg.mirrors[key] ?? []), ...list.map((m) => validateMirror(m, `registry-mirrors-for.${domain}`))];
    }
  }
  const origins = json['registry-origin-for'];
  if (origins !== undefined && origins !== null) {
    if (typeof origins !== 'object' || Array.isArray(origins)) throw new InvalidArgument('daemon.json: "registry-origin-for" must map registry names to one URL each');
    for (const [domain, url] of Object.entries(origins as Record<string, unknown>)) {
      if (typeof url !== 'string') throw new InvalidArgument(`daemon.json: "registry-origin-for": the origin of "${domain}" must be a URL`);
      cfg.origins[normalizeDomain(domain)] = validateMirror(url, `registry-origin-for.${domain}`);
    }
  }
  for (const entry of strings('insecure-registries')) {
    const e = entry.replace(/^https?:\/\//, '').replace(/\/+$/, '');
    if (e === '' || (e.includes('/') && !isCidr(e))) throw new InvalidArgument(`daemon.json: insecure registry ${entry} is not a valid host[:port] or CIDR`);
    if (!cfg.insecure.includes(e)) cfg.insecure.push(e);
  }
  const count = (key: string, dflt: number): number => {
    const v = json[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new InvalidArgument(`daemon.json: "${key}" must be a whole number of at least 1, not ${JSON.stringify(v)}`);
    return v;
  };
  cfg.maxConcurrentDownloads = count('max-concurrent-downloads', cfg.maxConcurrentDownloads);
  cfg.maxConcurrentUploads = count('max-concurrent-uploads', cfg.maxConcurrentUploads);
  return cfg;
}

/** `index.docker.io` and `registry-1.docker.io` are docker.io. */
export function normalizeDomain(domain: string): string {
  const d = domain.replace(/^https?:\/\//, '').replace(/\/.*$/, '').toLowerCase();
  return d === 'index.docker.io' || d === DOCKER_HUB_REGISTRY ? DEFAULT_DOMAIN : d;
}

/** Docker's rules for a mirror: an http(s) URL with nothing after the host but an optional `/`. */
export function validateMirror(mirror: string, key: string): string {
  let u: URL;
  try {
    u = new URL(mirror);
  } catch {
    throw new InvalidArgument(`daemon.json: ${key}: invalid mirror: "${mirror}" is not a valid URI`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new InvalidArgument(`daemon.json: ${key}: invalid mirror: unsupported scheme "${u.protocol.slice(0, -1)}" in "${mirror}"`);
  if ((u.pathname !== '/' && u.pathname !== '') || u.search !== '' || u.hash !== '' || u.username !== '') {
    throw new InvalidArgument(`daemon.json: ${key}: invalid mirror: path, query, or fragment at end of the URI "${mirror}"`);
  }
  return `${u.protocol}//${u.host}`;
}

function isCidr(s: string): boolean {
  const m = /^([0-9.]+|[0-9a-fA-F:]+)\/(\d{1,3})$/.exec(s);
  return m !== null && isIP(m[1] as string) !== 0;
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => (acc << 8) + Number(o), 0) >>> 0;
}

function inCidr(ip: string, cidr: string): boolean {
  const [net, bitsText] = cidr.split('/') as [string, string];
  const bits = Number(bitsText);
  if (isIP(ip) === 4 && isIP(net) === 4) {
    if (bits === 0) return true;
    const mask = bits >= 32 ? 0xffffffff : (~((1 << (32 - bits)) - 1)) >>> 0;
    return (ipv4ToInt(ip) & mask) === (ipv4ToInt(net) & mask);
  }
  if (isIP(ip) === 6 && isIP(net) === 6) {
    if (bits > 128) return false;
    const shift = BigInt(128 - bits);
    return ipv6ToBigInt(ip) >> shift === ipv6ToBigInt(net) >> shift;
  }
  return false;
}

function ipv6ToBigInt(ip: string): bigint {
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill: string[] = tail === undefined ? [] : Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].reduce((acc, g) => (acc << 16n) + BigInt(Number.parseInt(g, 16) || 0), 0n);
}

/** Splits `host:port`, `[v6]:port`, `host`. */
export function splitHostPort(hostPort: string): { host: string; port?: string } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(hostPort);
  if (v6) return { host: v6[1] as string, ...(v6[2] !== undefined ? { port: v6[2] } : {}) };
  const i = hostPort.lastIndexOf(':');
  if (i > 0 && hostPort.indexOf(':') === i) return { host: hostPort.slice(0, i), port: hostPort.slice(i + 1) };
  return { host: hostPort };
}

/**
 * Whether a registry (`host[:port]`) is insecure: named in the list (with or without its
 * port), or an IP (localhost counts as 127.0.0.1 and ::1) inside a listed CIDR.
 */
export function isInsecureRegistry(cfg: Pick<RegistryConfig, 'insecure'>, hostPort: string): boolean {
  const hp = hostPort.toLowerCase();
  const { host } = splitHostPort(hp);
  for (const e of cfg.insecure) {
    const entry = e.toLowerCase();
    if (isCidr(entry)) {
      const ips = host === 'localhost' ? ['127.0.0.1', '::1'] : isIP(host) !== 0 ? [host] : [];
      if (ips.some((ip) => inCidr(ip, entry))) return true;
    } else if (entry === hp || entry === host) {
      return true;
    }
  }
  return false;
}

export interface Endpoint {
  /** `https://registry-1.docker.io`, `http://127.0.0.1:5000`. */
  url: string;
  /** `host[:port]` of the endpoint. */
  host: string;
  mirror: boolean;
  /** TLS without verification, and plain HTTP when TLS fails (insecure registries only). */
  insecure: boolean;
}

/**
 * Endpoints for a registry domain: its mirrors (pulls only) in the configured order, then the
 * origin. The origin of docker.io is registry-1.docker.io. A mirror given as http:// is
 * plain HTTP; an https:// mirror is verified unless its host is insecure.
 */
export function endpointsFor(cfg: RegistryConfig, domain: string, purpose: 'pull' | 'push'): Endpoint[] {
  const d = normalizeDomain(domain);
  const out: Endpoint[] = [];
  if (purpose === 'pull') {
    for (const m of cfg.mirrors[d] ?? []) {
      const u = new URL(m);
      out.push({ url: `${u.protocol}//${u.host}`, host: u.host, mirror: true, insecure: u.protocol === 'http:' || isInsecureRegistry(cfg, u.host) });
    }
  }
  const origin = cfg.origins[d];
  if (origin !== undefined) {
    const u = new URL(origin);
    out.push({ url: `${u.protocol}//${u.host}`, host: u.host, mirror: false, insecure: u.protocol === 'http:' || isInsecureRegistry(cfg, u.host) });
    return out;
  }
  const host = d === DEFAULT_DOMAIN ? DOCKER_HUB_REGISTRY : d;
  out.push({ url: `https://${host}`, host, mirror: false, insecure: isInsecureRegistry(cfg, host) });
  return out;
}

/** The key a client stores credentials of a registry under (`https://index.docker.io/v1/` for Docker Hub). */
export function authKey(domain: string): string {
  return normalizeDomain(domain) === DEFAULT_DOMAIN ? DOCKER_HUB_AUTH_KEY : normalizeDomain(domain);
}
