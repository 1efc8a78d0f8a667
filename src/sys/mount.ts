import { readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Runner } from './exec.js';
import { run as defaultRun } from './exec.js';

/**
 * A mount description as the snapshotter returns it (containerd's "lingua franca"):
 * producers build these values, only `mountAll`/`unmount` touch the kernel.
 */
export interface Mount {
  type: string;
  source: string;
  options: string[];
  /** Directory the option paths are relative to (keeps overlay options under the page-size limit). */
  cwd?: string;
}

export class Mounter {
  constructor(private readonly run: Runner = defaultRun) {}

  async mount(m: Mount, target: string): Promise<void> {
    const args = ['-t', m.type];
    if (m.options.length > 0) args.push('-o', m.options.join(','));
    args.push(m.source, target);
    await this.run('mount', args, m.cwd !== undefined ? { cwd: m.cwd } : {});
  }

  /**
   * Lazy unmount; a target that is not mounted is not an error. `ownDevice`: what is mounted
   * there has a device of its own (overlay, tmpfs), so `hasOwnDevice` tells whether it is.
   */
  async unmount(target: string, opts: { ownDevice?: boolean } = {}): Promise<void> {
    if (!(await this.isMounted(target, opts))) return;
    await this.run('umount', ['-l', target], { allowFailure: true });
  }

  /** Whether something is mounted on `target` (see `unmount` for `ownDevice`). */
  isMounted(target: string, opts: { ownDevice?: boolean } = {}): Promise<boolean> {
    return opts.ownDevice === true ? hasOwnDevice(target) : isMounted(target);
  }
}

/**
 * Whether `target` holds a filesystem with a device of its own (overlay, tmpfs): its device
 * differs from its parent directory's. Two stats, where reading mountinfo costs what every
 * mount on the host costs (a few KiB for each running container's overlay); a bind mount
 * from the same filesystem is not seen.
 */
export async function hasOwnDevice(target: string): Promise<boolean> {
  const [t, parent] = await Promise.all([stat(target).catch(() => undefined), stat(dirname(target)).catch(() => undefined)]);
  return t !== undefined && parent !== undefined && t.dev !== parent.dev;
}

export async function isMounted(target: string): Promise<boolean> {
  const mounts = await readFile('/proc/self/mountinfo', 'utf8');
  const escaped = target.replace(/ /g, '\\040');
  return mounts.split('\n').some((l) => l.split(' ')[4] === escaped);
}

/** Every mount point under `prefix`, deepest first (for cleaning up after a crash). */
export async function mountsUnder(prefix: string): Promise<string[]> {
  const mounts = await readFile('/proc/self/mountinfo', 'utf8');
  return mounts
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
}
