/**
 * Compressed variants of layers stored uncompressed (made by `import`, `commit`, `load`):
 * what a push sends instead of the plain tar. A variant maps the layer's diffID to the gzip
 * blob made from it (digest, size, media type), like Docker's distribution metadata
 * (`v2metadata-by-diffid`), so the next push of the layer sends the same blob without
 * compressing again, and a HEAD or a cross-repository mount looks for that digest.
 *
 * One small JSON file per diffID in `<image root>/compressed/<diffID hex>.json`, written
 * atomically after its blob is committed to the content store, so a variant never names a
 * blob that was never whole. The blob itself is kept as long as an image has the layer
 * (`ImageStore.gc`).
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Internal } from '../../core/errors.js';
import { MEDIA_TYPES } from '../../core/oci.js';
import { readJsonIfExists, writeJsonAtomic } from '../util/atomic.js';

export interface CompressedVariant {
  /** The uncompressed layer (its tar's digest). */
  diffId: string;
  /** The compressed blob in the content store. */
  digest: string;
  size: number;
  /** OCI's media type for the compression (`…tar+gzip`); a Docker manifest uses Docker's name for it. */
  mediaType: string;
}

const digestRe = /^sha256:[a-f0-9]{64}$/;

/** A variant read from disk, or undefined when the file is not one (it is then ignored). */
export function parseVariant(json: unknown): CompressedVariant | undefined {
  if (json === null || typeof json !== 'object') return undefined;
  const v = json as Partial<Record<keyof CompressedVariant, unknown>>;
  if (typeof v.diffId !== 'string' || !digestRe.test(v.diffId)) return undefined;
  if (typeof v.digest !== 'string' || !digestRe.test(v.digest) || v.digest === v.diffId) return undefined;
  if (typeof v.size !== 'number' || !Number.isSafeInteger(v.size) || v.size <= 0) return undefined;
  if (typeof v.mediaType !== 'string' || v.mediaType === '') return undefined;
  return { diffId: v.diffId, digest: v.digest, size: v.size, mediaType: v.mediaType };
}

/** The media type of a gzip layer in a manifest of `manifestMediaType` (Docker's name in a Docker manifest). */
export function gzipLayerMediaType(manifestMediaType: string): string {
  return manifestMediaType === MEDIA_TYPES.dockerManifest ? MEDIA_TYPES.dockerLayerGzip : MEDIA_TYPES.ociLayerGzip;
}

export class CompressedLayers {
  private readonly byDiffId = new Map<string, CompressedVariant>();

  constructor(private readonly dir: string) {}

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    for (const name of await readdir(this.dir)) {
      const path = join(this.dir, name);
      // A write a crash cut short (writeJsonAtomic's temp file): never the real one.
      if (!/^[a-f0-9]{64}\.json$/.test(name)) {
        await rm(path, { force: true, recursive: true });
        continue;
      }
      const v = parseVariant(await readJsonIfExists<unknown>(path).catch(() => undefined));
      if (v === undefined || `${v.diffId.slice(7)}.json` !== name) {
        await rm(path, { force: true });
        continue;
      }
      this.byDiffId.set(v.diffId, v);
    }
  }

  get(diffId: string): CompressedVariant | undefined {
    return this.byDiffId.get(diffId);
  }

  /** The variant whose compressed blob is `digest`, if any. */
  byDigest(digest: string): CompressedVariant | undefined {
    for (const v of this.byDiffId.values()) if (v.digest === digest) return v;
    return undefined;
  }

  list(): CompressedVariant[] {
    return [...this.byDiffId.values()];
  }

  /** Records a variant (its blob must be committed already). */
  async record(v: CompressedVariant): Promise<void> {
    const checked = parseVariant(v);
    if (checked === undefined) throw new Internal(`invalid compressed layer variant for ${v.diffId}`);
    await writeJsonAtomic(this.pathOf(v.diffId), checked);
    this.byDiffId.set(v.diffId, checked);
  }

  async forget(diffId: string): Promise<void> {
    this.byDiffId.delete(diffId);
    await rm(this.pathOf(diffId), { force: true });
  }

  private pathOf(diffId: string): string {
    return join(this.dir, `${diffId.slice(7)}.json`);
  }
}
