import type { ImageConfig } from '../core/oci.js';
import { humanDuration } from '../core/units.js';
import type { ContainerRecord, Engine, ImageRecord } from '../engine/index.js';

/**
 * Engine records rendered in the Engine API's JSON shapes (what `docker inspect`,
 * `docker ps` and `docker images` read). Pure functions of the records.
 */
export function containerInspect(engine: Engine, r: ContainerRecord): Record<string, unknown> {
  const dir = `${engine.info.root}/containers/${r.id}`;
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
    LogPath: engine.containers.logPath(r.id),
    Name: r.name,
    RestartCount: r.restartCount,
    Driver: 'overlay2',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: engine.execs.idsFor(r.id).length > 0 ? engine.execs.idsFor(r.id) : null,
    HostConfig: r.hostConfig,
    GraphDriver: {
      Name: 'overlay2',
      Data: { MergedDir: `${dir}/merged`, UpperDir: `${dir}/upper`, WorkDir: `${dir}/work` },
    },
    Mounts: [],
    Config: {
      ...r.config,
      AttachStdin: r.config.AttachStdin ?? false,
      AttachStdout: r.config.AttachStdout ?? false,
      AttachStderr: r.config.AttachStderr ?? false,
      Tty: r.config.Tty ?? false,
      OpenStdin: r.config.OpenStdin ?? false,
      StdinOnce: r.config.StdinOnce ?? false,
      Image: r.imageName,
    },
    NetworkSettings: {
      Bridge: '',
      SandboxID: '',
      SandboxKey: '',
      Ports: {},
      HairpinMode: false,
      LinkLocalIPv6Address: '',
      LinkLocalIPv6PrefixLen: 0,
      SecondaryIPAddresses: null,
      SecondaryIPv6Addresses: null,
      EndpointID: '',
      Gateway: '',
      GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0,
      IPAddress: '',
      IPPrefixLen: 0,
      IPv6Gateway: '',
      MacAddress: '',
      Networks: {},
    },
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
    Ports: [],
    Labels: r.config.Labels ?? {},
    State: r.state.Status,
    Status: containerStatus(r),
    HostConfig: { NetworkMode: r.hostConfig.NetworkMode ?? 'default' },
    NetworkSettings: { Networks: {} },
    Mounts: [],
  };
}

export function imageSummary(engine: Engine, rec: ImageRecord, config: ImageConfig): Record<string, unknown> {
  return {
    Id: rec.id,
    ParentId: rec.parent ?? '',
    RepoTags: engine.images.repoTags(rec.id),
    RepoDigests: rec.repoDigests,
    Created: Math.floor(Date.parse(config.created ?? rec.created) / 1000),
    Size: rec.size,
    SharedSize: -1,
    VirtualSize: rec.size,
    Labels: config.config?.Labels ?? {},
    Containers: -1,
  };
}

export function imageInspect(engine: Engine, rec: ImageRecord, config: ImageConfig): Record<string, unknown> {
  return {
    Id: rec.id,
    RepoTags: engine.images.repoTags(rec.id),
    RepoDigests: rec.repoDigests,
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
    GraphDriver: { Name: 'overlay2', Data: null },
    RootFS: { Type: 'layers', Layers: config.rootfs.diff_ids },
    Metadata: { LastTagTime: rec.lastTagTime ?? '0001-01-01T00:00:00Z' },
  };
}
