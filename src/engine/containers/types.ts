import type { HealthConfig } from '../../core/oci.js';

/** Docker's container `Config`, as the Engine API carries it. */
export interface ContainerConfig {
  Hostname?: string;
  Domainname?: string;
  User?: string;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  ExposedPorts?: Record<string, object> | null;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  Env?: string[] | null;
  Cmd?: string[] | string | null;
  Healthcheck?: HealthConfig | null;
  ArgsEscaped?: boolean;
  Image?: string;
  Volumes?: Record<string, object> | null;
  WorkingDir?: string;
  Entrypoint?: string[] | string | null;
  NetworkDisabled?: boolean;
  MacAddress?: string;
  OnBuild?: string[] | null;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  StopTimeout?: number | null;
  Shell?: string[] | null;
}

export interface RestartPolicy {
  Name?: '' | 'no' | 'always' | 'unless-stopped' | 'on-failure';
  MaximumRetryCount?: number;
}

export interface LogConfig {
  Type?: string;
  Config?: Record<string, string>;
}

/** Docker's `HostConfig` (the fields berth acts on; the rest is kept and echoed back). */
export interface HostConfig {
  Binds?: string[] | null;
  LogConfig?: LogConfig;
  NetworkMode?: string;
  PortBindings?: Record<string, { HostIp?: string; HostPort?: string }[] | null> | null;
  PublishAllPorts?: boolean;
  RestartPolicy?: RestartPolicy;
  AutoRemove?: boolean;
  VolumesFrom?: string[] | null;
  CapAdd?: string[] | null;
  /** `--group-add`: supplementary groups, by name (the image's /etc/group) or number. */
  GroupAdd?: string[] | null;
  CapDrop?: string[] | null;
  Dns?: string[] | null;
  DnsOptions?: string[] | null;
  DnsSearch?: string[] | null;
  ExtraHosts?: string[] | null;
  Privileged?: boolean;
  ReadonlyRootfs?: boolean;
  SecurityOpt?: string[] | null;
  /** Paths masked in the container; filled with the defaults at create unless privileged. */
  MaskedPaths?: string[] | null;
  ReadonlyPaths?: string[] | null;
  Tmpfs?: Record<string, string> | null;
  ShmSize?: number;
  Init?: boolean | null;
  Memory?: number;
  MemorySwap?: number;
  MemoryReservation?: number;
  NanoCpus?: number;
  CpuShares?: number;
  CpuPeriod?: number;
  CpuQuota?: number;
  CpusetCpus?: string;
  PidsLimit?: number | null;
  OomKillDisable?: boolean | null;
  Ulimits?: { Name: string; Soft: number; Hard: number }[] | null;
  Sysctls?: Record<string, string> | null;
  /** `--device`: host devices (a node, or a directory of them) made in the container. */
  Devices?: DeviceMapping[] | null;
  /** `--device-cgroup-rule`: `c 10:229 rwm`, `b *:* m`, `a`. */
  DeviceCgroupRules?: string[] | null;
  CpusetMems?: string;
  OomScoreAdj?: number;
  /** `--pid`: '' (its own), `host`, `container:<x>`. */
  PidMode?: string;
  /** `--ipc`: `private` (default), `shareable`, `host`, `none`, `container:<x>`. */
  IpcMode?: string;
  /** `--uts`: '' (its own), `host`. */
  UTSMode?: string;
  /** `--cgroupns`: `host` (default on cgroup v1), `private`. */
  CgroupnsMode?: string;
  /** `--userns`: '' or `host` (berth maps no user ids). */
  UsernsMode?: string;
  /** `--cgroup-parent`: the cgroup the container's goes under (berth's `/berth` otherwise). */
  CgroupParent?: string;
  MemorySwappiness?: number | null;
  /** Deprecated by Docker, ignored with a warning. */
  KernelMemory?: number;
  BlkioWeight?: number;
  BlkioWeightDevice?: { Path: string; Weight: number }[] | null;
  /** `--gpus`: berth has no device drivers to hand GPUs over with (refused). */
  DeviceRequests?: { Driver?: string; Capabilities?: string[][] | null }[] | null;
  BlkioDeviceReadBps?: ThrottleDevice[] | null;
  BlkioDeviceWriteBps?: ThrottleDevice[] | null;
  BlkioDeviceReadIOps?: ThrottleDevice[] | null;
  BlkioDeviceWriteIOps?: ThrottleDevice[] | null;
  CpuRealtimePeriod?: number;
  CpuRealtimeRuntime?: number;
  /** OCI annotations for the runtime (`--annotation`). */
  Annotations?: Record<string, string> | null;
  /** '' or the daemon's runtime (`runc`). */
  Runtime?: string;
  /** '' or `default` on Linux. */
  Isolation?: string;
  /** Per-container size limits: not with berth's overlay store. */
  StorageOpt?: Record<string, string> | null;
  /** '' or `local`. */
  VolumeDriver?: string;
  /** `--link db:alias`, kept as `/db:/<name>/alias`. */
  Links?: string[] | null;
  Mounts?: unknown[] | null;
  /** berth: what to do when the container turns unhealthy (none, kill, restart, stop), as Podman does. */
  HealthOnFailure?: 'none' | 'kill' | 'restart' | 'stop';
  [key: string]: unknown;
}

export type Status = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface HealthLogEntry {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

export interface Health {
  Status: 'starting' | 'healthy' | 'unhealthy' | 'none';
  FailingStreak: number;
  Log: HealthLogEntry[];
}

export interface ContainerState {
  Status: Status;
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  Health?: Health;
}

/** What berth stores for each container (`containers/<id>/container.json`). */
export interface ContainerRecord {
  id: string;
  name: string;
  created: string;
  image: string;
  imageName: string;
  path: string;
  args: string[];
  config: ContainerConfig;
  hostConfig: HostConfig;
  state: ContainerState;
  restartCount: number;
  /** Set by an explicit stop, so `unless-stopped` and `always` leave the container alone. */
  manuallyStopped: boolean;
  hasBeenStarted: boolean;
  /** Chain ID of the image's top layer: the lower dirs of this container's root. */
  topChain?: string;
  /** Volumes, binds and tmpfs mounts, resolved at create (Docker's `Mounts` in inspect). */
  mounts?: MountPoint[];
  /** Networks the container belongs to, by name, as `NetworkingConfig.EndpointsConfig` gives them. */
  endpointsConfig?: Record<string, EndpointConfig>;
  /** Addresses and ports of the current (or last) run. */
  network?: NetworkState;
}

/** What a container asks of one network (`--network-alias`, `--ip`). */
export interface EndpointConfig {
  Aliases?: string[] | null;
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string } | null;
  Links?: string[] | null;
  MacAddress?: string;
  DriverOpts?: Record<string, string> | null;
}

/** One network attachment while the container runs (Docker's `EndpointSettings`). */
export interface Endpoint {
  NetworkID: string;
  EndpointID: string;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  MacAddress: string;
  Aliases: string[];
  DNSNames: string[];
  /** Host end of the veth pair. */
  hostIf: string;
  /** Interface name inside the container. */
  ifName: string;
}

export interface PortBinding {
  HostIp: string;
  HostPort: string;
}

export interface NetworkState {
  /** Named network namespace (bridge and none modes run in one berth made). */
  netns?: string;
  /** Endpoints by network name. */
  endpoints: Record<string, Endpoint>;
  /** Published ports: `80/tcp` → host bindings (host ports resolved). */
  ports: Record<string, PortBinding[] | null>;
}

export const ZERO_TIME = '0001-01-01T00:00:00Z';

export function emptyState(): ContainerState {
  return {
    Status: 'created',
    Running: false,
    Paused: false,
    Restarting: false,
    OOMKilled: false,
    Dead: false,
    Pid: 0,
    ExitCode: 0,
    Error: '',
    StartedAt: ZERO_TIME,
    FinishedAt: ZERO_TIME,
  };
}

/** One mount of a container, in Docker's inspect shape plus what berth needs. */
export interface MountPoint {
  Type: 'bind' | 'volume' | 'tmpfs';
  /** Volume name (volumes only). */
  Name?: string;
  /** Host path of the data: the bind source or the volume's data dir ('' for tmpfs). */
  Source: string;
  /** Path inside the container. */
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
  /** berth: tmpfs options (size, mode). */
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
  /** berth: `--tmpfs` options as given (`size=64m,mode=1777`). */
  tmpfsData?: string;
  /** berth: an anonymous volume, removed with the container by `rm -v` and `--rm`. */
  Anonymous?: boolean;
  /** berth: fill a new, empty volume with the image's content at this path first (Docker's copy-up). */
  CopyUp?: boolean;
}

/** The body of `POST /containers/{id}/update` (Docker's `UpdateConfig`): resources and the restart policy. */
export type ContainerUpdate = Pick<
  HostConfig,
  'Memory' | 'MemorySwap' | 'MemoryReservation' | 'NanoCpus' | 'CpuShares' | 'CpuPeriod' | 'CpuQuota' | 'CpusetCpus' | 'CpusetMems' | 'CpuRealtimePeriod' | 'CpuRealtimeRuntime' | 'BlkioWeight' | 'PidsLimit'
> & {
  RestartPolicy?: Partial<RestartPolicy> | null;
};

/** One `--device-read-bps /dev/sda:1mb` as the API sends it. */
export interface ThrottleDevice {
  Path: string;
  Rate: number;
}

/** One `--device` as the API sends it. */
export interface DeviceMapping {
  PathOnHost: string;
  PathInContainer?: string;
  CgroupPermissions?: string;
}
