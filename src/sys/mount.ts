import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
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

/** Mount points one umount process takes at most (its argument list stays a few KiB). */
const MAX_DETACH_BATCH = 64;

export class Mounter {
  /** Lazy unmounts waiting for the next umount process. */
  private batch: { targets: string[]; done: Promise<void> } | undefined;
  /** The umount process running (or the last one), which the next batch waits for. */
  private busy: Promise<void> = Promise.resolve();

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
    // The device check is synchronous, so that unmounts asked for together (a container's
    // root and its network namespace at its exit) reach the same batch.
    if (!(opts.ownDevice === true ? hasOwnDevice(target) : await isMounted(target))) return;
    await this.detach(target);
  }

  /**
   * `umount -l target`, in one umount process with every other lazy unmount asked for in the
   * same turn of the event loop or while the previous process runs: an exit's root filesystem
   * and network namespace, a burst of removals. A target that is not mounted is not an error.
   */
  detach(target: string): Promise<void> {
    let batch = this.batch;
    if (batch === undefined || batch.targets.length >= MAX_DETACH_BATCH) {
      const targets: string[] = [];
      const done = this.busy
        .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
        .then(async () => {
          if (this.batch?.targets === targets) this.batch = undefined;
          await this.run('umount', ['-l', ...targets], { allowFailure: true });
        });
      batch = { targets, done };
      this.batch = batch;
      this.busy = done.catch(() => undefined);
    }
    batch.targets.push(target);
    return batch.done;
  }

  /** Whether something is mounted on `target` (see `unmount` for `ownDevice`). */
  isMounted(target: string, opts: { ownDevice?: boolean } = {}): Promise<boolean> {
    return opts.ownDevice === true ? Promise.resolve(hasOwnDevice(target)) : isMounted(target);
  }
}

/**
 * Whether `target` holds a filesystem with a device of its own (overlay, tmpfs): its device
 * differs from its parent directory's. Two stats (synchronous: microseconds, and callers that
 * unmount together reach the same batch), where reading mountinfo costs what every mount on
 * the host costs (a few KiB for each running container's overlay); a bind mount from the same
 * filesystem is not seen.
 */
export function hasOwnDevice(target: string): boolean {
  const t = statSync(target, { throwIfNoEntry: false });
  const parent = statSync(dirname(target), { throwIfNoEntry: false });
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
