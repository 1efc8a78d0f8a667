import { cleanPath } from '../../core/copypath.js';
import { InvalidArgument } from '../../core/errors.js';
import { isWithin, joinRel } from '../layers/paths.js';

/**
 * Path resolution inside a container's filesystem, the way Docker's
 * `symlink.FollowSymlinkInScope` (and securejoin) do it: the path is cleaned lexically
 * first, then walked one component at a time; every symlink met is read and its target
 * walked in its place, an absolute target starting again at the container's `/`, and `..`
 * never climbing above it. Components that do not exist are accepted as they are (a copy
 * may create them). The walk itself is abstract (`ScopeWalker`): the real one
 * (`view.ts`) opens each directory relative to its parent's descriptor with O_NOFOLLOW, so
 * what is resolved is also what gets opened, even while the container changes its files.
 *
 * Paths inside the container are given relative to its root, without a leading `/`:
 * `''` is `/`, `etc/passwd` is `/etc/passwd` (the layer code's convention).
 */

/** At most this many symlinks in one resolution (Docker's evalSymlinksInScope: 255). */
export const MAX_SYMLINKS = 255;

/** What one component is, looked up without following it. */
export type Step<H> =
  | { kind: 'missing' }
  | { kind: 'dir'; handle: H }
  | { kind: 'symlink'; target: string }
  | { kind: 'other' };

export type Kind = Step<unknown>['kind'];

/** Directory lookups, one component at a time, never following the component itself. */
export interface ScopeWalker<H> {
  /** An open handle on the container's `/`. */
  root(): Promise<H>;
  /** Looks `name` up in `dir` (whose container path is `dirRel`); a directory comes back open. */
  step(dir: H, dirRel: string, name: string): Promise<Step<H>>;
  /** Another reference to `h` (each is released once). */
  retain(h: H): H;
  release(h: H): void;
}

/** Where a resolution ended: the canonical path and the open directories leading to it. */
export interface Cursor<H> {
  /** Components of the canonical path (no symlinks among them but, perhaps, the last). */
  parts: string[];
  /** What each component is; every one after a `missing` is `missing` too. */
  kinds: Kind[];
  /** Open directories: `stack[0]` is `/`, `stack[i]` the directory `parts[0..i)`. */
  stack: H[];
}

/** Why a path cannot be resolved: a component below a non-directory, or a symlink loop. */
export class ScopeError extends Error {
  constructor(
    readonly code: 'ENOTDIR' | 'ELOOP',
    /** The container path (absolute) where it happened. */
    readonly at: string,
  ) {
    super(code === 'ENOTDIR' ? `${at}: not a directory` : `too many links in ${at}`);
    this.name = 'ScopeError';
  }
}

export function relOf(c: Cursor<unknown>): string {
  return c.parts.join('/');
}

/** The kind of the last component (`dir` for `/`). */
export function lastKind(c: Cursor<unknown>): Kind {
  return c.kinds.length === 0 ? 'dir' : (c.kinds[c.kinds.length - 1] as Kind);
}

/** The open handle of the cursor's last component when it is an existing directory. */
export function dirHandle<H>(c: Cursor<H>): H | undefined {
  return c.stack.length === c.parts.length + 1 ? c.stack[c.stack.length - 1] : undefined;
}

export function releaseCursor<H>(w: ScopeWalker<H>, c: Cursor<H>): void {
  for (const h of c.stack.splice(0)) w.release(h);
}

function components(p: string): string[] {
  return p.split('/').filter((s) => s !== '' && s !== '.');
}

/**
 * Resolves `path` (absolute in the container; a relative one counts from `/`, or from `from`
 * when given) with every symlink followed in the container's scope; the last component is
 * followed only with `followFinal`. The caller owns the returned cursor's handles
 * (`releaseCursor`). Throws ScopeError for a component below a non-directory (ENOTDIR) and
 * for more than MAX_SYMLINKS symlinks (ELOOP).
 */
export async function resolveInScope<H>(
  w: ScopeWalker<H>,
  path: string,
  opts: { followFinal: boolean; from?: Cursor<H> },
): Promise<Cursor<H>> {
  const cur: Cursor<H> = opts.from
    ? { parts: [...opts.from.parts], kinds: [...opts.from.kinds], stack: opts.from.stack.map((h) => w.retain(h)) }
    : { parts: [], kinds: [], stack: [await w.root()] };
  // Docker cleans the requested path lexically before any lookup (`/a/link/..` is `/a`).
  const queue = components(cleanPath(`/${path}`));
  let links = 0;
  try {
    while (queue.length > 0) {
      const name = queue.shift() as string;
      const isLast = queue.length === 0;
      if (name === '..') {
        // Lexically, on what is resolved so far: never above `/`.
        if (cur.parts.length > 0) {
          if (cur.stack.length === cur.parts.length + 1) w.release(cur.stack.pop() as H);
          cur.parts.pop();
          cur.kinds.pop();
        }
        continue;
      }
      const prev = lastKind(cur);
      if (prev === 'missing') {
        cur.parts.push(name);
        cur.kinds.push('missing');
        continue;
      }
      if (prev !== 'dir') throw new ScopeError('ENOTDIR', `/${joinRel(relOf(cur), name)}`);
      const dir = cur.stack[cur.stack.length - 1] as H;
      const step = await w.step(dir, relOf(cur), name);
      if (step.kind === 'symlink' && (!isLast || opts.followFinal)) {
        if (++links > MAX_SYMLINKS) throw new ScopeError('ELOOP', cleanPath(`/${path}`));
        if (step.target.startsWith('/')) {
          // An absolute target starts again at the container's root.
          for (const h of cur.stack.splice(1)) w.release(h);
          cur.parts = [];
          cur.kinds = [];
        }
        queue.unshift(...components(step.target));
        continue;
      }
      cur.parts.push(name);
      cur.kinds.push(step.kind);
      if (step.kind === 'dir') cur.stack.push(step.handle);
    }
  } catch (e) {
    releaseCursor(w, cur);
    throw e;
  }
  return cur;
}

// ---- mounts -------------------------------------------------------------------------------

/** Of `mounts` (destinations canonical, relative), the deepest one `rel` lies in. */
export function mountOf<M extends { dest: string }>(mounts: readonly M[], rel: string): M | undefined {
  let best: M | undefined;
  for (const m of mounts) {
    if (isWithin(rel, m.dest) && (best === undefined || m.dest.length > best.dest.length)) best = m;
  }
  return best;
}

/** Docker's mount order: by the number of components of the cleaned destination, stable. */
export function sortMounts<M extends { Destination: string }>(mounts: readonly M[]): M[] {
  const depth = (m: M): number => cleanPath(`/${m.Destination}`).split('/').filter(Boolean).length;
  return mounts
    .map((m, i) => ({ m, i }))
    .sort((a, b) => depth(a.m) - depth(b.m) || a.i - b.i)
    .map((x) => x.m);
}

/** Names an entry in a tar: cleaned, relative, not climbing above the extraction directory. */
export function entryPath(name: string, dest: string): string {
  const out: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) throw new InvalidArgument(`${JSON.stringify(name)} is outside of ${JSON.stringify(dest)}`);
      out.pop();
    } else out.push(part);
  }
  return out.join('/');
}
