/**
 * Port specs as the docker CLI reads them (go-connections/nat `ParsePortSpec`) and
 * shows them (`DisplayablePorts` for the PORTS column of `ps`).
 */
import { isIP } from '../core/ip.js';
import { InvalidArgument, NotFound } from '../core/errors.js';
import { naturalCompare } from './sortorder.js';

export interface PortBinding {
  HostIp: string;
  HostPort: string;
}

export interface PortMapping {
  /** `80/tcp` */
  port: string;
  binding: PortBinding;
}

function parsePortRange(s: string): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) throw new Error('bad range');
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  if (start > 65535 || end > 65535 || end < start) throw new Error('bad range');
  return [start, end];
}

function splitParts(raw: string): [string, string, string] {
  const parts = raw.split(':');
  const n = parts.length;
  const containerPort = parts[n - 1] as string;
  switch (n) {
    case 1:
      return ['', '', containerPort];
    case 2:
      return ['', parts[0] as string, containerPort];
    case 3:
      return [parts[0] as string, parts[1] as string, containerPort];
    default:
      return [parts.slice(0, n - 2).join(':'), parts[n - 2] as string, containerPort];
  }
}

/** `nat.SplitProtoPort`: `80/udp` → ['udp', '80']. */
export function splitProtoPort(raw: string): [string, string] {
  const parts = raw.split('/');
  if (raw.length === 0 || parts.length === 0 || (parts[0] ?? '').length === 0) return ['', ''];
  if (parts.length === 1) return ['tcp', raw];
  if ((parts[1] ?? '').length === 0) return ['tcp', parts[0] as string];
  return [parts[1] as string, parts[0] as string];
}

/** `nat.ParsePortSpec`: `8080:80`, `127.0.0.1:8080:80/udp`, `[::1]:80:80`, `8000-8002:80-82`, `80`. */
export function parsePortSpec(raw: string): PortMapping[] {
  const parts = splitParts(raw);
  let ip = parts[0];
  const [, hostPort, containerPortRaw] = parts;
  const [proto, containerPort] = splitProtoPort(containerPortRaw);
  if (ip !== '' && ip.startsWith('[')) {
    const m = /^\[([^\]]*)\]$/.exec(ip);
    if (!m) throw new InvalidArgument(`invalid IP address: ${ip}`);
    ip = m[1] as string;
  }
  if (ip !== '' && isIP(ip) === 0) throw new InvalidArgument(`invalid IP address: ${ip}`);
  if (containerPort === '') throw new InvalidArgument(`no port specified: ${raw}<empty>`);
  let start: number;
  let end: number;
  try {
    [start, end] = parsePortRange(containerPort);
  } catch {
    throw new InvalidArgument(`invalid containerPort: ${containerPort}`);
  }
  let hostStart = 0;
  let hostEnd = 0;
  if (hostPort !== '') {
    try {
      [hostStart, hostEnd] = parsePortRange(hostPort);
    } catch {
      throw new InvalidArgument(`invalid hostPort: ${hostPort}`);
    }
  }
  if (hostPort !== '' && end - start !== hostEnd - hostStart && end !== start) {
    throw new InvalidArgument(`invalid ranges specified for container and host Ports: ${containerPort} and ${hostPort}`);
  }
  const lproto = proto.toLowerCase();
  if (!['tcp', 'udp', 'sctp'].includes(lproto)) throw new InvalidArgument(`invalid proto: ${proto}`);
  const out: PortMapping[] = [];
  for (let i = 0; i <= end - start; i++) {
    let hp = hostPort;
    if (hostPort.length > 0) hp = String(hostStart + i);
    if (start === end && hostStart !== hostEnd) hp = `${hp}-${hostEnd}`;
    out.push({ port: `${start + i}/${lproto}`, binding: { HostIp: ip, HostPort: hp } });
  }
  return out;
}

/** `nat.ParsePortSpecs`: ExposedPorts and PortBindings for all `-p` values. */
export function parsePortSpecs(specs: readonly string[]): { exposed: Record<string, object>; bindings: Record<string, PortBinding[]> } {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, PortBinding[]> = {};
  for (const spec of specs) {
    for (const m of parsePortSpec(spec)) {
      exposed[m.port] = {};
      (bindings[m.port] ??= []).push(m.binding);
    }
  }
  return { exposed, bindings };
}

/** `--expose 80`, `--expose 8000-8010/udp` → exposed port keys. */
export function parseExpose(value: string): string[] {
  const [proto, port] = splitProtoPort(value);
  let start: number;
  let end: number;
  try {
    [start, end] = parsePortRange(port);
  } catch {
    throw new InvalidArgument(`invalid range format for --expose: ${value}, error: invalid port range`);
  }
  const out: string[] = [];
  for (let p = start; p <= end; p++) out.push(`${p}/${proto}`);
  return out;
}

/** One entry of the Engine API's container summary `Ports`. */
export interface ApiPort {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}

function joinHostPort(host: string, port: string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function formGroup(key: string, start: number, last: number): string {
  const slash = key.lastIndexOf('/');
  const ip = slash >= 0 ? key.slice(0, slash) : '';
  const type = slash >= 0 ? key.slice(slash + 1) : key;
  let group = String(start);
  if (start !== last) group = `${group}-${last}`;
  if (ip !== '') group = `${joinHostPort(ip, group)}->${group}`;
  return `${group}/${type}`;
}

/** The docker CLI's `DisplayablePorts`: `0.0.0.0:8080->80/tcp, 443/tcp`, ranges grouped. */
export function displayablePorts(ports: readonly ApiPort[] | null | undefined): string {
  if (!ports || ports.length === 0) return '';
  const sorted = [...ports].sort((a, b) => {
    if (a.PrivatePort !== b.PrivatePort) return a.PrivatePort - b.PrivatePort;
    const ai = a.IP ?? '';
    const bi = b.IP ?? '';
    if (ai !== bi) return ai < bi ? -1 : 1;
    const ap = a.PublicPort ?? 0;
    const bp = b.PublicPort ?? 0;
    if (ap !== bp) return ap - bp;
    return a.Type < b.Type ? -1 : a.Type > b.Type ? 1 : 0;
  });
  const groups = new Map<string, { first: number; last: number }>();
  const order: string[] = [];
  const result: string[] = [];
  const hostMappings: string[] = [];
  for (const p of sorted) {
    const current = p.PrivatePort;
    let key = p.Type;
    if (p.IP !== undefined && p.IP !== '') {
      if ((p.PublicPort ?? 0) !== current) {
        hostMappings.push(`${joinHostPort(p.IP, String(p.PublicPort ?? 0))}->${p.PrivatePort}/${p.Type}`);
        continue;
      }
      key = `${p.IP}/${p.Type}`;
    }
    const g = groups.get(key);
    if (!g) {
      groups.set(key, { first: current, last: current });
      order.push(key);
      continue;
    }
    if (current === g.last + 1) {
      g.last = current;
      continue;
    }
    result.push(formGroup(key, g.first, g.last));
    groups.set(key, { first: current, last: current });
  }
  for (const key of order) {
    const g = groups.get(key) as { first: number; last: number };
    result.push(formGroup(key, g.first, g.last));
  }
  result.push(...hostMappings);
  return result.join(', ');
}

/** `NetworkSettings.Ports` of a container's inspect: `80/tcp` → host bindings (null: exposed only). */
export type PortMap = Readonly<Record<string, readonly PortBinding[] | null>>;

/** Go's `strconv.ParseUint(s, 10, 16)` error text, or undefined when `s` is a valid port. */
function parseUint16Error(s: string): string | undefined {
  if (!/^\d+$/.test(s)) return `strconv.ParseUint: parsing ${goQuoted(s)}: invalid syntax`;
  if (Number(s) > 65535) return `strconv.ParseUint: parsing ${goQuoted(s)}: value out of range`;
  return undefined;
}

function goQuoted(s: string): string {
  return JSON.stringify(s);
}

/**
 * The lines `docker port CONTAINER [PRIVATE_PORT[/PROTO]]` prints, naturally sorted:
 * `80/tcp -> 0.0.0.0:8080` for every binding, or just `0.0.0.0:8080` for one private port.
 * Throws with the docker CLI's messages (`Error: No public port '80/tcp' published for web`).
 */
export function portLines(ports: PortMap | null | undefined, container: string, want?: string): string[] {
  const map = ports ?? {};
  const out: string[] = [];
  if (want !== undefined && want !== '') {
    const slash = want.indexOf('/');
    const port = slash >= 0 ? want.slice(0, slash) : want;
    const proto = slash >= 0 && slash < want.length - 1 ? want.slice(slash + 1) : 'tcp';
    const bad = parseUint16Error(port);
    if (bad !== undefined) throw new InvalidArgument(`Error: invalid port (${port}): ${bad}`);
    const key = `${port}/${proto}`;
    const frontends = Object.hasOwn(map, key) ? map[key] : undefined;
    if (frontends === undefined || frontends === null) throw new NotFound(`Error: No public port '${want}' published for ${container}`);
    for (const fe of frontends) out.push(joinHostPort(fe.HostIp, fe.HostPort));
  } else {
    for (const [from, frontends] of Object.entries(map)) {
      for (const fe of frontends ?? []) out.push(`${from} -> ${joinHostPort(fe.HostIp, fe.HostPort)}`);
    }
  }
  return out.sort(naturalCompare);
}
