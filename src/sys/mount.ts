import { readFile } from 'node:fs/promises';
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

  /** Lazy unmount; a target that is not mounted is not an error. */
  async unmount(target: string): Promise<void> {
    if (!(await isMounted(target))) return;
    await this.run('umount', ['-l', target], { allowFailure: true });
  }
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
