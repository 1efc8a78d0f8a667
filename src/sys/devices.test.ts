import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { devicesAt, splitDev } from './devices.js';

describe('host devices', () => {
  it("splits dev_t as glibc does (majors and minors past 8 bits)", () => {
    expect(splitDev(0x0103n)).toEqual({ major: 1, minor: 3 });
    expect(splitDev(0x0ae5n)).toEqual({ major: 10, minor: 229 });
    // major 259, minor 65536 (nvme partitions): minor bits above 8 sit at bit 20
    expect(splitDev((259n << 8n) | (0x10000n << 12n))).toEqual({ major: 259, minor: 0x10000 });
    expect(splitDev(((4096n + 5n) & 0xfffn) << 8n | ((4096n + 5n) & ~0xfffn) << 32n)).toEqual({ major: 4101, minor: 0 });
  });

  it('reads a device node, and refuses what is none', async () => {
    expect(await devicesAt('/dev/null')).toEqual([{ path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 }]);
    await expect(devicesAt('/dev/no-such-device')).rejects.toMatchObject({ code: 'ENOENT' });
    const dir = await mkdtemp(join(tmpdir(), 'berth-dev-'));
    try {
      await writeFile(join(dir, 'file'), '');
      await expect(devicesAt(join(dir, 'file'))).rejects.toMatchObject({ code: 'ENOTDEV' });
      // A directory: the devices in it, none here (its plain file is skipped).
      expect(await devicesAt(dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
