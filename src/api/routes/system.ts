import { cpus, hostname, totalmem } from 'node:os';
import { InvalidArgument } from '../../core/errors.js';
import type { EngineEvent } from '../../engine/index.js';
import { filtersQuery, sendJson, type Ctx, type Handler } from '../context.js';

type Route = [method: string, path: string, handler: Handler];

export const API_VERSION = '1.44';
export const MIN_API_VERSION = '1.24';

export const systemRoutes: readonly Route[] = [
  ['GET', '/_ping', ping],
  ['HEAD', '/_ping', ping],
  ['GET', '/version', version],
  ['GET', '/info', info],
  ['GET', '/events', events],
];

async function ping(ctx: Ctx): Promise<void> {
  const res = ctx.res;
  if (!res) return;
  res.writeHead(200, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Api-Version': API_VERSION,
    'Builder-Version': '1',
    'Docker-Experimental': 'false',
    'Ostype': 'linux',
    'Cache-Control': 'no-cache, no-store, must-revalidate',
    Pragma: 'no-cache',
  });
  res.end(ctx.req.method === 'HEAD' ? undefined : 'OK');
}

async function version(ctx: Ctx): Promise<void> {
  const v = ctx.engine.info.version;
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const { release } = await import('node:os');
  sendJson(ctx, 200, {
    Platform: { Name: 'berth' },
    Components: [{ Name: 'Engine', Version: v, Details: { ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, Os: 'linux', Arch: arch, KernelVersion: release() } }],
    Version: v,
    ApiVersion: API_VERSION,
    MinAPIVersion: MIN_API_VERSION,
    GitCommit: '',
    GoVersion: `node${process.versions.node}`,
    Os: 'linux',
    Arch: arch,
    KernelVersion: release(),
    BuildTime: '',
  });
}

async function info(ctx: Ctx): Promise<void> {
  const e = ctx.engine;
  const recs = e.containers.list();
  const { release } = await import('node:os');
  sendJson(ctx, 200, {
    ID: e.info.root,
    Containers: recs.length,
    ContainersRunning: recs.filter((r) => r.state.Running && !r.state.Paused).length,
    ContainersPaused: recs.filter((r) => r.state.Paused).length,
    ContainersStopped: recs.filter((r) => !r.state.Running).length,
    Images: e.images.list().length,
    Driver: 'overlay2',
    DriverStatus: [['Backing Filesystem', 'extfs']],
    Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'null'], Authorization: null, Log: ['json-file'] },
    MemoryLimit: true,
    SwapLimit: false,
    CpuCfsPeriod: true,
    CpuCfsQuota: true,
    PidsLimit: true,
    IPv4Forwarding: true,
    Debug: false,
    NFd: 0,
    NGoroutines: 0,
    SystemTime: new Date().toISOString(),
    LoggingDriver: 'json-file',
    CgroupDriver: 'cgroupfs',
    CgroupVersion: (await import('node:fs')).existsSync('/sys/fs/cgroup/cgroup.controllers') ? '2' : '1',
    NEventsListener: 0,
    KernelVersion: release(),
    OperatingSystem: 'berth',
    OSType: 'linux',
    Architecture: process.arch === 'x64' ? 'x86_64' : process.arch,
    NCPU: cpus().length,
    MemTotal: totalmem(),
    IndexServerAddress: 'https://index.docker.io/v1/',
    RegistryConfig: e.registry.info(),
    DockerRootDir: e.info.root,
    Name: hostname(),
    Labels: [],
    ExperimentalBuild: false,
    ServerVersion: e.info.version,
    Runtimes: { [e.info.runtimeName]: { path: e.runtime.config.runtime } },
    DefaultRuntime: e.info.runtimeName,
    Swarm: { LocalNodeState: 'inactive', NodeID: '', NodeAddr: '', ControlAvailable: false, Error: '', RemoteManagers: null },
    LiveRestoreEnabled: true,
    Isolation: '',
    InitBinary: 'docker-init',
    // What containers that ask for no profile run under (berth daemon --seccomp-profile).
    SecurityOptions: [`name=seccomp,profile=${e.info.seccompProfile}`],
    Warnings: [],
  });
}

/** Docker's `/events` filter keys mapped to event fields. */
const EVENT_FILTERS: Readonly<Record<string, (e: EngineEvent, v: string) => boolean>> = Object.freeze({
  type: (e, v) => e.Type === v,
  event: (e, v) => e.Action === v || e.Action.startsWith(`${v}:`),
  action: (e, v) => e.Action === v || e.Action.startsWith(`${v}:`),
  container: (e, v) => e.Type === 'container' && (e.Actor.ID.startsWith(v) || e.Actor.Attributes.name === v),
  image: (e, v) => e.Actor.Attributes.image === v || (e.Type === 'image' && (e.Actor.ID === v || e.Actor.Attributes.name === v)),
  label: (e, v) => {
    const i = v.indexOf('=');
    return i < 0 ? v in e.Actor.Attributes : e.Actor.Attributes[v.slice(0, i)] === v.slice(i + 1);
  },
  network: (e, v) => e.Type === 'network' && (e.Actor.ID.startsWith(v) || e.Actor.Attributes.name === v),
  volume: (e, v) => e.Type === 'volume' && (e.Actor.ID === v || e.Actor.Attributes.name === v),
  daemon: (e) => e.Type === 'daemon',
  // One daemon, no swarm: every event is local.
  scope: (_e, v) => v === 'local',
});

function parseEventTime(v: string | null): number | undefined {
  if (v === null || v === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1e9);
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t * 1e6;
}

async function events(ctx: Ctx): Promise<void> {
  const res = ctx.res;
  if (!res) return;
  const filters = filtersQuery(ctx.query);
  for (const key of filters.keys()) if (EVENT_FILTERS[key] === undefined) throw new InvalidArgument(`invalid filter '${key}'`);
  const since = parseEventTime(ctx.query.get('since'));
  const until = parseEventTime(ctx.query.get('until'));
  const match = (e: EngineEvent) => [...filters].every(([k, vs]) => vs.some((v) => EVENT_FILTERS[k]?.(e, v) === true));
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.flushHeaders();
  const send = (e: EngineEvent) => {
    if (match(e)) res.write(`${JSON.stringify(e)}\n`);
  };
  if (since !== undefined) for (const e of ctx.engine.events.since(since)) if (until === undefined || e.timeNano <= until) send(e);
  if (until !== undefined && until <= Date.now() * 1e6) {
    res.end();
    return;
  }
  await new Promise<void>((resolve) => {
    const off = ctx.engine.events.subscribe(send);
    const stop = () => {
      off();
      resolve();
    };
    res.on('close', stop);
    if (until !== undefined) setTimeout(stop, until / 1e6 - Date.now());
  });
  res.end();
}
