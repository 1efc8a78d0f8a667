import { lstat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parentOf } from './paths.js';
import { walkTree } from './walk.js';

/** Docker's change kinds (`ContainerChangeResponseItem.Kind`). */
export type ChangeKind = 0 | 1 | 2;
export const CHANGE_MODIFIED = 0;
export const CHANGE_ADDED = 1;
export const CHANGE_DELETED = 2;

export interface Change {
  Path: string;
  Kind: ChangeKind;
}

const BATCH = 128;

/**
 * Changes of an overlay upper dir as `docker container diff` reports them: a whiteout
 * (char device 0:0) is a deletion, an entry that exists in a lower dir a modification,
 * anything else an addition; the parent directories of changes are reported as modified
 * when they exist below. `lowerDirs` are ordered as in overlayfs' `lowerdir=` (top first);
 * a whiteout in a higher lower dir hides what lies below it. Lower paths are only looked up
 * through real directories, never through symlinks. Sorted by path; paths are absolute.
 */
export async function diffChanges(upperDir: string, lowerDirs: string[]): Promise<Change[]> {
  const upper = resolve(upperDir);
  const lowers = lowerDirs.map((d) => resolve(d));
  const items = await walkTree(upper);
  // For each directory path: the lower dirs (indices) in which it is a real directory.
  const lowerDirsOf = new Map<string, number[]>([['', lowers.map((_, i) => i)]]);
  const existsBelow = new Map<string, boolean>();

  // Items come parents first, so a parent's lower presence is known before its children's.
  for (let i = 0; i < items.length; i += BATCH) {
    const batch = items.slice(i, i + BATCH);
    // Parents of this batch may be in the same batch: resolve them in order of depth.
    const byDepth = new Map<number, typeof batch>();
    for (const it of batch) {
      const d = it.rel.split('/').length;
      const list = byDepth.get(d);
      if (list) list.push(it);
      else byDepth.set(d, [it]);
    }
    for (const d of [...byDepth.keys()].sort((a, b) => a - b)) {
      await Promise.all(
        (byDepth.get(d) ?? []).map(async (it) => {
          const candidates = lowerDirsOf.get(parentOf(it.rel)) ?? [];
          let found = false;
          const asDir: number[] = [];
          for (const li of candidates) {
            const st = await lstat(join(lowers[li] as string, it.rel)).catch(() => undefined);
            if (st === undefined) continue;
            if (st.isCharacterDevice() && st.rdev === 0) break; // whited out in this lower: hidden below
            found = true;
            if (st.isDirectory()) asDir.push(li);
            else break; // a non-directory hides everything below it
          }
          existsBelow.set(it.rel, found);
          if (it.st.isDirectory()) lowerDirsOf.set(it.rel, asDir);
        }),
      );
    }
  }

  const changes = new Map<string, Change['Kind']>();
  for (const it of items) {
    const path = `/${it.rel}`;
    const deleted = it.st.isCharacterDevice() && it.st.rdev === 0;
    const below = existsBelow.get(it.rel) === true;
    changes.set(path, deleted ? CHANGE_DELETED : below ? CHANGE_MODIFIED : CHANGE_ADDED);
    // Parents are in the upper dir too (so already listed); make sure they are.
    for (let p = parentOf(it.rel); p !== ''; p = parentOf(p)) {
      if (changes.has(`/${p}`)) break;
      changes.set(`/${p}`, existsBelow.get(p) === true ? CHANGE_MODIFIED : CHANGE_ADDED);
    }
  }
  return [...changes]
    .map(([Path, Kind]) => ({ Path, Kind }))
    .sort((a, b) => (a.Path < b.Path ? -1 : a.Path > b.Path ? 1 : 0));
}
