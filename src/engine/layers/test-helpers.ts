import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import { mkdtemp, readFile, readlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import tar from 'tar-stream';
import { walkTree } from './walk.js';
import type { WhiteoutWriter } from './whiteouts.js';

/** Test support for the layer code (imported by the colocated tests only). */

export type TarHeader = Parameters<tar.Pack['entry']>[0];
export interface TarEntry {
  header: TarHeader;
  body?: string | Buffer;
}

export const IS_ROOT = process.getuid?.() === 0;

/** Builds a tar in memory with tar-stream (no validation: hostile names go in as given). */
export async function makeTar(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(c as Buffer);
  })();
  for (const e of entries) {
    await new Promise<void>((res, rej) => {
      const cb = (err?: Error | null): void => (err ? rej(err) : res());
      const body = e.body ?? (e.header.type === undefined || e.header.type === 'file' ? Buffer.alloc(0) : undefined);
      if (body !== undefined) pack.entry(e.header, body, cb);
      else pack.entry(e.header, cb);
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** Reads a tar back: header and body of every entry. */
export async function readTar(buf: Buffer): Promise<{ header: tar.Header; body: Buffer }[]> {
  const extract = tar.extract();
  const out: { header: tar.Header; body: Buffer }[] = [];
  const done = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      out.push({ header: entry.header, body: Buffer.concat(chunks) });
    }
  })();
  extract.end(buf);
  await done;
  return out;
}

export function sha256hex(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

export async function tempDir(prefix = 'berth-layers-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** A writable that keeps what it is given. */
export function collector(): { out: Writable; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      cb();
    },
  });
  return { out, bytes: () => Buffer.concat(chunks) };
}

/** A WhiteoutWriter that records its calls. */
export function fakeWriter(): WhiteoutWriter & { calls: { whiteouts: string[]; opaqueDirs: string[] }[] } {
  const calls: { whiteouts: string[]; opaqueDirs: string[] }[] = [];
  return {
    calls,
    async apply(whiteouts, opaqueDirs) {
      calls.push({ whiteouts: [...whiteouts].sort(), opaqueDirs: [...opaqueDirs].sort() });
    },
  };
}

function typeOf(st: Stats): string {
  if (st.isDirectory()) return 'dir';
  if (st.isFile()) return 'file';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return `char:${st.rdev}`;
  if (st.isBlockDevice()) return `block:${st.rdev}`;
  if (st.isFIFO()) return 'fifo';
  return 'other';
}

/**
 * A comparable description of a tree: type, permission bits, owner, mtime (seconds),
 * content digest or link target, and which paths share an inode.
 */
export async function describeTree(root: string, opts: { dirMtimes?: boolean } = {}): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const inodes = new Map<number, string>();
  for (const it of await walkTree(root)) {
    const { st } = it;
    let what = typeOf(st);
    if (st.isFile()) what += ` ${sha256hex(await readFile(it.abs)).slice(0, 16)}`;
    if (st.isSymbolicLink()) what += ` -> ${await readlink(it.abs)}`;
    if (!st.isDirectory() && st.nlink > 1) {
      const first = inodes.get(st.ino);
      if (first === undefined) inodes.set(st.ino, it.rel);
      else what += ` =link ${first}`;
    }
    const mode = st.isSymbolicLink() ? '' : ` ${(st.mode & 0o7777).toString(8)}`;
    const mtime = st.isDirectory() && opts.dirMtimes === false ? '' : ` t${Math.floor(st.mtimeMs / 1000)}`;
    out[it.rel] = `${what}${mode} ${st.uid}:${st.gid}${mtime}`;
  }
  return out;
}
