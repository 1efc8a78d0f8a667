import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AlreadyExists, Conflict, InvalidArgument, NotFound } from '../../core/errors.js';
import type { Mounter } from '../../sys/mount.js';
import type { EventBus } from '../events/bus.js';
import { readJsonIfExists, writeJsonAtomic } from '../util/atomic.js';
import { Mutex } from '../util/mutex.js';

/**
 * Named and anonymous volumes with the local driver, in Docker's layout:
 * `<root>/volumes/<name>/_data` holds the data, `volume.json` the record. Options
 * `type`/`device`/`o` (`-o type=tmpfs -o device=tmpfs -o o=size=64m`) make the data dir a
 * mount, made when the first container using the volume starts and undone after the last.
 */

export interface VolumeRecord {
  Name: string;
  Driver: 'local';
  Mountpoint: string;
  CreatedAt: string;
  Labels: Record<string, string>;
  Options: Record<string, string>;
  Scope: 'local';
  /** berth: made for one container (`VOLUME`, `-v /path`), removed with it by `rm -v`. */
  anonymous?: boolean;
}

export interface CreateVolumeRequest {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';

function sameOptions(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}
const LOCAL_OPTS = new Set(['type', 'device', 'o', 'size']);

export function validVolumeName(name: string): boolean {
  return NAME.test(name);
}

export class VolumeService {
  private readonly records = new Map<string, VolumeRecord>();
  private readonly dir: string;
  private readonly lock = new Mutex();
  /** Containers currently using a mounted (`-o type=`) volume. */
  private readonly users = new Map<string, Set<string>>();

  constructor(
    root: string,
    private readonly mounter: Mounter,
    private readonly events: EventBus,
  ) {
    this.dir = join(root, 'volumes');
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o701 });
    for (const name of await readdir(this.dir)) {
      if (name.startsWith('.')) {
        await rm(join(this.dir, name), { recursive: true, force: true }); // an unfinished create or remove
        continue;
      }
      const r = await readJsonIfExists<VolumeRecord>(join(this.dir, name, 'volume.json'));
      if (r) this.records.set(r.Name, r);
    }
  }

  list(): VolumeRecord[] {
    return [...this.records.values()];
  }

  tryGet(name: string): VolumeRecord | undefined {
    return this.records.get(name);
  }

  get(name: string): VolumeRecord {
    const r = this.records.get(name);
    if (!r) throw new NotFound(`get ${name}: no such volume`);
    return r;
  }

  /** Creates a volume; an existing one of the same name is returned as it is (Docker's rule). */
  async create(req: CreateVolumeRequest, opts: { anonymous?: boolean } = {}): Promise<VolumeRecord> {
    return this.lock.run(async () => {
      const name = req.Name && req.Name !== '' ? req.Name : randomBytes(32).toString('hex');
      if (!NAME.test(name)) {
        throw new InvalidArgument(
          `create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`,
        );
      }
      const driver = req.Driver && req.Driver !== '' ? req.Driver : 'local';
      if (driver !== 'local') throw new NotFound(`error looking up volume plugin ${driver}: plugin "${driver}" not found`);
      const existing = this.records.get(name);
      if (existing) {
        if (req.DriverOpts && Object.keys(req.DriverOpts).length > 0 && !sameOptions(req.DriverOpts, existing.Options)) {
          throw new AlreadyExists(`create ${name}: volume already exists with different options`);
        }
        return existing;
      }
      const options = { ...(req.DriverOpts ?? {}) };
      for (const k of Object.keys(options)) if (!LOCAL_OPTS.has(k)) throw new InvalidArgument(`create ${name}: invalid option key: "${k}"`);
      if ((options.type !== undefined || options.o !== undefined) && options.device === undefined) {
        throw new InvalidArgument(`create ${name}: missing required option: "device"`);
      }
      // Docker 23+: a volume made without a name is anonymous (labelled so), and `volume prune`
      // removes it like the anonymous volumes of containers.
      const anonymous = opts.anonymous === true || !req.Name;
      const record: VolumeRecord = {
        Name: name,
        Driver: 'local',
        Mountpoint: join(this.dir, name, '_data'),
        CreatedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        Labels: { ...(req.Labels ?? {}), ...(anonymous ? { [ANONYMOUS_LABEL]: '' } : {}) },
        Options: options,
        Scope: 'local',
        ...(anonymous ? { anonymous: true } : {}),
      };
      // Made under a dot-name and renamed into place: a crash leaves no half volume.
      const tmp = join(this.dir, `.new-${name}`);
      await rm(tmp, { recursive: true, force: true });
      await mkdir(join(tmp, '_data'), { recursive: true, mode: 0o755 });
      await writeJsonAtomic(join(tmp, 'volume.json'), record);
      await rename(tmp, join(this.dir, name));
      this.records.set(name, record);
      this.events.publish('volume', 'create', name, { driver: 'local' });
      return record;
    });
  }

  /** Removes a volume; `inUse` names the containers that reference it (refused unless `force`... and even then while in use). */
  async remove(name: string, opts: { force?: boolean; inUse: (name: string) => string[] }): Promise<void> {
    await this.lock.run(async () => {
      const r = this.records.get(name);
      if (!r) {
        if (opts.force === true) return;
        throw new NotFound(`get ${name}: no such volume`);
      }
      const users = opts.inUse(name);
      if (users.length > 0) throw new Conflict(`remove ${name}: volume is in use - [${users.join(', ')}]`);
      if (this.users.get(name)?.size) throw new Conflict(`remove ${name}: volume is in use`);
      const trash = join(this.dir, `.rm-${name}-${randomBytes(4).toString('hex')}`);
      await rename(join(this.dir, name), trash);
      this.records.delete(name);
      await rm(trash, { recursive: true, force: true });
      this.events.publish('volume', 'destroy', name, { driver: 'local' });
    });
  }

  /** Makes a `-o type=...` volume's data dir a mount for its first user; plain volumes need nothing. */
  async acquire(name: string, containerId: string): Promise<string> {
    const r = this.get(name);
    if (r.Options.device === undefined) return r.Mountpoint;
    const set = this.users.get(name) ?? new Set<string>();
    if (set.size === 0) {
      const o = [r.Options.o, r.Options.size !== undefined ? `size=${r.Options.size}` : undefined].filter((x): x is string => x !== undefined && x !== '');
      await this.mounter.mount({ type: r.Options.type ?? 'none', source: r.Options.device, options: o.flatMap((x) => x.split(',')) }, r.Mountpoint);
    }
    set.add(containerId);
    this.users.set(name, set);
    return r.Mountpoint;
  }

  async release(name: string, containerId: string): Promise<void> {
    const set = this.users.get(name);
    if (!set?.delete(containerId) || set.size > 0) return;
    const r = this.records.get(name);
    if (r) await this.mounter.unmount(r.Mountpoint).catch(() => undefined);
  }

  /** True when the volume's data dir holds nothing (a fresh volume: copy-up applies). */
  async isEmpty(name: string): Promise<boolean> {
    const r = this.get(name);
    return (await readdir(r.Mountpoint).catch(() => [])).length === 0;
  }

  /** Bytes used by a volume (system df). */
  async size(name: string): Promise<number> {
    return dirSize(this.get(name).Mountpoint);
  }
}

export async function dirSize(path: string): Promise<number> {
  let total = 0;
  const seen = new Set<string>();
  const walk = async (p: string): Promise<void> => {
    const st = await lstat(p).catch(() => undefined);
    if (!st) return;
    const key = `${st.dev}:${st.ino}`;
    if (seen.has(key)) return;
    seen.add(key);
    if (st.isDirectory()) {
      for (const e of await readdir(p).catch(() => [] as string[])) await walk(join(p, e));
    } else {
      total += st.size;
    }
  };
  await walk(path);
  return total;
}
