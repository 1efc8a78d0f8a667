import { InvalidArgument } from '../../core/errors.js';

/**
 * IPv4 address management for bridge networks: subnets chosen so they clash with nothing on
 * the host, addresses handed out without duplicates. Pure functions over plain values.
 */

export interface Cidr {
  /** Network address as an unsigned 32-bit number. */
  base: number;
  prefix: number;
}

export function ipToInt(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) throw new InvalidArgument(`invalid IP address: ${ip}`);
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function isIpv4(s: string): boolean {
  try {
    ipToInt(s);
    return true;
  } catch {
    return false;
  }
}

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Parses `10.88.0.0/16`; the address is reduced to the network address. */
export function parseCidr(s: string): Cidr {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(s.trim());
  if (!m || Number(m[2]) > 32) throw new InvalidArgument(`invalid CIDR address: ${s}`);
  const prefix = Number(m[2]);
  return { base: (ipToInt(m[1] ?? '') & mask(prefix)) >>> 0, prefix };
}

export function formatCidr(c: Cidr): string {
  return `${intToIp(c.base)}/${c.prefix}`;
}

export function size(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

export function contains(c: Cidr, ip: string): boolean {
  return ((ipToInt(ip) & mask(c.prefix)) >>> 0) === c.base;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  const p = Math.min(a.prefix, b.prefix);
  return ((a.base & mask(p)) >>> 0) === ((b.base & mask(p)) >>> 0);
}

/** A pool of equal subnets: `10.89.0.0/16` cut into `/24`s. */
export interface Pool {
  range: string;
  prefix: number;
}

/** berth's default bridge (`bridge`): first of these /16s that is free. Docker's docker0 is 172.17.0.0/16. */
export const DEFAULT_BRIDGE_POOLS: readonly Pool[] = [
  { range: '10.88.0.0/13', prefix: 16 },
];

/** User-defined networks: /24s from 10.96.0.0/11 (8192 of them), clear of Docker's 172.17-31 and 192.168 pools. */
export const USER_NETWORK_POOLS: readonly Pool[] = [
  { range: '10.96.0.0/11', prefix: 24 },
];

/** The first subnet of the pools that overlaps none of `taken` (host routes, other networks). */
export function firstFreeSubnet(pools: readonly Pool[], taken: readonly string[]): string | undefined {
  const used = taken.map(parseCidr);
  for (const pool of pools) {
    const r = parseCidr(pool.range);
    const step = 2 ** (32 - pool.prefix);
    for (let base = r.base; base < r.base + size(r); base += step) {
      const c = { base, prefix: pool.prefix };
      // The default route (0.0.0.0/0) overlaps everything and means nothing here.
      if (!used.some((u) => u.prefix > 0 && overlaps(u, c))) return formatCidr(c);
    }
  }
  return undefined;
}

export interface IpamConfig {
  Subnet: string;
  Gateway: string;
  IPRange?: string;
}

/**
 * Checks a user's `--subnet/--gateway/--ip-range` with Docker's rules and fills in the
 * gateway (the subnet's first address) when it was not given.
 */
export function completeIpamConfig(c: { Subnet?: string; Gateway?: string; IPRange?: string }): IpamConfig {
  if (!c.Subnet) throw new InvalidArgument('a subnet is required');
  const subnet = parseCidr(c.Subnet);
  if (subnet.prefix > 30) throw new InvalidArgument(`subnet ${c.Subnet} is too small: at least a /30 is needed`);
  const out: IpamConfig = { Subnet: formatCidr(subnet), Gateway: c.Gateway ?? intToIp(subnet.base + 1) };
  if (c.Gateway !== undefined && !contains(subnet, c.Gateway)) {
    throw new InvalidArgument(`no matching subnet for gateway ${c.Gateway}`);
  }
  if (c.IPRange !== undefined && c.IPRange !== '') {
    const r = parseCidr(c.IPRange);
    if (r.prefix < subnet.prefix || !contains(subnet, intToIp(r.base))) {
      throw new InvalidArgument(`no matching subnet for range ${c.IPRange}`);
    }
    out.IPRange = formatCidr(r);
  }
  return out;
}

/**
 * The lowest free address of the network (or of its IP range), never the network address,
 * the broadcast address or the gateway. `preferred` (`--ip`) must be free and in the subnet.
 */
export function allocateIp(c: IpamConfig, used: ReadonlySet<string>, preferred?: string): string {
  const subnet = parseCidr(c.Subnet);
  const first = subnet.base;
  const last = subnet.base + size(subnet) - 1;
  const reserved = new Set([intToIp(first), intToIp(last), c.Gateway]);
  if (preferred !== undefined && preferred !== '') {
    if (!contains(subnet, preferred)) throw new InvalidArgument(`invalid address ${preferred}: it does not belong to subnet ${c.Subnet}`);
    if (reserved.has(preferred) || used.has(preferred)) throw new InvalidArgument(`Address already in use: ${preferred}`);
    return preferred;
  }
  const range = c.IPRange !== undefined ? parseCidr(c.IPRange) : subnet;
  for (let n = range.base; n < range.base + size(range); n++) {
    const ip = intToIp(n);
    if (n <= first || n >= last || reserved.has(ip) || used.has(ip)) continue;
    return ip;
  }
  throw new InvalidArgument(`no available IPv4 addresses on this network's address pools: ${c.Subnet}`);
}

/** Docker's MAC address for a container address: 02:42 followed by the four address bytes. */
export function macForIp(ip: string): string {
  const n = ipToInt(ip);
  return ['02', '42', ...[n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

/**
 * A MAC address as Go's net.ParseMAC reads a 6-byte one (`02:42:ac:11:00:02`,
 * `02-42-AC-11-00-02`, `0242.ac11.0002`), written as `ip` takes it: lower case, colons.
 */
export function normaliseMac(mac: string): string {
  const hex = (parts: string[], width: number) => parts.length > 0 && parts.every((p) => new RegExp(`^[0-9a-fA-F]{${width}}$`).test(p));
  let bytes: string[] | undefined;
  for (const sep of [':', '-']) {
    const parts = mac.split(sep);
    if (parts.length === 6 && hex(parts, 2)) bytes = parts;
  }
  const dotted = mac.split('.');
  if (bytes === undefined && dotted.length === 3 && hex(dotted, 4)) bytes = dotted.flatMap((p) => [p.slice(0, 2), p.slice(2)]);
  if (bytes === undefined) throw new InvalidArgument(`invalid MAC address ${mac}`);
  return bytes.join(':').toLowerCase();
}
