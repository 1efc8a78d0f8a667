/**
 * `berth run` / `berth create` flags and their translation into the Engine API's
 * `Config`, `HostConfig` and `NetworkingConfig`, following the docker CLI
 * (cli/command/container/opts.go) field by field, in Go's field order.
 */
import { isIP } from '../core/ip.js';
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { errorMessage, InvalidArgument } from '../core/errors.js';
import { StatusError } from './context.js';
import { UsageError, type FlagDef, type Flags } from './args.js';
import { kvToMap, readEnv, readLabels } from './envfile.js';
import { parseExpose, parsePortSpecs } from './ports.js';
import { parseBytes, parseDuration, parseNanoCpus } from './units.js';
import { parseJsonText } from '../core/json-text.js';

const b = (long: string, help: string, short?: string, def?: boolean): FlagDef => ({ long, kind: 'bool', help, ...(short ? { short } : {}), ...(def !== undefined ? { default: def } : {}) });
const s = (long: string, help: string, short?: string, type?: string, def?: string): FlagDef => ({ long, kind: 'string', help, ...(short ? { short } : {}), ...(type ? { type } : {}), ...(def !== undefined ? { default: def } : {}) });
const l = (long: string, help: string, short?: string, type?: string): FlagDef => ({ long, kind: 'list', help, ...(short ? { short } : {}), ...(type ? { type } : {}) });
const n = (long: string, help: string, short?: string, def?: number): FlagDef => ({ long, kind: 'int', help, ...(short ? { short } : {}), ...(def !== undefined ? { default: def } : {}) });

/** Flags shared by `run` and `create` (docker's `addFlags`). */
export const CONTAINER_FLAGS: readonly FlagDef[] = [
  l('add-host', 'Add a custom host-to-IP mapping (host:ip)'),
  l('annotation', 'Add an annotation to the container (passed through to the OCI runtime)'),
  l('attach', 'Attach to STDIN, STDOUT or STDERR', 'a'),
  n('blkio-weight', 'Block IO (relative weight), between 10 and 1000, or 0 to disable'),
  l('blkio-weight-device', 'Block IO weight (relative device weight)'),
  l('cap-add', 'Add Linux capabilities'),
  l('cap-drop', 'Drop Linux capabilities'),
  s('cgroup-parent', 'Optional parent cgroup for the container'),
  s('cgroupns', 'Cgroup namespace to use (host|private)'),
  s('cidfile', 'Write the container ID to the file'),
  n('cpu-period', 'Limit CPU CFS (Completely Fair Scheduler) period'),
  n('cpu-rt-period', 'Limit CPU real-time period in microseconds'),
  n('cpu-rt-runtime', 'Limit CPU real-time runtime in microseconds'),
  n('cpu-quota', 'Limit CPU CFS (Completely Fair Scheduler) quota'),
  n('cpu-shares', 'CPU shares (relative weight)', 'c'),
  s('cpus', 'Number of CPUs', undefined, 'decimal'),
  s('cpuset-cpus', 'CPUs in which to allow execution (0-3, 0,1)'),
  s('cpuset-mems', 'MEMs in which to allow execution (0-3, 0,1)'),
  l('device', 'Add a host device to the container'),
  l('device-cgroup-rule', 'Add a rule to the cgroup allowed devices list'),
  l('device-read-bps', 'Limit read rate (bytes per second) from a device'),
  l('device-read-iops', 'Limit read rate (IO per second) from a device'),
  l('device-write-bps', 'Limit write rate (bytes per second) to a device'),
  l('device-write-iops', 'Limit write rate (IO per second) to a device'),
  { long: 'disable-content-trust', kind: 'bool', default: true, help: 'Skip image verification', hidden: true },
  l('dns', 'Set custom DNS servers'),
  l('dns-option', 'Set DNS options'),
  l('dns-search', 'Set custom DNS search domains'),
  s('domainname', 'Container NIS domain name'),
  s('entrypoint', 'Overwrite the default ENTRYPOINT of the image'),
  l('env', 'Set environment variables', 'e'),
  l('env-file', 'Read in a file of environment variables'),
  l('expose', 'Expose a port or a range of ports'),
  l('group-add', 'Add additional groups to join'),
  s('health-cmd', 'Command to run to check health'),
  s('health-interval', 'Time between running the check (ms|s|m|h) (default 0s)', undefined, 'duration'),
  n('health-retries', 'Consecutive failures needed to report unhealthy'),
  s('health-start-interval', 'Time between running the check during the start period (ms|s|m|h) (default 0s)', undefined, 'duration'),
  s('health-start-period', 'Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)', undefined, 'duration'),
  s('health-timeout', 'Maximum time to allow one check to run (ms|s|m|h) (default 0s)', undefined, 'duration'),
  s('health-on-failure', 'Action to take when the container turns unhealthy (none|kill|restart|stop)'),
  s('hostname', 'Container host name', 'h'),
  b('init', 'Run an init inside the container that forwards signals and reaps processes'),
  b('interactive', 'Keep STDIN open even if not attached', 'i'),
  s('ip', 'IPv4 address (e.g., 172.30.100.104)'),
  s('ipc', 'IPC mode to use'),
  s('isolation', 'Container isolation technology'),
  s('kernel-memory', 'Kernel memory limit (deprecated: kept and warned about, as Docker does)', undefined, 'bytes'),
  l('label', 'Set meta data on a container', 'l'),
  l('label-file', 'Read in a line delimited file of labels'),
  s('log-driver', 'Logging driver for the container'),
  l('log-opt', 'Log driver options'),
  s('mac-address', 'Container MAC address (e.g., 92:d0:c6:0a:29:33)'),
  s('memory', 'Memory limit', 'm', 'bytes'),
  s('memory-reservation', 'Memory soft limit', undefined, 'bytes'),
  s('memory-swap', "Swap limit equal to memory plus swap: '-1' to enable unlimited swap", undefined, 'bytes'),
  n('memory-swappiness', 'Tune container memory swappiness (0 to 100)', undefined, -1),
  l('mount', 'Attach a filesystem mount to the container', undefined, 'mount'),
  s('name', 'Assign a name to the container'),
  s('network', 'Connect a container to a network', undefined, 'network'),
  { long: 'net', kind: 'string', help: 'Connect a container to a network', hidden: true },
  l('network-alias', 'Add network-scoped alias for the container'),
  b('no-healthcheck', 'Disable any container-specified HEALTHCHECK'),
  l('link', 'Add link to another container'),
  b('oom-kill-disable', 'Disable OOM Killer'),
  n('oom-score-adj', "Tune host's OOM preferences (-1000 to 1000)"),
  s('pid', 'PID namespace to use'),
  l('storage-opt', 'Storage driver options for the container'),
  n('pids-limit', 'Tune container pids limit (set -1 for unlimited)'),
  s('platform', 'Set platform if server is multi-platform capable'),
  b('privileged', 'Give extended privileges to this container'),
  l('publish', "Publish a container's port(s) to the host", 'p'),
  b('publish-all', 'Publish all exposed ports to random ports', 'P'),
  s('pull', 'Pull image before running ("always", "missing", "never")', undefined, 'string', 'missing'),
  b('quiet', 'Suppress the pull output', 'q'),
  b('read-only', "Mount the container's root filesystem as read only"),
  s('restart', 'Restart policy to apply when a container exits', undefined, 'string', 'no'),
  b('rm', 'Automatically remove the container and its associated anonymous volumes when it exits'),
  s('runtime', 'Runtime to use for this container'),
  l('security-opt', 'Security Options'),
  s('shm-size', 'Size of /dev/shm', undefined, 'bytes'),
  s('stop-signal', 'Signal to stop the container'),
  n('stop-timeout', 'Timeout (in seconds) to stop a container'),
  l('sysctl', 'Sysctl options', undefined, 'map'),
  l('tmpfs', 'Mount a tmpfs directory'),
  b('tty', 'Allocate a pseudo-TTY', 't'),
  l('ulimit', 'Ulimit options', undefined, 'ulimit'),
  s('user', 'Username or UID (format: <name|uid>[:<group|gid>])', 'u'),
  s('userns', 'User namespace to use'),
  s('uts', 'UTS namespace to use'),
  l('volume', 'Bind mount a volume', 'v'),
  s('volume-driver', 'Optional volume driver for the container'),
  l('volumes-from', 'Mount volumes from the specified container(s)'),
  s('workdir', 'Working directory inside the container', 'w'),
];

/** Flags only `run` has. */
export const RUN_FLAGS: readonly FlagDef[] = [
  b('detach', 'Run container in background and print container ID', 'd'),
  s('detach-keys', 'Override the key sequence for detaching a container'),
  b('sig-proxy', 'Proxy received signals to the process', undefined, true),
];

export interface ContainerSpec {
  name?: string;
  platform?: string;
  pull: 'always' | 'missing' | 'never';
  quiet: boolean;
  detach: boolean;
  sigProxy: boolean;
  detachKeys?: string;
  cidfile?: string;
  config: Record<string, unknown>;
  hostConfig: Record<string, unknown>;
  networkingConfig: { EndpointsConfig: Record<string, unknown> };
}

export interface BuildOptions {
  command: 'run' | 'create';
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** [height, width] of the local terminal when a TTY is requested. */
  consoleSize?: [number, number];
}

function flagError(f: string, value: string, e: unknown, command: string): UsageError {
  return new UsageError(`invalid argument "${value}" for "${f}" flag: ${(e as Error).message}`, command);
}

function bytesFlag(f: Flags, name: string, display: string, command: string): number {
  const v = f.str(name);
  if (v === undefined || v === '') return 0;
  if (name === 'memory-swap' && v === '-1') return -1;
  try {
    return parseBytes(v);
  } catch (e) {
    throw flagError(display, v, e, command);
  }
}

function durationFlag(f: Flags, name: string, command: string): number {
  const v = f.str(name);
  if (v === undefined || v === '') return 0;
  try {
    return parseDuration(v);
  } catch (e) {
    throw flagError(`--${name}`, v, e, command);
  }
}

/** `opts.ParseRestartPolicy`. */
export function parseRestartPolicy(policy: string): { Name: string; MaximumRetryCount: number } {
  if (policy === '') return { Name: '', MaximumRetryCount: 0 };
  const colon = policy.indexOf(':');
  const name = colon >= 0 ? policy.slice(0, colon) : policy;
  const count = colon >= 0 ? policy.slice(colon + 1) : '';
  if (colon >= 0 && name === '') throw new InvalidArgument('invalid restart policy format: no policy provided before colon');
  let max = 0;
  if (count !== '') {
    if (!/^[+-]?\d+$/.test(count)) throw new InvalidArgument('invalid restart policy format: maximum retry count must be an integer');
    max = Number(count);
  }
  return { Name: name, MaximumRetryCount: max };
}

/** `units.ParseUlimit`: `nofile=1024:2048`. */
export function parseUlimit(value: string): { Name: string; Hard: number; Soft: number } {
  const eq = value.indexOf('=');
  if (eq < 0) throw new InvalidArgument(`invalid ulimit argument: ${value}`);
  const name = value.slice(0, eq);
  const [softS = '', hardS, extra] = value.slice(eq + 1).split(':');
  if (extra !== undefined) throw new InvalidArgument(`too many limit value arguments - ${value.slice(eq + 1)}, can only have up to two, \`soft[:hard]\``);
  const num = (x: string) => {
    if (!/^-?\d+$/.test(x)) throw new InvalidArgument(`invalid ulimit argument: ${value}`);
    return Number(x);
  };
  const soft = num(softS);
  const hard = hardS === undefined ? soft : num(hardS);
  if (soft > hard) throw new InvalidArgument(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
  return { Name: name, Hard: hard, Soft: soft };
}

function validDeviceMode(mode: string): boolean {
  if (mode === '' || mode.length > 3) return false;
  const seen = new Set<string>();
  for (const c of mode) {
    if (!'rwm'.includes(c) || seen.has(c)) return false;
    seen.add(c);
  }
  return true;
}

/** `--device /dev/sda[:/dev/xvda][:rwm]`. */
/** `--blkio-weight`: 10–1000, or 0 for none (the docker CLI's check). */
function blkioWeight(w: number): number {
  if (w !== 0 && (w < 10 || w > 1000)) throw new InvalidArgument(`invalid argument "${w}" for "--blkio-weight" flag: valid values are 10-1000 or 0`);
  return w;
}

/** `--device-read-bps /dev/sda:1mb`, `--device-write-iops /dev/sda:100`. */
export function throttle(v: string, flag: string, bytes: boolean): { Path: string; Rate: number } {
  const i = v.lastIndexOf(':');
  const path = v.slice(0, i);
  const rate = v.slice(i + 1);
  if (i <= 0 || !path.startsWith('/dev/')) throw new InvalidArgument(`invalid argument "${v}" for "${flag}" flag: bad format: ${v}`);
  let n: number;
  try {
    n = bytes ? parseBytes(rate) : /^\d+$/.test(rate) ? Number(rate) : NaN;
  } catch {
    n = NaN;
  }
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgument(`invalid argument "${v}" for "${flag}" flag: invalid rate for device: ${v}. The correct format is <device-path>:<number>${bytes ? '[<unit>]. Number must be a positive integer. Unit is optional and can be kb, mb, or gb' : '. Number must be a positive integer'}`);
  return { Path: path, Rate: n };
}

/** `--device-cgroup-rule`, checked as the docker CLI checks it. */
export function checkDeviceCgroupRule(rule: string): string {
  if (!/^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/.test(rule) && rule !== 'a') {
    throw new InvalidArgument(`invalid argument "${rule}" for "--device-cgroup-rule" flag: invalid device cgroup format '${rule}'`);
  }
  return rule;
}

export function parseDevice(device: string): { PathOnHost: string; PathInContainer: string; CgroupPermissions: string } {
  const arr = device.split(':');
  let src = '';
  let dst = '';
  let perms = 'rwm';
  if (arr.length > 3) throw new InvalidArgument(`invalid device specification: ${device}`);
  if (arr.length === 3) perms = arr[2] as string;
  if (arr.length >= 2) {
    if (validDeviceMode(arr[1] as string)) perms = arr[1] as string;
    else dst = arr[1] as string;
  }
  src = arr[0] as string;
  if (dst === '') dst = src;
  return { PathOnHost: src, PathInContainer: dst, CgroupPermissions: perms };
}

/** `--mount type=bind,source=/a,target=/b,readonly`. */
export function parseMount(value: string): Record<string, unknown> {
  const m: Record<string, unknown> = { Type: 'volume' };
  const volumeOptions: Record<string, unknown> = {};
  const bindOptions: Record<string, unknown> = {};
  const tmpfsOptions: Record<string, unknown> = {};
  for (const field of value.split(',')) {
    const eq = field.indexOf('=');
    const key = (eq >= 0 ? field.slice(0, eq) : field).trim().toLowerCase();
    const val = eq >= 0 ? field.slice(eq + 1) : undefined;
    const boolVal = () => {
      if (val === undefined) return true;
      if (['1', 'true', 'True', 'TRUE', 't'].includes(val)) return true;
      if (['0', 'false', 'False', 'FALSE', 'f'].includes(val)) return false;
      throw new InvalidArgument(`invalid value for ${key}: ${val}`);
    };
    if (val === undefined && !['readonly', 'ro', 'volume-nocopy', 'bind-nonrecursive'].includes(key)) {
      throw new InvalidArgument(`invalid field '${field}' must be a key=value pair`);
    }
    switch (key) {
      case 'type':
        m.Type = (val ?? '').toLowerCase();
        break;
      case 'source':
      case 'src':
        m.Source = val;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        m.Target = val;
        break;
      case 'readonly':
      case 'ro':
        m.ReadOnly = boolVal();
        break;
      case 'consistency':
        m.Consistency = val;
        break;
      case 'bind-propagation':
        bindOptions.Propagation = (val ?? '').toLowerCase();
        break;
      case 'bind-nonrecursive':
        bindOptions.NonRecursive = boolVal();
        break;
      case 'volume-nocopy':
        volumeOptions.NoCopy = boolVal();
        break;
      case 'volume-label': {
        const [k = '', v = ''] = (val ?? '').split(/=(.*)/s);
        ((volumeOptions.Labels ??= {}) as Record<string, string>)[k] = v;
        break;
      }
      case 'volume-driver':
        ((volumeOptions.DriverConfig ??= {}) as Record<string, unknown>).Name = val;
        break;
      case 'volume-opt': {
        const [k = '', v = ''] = (val ?? '').split(/=(.*)/s);
        const dc = (volumeOptions.DriverConfig ??= {}) as Record<string, unknown>;
        ((dc.Options ??= {}) as Record<string, string>)[k] = v;
        break;
      }
      case 'tmpfs-size':
        tmpfsOptions.SizeBytes = parseBytes(val ?? '');
        break;
      case 'tmpfs-mode':
        tmpfsOptions.Mode = Number.parseInt(val ?? '', 8);
        break;
      default:
        throw new InvalidArgument(`unexpected key '${key}' in '${field}'`);
    }
  }
  if (m.Target === undefined || m.Target === '') throw new InvalidArgument('target is required');
  if (Object.keys(bindOptions).length > 0) m.BindOptions = bindOptions;
  if (Object.keys(volumeOptions).length > 0) m.VolumeOptions = volumeOptions;
  if (Object.keys(tmpfsOptions).length > 0) m.TmpfsOptions = tmpfsOptions;
  return m;
}

const STREAMS = ['stdin', 'stdout', 'stderr'];
const NETWORK_MODES = new Set(['', 'default', 'bridge', 'host', 'none']);

/** Splits a volume spec at its first ':' that is not a Windows drive letter. */
function splitVolume(bind: string): string[] {
  return bind.split(':');
}

/** Builds the create request from run/create flags and the positional `IMAGE [COMMAND] [ARG...]`. */
export function buildContainerSpec(f: Flags, args: readonly string[], o: BuildOptions): ContainerSpec {
  const command = o.command;
  const env = o.env ?? process.env;
  const cwd = o.cwd ?? process.cwd();
  const [image, ...cmd] = args;
  if (image === undefined) throw new UsageError(`"berth ${command}" requires at least 1 argument.`, command);

  // attach / detach
  const attach = f.list('attach').map((a) => {
    const v = a.toLowerCase();
    if (!STREAMS.includes(v)) throw new UsageError(`invalid argument "${a}" for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR`, command);
    return v;
  });
  const detach = command === 'run' && f.bool('detach');
  const stdin = f.bool('interactive');
  let attachStdin = attach.includes('stdin') || stdin;
  let attachStdout = attach.includes('stdout');
  let attachStderr = attach.includes('stderr');
  if (attach.length === 0) {
    attachStdout = true;
    attachStderr = true;
  }
  if (detach) {
    if (attach.length > 0) throw new InvalidArgument('Conflicting options: -a and -d');
    attachStdin = false;
    attachStdout = false;
    attachStderr = false;
  }
  const stdinOnce = stdin && attachStdin;

  // ports
  const { exposed, bindings } = parsePortSpecs(f.list('publish'));
  for (const e of f.list('expose')) {
    if (e.includes(':')) throw new InvalidArgument(`invalid port format for --expose: ${e}`);
    for (const p of parseExpose(e)) exposed[p] ??= {};
  }

  // volumes: binds go to HostConfig.Binds, bare paths are anonymous volumes
  const volumes: Record<string, object> = {};
  const binds: string[] = [];
  for (const v of f.list('volume')) {
    const parts = splitVolume(v);
    if (parts.length >= 2 && parts[0] !== '' && parts[1] !== '') {
      let host = parts[0] as string;
      if (!isAbsolute(host) && host.startsWith('.')) host = resolve(cwd, host);
      binds.push([host, ...parts.slice(1)].join(':'));
    } else {
      volumes[v] = {};
    }
  }

  // command and entrypoint
  const runCmd = cmd.length > 0 ? cmd : null;
  let entrypoint: string[] | null = null;
  const ep = f.str('entrypoint');
  if (ep !== undefined && ep !== '') entrypoint = [ep];
  else if (f.changed('entrypoint')) entrypoint = [''];

  const envVars = readEnv(f.list('env-file'), f.list('env'), env);
  const labels = readLabels(f.list('label-file'), f.list('label'));

  const hostname = f.str('hostname') ?? '';
  if (hostname.length > 64) throw new InvalidArgument(`invalid hostname format: ${hostname}`);

  // healthcheck
  const healthCmd = f.str('health-cmd') ?? '';
  const interval = durationFlag(f, 'health-interval', command);
  const timeout = durationFlag(f, 'health-timeout', command);
  const startPeriod = durationFlag(f, 'health-start-period', command);
  const startInterval = durationFlag(f, 'health-start-interval', command);
  const retries = f.int('health-retries') ?? 0;
  const haveHealth = healthCmd !== '' || interval !== 0 || timeout !== 0 || startPeriod !== 0 || retries !== 0 || startInterval !== 0;
  let healthcheck: Record<string, unknown> | undefined;
  if (f.bool('no-healthcheck')) {
    if (haveHealth) throw new InvalidArgument('--no-healthcheck conflicts with --health-* options');
    healthcheck = { Test: ['NONE'] };
  } else if (haveHealth) {
    if (interval < 0) throw new InvalidArgument('--health-interval cannot be negative');
    if (timeout < 0) throw new InvalidArgument('--health-timeout cannot be negative');
    if (retries < 0) throw new InvalidArgument('--health-retries cannot be negative');
    if (startPeriod < 0) throw new InvalidArgument('--health-start-period cannot be negative');
    if (startInterval < 0) throw new InvalidArgument('--health-start-interval cannot be negative');
    healthcheck = {};
    if (healthCmd !== '') healthcheck.Test = ['CMD-SHELL', healthCmd];
    if (interval) healthcheck.Interval = interval;
    if (timeout) healthcheck.Timeout = timeout;
    if (startPeriod) healthcheck.StartPeriod = startPeriod;
    if (startInterval) healthcheck.StartInterval = startInterval;
    if (retries) healthcheck.Retries = retries;
  }
  const onFailure = f.str('health-on-failure');
  if (onFailure !== undefined && !['none', 'kill', 'restart', 'stop'].includes(onFailure)) {
    throw new InvalidArgument(`invalid value for --health-on-failure: ${onFailure} (use none, kill, restart or stop)`);
  }

  // restart policy
  let restart: { Name: string; MaximumRetryCount: number };
  try {
    restart = parseRestartPolicy(f.str('restart') ?? 'no');
  } catch (e) {
    // As docker's run says it: the parser's own words.
    throw new InvalidArgument(errorMessage(e));
  }
  const autoRemove = f.bool('rm');
  if (autoRemove && !['', 'no'].includes(restart.Name)) throw new InvalidArgument('conflicting options: cannot specify both --restart and --rm');

  // logging
  const logDriver = f.str('log-driver') ?? '';
  const logOpts = kvToMap(f.list('log-opt'));
  if (logDriver === 'none' && f.list('log-opt').length > 0) throw new InvalidArgument(`invalid logging opts for driver ${logDriver}`);

  // network
  const network = f.str('network') ?? f.str('net') ?? 'default';
  const endpoints: Record<string, unknown> = {};
  const aliases = f.list('network-alias');
  const ip = f.str('ip') ?? '';
  if (ip !== '' && isIP(ip) !== 4) throw new UsageError(`invalid argument "${ip}" for "--ip" flag: invalid string being converted to IP address: ${ip}`, command);
  if (!NETWORK_MODES.has(network) && !network.startsWith('container:')) {
    endpoints[network] = { ...(aliases.length > 0 ? { Aliases: aliases } : {}), ...(ip !== '' ? { IPAMConfig: { IPv4Address: ip } } : {}) };
  } else if (aliases.length > 0) {
    throw new InvalidArgument('network-scoped aliases are only supported for user-defined networks');
  } else if (ip !== '') {
    throw new InvalidArgument('user specified IP address is supported on user defined networks only');
  }
  // --mac-address goes with the network's endpoint, as the docker CLI sends it from API 1.44
  // (the daemon refuses it for host, none and another container's network).
  const mac = f.str('mac-address') ?? '';
  if (mac !== '') {
    if (!/^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}$/.test(mac)) throw new InvalidArgument(`${mac} is not a valid mac address`);
    endpoints[network] = { ...(endpoints[network] as object | undefined), MacAddress: mac };
  }

  // opts.ValidateIPAddress, as the docker CLI checks --dns
  for (const d of f.list('dns')) {
    if (isIP(d.trim()) === 0) throw new UsageError(`invalid argument "${d}" for "--dns" flag: IP address is not correctly formatted: ${d}`, command);
  }

  // resources
  let nanoCpus = 0;
  const cpus = f.str('cpus');
  if (cpus !== undefined && cpus !== '') {
    try {
      nanoCpus = parseNanoCpus(cpus);
    } catch (e) {
      throw flagError('--cpus', cpus, e, command);
    }
  }
  const swappiness = f.int('memory-swappiness') ?? -1;
  if (swappiness !== -1 && (swappiness < 0 || swappiness > 100)) throw new InvalidArgument(`invalid value: ${swappiness}. Valid memory swappiness range is 0-100`);
  const oomScoreAdj = f.int('oom-score-adj') ?? 0;
  if (oomScoreAdj < -1000 || oomScoreAdj > 1000) throw new InvalidArgument(`--oom-score-adj should be in range [-1000, 1000]`);

  const tmpfs: Record<string, string> = {};
  for (const t of f.list('tmpfs')) {
    const colon = t.indexOf(':');
    tmpfs[colon >= 0 ? t.slice(0, colon) : t] = colon >= 0 ? t.slice(colon + 1) : '';
  }
  const sysctls = kvToMap(f.list('sysctl'));
  // `systempaths=unconfined` is sent as empty masked and read-only path lists, as the docker CLI does.
  const unmasked = f.list('security-opt').includes('systempaths=unconfined');
  const securityOpt = f.list('security-opt').filter((opt) => opt !== 'systempaths=unconfined').map((opt) => {
    const eq = opt.indexOf('=');
    if (eq >= 0 && opt.slice(0, eq) === 'seccomp') {
      const file = opt.slice(eq + 1);
      if (file === 'unconfined' || file === 'builtin') return opt;
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (e) {
        throw new InvalidArgument(`opening seccomp profile (${file}) failed: ${(e as Error).message}`);
      }
      try {
        return `seccomp=${JSON.stringify(parseJsonText(text))}`;
      } catch (e) {
        throw new InvalidArgument(`seccomp profile ${file}: ${(e as Error).message}`);
      }
    }
    return opt;
  });
  const pull = f.str('pull') ?? 'missing';
  if (!['always', 'missing', 'never'].includes(pull)) throw new InvalidArgument(`invalid pull option: '${pull}': must be one of "always", "missing" or "never"`);

  const config: Record<string, unknown> = {
    Hostname: hostname,
    Domainname: f.str('domainname') ?? '',
    User: f.str('user') ?? '',
    AttachStdin: attachStdin,
    AttachStdout: attachStdout,
    AttachStderr: attachStderr,
  };
  if (Object.keys(exposed).length > 0) config.ExposedPorts = exposed;
  Object.assign(config, {
    Tty: f.bool('tty'),
    OpenStdin: stdin,
    StdinOnce: detach ? false : stdinOnce,
    Env: envVars,
    Cmd: runCmd,
  });
  if (healthcheck) config.Healthcheck = healthcheck;
  Object.assign(config, {
    Image: image,
    Volumes: volumes,
    WorkingDir: f.str('workdir') ?? '',
    Entrypoint: entrypoint,
    OnBuild: null,
    Labels: labels,
  });
  if (f.str('stop-signal')) config.StopSignal = f.str('stop-signal');
  if (f.changed('stop-timeout')) config.StopTimeout = f.int('stop-timeout');

  const hostConfig: Record<string, unknown> = {
    Binds: binds.length > 0 ? binds : null,
    ContainerIDFile: f.str('cidfile') ?? '',
    LogConfig: { Type: logDriver, Config: logOpts },
    NetworkMode: network,
    PortBindings: bindings,
    RestartPolicy: restart,
    AutoRemove: autoRemove,
    VolumeDriver: f.str('volume-driver') ?? '',
    VolumesFrom: nullIfEmpty(f.list('volumes-from')),
    ConsoleSize: o.consoleSize ?? [0, 0],
    CapAdd: nullIfEmpty(f.list('cap-add')),
    CapDrop: nullIfEmpty(f.list('cap-drop')),
    CgroupnsMode: f.str('cgroupns') ?? '',
    Dns: f.list('dns').map((d) => d.trim()),
    DnsOptions: f.list('dns-option'),
    DnsSearch: f.list('dns-search'),
    ExtraHosts: nullIfEmpty(f.list('add-host').map(normaliseExtraHost)),
    GroupAdd: nullIfEmpty(f.list('group-add')),
    IpcMode: f.str('ipc') ?? '',
    Cgroup: '',
    Links: null,
    OomScoreAdj: oomScoreAdj,
    PidMode: f.str('pid') ?? '',
    Privileged: f.bool('privileged'),
    PublishAllPorts: f.bool('publish-all'),
    ReadonlyRootfs: f.bool('read-only'),
    SecurityOpt: nullIfEmpty(securityOpt),
    ...(unmasked ? { MaskedPaths: [], ReadonlyPaths: [] } : {}),
  };
  if (Object.keys(tmpfs).length > 0) hostConfig.Tmpfs = tmpfs;
  Object.assign(hostConfig, {
    UTSMode: f.str('uts') ?? '',
    UsernsMode: f.str('userns') ?? '',
    ShmSize: bytesFlag(f, 'shm-size', '--shm-size', command),
  });
  if (Object.keys(sysctls).length > 0) hostConfig.Sysctls = sysctls;
  if (f.str('runtime')) hostConfig.Runtime = f.str('runtime');
  if (f.str('isolation')) hostConfig.Isolation = f.str('isolation');
  if (f.list('link').length > 0) hostConfig.Links = f.list('link');
  if (f.list('storage-opt').length > 0) hostConfig.StorageOpt = kvToMap(f.list('storage-opt'));
  if (f.list('annotation').length > 0) hostConfig.Annotations = kvToMap(f.list('annotation'));
  Object.assign(hostConfig, {
    CpuShares: f.int('cpu-shares') ?? 0,
    Memory: bytesFlag(f, 'memory', '-m, --memory', command),
    NanoCpus: nanoCpus,
    CgroupParent: f.str('cgroup-parent') ?? '',
    CpuPeriod: f.int('cpu-period') ?? 0,
    CpuQuota: f.int('cpu-quota') ?? 0,
    CpusetCpus: f.str('cpuset-cpus') ?? '',
    CpusetMems: f.str('cpuset-mems') ?? '',
    Devices: nullIfEmpty(f.list('device').map(parseDevice)),
    DeviceCgroupRules: nullIfEmpty(f.list('device-cgroup-rule').map(checkDeviceCgroupRule)),
    BlkioWeight: blkioWeight(f.int('blkio-weight') ?? 0),
    BlkioWeightDevice: nullIfEmpty(f.list('blkio-weight-device').map((v) => {
      const t = throttle(v, '--blkio-weight-device', false);
      return { Path: t.Path, Weight: blkioWeight(t.Rate) };
    })),
    BlkioDeviceReadBps: nullIfEmpty(f.list('device-read-bps').map((v) => throttle(v, '--device-read-bps', true))),
    BlkioDeviceWriteBps: nullIfEmpty(f.list('device-write-bps').map((v) => throttle(v, '--device-write-bps', true))),
    BlkioDeviceReadIOps: nullIfEmpty(f.list('device-read-iops').map((v) => throttle(v, '--device-read-iops', false))),
    BlkioDeviceWriteIOps: nullIfEmpty(f.list('device-write-iops').map((v) => throttle(v, '--device-write-iops', false))),
    CpuRealtimePeriod: f.int('cpu-rt-period') ?? 0,
    CpuRealtimeRuntime: f.int('cpu-rt-runtime') ?? 0,
    MemoryReservation: bytesFlag(f, 'memory-reservation', '--memory-reservation', command),
    KernelMemory: bytesFlag(f, 'kernel-memory', '--kernel-memory', command),
    MemorySwap: bytesFlag(f, 'memory-swap', '--memory-swap', command),
    MemorySwappiness: swappiness === -1 ? null : swappiness,
    OomKillDisable: f.bool('oom-kill-disable'),
    PidsLimit: f.changed('pids-limit') ? f.int('pids-limit') : null,
    Ulimits: nullIfEmpty(f.list('ulimit').map(parseUlimit)),
  });
  const mounts = f.list('mount').map(parseMount);
  if (mounts.length > 0) hostConfig.Mounts = mounts;
  if (f.changed('init')) hostConfig.Init = f.bool('init');
  if (onFailure !== undefined) hostConfig.HealthOnFailure = onFailure;

  const spec: ContainerSpec = {
    pull: pull as ContainerSpec['pull'],
    quiet: f.bool('quiet'),
    detach,
    sigProxy: command === 'run' ? f.bool('sig-proxy') : true,
    config,
    hostConfig,
    networkingConfig: { EndpointsConfig: endpoints },
  };
  const name = f.str('name');
  if (name !== undefined && name !== '') spec.name = name;
  const platform = f.str('platform');
  if (platform !== undefined && platform !== '') spec.platform = platform;
  const keys = f.str('detach-keys');
  if (keys !== undefined && keys !== '') spec.detachKeys = keys;
  const cidfile = f.str('cidfile');
  if (cidfile !== undefined && cidfile !== '') spec.cidfile = cidfile;
  return spec;
}

function nullIfEmpty<T>(a: T[]): T[] | null {
  return a.length > 0 ? a : null;
}

/** `--add-host name=ip` and `name:ip` both become `name:ip`. */
function normaliseExtraHost(v: string): string {
  const eq = v.indexOf('=');
  const colon = v.indexOf(':');
  let name: string;
  let ip: string;
  if (eq >= 0 && (colon < 0 || eq < colon)) {
    name = v.slice(0, eq);
    ip = v.slice(eq + 1);
  } else if (colon >= 0) {
    name = v.slice(0, colon);
    ip = v.slice(colon + 1);
  } else {
    throw new InvalidArgument(`bad format for add-host: "${v}"`);
  }
  if (name === '' || ip === '') throw new InvalidArgument(`bad format for add-host: "${v}"`);
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  return `${name}:${ip}`;
}

/** `docker update`'s flags: those of `run` for the limits and the restart policy, without defaults (nothing is sent unless given). */
const UPDATE_FLAG_NAMES = new Set(['blkio-weight', 'cpu-period', 'cpu-quota', 'cpu-rt-period', 'cpu-rt-runtime', 'cpu-shares', 'cpus', 'cpuset-cpus', 'cpuset-mems', 'memory', 'memory-reservation', 'memory-swap', 'pids-limit', 'restart']);
export const UPDATE_FLAGS: readonly FlagDef[] = CONTAINER_FLAGS.filter((d) => UPDATE_FLAG_NAMES.has(d.long)).map(({ default: _none, ...d }) => d);

/** The body of `POST /containers/{id}/update` from `update`'s flags: only what was given (as the docker CLI sends it). */
export function updateBody(f: Flags): Record<string, unknown> {
  const command = 'update';
  const body: Record<string, unknown> = {};
  const cpus = f.str('cpus');
  if (cpus !== undefined && cpus !== '') {
    try {
      body.NanoCpus = parseNanoCpus(cpus);
    } catch (e) {
      throw flagError('--cpus', cpus, e, command);
    }
  }
  const ints = [['cpu-period', 'CpuPeriod'], ['cpu-quota', 'CpuQuota'], ['cpu-shares', 'CpuShares'], ['cpu-rt-period', 'CpuRealtimePeriod'], ['cpu-rt-runtime', 'CpuRealtimeRuntime'], ['blkio-weight', 'BlkioWeight']] as const;
  for (const [flag, field] of ints) {
    if (f.changed(flag)) body[field] = f.int(flag) ?? 0;
  }
  for (const [flag, field] of [['cpuset-cpus', 'CpusetCpus'], ['cpuset-mems', 'CpusetMems']] as const) {
    const v = f.str(flag);
    if (v !== undefined && v !== '') body[field] = v;
  }
  for (const [flag, field] of [['memory', 'Memory'], ['memory-reservation', 'MemoryReservation'], ['memory-swap', 'MemorySwap']] as const) {
    const v = bytesFlag(f, flag, flag === 'memory' ? '-m, --memory' : `--${flag}`, command);
    if (v !== 0) body[field] = v;
  }
  if (f.changed('pids-limit')) body.PidsLimit = f.int('pids-limit') ?? 0;
  const restart = f.str('restart');
  if (f.changed('restart') && restart !== undefined && restart !== '') {
    try {
      body.RestartPolicy = parseRestartPolicy(restart);
    } catch (e) {
      // As docker's update says it: the parser's own words, exit status 1.
      throw new StatusError(1, errorMessage(e));
    }
  }
  if (Object.keys(body).length === 0) throw new UsageError('you must provide one or more flags when using this command', command);
  return body;
}
