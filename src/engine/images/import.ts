import type { Readable } from 'node:stream';
import type { ImageConfig, ImageRuntimeConfig, Platform } from '../../core/oci.js';
import { applyChanges } from './changes.js';
import type { ImageStore } from './store.js';

/**
 * `import`: a root filesystem tar (plain or gzip) becomes a one-layer image, for the host's
 * platform or the one given (`--platform linux/arm64`: the files are not checked, as Docker
 * does not either; that is how images of other platforms are made without a builder).
 */
export async function importRootfs(
  store: ImageStore,
  input: Readable | AsyncIterable<Buffer>,
  opts: { changes?: string[]; message?: string; tag?: string; platform?: Platform } = {},
): Promise<string> {
  const { descriptor, diffId } = await store.addLayer({ stream: input }, undefined);
  const created = new Date().toISOString();
  const runtime: ImageRuntimeConfig = applyChanges({}, opts.changes ?? []);
  const config: ImageConfig = {
    architecture: opts.platform?.architecture ?? hostArchitecture(),
    os: opts.platform?.os ?? 'linux',
    ...(opts.platform?.variant !== undefined ? { variant: opts.platform.variant } : {}),
    created,
    // The message, or where it came from, in the config as in its history (Docker's import).
    comment: opts.message || 'Imported from -',
    config: runtime,
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created, created_by: '', comment: opts.message || 'Imported from -' }],
  };
  const rec = await store.createImage(config, [descriptor]);
  if (opts.tag) await store.tag(rec.id, opts.tag);
  return rec.id;
}

export function hostArchitecture(): string {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return map[process.arch] ?? process.arch;
}
