import * as fs from 'node:fs';
import type { Stats } from 'node:fs';
import { cleanPath } from '../../core/copypath.js';
import { joinRel, parentOf, baseOf } from '../layers/paths.js';
import { mountOf, releaseCursor, resolveInScope, sortMounts, type ScopeWalker, type Step } from './scope.js';
import type { MountPoint } from './types.js';

/**
 * A container's filesystem as the container sees it (its root plus its volumes, binds and
 * tmpfs mounts), reached only through directory descriptors: every lookup is one component,
 * relative to its parent's open descriptor (`/proc/self/fd/<fd>/<name>`, which is
 * `openat(fd, name)`), with O_NOFOLLOW. Symlinks are never followed by the kernel; the
 * scope resolver (`scope.ts`) reads them and walks their targets inside the container. A
 * container that swaps a directory for a symlink while we work makes a lookup fail or land
 * elsewhere in its own tree, never on the host.
 *
 * Mounts: a path at or below a mount's destination is looked up in the mount's host source
 * (a volume's data dir, a bind source); a running container's tmpfs mounts exist only in its
 * mount namespace and are reached through `/proc/<pid>/root`, walked without following.
 */

const O = fs.constants;
export const DIR_FLAGS = O.O_RDONLY | O.O_DIRECTORY | O.O_NOFOLLOW;
/** Opening a file to read: never a symlink, never block on a fifo, never a controlling tty. */
export const READ_FLAGS = O.O_RDONLY | O.O_NOFOLLOW | O.O_NONBLOCK | O.O_NOCTTY;
/** Creating a file: never an existing one, never through a symlink. */
export const CREATE_FLAGS = O.O_WRONLY | O.O_CREAT | O.O_EXCL | O.O_NOFOLLOW | O.O_NOCTTY;

/** The path of `name` in the directory open as `fd` (`openat` semantics), or of `fd` itself. */
export function fdPath(fd: number, name?: string): string {
  return name === undefined ? `/proc/self/fd/${fd}` : `/proc/self/fd/${fd}/${name}`;
}

/** The same, for a child process (whose /proc/self is its own). */
export function fdPathForChild(fd: number, name: string): string {
  return `/proc/${process.pid}/fd/${fd}/${name}`;
}

export function openFd(path: string, flags: number, mode = 0o666): Promise<number> {
  return new Promise((res, rej) => fs.open(path, flags, mode, (e, fd) => (e ? rej(e) : res(fd))));
}

export function closeFd(fd: number): Promise<void> {
  return new Promise((res) => fs.close(fd, () => res()));
}

export function fstatFd(fd: number): Promise<Stats> {
  return new Promise((res, rej) => fs.fstat(fd, (e, st) => (e ? rej(e) : res(st))));
}

/** Linux's O_PATH (asm-generic value, x86 and arm): a descriptor that names a file without opening it. */
const O_PATH = 0o10000000;

/**
 * Opens a regular file for reading without following a final symlink and without ever
 * calling open on anything else (a device node or fifo swapped in meanwhile): the name is
 * pinned with O_PATH first, checked, then that very inode is opened through its descriptor.
 * Undefined when the name is missing or not a regular file.
 */
export async function openRegularFile(path: string, follow = false): Promise<{ fd: number; st: Stats } | undefined> {
  let pinned: number;
  try {
    pinned = await openFd(path, O_PATH | (follow ? 0 : O.O_NOFOLLOW));
  } catch (e) {
    if (errno(e) === 'ENOENT' || errno(e) === 'ELOOP' || errno(e) === 'ENOTDIR') return undefined;
    throw e;
  }
  try {
    const st = await fstatFd(pinned);
    if (!st.isFile()) return undefined;
    const fd = await openFd(fdPath(pinned), O.O_RDONLY | O.O_NOCTTY);
    return { fd, st };
  } finally {
    await closeFd(pinned);
  }
}

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/** An open directory, shared by reference count. */
export class Dir {
  refs = 1;
  constructor(readonly fd: number) {}
}

export function retainDir(d: Dir): Dir {
  d.refs++;
  return d;
}

/** Closes in flight: the root's overlay must not be unmounted (lazily) while one is open. */
const closing = new Set<Promise<void>>();

export function releaseDir(d: Dir): void {
  if (--d.refs !== 0) return;
  const p = closeFd(d.fd);
  closing.add(p);
  void p.then(() => closing.delete(p));
}

/** Resolves once every directory released so far is closed. */
export async function dirsClosed(): Promise<void> {
  await Promise.all([...closing]);
}

/** One mount in the view: where it is in the container (canonical) and where its root is. */
export interface ViewMount {
  /** Canonical destination, relative to the container's root. */
  dest: string;
  point: MountPoint;
  /** A host path (trusted: the daemon's volume dir or the user's bind source) ... */
  sourcePath?: string;
  /** ... or the container's own namespace (tmpfs of a running container). */
  inProc?: boolean;
}

/** What a lookup of one component found, with its stats when asked for. */
export type Entry =
  | { kind: 'missing' }
  | { kind: 'dir'; dir: Dir; st?: Stats; mount?: ViewMount }
  | { kind: 'symlink'; target: string; st: Stats; path: string }
  | { kind: 'other'; st: Stats; path: string; mount?: ViewMount };

export interface ViewOptions {
  /** The container's root on the host (the mounted overlay). */
  root: string;
  mounts?: readonly MountPoint[];
  /** The pid of the container's process while it runs (for its tmpfs mounts). */
  pid?: number;
}

export class ContainerView implements ScopeWalker<Dir> {
  private readonly byDest = new Map<string, ViewMount>();

  /** The running container's own root (`/proc/<pid>/root`), pinned once: for its tmpfs mounts. */
  private procRoot: Dir | undefined;
  /**
   * Every mount point of the running container (its /proc/<pid>/mountinfo): /proc, /dev,
   * /sys, /etc/hosts... Removing or replacing what lies under one in the root we see would
   * detach it in the container, so that is refused.
   */
  private readonly busy = new Set<string>();

  private constructor(
    private readonly rootPath: string,
    readonly mounts: ViewMount[],
  ) {}

  /** Releases what the view holds (the pinned process root). */
  close(): void {
    if (this.procRoot) releaseDir(this.procRoot);
    this.procRoot = undefined;
  }

  /**
   * Pins `/proc/<pid>/root` when it is this container's root (the same inode as the mounted
   * overlay): a pid that ended and was reused by a host process must not lead to the host.
   */
  private async pinProcRoot(pid: number): Promise<boolean> {
    const fd = await openFd(`/proc/${pid}/root`, O.O_RDONLY | O.O_DIRECTORY).catch(() => undefined);
    if (fd === undefined) return false;
    try {
      const [a, b] = await Promise.all([fstatFd(fd), fs.promises.stat(this.rootPath)]);
      if (a.dev === b.dev && a.ino === b.ino) {
        this.procRoot = new Dir(fd);
        return true;
      }
    } catch {
      // fall through: not usable
    }
    await closeFd(fd);
    return false;
  }

  /**
   * Builds the view. Mount destinations are resolved in the container's scope, in Docker's
   * mount order, as runc resolves them when it mounts them (a destination below a symlink
   * is where the symlink leads). A tmpfs mount counts only while the container runs.
   */
  static async open(o: ViewOptions): Promise<ContainerView> {
    const view = new ContainerView(o.root, []);
    const mounts = sortMounts(o.mounts ?? []);
    const procOk = o.pid !== undefined && o.pid > 0 ? await view.pinProcRoot(o.pid) : false;
    if (procOk) {
      const info = await fs.promises.readFile(`/proc/${o.pid as number}/mountinfo`, 'utf8').catch(() => '');
      for (const p of mountPointsOf(info)) view.busy.add(p);
    }
    for (const m of mounts) {
      // A tmpfs lives in the running container's namespace only; stopped, its mount point is a plain directory.
      if (m.Type === 'tmpfs' && !procOk) continue;
      if (m.Type !== 'tmpfs' && m.Source === '') continue;
      let dest = cleanPath(`/${m.Destination}`).slice(1);
      try {
        const c = await resolveInScope(view, m.Destination, { followFinal: true });
        dest = c.parts.join('/');
        releaseCursor(view, c);
      } catch {
        // unresolvable (below a file): keep the lexical destination
      }
      if (dest === '') continue; // nothing is mounted over the root itself
      const vm: ViewMount = m.Type === 'tmpfs' ? { dest, point: m, inProc: true } : { dest, point: m, sourcePath: m.Source };
      view.mounts.push(vm);
      view.byDest.set(dest, vm);
    }
    return view;
  }

  async root(): Promise<Dir> {
    return new Dir(await openFd(this.rootPath, O.O_RDONLY | O.O_DIRECTORY));
  }

  retain(h: Dir): Dir {
    return retainDir(h);
  }

  release(h: Dir): void {
    releaseDir(h);
  }

  /** The mount whose destination is exactly `rel`. */
  mountAt(rel: string): ViewMount | undefined {
    return this.byDest.get(rel);
  }

  /** The deepest mount `rel` lies in (undefined: the container's root filesystem). */
  mountOf(rel: string): ViewMount | undefined {
    return mountOf(this.mounts, rel);
  }

  /** Names of the mounts whose destination is directly inside `dirRel`. */
  mountNamesIn(dirRel: string): string[] {
    return this.mounts.filter((m) => m.dest !== dirRel && parentOf(m.dest) === dirRel).map((m) => baseOf(m.dest));
  }

  /** Whether a mount lies at or below `rel` (such a tree cannot be removed or replaced). */
  hasMountsWithin(rel: string): boolean {
    const within = (dest: string): boolean => dest === rel || rel === '' || dest.startsWith(`${rel}/`);
    return this.mounts.some((m) => within(m.dest)) || [...this.busy].some(within);
  }

  async step(dir: Dir, dirRel: string, name: string): Promise<Step<Dir>> {
    const e = await this.lookup(dir, dirRel, name, false);
    switch (e.kind) {
      case 'dir':
        return { kind: 'dir', handle: e.dir };
      case 'symlink':
        return { kind: 'symlink', target: e.target };
      default:
        return { kind: e.kind };
    }
  }

  /** Opens a mount's root: a directory (open), or a file bind's stats and path. */
  private async openMount(m: ViewMount): Promise<Entry> {
    if (m.inProc === true && this.procRoot !== undefined) {
      // The container's namespace: its pinned root, then each component without following.
      let fd = await openFd(fdPath(this.procRoot.fd), O.O_RDONLY | O.O_DIRECTORY);
      try {
        for (const part of m.dest.split('/')) {
          const next = await openFd(fdPath(fd, part), DIR_FLAGS);
          await closeFd(fd);
          fd = next;
        }
      } catch (e) {
        await closeFd(fd);
        throw e;
      }
      return { kind: 'dir', dir: new Dir(fd), mount: m };
    }
    if (m.sourcePath === undefined) return { kind: 'missing' };
    const src = m.sourcePath;
    try {
      return { kind: 'dir', dir: new Dir(await openFd(src, O.O_RDONLY | O.O_DIRECTORY)), mount: m };
    } catch (e) {
      if (errno(e) === 'ENOENT') return { kind: 'missing' };
      if (errno(e) !== 'ENOTDIR') throw e;
    }
    // A file bind-mounted over a path (`-v /host/file:/etc/file`).
    return { kind: 'other', st: await fs.promises.stat(src), path: src, mount: m };
  }

  /**
   * Looks `name` up in `dir` (container path `dirRel`) without following it. A directory comes
   * back open (the caller releases it); `withStats` adds its stats. Mount points give the
   * mount's root.
   */
  async lookup(dir: Dir, dirRel: string, name: string, withStats: boolean): Promise<Entry> {
    const m = this.byDest.get(joinRel(dirRel, name));
    if (m !== undefined) {
      const e = await this.openMount(m);
      if (e.kind === 'dir' && withStats) e.st = await fstatFd(e.dir.fd);
      return e;
    }
    const p = fdPath(dir.fd, name);
    for (let attempt = 0; ; attempt++) {
      try {
        const d = new Dir(await openFd(p, DIR_FLAGS));
        if (!withStats) return { kind: 'dir', dir: d };
        try {
          return { kind: 'dir', dir: d, st: await fstatFd(d.fd) };
        } catch (e) {
          releaseDir(d);
          throw e;
        }
      } catch (e) {
        const code = errno(e);
        if (code === 'ENOENT') return { kind: 'missing' };
        if (code !== 'ELOOP' && code !== 'ENOTDIR') throw e;
      }
      // Not a directory: a symlink or something else (it may change under us: look again).
      const st = await fs.promises.lstat(p).catch((e: unknown) => {
        if (errno(e) === 'ENOENT') return undefined;
        throw e;
      });
      if (st === undefined) return { kind: 'missing' };
      if (st.isDirectory()) {
        if (attempt < 3) continue;
        throw Object.assign(new Error(`${p} keeps changing`), { code: 'EAGAIN' });
      }
      if (st.isSymbolicLink()) {
        try {
          return { kind: 'symlink', target: await fs.promises.readlink(p), st, path: p };
        } catch (e) {
          if (errno(e) === 'EINVAL' && attempt < 3) continue; // no longer a symlink
          if (errno(e) === 'ENOENT') return { kind: 'missing' };
          throw e;
        }
      }
      return { kind: 'other', st, path: p };
    }
  }

  /**
   * Opens the directory at canonical path `rel` by walking its components (no symlinks
   * expected: undefined when one is met or a component is missing or not a directory).
   */
  async openCanonical(rel: string): Promise<Dir | undefined> {
    let dir = await this.root();
    let cur = '';
    for (const part of rel === '' ? [] : rel.split('/')) {
      const e = await this.lookup(dir, cur, part, false).catch((err: unknown) => {
        releaseDir(dir);
        throw err;
      });
      releaseDir(dir);
      if (e.kind !== 'dir') return undefined;
      dir = e.dir;
      cur = joinRel(cur, part);
    }
    return dir;
  }
}

/** Mount points (relative, the root left out) in a /proc/<pid>/mountinfo, as that process sees them. */
export function mountPointsOf(mountinfo: string): string[] {
  const out: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const field = line.split(' ')[4];
    if (field === undefined) continue;
    const p = cleanPath(field.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)))).slice(1);
    if (p !== '') out.push(p);
  }
  return out;
}
