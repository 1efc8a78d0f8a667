import type { Stats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { joinRel } from './paths.js';

export interface WalkItem {
  /** Path relative to the walked root, `/`-separated, never empty. */
  rel: string;
  abs: string;
  st: Stats;
}

const LSTAT_BATCH = 128;

/**
 * Every entry below `root` (the root itself excluded), depth first, names sorted within each
 * directory, parents before their children. Symlinks are never followed: only what lstat
 * calls a directory is descended into. Stats of one directory's entries are taken in parallel.
 */
export async function walkTree(root: string): Promise<WalkItem[]> {
  const out: WalkItem[] = [];
  async function visit(dirAbs: string, dirRel: string): Promise<void> {
    const names = (await readdir(dirAbs)).sort();
    const items: WalkItem[] = [];
    for (let i = 0; i < names.length; i += LSTAT_BATCH) {
      const batch = names.slice(i, i + LSTAT_BATCH);
      const stats = await Promise.all(
        batch.map((n) =>
          lstat(join(dirAbs, n)).catch((e: NodeJS.ErrnoException) => {
            if (e.code === 'ENOENT') return undefined; // vanished while walking
            throw e;
          }),
        ),
      );
      batch.forEach((n, j) => {
        const st = stats[j];
        if (st !== undefined) items.push({ rel: joinRel(dirRel, n), abs: join(dirAbs, n), st });
      });
    }
    for (const it of items) {
      out.push(it);
      if (it.st.isDirectory()) await visit(it.abs, it.rel);
    }
  }
  await visit(root, '');
  return out;
}
