import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidArgument, NotFound } from '../../core/errors.js';
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

export class LocalContentStore implements ContentStore {
  private readonly blobs: string;
  private readonly ingestDir: string;

  constructor(root: string) {
    this.blobs = join(root, 'blobs', 'sha256');
    this.ingestDir = join(root, 'ingest');
  }

  async init(): Promise<void> {
    await mkdir(this.blobs, { recursive: true });
    await rm(this.ingestDir, { recursive: true, force: true });
    await mkdir(this.ingestDir, { recursive: true });
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
    return createReadStream(this.path(digest));
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
