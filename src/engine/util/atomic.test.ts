import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CoalescingWriter } from './atomic.js';

/** A write function the test finishes by hand, recording what each write carried. */
function gatedWrites() {
  const writes: { path: string; data: string; finish: (e?: Error) => void }[] = [];
  const write = (path: string, data: string) =>
    new Promise<void>((resolve, reject) => writes.push({ path, data, finish: (e) => (e ? reject(e) : resolve()) }));
  return { writes, write };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('CoalescingWriter', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it('writes once for calls made before the write begins, with the value as it is then', async () => {
    const { writes, write } = gatedWrites();
    const w = new CoalescingWriter(write);
    const state = { n: 1 };
    const a = w.writeJson('/f', () => state);
    state.n = 2;
    const b = w.writeJson('/f', () => state);
    expect(b).toBe(a);
    await tick();
    expect(writes.map((x) => x.data)).toEqual(['{"n":2}']);
    writes[0]?.finish();
    await Promise.all([a, b]);
  });

  it('a call made during a write waits for one more write that carries its change', async () => {
    const { writes, write } = gatedWrites();
    const w = new CoalescingWriter(write);
    const state = { n: 1 };
    const first = w.writeJson('/f', () => state);
    await tick();
    expect(writes).toHaveLength(1);
    state.n = 2;
    let secondDone = false;
    const second = w.writeJson('/f', () => state).then(() => (secondDone = true));
    state.n = 3;
    const third = w.writeJson('/f', () => state);
    writes[0]?.finish();
    await first;
    await tick();
    expect(secondDone).toBe(false); // its change is not on disk until the second write ends
    expect(writes.map((x) => x.data)).toEqual(['{"n":1}', '{"n":3}']);
    writes[1]?.finish();
    await Promise.all([second, third]);
    expect(secondDone).toBe(true);
  });

  it('files are independent, and a failed write fails only its callers', async () => {
    const { writes, write } = gatedWrites();
    const w = new CoalescingWriter(write);
    const a = w.writeJson('/a', () => 'a');
    const b = w.writeJson('/b', () => 'b');
    await tick();
    expect(writes.map((x) => x.path)).toEqual(['/a', '/b']);
    writes[0]?.finish(new Error('disk full'));
    writes[1]?.finish();
    await expect(a).rejects.toThrow('disk full');
    await expect(b).resolves.toBeUndefined();
    const again = w.writeJson('/a', () => 'a2');
    await tick();
    expect(writes[2]?.data).toBe('"a2"');
    writes[2]?.finish();
    await again;
  });

  it('writes real files atomically (no temp file left)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-atomic-'));
    dirs.push(dir);
    const w = new CoalescingWriter();
    const state = { allocations: {} as Record<string, string> };
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => {
        state.allocations[`10.0.0.${i}`] = `c${i}`;
        return w.writeJson(join(dir, 'net.json'), () => state);
      }),
    );
    expect(Object.keys((JSON.parse(await readFile(join(dir, 'net.json'), 'utf8')) as typeof state).allocations)).toHaveLength(20);
    expect(await readdir(dir)).toEqual(['net.json']);
  });
});
