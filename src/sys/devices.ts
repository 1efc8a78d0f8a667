import { existsSync, readFileSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** A device node on the host: what the runtime needs to make it in a container. */
export interface HostDevice {
  /** Its path on the host. */
  path: string;
  type: 'c' | 'b';
  major: number;
  minor: number;
  /** Permission bits (`0o666`). */
  fileMode: number;
  uid: number;
  gid: number;
}

const S_IFMT = 0o170000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;

/** Linux's dev_t split into major and minor (glibc's gnu_dev_major/minor). */
export function splitDev(rdev: bigint): { major: number; minor: number } {
  return {
    major: Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & 0xfffff000n)),
    minor: Number((rdev & 0xffn) | ((rdev >> 12n) & 0xffffff00n)),
  };
}

/**
 * The device at `path`, or every device under it when it is a directory (`--device /dev/snd`),
 * symlinks followed for the path itself. Other files are not devices: a directory's are
 * skipped, the path itself is an error. A missing path is an error with the path in it.
 */
export async function devicesAt(path: string, skip: readonly string[] = []): Promise<HostDevice[]> {
  const st = await stat(path, { bigint: true });
  const kind = Number(st.mode) & S_IFMT;
  if (kind === S_IFCHR || kind === S_IFBLK) {
    return [{ path, type: kind === S_IFCHR ? 'c' : 'b', ...splitDev(st.rdev), fileMode: Number(st.mode) & 0o7777, uid: Number(st.uid), gid: Number(st.gid) }];
  }
  if (!st.isDirectory()) throw Object.assign(new Error(`${path} is not a device node or a directory of them`), { code: 'ENOTDEV' });
  const out: HostDevice[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const p = join(dir, e.name);
      if (skip.includes(p)) continue;
      if (e.isDirectory()) await walk(p);
      else if (e.isCharacterDevice() || e.isBlockDevice()) {
        const s = await stat(p, { bigint: true }).catch(() => undefined);
        if (s === undefined) continue;
        out.push({ path: p, type: e.isCharacterDevice() ? 'c' : 'b', ...splitDev(s.rdev), fileMode: Number(s.mode) & 0o7777, uid: Number(s.uid), gid: Number(s.gid) });
      }
    }
  };
  await walk(path);
  return out;
}

/**
 * The host's devices a `--privileged` container gets, as Docker gives them: every node under
 * /dev but those the container has its own of (pts, shm, mqueue) and the console.
 */
export function privilegedDevices(): Promise<HostDevice[]> {
  return devicesAt('/dev', ['/dev/pts', '/dev/shm', '/dev/mqueue', '/dev/console', '/dev/.lxc', '/dev/.udev', '/dev/fd']).then((l) =>
    l.filter((d) => d.path !== '/dev/ptmx' && d.path !== '/dev/tty'),
  );
}

/**
 * Whether the kernel takes a block I/O weight for a container's cgroup (`--blkio-weight`):
 * cgroup v1's blkio.weight (CFQ/BFQ) or v2's io.weight. Docker discards the weight, with a
 * warning, where it does not.
 */
export function blkioWeightSupported(root = '/sys/fs/cgroup'): boolean {
  return ['blkio/blkio.weight', 'blkio/blkio.bfq.weight', 'io.weight', 'io.bfq.weight'].some((f) => existsSync(join(root, f)));
}

/**
 * Whether the kernel limits a cgroup's swap (Docker's `SwapLimit`): cgroup v1's
 * memory.memsw.* (the kernel's swap accounting), or cgroup v2 with the memory controller.
 */
export function swapLimitSupported(root = '/sys/fs/cgroup'): boolean {
  if (existsSync(join(root, 'memory', 'memory.memsw.limit_in_bytes'))) return true;
  try {
    return readFileSync(join(root, 'cgroup.subtree_control'), 'utf8').split(/\s+/).includes('memory');
  } catch {
    return false;
  }
}

/**
 * The CPUs and memory nodes containers may be put on (Docker's `sysInfo.Cpus` and `Mems`):
 * the root cpuset cgroup's, cgroup v1's `cpuset/cpuset.cpus` or v2's `cpuset.cpus.effective`;
 * undefined where there is no cpuset controller to read.
 */
export function hostCpusets(root = '/sys/fs/cgroup'): { cpus: string; mems: string } | undefined {
  for (const [cpus, mems] of [
    ['cpuset/cpuset.cpus', 'cpuset/cpuset.mems'],
    ['cpuset.cpus.effective', 'cpuset.mems.effective'],
  ]) {
    try {
      return { cpus: readFileSync(join(root, cpus as string), 'utf8').trim(), mems: readFileSync(join(root, mems as string), 'utf8').trim() };
    } catch {
      // the other cgroup version
    }
  }
  return undefined;
}
