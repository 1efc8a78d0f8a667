import { describe, expect, it } from 'vitest';
import { nextHealth, probeCommand } from './health.js';
import type { Health } from './types.js';

const r = (code: number) => ({ code, output: '', start: 's', end: 'e' });
const starting: Health = { Status: 'starting', FailingStreak: 0, Log: [] };

describe('health transitions (Docker semantics)', () => {
  it('a success makes it healthy and resets the streak', () => {
    const { health, changed } = nextHealth({ ...starting, FailingStreak: 2 }, r(0), false, 3);
    expect(health.Status).toBe('healthy');
    expect(health.FailingStreak).toBe(0);
    expect(changed).toBe(true);
  });
  it('failures in the start period do not count while starting', () => {
    expect(nextHealth(starting, r(1), true, 1).health).toMatchObject({ Status: 'starting', FailingStreak: 0 });
  });
  it('failures count in the start period once it has been healthy', () => {
    const healthy: Health = { Status: 'healthy', FailingStreak: 0, Log: [] };
    expect(nextHealth(healthy, r(1), true, 1).health.Status).toBe('unhealthy');
  });
  it('turns unhealthy after Retries consecutive failures', () => {
    let h = starting;
    for (let i = 0; i < 2; i++) h = nextHealth(h, r(1), false, 3).health;
    expect(h.Status).toBe('starting');
    const last = nextHealth(h, r(1), false, 3);
    expect(last.health).toMatchObject({ Status: 'unhealthy', FailingStreak: 3 });
    expect(last.changed).toBe(true);
  });
  it('keeps the last five results', () => {
    let h = starting;
    for (let i = 0; i < 7; i++) h = nextHealth(h, r(i % 2), false, 100).health;
    expect(h.Log).toHaveLength(5);
  });
  it('maps CMD and CMD-SHELL to argv', () => {
    expect(probeCommand(['CMD', 'true'])).toEqual(['true']);
    expect(probeCommand(['CMD-SHELL', 'curl -f localhost || exit 1'])).toEqual(['/bin/sh', '-c', 'curl -f localhost || exit 1']);
    expect(probeCommand(['NONE'])).toBeUndefined();
  });
});
