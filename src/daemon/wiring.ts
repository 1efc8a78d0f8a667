import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Mounter } from '../sys/mount.js';
import { OciRuntime } from '../sys/runtime.js';
import {
  ContainerService,
  EventBus,
  ExecService,
  ImageStore,
  LocalContentStore,
  OverlaySnapshotter,
  installHealthChecks,
  type Engine,
} from '../engine/index.js';

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
}

export async function buildEngine(cfg: DaemonConfig): Promise<Engine & { close(): Promise<void> }> {
  const events = new EventBus();
  const content = new LocalContentStore(join(cfg.root, 'content'));
  await content.init();
  const snapshots = new OverlaySnapshotter(join(cfg.root, 'snapshots'));
  await snapshots.init();
  const images = new ImageStore(join(cfg.root, 'image'), content, snapshots, (action, id, name) =>
    events.publish('image', action, id, name !== undefined ? { name } : {}),
  );
  await images.init();
  const runtimeName = cfg.runtime.includes('/') ? cfg.runtime.split('/').pop() ?? 'runc' : cfg.runtime;
  const runtime = new OciRuntime({ runtime: resolveBinary(cfg.runtime), stateDir: join(cfg.execRoot, 'runtime'), conmon: resolveBinary('conmon') });
  const initPath = ['/usr/bin/tini-static', '/usr/bin/tini'].find((p) => existsSync(p));
  const containers = new ContainerService({
    paths: { root: cfg.root, execRoot: cfg.execRoot },
    images,
    snapshots,
    runtime,
    mounter: new Mounter(),
    events,
    ...(initPath !== undefined ? { initPath } : {}),
    logMaxSize: cfg.logMaxSize,
    logMaxFiles: cfg.logMaxFiles,
    ...(cfg.log ? { onError: cfg.log } : {}),
  });
  const execs = new ExecService(containers, runtime, events);
  installHealthChecks(containers, execs, events);
  await containers.init();
  const engine: Engine & { close(): Promise<void> } = {
    containers,
    execs,
    images,
    events,
    runtime,
    info: { root: cfg.root, execRoot: cfg.execRoot, runtimeName, version: cfg.version, startedAt: new Date().toISOString(), pid: process.pid },
    gc: () => images.gc(containers.chainsInUse()),
    close: () => containers.close(),
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
