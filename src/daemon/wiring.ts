import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { Iptables } from '../sys/iptables.js';
import { Mounter } from '../sys/mount.js';
import { kernelRunsX32 } from '../sys/abi.js';
import { boundingCaps } from '../sys/caps.js';
import { CommandServer } from '../sys/cmdserver.js';
import { useCommandServer } from '../sys/exec.js';
import { NetOps } from '../sys/net.js';
import { EmbeddedDns, upstreamsFromResolvConf } from '../engine/network/dns.js';
import { NetworkService, daemonTag } from '../engine/network/service.js';
import { VolumeService } from '../engine/volumes/service.js';
import { OciRuntime } from '../sys/runtime.js';
import { defaultUnpackScript } from '../engine/layers/index.js';
import { Semaphore } from '../engine/util/limit.js';
import { RUNTIME_DIR } from '../sys/execroot.js';
import {
  ContainerService,
  EventBus,
  ExecService,
  ImageStore,
  LocalContentStore,
  OverlaySnapshotter,
  RegistryService,
  installHealthChecks,
  type Engine,
} from '../engine/index.js';
import type { RegistryConfig } from '../engine/registry/index.js';
import type { SeccompDefault } from './config.js';

/**
 * The composition root: the one place that builds berth's services and ties them together.
 */
export interface DaemonConfig {
  root: string;
  execRoot: string;
  runtime: string;
  version: string;
  /** Default max size of a container log before rotation, bytes. */
  logMaxSize: number;
  logMaxFiles: number;
  /** The daemon's own log (problems that concern no request). */
  log?: (msg: string) => void;
  /** Mirrors, insecure registries, transfer limits (daemon.json); Docker's defaults when absent. */
  registry?: RegistryConfig;
  /** The seccomp profile of containers that ask for none; the built-in one when absent. */
  seccomp?: SeccompDefault;
}

export async function buildEngine(cfg: DaemonConfig): Promise<Engine & { close(): Promise<void> }> {
  // Host programs (mount, ip, runc, ...) are forked by small shells, not by the daemon
  // (sys/cmdserver.ts); BERTH_FORK_COMMANDS=1 forks them from the daemon, for comparison, and
  // BERTH_TRACE_COMMANDS=1 logs each with its start time and duration.
  const trace = process.env.BERTH_TRACE_COMMANDS === '1' ? (what: string, t0: number, t1: number) => cfg.log?.(`command +${t0.toFixed(1)}ms ${(t1 - t0).toFixed(1)}ms: ${what}`) : undefined;
  const commands = process.env.BERTH_FORK_COMMANDS === '1' ? undefined : new CommandServer({ dir: join(cfg.execRoot, 'cmd'), ...(trace ? { trace } : {}) });
  useCommandServer(commands);
  const events = new EventBus();
  const content = new LocalContentStore(join(cfg.root, 'content'));
  await content.init();
  const snapshots = new OverlaySnapshotter(join(cfg.root, 'snapshots'));
  await snapshots.init();
  // Big layers of many small files are unpacked in a process of their own
  // (src/engine/layers/unpack-process.ts); BERTH_UNPACK_PROCESS=always|never overrides that,
  // for tests and benches.
  const envMode = process.env.BERTH_UNPACK_PROCESS ?? 'auto';
  const mode = envMode === 'always' || envMode === 'never' ? envMode : 'auto';
  const unpackScript = defaultUnpackScript();
  cfg.log?.(
    unpackScript !== undefined
      ? `unpack processes (${mode}): ${unpackScript}`
      : 'layers are unpacked in the daemon: unpack-main.js is not beside it',
  );
  const images = new ImageStore(
    join(cfg.root, 'image'),
    content,
    snapshots,
    (action, id, name) => events.publish('image', action, id, name !== undefined ? { name } : {}),
    // One more than the cores: a layer of many small files waits for one to end, rather than
    // be unpacked in the daemon, its slowest place.
    { script: unpackScript, mode, slots: new Semaphore(availableParallelism() + 1) },
  );
  await images.init();
  const registry = new RegistryService({ images, ...(cfg.registry ? { config: cfg.registry } : {}), userAgent: `berth/${cfg.version}` });
  const runtimeName = cfg.runtime.includes('/') ? cfg.runtime.split('/').pop() ?? 'runc' : cfg.runtime;
  const runtime = new OciRuntime({ runtime: resolveBinary(cfg.runtime), stateDir: join(cfg.execRoot, RUNTIME_DIR), conmon: resolveBinary('conmon') });
  const initPath = ['/usr/bin/tini-static', '/usr/bin/tini'].find((p) => existsSync(p));
  const allCaps = boundingCaps();
  // Asked of the kernel by a perl process, beside the rest of the start.
  const x32 = kernelRunsX32();
  // Networks and containers know each other: DNS answers and port conflicts need the containers.
  const late: { containers?: ContainerService } = {};
  const tag = daemonTag(cfg.root);
  const dns = new EmbeddedDns({
    upstreams: upstreamsFromResolvConf(await readFile('/etc/resolv.conf', 'utf8').catch(() => '')),
    source: { lookup: (net, name) => networks.lookup(net, name), reverse: (net, ip) => networks.reverse(net, ip) },
    ...(cfg.log ? { log: cfg.log } : {}),
  });
  // One mounter for all: unmounts asked for together share an umount process.
  const mounter = new Mounter();
  const networks: NetworkService = new NetworkService({
    root: join(cfg.root, 'network'),
    tag,
    // The first daemon on the machine (the default root) gets Docker-like names; isolated
    // daemons (tests) get their own bridge, named after their state directory.
    defaultBridgeName: cfg.root === '/var/lib/berth' ? 'berth0' : `berth${tag}`,
    net: new NetOps(undefined, mounter),
    iptables: new Iptables(),
    events,
    dns,
    containers: () => late.containers?.list() ?? [],
    ...(cfg.log ? { log: cfg.log } : {}),
  });
  await networks.init();
  const volumes = new VolumeService(cfg.root, mounter, events);
  await volumes.init();
  const kernelX32 = await x32;
  const containers = new ContainerService({
    paths: { root: cfg.root, execRoot: cfg.execRoot },
    images,
    snapshots,
    runtime,
    mounter,
    events,
    ...(initPath !== undefined ? { initPath } : {}),
    ...(allCaps !== undefined ? { allCaps } : {}),
    logMaxSize: cfg.logMaxSize,
    logMaxFiles: cfg.logMaxFiles,
    ...(cfg.seccomp ? { defaultSeccomp: cfg.seccomp.profile } : {}),
    ...(kernelX32 !== undefined ? { kernelX32 } : {}),
    ...(cfg.log ? { onError: cfg.log } : {}),
    network: networks,
    volumes,
  });
  late.containers = containers;
  const execs = new ExecService(containers, runtime, events);
  installHealthChecks(containers, execs, events);
  await containers.init();
  await networks.reconcile();
  const c = containers;
  const engine: Engine & { close(): Promise<void> } = {
    containers: c,
    networks,
    volumes,
    execs,
    images,
    registry,
    events,
    runtime,
    info: { root: cfg.root, execRoot: cfg.execRoot, runtimeName, seccompProfile: cfg.seccomp?.name ?? 'builtin', version: cfg.version, startedAt: new Date().toISOString(), pid: process.pid },
    gc: () => images.gc(c.chainsInUse()),
    close: async () => {
      await c.close();
      await networks.close();
      // Nothing runs that needs them: bridges and rules go (the next start makes them again),
      // so a stopped berth leaves the host's network as it found it.
      if (!c.list().some((r) => r.state.Running || r.state.Restarting)) {
        await networks.teardownHost().catch((e: unknown) => cfg.log?.(`network clean-up: ${e instanceof Error ? e.message : String(e)}`));
      }
      useCommandServer(undefined);
      commands?.close();
    },
  };
  return engine;
}

function resolveBinary(name: string): string {
  if (name.includes('/')) return name;
  for (const dir of (process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  for (const dir of ['/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return name;
}
