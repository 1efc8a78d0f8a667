import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildRules, jumps } from './rules.js';

const GOLDEN = join(import.meta.dirname, '../../../test/golden/network');

/** Compares with test/golden/network/<name>; `UPDATE_GOLDEN=1` rewrites the file instead. */
async function golden(name: string, text: string): Promise<void> {
  const path = join(GOLDEN, name);
  if (process.env['UPDATE_GOLDEN'] === '1') await writeFile(path, text);
  expect(text).toBe(await readFile(path, 'utf8'));
}

describe('iptables rules', () => {
  it('publishes ports, masquerades, isolates networks and closes internal ones', async () => {
    const text = buildRules(
      'a1b2c3',
      [
        { bridge: 'berth0', subnet: '10.88.0.0/16', internal: false },
        { bridge: 'br-0123456789ab', subnet: '10.96.0.0/24', internal: false },
        { bridge: 'br-internal000', subnet: '10.96.1.0/24', internal: true },
      ],
      [
        { proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerIp: '10.88.0.2', containerPort: 80 },
        { proto: 'tcp', hostIp: '127.0.0.1', hostPort: 8443, containerIp: '10.96.0.2', containerPort: 443 },
        { proto: 'udp', hostIp: '', hostPort: 5353, containerIp: '10.96.0.3', containerPort: 53 },
      ],
    );
    await golden('rules-three-networks.txt', text);
    // Every chain declared once per table, each table committed.
    expect(text.match(/^COMMIT$/gm)?.length).toBe(2);
    expect(text).not.toMatch(/-s 10\.96\.1\.0\/24 ! -o br-internal000 -j MASQUERADE/);
  });

  it('jumps into the daemon’s own chains only', () => {
    expect(jumps('a1b2c3').map((j) => `${j.table} ${j.from} -> ${j.to}`)).toEqual([
      'nat PREROUTING -> BERTH-a1b2c3',
      'nat OUTPUT -> BERTH-a1b2c3',
      'nat POSTROUTING -> BERTH-a1b2c3-POST',
      'filter FORWARD -> BERTH-a1b2c3-FWD',
    ]);
  });
});
