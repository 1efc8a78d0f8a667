import { Internal } from '../../core/errors.js';
import { run, type Runner } from '../../sys/exec.js';

/**
 * The kernel-facing part of layer handling: Node has no mknod(2) and no xattr calls, so
 * overlayfs whiteouts (char device 0:0), opaque markers (`trusted.overlay.opaque=y`) and
 * device nodes are made by host programs (coreutils `mknod`, `setfattr`/`getfattr` from
 * Debian's `attr` package). Paths always travel as separate argv entries, never through
 * a shell's parser.
 */
export const OPAQUE_XATTR = 'trusted.overlay.opaque';

/** Applies one layer's whiteouts and opaque markers (absolute paths) in one go. */
export interface WhiteoutWriter {
  apply(whiteouts: string[], opaqueDirs: string[]): Promise<void>;
}

/** Tells which of the given directories (absolute paths) are overlayfs-opaque. */
export type OpaqueReader = (dirs: string[]) => Promise<Set<string>>;

// `$1` is the number of whiteout paths that follow; the remaining arguments are directories.
const APPLY_SCRIPT = [
  'set -e',
  'n=$1; shift',
  'while [ "$n" -gt 0 ]; do mknod -m 0 -- "$1" c 0 0; shift; n=$((n-1)); done',
  `[ "$#" -eq 0 ] || setfattr -h -n ${OPAQUE_XATTR} -v y -- "$@"`,
].join('\n');

/** Stays well below Linux's argv limits (2 MiB total, 128 KiB per argument). */
const ARGV_BUDGET = 512 * 1024;

/** Splits `items` into batches whose summed length fits the argv budget (one batch normally). */
export function argvBatches(items: readonly string[], budget = ARGV_BUDGET): string[][] {
  const out: string[][] = [];
  let cur: string[] = [];
  let bytes = 0;
  for (const it of items) {
    const n = Buffer.byteLength(it) + 1;
    if (cur.length > 0 && bytes + n > budget) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(it);
    bytes += n;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/** The real writer: one `sh -c` running mknod/setfattr (more only past the argv budget). */
export function spawnWhiteoutWriter(runner: Runner = run): WhiteoutWriter {
  return {
    async apply(whiteouts, opaqueDirs) {
      const tagged = [...whiteouts.map((p) => `w${p}`), ...opaqueDirs.map((p) => `o${p}`)];
      for (const batch of argvBatches(tagged)) {
        const w = batch.filter((t) => t[0] === 'w').map((t) => t.slice(1));
        const o = batch.filter((t) => t[0] === 'o').map((t) => t.slice(1));
        const res = await runner('sh', ['-c', APPLY_SCRIPT, 'sh', String(w.length), ...w, ...o], {
          allowFailure: true,
          env: { ...process.env, LC_ALL: 'C' },
        });
        if (res.code !== 0) {
          throw new Internal(`applying layer whiteouts failed: ${res.stderr.trim() || `exit status ${res.code}`}`);
        }
      }
    },
  };
}

export const defaultWhiteoutWriter: WhiteoutWriter = spawnWhiteoutWriter();

/** Creates a device node or fifo (`mknod path c|b major minor`, `mknod path p`), mode 0600 unless given. */
export async function mknod(
  path: string,
  type: 'c' | 'b' | 'p',
  major: number,
  minor: number,
  runner: Runner = run,
  mode = 0o600,
): Promise<void> {
  const m = (mode & 0o7777).toString(8);
  const args = type === 'p' ? ['-m', m, '--', path, 'p'] : ['-m', m, '--', path, type, String(major), String(minor)];
  const res = await runner('mknod', args, { allowFailure: true, env: { ...process.env, LC_ALL: 'C' } });
  if (res.code !== 0) throw new Internal(`mknod ${path}: ${res.stderr.trim() || `exit status ${res.code}`}`);
}

/** Decodes getfattr's path quoting: `\ooo` octal escapes for bytes, `\\` for a backslash. */
export function decodeGetfattrPath(s: string): string {
  if (!s.includes('\\')) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === '\\' && /^[0-7]{3}$/.test(s.slice(i + 1, i + 4))) {
      bytes.push(parseInt(s.slice(i + 1, i + 4), 8));
      i += 3;
    } else if (c === '\\' && s[i + 1] === '\\') {
      bytes.push(0x5c);
      i += 1;
    } else {
      const cp = s.codePointAt(i) as number;
      if (cp > 0xffff) i++;
      for (const b of Buffer.from(String.fromCodePoint(cp))) bytes.push(b);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Parses `getfattr -n trusted.overlay.opaque -e text` output: the files whose value is `y`. */
export function parseOpaqueDump(stdout: string): Set<string> {
  const out = new Set<string>();
  let file: string | undefined;
  for (const line of stdout.split('\n')) {
    if (line.startsWith('# file: ')) file = decodeGetfattrPath(line.slice(8));
    else if (file !== undefined && line === `${OPAQUE_XATTR}="y"`) out.add(file);
    else if (line === '') file = undefined;
  }
  return out;
}

/** The real reader: `getfattr` over the directories, in one spawn (more only past the argv budget). */
export function spawnOpaqueReader(runner: Runner = run): OpaqueReader {
  return async (dirs) => {
    const out = new Set<string>();
    for (const batch of argvBatches(dirs)) {
      const res = await runner('getfattr', ['-h', '--absolute-names', '-n', OPAQUE_XATTR, '-e', 'text', '--', ...batch], {
        allowFailure: true,
        env: { ...process.env, LC_ALL: 'C' },
      });
      // Exit status 1 with "No such attribute" for the directories without the marker is normal.
      const real = res.stderr
        .split('\n')
        .filter((l) => l.trim() !== '' && !l.endsWith('No such attribute') && !l.endsWith('Operation not supported'));
      if (res.code !== 0 && real.length > 0) throw new Internal(`reading opaque markers failed: ${real.join('; ')}`);
      for (const p of parseOpaqueDump(res.stdout)) out.add(p);
    }
    return out;
  };
}

export const defaultOpaqueReader: OpaqueReader = spawnOpaqueReader();
