/**
 * Local manifest lists, kept where and as the docker CLI keeps them:
 * `$DOCKER_CONFIG/manifests/<list>/<image>` (default `~/.docker/manifests`), one JSON file
 * per image of a list (docker's `types.ImageManifest`, core/manifest-list.ts), with docker's
 * file-safe names (`127.0.0.1:5000/app:1` → `127.0.0.1-5000_app-1`; newer docker CLIs'
 * `127.0.0.1%5000#app%1` is read too, and a list found under it is written there). A list
 * made with `berth manifest create` can be pushed with `docker manifest push`, and the reverse.
 *
 * Files are written whole or not at all (a temp file in the store's root, fsynced, renamed
 * into place), so a crash never leaves a half-written entry that a push would send.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgument, NotFound } from '../core/errors.js';
import { manifestFileNames, parseImageManifestEntry, type ImageManifestEntry } from '../core/manifest-list.js';
import { configDir } from './auth.js';

export function manifestsDir(env: NodeJS.ProcessEnv): string {
  return join(configDir(env), 'manifests');
}

/** Temp files live in the root, named so that neither berth nor docker takes them for a list. */
const TEMP_PREFIX = '.tmp-';

type Naming = 'current' | 'newer';

export class ManifestStore {
  constructor(readonly root: string) {}

  /** The directory of a list and the naming it uses: the one that exists, else docker 28's. */
  private async listDir(listRef: string): Promise<{ dir: string; naming: Naming; exists: boolean }> {
    const names = manifestFileNames(listRef);
    for (const naming of ['current', 'newer'] as const) {
      const dir = join(this.root, names[naming]);
      if ((await stat(dir).catch(() => undefined))?.isDirectory() === true) return { dir, naming, exists: true };
    }
    return { dir: join(this.root, names.current), naming: 'current', exists: false };
  }

  /** One image of a list; NotFound (`No such manifest: <image>`) when the list does not have it. */
  async get(listRef: string, imageRef: string): Promise<ImageManifestEntry> {
    const { dir, naming } = await this.listDir(listRef);
    return this.read(join(dir, manifestFileNames(imageRef)[naming]), imageRef);
  }

  private async read(path: string, name: string): Promise<ImageManifestEntry> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFound(`No such manifest: ${name}`);
      throw e;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new InvalidArgument(`invalid manifest file ${path}: ${(e as Error).message}`);
    }
    return parseImageManifestEntry(json, path);
  }

  /** Every image of a list, ordered by file name (as docker reads them); NotFound when there is no such list. */
  async getList(listRef: string): Promise<ImageManifestEntry[]> {
    const { dir, exists } = await this.listDir(listRef);
    if (!exists) throw new NotFound(`No such manifest: ${listRef}`);
    const names = (await readdir(dir)).filter((x) => !x.startsWith('.')).sort();
    const out: ImageManifestEntry[] = [];
    for (const n of names) out.push(await this.read(join(dir, n), n));
    return out;
  }

  /** Saves (or replaces) one image of a list. */
  async save(listRef: string, imageRef: string, entry: ImageManifestEntry): Promise<void> {
    const { dir, naming } = await this.listDir(listRef);
    await mkdir(dir, { recursive: true, mode: 0o755 });
    await this.dropStaleTemps();
    const tmp = join(this.root, `${TEMP_PREFIX}${randomBytes(6).toString('hex')}`);
    const fh = await open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(JSON.stringify(entry));
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await rename(tmp, join(dir, manifestFileNames(imageRef)[naming]));
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  /** Temp files a killed save left (an hour old: no save takes that long). */
  private async dropStaleTemps(): Promise<void> {
    for (const n of await readdir(this.root)) {
      if (!n.startsWith(TEMP_PREFIX)) continue;
      const st = await stat(join(this.root, n)).catch(() => undefined);
      if (st !== undefined && Date.now() - st.mtimeMs > 3600_000) await rm(join(this.root, n), { force: true });
    }
  }

  /** Removes a list (under either naming; nothing when there is none). */
  async remove(listRef: string): Promise<void> {
    const names = manifestFileNames(listRef);
    await rm(join(this.root, names.current), { recursive: true, force: true });
    await rm(join(this.root, names.newer), { recursive: true, force: true });
  }
}
