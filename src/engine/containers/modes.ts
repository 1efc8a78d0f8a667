import { InvalidArgument } from '../../core/errors.js';
import type { HostConfig } from './types.js';

/**
 * The namespace modes of a container (`--pid`, `--ipc`, `--uts`, `--cgroupns`, `--userns`),
 * read and checked as Docker's daemon reads them. Pure: which container a `container:<x>`
 * names, and whether it runs, is the container service's to find out.
 */

/** A namespace of its own, the host's, or another container's. */
export type ShareMode = { kind: 'private' } | { kind: 'host' } | { kind: 'container'; target: string };

/** `--ipc`: also `shareable` (its /dev/shm kept outside, for others to join) and `none` (no /dev/shm). */
export type IpcMode = ShareMode | { kind: 'shareable' } | { kind: 'none' };

const container = (v: string): string | undefined => (v.startsWith('container:') && v.length > 'container:'.length ? v.slice('container:'.length) : undefined);

export function pidMode(v: string | undefined): ShareMode {
  if (v === undefined || v === '') return { kind: 'private' };
  if (v === 'host') return { kind: 'host' };
  const target = container(v);
  if (target !== undefined) return { kind: 'container', target };
  throw new InvalidArgument(`invalid PID mode: ${v}`);
}

export function ipcMode(v: string | undefined): IpcMode {
  if (v === undefined || v === '' || v === 'private') return { kind: 'private' };
  if (v === 'host' || v === 'shareable' || v === 'none') return { kind: v };
  const target = container(v);
  if (target !== undefined) return { kind: 'container', target };
  throw new InvalidArgument(`Invalid IPC mode: ${v}`);
}

export function utsMode(v: string | undefined): 'private' | 'host' {
  if (v === undefined || v === '') return 'private';
  if (v === 'host') return 'host';
  throw new InvalidArgument(`invalid UTS mode: ${v}`);
}

export function cgroupnsMode(v: string | undefined): 'private' | 'host' {
  if (v === undefined || v === '' || v === 'host') return 'host';
  if (v === 'private') return 'private';
  throw new InvalidArgument(`invalid cgroup namespace mode: ${v}`);
}

/** berth maps no user ids: a container shares the host's users (`host`, or nothing said). */
export function checkUsernsMode(v: string | undefined): void {
  if (v === undefined || v === '' || v === 'host') return;
  throw new InvalidArgument(`invalid USER mode: ${v} (berth runs containers without user namespace remapping: use "host" or leave it out)`);
}

/** Every mode checked at create, so a bad one fails there and not at each start. */
export function checkModes(hc: HostConfig): void {
  pidMode(hc.PidMode);
  ipcMode(hc.IpcMode);
  utsMode(hc.UTSMode);
  cgroupnsMode(hc.CgroupnsMode);
  checkUsernsMode(hc.UsernsMode);
}

/** Docker's defaults, as inspect shows them: `private` IPC, `host` cgroup namespace (cgroup v1). */
export function defaultModes(hc: HostConfig): void {
  if (!hc.IpcMode) hc.IpcMode = 'private';
  if (!hc.CgroupnsMode) hc.CgroupnsMode = 'host';
}

/**
 * Devices rules `--device-cgroup-rule` takes: `a`, or `c|b major|* :minor|* access`
 * (`c 10:229 rwm`, `b *:* m`).
 */
export interface DeviceRule {
  allow: boolean;
  type: 'a' | 'c' | 'b';
  major?: number;
  minor?: number;
  access: string;
}

export function parseDeviceCgroupRule(rule: string): DeviceRule {
  const m = /^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/.exec(rule.trim());
  if (rule.trim() === 'a') return { allow: true, type: 'a', access: 'rwm' };
  if (m === null) throw new InvalidArgument(`invalid device cgroup format '${rule}'`);
  const [, type, major, minor, access] = m as unknown as [string, 'a' | 'c' | 'b', string, string, string];
  return {
    allow: true,
    type,
    ...(major !== '*' ? { major: Number(major) } : {}),
    ...(minor !== '*' ? { minor: Number(minor) } : {}),
    access,
  };
}

/** A cpuset list (`0-2,4`) as its numbers; undefined when it is not one (Docker's `parsers.ParseUintList`). */
export function parseCpuList(list: string): Set<number> | undefined {
  const out = new Set<number>();
  if (list === '') return out;
  for (const part of list.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (m === null) return undefined;
    const start = Number(m[1]);
    const end = m[2] !== undefined ? Number(m[2]) : start;
    if (end < start) return undefined;
    for (let i = start; i <= end; i++) out.add(i);
  }
  return out;
}

/**
 * `--cpuset-cpus` / `--cpuset-mems` against what the host has (`available`, a cpuset list),
 * with Docker's messages.
 */
export function checkCpuset(requested: string | undefined, available: string, what: 'cpus' | 'mems'): void {
  if (requested === undefined || requested === '') return;
  const want = parseCpuList(requested);
  if (want === undefined) throw new InvalidArgument(`Invalid value ${requested} for cpuset ${what}: invalid format: ${requested}`);
  const have = parseCpuList(available) ?? new Set<number>();
  if ([...want].some((n) => !have.has(n))) {
    throw new InvalidArgument(`Requested ${what === 'cpus' ? 'CPUs' : 'memory nodes'} are not available - requested ${requested}, available: ${available}`);
  }
}

/** Limits Docker refuses at create and update whatever the host: CPUs beyond the host's, an OOM score adjustment out of range. */
export function checkResourceRanges(hc: { NanoCpus?: number; OomScoreAdj?: number }, ncpu: number): void {
  if (hc.NanoCpus !== undefined && (hc.NanoCpus < 0 || hc.NanoCpus > ncpu * 1e9)) {
    throw new InvalidArgument(`Range of CPUs is from 0.01 to ${ncpu}.00, as there are only ${ncpu} CPUs available`);
  }
  if (hc.OomScoreAdj !== undefined && (hc.OomScoreAdj < -1000 || hc.OomScoreAdj > 1000)) {
    throw new InvalidArgument(`Invalid value ${hc.OomScoreAdj}, range for oom score adj is [-1000, 1000]`);
  }
}
