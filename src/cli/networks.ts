/**
 * The pure side of `berth network ...`: Engine API request bodies built from flags the way the
 * docker CLI builds them (cli/command/network), and the `network ls` rows, formats and sort
 * order of its formatter (cli/command/network/formatter.go).
 */
import { isIP } from '../core/ip.js';
import { InvalidArgument } from '../core/errors.js';
import { filterNetworks, type NetworkFilters } from '../core/network-filters.js';
import { UsageError } from './args.js';
import { formatRows } from './format/index.js';
import { withLabelMethod } from './rows.js';
import { naturalCompare } from './sortorder.js';
import { goTimeStringRfc3339 } from './times.js';
import { truncateId } from './units.js';

// ---------------------------------------------------------------- API shapes

export interface IpamConfig {
  Subnet?: string;
  IPRange?: string;
  Gateway?: string;
  AuxiliaryAddresses?: Record<string, string>;
}

/** A network as GET /networks and GET /networks/{id} return it (the fields berth's CLI reads). */
export interface NetworkResource {
  Name: string;
  Id: string;
  Created?: string;
  Scope?: string;
  Driver?: string;
  EnableIPv4?: boolean;
  EnableIPv6?: boolean;
  IPAM?: { Driver?: string; Options?: Record<string, string> | null; Config?: IpamConfig[] | null } | null;
  Internal?: boolean;
  Attachable?: boolean;
  Ingress?: boolean;
  Containers?: Record<string, unknown> | null;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

/** POST /networks/create (Docker's `NetworkCreateRequest`, API 1.44). */
export interface NetworkCreateRequest {
  Name: string;
  Driver: string;
  Scope: string;
  EnableIPv6: boolean;
  IPAM: { Driver: string; Config: IpamConfig[] | null; Options: Record<string, string> };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigOnly: boolean;
  ConfigFrom: { Network: string } | null;
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

/** POST /networks/{id}/connect (Docker's `NetworkConnectRequest`). */
export interface NetworkConnectRequest {
  Container: string;
  EndpointConfig: {
    IPAMConfig: { IPv4Address?: string; IPv6Address?: string; LinkLocalIPs?: string[] };
    Links: string[] | null;
    Aliases: string[] | null;
    DriverOpts: Record<string, string>;
  };
}

// ---------------------------------------------------------------- flag values

/** pflag's `strings` flags: each value is a CSV record (`--subnet a,b` is two subnets). */
export function stringSlice(values: readonly string[]): string[] {
  return values.flatMap((v) => (v === '' ? [] : v.split(',')));
}

/** opts.MapOpts: `k=v` → {k: v}, `k` → {k: ""}; later values win. */
export function kvMap(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq < 0) out[v] = '';
    else out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

/** opts.ValidateLabel (a flag error, as pflag reports it), then ConvertKVStringsToMap. */
export function labelMap(values: readonly string[], command: string): Record<string, string> {
  for (const v of values) {
    const eq = v.indexOf('=');
    const key = (eq < 0 ? v : v.slice(0, eq)).replace(/^\s+/, '');
    if (key === '') throw new UsageError(`invalid argument "${v}" for "--label" flag: invalid label '${v}': empty name`, command);
    if (key.trim() !== key) throw new UsageError(`invalid argument "${v}" for "--label" flag: label '${v}' contains whitespaces`, command);
  }
  return kvMap(values);
}

// ---------------------------------------------------------------- IPAM (createIPAMConfig)

interface Ip {
  value: bigint;
  bits: 32 | 128;
}

function parseIp(s: string): Ip | undefined {
  const family = isIP(s);
  if (family === 4) return { value: s.split('.').reduce((n, p) => (n << 8n) + BigInt(Number(p)), 0n), bits: 32 };
  if (family !== 6) return undefined;
  let text = s;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = parseIp(v4[1] as string)?.value ?? 0n;
    text = `${text.slice(0, v4.index)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return { value: groups.reduce((n, g) => (n << 16n) + BigInt(Number.parseInt(g, 16)), 0n), bits: 128 };
}

/** Go's `net.ParseCIDR`: the network and prefix, or an error named like Go's. */
function parseCidr(s: string): { base: Ip; prefix: number } {
  const slash = s.indexOf('/');
  const ip = slash >= 0 ? parseIp(s.slice(0, slash)) : undefined;
  const prefixText = slash >= 0 ? s.slice(slash + 1) : '';
  if (ip === undefined || !/^\d{1,3}$/.test(prefixText) || Number(prefixText) > ip.bits) throw new InvalidArgument(`invalid CIDR address: ${s}`);
  const prefix = Number(prefixText);
  const hostBits = BigInt(ip.bits - prefix);
  return { base: { value: (ip.value >> hostBits) << hostBits, bits: ip.bits }, prefix };
}

/** `subnetMatches`: whether `data` (an address or a CIDR) lies in `subnet`. */
function subnetMatches(subnet: string, data: string): boolean {
  let net: { base: Ip; prefix: number };
  try {
    net = parseCidr(subnet);
  } catch (e) {
    throw new InvalidArgument(`invalid subnet: ${(e as Error).message}`);
  }
  const ip = data.includes('/') ? parseCidr(data).base : parseIp(data);
  if (ip === undefined || ip.bits !== net.base.bits) return false;
  const hostBits = BigInt(net.base.bits - net.prefix);
  return ip.value >> hostBits === net.base.value >> hostBits;
}

/**
 * The IPAM pools of `network create` (`createIPAMConfig`): one per subnet, each range,
 * gateway and aux address attached to the subnet that holds it. null without subnets (as the
 * docker CLI sends it); errors use the docker CLI's words.
 */
export function ipamConfig(o: { subnets: readonly string[]; ipRanges: readonly string[]; gateways: readonly string[]; auxAddresses: Readonly<Record<string, string>> }): IpamConfig[] | null {
  if (o.subnets.length < o.ipRanges.length || o.subnets.length < o.gateways.length) {
    throw new InvalidArgument('every ip-range or gateway must have a corresponding subnet');
  }
  const pools = new Map<string, IpamConfig>();
  for (const s of o.subnets) {
    for (const k of pools.keys()) {
      if (subnetMatches(s, k) || subnetMatches(k, s)) throw new InvalidArgument('multiple overlapping subnet configuration is not supported');
    }
    pools.set(s, { Subnet: s });
  }
  const attach = (value: string, what: 'IPRange' | 'Gateway'): void => {
    let matched = false;
    for (const s of o.subnets) {
      if (!subnetMatches(s, value)) continue;
      const pool = pools.get(s) as IpamConfig;
      const existing = pool[what];
      if (existing !== undefined && existing !== '') {
        throw new InvalidArgument(
          what === 'IPRange'
            ? `cannot configure multiple ranges (${value}, ${existing}) on the same subnet (${s})`
            : `cannot configure multiple gateways (${value}, ${existing}) for the same subnet (${s})`,
        );
      }
      pool[what] = value;
      matched = true;
    }
    if (!matched) throw new InvalidArgument(`no matching subnet for ${what === 'IPRange' ? 'range' : 'gateway'} ${value}`);
  };
  for (const r of o.ipRanges) attach(r, 'IPRange');
  for (const g of o.gateways) attach(g, 'Gateway');
  for (const [key, aa] of Object.entries(o.auxAddresses)) {
    let matched = false;
    for (const s of o.subnets) {
      if (!subnetMatches(s, aa)) continue;
      const pool = pools.get(s) as IpamConfig;
      pool.AuxiliaryAddresses = { ...pool.AuxiliaryAddresses, [key]: aa };
      matched = true;
    }
    if (!matched) throw new InvalidArgument(`no matching subnet for aux-address ${aa}`);
  }
  return pools.size === 0 ? null : [...pools.values()];
}

export interface NetworkCreateFlags {
  driver: string;
  subnets: readonly string[];
  ipRanges: readonly string[];
  gateways: readonly string[];
  auxAddresses: readonly string[];
  ipamDriver: string;
  ipamOpts: readonly string[];
  internal: boolean;
  attachable: boolean;
  ingress: boolean;
  ipv6: boolean;
  scope: string;
  configOnly: boolean;
  configFrom: string;
  opts: readonly string[];
  labels: readonly string[];
}

/**
 * The body of POST /networks/create for `network create [flags] NAME`. Flag errors throw
 * UsageError, IPAM mistakes InvalidArgument (the docker CLI's messages for both).
 */
export function networkCreateRequest(name: string, f: NetworkCreateFlags): NetworkCreateRequest {
  const config = ipamConfig({ subnets: stringSlice(f.subnets), ipRanges: stringSlice(f.ipRanges), gateways: stringSlice(f.gateways), auxAddresses: kvMap(f.auxAddresses) });
  return {
    Name: name,
    Driver: f.driver,
    Scope: f.scope,
    EnableIPv6: f.ipv6,
    IPAM: { Driver: f.ipamDriver, Config: config, Options: kvMap(f.ipamOpts) },
    Internal: f.internal,
    Attachable: f.attachable,
    Ingress: f.ingress,
    ConfigOnly: f.configOnly,
    ConfigFrom: f.configFrom === '' ? null : { Network: f.configFrom },
    Options: kvMap(f.opts),
    Labels: labelMap(f.labels, 'network create'),
  };
}

export interface NetworkConnectFlags {
  aliases: readonly string[];
  ip: string;
  ip6: string;
  links: readonly string[];
  linkLocalIps: readonly string[];
  driverOpts: readonly string[];
}

/**
 * The body of POST /networks/{id}/connect for `network connect [flags] NETWORK CONTAINER`.
 * `--ip`/`--ip6` go to the daemon unchecked, as the docker CLI (28) sends them.
 */
export function networkConnectRequest(container: string, f: NetworkConnectFlags): NetworkConnectRequest {
  const linkLocal = stringSlice(f.linkLocalIps);
  const aliases = stringSlice(f.aliases);
  const ipam: NetworkConnectRequest['EndpointConfig']['IPAMConfig'] = {};
  if (f.ip !== '') ipam.IPv4Address = f.ip;
  if (f.ip6 !== '') ipam.IPv6Address = f.ip6;
  if (linkLocal.length > 0) ipam.LinkLocalIPs = linkLocal;
  const driverOpts: Record<string, string> = {};
  for (const o of stringSlice(f.driverOpts)) {
    const eq = o.indexOf('=');
    const key = eq < 0 ? '' : o.slice(0, eq).trim();
    if (key === '') throw new InvalidArgument('invalid key/value pair format in driver options');
    driverOpts[key] = o.slice(eq + 1).trim();
  }
  return {
    Container: container,
    EndpointConfig: {
      IPAMConfig: ipam,
      Links: f.links.length > 0 ? [...f.links] : null,
      Aliases: aliases.length > 0 ? aliases : null,
      DriverOpts: driverOpts,
    },
  };
}

// ---------------------------------------------------------------- network ls

/** What `network ls --format` templates see; keys in JSON order (Go marshals the map sorted). */
export interface NetworkRow {
  CreatedAt: string;
  Driver: string;
  ID: string;
  /** docker CLI 28 reads `EnableIPv4` (API 1.48), shown as `false` when a daemon leaves it out. */
  IPv4: string;
  IPv6: string;
  Internal: string;
  Labels: string;
  Name: string;
  Scope: string;
}

export const NETWORK_TABLE = 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}';

export const NETWORK_HEADERS: Readonly<Record<string, string>> = {
  ID: 'NETWORK ID',
  Name: 'NAME',
  Driver: 'DRIVER',
  Scope: 'SCOPE',
  IPv4: 'IPV4',
  IPv6: 'IPV6',
  Internal: 'INTERNAL',
  Labels: 'LABELS',
  CreatedAt: 'CREATED AT',
};

export function networkRow(n: NetworkResource, opts: { trunc: boolean }): NetworkRow {
  const labels = n.Labels ?? {};
  return withLabelMethod({
    CreatedAt: goTimeStringRfc3339(n.Created),
    Driver: n.Driver ?? '',
    ID: opts.trunc ? truncateId(n.Id) : n.Id,
    IPv4: String(n.EnableIPv4 === true),
    IPv6: String(n.EnableIPv6 === true),
    Internal: String(n.Internal === true),
    Labels: Object.keys(labels)
      .sort()
      .map((k) => `${k}=${labels[k]}`)
      .join(','),
    Name: n.Name,
    Scope: n.Scope ?? '',
  }, labels);
}

/** The network formatter's `newFormat`: what `table`/`raw` mean, with and without `-q`. */
export function networkListFormat(format: string | undefined, quiet: boolean): string {
  const source = format === undefined || format === '' ? 'table' : format;
  if (source === 'table') return quiet ? '{{.ID}}' : NETWORK_TABLE;
  if (source === 'raw') return quiet ? 'network_id: {{.ID}}' : 'network_id: {{.ID}}\nname: {{.Name}}\ndriver: {{.Driver}}\nscope: {{.Scope}}\n';
  return source;
}

/**
 * `network ls` output for the daemon's list: the filters it can check re-applied (a daemon
 * that ignores them still gives the right rows), sorted naturally by name, then formatted.
 */
export function renderNetworkList(list: readonly NetworkResource[], o: { format?: string | undefined; quiet: boolean; trunc: boolean; filters: NetworkFilters }): string {
  const kept = filterNetworks(list, o.filters, ['dangling']);
  const sorted = [...kept].sort((a, b) => naturalCompare(a.Name, b.Name));
  const rows = sorted.map((n) => networkRow(n, { trunc: o.trunc }));
  return formatRows(networkListFormat(o.format, o.quiet), rows, { table: NETWORK_TABLE, headers: NETWORK_HEADERS, context: '*network.networkContext' });
}

/** `network prune`'s report: `Deleted Networks:` and one name per line, or nothing. */
export function pruneReport(deleted: readonly string[] | null | undefined): string {
  const list = deleted ?? [];
  if (list.length === 0) return '';
  return `Deleted Networks:\n${list.map((n) => `${n}\n`).join('')}\n`;
}
