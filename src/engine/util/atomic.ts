import { randomBytes } from 'node:crypto';
import { open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Writes a file so that a crash, a kill or a full disk never leaves it half written:
 * write a temporary file beside it, fsync it, rename over the target, fsync the directory.
 */
export async function writeFileAtomic(path: string, data: string | Buffer): Promise<void> {
  const tmp = `${path}.tmp-${randomBytes(4).toString('hex')}`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  await fsyncDir(dirname(path));
}

export async function fsyncDir(dir: string): Promise<void> {
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value));
}

export async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}

export async function readJsonIfExists<T>(path: string): Promise<T | undefined> {
  try {
    return await readJson<T>(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * Atomic writes of files that change often and together (a network's address allocations
 * while fifty containers start): a write asked for while one of the same file runs waits
 * for the next write, which all such callers share and which serialises the value as it is
 * when it begins. Every caller's change is on disk when its promise resolves; the file is
 * written at most twice per burst instead of once per change.
 */
export class CoalescingWriter {
  private readonly slots = new Map<string, { running?: Promise<void>; pending?: Promise<void> }>();

  constructor(private readonly write: (path: string, data: string) => Promise<void> = writeFileAtomic) {}

  writeJson(path: string, value: () => unknown): Promise<void> {
    let slot = this.slots.get(path);
    if (slot === undefined) this.slots.set(path, (slot = {}));
    if (slot.pending !== undefined) return slot.pending;
    const s = slot;
    const p: Promise<void> = (s.running ?? Promise.resolve())
      .then(noop, noop)
      .then(async () => {
        s.pending = undefined;
        s.running = p;
        try {
          await this.write(path, JSON.stringify(value()));
        } finally {
          if (s.running === p) s.running = undefined;
          if (s.running === undefined && s.pending === undefined && this.slots.get(path) === s) this.slots.delete(path);
        }
      });
    s.pending = p;
    return p;
  }
}

function noop(): void {}
