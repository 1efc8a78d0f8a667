import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Mounter } from '../../sys/mount.js';
import { EventBus } from '../events/bus.js';
import { ANONYMOUS_LABEL, VolumeService } from './service.js';

let root: string;
let mounts: string[];
const mounter = {
  mount: async (m: { type: string; source: string; options: string[] }, target: string) => {
    mounts.push(`${m.type} ${m.source} ${m.options.join(',')} ${target}`);
  },
  unmount: async (target: string) => {
    mounts.push(`umount ${target}`);
  },
} as unknown as Mounter;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'berth-volumes-'));
  mounts = [];
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('VolumeService', () => {
  it("creates named volumes in Docker's layout, idempotently, and survives a restart", async () => {
    const events = new EventBus();
    const seen: string[] = [];
    events.subscribe((e) => seen.push(`${e.Type} ${e.Action} ${e.Actor.ID}`));
    const v = new VolumeService(root, mounter, events);
    await v.init();
    const a = await v.create({ Name: 'data', Labels: { app: 'db' } });
    expect(a.Mountpoint).toBe(join(root, 'volumes', 'data', '_data'));
    expect(await v.create({ Name: 'data' })).toEqual(a);
    await expect(v.create({ Name: 'data', DriverOpts: { type: 'tmpfs', device: 'tmpfs' } })).rejects.toThrow('already exists with different options');
    await writeFile(join(a.Mountpoint, 'f'), 'x');
    const again = new VolumeService(root, mounter, new EventBus());
    await again.init();
    expect(again.get('data')).toEqual(a);
    expect(await again.size('data')).toBe(1);
    expect(seen).toEqual(['volume create data']);
  });

  it('a volume made without a name is anonymous, as in Docker 23+', async () => {
    const v = new VolumeService(root, mounter, new EventBus());
    await v.init();
    const anon = await v.create({});
    expect(anon.Name).toMatch(/^[0-9a-f]{64}$/);
    expect(anon.Labels).toEqual({ [ANONYMOUS_LABEL]: '' });
    expect(anon.anonymous).toBe(true);
  });

  it('refuses bad names and options, and removal while in use', async () => {
    const v = new VolumeService(root, mounter, new EventBus());
    await v.init();
    await expect(v.create({ Name: 'rel/dir' })).rejects.toThrow('If you intended to pass a host directory, use absolute path');
    await expect(v.create({ Name: 'x1', DriverOpts: { bogus: '1' } })).rejects.toThrow('invalid option key: "bogus"');
    await expect(v.create({ Name: 'x2', DriverOpts: { type: 'tmpfs' } })).rejects.toThrow('missing required option: "device"');
    await v.create({ Name: 'busy' });
    await expect(v.remove('busy', { inUse: () => ['abc'] })).rejects.toThrow('remove busy: volume is in use - [abc]');
    await v.remove('busy', { inUse: () => [] });
    expect(await readdir(join(root, 'volumes'))).toEqual([]);
    await expect(v.remove('busy', { inUse: () => [] })).rejects.toThrow('get busy: no such volume');
    await v.remove('busy', { force: true, inUse: () => [] });
  });

  it('mounts a -o type volume for its first user and unmounts after the last', async () => {
    const v = new VolumeService(root, mounter, new EventBus());
    await v.init();
    const t = await v.create({ Name: 'scratch', DriverOpts: { type: 'tmpfs', device: 'tmpfs', o: 'size=64m,mode=1777' } });
    await v.acquire('scratch', 'c1');
    await v.acquire('scratch', 'c2');
    await v.release('scratch', 'c1');
    await v.release('scratch', 'c2');
    expect(mounts).toEqual([`tmpfs tmpfs size=64m,mode=1777 ${t.Mountpoint}`, `umount ${t.Mountpoint}`]);
  });
});
