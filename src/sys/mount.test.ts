import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Runner } from './exec.js';
import { Mounter, hasOwnDevice, isMounted } from './mount.js';

describe('hasOwnDevice', () => {
  it('sees a filesystem mounted on a directory (proc on /proc), as mountinfo does', async () => {
    expect(hasOwnDevice('/proc')).toBe(true);
    expect(await isMounted('/proc')).toBe(true);
  });

  it('is false for a plain directory and for a path that is not there', async () => {
    const d = await mkdtemp(join(tmpdir(), 'berth-mount-test-'));
    try {
      expect(hasOwnDevice(d)).toBe(false);
      expect(await isMounted(d)).toBe(false);
      expect(hasOwnDevice(join(d, 'missing'))).toBe(false);
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });
});

describe('Mounter.detach', () => {
  /** A runner whose umount processes end only when the test lets them. */
  function slowUmount() {
    const calls: string[][] = [];
    const ends: (() => void)[] = [];
    const runner: Runner = (cmd, args) => {
      calls.push([cmd, ...args]);
      return new Promise((resolve) => ends.push(() => resolve({ code: 0, stdout: '', stderr: '' })));
    };
    return { calls, ends, runner };
  }
  const tick = () => new Promise((resolve) => setImmediate(resolve));

  it('unmounts what is asked for in the same turn with one umount process', async () => {
    const { calls, ends, runner } = slowUmount();
    const m = new Mounter(runner);
    const a = m.detach('/x/merged');
    const b = m.detach('/run/netns/x');
    await tick();
    await tick();
    expect(calls).toEqual([['umount', '-l', '/x/merged', '/run/netns/x']]);
    ends[0]?.();
    await Promise.all([a, b]);
  });

  it('gathers what is asked for while an umount runs into the next one, started when it ends', async () => {
    const { calls, ends, runner } = slowUmount();
    const m = new Mounter(runner);
    const first = m.detach('/a');
    await tick();
    await tick();
    const later = [m.detach('/b'), m.detach('/c')];
    await tick();
    await tick();
    m.detach('/d');
    await tick();
    expect(calls).toEqual([['umount', '-l', '/a']]);
    ends[0]?.();
    await first;
    await tick();
    await tick();
    expect(calls).toEqual([['umount', '-l', '/a'], ['umount', '-l', '/b', '/c', '/d']]);
    ends[1]?.();
    await Promise.all(later);
  });

  it('takes at most 64 mount points in one process', async () => {
    const { calls, ends, runner } = slowUmount();
    const m = new Mounter(runner);
    const all = Array.from({ length: 70 }, (_, i) => m.detach(`/m/${i}`));
    await tick();
    await tick();
    expect(calls.map((c) => c.length - 2)).toEqual([64]);
    ends[0]?.();
    await tick();
    await tick();
    await tick();
    expect(calls.map((c) => c.length - 2)).toEqual([64, 6]);
    ends[1]?.();
    await Promise.all(all);
  });
});
