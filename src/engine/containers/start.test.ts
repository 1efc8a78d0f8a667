import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Mounter } from '../../sys/mount.js';
import type { OciRuntime } from '../../sys/runtime.js';
import { EventBus } from '../events/bus.js';
import type { ImageStore } from '../images/store.js';
import type { ContainerNetSetup } from '../network/service.js';
import type { OverlaySnapshotter } from '../snapshots/overlay.js';
import { Conflict } from '../../core/errors.js';
import { ContainerService, type ContainerNetworking } from './service.js';

/** An image store that knows one image: this config, these layers (a top chain, or none). */
function oneImage(config: Record<string, unknown>, topChain?: string): ImageStore {
  return {
    resolve: () => ({ id: 'sha256:' + 'a'.repeat(64) }),
    config: async () => ({ architecture: 'amd64', os: 'linux', config, rootfs: { type: 'layers', diff_ids: [] } }),
    topChain: () => topChain,
  } as unknown as ImageStore;
}

/** A snapshotter whose mounts are nothing (the container's root is a plain directory). */
const SNAPSHOTS = { mountFor: async () => ({ type: 'overlay', source: 'overlay', options: [] }) } as unknown as OverlaySnapshotter;
/** A mounter that mounts nothing. */
const MOUNTER = { mount: async () => undefined, isMounted: async () => false, unmount: async () => undefined } as unknown as Mounter;

/**
 * The order of a start, with the kernel-facing parts stood in for: the runtime may create the
 * container while its network is still being set up inside its namespace, but the process
 * starts only once that is done, and a failed start is cleaned up only after it.
 */
describe('container start and the network', () => {
  let dir: string;
  let svc: ContainerService;
  let log: string[];
  let ready: { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void };
  let monitor: () => Promise<number>;

  function deferred() {
    let resolve!: () => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  }
  const settle = () => new Promise((resolve) => setTimeout(resolve, 20));
  /** Until the runtime has been asked to create the container (however slow the machine). */
  async function created(): Promise<void> {
    for (let i = 0; i < 500 && !log.includes('created'); i++) await settle();
    await settle();
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-start-'));
    log = [];
    ready = deferred();
    monitor = async () => 4242;
    const images = oneImage({ Cmd: ['true'] });
    const snapshots = SNAPSHOTS;
    const mounter = MOUNTER;
    const runtime = {
      // (a start first deletes whatever runtime state an earlier run left: not logged)
      delete: async () => void (log.includes('created') && log.push('runtime delete')),
      spawnMonitor: async () => {
        log.push('created');
        return monitor();
      },
      start: async () => void log.push('process started'),
      // The process ends when killed: conmon writes its exit file (a temporary file renamed).
      kill: async (id: string) => {
        log.push('killed');
        await writeFile(join(dir, 'run', 'exits', `${id}.tmp`), '143');
        await rename(join(dir, 'run', 'exits', `${id}.tmp`), join(dir, 'run', 'exits', id));
      },
    } as unknown as OciRuntime;
    const network: ContainerNetworking = {
      prepare: () => undefined,
      setUp: async (): Promise<ContainerNetSetup> => {
        log.push('namespace made');
        const p = ready.promise.then(() => void log.push('network ready'), (e: unknown) => {
          log.push('network failed');
          throw e;
        });
        p.catch(() => undefined);
        return { netnsPath: '/run/netns/x', hostNetwork: false, hostsLines: [], ready: p };
      },
      tearDown: async () => void log.push('network torn down'),
    };
    svc = new ContainerService({ paths: { root: join(dir, 'root'), execRoot: join(dir, 'run') }, images, snapshots, runtime, mounter, events: new EventBus(), network });
    await svc.init();
  });
  afterEach(async () => {
    await svc.close();
    await rm(dir, { recursive: true, force: true });
  });

  const create = async () => (await svc.create({ config: { Image: 'busybox' }, hostConfig: {} })).Id;

  it('creates the container at once, and starts its process once the network is ready', async () => {
    const id = await create();
    const started = svc.start(id);
    await created();
    expect(log).toEqual(['namespace made', 'created']);
    ready.resolve();
    await started;
    expect(log).toEqual(['namespace made', 'created', 'network ready', 'process started']);
    expect(svc.get(id).state.Running).toBe(true);
  });

  it('stops a container whose start is under way once it runs (docker stop during a restart policy\'s start)', async () => {
    const id = await create();
    const started = svc.start(id);
    await created();
    let stopped = false;
    const stopping = svc.stop(id, { timeout: 5 }).then(() => (stopped = true));
    await settle();
    expect(stopped).toBe(false);
    // A second start meanwhile is told the container is started already.
    await expect(svc.start(id)).rejects.toThrow('already started');
    ready.resolve();
    await started;
    await stopping;
    expect(log.slice(0, 5)).toEqual(['namespace made', 'created', 'network ready', 'process started', 'killed']);
    expect(svc.get(id).state).toMatchObject({ Status: 'exited', Running: false, ExitCode: 143 });
    expect(svc.get(id).manuallyStopped).toBe(true);
  });

  it('fails the start when the network fails, removing what the runtime created, then the network', async () => {
    const id = await create();
    const started = svc.start(id);
    await created();
    ready.reject(new Error('ip: RTNETLINK answers: File exists'));
    await expect(started).rejects.toThrow('RTNETLINK');
    expect(log.slice(0, 3)).toEqual(['namespace made', 'created', 'network failed']);
    expect(log).toContain('runtime delete');
    expect(log).toContain('network torn down');
    expect(log).not.toContain('process started');
    expect(svc.get(id).state).toMatchObject({ Status: 'created', Running: false, ExitCode: 128 });
    // The killed process's monitor writes its exit file afterwards: not the end of a run.
    await writeFile(join(svc.exitDir, id), '137');
    await settle();
    expect(svc.get(id).state).toMatchObject({ Status: 'created', Running: false, ExitCode: 128 });
  });

  it('tears the network down only after its setting up has ended, when the runtime fails first', async () => {
    monitor = async () => {
      throw new Error('OCI runtime create failed');
    };
    const id = await create();
    const started = svc.start(id);
    started.catch(() => undefined);
    await created();
    expect(log).toEqual(['namespace made', 'created']);
    ready.resolve();
    await expect(started).rejects.toThrow('OCI runtime create failed');
    expect(log.indexOf('network ready')).toBeLessThan(log.indexOf('network torn down'));
  });
});

/** `docker update` of the CPU limits: --cpus and the CFS period/quota exclude each other, in Docker's words. */
describe('container update: --cpus against --cpu-period/--cpu-quota', () => {
  let dir: string;
  let svc: ContainerService;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-update-'));
    svc = new ContainerService({
      paths: { root: join(dir, 'root'), execRoot: join(dir, 'run') },
      images: oneImage({ Cmd: ['true'] }),
      snapshots: {} as OverlaySnapshotter,
      runtime: {} as OciRuntime,
      mounter: {} as Mounter,
      events: new EventBus(),
    });
    await svc.init();
  });
  afterEach(async () => {
    await svc.close();
    await rm(dir, { recursive: true, force: true });
  });
  const create = async (hostConfig: Record<string, number>) => (await svc.create({ config: { Image: 'busybox' }, hostConfig })).Id;

  it('refuses both in one request', async () => {
    const id = await create({});
    await expect(svc.update(id, { NanoCpus: 5e8, CpuPeriod: 50000 })).rejects.toThrow('Conflicting options: Nano CPUs and CPU Period cannot both be set');
    await expect(svc.update(id, { NanoCpus: 5e8, CpuQuota: 20000 })).rejects.toThrow('Conflicting options: Nano CPUs and CPU Quota cannot both be set');
    expect(svc.get(id).hostConfig).not.toHaveProperty('NanoCpus');
  });

  it('refuses one over the other (409), and keeps what the container had', async () => {
    const quota = await create({ CpuQuota: 20000 });
    await expect(svc.update(quota, { NanoCpus: 5e8 })).rejects.toMatchObject({ message: 'Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set', constructor: Conflict });
    const period = await create({ CpuPeriod: 50000 });
    await expect(svc.update(period, { NanoCpus: 5e8 })).rejects.toThrow('Nano CPUs cannot be updated as CPU Period has already been set');
    const cpus = await create({ NanoCpus: 5e8 });
    await expect(svc.update(cpus, { CpuQuota: 20000 })).rejects.toThrow('Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set');
    await expect(svc.update(cpus, { CpuPeriod: 50000 })).rejects.toThrow('Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set');
    expect(svc.get(cpus).hostConfig).toMatchObject({ NanoCpus: 5e8 });
    expect(svc.get(cpus).hostConfig).not.toHaveProperty('CpuQuota');
    // The same kind again is an update like any other.
    await svc.update(cpus, { NanoCpus: 1e9 });
    expect(svc.get(cpus).hostConfig).toMatchObject({ NanoCpus: 1e9 });
    await svc.update(quota, { CpuQuota: 30000, CpuPeriod: 100000 });
    expect(svc.get(quota).hostConfig).toMatchObject({ CpuQuota: 30000, CpuPeriod: 100000 });
  });

  it("gives a memory limit Docker's swap (as much again), refuses swap under or without memory, and memory over the swap set", async () => {
    const id = await create({ Memory: 64 * 1024 * 1024 });
    expect(svc.get(id).hostConfig.MemorySwap).toBe(128 * 1024 * 1024);
    expect(svc.get(await create({ Memory: 64 * 1024 * 1024, MemorySwap: -1 })).hostConfig.MemorySwap).toBe(-1);
    await expect(create({ Memory: 64 * 1024 * 1024, MemorySwap: 32 * 1024 * 1024 })).rejects.toThrow('Minimum memoryswap limit should be larger than memory limit, see usage');
    await expect(create({ MemorySwap: 32 * 1024 * 1024 })).rejects.toThrow('You should always set the Memory limit when using Memoryswap limit, see usage');
    await expect(svc.update(id, { Memory: 300 * 1024 * 1024 })).rejects.toThrow(`Cannot update container ${id}: Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time`);
    await svc.update(id, { Memory: 300 * 1024 * 1024, MemorySwap: 600 * 1024 * 1024 });
    expect(svc.get(id).hostConfig).toMatchObject({ Memory: 300 * 1024 * 1024, MemorySwap: 600 * 1024 * 1024 });
  });

  it('keeps no pids limit asked for as none (null in inspect), and an update to unlimited as 0, as Docker does', async () => {
    expect(svc.get(await create({})).hostConfig.PidsLimit ?? null).toBeNull();
    expect(svc.get(await create({ PidsLimit: -1 })).hostConfig.PidsLimit ?? null).toBeNull();
    const id = await create({ PidsLimit: 50 });
    expect(svc.get(id).hostConfig.PidsLimit).toBe(50);
    await svc.update(id, { PidsLimit: -1 });
    expect(svc.get(id).hostConfig.PidsLimit).toBe(0);
  });

  it('keeps cpuset mems, real-time CPU and a block I/O weight in range (the docker CLI sends them too)', async () => {
    const id = await create({});
    await svc.update(id, { CpusetMems: '0', CpuRealtimePeriod: 1000000, CpuRealtimeRuntime: 950 });
    expect(svc.get(id).hostConfig).toMatchObject({ CpusetMems: '0', CpuRealtimePeriod: 1000000, CpuRealtimeRuntime: 950 });
    await expect(svc.update(id, { BlkioWeight: 5 })).rejects.toThrow('Range of blkio weight is from 10 to 1000');
    await expect(svc.update(id, { BlkioWeight: 1001 })).rejects.toThrow('Range of blkio weight is from 10 to 1000');
    // Kept where the kernel has a weight; dropped with Docker's warning where it has none.
    const r = await svc.update(id, { BlkioWeight: 300 });
    if (r.Warnings.length === 0) expect(svc.get(id).hostConfig.BlkioWeight).toBe(300);
    else {
      expect(r.Warnings).toEqual(['Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.']);
      expect(svc.get(id).hostConfig.BlkioWeight ?? 0).toBe(0);
    }
  });
});

/**
 * The user of a start comes from the image's /etc/passwd and /etc/group, read inside the
 * container's root: once per image for containers whose writable layer is empty, again for a
 * container that has written to its own.
 */
describe('container start: the image user', () => {
  let dir: string;
  let svc: ContainerService;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-user-'));
    const images = oneImage({ Cmd: ['true'], User: 'app' }, 'sha256:' + 'd'.repeat(64));
    const runtime = { delete: async () => undefined, spawnMonitor: async () => 4242, start: async () => undefined } as unknown as OciRuntime;
    svc = new ContainerService({
      paths: { root: join(dir, 'root'), execRoot: join(dir, 'run') },
      images,
      snapshots: SNAPSHOTS,
      runtime,
      mounter: MOUNTER,
      events: new EventBus(),
    });
    await svc.init();
  });
  afterEach(async () => {
    await svc.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** A created container whose root (the stand-in mount: a plain directory) has these files. */
  async function containerWith(passwd: string, group: string): Promise<string> {
    const id = (await svc.create({ config: { Image: 'app' }, hostConfig: {} })).Id;
    const etc = join(dir, 'root', 'containers', id, 'merged', 'etc');
    await mkdir(etc, { recursive: true });
    await writeFile(join(etc, 'passwd'), passwd);
    await writeFile(join(etc, 'group'), group);
    await mkdir(join(dir, 'root', 'containers', id, 'upper'), { recursive: true });
    return id;
  }
  async function processOf(id: string): Promise<{ user: { uid: number; gid: number; additionalGids?: number[] }; env: string[] }> {
    const spec = JSON.parse(await readFile(join(dir, 'run', 'c', id.slice(0, 12), 'config.json'), 'utf8')) as { process: { user: { uid: number; gid: number; additionalGids?: number[] }; env: string[] } };
    return spec.process;
  }

  it('reads the files once per image for containers with an empty writable layer, again for one that has written', async () => {
    const first = await containerWith('app:x:1000:1000::/home/app:/bin/sh\n', 'app:x:1000:\nextra:x:2000:app\n');
    await svc.start(first);
    expect(await processOf(first)).toMatchObject({ user: { uid: 1000, gid: 1000, additionalGids: [1000, 2000] } });
    expect((await processOf(first)).env).toContain('HOME=/home/app');

    // Another container of the same image: its (stand-in) root says otherwise, but an empty
    // writable layer means the image's files, read already.
    const second = await containerWith('app:x:3000:3000::/elsewhere:/bin/sh\n', 'app:x:3000:\n');
    await svc.start(second);
    expect(await processOf(second)).toMatchObject({ user: { uid: 1000, gid: 1000, additionalGids: [1000, 2000] } });

    // A container that has written to its own layer is read again.
    const third = await containerWith('app:x:3000:3000::/elsewhere:/bin/sh\n', 'app:x:3000:\n');
    await writeFile(join(dir, 'root', 'containers', third, 'upper', 'written'), '');
    await svc.start(third);
    expect(await processOf(third)).toMatchObject({ user: { uid: 3000, gid: 3000, additionalGids: [3000] } });
    expect((await processOf(third)).env).toContain('HOME=/elsewhere');
  });

  it('keeps nothing read from a container that has written to its layer', async () => {
    const written = await containerWith('app:x:3000:3000::/elsewhere:/bin/sh\n', 'app:x:3000:\n');
    await writeFile(join(dir, 'root', 'containers', written, 'upper', 'written'), '');
    await svc.start(written);
    const fresh = await containerWith('app:x:1000:1000::/home/app:/bin/sh\n', 'app:x:1000:\n');
    await svc.start(fresh);
    expect(await processOf(fresh)).toMatchObject({ user: { uid: 1000, gid: 1000 } });
  });
});

/**
 * The end of a --rm container: removed (name free, `wait --condition removed` answered) while
 * what its process left on the host is still being undone; its directory goes after that, and
 * a daemon that stopped before finds the leftovers by the directory when it starts again.
 */
describe('container exit: --rm', () => {
  let dir: string;
  let svc: ContainerService;
  let log: string[];
  let unmounted: { promise: Promise<void>; resolve: () => void };
  let mounted: Set<string>;

  function deferred() {
    let resolve!: () => void;
    const promise = new Promise<void>((res) => (resolve = res));
    return { promise, resolve };
  }
  /** The exit file as conmon writes it: a temporary file renamed into place. */
  async function exits(id: string, code: string): Promise<void> {
    await writeFile(join(svc.exitDir, `${id}.tmp`), code);
    await rename(join(svc.exitDir, `${id}.tmp`), join(svc.exitDir, id));
  }
  async function until(what: () => boolean): Promise<void> {
    for (let i = 0; i < 500 && !what(); i++) await new Promise((r) => setTimeout(r, 10));
  }
  function service(): ContainerService {
    const images = oneImage({ Cmd: ['true'] });
    const runtime = {
      delete: async (id: string) => void log.push(`runtime delete ${id.slice(0, 4)}`),
      spawnMonitor: async () => 4242,
      start: async () => undefined,
    } as unknown as OciRuntime;
    const mounter = {
      mount: async (_m: unknown, target: string) => void mounted.add(target),
      isMounted: async (target: string) => mounted.has(target),
      unmount: async (target: string) => {
        if (!mounted.has(target)) return;
        log.push('unmounting');
        await unmounted.promise;
        mounted.delete(target);
        log.push('unmounted');
      },
    } as unknown as Mounter;
    const network: ContainerNetworking = {
      prepare: () => undefined,
      setUp: async () => ({ netnsPath: '/run/netns/x', hostNetwork: false, hostsLines: [], ready: Promise.resolve() }),
      tearDown: async () => void log.push('network torn down'),
      forget: async (id: string) => void log.push(`namespace of ${id.slice(0, 4)} forgotten`),
    };
    return new ContainerService({
      paths: { root: join(dir, 'root'), execRoot: join(dir, 'run') },
      images,
      snapshots: SNAPSHOTS,
      runtime,
      mounter,
      events: new EventBus(),
      network,
    });
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-rm-'));
    log = [];
    mounted = new Set();
    unmounted = deferred();
    svc = service();
    await svc.init();
  });
  afterEach(async () => {
    unmounted.resolve();
    await svc.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers the removal before the root is unmounted, and deletes the directory only after', async () => {
    const id = (await svc.create({ name: 'once', config: { Image: 'busybox' }, hostConfig: { AutoRemove: true } })).Id;
    await svc.start(id);
    const removed = svc.wait(id, 'removed');
    await exits(id, '3');
    expect(await removed).toBe(3);
    expect(log).toContain('unmounting');
    expect(log).not.toContain('unmounted');
    expect(() => svc.get(id)).toThrow();
    // The name is free at once; the directory (writable layer, logs) is still there.
    await svc.create({ name: 'once', config: { Image: 'busybox' }, hostConfig: {} });
    expect(existsSync(join(dir, 'root', 'containers', id))).toBe(true);
    unmounted.resolve();
    await until(() => !existsSync(join(dir, 'root', 'containers', id)));
    expect(existsSync(join(dir, 'root', 'containers', id))).toBe(false);
    expect(log.indexOf('unmounted')).toBeGreaterThan(log.indexOf('unmounting'));
  });

  it('waits for the teardown of a container with a published port before answering', async () => {
    const id = (await svc.create({ config: { Image: 'busybox' }, hostConfig: { AutoRemove: true } })).Id;
    await svc.start(id);
    // As the network's setUp records it for a container with -p 8080:80.
    svc.get(id).network = { netns: 'berth-x', endpoints: {}, ports: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }] } };
    const removed = svc.wait(id, 'removed');
    let answered = false;
    void removed.then(() => (answered = true));
    await exits(id, '0');
    await until(() => log.includes('unmounting'));
    await new Promise((r) => setTimeout(r, 50));
    expect(answered).toBe(false);
    unmounted.resolve();
    expect(await removed).toBe(0);
    expect(log).toContain('unmounted');
  });

  it('cleans up, when it starts, after a daemon that stopped while a removed container was torn down', async () => {
    const id = (await svc.create({ config: { Image: 'busybox' }, hostConfig: { AutoRemove: true } })).Id;
    await svc.start(id);
    const removed = svc.wait(id, 'removed');
    await exits(id, '0');
    await removed;
    // The daemon goes while the root is being unmounted (the stand-in's unmount does not end);
    // a new one starts on the same state.
    const stuck = unmounted;
    log = [];
    unmounted = deferred();
    unmounted.resolve();
    const next = service();
    await next.init();
    expect(log).toEqual([`runtime delete ${id.slice(0, 4)}`, `namespace of ${id.slice(0, 4)} forgotten`, 'unmounting', 'unmounted']);
    expect(existsSync(join(dir, 'root', 'containers', id))).toBe(false);
    stuck.resolve();
    await svc.close();
    svc = next;
  });
});

/** Writes the exit file conmon leaves for a container whose process ended with `code`. */
async function exited(exitDir: string, id: string, code: number): Promise<void> {
  await writeFile(join(exitDir, `${id}.tmp`), String(code));
  await rename(join(exitDir, `${id}.tmp`), join(exitDir, id));
}

/**
 * A service in a temporary directory over the runtime `runtimeFor` makes (given the exit
 * directory, where it writes exits), its events' actions in `seen`; `run` gets both, and the
 * service is closed and the directory removed after.
 */
async function withRecordingService(
  cmd: string[],
  runtimeFor: (exitDir: string) => Partial<Record<keyof OciRuntime, unknown>>,
  run: (svc: ContainerService, seen: string[]) => Promise<void>,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-events-'));
  const events = new EventBus();
  const seen: string[] = [];
  events.subscribe((e) => void seen.push(e.Action));
  const svc = new ContainerService({
    paths: { root: join(dir, 'root'), execRoot: join(dir, 'run') },
    images: oneImage({ Cmd: cmd }),
    snapshots: SNAPSHOTS,
    runtime: { delete: async () => undefined, spawnMonitor: async () => 4242, start: async () => undefined, ...runtimeFor(join(dir, 'run', 'exits')) } as unknown as OciRuntime,
    mounter: MOUNTER,
    events,
  });
  await svc.init();
  try {
    await run(svc, seen);
  } finally {
    await svc.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** `rm -f` of a running --rm container: the container's own removal joins the one asked for; one `destroy`. */
describe('container remove: rm -f of a running --rm container', () => {
  it('removes it once, with one destroy event, kill before die', async () => {
    const runtime = (exitDir: string) => ({
      // The process ends when killed: conmon writes its exit file.
      kill: async (id: string) => {
        await exited(exitDir, id, 137);
        // A runtime slower to answer than the exit is to be noticed: die still comes after kill.
        await new Promise((r) => setTimeout(r, 40));
      },
    });
    await withRecordingService(['sleep', '100'], runtime, async (svc, seen) => {
      const id = (await svc.create({ config: { Image: 'busybox' }, hostConfig: { AutoRemove: true } })).Id;
      await svc.start(id);
      await svc.remove(id, { force: true, volumes: false });
      // The exit is noticed on its own time (a busy machine: later than 50 ms); then a second
      // destroy, were there one, would follow at once.
      for (let i = 0; i < 100 && !seen.includes('destroy'); i++) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 50));
      expect(seen.filter((a) => a === 'destroy')).toHaveLength(1);
      expect(seen.slice(-3)).toEqual(['kill', 'die', 'destroy']);
      expect(() => svc.get(id)).toThrow();
    });
  });
});

describe('container start: a process that ends at once', () => {
  it('is recorded running, then exited, with start before die (the exit was handled before the start was recorded)', async () => {
    const runtime = (exitDir: string) => ({
      // The process runs and ends before the runtime has answered the start.
      start: async (id: string) => {
        await exited(exitDir, id, 0);
        await new Promise((r) => setTimeout(r, 60));
      },
    });
    await withRecordingService(['true'], runtime, async (svc, seen) => {
      const id = (await svc.create({ config: { Image: 'busybox' }, hostConfig: {} })).Id;
      await svc.start(id);
      for (let i = 0; i < 100 && !seen.includes('die'); i++) await new Promise((r) => setTimeout(r, 20));
      expect(seen).toEqual(['create', 'start', 'die']);
      expect(svc.get(id).state).toMatchObject({ Status: 'exited', Running: false, ExitCode: 0 });
    });
  });
});
