import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Internal, InvalidArgument } from '../../core/errors.js';
import { Semaphore } from '../util/limit.js';
import { PLACEMENT_PEEK_BYTES, UNPACK_PROCESS_MIN_BYTES, manySmallFiles, tarHead, unpackLayer, unpackLayerInProcess, unpackLayerPlaced } from './index.js';
import { PARENT_ENV } from './unpack-process.js';
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
    // contentSize: the regular files and the symlink's target; the hardlink and directories add nothing.
    expect(res).toEqual({ diffId: `sha256:${sha256hex(plain)}`, size: plain.length, entries: LAYER.length, contentSize: 4 + 3 + 'usr/lib'.length + 3 * 1024 * 1024 });

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

  it('ends when the process that started it dies (a daemon killed), even with its input still open', async () => {
    // sh starts the unpack process in the background reading a pipe of this test (fd 3, never
    // ended: a background job's own stdin would be /dev/null), naming itself as its parent as
    // the daemon does, prints its pid and exits at once: the unpack process has lost its
    // parent before its first line of JavaScript (it was a child of init from the start).
    const sh = spawn('sh', ['-c', `${PARENT_ENV}=$$ node "$0" "$1" <&3 & echo $!`, SCRIPT, dest], { stdio: ['ignore', 'pipe', 'ignore', 'pipe'] });
    const input = sh.stdio[3] as NodeJS.WritableStream;
    const out = sh.stdio[1] as Readable;
    const pid = Number((await new Promise<Buffer>((res) => out.once('data', res))).toString().trim());
    expect(pid).toBeGreaterThan(0);
    await new Promise((res) => sh.once('exit', res));
    // Ended: gone, or a zombie its new parent has not reaped yet.
    const running = async () => {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
      return stat !== '' && !/^\d+ \(.*\) Z /s.test(stat);
    };
    let alive = true;
    for (let i = 0; i < 20 && alive; i++) {
      await new Promise((r) => setTimeout(r, 50));
      alive = await running();
    }
    input.end();
    expect(alive).toBe(false);
  });

  it('says what happened when the process cannot do its work', async () => {
    const bad = join(base, 'bad.mjs');
    await writeFile(bad, 'process.stderr.write("boom\\n"); process.exit(3);\n');
    const err = await unpackLayerInProcess(Readable.from([Buffer.alloc(1024)]), dest, { script: bad }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Internal);
    expect((err as Error).message).toBe('unpacking layer: the unpack process exited with 3: boom');
  });
});

describe('placing a layer: unpackLayerPlaced, manySmallFiles, tarHead', () => {
  const manyFiles = (n: number, size = 100): TarEntry[] =>
    Array.from({ length: n }, (_, i) => ({ header: { name: `d/f${i}`, mtime: T }, body: Buffer.alloc(size, i) }));
  // Three big files and a few small ones: 8 entries of 1.1 MiB on average.
  const bigFiles = (): TarEntry[] => [
    ...['a', 'b', 'c'].map((name) => ({ header: { name, mtime: T }, body: Buffer.alloc(3 << 20, 1) })),
    ...manyFiles(5),
  ];

  it('tarHead counts the entries a prefix shows and where the last one ends', async () => {
    const tarBuf = await makeTar([...manyFiles(3, 1000), { header: { name: 'big', mtime: T }, body: Buffer.alloc(5000) }]);
    // 3 × (512 + 1024) and the big file's header: its data ends past the prefix.
    expect(tarHead(tarBuf.subarray(0, 3 * 1536 + 512))).toEqual({ entries: 4, end: 3 * 1536 + 512 + 5120 });
    expect(tarHead(tarBuf)).toEqual({ entries: 4, end: 3 * 1536 + 512 + 5120 });
    expect(tarHead(Buffer.alloc(1024))).toEqual({ entries: 0, end: 0 });
  });

  it('manySmallFiles: yes for many small entries (plain or gzip, whole or cut), no for big files, few entries, zstd or garbage', async () => {
    const small = await makeTar(manyFiles(200));
    expect(await manySmallFiles(small)).toBe(true);
    expect(await manySmallFiles(gzipSync(small))).toBe(true);
    expect(await manySmallFiles(gzipSync(small).subarray(0, 1000))).toBe(true);
    const big = await makeTar(bigFiles());
    expect(await manySmallFiles(big)).toBe(false);
    expect(await manySmallFiles(gzipSync(big))).toBe(false);
    expect(await manySmallFiles(await makeTar(manyFiles(5)))).toBe(false);
    // A big file first, then many small ones (node_modules begins so): many entries are enough.
    const bigFirst = await makeTar([{ header: { name: 'bin', mtime: T }, body: Buffer.alloc(10 << 20, 2) }, ...manyFiles(15)]);
    expect(await manySmallFiles(gzipSync(bigFirst))).toBe(true);
    expect(await manySmallFiles(await makeTar([{ header: { name: 'bin', mtime: T }, body: Buffer.alloc(10 << 20, 2) }, ...manyFiles(14)]))).toBe(false);
    expect(await manySmallFiles(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]))).toBe(false);
    expect(await manySmallFiles(Buffer.alloc(4096, 0x41))).toBe(false);
    expect(await manySmallFiles(Buffer.from([0x1f, 0x8b, 1, 2, 3]))).toBe(false);
    // One big file of zeros (64 MiB in 64 KiB of gzip): no; at most 16 MiB of it is inflated.
    const zeros = gzipSync(await makeTar([{ header: { name: 'z', mtime: T }, body: Buffer.alloc(64 << 20) }]));
    expect(await manySmallFiles(zeros)).toBe(false);
    // A cut stream of many small files: what inflated before the cut counts.
    expect(await manySmallFiles(gzipSync(Buffer.concat([small, small, small])).subarray(0, 2000))).toBe(true);
  });

  // A script that fails says which way a layer went.
  async function placedAway(entries: TarEntry[], sizeHint: number, mode?: 'auto' | 'always' | 'never'): Promise<boolean> {
    const bad = join(base, 'bad.mjs');
    await writeFile(bad, 'process.exit(4);\n');
    await rm(dest, { recursive: true, force: true });
    await mkdir(dest);
    const gz = gzipSync(await makeTar(entries));
    return unpackLayerPlaced(Readable.from([gz.subarray(0, 100), gz.subarray(100)]), dest, sizeHint, { script: bad, ...(mode ? { mode } : {}) }).then(
      (r) => {
        expect(r.entries).toBe(entries.length);
        return false;
      },
      (e: unknown) => {
        expect((e as Error).message).toBe('unpacking layer: the unpack process exited with 4');
        return true;
      },
    );
  }

  it('auto: a big layer of many small files goes to the unpack process; small layers and layers of big files stay', async () => {
    expect(await placedAway(manyFiles(300), UNPACK_PROCESS_MIN_BYTES)).toBe(true);
    expect(await placedAway(manyFiles(300), UNPACK_PROCESS_MIN_BYTES - 1)).toBe(false);
    expect(await placedAway(bigFiles(), UNPACK_PROCESS_MIN_BYTES)).toBe(false);
    expect(await placedAway(manyFiles(300), 1, 'always')).toBe(true);
    expect(await placedAway(manyFiles(300), 1e9, 'never')).toBe(false);
  });

  it('auto: unpack processes beyond the slots wait for one to end (always does not); an abort stops the wait', async () => {
    // Each process notes its start and end, then fails: the log shows whether they overlapped.
    const marks = join(base, 'marks');
    const slow = join(base, 'slow.mjs');
    await writeFile(slow, `import { appendFileSync } from 'node:fs';\nappendFileSync(${JSON.stringify(marks)}, 's');\nsetTimeout(() => { appendFileSync(${JSON.stringify(marks)}, 'e'); process.exit(4); }, 300);\n`);
    const gz = gzipSync(await makeTar(manyFiles(300)));
    const slots = new Semaphore(1);
    const one = async (i: number, opts: { mode?: 'always'; signal?: AbortSignal } = {}) => {
      const d = join(base, `d${i}`);
      await mkdir(d);
      return unpackLayerPlaced(Readable.from([gz]), d, 1e9, { script: slow, slots, ...opts }).catch((e: unknown) => (e as Error).message);
    };
    const failed = 'unpacking layer: the unpack process exited with 4';
    expect(await Promise.all([one(1), one(2), one(3)])).toEqual([failed, failed, failed]);
    expect(await readFile(marks, 'utf8')).toBe('sesese');
    await rm(marks);
    expect(await Promise.all([one(4, { mode: 'always' }), one(5, { mode: 'always' })])).toEqual([failed, failed]);
    expect(await readFile(marks, 'utf8')).toBe('ssee');
    const release = await slots.acquire();
    const ac = new AbortController();
    const waiting = one(6, { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('pull cancelled')), 50);
    expect(await waiting).toBe('pull cancelled');
    release();
  });

  it('a layer peeked at is unpacked whole, in either place; without a script every layer stays here', async () => {
    const entries = manyFiles(300, 5000);
    const gz = gzipSync(await makeTar(entries));
    expect(gz.length).toBeLessThan(PLACEMENT_PEEK_BYTES);
    const chunks = Array.from({ length: Math.ceil(gz.length / 1000) }, (_, i) => gz.subarray(i * 1000, (i + 1) * 1000));
    const away = await unpackLayerPlaced(Readable.from(chunks), dest, 1e9, { script: SCRIPT });
    const here = join(base, 'here');
    await mkdir(here);
    expect(await unpackLayerPlaced(Readable.from(chunks), here, 1e9, {})).toEqual(away);
    expect(away.entries).toBe(300);
    expect(await describeTree(dest, { dirMtimes: false })).toEqual(await describeTree(here, { dirMtimes: false }));
  });

  it('an input that fails while peeked at fails the unpack with its error', async () => {
    const gz = gzipSync(await makeTar(manyFiles(300)));
    async function* input() {
      yield gz.subarray(0, 2000);
      throw new Error('connection reset');
    }
    await expect(unpackLayerPlaced(input(), dest, 1e9, { script: SCRIPT })).rejects.toThrow('connection reset');
  });
});
