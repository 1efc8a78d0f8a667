import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasOwnDevice, isMounted } from './mount.js';

describe('hasOwnDevice', () => {
  it('sees a filesystem mounted on a directory (proc on /proc), as mountinfo does', async () => {
    expect(await hasOwnDevice('/proc')).toBe(true);
    expect(await isMounted('/proc')).toBe(true);
  });

  it('is false for a plain directory and for a path that is not there', async () => {
    const d = await mkdtemp(join(tmpdir(), 'berth-mount-test-'));
    try {
      expect(await hasOwnDevice(d)).toBe(false);
      expect(await isMounted(d)).toBe(false);
      expect(await hasOwnDevice(join(d, 'missing'))).toBe(false);
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });
});
