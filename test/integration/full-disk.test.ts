import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { MEDIA_TYPES } from '../../src/core/oci.js';
import { makeTar } from '../../src/engine/layers/test-helpers.js';
import { FakeRegistry } from '../fake-registry.js';
import { background, loadBusybox, rootSkipReason, rootTestsEnabled, startDaemon, type TestDaemon } from '../harness.js';
import { sha256 } from '../registry-helpers.js';

/**
 * A full disk: the daemon's root is a small tmpfs, filled to the last byte. Every write that
 * fails says so and exits non-zero; nothing that was stored before is lost or damaged (images,
 * tags, containers and their files, also across a restart), and nothing half-written stays.
 * Once space is back, everything works again.
 */
describe.skipIf(!rootTestsEnabled())(`full disk (${rootSkipReason})`, () => {
  let d: TestDaemon;
  let tmp: string;
  let reg: FakeRegistry;
  const filler = () => join(d.root, 'filler');

  beforeAll(async () => {
    d = await startDaemon({ rootTmpfsSize: '64m' });
    loadBusybox(d);
    tmp = await mkdtemp(join(tmpdir(), 'berth-full-disk-'));
    // An image of one 4 MiB layer in an in-process registry (pulled with the CLI in the background).
    reg = new FakeRegistry();
    await reg.start();
    const tar = await makeTar([{ header: { name: 'pulled', mode: 0o644 }, body: randomBytes(4 * 1024 * 1024) }]);
    const l = reg.addBlob('big/app', gzipSync(tar));
    const c = reg.addBlob('big/app', Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [sha256(tar)] } })));
    reg.addManifest('big/app', { schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config: { mediaType: MEDIA_TYPES.ociConfig, ...c }, layers: [{ mediaType: MEDIA_TYPES.ociLayerGzip, ...l }] }, MEDIA_TYPES.ociManifest, '1');
  });
  afterAll(async () => {
    await d?.stop();
    await reg?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  const pull = () => background(d, 'berth', ['pull', `${reg.host}/big/app:1`]).done;

  const state = () => ({
    images: d.berth(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']).stdout,
    containers: d.berth(['ps', '-a', '--format', '{{.Names}} {{.Image}} {{.Status}}']).stdout.replace(/Exited \((\d+)\) .*/g, 'Exited ($1)'),
  });

  /** Fills the root's filesystem: a file grows until the kernel says there is no space. */
  function fillDisk(): void {
    spawnSync('sh', ['-c', `cat /dev/zero > ${filler()}`]);
    const df = spawnSync('df', ['--output=avail', '-B1', d.root]).stdout.toString().trim().split('\n').pop();
    expect(Number(df)).toBeLessThan(64 * 1024);
  }

  it('refuses what it cannot write, keeps what it had, and works again once there is space', async () => {
    const kept = d.berth(['run', '--name', 'keep', 'busybox', 'sh', '-c', 'echo kept > /data; echo logged']);
    expect(kept.code).toBe(0);
    expect(d.berth(['tag', 'busybox', 'busybox:before']).code).toBe(0);
    const layer = join(tmp, 'layer.tar');
    await writeFile(layer, await makeTar([{ header: { name: 'big', mode: 0o644 }, body: randomBytes(4 * 1024 * 1024) }]));
    // An image saved elsewhere, to load while the disk is full.
    expect(d.berth(['import', layer, 'saved:1']).code).toBe(0);
    const saved = join(tmp, 'saved.tar');
    expect(d.berth(['save', '-o', saved, 'saved:1']).code).toBe(0);
    expect(d.berth(['rmi', 'saved:1']).code).toBe(0);
    const before = state();

    fillDisk();
    // An import needs its blob and its snapshot: no space.
    const imp = d.berth(['import', layer, 'big:1']);
    expect(imp.code).not.toBe(0);
    expect(imp.stderr).toMatch(/no space left on device/i);
    // A tag rewrites the reference store; a create writes a record and directories.
    const tag = d.berth(['tag', 'busybox', 'busybox:after']);
    expect(tag.code).not.toBe(0);
    expect(tag.stderr).toMatch(/no space left on device/i);
    const create = d.berth(['create', '--name', 'new', 'busybox', 'true']);
    expect(create.code).not.toBe(0);
    expect(create.stderr).toMatch(/no space left on device/i);
    const load = d.berth(['load', '-i', saved]);
    expect(load.code).not.toBe(0);
    expect(load.stderr).toMatch(/no space left on device/i);
    // A pull: refused; its scratch snapshot goes, its partial blob may stay for a resume.
    const pulled = await pull();
    expect(pulled.code).not.toBe(0);
    expect(pulled.stderr).toMatch(/no space left on device/i);
    expect((await readdir(join(d.root, 'snapshots'))).filter((n) => n.includes('.tmp-'))).toEqual([]);
    expect(state()).toEqual(before);
    // A start writes the container's record and files: refused, and the container stays
    // stopped with nothing mounted (Docker's rule: a failed start records exit code 128).
    const start = d.berth(['start', 'keep']);
    expect(start.code).not.toBe(0);
    expect(start.stderr).toMatch(/no space left on device/i);
    expect(state().containers).toMatch(/^keep busybox Exited \((0|128)\)\n$/);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(join(d.root, 'containers'));

    // What was stored loads again as it was (the failed start's 128 could not be written).
    await d.restart();
    expect(state().images).toEqual(before.images);
    expect(state().containers).toMatch(/^keep busybox Exited \((0|128)\)\n$/);
    const ingest = await readdir(join(d.root, 'content', 'ingest'));
    expect(ingest.filter((e) => e !== 'partial')).toEqual([]);
    expect((await readdir(join(d.root, 'snapshots'))).filter((n) => n.includes('.tmp-'))).toEqual([]);
    expect(d.berth(['logs', 'keep']).stdout).toBe('logged\n');

    // Space again: everything works, and the container's files are there.
    await unlink(filler());
    expect(d.berth(['import', layer, 'big:1']).code).toBe(0);
    expect(d.berth(['load', '-i', saved]).stdout).toContain('Loaded image: saved:1');
    expect((await pull()).code).toBe(0);
    expect(d.berth(['tag', 'busybox', 'busybox:after']).code).toBe(0);
    expect(d.berth(['start', 'keep']).code).toBe(0);
    expect(d.berth(['wait', 'keep']).stdout.trim()).toBe('0');
    expect(d.berth(['cp', 'keep:/data', '-']).stdout).toContain('kept\n');
    expect(d.berth(['run', '--rm', 'busybox', 'echo', 'ok']).stdout).toBe('ok\n');
    expect(d.berth(['rm', 'keep']).code).toBe(0);
  });
});
