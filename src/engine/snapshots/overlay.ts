import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { NotFound } from '../../core/errors.js';
import type { Mount } from '../../sys/mount.js';
import { sha256 } from '../content/store.js';
import { readJsonIfExists, writeJsonAtomic } from '../util/atomic.js';

/**
 * Overlay snapshotter: every layer is unpacked once into a directory keyed by its chain ID,
 * shared by every image that has it. A snapshot exists when its meta.json exists; it is
 * unpacked in a temporary directory and renamed into place, so a crash leaves no half layer.
 *
 * Overlay options are limited to one page (4096 bytes), so lower dirs are named through
 * short links `l/<12 hex>` and the mount runs with its cwd in the snapshot root
 * (the way Docker's overlay2 keeps 128-layer images mountable).
 */
export interface SnapshotMeta {
  chainId: string;
  parent?: string;
  diffId: string;
  short: string;
  /** Bytes of the layer's uncompressed tar. */
  size: number;
  /** What its files take, as Docker counts a layer (`UnpackResult.contentSize`); absent in snapshots berth made before it kept this. */
  contentSize?: number;
}

/** A layer's size as Docker reports it (images, history, prune): its files, or its tar for an old snapshot. */
export function layerSize(meta: SnapshotMeta): number {
  return meta.contentSize ?? meta.size;
}

export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) {
    const prev = out[out.length - 1];
    out.push(prev === undefined ? d : sha256(`${prev} ${d}`));
  }
  return out;
}

const EMPTY = 'empty';

export class OverlaySnapshotter {
  /** Snapshots found on disk: a snapshot never changes, and only `remove` takes one away. */
  private readonly known = new Map<string, SnapshotMeta>();

  constructor(private readonly root: string) {}

  async init(): Promise<void> {
    await mkdir(join(this.root, 'l'), { recursive: true });
    // Leftovers of an unpack interrupted by a crash.
    for (const name of await readdir(this.root)) {
      // Retried: an unpack process of a daemon killed a moment ago may still be ending there.
      if (name.includes('.tmp-')) await rm(join(this.root, name), { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    }
    await mkdir(join(this.root, EMPTY, 'fs'), { recursive: true });
    await symlink(`../${EMPTY}/fs`, join(this.root, 'l', EMPTY)).catch(() => undefined);
  }

  private dir(chainId: string): string {
    return join(this.root, chainId.replace(/^sha256:/, ''));
  }

  async get(chainId: string): Promise<SnapshotMeta | undefined> {
    const cached = this.known.get(chainId);
    if (cached !== undefined) return cached;
    const meta = await readJsonIfExists<SnapshotMeta>(join(this.dir(chainId), 'meta.json'));
    if (meta !== undefined) this.known.set(chainId, meta);
    return meta;
  }

  /**
   * Unpacks a layer whose diffId is learnt while unpacking (compressed blobs): the result is
   * filed under its chain ID, or dropped when that snapshot already exists.
   */
  async unpackNew(
    parent: string | undefined,
    unpack: (dir: string) => Promise<{ diffId: string; size: number; contentSize?: number }>,
  ): Promise<SnapshotMeta> {
    const tmp = join(this.root, `new.tmp-${randomBytes(6).toString('hex')}`);
    await mkdir(join(tmp, 'fs'), { recursive: true });
    try {
      const { diffId, size, contentSize } = await unpack(join(tmp, 'fs'));
      const chainId = parent === undefined ? diffId : sha256(`${parent} ${diffId}`);
      const existing = await this.get(chainId);
      if (existing) return existing;
      const short = randomBytes(6).toString('hex');
      const meta: SnapshotMeta = { chainId, diffId, short, size, ...(contentSize !== undefined ? { contentSize } : {}), ...(parent !== undefined ? { parent } : {}) };
      await writeJsonAtomic(join(tmp, 'meta.json'), meta);
      const final = this.dir(chainId);
      await rm(final, { recursive: true, force: true });
      await rename(tmp, final);
      await symlink(`../${chainId.replace(/^sha256:/, '')}/fs`, join(this.root, 'l', short));
      return meta;
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /** The directory holding the unpacked files of one snapshot. */
  async path(chainId: string): Promise<string> {
    if (!(await this.get(chainId))) throw new NotFound(`snapshot ${chainId}: not found`);
    return join(this.dir(chainId), 'fs');
  }

  /** Lower dirs of a chain, topmost first, as absolute paths. */
  async lowerDirs(topChainId: string | undefined): Promise<string[]> {
    const out: string[] = [];
    let cur = topChainId;
    while (cur !== undefined) {
      const meta = await this.get(cur);
      if (!meta) throw new NotFound(`snapshot ${cur}: not found`);
      out.push(join(this.dir(cur), 'fs'));
      cur = meta.parent;
    }
    return out;
  }

  /**
   * The overlay mount for a container: lower dirs of the image's top layer, the container's
   * own upper and work dirs, and optionally the container's init dir (mount points for the
   * files berth bind-mounts, kept out of the upper dir so they never show in diff or commit).
   * Returns a description; the caller mounts it.
   */
  async mountFor(topChainId: string | undefined, upper: string, work: string, initDir?: string): Promise<Mount> {
    const shorts: string[] = initDir !== undefined ? [initDir] : [];
    let cur = topChainId;
    while (cur !== undefined) {
      const meta = await this.get(cur);
      if (!meta) throw new NotFound(`snapshot ${cur}: not found`);
      shorts.push(`l/${meta.short}`);
      cur = meta.parent;
    }
    if (topChainId === undefined) shorts.push(`l/${EMPTY}`);
    return {
      type: 'overlay',
      source: 'overlay',
      options: [`lowerdir=${shorts.join(':')}`, `upperdir=${upper}`, `workdir=${work}`, 'index=off'],
      cwd: this.root,
    };
  }

  async remove(chainId: string): Promise<void> {
    const meta = await this.get(chainId);
    this.known.delete(chainId);
    if (meta) await rm(join(this.root, 'l', meta.short), { force: true });
    await rm(this.dir(chainId), { recursive: true, force: true });
  }

  async list(): Promise<SnapshotMeta[]> {
    const out: SnapshotMeta[] = [];
    for (const name of await readdir(this.root)) {
      if (!/^[a-f0-9]{64}$/.test(name)) continue;
      const meta = await this.get(`sha256:${name}`);
      if (meta) out.push(meta);
    }
    return out;
  }
}
