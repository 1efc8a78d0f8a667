import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CAPS_BY_NUMBER, boundingCaps, capsOfMask } from './caps.js';

describe('capabilities of a bounding set', () => {
  it('reads a CapBnd mask: all 41 of a 6.x kernel, or all but CAP_SYS_RESOURCE (bit 24), as in a sandbox', () => {
    expect(capsOfMask('000001ffffffffff')).toEqual(CAPS_BY_NUMBER);
    expect(capsOfMask('000001fffeffffff')).toEqual(CAPS_BY_NUMBER.filter((c) => c !== 'CAP_SYS_RESOURCE'));
    expect(capsOfMask('00000000a80425fb')).toContain('CAP_NET_BIND_SERVICE');
    expect(capsOfMask('0')).toEqual([]);
  });

  it("reads this process's set from /proc, and a status file without one as unknown", () => {
    expect(boundingCaps()).toContain('CAP_CHOWN');
    const dir = mkdtempSync(join(tmpdir(), 'berth-caps-'));
    try {
      writeFileSync(join(dir, 'status'), 'Name:\tx\nCapBnd:\t0000000000000003\n');
      expect(boundingCaps(join(dir, 'status'))).toEqual(['CAP_CHOWN', 'CAP_DAC_OVERRIDE']);
      writeFileSync(join(dir, 'status'), 'Name:\tx\n');
      expect(boundingCaps(join(dir, 'status'))).toBeUndefined();
      expect(boundingCaps(join(dir, 'missing'))).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
