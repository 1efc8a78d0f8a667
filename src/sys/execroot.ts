import { readdir, readFile, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawnRun, type Runner } from './exec.js';

/**
 * The exec root (`/run/berth`) holds what lives only as long as the machine's boot: runtime
 * state, bundles, fifos, exit files, attach sockets, the command lanes' files. A dozen small
 * files come and go with every container, which on a tmpfs costs memory and no disk work.
 * `/run` is a tmpfs on most machines; where it is not (and for an `--exec-root` on a disk),
 * the daemon mounts one there before it writes anything, as containerd's and Docker's hosts
 * get from systemd (bench/README.md: 50 concurrent starts on a machine whose `/run` is ext4).
 */

/** statfs(2) f_type of tmpfs and of ramfs. */
const IN_MEMORY = new Set([0x01021994, 0x858458f6]);

/** The runtime's state directory in the exec root (`runc --root`, src/daemon/wiring.ts). */
export const RUNTIME_DIR = 'runtime';

/** The file in the exec root naming the boot that wrote it (/proc/sys/kernel/random/boot_id). */
export const BOOT_ID_FILE = 'boot-id';

export type ExecRootPlan = { action: 'keep' } | { action: 'mount'; why: string } | { action: 'on-disk'; why: string };

export interface ExecRootState {
  /** The directory is on a tmpfs (or ramfs) already. */
  inMemory: boolean;
  /** Its entries. */
  entries: string[];
  /** Entries of its `runtime/` (the runtime's state: one per container not yet deleted there). */
  runtimeStates: number;
  /** This boot's id. */
  bootId: string;
  /** The boot id berth recorded in it, if any. */
  recordedBootId: string | undefined;
}

/**
 * What to do with the exec root at start: keep a tmpfs; mount one on an empty directory, on
 * one without runtime state (no container runs from it: every container the runtime still
 * knows has a state directory in `runtime/`, kept until its exit has been handled; what else
 * is there, such as an old daemon's log, is hidden under the mount) or on one an earlier boot
 * left (no process of that boot lives); leave on disk a directory whose runtime state is of
 * this boot, or cannot be dated: containers may run from it.
 */
export function planExecRoot(s: ExecRootState): ExecRootPlan {
  if (s.inMemory) return { action: 'keep' };
  if (s.entries.length === 0) return { action: 'mount', why: 'empty' };
  if (s.runtimeStates === 0) return { action: 'mount', why: 'no container runs from it' };
  if (s.recordedBootId !== undefined && s.recordedBootId !== s.bootId) return { action: 'mount', why: 'left by an earlier boot' };
  return {
    action: 'on-disk',
    why: s.recordedBootId === undefined ? 'it holds runtime state without a boot id (containers may run from it)' : 'it holds the runtime state of containers of this boot',
  };
}

/**
 * Makes `dir` (existing) a tmpfs where `planExecRoot` says so and records this boot's id in it.
 * A mount that fails is logged, and the daemon goes on with the directory as it is.
 */
export async function prepareExecRoot(dir: string, log: (msg: string) => void, run: Runner = spawnRun): Promise<ExecRootPlan> {
  const bootId = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
  const recorded = await readFile(join(dir, BOOT_ID_FILE), 'utf8').then(
    (t) => t.trim(),
    () => undefined,
  );
  const runtimeStates = (await readdir(join(dir, RUNTIME_DIR)).catch(() => [])).length;
  const plan = planExecRoot({ inMemory: IN_MEMORY.has((await statfs(dir)).type), entries: await readdir(dir), runtimeStates, bootId, recordedBootId: recorded });
  if (plan.action === 'mount') {
    const r = await run('mount', ['-t', 'tmpfs', '-o', 'mode=0711,nosuid,nodev', 'tmpfs', dir], { allowFailure: true });
    if (r.code !== 0) log(`exec root ${dir}: mounting a tmpfs failed (${r.stderr.trim() || `exit status ${r.code}`}); using it on disk`);
  } else if (plan.action === 'on-disk') {
    log(`exec root ${dir} is not on a tmpfs; using it on disk, since ${plan.why}`);
  }
  await writeFile(join(dir, BOOT_ID_FILE), `${bootId}\n`);
  return plan;
}
