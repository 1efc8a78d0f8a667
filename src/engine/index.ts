/**
 * @module engine
 * The services behind the Engine API: containers (lifecycle on the OCI runtime, logs,
 * health, restart policies), exec sessions, the image store and snapshots, and events.
 * It owns no HTTP and no CLI; the API layer adapts it, the daemon wiring builds it.
 */
export { ContainerService, entrypointAndArgs, keepsLogs, mergeImageConfig, normaliseSignal, parseSize } from './containers/service.js';
export type { CreateOptions, WaitCondition } from './containers/service.js';
export { ExecService } from './containers/exec.js';
export type { ExecConfig, ExecSession } from './containers/exec.js';
export { installHealthChecks } from './containers/health.js';
export { readLog, logSize } from './containers/logs.js';
export { readJsonLog } from './containers/jsonlog.js';
export type { LogRecord } from './containers/logs.js';
export type { ContainerConfig, ContainerRecord, EndpointConfig, HostConfig } from './containers/types.js';
export { NetworkService, networkModeName } from './network/service.js';
export { VolumeService } from './volumes/service.js';
export type { VolumeRecord, CreateVolumeRequest } from './volumes/service.js';
export type { NetworkRecord, CreateNetworkRequest } from './network/service.js';
export { EventBus } from './events/bus.js';
export type { EngineEvent } from './events/bus.js';
export { ImageStore, familiarRef } from './images/store.js';
export type { ImageRecord } from './images/store.js';
export { applyChanges } from './images/changes.js';
export { LocalContentStore } from './content/store.js';
export { OverlaySnapshotter, chainIds, layerSize } from './snapshots/overlay.js';
export { RegistryService } from './registry/index.js';

import type { ContainerService } from './containers/service.js';
import type { NetworkService } from './network/service.js';
import type { VolumeService } from './volumes/service.js';
import type { ExecService } from './containers/exec.js';
import type { EventBus } from './events/bus.js';
import type { ImageStore } from './images/store.js';
import type { RegistryService } from './registry/index.js';
import type { OciRuntime } from '../sys/runtime.js';

/** Everything a request handler may reach. */
export interface Engine {
  containers: ContainerService;
  networks: NetworkService;
  volumes: VolumeService;
  execs: ExecService;
  images: ImageStore;
  /** Pull, push and login against image registries. */
  registry: RegistryService;
  events: EventBus;
  runtime: OciRuntime;
  /** seccompProfile: what containers that ask for none run under (`builtin`, `unconfined` or a file). */
  info: { root: string; execRoot: string; runtimeName: string; seccompProfile: string; version: string; startedAt: string; pid: number };
  /** Removes image data no image and no container needs. Returns bytes reclaimed. */
  gc(): Promise<number>;
}
