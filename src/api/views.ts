import type { ImageConfig } from '../core/oci.js';
import { familiarName } from '../core/reference.js';
import { humanDuration } from '../core/units.js';
import { keepsLogs, type ContainerRecord, type Engine, type ImageRecord } from '../engine/index.js';
import type { SummaryView } from './container-filters.js';

/**
 * Engine records rendered in the Engine API's JSON shapes (what `docker inspect`,
 * `docker ps` and `docker images` read). Pure functions of the records.
 */
export function containerInspect(engine: Engine, r: ContainerRecord, graphDriverData: Record<string, string> | null = null): Record<string, unknown> {
  const dir = engine.containers.etcDir(r.id);
  return {
    Id: r.id,
    Created: r.created,
    Path: r.path,
    Args: r.args,
    State: r.state,
    Image: r.image,
    ResolvConfPath: `${dir}/resolv.conf`,
    HostnamePath: `${dir}/hostname`,
    HostsPath: `${dir}/hosts`,
    LogPath: keepsLogs(r) ? engine.containers.logPath(r.id) : '',
    Name: r.name,
    RestartCount: r.restartCount,
    Driver: 'overlay2',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: engine.execs.idsFor(r.id).length > 0 ? engine.execs.idsFor(r.id) : null,
    // The runtime the daemon runs it with, as Docker fills it at create (`runc`); no pids limit asked for is null.
    HostConfig: { ...r.hostConfig, Runtime: r.hostConfig.Runtime || engine.info.runtimeName, PidsLimit: r.hostConfig.PidsLimit ?? null },
    GraphDriver: { Name: 'overlay2', Data: graphDriverData },
    Mounts: mountViews(r),
    Config: {
      ...r.config,
      AttachStdin: r.config.AttachStdin ?? false,
      AttachStdout: r.config.AttachStdout ?? false,
      AttachStderr: r.config.AttachStderr ?? false,
      Tty: r.config.Tty ?? false,
      OpenStdin: r.config.OpenStdin ?? false,
      StdinOnce: r.config.StdinOnce ?? false,
      Image: r.imageName,
      // Go's omitempty: no key for no ports (`{{json .Config.ExposedPorts}}` is null, as with Docker).
      ExposedPorts: r.config.ExposedPorts && Object.keys(r.config.ExposedPorts).length > 0 ? r.config.ExposedPorts : undefined,
    },
    NetworkSettings: networkSettings(r),
  };
}

export function containerStatus(r: ContainerRecord, now = Date.now()): string {
  const s = r.state;
  if (s.Restarting) return `Restarting (${s.ExitCode}) ${humanDuration(now - Date.parse(s.FinishedAt))} ago`;
  if (s.Running) {
    const health = s.Health && s.Health.Status !== 'none' ? ` (${s.Health.Status === 'starting' ? 'health: starting' : s.Health.Status})` : '';
    return `Up ${humanDuration(now - Date.parse(s.StartedAt))}${s.Paused ? ' (Paused)' : health}`;
  }
  if (s.Status === 'removing') return 'Removal In Progress';
  if (s.Status === 'dead') return 'Dead';
  if (s.Status === 'created' || !r.hasBeenStarted) return 'Created';
  return `Exited (${s.ExitCode}) ${humanDuration(now - Date.parse(s.FinishedAt))} ago`;
}

export function containerSummary(r: ContainerRecord): Record<string, unknown> {
  return {
    Id: r.id,
    Names: [r.name],
    Image: r.imageName,
    ImageID: r.image,
    Command: [r.path, ...r.args].map((a) => (/\s/.test(a) ? `'${a}'` : a)).join(' '),
    Created: Math.floor(Date.parse(r.created) / 1000),
    Ports: portList(r),
    Labels: r.config.Labels ?? {},
    State: r.state.Status,
    Status: containerStatus(r),
    HostConfig: { NetworkMode: r.hostConfig.NetworkMode ?? 'default' },
    NetworkSettings: { Networks: endpointViews(r) },
    Mounts: mountViews(r),
  };
}

/** What `ps --filter publish|expose|volume|network` read of a container: its summary's ports, mounts and networks. */
export function summaryFilterView(r: ContainerRecord): SummaryView {
  return {
    Ports: portList(r),
    Mounts: (r.mounts ?? []).filter((m) => m.tmpfsData === undefined).map((m) => ({ ...(m.Name ? { Name: m.Name } : {}), Source: m.Source, Destination: m.Destination })),
    NetworkSettings: { Networks: endpointViews(r) },
  };
}

/** `docker.io/library/busybox@sha256:…` → `busybox@sha256:…`, as Docker shows RepoDigests. */
export function familiarDigestRef(full: string): string {
  const at = full.indexOf('@');
  return at < 0 ? full : `${familiarName(full.slice(0, at))}${full.slice(at)}`;
}

export function imageSummary(engine: Engine, rec: ImageRecord, config: ImageConfig): Record<string, unknown> {
  return {
    Id: rec.id,
    ParentId: rec.parent ?? '',
    RepoTags: engine.images.repoTags(rec.id),
    RepoDigests: rec.repoDigests.map(familiarDigestRef),
    Created: Math.floor(Date.parse(config.created ?? rec.created) / 1000),
    Size: rec.size,
    SharedSize: -1,
    VirtualSize: rec.size,
    Labels: config.config?.Labels ?? {},
    Containers: -1,
  };
}

export function imageInspect(engine: Engine, rec: ImageRecord, config: ImageConfig, graphDriverData: Record<string, string> | null = null): Record<string, unknown> {
  return {
    Id: rec.id,
    RepoTags: engine.images.repoTags(rec.id),
    RepoDigests: rec.repoDigests.map(familiarDigestRef),
    Parent: rec.parent ?? '',
    Comment: config.comment ?? '',
    Created: config.created ?? rec.created,
    DockerVersion: '',
    Author: config.author ?? '',
    Config: {
      Hostname: '',
      Domainname: '',
      User: '',
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      Tty: false,
      OpenStdin: false,
      StdinOnce: false,
      Env: null,
      Cmd: null,
      Image: '',
      Volumes: null,
      WorkingDir: '',
      Entrypoint: null,
      OnBuild: null,
      Labels: null,
      ...(config.config ?? {}),
    },
    Architecture: config.architecture,
    Os: config.os,
    ...(config.variant !== undefined ? { Variant: config.variant } : {}),
    Size: rec.size,
    VirtualSize: rec.size,
    GraphDriver: { Name: 'overlay2', Data: graphDriverData },
    RootFS: { Type: 'layers', Layers: config.rootfs.diff_ids },
    Metadata: { LastTagTime: rec.lastTagTime ?? '0001-01-01T00:00:00Z' },
  };
}

/** One `EndpointSettings` per network the container belongs to; addresses only while it runs. */
function endpointViews(r: ContainerRecord): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  const mode = r.hostConfig.NetworkMode ?? 'bridge';
  const names = new Set<string>(Object.keys(r.endpointsConfig ?? {}));
  if (mode === 'host' || mode === 'none') names.add(mode);
  for (const name of names) {
    const ep = r.state.Running ? r.network?.endpoints[name] : undefined;
    const cfg = r.endpointsConfig?.[name] ?? {};
    out[name] = {
      IPAMConfig: cfg.IPAMConfig ?? null,
      Links: cfg.Links ?? null,
      Aliases: ep?.Aliases ?? cfg.Aliases ?? null,
      MacAddress: ep?.MacAddress ?? '',
      DriverOpts: cfg.DriverOpts ?? null,
      NetworkID: ep?.NetworkID ?? '',
      EndpointID: ep?.EndpointID ?? '',
      Gateway: ep?.Gateway ?? '',
      IPAddress: ep?.IPAddress ?? '',
      IPPrefixLen: ep?.IPPrefixLen ?? 0,
      IPv6Gateway: '',
      GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0,
      DNSNames: ep?.DNSNames ?? null,
    };
  }
  return out;
}

/** Docker's `NetworkSettings`: the default bridge's address also at the top level, as Docker shows it. */
function networkSettings(r: ContainerRecord): Record<string, unknown> {
  const running = r.state.Running;
  const bridgeEp = running ? r.network?.endpoints['bridge'] : undefined;
  // A container's ports exist while it runs (Docker: {} before its start and after its end).
  const ports: Record<string, unknown> = {};
  if (running) {
    for (const p of Object.keys(r.config.ExposedPorts ?? {})) ports[p.includes('/') ? p : `${p}/tcp`] = null;
    Object.assign(ports, r.network?.ports ?? {});
  }
  return {
    Bridge: '',
    SandboxID: running && r.network?.netns ? r.id : '',
    SandboxKey: running && r.network?.netns ? `/run/netns/${r.network.netns}` : '',
    Ports: ports,
    HairpinMode: false,
    LinkLocalIPv6Address: '',
    LinkLocalIPv6PrefixLen: 0,
    SecondaryIPAddresses: null,
    SecondaryIPv6Addresses: null,
    EndpointID: bridgeEp?.EndpointID ?? '',
    Gateway: bridgeEp?.Gateway ?? '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    IPAddress: bridgeEp?.IPAddress ?? '',
    IPPrefixLen: bridgeEp?.IPPrefixLen ?? 0,
    IPv6Gateway: '',
    MacAddress: bridgeEp?.MacAddress ?? '',
    Networks: endpointViews(r),
  };
}

/** `ps`'s Ports: published bindings and exposed-only ports of a running container, as Docker lists them. */
function portList(r: ContainerRecord): { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[] {
  const out: { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[] = [];
  if (!r.state.Running) return out;
  const published = r.network?.ports ?? {};
  const keys = new Set([...Object.keys(r.config.ExposedPorts ?? {}).map((k) => (k.includes('/') ? k : `${k}/tcp`)), ...Object.keys(published)]);
  for (const key of keys) {
    const [port, proto] = key.split('/');
    const bindings = published[key];
    if (bindings && bindings.length > 0) {
      for (const b of bindings) out.push({ IP: b.HostIp, PrivatePort: Number(port), PublicPort: Number(b.HostPort), Type: proto ?? 'tcp' });
    } else {
      out.push({ PrivatePort: Number(port), Type: proto ?? 'tcp' });
    }
  }
  return out;
}

/** `Mounts` in inspect and ps, Docker's shape; `--tmpfs` mounts are not among them (HostConfig.Tmpfs has them), as in Docker. */
function mountViews(r: ContainerRecord): Record<string, unknown>[] {
  return (r.mounts ?? []).filter((m) => m.tmpfsData === undefined).map((m) => ({
    Type: m.Type,
    ...(m.Name ? { Name: m.Name } : {}),
    Source: m.Source,
    Destination: m.Destination,
    ...(m.Driver ? { Driver: m.Driver } : {}),
    Mode: m.Mode,
    RW: m.RW,
    Propagation: m.Propagation,
  }));
}
