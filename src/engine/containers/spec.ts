import { arch, release } from 'node:os';
import { InvalidArgument } from '../../core/errors.js';
import { CAPS_BY_NUMBER } from '../../sys/caps.js';
import type { HostDevice } from '../../sys/devices.js';
import { cgroupnsMode, ipcMode, parseDeviceCgroupRule, pidMode, utsMode } from './modes.js';
import { BUILTIN_SECCOMP_PROFILE, goArch, parseSecurityOpts, parseSeccompProfile, resolveSeccomp, withoutX32, type SeccompProfile } from './seccomp.js';
import type { ContainerRecord, HostConfig } from './types.js';

/**
 * Builds the OCI runtime spec for a container: a pure function of the container record,
 * the resolved user, the root path and extra mounts, so it is tested without a kernel.
 * Defaults follow Docker's (capabilities, masked paths, /dev, /proc, /sys mounts).
 */
export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options?: string[];
}

export interface OciProcess {
  terminal: boolean;
  user: { uid: number; gid: number; additionalGids?: number[] };
  args: string[];
  env: string[];
  cwd: string;
  capabilities: { bounding: string[]; effective: string[]; permitted: string[]; inheritable?: string[] };
  rlimits?: { type: string; hard: number; soft: number }[];
  noNewPrivileges: boolean;
  oomScoreAdj?: number;
  consoleSize?: { height: number; width: number };
}

/** A device node the runtime creates in the container (`linux.devices`): a host device at its path inside. */
export type OciDevice = HostDevice;

export interface OciSpec {
  ociVersion: string;
  process: OciProcess;
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: OciMount[];
  annotations?: Record<string, string>;
  linux: Record<string, unknown>;
}

export const DEFAULT_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

/** Every capability the kernel defines: what `--privileged` asks for (see `SpecInput.allCaps`). */
export const ALL_CAPS: readonly string[] = CAPS_BY_NUMBER;

/** What `--privileged` gives: every capability, or those of them the daemon may hand on (`allCaps`). */
export function everyCapability(allCaps?: readonly string[]): string[] {
  return allCaps !== undefined ? ALL_CAPS.filter((c) => allCaps.includes(c)) : [...ALL_CAPS];
}

/** Paths a container sees empty (`HostConfig.MaskedPaths` when the client sends none). */
export const MASKED_PATHS: readonly string[] = [
  '/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];
/** Paths a container sees read-only (`HostConfig.ReadonlyPaths` when the client sends none). */
export const READONLY_PATHS: readonly string[] = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export interface SpecInput {
  record: ContainerRecord;
  rootfs: string;
  user: { uid: number; gid: number; additionalGids: number[] };
  /** Files berth generates per container (hosts, hostname, resolv.conf) and other binds. */
  extraMounts: OciMount[];
  /** Path of the init binary bind-mounted for `--init`. */
  initPath?: string;
  cgroupParent: string;
  /**
   * What `--privileged` and `--cap-add ALL` give: every capability the daemon itself may hand
   * on (its bounding set), `ALL_CAPS` when not given.
   */
  allCaps?: readonly string[];
  /** An existing network namespace to join (`/proc/<pid>/ns/net` or a bind-mounted path); none = a new one. */
  netnsPath?: string;
  /** `--network host`: no network namespace of its own. */
  hostNetwork?: boolean;
  /** `--network container:<x>`: the namespace is another container's (no default sysctls). */
  sharedNetns?: boolean;
  /** Other containers' namespaces to join (`--pid container:<x>`, `--ipc container:<x>`): their paths. */
  joinNamespaces?: { pid?: string; ipc?: string };
  /** A host directory bound on /dev/shm (`--ipc host|shareable|container:<x>`); a tmpfs of its own otherwise. */
  shmSource?: string;
  /** Host devices created in the container (`--device`, every host device for `--privileged`) and the access granted. */
  devices?: { device: OciDevice; access: string }[];
  /** `linux.resources.blockIO`: `--blkio-weight` where the kernel has it, and the per-device throttles, devices resolved. */
  blockIO?: Record<string, unknown>;
  /** Environment the daemon adds before the container's own (`--link`'s variables): the container's own win. */
  linkEnv?: string[];
  /** The seccomp profile of containers that ask for none; the built-in one when not given, `unconfined` for none. */
  defaultSeccomp?: SeccompProfile | 'unconfined';
  /** The host, as seccomp profiles' conditions read it: Go architecture name and kernel release. */
  platform?: { arch: string; kernel: string };
  /** False when the kernel runs no x32 system calls: the built-in profile leaves x32 out (`withoutX32`). */
  kernelX32?: boolean;
}

export function capName(c: string): string {
  const u = c.toUpperCase();
  return u.startsWith('CAP_') ? u : `CAP_${u}`;
}

export function buildSpec(input: SpecInput): OciSpec {
  const { record: r, user } = input;
  const hc = r.hostConfig;
  const privileged = hc.Privileged === true;
  const all = everyCapability(input.allCaps);
  let caps = privileged ? [...all] : [...DEFAULT_CAPS];
  for (const c of hc.CapAdd ?? []) {
    if (c.toUpperCase() === 'ALL') caps = [...all];
    else if (!caps.includes(capName(c))) caps.push(capName(c));
  }
  for (const c of hc.CapDrop ?? []) {
    if (c.toUpperCase() === 'ALL') caps = [];
    else caps = caps.filter((x) => x !== capName(c));
  }
  const security = parseSecurityOpts(hc.SecurityOpt ?? []);
  const pid = pidMode(hc.PidMode);
  const ipc = ipcMode(hc.IpcMode);
  const uts = utsMode(hc.UTSMode);
  const args = input.initPath !== undefined ? ['/sbin/docker-init', '--', r.path, ...r.args] : [r.path, ...r.args];
  // `-e NAME` of a variable the client's environment lacks arrives as `NAME`: unset, as Docker leaves it.
  const own = (r.config.Env ?? []).filter((e) => e.includes('='));
  const ownNames = new Set(own.map((e) => e.slice(0, e.indexOf('='))));
  const env = [...(input.linkEnv ?? []).filter((e) => !ownNames.has(e.slice(0, e.indexOf('=')))), ...own];
  if (!env.some((e) => e.startsWith('PATH='))) env.unshift('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
  if (!env.some((e) => e.startsWith('HOSTNAME='))) env.push(`HOSTNAME=${r.config.Hostname ?? ''}`);
  if (r.config.Tty === true && !env.some((e) => e.startsWith('TERM='))) env.push('TERM=xterm');

  const mounts: OciMount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', privileged ? 'rw' : 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', privileged || security.writableCgroups ? 'rw' : 'ro'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    ...shmMounts(ipc.kind, input.shmSource, hc.ShmSize),
    ...input.extraMounts,
  ];
  if (input.initPath !== undefined) {
    mounts.push({ destination: '/sbin/docker-init', type: 'bind', source: input.initPath, options: ['rbind', 'ro'] });
  }

  const devices = input.devices ?? [];
  const resources: Record<string, unknown> = {
    devices: [
      { allow: privileged, access: 'rwm' },
      ...(privileged ? [] : DEFAULT_DEVICE_RULES),
      ...(privileged ? [] : devices.map(({ device: d, access }) => ({ allow: true, type: d.type, major: d.major, minor: d.minor, access }))),
      ...(hc.DeviceCgroupRules ?? []).map(parseDeviceCgroupRule),
    ],
    ...resourceLimits(hc),
  };
  if (input.blockIO !== undefined && Object.keys(input.blockIO).length > 0) resources.blockIO = input.blockIO;
  if (hc.OomKillDisable === true) resources.memory = { ...(resources.memory as Record<string, unknown> | undefined), disableOOMKiller: true };

  const join = (type: 'pid' | 'ipc'): { type: string; path: string } => {
    const path = input.joinNamespaces?.[type];
    if (path === undefined) throw new InvalidArgument(`no ${type} namespace to join for ${type === 'pid' ? hc.PidMode : hc.IpcMode}`);
    return { type, path };
  };
  const namespaces: { type: string; path?: string }[] = [{ type: 'mount' }];
  if (pid.kind !== 'host') namespaces.push(pid.kind === 'container' ? join('pid') : { type: 'pid' });
  if (ipc.kind !== 'host') namespaces.push(ipc.kind === 'container' ? join('ipc') : { type: 'ipc' });
  if (uts !== 'host') namespaces.push({ type: 'uts' });
  if (input.hostNetwork !== true) namespaces.push(input.netnsPath !== undefined ? { type: 'network', path: input.netnsPath } : { type: 'network' });
  if (cgroupnsMode(hc.CgroupnsMode) === 'private') namespaces.push({ type: 'cgroup' });

  const linux: Record<string, unknown> = {
    namespaces,
    resources,
    cgroupsPath: `${hc.CgroupParent || input.cgroupParent}/${r.id}`,
    // The NIS domain name as Docker sets it, through the sysctl with setdomainname(2)'s effect
    // (runc 1.1 reads no `domainname` field), in a UTS namespace of the container's own.
    // Docker's for a network namespace of its own: any port and ping for every user. The
    // container's own sysctls win.
    sysctl: {
      ...(r.config.Domainname && uts !== 'host' ? { 'kernel.domainname': r.config.Domainname } : {}),
      ...(input.hostNetwork !== true && input.sharedNetns !== true ? OWN_NETNS_SYSCTLS : {}),
      ...hc.Sysctls,
    },
  };
  if (devices.length > 0) linux.devices = devices.map((d) => d.device);
  if (!privileged) {
    linux.maskedPaths = hc.MaskedPaths ?? MASKED_PATHS;
    linux.readonlyPaths = hc.ReadonlyPaths ?? READONLY_PATHS;
    const seccomp = seccompProfile(security.seccomp, input.defaultSeccomp);
    if (seccomp !== undefined) {
      const platform = input.platform ?? { arch: goArch(arch()), kernel: release() };
      const resolved = resolveSeccomp(seccomp, { ...platform, caps });
      linux.seccomp = seccomp === BUILTIN_SECCOMP_PROFILE && input.kernelX32 === false ? withoutX32(resolved) : resolved;
    }
  }

  const process: OciProcess = {
    terminal: r.config.Tty === true,
    user: { uid: user.uid, gid: user.gid, ...(user.additionalGids.length > 0 ? { additionalGids: user.additionalGids } : {}) },
    args,
    env,
    cwd: r.config.WorkingDir || '/',
    capabilities: { bounding: caps, effective: caps, permitted: caps },
    // Limits are inherited from the daemon unless --ulimit sets them.
    rlimits: (hc.Ulimits ?? []).map((u) => ({ type: `RLIMIT_${u.Name.toUpperCase()}`, hard: u.Hard, soft: u.Soft })),
    noNewPrivileges: security.noNewPrivileges,
    oomScoreAdj: hc.OomScoreAdj ?? 0,
  };
  if (process.rlimits) process.rlimits = dedupeRlimits(process.rlimits);
  // The client's terminal size at create time (API 1.42+), so the first output is laid out right.
  const cs = hc.ConsoleSize;
  if (process.terminal && Array.isArray(cs) && typeof cs[0] === 'number' && typeof cs[1] === 'number' && cs[0] > 0 && cs[1] > 0) {
    process.consoleSize = { height: cs[0], width: cs[1] };
  }
  if (process.rlimits?.length === 0) delete process.rlimits;

  return {
    ociVersion: '1.0.2',
    process,
    root: { path: input.rootfs, readonly: hc.ReadonlyRootfs === true },
    // With the host's UTS namespace, the host's name: the runtime may not set one.
    hostname: uts === 'host' ? '' : r.config.Hostname ?? '',
    mounts,
    ...(hc.Annotations && Object.keys(hc.Annotations).length > 0 ? { annotations: { ...hc.Annotations } } : {}),
    linux,
  };
}

/** /dev/shm's size unless `--shm-size` says otherwise (Docker's 64 MiB, shown in inspect). */
export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;

/** Set in a container with a network namespace of its own, as Docker does. */
export const OWN_NETNS_SYSCTLS: Readonly<Record<string, string>> = Object.freeze({
  'net.ipv4.ip_unprivileged_port_start': '0',
  'net.ipv4.ping_group_range': '0 2147483647',
});

/** /dev/shm: a tmpfs of its own, a host directory bound there (host, shareable, another's), or none. */
function shmMounts(ipc: string, source: string | undefined, size: number | undefined): OciMount[] {
  if (ipc === 'none') return [];
  if (ipc === 'host') return [{ destination: '/dev/shm', type: 'bind', source: '/dev/shm', options: ['rbind', 'rprivate'] }];
  if (ipc === 'shareable' || ipc === 'container') {
    if (source === undefined) throw new InvalidArgument(`no /dev/shm to share for IPC mode ${ipc}`);
    return [{ destination: '/dev/shm', type: 'bind', source, options: ['rbind', 'rprivate'] }];
  }
  return [{ destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${size !== undefined && size > 0 ? size : DEFAULT_SHM_SIZE}`] }];
}

/** The profile a container runs under: its own, the built-in one, the daemon's default, or none (undefined). */
function seccompProfile(asked: string | undefined, daemonDefault: SeccompProfile | 'unconfined' | undefined): SeccompProfile | undefined {
  if (asked === 'unconfined') return undefined;
  if (asked === 'builtin') return BUILTIN_SECCOMP_PROFILE;
  if (asked !== undefined) return parseSeccompProfile(asked);
  if (daemonDefault === 'unconfined') return undefined;
  return daemonDefault ?? BUILTIN_SECCOMP_PROFILE;
}

function dedupeRlimits(l: { type: string; hard: number; soft: number }[]) {
  const m = new Map<string, { type: string; hard: number; soft: number }>();
  for (const x of l) m.set(x.type, x);
  return [...m.values()];
}

const DEFAULT_DEVICE_RULES = [
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, // null
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' }, // zero
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' }, // full
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' }, // random
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' }, // urandom
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' }, // tty
  { allow: true, type: 'c', major: 5, minor: 1, access: 'rwm' }, // console
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' }, // ptmx
  { allow: true, type: 'c', major: 136, access: 'rwm' }, // pts
  { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' }, // tun
];

/**
 * Resolves Docker's `--user` (`name`, `uid`, `name:group`, `uid:gid`) against the image's
 * /etc/passwd and /etc/group contents. Unknown names are an error, numbers are taken as given.
 * The supplementary groups are Docker's: the primary group, the groups that list the user
 * (when it is named and no group is given), then `--group-add` (names from /etc/group, or
 * numbers; each once).
 */
export function resolveUser(spec: string | undefined, passwd: string, group: string, groupAdd: readonly string[] = []): { uid: number; gid: number; additionalGids: number[]; home: string } {
  const [u = '', g] = (spec ?? '').split(':');
  const users = passwd.split('\n').filter(Boolean).map((l) => l.split(':'));
  const groups = group.split('\n').filter(Boolean).map((l) => l.split(':'));
  let uid = 0;
  let gid = 0;
  let home = '/';
  let name: string | undefined = 'root';
  if (u !== '') {
    const entry = /^\d+$/.test(u) ? users.find((x) => x[2] === u) : users.find((x) => x[0] === u);
    if (entry) {
      uid = Number(entry[2]);
      gid = Number(entry[3]);
      home = entry[5] ?? '/';
      name = entry[0];
    } else if (/^\d+$/.test(u)) {
      uid = Number(u);
      name = undefined;
    } else {
      throw new InvalidArgument(`unable to find user ${u}: no matching entries in passwd file`);
    }
  } else {
    const root = users.find((x) => x[2] === '0');
    home = root?.[5] ?? '/root';
  }
  const groupGiven = g !== undefined && g !== '';
  if (groupGiven) {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const ge = groups.find((x) => x[0] === g);
      if (!ge) throw new InvalidArgument(`unable to find group ${g}: no matching entries in group file`);
      gid = Number(ge[2]);
    }
  }
  const member = groupGiven || name === undefined ? [] : groups.filter((x) => (x[3] ?? '').split(',').includes(name)).map((x) => Number(x[2]));
  const added: number[] = [];
  for (const a of groupAdd) {
    const ge = groups.find((x) => x[0] === a || x[2] === a);
    let id: number;
    if (ge) id = Number(ge[2]);
    else if (/^-?\d+$/.test(a)) {
      id = Number(a);
      if (id < 0 || id > 2147483647) throw new InvalidArgument('uids and gids must be in range 0-2147483647');
    } else throw new InvalidArgument(`Unable to find group ${a}: no matching entries in group file`);
    if (!added.includes(id)) added.push(id);
  }
  return { uid, gid, additionalGids: [gid, ...member, ...added], home };
}

/**
 * The OCI `linux.resources` limits of a host config (memory, cpu, pids): for the spec of a
 * new container, and for `runc update` of a running one (`docker update`).
 */
export function resourceLimits(hc: HostConfig): { memory?: Record<string, number>; cpu?: Record<string, unknown>; pids?: { limit: number } } {
  const out: { memory?: Record<string, number>; cpu?: Record<string, unknown>; pids?: { limit: number } } = {};
  const memory: Record<string, number> = {};
  if (hc.Memory !== undefined && hc.Memory > 0) {
    if (hc.Memory < 6 * 1024 * 1024) throw new InvalidArgument('Minimum memory limit allowed is 6MB');
    memory.limit = hc.Memory;
    if (hc.MemorySwap !== undefined && hc.MemorySwap !== 0) memory.swap = hc.MemorySwap;
  }
  if (hc.MemoryReservation !== undefined && hc.MemoryReservation > 0) memory.reservation = hc.MemoryReservation;
  if (hc.MemorySwappiness !== undefined && hc.MemorySwappiness !== null && hc.MemorySwappiness >= 0) memory.swappiness = hc.MemorySwappiness;
  if (Object.keys(memory).length > 0) out.memory = memory;
  const cpu: Record<string, unknown> = {};
  if (hc.NanoCpus !== undefined && hc.NanoCpus > 0) {
    cpu.period = 100000;
    cpu.quota = Math.round((hc.NanoCpus / 1e9) * 100000);
  }
  if (hc.CpuQuota !== undefined && hc.CpuQuota > 0) cpu.quota = hc.CpuQuota;
  if (hc.CpuPeriod !== undefined && hc.CpuPeriod > 0) cpu.period = hc.CpuPeriod;
  if (hc.CpuShares !== undefined && hc.CpuShares > 0) cpu.shares = hc.CpuShares;
  if (hc.CpusetCpus) cpu.cpus = hc.CpusetCpus;
  if (hc.CpusetMems) cpu.mems = hc.CpusetMems;
  if (hc.CpuRealtimePeriod !== undefined && hc.CpuRealtimePeriod > 0) cpu.realtimePeriod = hc.CpuRealtimePeriod;
  if (hc.CpuRealtimeRuntime !== undefined && hc.CpuRealtimeRuntime > 0) cpu.realtimeRuntime = hc.CpuRealtimeRuntime;
  if (Object.keys(cpu).length > 0) out.cpu = cpu;
  if (hc.PidsLimit !== undefined && hc.PidsLimit !== null && hc.PidsLimit > 0) out.pids = { limit: hc.PidsLimit };
  return out;
}
