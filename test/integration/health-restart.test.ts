import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { background, inspectField, loadBusybox, rootSkipReason, rootTestsEnabled, sleep, startDaemon, waitFor, type TestDaemon } from '../harness.js';

/**
 * Health checks: starting → healthy, failing → unhealthy with FailingStreak and Log,
 * health_status events, and berth's --health-on-failure acting on an unhealthy container.
 */

interface Health {
  Status: string;
  FailingStreak: number;
  Log: { Start: string; End: string; ExitCode: number; Output: string }[];
}

describe.skipIf(!rootTestsEnabled())(`health checks (${rootSkipReason})`, () => {
  let d: TestDaemon;

  beforeAll(async () => {
    d = await startDaemon();
    loadBusybox(d);
  });
  afterAll(async () => {
    await d?.stop();
  });

  const health = (name: string): Health => JSON.parse(inspectField(d, name, '{{json .State.Health}}')) as Health;

  it('goes from starting to healthy once the check passes', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    // The check fails until /tmp/ok exists (10 failures in a row would make it unhealthy).
    const r = d.docker(['run', '-d', '--name', 'hc-ok', '--health-cmd', 'test -f /tmp/ok && echo fine', '--health-interval', '200ms', '--health-retries', '10', 'busybox', 'sleep', '1000']);
    expect(r.code).toBe(0);
    expect(health('hc-ok').Status).toBe('starting');
    expect(d.docker(['ps', '--filter', 'name=hc-ok', '--format', '{{.Status}}']).stdout).toMatch(/\(health: starting\)\n$/);
    expect(inspectField(d, 'hc-ok', '{{json .Config.Healthcheck}}')).toBe(JSON.stringify({ Test: ['CMD-SHELL', 'test -f /tmp/ok && echo fine'], Interval: 200_000_000, Retries: 10 }));
    d.docker(['exec', 'hc-ok', 'touch', '/tmp/ok']);
    const h = await waitFor(() => {
      const x = health('hc-ok');
      return x.Status === 'healthy' ? x : undefined;
    }, 'hc-ok to be healthy');
    expect(h.FailingStreak).toBe(0);
    const last = h.Log[h.Log.length - 1];
    expect(last).toMatchObject({ ExitCode: 0, Output: 'fine\n' });
    expect(Date.parse(last?.End ?? '')).toBeGreaterThanOrEqual(Date.parse(last?.Start ?? ''));
    expect(d.docker(['ps', '--filter', 'name=hc-ok', '--format', '{{.Status}}']).stdout).toMatch(/^Up .* \(healthy\)\n$/);
    expect(d.docker(['ps', '--filter', 'health=healthy', '--format', '{{.Names}}']).stdout).toBe('hc-ok\n');
    const ev = d.docker(['events', '--since', String(since), '--until', (Date.now() / 1000).toFixed(3), '--filter', 'event=health_status', '--format', '{{.Action}} {{.Actor.Attributes.name}}']);
    expect(ev).toEqual({ code: 0, stdout: 'health_status: healthy hc-ok\n', stderr: '' });
  });

  it('a failing check turns unhealthy after the retries, with FailingStreak and Log entries', async () => {
    const events = background(d, 'docker', ['events', '--filter', 'event=health_status', '--filter', 'container=hc-bad', '--format', '{{.Action}}']);
    await sleep(300); // the subscription is in place
    d.docker(['run', '-d', '--name', 'hc-bad', '--health-cmd', 'echo failing-$((1+1)); exit 1', '--health-interval', '200ms', '--health-retries', '2', 'busybox', 'sleep', '1000']);
    const h = await waitFor(() => {
      const x = health('hc-bad');
      return x.Status === 'unhealthy' ? x : undefined;
    }, 'hc-bad to be unhealthy');
    expect(h.FailingStreak).toBeGreaterThanOrEqual(2);
    expect(h.Log.length).toBeGreaterThanOrEqual(2);
    expect(h.Log.length).toBeLessThanOrEqual(5);
    for (const l of h.Log) expect(l).toMatchObject({ ExitCode: 1, Output: 'failing-2\n' });
    await waitFor(() => events.stdout().includes('health_status: unhealthy'), 'the unhealthy event');
    events.kill();
    const got = await events.done;
    expect(got.stdout).toBe('health_status: unhealthy\n');
    // Docker keeps at most five results.
    await waitFor(() => health('hc-bad').FailingStreak >= 7, 'more failures');
    expect(health('hc-bad').Log).toHaveLength(5);
    // Unhealthy by itself does nothing: the container keeps running.
    expect(inspectField(d, 'hc-bad', '{{.State.Status}}')).toBe('running');
    expect(d.docker(['ps', '--filter', 'health=unhealthy', '--format', '{{.Names}} {{.Status}}']).stdout).toMatch(/^hc-bad Up .* \(unhealthy\)\n$/);
  });

  it('--no-healthcheck and no check: no Health in inspect', () => {
    d.docker(['run', '-d', '--name', 'hc-none', 'busybox', 'sleep', '1000']);
    expect(inspectField(d, 'hc-none', '{{json .State.Health}}')).toBe('null');
    const bad = d.docker(['run', '-d', '--no-healthcheck', '--health-cmd', 'true', 'busybox', 'true']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--no-healthcheck conflicts with --health-* options');
  });

  it('berth --health-on-failure=kill kills an unhealthy container', async () => {
    const r = d.berth(['run', '-d', '--name', 'hc-kill', '--health-cmd', 'exit 1', '--health-interval', '200ms', '--health-retries', '2', '--health-on-failure=kill', 'busybox', 'sleep', '1000']);
    expect(r.code).toBe(0);
    expect(inspectField(d, 'hc-kill', '{{.HostConfig.HealthOnFailure}}')).toBe('kill');
    await waitFor(() => inspectField(d, 'hc-kill', '{{.State.Running}}') === 'false', 'hc-kill to be killed');
    expect(inspectField(d, 'hc-kill', '{{.State.Status}} {{.State.ExitCode}} {{.State.Health.Status}}')).toBe('exited 137 unhealthy');
    const bad = d.berth(['run', '-d', '--health-cmd', 'true', '--health-on-failure=explode', 'busybox', 'true']);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain('--health-on-failure: explode (use none, kill, restart or stop)');
  });

  it('a healthy container with --health-on-failure=kill keeps running', async () => {
    d.berth(['run', '-d', '--name', 'hc-fine', '--health-cmd', 'true', '--health-interval', '200ms', '--health-retries', '1', '--health-on-failure=kill', 'busybox', 'sleep', '1000']);
    await waitFor(() => health('hc-fine').Status === 'healthy', 'hc-fine to be healthy');
    await sleep(800);
    expect(inspectField(d, 'hc-fine', '{{.State.Status}} {{.State.Health.Status}}')).toBe('running healthy');
  });
});
