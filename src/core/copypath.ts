/**
 * The path rules of `docker cp`, shared by the CLI (host side) and the engine (container
 * side): Go's `path` functions (`Clean`, `Base`, `Dir`, `Split`) and go-archive's helpers
 * built on them (`PreserveTrailingDotOrSeparator`, `SplitPathDirEntry`, `GetRebaseName`),
 * plus the stat the archive endpoints carry in the `X-Docker-Container-Path-Stat` header
 * (Go's `os.FileMode` bits). Pure: no filesystem access.
 */

/** Go's `path.Clean` for `/`-separated paths. */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
    } else out.push(part);
  }
  const s = (rooted ? '/' : '') + out.join('/');
  return s === '' ? '.' : s;
}

/** Go's `filepath.Join`: the non-empty elements joined by `/`, then cleaned; `''` when all are empty. */
export function joinPath(...parts: string[]): string {
  const nonEmpty = parts.filter((p) => p !== '');
  return nonEmpty.length === 0 ? '' : cleanPath(nonEmpty.join('/'));
}

/** Go's `filepath.Base`: the last element, trailing slashes removed; `.` for `''`, `/` for only slashes. */
export function basePath(p: string): string {
  if (p === '') return '.';
  const trimmed = p.replace(/\/+$/, '');
  if (trimmed === '') return '/';
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

/** Go's `filepath.Dir`: everything but the last element, cleaned. */
export function dirPath(p: string): string {
  return cleanPath(p.slice(0, p.lastIndexOf('/') + 1));
}

/** Go's `filepath.Split`: `[dir, file]` split after the last `/` (dir keeps it). */
export function splitPath(p: string): [dir: string, file: string] {
  const i = p.lastIndexOf('/');
  return [p.slice(0, i + 1), p.slice(i + 1)];
}

export function isAbsPath(p: string): boolean {
  return p.startsWith('/');
}

export function hasTrailingPathSeparator(p: string): boolean {
  return p.endsWith('/');
}

/** Whether the last element is `.` (go-archive's `specifiesCurrentDir`; true for `''`). */
export function specifiesCurrentDir(p: string): boolean {
  return basePath(p) === '.';
}

/** Whether the path says it is a directory: a trailing `/` or `/.`. */
export function assertsDirectory(p: string): boolean {
  return hasTrailingPathSeparator(p) || specifiesCurrentDir(p);
}

/**
 * go-archive's `PreserveTrailingDotOrSeparator`: puts back the trailing `/.` or `/` of
 * `original` that cleaning removed from `cleaned`.
 */
export function preserveTrailingDotOrSeparator(cleaned: string, original: string): string {
  let out = cleaned;
  if (!specifiesCurrentDir(out) && specifiesCurrentDir(original)) {
    if (!hasTrailingPathSeparator(out)) out += '/';
    out += '.';
  }
  if (!hasTrailingPathSeparator(out) && hasTrailingPathSeparator(original)) out += '/';
  return out;
}

/** go-archive's `SplitPathDirEntry`: `[dir, base]` of the cleaned path, keeping a trailing `.`. */
export function splitPathDirEntry(p: string): [dir: string, base: string] {
  let cleaned = cleanPath(p);
  if (specifiesCurrentDir(p)) cleaned += '/.';
  return [dirPath(cleaned), basePath(cleaned)];
}

/**
 * go-archive's `GetRebaseName`: `resolved` with `path`'s trailing `/.` or `/` put back, and
 * the name archive entries must take when symlink resolution changed the last element.
 */
export function getRebaseName(path: string, resolved: string): [resolved: string, rebaseName: string] {
  let r = resolved;
  if (specifiesCurrentDir(path) && !specifiesCurrentDir(r)) r += '/.';
  if (hasTrailingPathSeparator(path) && !hasTrailingPathSeparator(r)) r += '/';
  return [r, basePath(path) !== basePath(r) ? basePath(path) : ''];
}

/** The absolute container path an archive request names (Docker's `absPath`). */
export function containerAbsPath(path: string): string {
  return preserveTrailingDotOrSeparator(joinPath('/', path), path);
}

// ---- the path stat of the archive endpoints ---------------------------------------------

/** Go's `os.FileMode` bits (what `mode` in the path stat is made of). */
export const FileMode = Object.freeze({
  Dir: 2 ** 31,
  Append: 2 ** 30,
  Exclusive: 2 ** 29,
  Temporary: 2 ** 28,
  Symlink: 2 ** 27,
  Device: 2 ** 26,
  NamedPipe: 2 ** 25,
  Socket: 2 ** 24,
  Setuid: 2 ** 23,
  Setgid: 2 ** 22,
  CharDevice: 2 ** 21,
  Sticky: 2 ** 20,
  Irregular: 2 ** 19,
  Perm: 0o777,
});

const S_IFMT = 0o170000;

/** A Unix `st_mode` as Go's `os.FileMode` (as `os.Lstat` reports it). */
export function goFileMode(stMode: number): number {
  let mode = stMode & FileMode.Perm;
  switch (stMode & S_IFMT) {
    case 0o060000:
      mode += FileMode.Device;
      break;
    case 0o020000:
      mode += FileMode.Device + FileMode.CharDevice;
      break;
    case 0o040000:
      mode += FileMode.Dir;
      break;
    case 0o010000:
      mode += FileMode.NamedPipe;
      break;
    case 0o120000:
      mode += FileMode.Symlink;
      break;
    case 0o140000:
      mode += FileMode.Socket;
      break;
    default:
      break;
  }
  if (stMode & 0o4000) mode += FileMode.Setuid;
  if (stMode & 0o2000) mode += FileMode.Setgid;
  if (stMode & 0o1000) mode += FileMode.Sticky;
  return mode;
}

/** Whether Go's FileMode `mode` has `bit` (the bits go above 2^31: no `&` on numbers). */
export function hasModeBit(mode: number, bit: number): boolean {
  return Math.floor(mode / bit) % 2 === 1;
}

/** Docker's `container.PathStat` (`types.ContainerPathStat`). */
export interface ContainerPathStat {
  name: string;
  size: number;
  /** Go's `os.FileMode`. */
  mode: number;
  /** RFC 3339 with nanoseconds. */
  mtime: string;
  /** For a symlink: its target, resolved in the container, as an absolute path. */
  linkTarget: string;
}

export const PATH_STAT_HEADER = 'X-Docker-Container-Path-Stat';

/** The header value: base64 of the JSON, fields in Go's order. */
export function encodePathStat(s: ContainerPathStat): string {
  const json = JSON.stringify({ name: s.name, size: s.size, mode: s.mode, mtime: s.mtime, linkTarget: s.linkTarget });
  return Buffer.from(json).toString('base64');
}

/** Parses the header value; throws on a malformed one. */
export function decodePathStat(value: string): ContainerPathStat {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(value, 'base64').toString('utf8'));
  } catch (e) {
    throw new Error(`unable to decode container path stat header: ${(e as Error).message}`);
  }
  const o = (raw ?? {}) as Record<string, unknown>;
  return {
    name: typeof o['name'] === 'string' ? o['name'] : '',
    size: typeof o['size'] === 'number' ? o['size'] : 0,
    mode: typeof o['mode'] === 'number' ? o['mode'] : 0,
    mtime: typeof o['mtime'] === 'string' ? o['mtime'] : '',
    linkTarget: typeof o['linkTarget'] === 'string' ? o['linkTarget'] : '',
  };
}

/** Go's RFC3339Nano for a time given as nanoseconds since the epoch (UTC, trailing zeros trimmed). */
export function rfc3339Nano(ns: bigint): string {
  const sec = ns / 1_000_000_000n;
  let frac = ns % 1_000_000_000n;
  let s = sec;
  if (frac < 0n) {
    frac += 1_000_000_000n;
    s -= 1n;
  }
  const base = new Date(Number(s) * 1000).toISOString().slice(0, 19);
  const f = frac === 0n ? '' : `.${frac.toString().padStart(9, '0').replace(/0+$/, '')}`;
  return `${base}${f}Z`;
}
