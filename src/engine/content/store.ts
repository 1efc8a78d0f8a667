import { createHash, randomBytes, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, stat, truncate, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Internal, InvalidArgument, NotFound } from '../../core/errors.js';
import { fsyncDir } from '../util/atomic.js';

/**
 * Content-addressable blob store (containerd's content store shape): blobs live under
 * `blobs/sha256/<hex>`; writes go to `ingest/` and are committed by verifying the digest,
 * fsyncing and renaming, so a blob in `blobs/` is always whole and always what its name says.
 */
export interface BlobReader {
  has(digest: string): Promise<boolean>;
  size(digest: string): Promise<number>;
  read(digest: string): Promise<Buffer>;
  stream(digest: string): Readable;
  path(digest: string): string;
}

export interface BlobIngester {
  /** Streams `input` into the store; when `expected` is given, a mismatch is an error and nothing is kept. */
  ingest(input: AsyncIterable<Buffer> | Readable, expected?: { digest?: string; size?: number }): Promise<{ digest: string; size: number }>;
  put(data: Buffer | string): Promise<string>;
}

export interface BlobManager {
  delete(digest: string): Promise<void>;
  list(): Promise<string[]>;
}

export type ContentStore = BlobReader & BlobIngester & BlobManager;

const digestRe = /^sha256:[a-f0-9]{64}$/;

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Read size for blob streams, and how many downloaded bytes go to disk in one write. */
const READ_CHUNK = 1024 * 1024;
const WRITE_BATCH = 1024 * 1024;
/** Partial downloads older than this are dropped at start. */
const PARTIAL_MAX_AGE_MS = 7 * 24 * 3600 * 1000;

export class LocalContentStore implements ContentStore {
  private readonly blobs: string;
  private readonly ingestDir: string;
  private readonly partialDir: string;
  private readonly openPartials = new Set<string>();

  constructor(root: string) {
    this.blobs = join(root, 'blobs', 'sha256');
    this.ingestDir = join(root, 'ingest');
    this.partialDir = join(this.ingestDir, 'partial');
  }

  async init(): Promise<void> {
    await mkdir(this.blobs, { recursive: true });
    await mkdir(this.ingestDir, { recursive: true });
    // Unnamed writes in progress cannot be resumed: gone. Partial downloads (named by the
    // digest they must end up with) are kept for a resumed pull, unless they are old.
    for (const name of await readdir(this.ingestDir)) {
      if (name !== 'partial') await rm(join(this.ingestDir, name), { recursive: true, force: true });
    }
    await mkdir(this.partialDir, { recursive: true });
    const now = Date.now();
    for (const name of await readdir(this.partialDir)) {
      const p = join(this.partialDir, name);
      const st = await stat(p).catch(() => undefined);
      if (!/^[a-f0-9]{64}$/.test(name) || st === undefined || !st.isFile() || now - st.mtimeMs > PARTIAL_MAX_AGE_MS) await rm(p, { recursive: true, force: true });
    }
  }

  /**
   * Opens the partial download of `digest` (kept in `ingest/partial/` across interruptions
   * and restarts): what is there already is hashed again, and `offset` says how much that
   * is, so the download can go on with a Range request. One writer per digest at a time.
   */
  async openPartial(digest: string): Promise<PartialBlob> {
    if (!digestRe.test(digest)) throw new InvalidArgument(`invalid digest "${digest}"`);
    if (this.openPartials.has(digest)) throw new InvalidArgument(`blob ${digest} is already being written`);
    this.openPartials.add(digest);
    try {
      await mkdir(this.partialDir, { recursive: true });
      const blob = new PartialBlob(digest, join(this.partialDir, digest.slice(7)), (tmp) => this.commit(tmp, digest), () => this.openPartials.delete(digest));
      await blob.rehash();
      return blob;
    } catch (e) {
      this.openPartials.delete(digest);
      throw e;
    }
  }

  /** Bytes of a partial download of `digest` on disk (0 when there is none). */
  async partialSize(digest: string): Promise<number> {
    if (!digestRe.test(digest)) return 0;
    return (await stat(join(this.partialDir, digest.slice(7))).catch(() => undefined))?.size ?? 0;
  }

  path(digest: string): string {
    if (!digestRe.test(digest)) throw new InvalidArgument(`invalid digest "${digest}"`);
    return join(this.blobs, digest.slice(7));
  }

  async has(digest: string): Promise<boolean> {
    try {
      await stat(this.path(digest));
      return true;
    } catch {
      return false;
    }
  }

  async size(digest: string): Promise<number> {
    try {
      return (await stat(this.path(digest))).size;
    } catch {
      throw new NotFound(`blob ${digest}: not found`);
    }
  }

  async read(digest: string): Promise<Buffer> {
    try {
      return await readFile(this.path(digest));
    } catch {
      throw new NotFound(`blob ${digest}: not found`);
    }
  }

  stream(digest: string): Readable {
    // Big reads: a layer read in 64 KiB chunks spends most of its time waiting on each one.
    return createReadStream(this.path(digest), { highWaterMark: READ_CHUNK });
  }

  async put(data: Buffer | string): Promise<string> {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    const digest = sha256(buf);
    if (await this.has(digest)) return digest;
    const tmp = join(this.ingestDir, randomBytes(8).toString('hex'));
    const fh = await open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(buf);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await this.commit(tmp, digest);
    return digest;
  }

  async ingest(
    input: AsyncIterable<Buffer> | Readable,
    expected: { digest?: string; size?: number } = {},
  ): Promise<{ digest: string; size: number }> {
    const tmp = join(this.ingestDir, randomBytes(8).toString('hex'));
    const hash = createHash('sha256');
    let size = 0;
    try {
      await pipeline(
        input,
        async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            hash.update(chunk);
            size += chunk.length;
            yield chunk;
          }
        },
        createWriteStream(tmp, { mode: 0o644 }),
      );
      const digest = `sha256:${hash.digest('hex')}`;
      if (expected.digest !== undefined && expected.digest !== digest) {
        throw new InvalidArgument(`digest mismatch: expected ${expected.digest}, got ${digest}`);
      }
      if (expected.size !== undefined && expected.size !== size) {
        throw new InvalidArgument(`size mismatch for ${digest}: expected ${expected.size}, got ${size}`);
      }
      const fh = await open(tmp, 'r');
      await fh.sync().finally(() => fh.close());
      await this.commit(tmp, digest);
      return { digest, size };
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  private async commit(tmp: string, digest: string): Promise<void> {
    await rename(tmp, this.path(digest));
    await fsyncDir(this.blobs);
  }

  async delete(digest: string): Promise<void> {
    await unlink(this.path(digest)).catch(() => undefined);
  }

  async list(): Promise<string[]> {
    return (await readdir(this.blobs)).filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => `sha256:${n}`);
  }
}

/**
 * A blob being downloaded into `ingest/partial/<hex>`: appended to across attempts, hashed
 * as it grows, committed into `blobs/` only when its digest (and size) are right. A mismatch
 * deletes it: bytes that do not hash to their name are never kept.
 */
export class PartialBlob {
  private hash: Hash = createHash('sha256');
  private bytes = 0;
  private closed = false;

  constructor(
    readonly digest: string,
    readonly path: string,
    private readonly commitFile: (path: string) => Promise<void>,
    private readonly release: () => void,
  ) {}

  /** Bytes written and hashed so far: where a resumed download starts. */
  get offset(): number {
    return this.bytes;
  }

  /** Hashes what is on disk again (after open, or after a failed append left the state unsure). */
  async rehash(): Promise<void> {
    this.hash = createHash('sha256');
    this.bytes = 0;
    const st = await stat(this.path).catch(() => undefined);
    if (st === undefined) return;
    for await (const chunk of createReadStream(this.path) as AsyncIterable<Buffer>) {
      this.hash.update(chunk);
      this.bytes += chunk.length;
    }
  }

  /** Starts over: empties the file (the server ignored a Range request, or the bytes were bad). */
  async reset(): Promise<void> {
    await truncate(this.path, 0).catch(async () => undefined);
    this.hash = createHash('sha256');
    this.bytes = 0;
  }

  /**
   * Appends `source`, hashing it; `onBytes` sees each chunk's length. On failure the file
   * is hashed again, so `offset` is exactly what is on disk.
   */
  async append(source: AsyncIterable<Buffer> | Readable, onBytes: (n: number) => void = () => undefined): Promise<void> {
    // Chunks are hashed and counted as they come, and written by one writev at a time: what
    // arrives while a write runs goes out with the next one (a slow download is written as it
    // comes, a fast one in big writes); past WRITE_BATCH bytes waiting, reading waits.
    const fh = await open(this.path, 'a', 0o644);
    let batch: Buffer[] = [];
    let batched = 0;
    let writing: Promise<void> | undefined;
    let writeError: { error: unknown } | undefined;
    const startWrite = (): void => {
      if (writing !== undefined || batch.length === 0 || writeError !== undefined) return;
      const chunks = batch;
      const bytes = batched;
      batch = [];
      batched = 0;
      writing = fh
        .writev(chunks)
        .then(({ bytesWritten }) => {
          if (bytesWritten !== bytes) throw new Internal(`${this.path}: short write (${bytesWritten} of ${bytes} bytes)`);
        })
        .catch((e: unknown) => {
          writeError ??= { error: e };
        })
        .finally(() => {
          writing = undefined;
          startWrite();
        });
    };
    /** Writes everything gathered; throws the first write error. */
    const flush = async (): Promise<void> => {
      startWrite();
      while (writing !== undefined) await writing;
      if (writeError !== undefined) throw writeError.error;
    };
    try {
      for await (const chunk of source as AsyncIterable<Buffer>) {
        if (writeError !== undefined) throw writeError.error;
        batch.push(chunk);
        batched += chunk.length;
        this.hash.update(chunk);
        this.bytes += chunk.length;
        onBytes(chunk.length);
        startWrite();
        if (batched >= WRITE_BATCH && writing !== undefined) await writing;
      }
      await flush();
    } catch (e) {
      // What arrived before the failure is kept (a resume starts after it).
      await flush().catch(() => undefined);
      await fh.close().catch(() => undefined);
      // What is on disk is the truth: hash it again, so `offset` is exactly that.
      await this.rehash().catch(() => undefined);
      throw e;
    }
    await fh.close();
  }

  /** Verifies digest and size; commits the blob, or deletes the partial and throws. */
  async commit(expectedSize?: number): Promise<void> {
    try {
      const got = `sha256:${this.hash.copy().digest('hex')}`;
      if (expectedSize !== undefined && this.bytes !== expectedSize) {
        await rm(this.path, { force: true });
        throw new InvalidArgument(`size mismatch for ${this.digest}: expected ${expectedSize} bytes, got ${this.bytes}`);
      }
      if (got !== this.digest) {
        await rm(this.path, { force: true });
        throw new InvalidArgument(`digest mismatch: expected ${this.digest}, got ${got}`);
      }
      const fh = await open(this.path, 'r');
      await fh.sync().finally(() => fh.close());
      await this.commitFile(this.path);
    } finally {
      this.close();
    }
  }

  /** Deletes the partial. */
  async discard(): Promise<void> {
    await rm(this.path, { force: true });
    this.close();
  }

  /** Lets go of the partial, keeping it for a later resume. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.release();
  }
}
