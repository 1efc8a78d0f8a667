import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync, statSync, watch, type FSWatcher } from 'node:fs';
import { chmod, mkdir, readFile, readdir, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { availableParallelism, hostname, release } from 'node:os';
import { basename, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { AlreadyExists, Conflict, InvalidArgument, NotFound, NotModified, errorMessage } from '../../core/errors.js';
import type { ImageConfig } from '../../core/oci.js';
import type { Mounter } from '../../sys/mount.js';
import type { OciRuntime } from '../../sys/runtime.js';
import type { EventBus } from '../events/bus.js';
import type { ImageRecord, ImageStore } from '../images/store.js';
import type { OverlaySnapshotter } from '../snapshots/overlay.js';
import { readJsonIfExists, writeJsonAtomic } from '../util/atomic.js';
import { mkdirAllInScope, readContainerFile } from './archive.js';
import { JsonLogWriter, type RotateOptions } from './jsonlog.js';
import { ContainerView } from './view.js';
import { LogShipper } from './logship.js';
import { blkioWeightSupported, devicesAt, hostCpusets, privilegedDevices, swapLimitSupported, type HostDevice } from '../../sys/devices.js';
import { netnsInterfaces, type InterfaceStats } from '../../sys/netdev.js';
import { checkCpuset, checkModes, checkResourceRanges, defaultModes, ipcMode, parseDeviceCgroupRule, pidMode, utsMode } from './modes.js';
import { goArch, parseSecurityOpts, parseSeccompProfile, resolveSeccomp, type SeccompProfile } from './seccomp.js';
import { ALL_CAPS, DEFAULT_SHM_SIZE, MASKED_PATHS, READONLY_PATHS, buildSpec, capName, type OciDevice, everyCapability, resolveUser, resourceLimits, type OciMount, type SpecInput } from './spec.js';
import type { ContainerNetSetup } from '../network/service.js';
import { copyTreeInto } from '../../sys/fs.js';
import { planMounts, tmpfsOptions, type ApiMount, type PlannedMount } from '../volumes/mounts.js';
import type { VolumeService } from '../volumes/service.js';
import { emptyState, type ContainerConfig, type ContainerRecord, type ContainerUpdate, type EndpointConfig, type HostConfig, type MountPoint } from './types.js';

/**
 * Containers: records on disk, the overlay root, and the lifecycle on the OCI runtime.
 * Each running container has a conmon monitor that writes its log and, when it ends, its
 * exit code into `exits/<id>`; the service watches that directory, so exits that happen
 * while the daemon is down are found when it comes back.
 */
export interface ContainerPaths {
  root: string;
  execRoot: string;
}

export interface CreateOptions {
  name?: string;
  config: ContainerConfig;
  hostConfig: HostConfig;
  /** `NetworkingConfig.EndpointsConfig` of the create request. */
  endpoints?: Record<string, EndpointConfig>;
}

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

interface Live {
  exited?: Promise<void>;
  resolveExit?: () => void;
  waiters: { condition: WaitCondition; resolve: (code: number) => void }[];
  healthTimer?: NodeJS.Timeout;
  restartTimer?: NodeJS.Timeout;
  /** A start under way (a `docker stop` meanwhile waits for it, then stops the container). */
  starting?: Promise<void>;
  /** A signal being sent, until its `kill` event is out: the `die` it causes waits for it (kill, then die). */
  signalling?: Promise<void>;
  stdinQueue?: PassThrough;
}

export interface ContainerServiceOptions {
  paths: ContainerPaths;
  images: ImageStore;
  snapshots: OverlaySnapshotter;
  runtime: OciRuntime;
  mounter: Mounter;
  events: EventBus;
  /** Path of a static init binary for `--init` (tini). */
  initPath?: string;
  cgroupParent?: string;
  /** The capabilities the daemon may hand on (its bounding set), for `--privileged`; all when absent. */
  allCaps?: readonly string[];
  /** The seccomp profile of containers that ask for none (`--seccomp-profile`); the built-in one when absent. */
  defaultSeccomp?: SeccompProfile | 'unconfined';
  /** False when the kernel runs no x32 system calls (sys/abi.ts): the built-in profile then leaves x32 out. */
  kernelX32?: boolean;
  /** Default json-file rotation (on by default, unlike Docker): max bytes per file. */
  logMaxSize?: number;
  /** Default json-file rotation: files kept, the current one included. */
  logMaxFiles?: number;
  onExit?: (r: ContainerRecord) => void;
  /** Problems that concern no request (log shipping): the daemon logs them. */
  onError?: (msg: string) => void;
  /** Bridge networks, published ports, DNS; without it containers get loopback only. */
  network?: ContainerNetworking;
  /** Named and anonymous volumes; without it only binds and tmpfs mounts work. */
  volumes?: VolumeService;
}

/** What the container service needs of networking (src/engine/network implements it). */
export interface ContainerNetworking {
  prepare(c: ContainerRecord, endpoints: Record<string, EndpointConfig> | undefined): void;
  setUp(c: ContainerRecord, find: (idOrName: string) => ContainerRecord): Promise<ContainerNetSetup>;
  tearDown(c: ContainerRecord): Promise<void>;
  /** What a removed container's network left on the host (its namespace), found by its id alone. */
  forget?(id: string): Promise<void>;
  /** `network connect`/`disconnect` events for the container's networks (by name). */
  publishMembership?(action: 'connect' | 'disconnect', containerId: string, networks: readonly string[]): void;
}

function fulfilled<T>(r: PromiseSettledResult<T>): T {
  if (r.status === 'rejected') throw r.reason;
  return r.value;
}

/** A container with no network of berth's: loopback only. */
const NO_NETWORK: ContainerNetSetup = { hostNetwork: false, hostsLines: [] };

/** Whether the container's network holds what another container may ask for next: a published port, an address of its choosing. */
function holdsPortsOrAddresses(rec: ContainerRecord): boolean {
  if (Object.values(rec.network?.ports ?? {}).some((bindings) => (bindings?.length ?? 0) > 0)) return true;
  return Object.values(rec.endpointsConfig ?? {}).some((e) => (e?.IPAMConfig?.IPv4Address ?? '') !== '' || (e?.IPAMConfig?.IPv6Address ?? '') !== '');
}

function tryOrUndefined<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

export class ContainerService {
  readonly records = new Map<string, ContainerRecord>();
  private readonly names = new Map<string, string>();
  private readonly live = new Map<string, Live>();
  private readonly shippers = new Map<string, LogShipper>();
  /** /etc/passwd and /etc/group of images by top layer chain, as containers read them (`knownIdFiles`). */
  private readonly idFiles = new Map<string, readonly [string, string]>();
  private exitWatcher?: FSWatcher;
  readonly dir: string;
  readonly bundles: string;
  readonly exitDir: string;
  readonly socketDir: string;
  private readonly etcDirs: string;
  /** Docker's "init layer": mount points of the files berth bind-mounts, below every upper dir. */
  readonly initDir: string;
  private readonly o: ContainerServiceOptions;

  constructor(o: ContainerServiceOptions) {
    this.o = o;
    this.dir = join(o.paths.root, 'containers');
    this.bundles = join(o.paths.execRoot, 'c');
    this.exitDir = join(o.paths.execRoot, 'exits');
    this.socketDir = join(o.paths.execRoot, 's');
    this.etcDirs = join(o.paths.execRoot, 'etc');
    this.initDir = join(o.paths.root, 'init');
  }

  // ---- state on disk -------------------------------------------------------------------

  async init(): Promise<void> {
    for (const d of [this.dir, this.bundles, this.exitDir, this.socketDir, this.etcDirs]) await mkdir(d, { recursive: true });
    await makeInitDir(this.initDir);
    for (const id of await readdir(this.dir)) {
      const rec = await readJsonIfExists<ContainerRecord>(join(this.dir, id, 'container.json'));
      if (!rec) {
        // Never finished creating, or removed while its teardown went on (a --rm container's):
        // whatever of it is still mounted or set up goes before its files.
        await this.forgetRemoved(id);
        continue;
      }
      this.records.set(rec.id, rec);
      this.names.set(rec.name, rec.id);
    }
    this.exitWatcher = watch(this.exitDir, (_ev, file) => {
      if (file) void this.checkExit(file.toString());
    });
    // Output spooled while the daemon was away goes to the json-file logs first.
    for (const rec of this.records.values()) await this.flushLog(rec);
    // Reconcile with the runtime: containers that ended while the daemon was away.
    for (const rec of this.records.values()) {
      if (rec.state.Status === 'running' || rec.state.Status === 'paused' || rec.state.Status === 'restarting') {
        const st = await this.o.runtime.state(rec.id);
        if (st && (st.status === 'running' || st.status === 'paused')) {
          this.shipperOf(rec).watch();
          this.liveOf(rec.id);
          this.armExit(rec.id);
          this.startHealth(rec);
        } else {
          await this.handleExit(rec.id, true);
        }
      }
    }
    // --rm containers that ended while the daemon was away go now (Docker removes them when it
    // starts); one whose process still runs goes when it ends.
    for (const rec of [...this.records.values()]) {
      if (rec.hostConfig.AutoRemove === true && !rec.state.Running) {
        await this.remove(rec.id, { force: true, volumes: true }).catch((e: unknown) => this.o.onError?.(`removing --rm container ${rec.id.slice(0, 12)}: ${errorMessage(e)}`));
      }
    }
    await Promise.all(this.removals);
  }

  /** Restart policies applied when the daemon comes up (Docker restarts `always` and `unless-stopped`). */
  async applyRestartPolicies(): Promise<void> {
    for (const rec of this.records.values()) {
      if (rec.state.Running) continue;
      const p = rec.hostConfig.RestartPolicy?.Name ?? 'no';
      if ((p === 'always' || (p === 'unless-stopped' && !rec.manuallyStopped)) && rec.hasBeenStarted && !rec.manuallyStopped) {
        await this.start(rec.id).catch(() => undefined);
      }
    }
  }

  /** Directories of removed containers being deleted (close() waits for them). */
  private readonly removals = new Set<Promise<void>>();

  private removeLater(dir: string, after?: Promise<void>): void {
    const p: Promise<void> = (after ?? Promise.resolve())
      .then(() => rm(dir, { recursive: true, force: true }))
      .catch((e: unknown) => this.o.onError?.(`removing ${dir}: ${errorMessage(e)}`))
      .finally(() => this.removals.delete(p));
    this.removals.add(p);
  }

  /**
   * Teardowns (runtime state, network namespace, root unmount) of ended --rm containers that
   * go on after their removal has been answered; their directories are deleted after them.
   */
  private readonly teardowns = new Map<string, Promise<void>>();

  /** Whether the kernel takes a block I/O weight: read at the first create that asks for one. */
  private blkioWeight: boolean | undefined;
  private swapLimit: boolean | undefined;

  /** A container directory without container.json, at start: its runtime state, namespace and mount, then its files. */
  private async forgetRemoved(id: string): Promise<void> {
    if (/^[a-f0-9]{64}$/.test(id)) {
      await this.o.runtime.delete(id).catch((e: unknown) => this.o.onError?.(`runtime state of removed ${id.slice(0, 12)}: ${errorMessage(e)}`));
      await this.o.network?.forget?.(id).catch((e: unknown) => this.o.onError?.(`network namespace of removed ${id.slice(0, 12)}: ${errorMessage(e)}`));
      await this.o.mounter.unmount(join(this.cdir(id), 'merged'), { ownDevice: true }).catch((e: unknown) => this.o.onError?.(`root of removed ${id.slice(0, 12)}: ${errorMessage(e)}`));
      await this.o.mounter.unmount(this.shmDir(id), { ownDevice: true }).catch((e: unknown) => this.o.onError?.(`/dev/shm of removed ${id.slice(0, 12)}: ${errorMessage(e)}`));
    }
    await rm(this.etcDir(id), { recursive: true, force: true });
    await rm(join(this.dir, id), { recursive: true, force: true });
  }

  async close(): Promise<void> {
    await Promise.all(this.teardowns.values());
    await Promise.all(this.removals);
    this.exitWatcher?.close();
    for (const s of this.shippers.values()) await s.close();
    for (const l of this.live.values()) {
      if (l.healthTimer) clearTimeout(l.healthTimer);
      if (l.restartTimer) clearTimeout(l.restartTimer);
    }
  }

  private cdir(id: string): string {
    return join(this.dir, id);
  }

  /**
   * The hostname, hosts and resolv.conf a container has bind-mounted. Written at each start,
   * so they live in the exec root (a tmpfs) rather than beside the container's record:
   * three files fewer made and deleted on the disk per container.
   */
  etcDir(id: string): string {
    return join(this.etcDirs, id);
  }

  bundle(id: string): string {
    return join(this.bundles, id.slice(0, 12));
  }

  /** The capabilities a privileged process gets (`--privileged`, `exec --privileged`). */
  privilegedCapabilities(): string[] {
    return everyCapability(this.o.allCaps);
  }

  /** The json-file log `docker logs` reads (Docker's name and format). */
  logPath(id: string): string {
    return join(this.cdir(id), `${id}-json.log`);
  }

  /** The monitor's spool: every output record, written by conmon even while the daemon is down. */
  spoolPath(id: string): string {
    return join(this.cdir(id), 'spool.log');
  }

  /** Rotation of a container's json-file log: its --log-opt values, else the daemon's defaults. */
  logRotation(rec: ContainerRecord): RotateOptions {
    return logRotation(rec.hostConfig.LogConfig?.Config ?? {}, { maxSize: this.o.logMaxSize ?? 0, maxFiles: this.o.logMaxFiles ?? 1 });
  }

  private shipperOf(rec: ContainerRecord): LogShipper {
    let s = this.shippers.get(rec.id);
    if (!s) {
      // --log-driver none: conmon still spools the output (attached clients follow the spool),
      // and the shipper drops it instead of writing a log.
      const writer = keepsLogs(rec) ? new JsonLogWriter(this.logPath(rec.id), this.logRotation(rec)) : { append: async () => undefined };
      s = new LogShipper(this.spoolPath(rec.id), join(this.cdir(rec.id), 'spool.pos'), writer, (e) => this.o.onError?.(`log shipping for ${rec.id.slice(0, 12)}: ${errorMessage(e)}`));
      this.shippers.set(rec.id, s);
    }
    return s;
  }

  /** Ships what the monitor has written so far into the json-file log. */
  async flushLog(rec: ContainerRecord): Promise<void> {
    await this.shipperOf(rec).ship().catch((e: unknown) => this.o.onError?.(`log shipping for ${rec.id.slice(0, 12)}: ${errorMessage(e)}`));
  }

  private async save(rec: ContainerRecord): Promise<void> {
    await writeJsonAtomic(join(this.cdir(rec.id), 'container.json'), rec);
  }

  private liveOf(id: string): Live {
    let l = this.live.get(id);
    if (!l) {
      l = { waiters: [] };
      this.live.set(id, l);
    }
    return l;
  }

  // ---- lookup ---------------------------------------------------------------------------

  get(idOrName: string): ContainerRecord {
    const r = this.find(idOrName);
    if (!r) throw new NotFound(`No such container: ${idOrName}`);
    return r;
  }

  find(idOrName: string): ContainerRecord | undefined {
    const exact = this.records.get(idOrName);
    if (exact) return exact;
    const byName = this.names.get(idOrName.startsWith('/') ? idOrName : `/${idOrName}`);
    if (byName) return this.records.get(byName);
    if (/^[a-f0-9]+$/.test(idOrName)) {
      const m = [...this.records.keys()].filter((k) => k.startsWith(idOrName));
      if (m.length === 1) return this.records.get(m[0] as string);
      if (m.length > 1) throw new InvalidArgument(`multiple IDs found with provided prefix: ${idOrName}`);
    }
    return undefined;
  }

  list(): ContainerRecord[] {
    return [...this.records.values()].sort((a, b) => (a.created < b.created ? 1 : -1));
  }

  /** The container using an image, if any (for `rmi`). */
  userOfImage(imageId: string): string | undefined {
    for (const r of this.records.values()) if (r.image === imageId) return r.id;
    return undefined;
  }

  // ---- create -----------------------------------------------------------------------------

  async create(o: CreateOptions): Promise<{ Id: string; Warnings: string[] }> {
    const imageName = o.config.Image ?? '';
    if (imageName === '') throw new InvalidArgument('config.Image is required');
    // A missing image is the one "not found" of a create: the docker CLI answers it by pulling
    // the image and trying again. Anything else missing (a network, a --volumes-from container)
    // is the request's fault, and must not send the CLI to a registry.
    const image = this.o.images.resolve(imageName);
    try {
      return await this.createFrom(o, image);
    } catch (e) {
      throw e instanceof NotFound ? new InvalidArgument(e.message, { cause: e }) : e;
    }
  }

  private async createFrom(o: CreateOptions, image: ImageRecord): Promise<{ Id: string; Warnings: string[] }> {
    const imageName = o.config.Image ?? '';
    const imgConfig = await this.o.images.config(image.id);
    const id = randomBytes(32).toString('hex');
    const name = o.name !== undefined && o.name !== '' ? `/${o.name.replace(/^\//, '')}` : `/${generateName((n) => this.names.has(`/${n}`))}`;
    if (!/^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(name)) {
      throw new InvalidArgument(`Invalid container name (${name.slice(1)}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    }
    const owner = this.names.get(name);
    if (owner !== undefined) {
      throw new AlreadyExists(
        `Conflict. The container name "${name}" is already in use by container "${owner}". You have to remove (or rename) that container to be able to reuse that name.`,
      );
    }
    const config = mergeImageConfig(o.config, imgConfig, id);
    const { path, args } = entrypointAndArgs(config);
    if (path === '') throw new InvalidArgument('no command specified');
    validateHostConfig(o.hostConfig);
    validateConfig(o.config);
    const hostConfig: HostConfig = { NetworkMode: 'bridge', RestartPolicy: { Name: 'no', MaximumRetryCount: 0 }, ...o.hostConfig };
    // The docker CLI sends {"Type": ""} without --log-driver: the daemon's default, json-file.
    hostConfig.LogConfig = { ...hostConfig.LogConfig, Type: hostConfig.LogConfig?.Type || 'json-file', Config: hostConfig.LogConfig?.Config ?? {} };
    defaultModes(hostConfig);
    if (!(hostConfig.ShmSize !== undefined && hostConfig.ShmSize > 0)) hostConfig.ShmSize = DEFAULT_SHM_SIZE;
    // No pids limit at create is none at all (null in inspect); an update to unlimited keeps 0, as in Docker.
    if (hostConfig.PidsLimit !== undefined && hostConfig.PidsLimit !== null && hostConfig.PidsLimit <= 0) delete hostConfig.PidsLimit;
    // Docker's default swap for a memory limit: as much again (MemorySwap, memory and swap together, twice the memory).
    if ((hostConfig.Memory ?? 0) > 0 && (hostConfig.MemorySwap ?? 0) === 0) hostConfig.MemorySwap = (hostConfig.Memory ?? 0) * 2;
    if ((hostConfig.Memory ?? 0) > 0 && (hostConfig.MemorySwap ?? 0) > 0 && (hostConfig.MemorySwap ?? 0) < (hostConfig.Memory ?? 0)) {
      throw new InvalidArgument('Minimum memoryswap limit should be larger than memory limit, see usage');
    }
    if ((hostConfig.Memory ?? 0) === 0 && (hostConfig.MemorySwap ?? 0) > 0) throw new InvalidArgument('You should always set the Memory limit when using Memoryswap limit, see usage');
    if (utsMode(hostConfig.UTSMode) === 'host') {
      if ((config.Hostname ?? '') !== '' && config.Hostname !== id.slice(0, 12)) throw new InvalidArgument('conflicting options: hostname and the UTS mode');
      // Docker lets it through to fail in runc (`sysctl "kernel.domainname" is not in a
      // separate kernel namespace`); berth says so at create, as for the hostname.
      if ((config.Domainname ?? '') !== '') throw new InvalidArgument('conflicting options: domainname and the UTS mode');
      config.Hostname = hostname();
    }
    await this.checkDevices(hostConfig);
    this.checkRuntime(hostConfig);
    const warnings = hostWarnings(hostConfig, () => (this.blkioWeight ??= blkioWeightSupported()), () => (this.swapLimit ??= swapLimitSupported()));
    if (hostConfig.Links && hostConfig.Links.length > 0) hostConfig.Links = hostConfig.Links.map((l) => this.normaliseLink(l, name));
    if (hostConfig.Privileged !== true) {
      hostConfig.MaskedPaths ??= [...MASKED_PATHS];
      hostConfig.ReadonlyPaths ??= [...READONLY_PATHS];
    }
    if (hostConfig.AutoRemove === true && (hostConfig.RestartPolicy?.Name ?? 'no') !== 'no' && hostConfig.RestartPolicy?.Name !== '') {
      throw new InvalidArgument('conflicting options: cannot specify both --restart and --rm');
    }
    const topChain = this.o.images.topChain(image);
    const rec: ContainerRecord = {
      id,
      name,
      created: new Date().toISOString(),
      image: image.id,
      imageName,
      path,
      args,
      config: { ...config, Image: imageName },
      hostConfig,
      state: emptyState(),
      restartCount: 0,
      manuallyStopped: false,
      hasBeenStarted: false,
      ...(topChain !== undefined ? { topChain } : {}),
    };
    if (hostConfig.NetworkMode === '' || hostConfig.NetworkMode === 'default') hostConfig.NetworkMode = 'bridge';
    this.o.network?.prepare(rec, o.endpoints); // unknown networks fail here, before anything is stored
    const planned = this.planMounts(rec);
    this.names.set(name, id); // reserve the name before any await
    try {
      rec.mounts = await this.materialiseMounts(rec, planned);
      const d = this.cdir(id);
      await mkdir(join(d, 'upper'), { recursive: true });
      await mkdir(join(d, 'work'), { recursive: true });
      await mkdir(join(d, 'merged'), { recursive: true });
      await this.save(rec);
    } catch (e) {
      this.names.delete(name);
      await rm(this.cdir(id), { recursive: true, force: true });
      await this.removeAnonymousVolumes(rec);
      throw e;
    }
    this.records.set(id, rec);
    this.o.events.publish('container', 'create', id, this.attrs(rec));
    return { Id: id, Warnings: warnings };
  }

  attrs(rec: ContainerRecord, extra: Record<string, string> = {}): Record<string, string> {
    return { ...(rec.config.Labels ?? {}), image: rec.imageName, name: rec.name.slice(1), ...extra };
  }

  // ---- root filesystem ------------------------------------------------------------------

  /** Mounts the container's overlay root (idempotent) and returns its path. */
  async mountRoot(rec: ContainerRecord): Promise<string> {
    const d = this.cdir(rec.id);
    const merged = join(d, 'merged');
    // An overlay has a device of its own: two stats tell whether it is mounted.
    if (!(await this.o.mounter.isMounted(merged, { ownDevice: true }))) {
      const m = await this.o.snapshots.mountFor(rec.topChain, join(d, 'upper'), join(d, 'work'), this.initDir);
      await this.o.mounter.mount(m, merged);
    }
    return merged;
  }

  /**
   * The root filesystem, and a shareable container's /dev/shm with it (both tmpfs and overlay
   * have a device of their own: the check stays synchronous, one umount for both; Mounter.unmount).
   */
  async unmountRoot(rec: ContainerRecord): Promise<void> {
    await Promise.all([
      this.o.mounter.unmount(join(this.cdir(rec.id), 'merged'), { ownDevice: true }),
      ipcMode(rec.hostConfig.IpcMode).kind === 'shareable' ? this.o.mounter.unmount(this.shmDir(rec.id), { ownDevice: true }) : undefined,
    ]);
  }

  upperDir(id: string): string {
    return join(this.cdir(id), 'upper');
  }

  /** Docker's mount rules applied to the create request (pure; nothing made yet). */
  private planMounts(rec: ContainerRecord): PlannedMount[] {
    const hc = rec.hostConfig;
    const from = (hc.VolumesFrom ?? []).map((spec) => {
      const [ref = '', mode = ''] = spec.split(':');
      if (mode !== '' && mode !== 'ro' && mode !== 'rw') throw new InvalidArgument(`invalid mode for volumes-from: ${mode}`);
      const other = this.get(ref);
      return { mounts: other.mounts ?? [], mode: mode as 'ro' | 'rw' | '' };
    });
    return planMounts({
      binds: hc.Binds ?? [],
      mounts: (hc.Mounts ?? []) as ApiMount[],
      tmpfs: hc.Tmpfs ?? {},
      volumes: Object.keys(rec.config.Volumes ?? {}),
      from,
    });
  }

  /** Creates the volumes and host directories the plan needs; returns the container's mount points. */
  private async materialiseMounts(rec: ContainerRecord, planned: PlannedMount[]): Promise<MountPoint[]> {
    const out: MountPoint[] = [];
    rec.mounts = out; // so a failure half-way removes the anonymous volumes made so far
    for (const p of planned) {
      const { volumeCreate, createSource, ...m } = p;
      if (m.Type === 'volume') {
        if (!this.o.volumes) throw new InvalidArgument('volumes are not available in this daemon');
        if (m.Driver !== undefined && m.Driver !== 'local') throw new InvalidArgument(`volume driver "${m.Driver}" is not supported: berth has the local driver`);
        const existing = m.Name ? this.o.volumes.tryGet(m.Name) : undefined;
        const v = existing ?? (await this.o.volumes.create(
          { ...(m.Name ? { Name: m.Name } : {}), ...(volumeCreate?.labels ? { Labels: volumeCreate.labels } : {}), ...(volumeCreate?.driverOpts ? { DriverOpts: volumeCreate.driverOpts } : {}) },
          { anonymous: m.Anonymous === true },
        ));
        out.push({ ...m, Name: v.Name, Source: v.Mountpoint, Driver: 'local' });
      } else if (m.Type === 'bind') {
        const exists = await stat(m.Source).then(() => true, () => false);
        if (!exists) {
          if (createSource !== true) throw new InvalidArgument(`invalid mount config for type "bind": bind source path does not exist: ${m.Source}`);
          await mkdir(m.Source, { recursive: true }); // Docker's rule for -v: a missing host directory is made
        }
        out.push(m);
      } else {
        out.push(m);
      }
    }
    return out;
  }

  /** Anonymous volumes go with their container (`rm -v`, `--rm`), unless another container uses them. */
  private async removeAnonymousVolumes(rec: ContainerRecord): Promise<void> {
    if (!this.o.volumes) return;
    for (const m of rec.mounts ?? []) {
      if (m.Type !== 'volume' || m.Anonymous !== true || !m.Name) continue;
      const users = this.volumeUsers(m.Name).filter((id) => id !== rec.id);
      if (users.length > 0) continue;
      await this.o.volumes.remove(m.Name, { force: true, inUse: () => [] }).catch(() => undefined);
    }
  }

  /** Containers that reference a volume (Docker refuses to remove it while any does). */
  volumeUsers(name: string): string[] {
    return [...this.records.values()].filter((r) => (r.mounts ?? []).some((m) => m.Type === 'volume' && m.Name === name)).map((r) => r.id);
  }

  /** OCI mounts for the container's volumes, binds and tmpfs; volumes get their copy-up first. */
  private async ociMounts(rec: ContainerRecord, rootfs: string): Promise<OciMount[]> {
    const out: OciMount[] = [];
    for (const m of rec.mounts ?? []) {
      if (m.Type === 'tmpfs') {
        out.push({ destination: m.Destination, type: 'tmpfs', source: 'tmpfs', options: tmpfsOptions(m) });
        continue;
      }
      let source = m.Source;
      if (m.Type === 'volume' && m.Name && this.o.volumes) {
        source = await this.o.volumes.acquire(m.Name, rec.id);
        if (m.CopyUp === true && (await this.o.volumes.isEmpty(m.Name))) {
          const image = join(rootfs, m.Destination);
          const st = await stat(image).catch(() => undefined);
          if (st?.isDirectory()) await copyTreeInto(image, source);
        }
      }
      out.push({ destination: m.Destination, type: 'bind', source, options: ['rbind', m.RW ? 'rw' : 'ro', m.Propagation || 'rprivate'] });
    }
    return out;
  }

  private async releaseVolumes(rec: ContainerRecord): Promise<void> {
    for (const m of rec.mounts ?? []) if (m.Type === 'volume' && m.Name) await this.o.volumes?.release(m.Name, rec.id);
  }

  /**
   * Mounts a container has on top of its root (volumes, binds, tmpfs), for `cp` and
   * `inspect`: where each is inside the container and where its data is on the host
   * (undefined for tmpfs, which lives only in the container's mount namespace).
   */
  mountPoints(rec: ContainerRecord): MountPoint[] {
    return rec.mounts ?? [];
  }

  /** The read-only layers under a container's upper dir, topmost first. */
  async lowerDirs(rec: ContainerRecord): Promise<string[]> {
    return [this.initDir, ...(await this.o.snapshots.lowerDirs(rec.topChain))];
  }

  /** The counters of a running container's network interfaces (stats' `networks`), by name. */
  interfaceStats(rec: ContainerRecord): Promise<Record<string, InterfaceStats> | undefined> {
    return rec.state.Running ? netnsInterfaces(rec.state.Pid) : Promise.resolve(undefined);
  }

  /** inspect's `GraphDriver.Data`: the container's overlay, its layers (init first) and its own dirs. */
  async graphDriverData(rec: ContainerRecord): Promise<Record<string, string>> {
    const d = this.cdir(rec.id);
    const lowers = await this.lowerDirs(rec).catch(() => []);
    return { ...(lowers.length > 0 ? { LowerDir: lowers.join(':') } : {}), MergedDir: join(d, 'merged'), UpperDir: join(d, 'upper'), WorkDir: join(d, 'work') };
  }

  // ---- start ------------------------------------------------------------------------------

  async start(idOrName: string): Promise<void> {
    const rec = this.get(idOrName);
    if (rec.state.Paused) throw new Conflict(`cannot start a paused container, try unpause instead`);
    if (rec.state.Running) throw new NotModified('container already started');
    if (rec.state.Status === 'removing') throw new Conflict(`container is marked for removal and cannot be started`);
    const live = this.liveOf(rec.id);
    if (live.restartTimer) {
      clearTimeout(live.restartTimer);
      delete live.restartTimer;
    }
    if (live.starting !== undefined) throw new NotModified('container already started');
    const starting = this.startNow(rec);
    live.starting = starting;
    try {
      await starting;
    } finally {
      if (live.starting === starting) delete live.starting;
    }
  }

  private async startNow(rec: ContainerRecord): Promise<void> {
    rec.manuallyStopped = false;
    await this.teardowns.get(rec.id);
    try {
      await this.startProcess(rec);
    } catch (e) {
      rec.state = { ...rec.state, Status: rec.hasBeenStarted ? 'exited' : 'created', Running: false, Pid: 0, Error: errorMessage(e), ExitCode: exitCodeForError(errorMessage(e)) };
      // A process the runtime created is killed below: its monitor's exit file must not be
      // taken for the end of a run that never began.
      const l = this.liveOf(rec.id);
      delete l.resolveExit;
      // Undo what was made, each step whatever the others do: a full disk, say, fails the
      // save too, and must not leave the root mounted or the network set up.
      await Promise.all([
        this.o.runtime.delete(rec.id).catch(() => undefined),
        this.o.network?.tearDown(rec).catch(() => undefined),
        this.releaseVolumes(rec).catch(() => undefined),
        this.unmountRoot(rec).catch(() => undefined),
      ]);
      await this.save(rec).catch((e2: unknown) => this.o.onError?.(`recording the failed start of ${rec.id.slice(0, 12)}: ${errorMessage(e2)}`));
      // Whoever waits for this run to end (an attached `run`) learns it never started.
      const keep = l.waiters.filter((w) => w.condition === 'removed');
      for (const w of l.waiters) if (w.condition !== 'removed') w.resolve(rec.state.ExitCode);
      l.waiters = keep;
      delete l.stdinQueue;
      // Docker removes an --rm container whose start failed; `run --rm` waits for exactly that.
      if (rec.hostConfig.AutoRemove === true) await this.remove(rec.id, { force: true, volumes: true }).catch(() => undefined);
      throw e;
    }
  }

  /** `--runtime`: the daemon's own, the only one it has. */
  private checkRuntime(hc: HostConfig): void {
    if (!hc.Runtime) return;
    const mine = basename(this.o.runtime.config.runtime);
    if (hc.Runtime !== mine) throw new InvalidArgument(`Unknown runtime specified ${hc.Runtime} (this daemon runs ${mine})`);
  }

  /** `--link db:alias` as Docker keeps it: `/db:/<this name>/alias`; the container linked to must exist. */
  private normaliseLink(link: string, name: string): string {
    const [target = '', alias] = link.startsWith('/') ? link.slice(1).split(':/') : link.split(':');
    let other: ContainerRecord;
    try {
      other = this.get(target);
    } catch (e) {
      throw new InvalidArgument(`could not get container for ${target}: ${errorMessage(e)}`, { cause: e });
    }
    const as = alias === undefined || alias === '' ? other.name.slice(1) : alias.slice(alias.lastIndexOf('/') + 1);
    return `${other.name}:${name}/${as}`;
  }

  /**
   * `--link`s at start: each linked container must run; its address on a network both share
   * (else its first) goes into /etc/hosts as `<ip> <alias> <id12> <name>`, and on the default
   * bridge Docker's variables (`<ALIAS>_NAME`, `_PORT_<n>_<PROTO>...`, `_ENV_<var>`) too.
   */
  private linkSetup(rec: ContainerRecord): { hostsLines: string[]; env: string[] } {
    const out = { hostsLines: [] as string[], env: [] as string[] };
    const mine = new Set(Object.keys(rec.network?.endpoints ?? {}));
    for (const link of rec.hostConfig.Links ?? []) {
      const [target = '', local = ''] = link.slice(1).split(':/');
      const alias = local.slice(local.lastIndexOf('/') + 1);
      const other = this.find(target);
      if (other === undefined || !other.state.Running) throw new Conflict(`Cannot link to a non running container: /${target} AS /${local}`);
      const eps = Object.entries(other.network?.endpoints ?? {});
      const [net, ep] = eps.find(([n]) => mine.has(n)) ?? eps[0] ?? [];
      const ip = ep?.IPAddress;
      if (ip === undefined || ip === '') continue;
      const names = [...new Set([alias, other.id.slice(0, 12), other.name.slice(1)])];
      out.hostsLines.push(`${ip}\t${names.join(' ')}`);
      if (net === 'bridge') out.env.push(...linkEnv(alias, `/${local}`, ip, other));
    }
    return out;
  }

  /** `--device` paths must be there at create (each start reads them again). */
  private async checkDevices(hc: HostConfig): Promise<void> {
    for (const d of hc.Devices ?? []) {
      await devicesAt(d.PathOnHost).catch((e: unknown) => {
        const code = (e as NodeJS.ErrnoException).code;
        const why = code === 'ENOENT' ? 'no such file or directory' : code === 'ENOTDEV' ? 'not a device node or a directory of them' : errorMessage(e);
        throw new InvalidArgument(`error gathering device information while adding custom device "${d.PathOnHost}": ${why}`);
      });
    }
  }

  /**
   * What a start needs from outside the container's own namespaces: other containers' pid
   * and IPC namespaces (`container:<x>`, which must run), the /dev/shm it binds, host devices.
   */
  private async joinsAndDevices(rec: ContainerRecord): Promise<Pick<SpecInput, 'joinNamespaces' | 'shmSource' | 'devices'>> {
    const hc = rec.hostConfig;
    const out: Pick<SpecInput, 'joinNamespaces' | 'shmSource' | 'devices'> = {};
    const pid = pidMode(hc.PidMode);
    if (pid.kind === 'container') {
      const other = this.get(pid.target);
      if (!other.state.Running || other.state.Pid <= 0) throw new Conflict(`container ${other.id} is not running`);
      out.joinNamespaces = { pid: `/proc/${other.state.Pid}/ns/pid` };
    }
    const ipc = ipcMode(hc.IpcMode);
    if (ipc.kind === 'container') {
      const other = this.get(ipc.target);
      const why = `can't join IPC of container ${other.id}`;
      if (!other.state.Running || other.state.Pid <= 0) throw new Conflict(`${why}: container ${other.id} is not running`);
      const donor = ipcMode(other.hostConfig.IpcMode).kind;
      if (donor !== 'shareable' && donor !== 'host') throw new Conflict(`${why}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)`);
      out.joinNamespaces = { ...out.joinNamespaces, ipc: `/proc/${other.state.Pid}/ns/ipc` };
      out.shmSource = donor === 'host' ? '/dev/shm' : this.shmDir(other.id);
    } else if (ipc.kind === 'shareable') {
      out.shmSource = await this.mountShareableShm(rec);
    }
    const devices: { device: OciDevice; access: string }[] = [];
    if (hc.Privileged === true) {
      for (const d of await privilegedDevices()) devices.push({ device: ociDevice(d, d.path), access: 'rwm' });
    }
    for (const m of hc.Devices ?? []) {
      const found = await devicesAt(m.PathOnHost).catch((e: unknown) => {
        throw new InvalidArgument(`error gathering device information while adding custom device "${m.PathOnHost}": ${errorMessage(e)}`);
      });
      const inContainer = m.PathInContainer || m.PathOnHost;
      for (const d of found) {
        const path = d.path === m.PathOnHost ? inContainer : join(inContainer, d.path.slice(m.PathOnHost.length));
        devices.push({ device: ociDevice(d, path), access: m.CgroupPermissions || 'rwm' });
      }
    }
    if (devices.length > 0) out.devices = devices;
    return out;
  }

  /** A shareable container's /dev/shm: a tmpfs on the host, in its exec-root directory, that others bind too. */
  shmDir(id: string): string {
    return join(this.etcDir(id), 'shm');
  }

  private async mountShareableShm(rec: ContainerRecord): Promise<string> {
    const dir = this.shmDir(rec.id);
    await mkdir(dir, { recursive: true });
    if (!(await this.o.mounter.isMounted(dir))) {
      const size = rec.hostConfig.ShmSize !== undefined && rec.hostConfig.ShmSize > 0 ? rec.hostConfig.ShmSize : DEFAULT_SHM_SIZE;
      await this.o.mounter.mount({ type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${size}`] }, dir);
    }
    return dir;
  }

  /** Reads the user from the image and makes its working dir, inside its mounted root. */
  private async imageUser(rec: ContainerRecord, rootfs: string): Promise<ReturnType<typeof resolveUser>> {
    const known = this.knownIdFiles(rec);
    if (known !== undefined && !rec.config.WorkingDir) return resolveUser(rec.config.User, known[0], known[1], rec.hostConfig.GroupAdd ?? []);
    // The image's files are read and its working dir made inside its root: a symlink in the
    // image (`/app -> /etc`, `/etc/passwd -> /host/file`) must never lead onto the host.
    const view = await ContainerView.open({ root: rootfs });
    try {
      const [passwd = '', group = ''] = known ?? (await Promise.all([readContainerFile(view, '/etc/passwd'), readContainerFile(view, '/etc/group')]));
      if (known === undefined) this.keepIdFiles(rec, passwd, group);
      const user = resolveUser(rec.config.User, passwd, group, rec.hostConfig.GroupAdd ?? []);
      if (rec.config.WorkingDir) await mkdirAllInScope(view, rec.config.WorkingDir).catch(() => undefined);
      return user;
    } finally {
      view.close();
    }
  }

  /**
   * The /etc/passwd and /etc/group a container of this image sees, when already read for
   * another: a container whose writable layer is still empty (a first start, every `run`)
   * sees its image's files, which never change for that chain of layers.
   */
  private knownIdFiles(rec: ContainerRecord): readonly [string, string] | undefined {
    if (rec.topChain === undefined) return undefined;
    const known = this.idFiles.get(rec.topChain);
    return known !== undefined && this.upperIsEmpty(rec) ? known : undefined;
  }

  private keepIdFiles(rec: ContainerRecord, passwd: string, group: string): void {
    if (rec.topChain === undefined || !this.upperIsEmpty(rec)) return;
    if (this.idFiles.size >= 32) this.idFiles.delete(this.idFiles.keys().next().value as string);
    this.idFiles.set(rec.topChain, [passwd, group]);
  }

  private upperIsEmpty(rec: ContainerRecord): boolean {
    try {
      return readdirSync(this.upperDir(rec.id)).length === 0;
    } catch {
      return false;
    }
  }

  private async startProcess(rec: ContainerRecord): Promise<void> {
    const bundle = this.bundle(rec.id);
    const shipper = this.shipperOf(rec);
    // Each step once what it needs is there: the root filesystem (then the user read inside it,
    // then the volume mounts, with their copy-up) and the network (then the generated files) at
    // once, and meanwhile a clean bundle, no exit file or runtime state of an earlier run, its
    // log shipped. Whatever fails, every step has ended before start()'s clean-up.
    const rootfs = this.mountRoot(rec);
    const user = rootfs.then((r) => this.imageUser(rec, r));
    const network = this.o.network ? this.o.network.setUp(rec, (x) => this.get(x)) : Promise.resolve(undefined);
    // --link: read once the network is there (the address on a network both share), for /etc/hosts and the environment.
    const links = network.then(() => this.linkSetup(rec));
    const steps = await Promise.allSettled([
      rootfs,
      user,
      network,
      user.then(() => rootfs).then((r) => this.ociMounts(rec, r)),
      Promise.all([network, links]).then(([n, l]) => this.writeEtcFiles(rec, n ?? NO_NETWORK, l.hostsLines)),
      // what comes from outside the container: other containers' namespaces, a shareable /dev/shm, devices, block I/O
      Promise.all([this.joinsAndDevices(rec), blockIO(rec.hostConfig), links]).then(([j, b, l]) => ({ ...j, ...b, linkEnv: l.env })),
      rm(bundle, { recursive: true, force: true }).then(() => mkdir(bundle, { recursive: true })),
      rm(join(this.exitDir, rec.id), { force: true }),
      this.o.runtime.delete(rec.id),
      // whatever an earlier run left, before conmon starts a new spool
      shipper.ship().then(() => rm(this.spoolPath(rec.id), { force: true })),
    ] as const);
    // The network's last steps go on while the runtime creates the container; whatever fails,
    // they are over before start()'s clean-up tears the network down.
    const ready = steps[2].status === 'fulfilled' ? steps[2].value?.ready : undefined;
    try {
      for (const step of steps) if (step.status === 'rejected') throw step.reason;
      const [root, usr, net, volumeMounts, etcMounts, outside] = steps;
      await this.launch(rec, fulfilled(root), fulfilled(usr), fulfilled(net) ?? NO_NETWORK, [...fulfilled(volumeMounts), ...fulfilled(etcMounts)], fulfilled(outside));
    } catch (e) {
      await ready?.catch(() => undefined);
      throw e;
    }
  }

  /** Bundle, monitor and runtime: the container's process created, then started once its network is ready. */
  private async launch(
    rec: ContainerRecord,
    rootfs: string,
    user: ReturnType<typeof resolveUser>,
    net: ContainerNetSetup,
    files: OciMount[],
    outside: Pick<SpecInput, 'joinNamespaces' | 'shmSource' | 'devices' | 'blockIO' | 'linkEnv'>,
  ): Promise<void> {
    const bundle = this.bundle(rec.id);
    const shipper = this.shipperOf(rec);
    const spec = buildSpec({
      record: rec,
      rootfs,
      user,
      extraMounts: files,
      ...(net.netnsPath !== undefined ? { netnsPath: net.netnsPath } : {}),
      ...(net.hostNetwork ? { hostNetwork: true } : {}),
      ...(net.shareFrom !== undefined ? { sharedNetns: true } : {}),
      ...outside,
      cgroupParent: this.o.cgroupParent ?? '/berth',
      ...(rec.hostConfig.Init === true && this.o.initPath !== undefined ? { initPath: this.o.initPath } : {}),
      ...(this.o.allCaps !== undefined ? { allCaps: this.o.allCaps } : {}),
      ...(this.o.defaultSeccomp !== undefined ? { defaultSeccomp: this.o.defaultSeccomp } : {}),
      ...(this.o.kernelX32 !== undefined ? { kernelX32: this.o.kernelX32 } : {}),
    });
    if (!spec.process.env.some((e) => e.startsWith('HOME='))) spec.process.env.push(`HOME=${user.home}`);
    await writeFile(join(bundle, 'config.json'), JSON.stringify(spec));
    const live = this.liveOf(rec.id);
    this.armExit(rec.id);
    // The spool only bridges the time until the daemon ships it; conmon caps it at the log's
    // file size (at least 1 MiB) so a daemon that is down cannot let it fill the disk.
    // Without a log (`none`) it only bridges to attached clients: 1 MiB.
    const maxSize = keepsLogs(rec) ? this.logRotation(rec).maxSize : 1024 * 1024;
    const pid = await this.o.runtime.spawnMonitor({
      id: rec.id,
      shortId: rec.id.slice(0, 12),
      bundle,
      logPath: this.spoolPath(rec.id),
      ...(maxSize > 0 ? { logSizeMax: Math.max(maxSize, 1024 * 1024) } : {}),
      exitDir: this.exitDir,
      socketDir: this.socketDir,
      pidFile: join(bundle, 'pid'),
      conmonPidFile: join(bundle, 'conmon.pid'),
      tty: rec.config.Tty === true,
      stdin: rec.config.OpenStdin === true,
    });
    shipper.watch();
    if (live.stdinQueue && rec.config.OpenStdin === true) this.pipeStdin(join(bundle, 'attach'), live.stdinQueue);
    await net.ready;
    await this.o.runtime.start(rec.id, pid);
    rec.state = {
      ...rec.state,
      Status: 'running',
      Running: true,
      Paused: false,
      Restarting: false,
      OOMKilled: false,
      Dead: false,
      Pid: pid,
      ExitCode: 0,
      Error: '',
      StartedAt: new Date().toISOString(),
      FinishedAt: rec.state.FinishedAt,
      ...(rec.config.Healthcheck?.Test && rec.config.Healthcheck.Test[0] !== 'NONE' ? { Health: { Status: 'starting', FailingStreak: 0, Log: [] } } : {}),
    };
    if (!(rec.config.Healthcheck?.Test && rec.config.Healthcheck.Test[0] !== 'NONE')) delete rec.state.Health;
    rec.hasBeenStarted = true;
    await this.save(rec);
    // Docker's events of a start: its networks connected, its volumes mounted, then start.
    this.o.network?.publishMembership?.('connect', rec.id, Object.keys(rec.network?.endpoints ?? {}));
    for (const m of rec.mounts ?? []) {
      if (m.Type !== 'volume' || !m.Name) continue;
      this.o.events.publish('volume', 'mount', m.Name, { container: rec.id, destination: m.Destination, driver: m.Driver ?? 'local', propagation: m.Propagation ?? '', 'read/write': String(m.RW) });
    }
    this.o.events.publish('container', 'start', rec.id, this.attrs(rec));
    this.startHealth(rec);
  }

  /** hostname, hosts and resolv.conf, generated per container and bind-mounted. */
  private async writeEtcFiles(rec: ContainerRecord, net: ContainerNetSetup, linkHosts: readonly string[]): Promise<OciMount[]> {
    const ro = rec.hostConfig.ReadonlyRootfs === true ? 'ro' : 'rw';
    if (net.shareFrom) {
      // --network container:<x>: the same hostname, hosts and resolv.conf as that container.
      const other = this.etcDir(net.shareFrom.id);
      return ['hostname', 'hosts', 'resolv.conf'].map((f) => ({ destination: `/etc/${f}`, type: 'bind', source: join(other, f), options: ['rbind', 'rprivate', ro] }));
    }
    const d = this.etcDir(rec.id);
    await mkdir(d, { recursive: true });
    const hostHostname = net.hostNetwork ? (await readFile('/etc/hostname', 'utf8').catch(() => '')).trim() : '';
    const hostname = (net.hostNetwork && !rec.config.Hostname ? hostHostname : rec.config.Hostname) || rec.id.slice(0, 12);
    const extraHosts = (rec.hostConfig.ExtraHosts ?? []).map((h) => {
      const i = h.indexOf(':');
      const ip = h.slice(i + 1);
      return `${ip === 'host-gateway' ? (net.gateway ?? '127.0.0.1') : ip}\t${h.slice(0, i)}`;
    });
    const hostHosts = net.hostNetwork ? await readFile('/etc/hosts', 'utf8').catch(() => '') : '';
    const hosts = net.hostNetwork ? `${hostHosts.trimEnd()}\n${extraHosts.map((l) => `${l}\n`).join('')}` : [
      '127.0.0.1\tlocalhost',
      '::1\tlocalhost ip6-localhost ip6-loopback',
      'fe00::0\tip6-localnet',
      'ff00::0\tip6-mcastprefix',
      'ff02::1\tip6-allnodes',
      'ff02::2\tip6-allrouters',
      ...extraHosts,
      ...linkHosts,
      ...net.hostsLines,
      '',
    ].join('\n');
    const hostResolv = await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
    const resolv = buildResolvConf(hostResolv, rec.hostConfig, net.hostNetwork ? undefined : net.nameservers);
    await writeFile(join(d, 'hostname'), `${hostname}\n`);
    await writeFile(join(d, 'hosts'), hosts);
    await writeFile(join(d, 'resolv.conf'), resolv);
    return [
      { destination: '/etc/hostname', type: 'bind', source: join(d, 'hostname'), options: ['rbind', 'rprivate', ro] },
      { destination: '/etc/hosts', type: 'bind', source: join(d, 'hosts'), options: ['rbind', 'rprivate', ro] },
      { destination: '/etc/resolv.conf', type: 'bind', source: join(d, 'resolv.conf'), options: ['rbind', 'rprivate', ro] },
    ];
  }

  // ---- stdin ------------------------------------------------------------------------------

  /**
   * Stdin for an attached client: the monitor's attach socket is SOCK_SEQPACKET, which Node
   * cannot open, so `socat` carries the bytes (one packet per write). It runs both ways
   * (`STDIO`, its output discarded): with `-u`, socat refuses what conmon sends back, and
   * conmon's clean-up of that connection can then skip closing the container's stdin at EOF.
   */
  queueStdin(id: string): PassThrough {
    const live = this.liveOf(id);
    return (live.stdinQueue ??= new PassThrough());
  }

  attachStdin(id: string, input: PassThrough): void {
    this.pipeStdin(join(this.bundle(id), 'attach'), input);
  }

  pipeStdin(socket: string, input: PassThrough): void {
    void import('node:child_process').then(({ spawn }) => {
      const child = spawn('socat', ['STDIO', `UNIX-CONNECT:${socket},type=5`], { stdio: ['pipe', 'ignore', 'ignore'] });
      child.on('error', () => undefined);
      child.stdin.on('error', () => undefined);
      input.pipe(child.stdin);
    });
  }

  /** Resizes the TTY through the monitor's control FIFO. */
  async resize(idOrName: string, h: number, w: number, bundle?: string): Promise<void> {
    const rec = this.get(idOrName);
    if (!rec.state.Running) throw new Conflict(`Container ${rec.id} is not running`);
    const { open } = await import('node:fs/promises');
    const { constants } = await import('node:fs');
    const fh = await open(join(bundle ?? this.bundle(rec.id), 'ctl'), constants.O_WRONLY | constants.O_NONBLOCK).catch(() => undefined);
    if (!fh) return;
    try {
      await fh.write(`1 ${h} ${w}\n`);
    } finally {
      await fh.close();
    }
  }

  // ---- exit -------------------------------------------------------------------------------

  private armExit(id: string): void {
    const live = this.liveOf(id);
    if (live.resolveExit) return;
    live.exited = new Promise((r) => (live.resolveExit = r));
    void this.checkExit(id);
  }

  /** Resolves when the container next stops (or now-running run ends), or is removed. */
  nextExit(idOrName: string): Promise<void> {
    const rec = this.get(idOrName);
    if (rec.state.Running) return this.exited(rec.id);
    return new Promise((r) => this.liveOf(rec.id).waiters.push({ condition: 'next-exit', resolve: () => r() }));
  }

  /** Resolves when the current run of the container has ended and been recorded. */
  exited(id: string): Promise<void> {
    return this.live.get(id)?.exited ?? Promise.resolve();
  }

  private async checkExit(id: string): Promise<void> {
    if (!/^[a-f0-9]{64}$/.test(id)) return;
    const live = this.live.get(id);
    if (!live?.resolveExit) return;
    if (!existsSync(join(this.exitDir, id))) return;
    await this.handleExit(id, false);
  }

  private exiting = new Set<string>();

  private async handleExit(id: string, atBoot: boolean): Promise<void> {
    const rec = this.records.get(id);
    if (!rec || this.exiting.has(id)) return;
    this.exiting.add(id);
    try {
      // A process that ends at once (`true`) can end before its start is recorded: that start
      // first, so that the record goes running, then exited, and the events start, then die.
      const starting = this.live.get(id)?.starting;
      if (starting !== undefined) await starting.catch(() => undefined);
      const exitFile = join(this.exitDir, id);
      // conmon writes the exit file when the process ends: its mtime is the real finish time,
      // also for containers that ended while the daemon was down. The OOM count is read before
      // the cgroup goes.
      // (The exit file is a few bytes in the exec root, a tmpfs: read at once.)
      const [raw, exitStat] = [tryOrUndefined(() => readFileSync(exitFile, 'utf8')), tryOrUndefined(() => statSync(exitFile))];
      const oom = await this.wasOomKilled(rec);
      const finishedAt = exitStat?.mtime ?? new Date();
      const code = raw !== undefined && raw.trim() !== '' ? Number(raw.trim()) : 255;
      this.stopHealth(id);
      // The container's init has ended, so its pid namespace is gone with every process in it:
      // runtime state, network and root filesystem can go at once, while everything the
      // process wrote goes into the json-file log (before anyone learns it ended).
      this.shipperOf(rec).unwatch();
      // (decided before the teardown, which forgets the container's ports and addresses)
      const removedFirst = rec.hostConfig.AutoRemove === true && !atBoot && !holdsPortsOrAddresses(rec);
      const networks = Object.keys(rec.network?.endpoints ?? {});
      const teardown = Promise.all([
        this.o.runtime.delete(id),
        this.o.network?.tearDown(rec).catch((e: unknown) => this.o.onError?.(`network teardown of ${id.slice(0, 12)}: ${errorMessage(e)}`)),
        this.unmountRoot(rec).catch(() => undefined),
      ]).then(() => undefined);
      // A --rm container is removed next; what its process left on the host goes on being
      // undone meanwhile, unless something another container may want at once (a published
      // port, a fixed address) is among it. Its directory waits for all of it (remove()).
      if (removedFirst) {
        this.teardowns.set(
          id,
          teardown.catch((e: unknown) => this.o.onError?.(`teardown of ${id.slice(0, 12)}: ${errorMessage(e)}`)),
        );
        await this.flushLog(rec);
      } else {
        await Promise.all([teardown, this.flushLog(rec)]);
      }
      await this.releaseVolumes(rec);
      rec.state = {
        ...rec.state,
        Status: 'exited',
        Running: false,
        Paused: false,
        Restarting: false,
        OOMKilled: oom,
        Pid: 0,
        ExitCode: code,
        FinishedAt: finishedAt.toISOString(),
      };
      if (rec.state.Health) rec.state.Health.Status = 'unhealthy';
      // A --rm container is removed next (afterExit): its record is not written for that
      // moment. Should the daemon die first, it finds the container ended when it comes back,
      // and removes it then.
      if (!(rec.hostConfig.AutoRemove === true && !atBoot)) await this.save(rec);
      rmSync(exitFile, { force: true });
      const live = this.liveOf(id);
      const resolve = live.resolveExit;
      delete live.resolveExit;
      delete live.stdinQueue;
      // After the `kill` of the signal that ended it, when one is being sent.
      if (live.signalling !== undefined) await live.signalling;
      if (oom) this.o.events.publish('container', 'oom', id, this.attrs(rec));
      this.o.events.publish('container', 'die', id, this.attrs(rec, { exitCode: String(code) }));
      // Then, as Docker's: its networks disconnected, its volumes unmounted.
      this.o.network?.publishMembership?.('disconnect', id, networks);
      for (const m of rec.mounts ?? []) if (m.Type === 'volume' && m.Name) this.o.events.publish('volume', 'unmount', m.Name, { container: id, driver: m.Driver ?? 'local' });
      const remaining: Live['waiters'] = [];
      for (const w of live.waiters) {
        if (w.condition === 'removed') remaining.push(w);
        else w.resolve(code);
      }
      live.waiters = remaining;
      resolve?.();
      this.o.onExit?.(rec);
      if (!atBoot) await this.afterExit(rec);
    } finally {
      this.exiting.delete(id);
    }
  }

  private async wasOomKilled(rec: ContainerRecord): Promise<boolean> {
    if (!(rec.hostConfig.Memory !== undefined && rec.hostConfig.Memory > 0)) return false;
    const path = `${rec.hostConfig.CgroupParent || (this.o.cgroupParent ?? '/berth')}/${rec.id}`;
    // cgroup v1 counts in memory.oom_control, v2 in memory.events.
    const v1 = await readFile(`/sys/fs/cgroup/memory${path}/memory.oom_control`, 'utf8').catch(() => '');
    const v2 = v1 === '' ? await readFile(`/sys/fs/cgroup${path}/memory.events`, 'utf8').catch(() => '') : '';
    return /oom_kill [1-9]/.test(v1 + v2);
  }

  /** Restart policy and --rm, once an exit has been recorded. */
  private async afterExit(rec: ContainerRecord): Promise<void> {
    const policy = rec.hostConfig.RestartPolicy?.Name ?? 'no';
    const max = rec.hostConfig.RestartPolicy?.MaximumRetryCount ?? 0;
    const wantRestart =
      !rec.manuallyStopped &&
      (policy === 'always' ||
        policy === 'unless-stopped' ||
        (policy === 'on-failure' && rec.state.ExitCode !== 0 && (max === 0 || rec.restartCount < max)));
    if (wantRestart) {
      // Docker's back-off: 100 ms doubling per restart, reset after 10 s of running, at most 1 min.
      const ranFor = Date.parse(rec.state.FinishedAt) - Date.parse(rec.state.StartedAt);
      if (ranFor >= 10_000) rec.restartCount = 0;
      const delay = Math.min(60_000, 100 * 2 ** rec.restartCount);
      rec.restartCount += 1;
      rec.state = { ...rec.state, Status: 'restarting', Restarting: true };
      await this.save(rec);
      const live = this.liveOf(rec.id);
      live.restartTimer = setTimeout(() => {
        delete live.restartTimer;
        if (rec.manuallyStopped || !this.records.has(rec.id)) return;
        this.start(rec.id).then(
          () => this.o.events.publish('container', 'restart', rec.id, this.attrs(rec)),
          async () => {
            rec.state = { ...rec.state, Status: 'exited', Restarting: false };
            await this.save(rec).catch(() => undefined);
          },
        );
      }, delay);
      return;
    }
    if (rec.hostConfig.AutoRemove === true) await this.remove(rec.id, { force: true, volumes: true }).catch(() => undefined);
  }

  // ---- stop, kill, pause ------------------------------------------------------------------

  async kill(idOrName: string, signal = 'SIGKILL'): Promise<void> {
    const rec = this.get(idOrName);
    if (!rec.state.Running) throw new Conflict(`Cannot kill container: ${idOrName}: Container ${rec.id} is not running`);
    const sig = normaliseSignal(signal);
    await this.signal(rec, sig, sig === 'SIGKILL');
  }

  /**
   * Sends a signal to the container's processes (all of them for SIGKILL), resumes a paused
   * container that is being killed, and publishes `kill`; the exit it causes publishes `die`
   * only after that, so that clients read kill, then die.
   */
  private signal(rec: ContainerRecord, sig: string, all = false): Promise<void> {
    const live = this.liveOf(rec.id);
    const sent = (async () => {
      await this.o.runtime.kill(rec.id, sig, all);
      if (rec.state.Paused && sig === 'SIGKILL') await this.o.runtime.resume(rec.id).catch(() => undefined);
      this.o.events.publish('container', 'kill', rec.id, this.attrs(rec, { signal: String(signalNumber(sig)) }));
    })();
    live.signalling = sent.catch(() => undefined).finally(() => {
      if (live.signalling === done) delete live.signalling;
    });
    const done = live.signalling;
    return sent;
  }

  async stop(idOrName: string, opts: { timeout?: number; signal?: string } = {}): Promise<void> {
    const rec = this.get(idOrName);
    const live = this.liveOf(rec.id);
    if (live.restartTimer) {
      clearTimeout(live.restartTimer);
      delete live.restartTimer;
      rec.manuallyStopped = true;
      rec.state = { ...rec.state, Status: 'exited', Restarting: false };
      await this.save(rec);
      return;
    }
    if (live.starting !== undefined) {
      // A start under way (a restart policy's, or another client's): the container is stopped
      // once it runs, and its policy does not start it again.
      rec.manuallyStopped = true;
      await live.starting.catch(() => undefined);
    }
    if (!rec.state.Running) throw new NotModified('container already stopped');
    rec.manuallyStopped = true;
    await this.save(rec);
    const timeout = opts.timeout ?? rec.config.StopTimeout ?? 10;
    const signal = normaliseSignal(opts.signal ?? rec.config.StopSignal ?? 'SIGTERM');
    const exited = this.exited(rec.id);
    if (rec.state.Paused) await this.o.runtime.resume(rec.id).catch(() => undefined);
    if (timeout !== 0) await this.signal(rec, signal);
    const inTime = timeout < 0 ? await exited.then(() => true) : await within(exited, timeout * 1000);
    if (!inTime) {
      await this.signal(rec, 'SIGKILL', true);
      await exited;
    }
    this.o.events.publish('container', 'stop', rec.id, this.attrs(rec));
  }

  async restart(idOrName: string, opts: { timeout?: number; signal?: string } = {}): Promise<void> {
    const rec = this.get(idOrName);
    if (rec.state.Running) await this.stop(rec.id, opts);
    await this.start(rec.id);
    this.o.events.publish('container', 'restart', rec.id, this.attrs(rec));
  }

  async pause(idOrName: string): Promise<void> {
    const rec = this.get(idOrName);
    if (!rec.state.Running) throw new Conflict(`Container ${rec.id} is not running`);
    if (rec.state.Paused) throw new Conflict(`Container ${rec.id} is already paused`);
    await this.o.runtime.pause(rec.id);
    rec.state = { ...rec.state, Paused: true, Status: 'paused' };
    await this.save(rec);
    this.o.events.publish('container', 'pause', rec.id, this.attrs(rec));
  }

  async unpause(idOrName: string): Promise<void> {
    const rec = this.get(idOrName);
    if (!rec.state.Paused) throw new Conflict(`Container ${rec.id} is not paused`);
    await this.o.runtime.resume(rec.id);
    rec.state = { ...rec.state, Paused: false, Status: 'running' };
    await this.save(rec);
    this.o.events.publish('container', 'unpause', rec.id, this.attrs(rec));
  }

  // ---- update ------------------------------------------------------------------------------

  /**
   * `docker update`: new cgroup limits and restart policy. As in Docker, a limit given as 0 is
   * left as it is, a pids limit of 0 or less means unlimited; a running container gets the
   * limits at once (`runc update`), and the record keeps them for its next start.
   */
  async update(idOrName: string, u: ContainerUpdate): Promise<{ Warnings: string[] }> {
    const rec = this.get(idOrName);
    const hc: HostConfig = { ...rec.hostConfig };
    const set = <K extends keyof ContainerUpdate & keyof HostConfig>(k: K): void => {
      const v = u[k];
      if (v !== undefined && v !== null && v !== 0 && v !== '') (hc as Record<string, unknown>)[k] = v;
    };
    for (const k of ['Memory', 'MemorySwap', 'MemoryReservation', 'NanoCpus', 'CpuShares', 'CpuPeriod', 'CpuQuota', 'CpusetCpus', 'CpusetMems', 'CpuRealtimePeriod', 'CpuRealtimeRuntime', 'BlkioWeight'] as const) set(k);
    if (u.PidsLimit !== undefined && u.PidsLimit !== null) hc.PidsLimit = u.PidsLimit > 0 ? u.PidsLimit : 0;
    // --cpus and the CFS period/quota set the same thing: not both in one request (Docker's
    // check of the request), and not one over the other (its check against the container).
    const nano = (u.NanoCpus ?? 0) > 0;
    const cfs = (['CpuPeriod', 'CpuQuota'] as const).filter((k) => (u[k] ?? 0) > 0);
    const words = { CpuPeriod: 'CPU Period', CpuQuota: 'CPU Quota' } as const;
    if (nano && cfs[0] !== undefined) throw new InvalidArgument(`Conflicting options: Nano CPUs and ${words[cfs[0]]} cannot both be set`);
    const hadCfs = (['CpuPeriod', 'CpuQuota'] as const).find((k) => (rec.hostConfig[k] ?? 0) > 0);
    if (nano && hadCfs !== undefined) throw new Conflict(`Conflicting options: Nano CPUs cannot be updated as ${words[hadCfs]} has already been set`);
    if (cfs[0] !== undefined && (rec.hostConfig.NanoCpus ?? 0) > 0) throw new Conflict(`Conflicting options: ${words[cfs[0]]} cannot be updated as NanoCPUs has already been set`);
    if ((u.Memory ?? 0) > 0 && (u.MemorySwap ?? 0) === 0 && (rec.hostConfig.MemorySwap ?? 0) > 0 && (u.Memory ?? 0) > (rec.hostConfig.MemorySwap ?? 0)) {
      throw new InvalidArgument(`Cannot update container ${rec.id}: Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time`);
    }
    if ((hc.Memory ?? 0) > 0 && (hc.MemorySwap ?? 0) > 0 && (hc.MemorySwap ?? 0) < (hc.Memory ?? 0)) {
      throw new InvalidArgument('Minimum memoryswap limit should be larger than memory limit, see usage');
    }
    const policy = u.RestartPolicy;
    if (policy !== undefined && policy !== null && (policy.Name ?? '') !== '') {
      if (rec.hostConfig.AutoRemove === true && policy.Name !== 'no') throw new InvalidArgument('Restart policy cannot be updated because AutoRemove is enabled for the container');
      hc.RestartPolicy = { Name: policy.Name, MaximumRetryCount: policy.MaximumRetryCount ?? 0 };
    }
    if ((u.BlkioWeight ?? 0) > 0 && ((u.BlkioWeight ?? 0) < 10 || (u.BlkioWeight ?? 0) > 1000)) {
      throw new InvalidArgument('Range of blkio weight is from 10 to 1000');
    }
    validateHostConfig(hc);
    const limits = resourceLimits(hc); // also checks the memory minimum
    // A weight the kernel cannot take is dropped with Docker's warning, as at create.
    const warnings = (u.BlkioWeight ?? 0) > 0 ? hostWarnings({ BlkioWeight: hc.BlkioWeight }, () => (this.blkioWeight ??= blkioWeightSupported())) : [];
    if (warnings.length > 0) hc.BlkioWeight = rec.hostConfig.BlkioWeight ?? 0;
    if (rec.state.Running) {
      await this.o.runtime.update(rec.id, {
        ...limits,
        ...(u.PidsLimit !== undefined && u.PidsLimit !== null && u.PidsLimit <= 0 ? { pids: { limit: -1 } } : {}),
        ...((u.BlkioWeight ?? 0) > 0 && warnings.length === 0 ? { blockIO: { weight: u.BlkioWeight } } : {}),
      });
    }
    rec.hostConfig = hc;
    await this.save(rec);
    this.o.events.publish('container', 'update', rec.id, this.attrs(rec));
    return { Warnings: warnings };
  }

  // ---- wait, rename, remove ---------------------------------------------------------------

  wait(idOrName: string, condition: WaitCondition = 'not-running'): Promise<number> {
    const rec = this.get(idOrName);
    if (condition === 'not-running' && !rec.state.Running && !rec.state.Restarting) return Promise.resolve(rec.state.ExitCode);
    return new Promise((resolve) => this.liveOf(rec.id).waiters.push({ condition, resolve }));
  }

  async rename(idOrName: string, newName: string): Promise<void> {
    const rec = this.get(idOrName);
    const name = `/${newName.replace(/^\//, '')}`;
    if (!/^\/[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(name)) throw new InvalidArgument(`Invalid container name (${newName}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    if (name === rec.name) throw new InvalidArgument(`Renaming a container with the same name as its current name`);
    const owner = this.names.get(name);
    if (owner !== undefined) throw new AlreadyExists(`Error when allocating new name: Conflict. The container name "${name}" is already in use by container "${owner}". You have to remove (or rename) that container to be able to reuse that name.`);
    const old = rec.name;
    this.names.set(name, rec.id);
    this.names.delete(old);
    rec.name = name;
    await this.save(rec);
    this.o.events.publish('container', 'rename', rec.id, this.attrs(rec, { oldName: old }));
  }

  /** Removals under way: a second call (an --rm container's own, after `rm -f` killed it) joins the first. */
  private readonly removing = new Map<string, Promise<void>>();

  async remove(idOrName: string, opts: { force: boolean; volumes: boolean }): Promise<void> {
    const rec = this.get(idOrName);
    const under = this.removing.get(rec.id);
    if (under !== undefined) return under;
    const p = this.removeRecord(rec, opts);
    this.removing.set(rec.id, p);
    try {
      await p;
    } finally {
      this.removing.delete(rec.id);
    }
  }

  private async removeRecord(rec: ContainerRecord, opts: { force: boolean; volumes: boolean }): Promise<void> {
    if (rec.state.Status === 'removing') return;
    if (rec.state.Running || rec.state.Restarting) {
      if (!opts.force) {
        throw new Conflict(
          `cannot remove container "${rec.name}": container is ${rec.state.Paused ? 'paused' : rec.state.Restarting ? 'restarting' : 'running'}: stop the container before removing or force remove`,
        );
      }
      rec.manuallyStopped = true;
      const live = this.liveOf(rec.id);
      if (live.restartTimer) clearTimeout(live.restartTimer);
      if (rec.state.Running) {
        const exited = this.exited(rec.id);
        await this.signal(rec, 'SIGKILL', true);
        await within(exited, 10_000);
      }
    }
    rec.state = { ...rec.state, Status: 'removing' };
    this.stopHealth(rec.id);
    const teardown = this.teardowns.get(rec.id);
    if (teardown === undefined) {
      await this.o.runtime.delete(rec.id);
      await this.unmountRoot(rec).catch(() => undefined);
    }
    await rm(join(this.cdir(rec.id), 'container.json'), { force: true }); // first: a crash from here on leaves no container
    await Promise.all([
      rm(this.bundle(rec.id), { recursive: true, force: true }),
      rm(this.etcDir(rec.id), { recursive: true, force: true }),
      rm(join(this.socketDir, rec.id.slice(0, 12)), { force: true }),
      this.shippers.get(rec.id)?.close(),
    ]);
    // Its files (the writable layer, however big, and the logs) go after the answer (and after
    // its teardown): nobody sees the container any more, and a crash meanwhile leaves a
    // directory without container.json, which the next start cleans up (forgetRemoved).
    this.removeLater(this.cdir(rec.id), teardown?.finally(() => this.teardowns.delete(rec.id)));
    this.shippers.delete(rec.id);
    this.records.delete(rec.id);
    this.names.delete(rec.name);
    if (opts.volumes) await this.removeAnonymousVolumes(rec);
    const live = this.live.get(rec.id);
    this.live.delete(rec.id);
    this.o.events.publish('container', 'destroy', rec.id, this.attrs(rec));
    for (const w of live?.waiters ?? []) w.resolve(rec.state.ExitCode);
  }

  // ---- health -----------------------------------------------------------------------------

  /** Installed by the wiring: runs one probe (an exec in the container) and acts on the result. */
  healthProbe?: (rec: ContainerRecord) => void;

  private startHealth(rec: ContainerRecord): void {
    if (!rec.state.Health) return;
    this.healthProbe?.(rec);
  }

  setHealthTimer(id: string, t: NodeJS.Timeout): void {
    const l = this.liveOf(id);
    if (l.healthTimer) clearTimeout(l.healthTimer);
    l.healthTimer = t;
  }

  private stopHealth(id: string): void {
    const l = this.live.get(id);
    if (l?.healthTimer) {
      clearTimeout(l.healthTimer);
      delete l.healthTimer;
    }
  }

  async saveRecord(rec: ContainerRecord): Promise<void> {
    await this.save(rec);
  }

  /** Which snapshot chains containers still need (for image garbage collection). */
  chainsInUse(): string[] {
    return [...this.records.values()].flatMap((r) => (r.topChain !== undefined ? [r.topChain] : []));
  }

  assertRunning(rec: ContainerRecord): void {
    if (!rec.state.Running) throw new Conflict(`container ${rec.id} is not running`);
    if (rec.state.Paused) throw new Conflict(`container ${rec.id} is paused, unpause the container before exec`);
  }
}


// ---- pure helpers ---------------------------------------------------------------------------

/** Mount points berth (like Docker's init layer) provides under every container's root. */
const INIT_DIRS = ['dev', 'dev/pts', 'dev/shm', 'proc', 'sys', 'etc'];
const INIT_FILES = ['.dockerenv', 'etc/hostname', 'etc/hosts', 'etc/resolv.conf'];

/** Docker's mode for the init layer's files (`/.dockerenv` is the one a container sees). */
const INIT_FILE_MODE = 0o755;

/**
 * Makes the init layer once for all containers (its content is the same for each: they only
 * differ in what is mounted on it): built beside its place and renamed into it, so it is
 * there whole or not at all. One made before its files had Docker's mode gets the mode: a
 * change of metadata only, as the layer may be under running containers.
 */
async function makeInitDir(dir: string): Promise<void> {
  if (await stat(join(dir, 'etc', 'resolv.conf')).then(() => true, () => false)) {
    for (const f of INIT_FILES) {
      const st = await stat(join(dir, f)).catch(() => undefined);
      if (st !== undefined && (st.mode & 0o777) !== INIT_FILE_MODE) await chmod(join(dir, f), INIT_FILE_MODE);
    }
    return;
  }
  const tmp = `${dir}.tmp`; // one daemon per root: a leftover of a crash is this same name
  await rm(tmp, { recursive: true, force: true });
  for (const d of INIT_DIRS) await mkdir(join(tmp, d), { recursive: true, mode: 0o755 });
  for (const f of INIT_FILES) {
    await writeFile(join(tmp, f), '');
    await chmod(join(tmp, f), INIT_FILE_MODE); // whatever the daemon's umask
  }
  await symlink('/proc/mounts', join(tmp, 'etc', 'mtab'));
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
}

/** Docker's merge of the image config into a container's config (container wins). */
export function mergeImageConfig(c: ContainerConfig, img: ImageConfig, id: string): ContainerConfig {
  const ic = img.config ?? {};
  const out: ContainerConfig = { ...c };
  out.Hostname = c.Hostname || id.slice(0, 12);
  if (!c.User) out.User = ic.User ?? '';
  const env = [...(ic.Env ?? [])];
  for (const e of c.Env ?? []) {
    const k = e.split('=')[0];
    const i = env.findIndex((x) => x.split('=')[0] === k);
    if (i >= 0) env[i] = e;
    else env.push(e);
  }
  out.Env = env;
  // Docker's rules: an entrypoint given resets the image's CMD; `--entrypoint ""` (sent as
  // [""]) resets the image's ENTRYPOINT too, leaving the command given, if any.
  const cmdGiven = c.Cmd !== undefined && c.Cmd !== null && (Array.isArray(c.Cmd) ? c.Cmd.length > 0 : true);
  const ep = typeof c.Entrypoint === 'string' ? [c.Entrypoint] : c.Entrypoint;
  if (ep === undefined || ep === null || ep.length === 0) {
    if (!cmdGiven) out.Cmd = ic.Cmd ?? null;
    if (ep === undefined || ep === null) out.Entrypoint = ic.Entrypoint ?? null;
  } else if (!cmdGiven) {
    out.Cmd = null;
  }
  if (ep?.length === 1 && ep[0] === '') out.Entrypoint = null;
  if (!c.WorkingDir) out.WorkingDir = ic.WorkingDir ?? '';
  out.Labels = { ...(ic.Labels ?? {}), ...(c.Labels ?? {}) };
  out.ExposedPorts = { ...(ic.ExposedPorts ?? {}), ...(c.ExposedPorts ?? {}) };
  // null when neither has any, as Docker shows it
  const volumes = { ...(ic.Volumes ?? {}), ...(c.Volumes ?? {}) };
  out.Volumes = Object.keys(volumes).length > 0 ? volumes : null;
  if (!c.StopSignal && ic.StopSignal) out.StopSignal = ic.StopSignal;
  if (!c.Healthcheck && ic.Healthcheck) out.Healthcheck = ic.Healthcheck;
  else if (c.Healthcheck && ic.Healthcheck) {
    out.Healthcheck = { ...ic.Healthcheck, ...Object.fromEntries(Object.entries(c.Healthcheck).filter(([, v]) => v !== undefined && v !== 0)) };
    if (!c.Healthcheck.Test || c.Healthcheck.Test.length === 0) out.Healthcheck.Test = ic.Healthcheck.Test ?? [];
  }
  if (!c.Shell && ic.Shell) out.Shell = ic.Shell;
  return out;
}

export function entrypointAndArgs(c: ContainerConfig): { path: string; args: string[] } {
  const ep = typeof c.Entrypoint === 'string' ? [c.Entrypoint] : (c.Entrypoint ?? []);
  const cmd = typeof c.Cmd === 'string' ? [c.Cmd] : (c.Cmd ?? []);
  const all = [...ep, ...cmd];
  return { path: all[0] ?? '', args: all.slice(1) };
}

/** What the daemon refuses in a container's Config, in Docker's words. */
function validateConfig(c: ContainerConfig): void {
  if (c.WorkingDir && !c.WorkingDir.startsWith('/')) {
    throw new InvalidArgument(`the working directory '${c.WorkingDir}' is invalid, it needs to be an absolute path`);
  }
  if (c.StopSignal) normaliseSignal(c.StopSignal);
}

function validateHostConfig(hc: HostConfig): void {
  validateLogConfig(hc.LogConfig);
  checkModes(hc);
  for (const [field, caps] of [['CapAdd', hc.CapAdd], ['CapDrop', hc.CapDrop]] as const) {
    for (const c of caps ?? []) {
      if (c.toUpperCase() !== 'ALL' && !ALL_CAPS.includes(capName(c))) throw new InvalidArgument(`invalid ${field}: unknown capability: "${capName(c)}"`);
    }
  }
  checkResourceRanges(hc, availableParallelism());
  if ((hc.CpusetCpus ?? '') !== '' || (hc.CpusetMems ?? '') !== '') {
    const host = hostCpusets();
    if (host !== undefined) {
      checkCpuset(hc.CpusetCpus, host.cpus, 'cpus');
      checkCpuset(hc.CpusetMems, host.mems, 'mems');
    }
  }
  for (const r of hc.DeviceRequests ?? []) {
    const caps = (r.Capabilities ?? []).map((c) => `[${c.join(' ')}]`).join(' ');
    throw new InvalidArgument(`could not select device driver "${r.Driver ?? ''}" with capabilities: [${caps}] (berth has no GPU or other device drivers; --device hands over device nodes)`);
  }
  if (hc.Isolation && hc.Isolation !== 'default') throw new InvalidArgument(`Invalid isolation: "${hc.Isolation}" - linux only supports 'default'`);
  if (hc.StorageOpt && Object.keys(hc.StorageOpt).length > 0) {
    throw new InvalidArgument('--storage-opt is not supported: berth keeps container layers on overlayfs without per-container quotas');
  }
  // (A volume driver with no volume to make is ignored, as Docker ignores it.)
  const namedVolumes = (hc.Binds ?? []).some((b) => !b.startsWith('/')) || (hc.Mounts ?? []).some((m) => (m as { Type?: string } | null)?.Type === 'volume');
  if (hc.VolumeDriver && hc.VolumeDriver !== 'local' && namedVolumes) throw new InvalidArgument(`volume driver "${hc.VolumeDriver}" is not supported: berth has the local driver`);
  for (const r of hc.DeviceCgroupRules ?? []) parseDeviceCgroupRule(r);
  for (const d of hc.Devices ?? []) {
    if (typeof d?.PathOnHost !== 'string' || !d.PathOnHost.startsWith('/')) throw new InvalidArgument(`${String(d?.PathOnHost)} is not an absolute path`);
    if (d.PathInContainer && !d.PathInContainer.startsWith('/')) throw new InvalidArgument(`${d.PathInContainer} is not an absolute path`);
    if (d.CgroupPermissions && !/^[rwm]{1,3}$/.test(d.CgroupPermissions)) throw new InvalidArgument(`bad mode specified: ${d.CgroupPermissions}`);
  }
  const security = parseSecurityOpts(hc.SecurityOpt ?? []);
  if (security.seccomp !== undefined && security.seccomp !== 'unconfined' && security.seccomp !== 'builtin') {
    // Checked now, so that a bad profile fails `create`, not each start.
    resolveSeccomp(parseSeccompProfile(security.seccomp), { arch: goArch(process.arch), kernel: release(), caps: [] });
  }
  for (const [dest, opts] of Object.entries(hc.Tmpfs ?? {})) {
    if (!dest.startsWith('/')) throw new InvalidArgument(`invalid mount path: '${dest}' mount path must be absolute`);
    for (const opt of (opts ?? '').split(',')) {
      const m = /^(size|nr_blocks|nr_inodes|mode)=(.*)$/.exec(opt);
      if (m === null) continue;
      const ok = m[1] === 'mode' ? /^[0-7]{1,4}$/.test(m[2] as string) : /^\d+[kKmMgGtTpPeE%]?$/.test(m[2] as string);
      if (!ok) throw new InvalidArgument(`invalid tmpfs option for ${dest}: ${opt}: ${m[1] === 'mode' ? 'an octal mode' : 'a number with an optional k, m, g or %'} was expected`);
    }
  }
  const p = hc.RestartPolicy?.Name;
  if (p !== undefined && !['', 'no', 'always', 'unless-stopped', 'on-failure'].includes(p)) {
    throw new InvalidArgument(`invalid restart policy '${p}'`);
  }
  if ((hc.RestartPolicy?.MaximumRetryCount ?? 0) > 0 && p !== 'on-failure') {
    throw new InvalidArgument(`invalid restart policy: maximum retry count can only be used with 'on-failure'`);
  }
  if (hc.HealthOnFailure !== undefined && !['none', 'kill', 'restart', 'stop'].includes(hc.HealthOnFailure)) {
    throw new InvalidArgument(`invalid health-on-failure action '${hc.HealthOnFailure}': use none, kill, restart or stop`);
  }
}

/**
 * resolv.conf for a container: `--dns` servers, else berth's embedded DNS server (`embedded`,
 * on the network's gateway), else the host's (loopback ones cannot be reached from a
 * container's namespace). Search domains and options come from the host unless given.
 */
export function buildResolvConf(host: string, hc: HostConfig, embedded?: string[]): string {
  const lines = host.split('\n');
  const servers = hc.Dns && hc.Dns.length > 0 ? hc.Dns : embedded && embedded.length > 0 ? embedded : lines.filter((l) => /^\s*nameserver\s/.test(l)).map((l) => l.trim().split(/\s+/)[1] ?? '').filter((s) => s !== '' && !s.startsWith('127.') && s !== '::1');
  const search = hc.DnsSearch && hc.DnsSearch.length > 0 ? hc.DnsSearch : lines.filter((l) => /^\s*search\s/.test(l)).flatMap((l) => l.trim().split(/\s+/).slice(1));
  const options = hc.DnsOptions && hc.DnsOptions.length > 0 ? hc.DnsOptions : lines.filter((l) => /^\s*options\s/.test(l)).flatMap((l) => l.trim().split(/\s+/).slice(1));
  const out = [
    ...(servers.length > 0 ? servers : ['8.8.8.8', '8.8.4.4']).map((s) => `nameserver ${s}`),
    ...(search.length > 0 ? [`search ${search.join(' ')}`] : []),
    ...(options.length > 0 ? [`options ${options.join(' ')}`] : []),
  ];
  return `${out.join('\n')}\n`;
}

/** Docker's exit codes for a process that never started: 127 not found, 126 cannot be invoked. */
export function exitCodeForError(msg: string, otherwise = 128): number {
  if (/executable file not found|no such file or directory/.test(msg)) return 127;
  if (/permission denied/.test(msg)) return 126;
  return otherwise;
}

const SIGNALS: Record<string, number> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9,
  SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15, SIGSTKFLT: 16, SIGCHLD: 17,
  SIGCONT: 18, SIGSTOP: 19, SIGTSTP: 20, SIGTTIN: 21, SIGTTOU: 22, SIGURG: 23, SIGXCPU: 24, SIGXFSZ: 25,
  SIGVTALRM: 26, SIGPROF: 27, SIGWINCH: 28, SIGIO: 29, SIGPWR: 30, SIGSYS: 31,
};

/**
 * json-file rotation from `--log-opt`: `max-size` (Docker's units: 10k, 20m, 1g) and
 * `max-file`. Docker's rule: a `max-size` without `max-file` keeps one file. `max-size=-1`
 * turns rotation off.
 */
export function logRotation(opts: Record<string, string>, dflt: RotateOptions): RotateOptions {
  const rawSize = opts['max-size'];
  const rawFiles = opts['max-file'];
  if (rawSize === undefined && rawFiles === undefined) return dflt;
  let maxSize = dflt.maxSize;
  if (rawSize !== undefined) maxSize = rawSize === '-1' ? 0 : (parseSize(rawSize) ?? 0);
  let maxFiles = rawSize !== undefined ? 1 : dflt.maxFiles;
  if (rawFiles !== undefined) maxFiles = Number(rawFiles);
  return { maxSize, maxFiles };
}

/** Whether a container's output is logged: every log driver but `none`. */
export function keepsLogs(rec: ContainerRecord): boolean {
  return rec.hostConfig.LogConfig?.Type !== 'none';
}

/**
 * Checks `--log-driver`/`--log-opt` at create time, with Docker's messages. `none` keeps no
 * log and, as in Docker, takes any options.
 */
export function validateLogConfig(lc: HostConfig['LogConfig']): void {
  const type = lc?.Type ?? '';
  if (type === 'none') return;
  if (type !== '' && type !== 'json-file') {
    throw new InvalidArgument(`logging driver "${type}" is not supported by berth (use json-file, rotated by default, or none)`);
  }
  for (const [k, v] of Object.entries(lc?.Config ?? {})) {
    if (k === 'max-size') {
      let n: number | undefined;
      try {
        n = v === '-1' ? 1 : parseSize(v);
      } catch {
        n = undefined;
      }
      if (n === undefined || n <= 0) throw new InvalidArgument(`invalid value for log-opt max-size: ${v}`);
    } else if (k === 'max-file') {
      if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgument(`max-file cannot be less than 1`);
    } else if (!['labels', 'labels-regex', 'env', 'env-regex', 'tag', 'compress', 'mode', 'max-buffer-size'].includes(k)) {
      throw new InvalidArgument(`unknown log opt '${k}' for json-file log driver`);
    }
  }
}

export function normaliseSignal(s: string): string {
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    const name = Object.entries(SIGNALS).find(([, v]) => v === n)?.[0];
    if (!name) throw new InvalidArgument(`Invalid signal: ${s}`);
    return name;
  }
  const u = s.toUpperCase();
  const name = u.startsWith('SIG') ? u : `SIG${u}`;
  if (SIGNALS[name] === undefined) throw new InvalidArgument(`Invalid signal: ${s}`);
  return name;
}

export function signalNumber(name: string): number {
  return SIGNALS[name] ?? 0;
}

export function parseSize(s: string | undefined): number | undefined {
  if (s === undefined || s === '') return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)b?$/i.exec(s.trim());
  if (!m) throw new InvalidArgument(`invalid size: '${s}'`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[(m[2] ?? '').toLowerCase()] ?? 1;
  return Math.round(Number(m[1]) * mult);
}

/** True when `p` settles within `ms`; the timer is cleared either way (it must not hold the daemon up). */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([p.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

const ADJ = ['admiring', 'brave', 'calm', 'eager', 'focused', 'gallant', 'happy', 'jolly', 'keen', 'lucid', 'nifty', 'quirky', 'serene', 'tender', 'vibrant', 'zealous'];
const NOUN = ['turing', 'hopper', 'lovelace', 'curie', 'noether', 'ritchie', 'thompson', 'torvalds', 'wozniak', 'kare', 'liskov', 'knuth', 'dijkstra', 'hamilton', 'shannon', 'babbage'];

/** Docker's `adjective_surname`; a digit is appended when the name is taken, as Docker retries. */
export function generateName(taken: (name: string) => boolean = () => false): string {
  for (let attempt = 0; ; attempt++) {
    const r = randomBytes(3);
    const base = `${ADJ[(r[0] ?? 0) % ADJ.length]}_${NOUN[(r[1] ?? 0) % NOUN.length]}`;
    const name = attempt === 0 ? base : `${base}${(r[2] ?? 0) % 10}`;
    if (!taken(name)) return name;
  }
}

/** A host device as the runtime makes it, at its path in the container. */
function ociDevice(d: HostDevice, path: string): OciDevice {
  return { ...d, path };
}

/** What create warns about, as Docker does: settings it keeps but the kernel or berth will not act on. */
function hostWarnings(hc: HostConfig, blkioWeight: () => boolean, swapLimit: () => boolean = () => true): string[] {
  const out: string[] = [];
  if ((hc.Memory ?? 0) > 0 && (hc.MemorySwap ?? 0) > 0 && !swapLimit()) {
    out.push('Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.');
    hc.MemorySwap = -1;
  }
  if (hc.KernelMemory !== undefined && hc.KernelMemory > 0) out.push('Specifying a kernel memory limit is deprecated and will be removed in a future release.');
  if ((hc.NetworkMode ?? '') === 'host' && Object.keys(hc.PortBindings ?? {}).length > 0) out.push('Published ports are discarded when using host network mode');
  if (hc.BlkioWeight !== undefined && hc.BlkioWeight > 0 && !blkioWeight()) {
    out.push('Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.');
    hc.BlkioWeight = 0;
  }
  if (hc.BlkioWeightDevice && hc.BlkioWeightDevice.length > 0 && !blkioWeight()) {
    out.push('Your kernel does not support Block I/O weight_device or the cgroup is not mounted. Weight-device discarded.');
    hc.BlkioWeightDevice = [];
  }
  return out;
}

/** `linux.resources.blockIO`: the weight, and the throttles with their devices' numbers read from the host. */
async function blockIO(hc: HostConfig): Promise<{ blockIO?: Record<string, unknown> }> {
  const out: Record<string, unknown> = {};
  if (hc.BlkioWeight !== undefined && hc.BlkioWeight > 0) out.weight = hc.BlkioWeight;
  const device = async (path: string) => {
    const [d] = await devicesAt(path).catch((e: unknown) => {
      throw new InvalidArgument(`${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : errorMessage(e)}`);
    });
    if (d === undefined || d.path !== path) throw new InvalidArgument(`${path} is not a device`);
    return { major: d.major, minor: d.minor };
  };
  if (hc.BlkioWeightDevice && hc.BlkioWeightDevice.length > 0) {
    out.weightDevice = await Promise.all(hc.BlkioWeightDevice.map(async (w) => ({ ...(await device(w.Path)), weight: w.Weight })));
  }
  const lists = [
    ['throttleReadBpsDevice', hc.BlkioDeviceReadBps],
    ['throttleWriteBpsDevice', hc.BlkioDeviceWriteBps],
    ['throttleReadIOPSDevice', hc.BlkioDeviceReadIOps],
    ['throttleWriteIOPSDevice', hc.BlkioDeviceWriteIOps],
  ] as const;
  for (const [key, list] of lists) {
    if (!list || list.length === 0) continue;
    out[key] = await Promise.all(list.map(async (t) => ({ ...(await device(t.Path)), rate: t.Rate })));
  }
  return Object.keys(out).length > 0 ? { blockIO: out } : {};
}

/** Docker's variables for a link on the default bridge: name, exposed ports, the linked container's environment. */
export function linkEnv(alias: string, localName: string, ip: string, other: Pick<ContainerRecord, 'config'>): string[] {
  const a = alias.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
  const env = [`${a}_NAME=${localName}`];
  const ports = Object.keys(other.config.ExposedPorts ?? {})
    .map((p) => {
      const [n = '', proto = 'tcp'] = p.split('/');
      return { n: Number(n), proto };
    })
    .filter((p) => Number.isInteger(p.n) && p.n > 0)
    .sort((x, y) => x.n - y.n || x.proto.localeCompare(y.proto));
  const first = ports[0];
  if (first !== undefined) env.push(`${a}_PORT=${first.proto}://${ip}:${first.n}`);
  for (const p of ports) {
    const k = `${a}_PORT_${p.n}_${p.proto.toUpperCase()}`;
    env.push(`${k}=${p.proto}://${ip}:${p.n}`, `${k}_ADDR=${ip}`, `${k}_PORT=${p.n}`, `${k}_PROTO=${p.proto}`);
  }
  for (const e of other.config.Env ?? []) {
    const i = e.indexOf('=');
    if (i <= 0) continue;
    const k = e.slice(0, i);
    if (k === 'HOME' || k === 'PATH') continue;
    env.push(`${a}_ENV_${k}=${e.slice(i + 1)}`);
  }
  return env;
}
