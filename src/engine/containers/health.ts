import type { EventBus } from '../events/bus.js';
import type { ExecService } from './exec.js';
import type { ContainerService } from './service.js';
import type { ContainerRecord, Health } from './types.js';

/**
 * Health checks with Docker's semantics: the first probe runs one interval after start
 * (the start interval inside the start period); failures inside the start period do not
 * count until a probe has succeeded; `Retries` consecutive failures make it unhealthy;
 * the last 5 results are kept. Beyond Docker, `HealthOnFailure` acts on an unhealthy
 * container (kill, restart or stop), as Podman's --health-on-failure does.
 */
const NS = 1_000_000;
export const HEALTH_DEFAULTS = { interval: 30_000, timeout: 30_000, startPeriod: 0, startInterval: 5_000, retries: 3 };

export function probeCommand(test: string[], shell: string[] = ['/bin/sh', '-c']): string[] | undefined {
  const [kind, ...rest] = test;
  if (kind === 'CMD') return rest;
  if (kind === 'CMD-SHELL') return [...shell, rest.join(' ')];
  return undefined;
}

/** Pure transition: the new health after one probe result. Returns whether the status changed. */
export function nextHealth(
  h: Health,
  result: { code: number; output: string; start: string; end: string },
  inStartPeriod: boolean,
  retries: number,
): { health: Health; changed: boolean } {
  const log = [...h.Log, { Start: result.start, End: result.end, ExitCode: result.code, Output: result.output }].slice(-5);
  let status = h.Status;
  let streak = h.FailingStreak;
  if (result.code === 0) {
    status = 'healthy';
    streak = 0;
  } else if (!(inStartPeriod && h.Status === 'starting')) {
    streak += 1;
    if (streak >= retries) status = 'unhealthy';
  }
  return { health: { Status: status, FailingStreak: streak, Log: log }, changed: status !== h.Status };
}

export function installHealthChecks(containers: ContainerService, execs: ExecService, events: EventBus): void {
  containers.healthProbe = (rec: ContainerRecord) => {
    const hc = rec.config.Healthcheck ?? {};
    const cmd = probeCommand(hc.Test ?? [], rec.config.Shell ?? undefined);
    if (!cmd) return;
    const interval = hc.Interval ? hc.Interval / NS : HEALTH_DEFAULTS.interval;
    const timeout = hc.Timeout ? hc.Timeout / NS : HEALTH_DEFAULTS.timeout;
    const startPeriod = hc.StartPeriod ? hc.StartPeriod / NS : HEALTH_DEFAULTS.startPeriod;
    const startInterval = hc.StartInterval ? hc.StartInterval / NS : HEALTH_DEFAULTS.startInterval;
    const retries = hc.Retries && hc.Retries > 0 ? hc.Retries : HEALTH_DEFAULTS.retries;
    const startedAt = Date.parse(rec.state.StartedAt);
    const schedule = () => {
      const inStart = Date.now() - startedAt < startPeriod && rec.state.Health?.Status === 'starting';
      containers.setHealthTimer(rec.id, setTimeout(() => void probe(), inStart ? Math.min(startInterval, interval) : interval));
    };
    const probe = async () => {
      const current = containers.find(rec.id);
      if (!current?.state.Running || !current.state.Health) return;
      if (current.state.Paused) return schedule();
      const start = new Date().toISOString();
      const r = await execs.runCapture(current, cmd, timeout).catch((e: unknown) => ({ code: -1, output: String(e) }));
      const latest = containers.find(rec.id);
      if (!latest?.state.Running || !latest.state.Health) return;
      const inStartPeriod = Date.now() - startedAt < startPeriod;
      const { health, changed } = nextHealth(latest.state.Health, { ...r, start, end: new Date().toISOString() }, inStartPeriod, retries);
      latest.state.Health = health;
      await containers.saveRecord(latest);
      if (changed) {
        events.publish('container', `health_status: ${health.Status}`, latest.id, containers.attrs(latest));
        if (health.Status === 'unhealthy') {
          const action = latest.hostConfig.HealthOnFailure ?? 'none';
          if (action === 'kill') return void containers.kill(latest.id, 'SIGKILL').catch(() => undefined);
          if (action === 'stop') return void containers.stop(latest.id).catch(() => undefined);
          if (action === 'restart') return void containers.restart(latest.id).catch(() => undefined);
        }
      }
      schedule();
    };
    schedule();
  };
}
