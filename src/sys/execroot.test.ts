import { statfsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Runner } from './exec.js';
import { BOOT_ID_FILE, planExecRoot, prepareExecRoot } from './execroot.js';

describe('planExecRoot', () => {
  const base = { inMemory: false, entries: [], runtimeStates: 0, bootId: 'b2', recordedBootId: undefined };

  it('keeps a tmpfs as it is, whatever it holds', () => {
    expect(planExecRoot({ ...base, inMemory: true, entries: ['c', 'runtime'], recordedBootId: 'b1' })).toEqual({ action: 'keep' });
  });

  it('mounts a tmpfs on an empty directory', () => {
    expect(planExecRoot(base)).toEqual({ action: 'mount', why: 'empty' });
  });

  it('mounts over a directory without runtime state (an old daemon log, stopped containers\' bundles)', () => {
    expect(planExecRoot({ ...base, entries: ['berth-daemon.log'] })).toEqual({ action: 'mount', why: 'no container runs from it' });
    expect(planExecRoot({ ...base, entries: ['c', 'exits', 'runtime', 's'], runtimeStates: 0, recordedBootId: 'b2' }).action).toBe('mount');
  });

  it('mounts over what an earlier boot left', () => {
    expect(planExecRoot({ ...base, entries: ['boot-id', 'runtime'], runtimeStates: 3, recordedBootId: 'b1' })).toEqual({ action: 'mount', why: 'left by an earlier boot' });
  });

  it('leaves on disk the runtime state of this boot, and runtime state without a boot id', () => {
    expect(planExecRoot({ ...base, entries: ['boot-id', 'runtime'], runtimeStates: 1, recordedBootId: 'b2' }).action).toBe('on-disk');
    expect(planExecRoot({ ...base, entries: ['c', 'runtime'], runtimeStates: 2 }).action).toBe('on-disk');
  });
});

/** These tests make their exec roots in the temporary directory, which must be on a disk. */
const tmpOnDisk = statfsSync(tmpdir()).type !== 0x01021994;

describe.skipIf(!tmpOnDisk)('prepareExecRoot', () => {
  let dir: string;
  let calls: string[][];
  let logs: string[];
  const bootId = async () => (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
  const runner =
    (code = 0): Runner =>
    async (cmd, args) => {
      calls.push([cmd, ...args]);
      return { code, stdout: '', stderr: code === 0 ? '' : 'mount: permission denied' };
    };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-execroot-test-'));
    calls = [];
    logs = [];
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('mounts a tmpfs on an empty exec root on disk and records the boot', async () => {
    const plan = await prepareExecRoot(dir, (m) => logs.push(m), runner());
    expect(plan.action).toBe('mount');
    expect(calls).toEqual([['mount', '-t', 'tmpfs', '-o', 'mode=0711,nosuid,nodev', 'tmpfs', dir]]);
    expect((await readFile(join(dir, BOOT_ID_FILE), 'utf8')).trim()).toBe(await bootId());
    expect(logs).toEqual([]);
  });

  it('leaves an exec root of this boot on disk, says why, and mounts nothing', async () => {
    await writeFile(join(dir, BOOT_ID_FILE), `${await bootId()}\n`);
    await mkdir(join(dir, 'runtime', 'a-container'), { recursive: true });
    const plan = await prepareExecRoot(dir, (m) => logs.push(m), runner());
    expect(plan.action).toBe('on-disk');
    expect(calls).toEqual([]);
    expect(logs).toEqual([`exec root ${dir} is not on a tmpfs; using it on disk, since it holds the runtime state of containers of this boot`]);
  });

  it('mounts over the files of an earlier boot', async () => {
    await writeFile(join(dir, BOOT_ID_FILE), 'another-boot\n');
    await mkdir(join(dir, 'runtime', 'a-container'), { recursive: true });
    expect((await prepareExecRoot(dir, () => undefined, runner())).action).toBe('mount');
    expect(calls).toHaveLength(1);
  });

  it('goes on on disk when the mount fails, and says so', async () => {
    await prepareExecRoot(dir, (m) => logs.push(m), runner(32));
    expect(logs).toEqual([`exec root ${dir}: mounting a tmpfs failed (mount: permission denied); using it on disk`]);
    expect((await readFile(join(dir, BOOT_ID_FILE), 'utf8')).trim()).toBe(await bootId());
  });

  it('keeps a tmpfs (/dev/shm) without mounting', async () => {
    const shm = await mkdtemp('/dev/shm/berth-execroot-test-');
    try {
      expect((await prepareExecRoot(shm, (m) => logs.push(m), runner())).action).toBe('keep');
      expect(calls).toEqual([]);
    } finally {
      await rm(shm, { recursive: true, force: true });
    }
  });
});
