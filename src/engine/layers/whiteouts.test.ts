import { spawnSync } from 'node:child_process';
import { lstat, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fakeRunner } from '../../sys/exec.js';
import { packDiff, unpackLayer } from './index.js';
import { IS_ROOT, collector, makeTar, readTar, tempDir } from './test-helpers.js';
import {
  argvBatches,
  decodeGetfattrPath,
  parseOpaqueDump,
  spawnOpaqueReader,
  spawnWhiteoutWriter,
} from './whiteouts.js';

describe('spawnWhiteoutWriter', () => {
  it('runs one sh -c with every path as its own argument', async () => {
    const { runner, calls } = fakeRunner();
    const hostile = ['/l/a b', '/l/$(reboot)', "/l/'q'\"", '/l/-rf', '/l/new\nline'];
    await spawnWhiteoutWriter(runner).apply(hostile, ['/l/opq dir', '/l/x;y']);
    expect(calls).toHaveLength(1);
    const { cmd, args } = calls[0] as { cmd: string; args: readonly string[] };
    expect(cmd).toBe('sh');
    expect(args[0]).toBe('-c');
    expect(args[2]).toBe('sh');
    expect(args.slice(3)).toEqual(['5', ...hostile, '/l/opq dir', '/l/x;y']);
    // The script refers to its arguments only as "$1" / "$@": no path is ever part of it.
    expect(args[1]).not.toContain('/l/');
    expect(args[1]).toContain('mknod -m 0 -- "$1" c 0 0');
    expect(args[1]).toContain('setfattr -h -n trusted.overlay.opaque -v y -- "$@"');
  });

  it('splits only past the argv budget, and reports failures', async () => {
    const many = Array.from({ length: 9000 }, (_, i) => `/var/lib/berth/snapshots/abcdef/fs/usr/share/doc/pkg-${i}`);
    const { runner, calls } = fakeRunner();
    await spawnWhiteoutWriter(runner).apply(many, []);
    expect(calls.length).toBeGreaterThan(1);
    expect(calls.flatMap((c) => c.args.slice(4))).toEqual(many);
    const failing = fakeRunner(() => ({ code: 1, stderr: 'mknod: /x: File exists' }));
    await expect(spawnWhiteoutWriter(failing.runner).apply(['/x'], [])).rejects.toThrow(/File exists/);
  });

  it('argvBatches keeps order and budget', () => {
    expect(argvBatches(['aaa', 'bbb', 'ccc'], 8)).toEqual([['aaa', 'bbb'], ['ccc']]);
    expect(argvBatches([], 8)).toEqual([]);
    expect(argvBatches(['way-too-long-for-the-budget'], 8)).toEqual([['way-too-long-for-the-budget']]);
  });
});

describe('getfattr output', () => {
  it('decodes octal escapes', () => {
    expect(decodeGetfattrPath('/a/nl\\012x')).toBe('/a/nl\nx');
    expect(decodeGetfattrPath('/we ird\\134x')).toBe('/we ird\\x');
    expect(decodeGetfattrPath('/\\303\\251t\\303\\251')).toBe('/été');
    expect(decodeGetfattrPath('/plain/été')).toBe('/plain/été');
  });

  it('parses a dump: only value "y" counts', () => {
    const out = [
      '# file: /u/a',
      'trusted.overlay.opaque="y"',
      '',
      '# file: /u/b',
      'trusted.overlay.opaque="x"',
      '',
      '# file: /u/sp ace\\012',
      'trusted.overlay.opaque="y"',
      '',
    ].join('\n');
    expect([...parseOpaqueDump(out)]).toEqual(['/u/a', '/u/sp ace\n']);
  });

  it('reads with one getfattr call; "No such attribute" is not an error', async () => {
    const { runner, calls } = fakeRunner(() => ({
      code: 1,
      stdout: '# file: /u/d1\ntrusted.overlay.opaque="y"\n\n',
      stderr: '/u/d2: trusted.overlay.opaque: No such attribute\n',
    }));
    expect([...(await spawnOpaqueReader(runner)(['/u/d1', '/u/d2']))]).toEqual(['/u/d1']);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args.slice(-3)).toEqual(['--', '/u/d1', '/u/d2']);
    const broken = fakeRunner(() => ({ code: 1, stderr: '/u/d1: Permission denied\n' }));
    await expect(spawnOpaqueReader(broken.runner)(['/u/d1'])).rejects.toThrow(/Permission denied/);
  });
});

const HAVE_ATTR = spawnSync('sh', ['-c', 'command -v setfattr && command -v getfattr']).status === 0;

describe.skipIf(!IS_ROOT || !HAVE_ATTR)('real whiteouts (root, attr installed)', () => {
  let base: string;
  beforeEach(async () => {
    base = await tempDir();
  });
  afterEach(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it('unpacks whiteouts as char devices 0:0 and opaque xattrs, and packDiff gives them back', async () => {
    const dest = join(base, 'fs');
    await mkdir(dest);
    const layer = await makeTar([
      { header: { name: 'etc/', type: 'directory' } },
      { header: { name: 'etc/.wh.motd' } },
      { header: { name: '.wh.odd name $(x)' } },
      { header: { name: 'var/cache/', type: 'directory' } },
      { header: { name: 'var/cache/.wh..wh..opq' } },
      { header: { name: 'var/cache/kept' }, body: 'kept' },
    ]);
    await unpackLayer(Readable.from([layer]), dest);

    for (const p of ['etc/motd', 'odd name $(x)']) {
      const st = await lstat(join(dest, p));
      expect(st.isCharacterDevice(), p).toBe(true);
      expect(st.rdev, p).toBe(0);
    }
    const opaque = await spawnOpaqueReader()([join(dest, 'etc'), join(dest, 'var'), join(dest, 'var/cache')]);
    expect([...opaque]).toEqual([join(dest, 'var/cache')]);
    expect((await readdir(join(dest, 'var/cache'))).sort()).toEqual(['kept']);

    const { out, bytes } = collector();
    await packDiff(dest, out);
    const names = (await readTar(bytes())).map((e) => `${e.header.type} ${e.header.name}`);
    expect(names).toEqual([
      'directory etc/',
      'file etc/.wh.motd',
      'file .wh.odd name $(x)',
      'directory var/',
      'directory var/cache/',
      'file var/cache/.wh..wh..opq',
      'file var/cache/kept',
    ]);
  });
});
