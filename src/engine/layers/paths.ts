import { InvalidArgument } from '../../core/errors.js';

/** OCI whiteout conventions (image-spec layer.md). */
export const WHITEOUT_PREFIX = '.wh.';
export const WHITEOUT_META_PREFIX = '.wh..wh.';
export const WHITEOUT_OPAQUE = '.wh..wh..opq';

/**
 * Normalises a tar entry name to a clean relative path (no leading `./` or `/`, no `.` or
 * empty components, `..` resolved lexically). The root itself is `''`. A name whose `..`
 * components climb above the root is rejected: `what` names the entry in the message.
 */
export function normalizeEntryName(name: string, what: (n: string) => string = escapes): string {
  const out: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) throw new InvalidArgument(what(name));
      out.pop();
    } else out.push(part);
  }
  return out.join('/');
}

function escapes(name: string): string {
  return `layer entry "${name}" escapes the root`;
}

/** `a/b/c` → `a/b`; a top-level name → `''`. */
export function parentOf(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
}

export function baseOf(rel: string): string {
  return rel.slice(rel.lastIndexOf('/') + 1);
}

export function joinRel(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

/** Whether `rel` is `dir` or lies below it. */
export function isWithin(rel: string, dir: string): boolean {
  return dir === '' || rel === dir || (rel.startsWith(dir) && rel.charCodeAt(dir.length) === 47 /* / */);
}

export function depthOf(rel: string): number {
  let n = 0;
  for (let i = 0; i < rel.length; i++) if (rel.charCodeAt(i) === 47) n++;
  return n;
}

/** Linux `dev_t` → major/minor (glibc's gnu_dev_major/minor encoding). */
export function devMajor(rdev: number): number {
  return ((rdev >>> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
}
export function devMinor(rdev: number): number {
  return (rdev & 0xff) | ((rdev >>> 12) & 0xfff00);
}
