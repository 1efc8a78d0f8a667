import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Internal, InvalidArgument } from '../../core/errors.js';
import { unpackLayer, unpackLayerInProcess, unpackLayerSized } from './index.js';
import { IS_ROOT, describeTree, makeTar, sha256hex, tempDir, type TarEntry } from './test-helpers.js';

// The unpack process runs tsc's output of unpack-main.ts: `npm run build` comes before the
// unit tier in scripts/test.sh.
const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const SCRIPT = join(REPO, 'dist', 'engine', 'layers', 'unpack-main.js');
if (!existsSync(SCRIPT)) throw new Error(`${SCRIPT} is missing: run \`npm run build\` before the unit tests`);

const T = new Date('2020-01-02T03:04:05Z');

let base: string;
let dest: string;

beforeEach(async () => {
  base = await tempDir();
  dest = join(base, 'dest');
  await mkdir(dest);
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

const LAYER: TarEntry[] = [
  { header: { name: 'etc/', type: 'directory', mode: 0o755, mtime: T } },
  { header: { name: 'etc/hostname', mode: 0o644, mtime: T, uid: 1000, gid: 1001 }, body: 'box\n' },
  { header: { name: 'usr/bin/su', mode: 0o4755, mtime: T }, body: 'ELF' },
  { header: { name: 'usr/bin/su2', type: 'link', linkname: 'usr/bin/su', mtime: T } },
  { header: { name: 'lib', type: 'symlink', linkname: 'usr/lib', mtime: T, uid: 7, gid: 7 } },
  { header: { name: 'big.bin', mode: 0o600, mtime: T }, body: Buffer.alloc(3 * 1024 * 1024, 9) },
  { header: { name: 'tmp/', type: 'directory', mode: 0o1777, mtime: T } },
];

describe('unpackLayerInProcess', () => {
  it('unpacks a gzip layer as the daemon would: same diffID, size, entries and tree', async () => {
    const plain = await makeTar(LAYER);
    const res = await unpackLayerInProcess(Readable.from([gzipSync(plain)]), dest, { script: SCRIPT });
    expect(res).toEqual({ diffId: `sha256:${sha256hex(plain)}`, size: plain.length, entries: LAYER.length });

    const here = join(base, 'here');
    await mkdir(here);
    expect(await unpackLayer(Readable.from([gzipSync(plain)]), here)).toEqual(res);
    // Directories made for entries (usr/, usr/bin/) get the time they were made: compared without.
    const tree = await describeTree(dest, { dirMtimes: false });
    expect(tree).toEqual(await describeTree(here, { dirMtimes: false }));
    expect((await describeTree(dest))['etc']).toBe('dir 755 0:0 t1577934245');
    expect(tree['usr/bin/su']).toMatch(/^file [0-9a-f]{16} 4755 0:0 t1577934245$/);
    expect(tree['usr/bin/su2']).toMatch(/=link usr\/bin\/su /);
    if (IS_ROOT) expect(tree['etc/hostname']).toMatch(/ 1000:1001 /);
  });

  it.skipIf(!IS_ROOT)('makes real whiteouts and opaque markers (mknod, setfattr)', async () => {
    const plain = await makeTar([
      { header: { name: 'a/', type: 'directory', mode: 0o755 } },
      { header: { name: 'a/.wh..wh..opq', mode: 0o644 }, body: '' },
      { header: { name: 'a/.wh.gone', mode: 0o644 }, body: '' },
    ]);
    await unpackLayerInProcess(Readable.from([plain]), dest, { script: SCRIPT });
    const tree = await describeTree(dest, { dirMtimes: false });
    expect(tree['a/gone']).toMatch(/^char:0 0 /);
  });

  it('reports an invalid layer as InvalidArgument with the unpacker\'s message, and nothing escapes', async () => {
    const outside = join(base, 'outside');
    await mkdir(outside);
    const tarBuf = await makeTar([
      { header: { name: 'x', type: 'symlink', linkname: outside } },
      { header: { name: 'x/pwned' }, body: 'pwned' },
    ]);
    const err = await unpackLayerInProcess(Readable.from([tarBuf]), dest, { script: SCRIPT }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgument);
    expect((err as Error).message).toBe('layer entry "x/pwned" goes through symlink "x"');
    expect(await readdir(outside)).toEqual([]);
  });

  it('rejects a truncated gzip stream while more input is still coming', async () => {
    const gz = gzipSync(await makeTar([{ header: { name: 'f' }, body: Buffer.alloc(50000, 7) }]));
    // The tar ends wrongly in the first chunk; the input goes on for a while after it.
    async function* input() {
      yield gz.subarray(0, gz.length - 30);
      for (let i = 0; i < 50; i++) {
        await new Promise((r) => setTimeout(r, 5));
        yield Buffer.alloc(1024);
      }
    }
    const err = await unpackLayerInProcess(input(), dest, { script: SCRIPT }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgument);
    expect((err as Error).message).toMatch(/^invalid layer tar: /);
  });

  it('fails with the input\'s error when the input fails (a download cut short), not with a short layer', async () => {
    const tarBuf = await makeTar(LAYER);
    async function* input() {
      yield tarBuf.subarray(0, 4096);
      throw new Error('connection reset');
    }
    await expect(unpackLayerInProcess(input(), dest, { script: SCRIPT })).rejects.toThrow('connection reset');
  });

  it('stops on abort: the process is killed and the abort reason thrown', async () => {
    const tarBuf = await makeTar(LAYER);
    const ac = new AbortController();
    let pulled = 0;
    async function* input() {
      yield tarBuf.subarray(0, 4096);
      ac.abort(new Error('pull cancelled'));
      for (;;) {
        pulled++;
        await new Promise((r) => setTimeout(r, 5));
        yield Buffer.alloc(512);
        if (pulled > 1000) return;
      }
    }
    await expect(unpackLayerInProcess(input(), dest, { script: SCRIPT, signal: ac.signal })).rejects.toThrow('pull cancelled');
    expect(pulled).toBeLessThan(1000);
  });

  it('says what happened when the process cannot do its work', async () => {
    const bad = join(base, 'bad.mjs');
    await writeFile(bad, 'process.stderr.write("boom\\n"); process.exit(3);\n');
    const err = await unpackLayerInProcess(Readable.from([Buffer.alloc(1024)]), dest, { script: bad }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Internal);
    expect((err as Error).message).toBe('unpacking layer: the unpack process exited with 3: boom');
  });
});

describe('unpackLayerSized', () => {
  it('sends layers from minBytes up to the unpack process, smaller ones stay in this process', async () => {
    const bad = join(base, 'bad.mjs');
    await writeFile(bad, 'process.exit(4);\n');
    const tarBuf = await makeTar([{ header: { name: 'f', mtime: T }, body: 'small' }]);
    const res = await unpackLayerSized(Readable.from([tarBuf]), dest, 99, { script: bad, minBytes: 100 });
    expect(res.entries).toBe(1);
    expect(await readFile(join(dest, 'f'), 'utf8')).toBe('small');
    await rm(dest, { recursive: true });
    await mkdir(dest);
    await expect(unpackLayerSized(Readable.from([tarBuf]), dest, 100, { script: bad, minBytes: 100 })).rejects.toThrow(
      'the unpack process exited with 4',
    );
    // Without a script (running from the sources) every layer stays here.
    expect((await unpackLayerSized(Readable.from([tarBuf]), dest, 1e9, {})).entries).toBe(1);
  });
});
