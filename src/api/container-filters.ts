import { InvalidArgument } from '../core/errors.js';

/**
 * The `ps --filter` keys that read what `GET /containers/json` shows of a container (its
 * summary): `publish`, `expose`, `volume`, `network`, and `is-task` and `isolation`, which
 * berth accepts as Docker does on Linux. Docker's rules (daemon/list.go), as pure functions.
 */

/** What of a container's summary these filters read. */
export interface SummaryView {
  Ports: readonly { PrivatePort: number; PublicPort?: number; Type: string }[];
  Mounts: readonly { Name?: string; Source?: string; Destination?: string }[];
  NetworkSettings: { Networks: Readonly<Record<string, { NetworkID?: unknown }>> };
}

export const SUMMARY_FILTER_KEYS = ['publish', 'expose', 'volume', 'network', 'is-task', 'isolation'] as const;

export function isSummaryFilter(key: string): boolean {
  return (SUMMARY_FILTER_KEYS as readonly string[]).includes(key);
}

/**
 * `publish` and `expose` values (`80`, `80/udp`, `8000-8080/tcp`) as the `port/proto` keys they
 * stand for; Docker's errors for the rest.
 */
export function portFilterKeys(key: string, value: string): Set<string> {
  if (value.includes(':')) throw new InvalidArgument(`filter for '${key}' should not contain ':': ${value}`);
  const slash = value.indexOf('/');
  const port = slash < 0 ? value : value.slice(0, slash);
  const proto = slash < 0 || value.slice(slash + 1) === '' ? 'tcp' : value.slice(slash + 1);
  const fail = (why: string) => new InvalidArgument(`error while looking up for ${key} ${value}: ${why}`);
  if (port === '') throw fail('empty string specified for ports');
  const number = (s: string): number => {
    if (!/^\d+$/.test(s)) throw fail(`strconv.ParseUint: parsing "${s}": invalid syntax`);
    const n = Number(s);
    if (n > 65535) throw fail(`strconv.ParseUint: parsing "${s}": value out of range`);
    return n;
  };
  const dash = port.indexOf('-');
  const start = number(dash < 0 ? port : port.slice(0, dash));
  const end = dash < 0 ? start : number(port.slice(dash + 1));
  if (end < start) throw fail(`invalid range specified for port: ${port}`);
  const out = new Set<string>();
  for (let p = start; p <= end; p++) out.add(`${p}/${proto}`);
  return out;
}

/** Checks a value of one of these keys; throws Docker's error for a bad one. */
export function checkSummaryFilter(key: string, value: string): void {
  if (key === 'publish' || key === 'expose') portFilterKeys(key, value);
  if (key === 'is-task' && value !== 'true' && value !== 'false') throw new InvalidArgument(`invalid filter 'is-task=${value}'`);
}

/**
 * Whether a container's summary passes the filters of these keys (others are left to the
 * caller). Values of one key are alternatives; `publish` and `expose` are one test: some port
 * of the container published on a host port asked for, or open on a container port asked for.
 */
export function matchSummary(s: SummaryView, filters: ReadonlyMap<string, readonly string[]>): boolean {
  const values = (key: string) => filters.get(key) ?? [];
  // berth runs no swarm tasks (`is-task=true` asks for them, whatever else is given).
  if (values('is-task').includes('true')) return false;
  const publish = new Set(values('publish').flatMap((v) => [...portFilterKeys('publish', v)]));
  const expose = new Set(values('expose').flatMap((v) => [...portFilterKeys('expose', v)]));
  if (publish.size > 0 || expose.size > 0) {
    const hit = s.Ports.some((p) => publish.has(`${p.PublicPort ?? 0}/${p.Type}`) || expose.has(`${p.PrivatePort}/${p.Type}`));
    if (!hit) return false;
  }
  if (filters.has('volume')) {
    const hit = values('volume').some((v) => s.Mounts.some((m) => m.Destination === v || (m.Name ? m.Name === v : m.Source === v)));
    if (!hit) return false;
  }
  if (filters.has('network')) {
    const networks = s.NetworkSettings.Networks;
    const hit = values('network').some((v) => v in networks || Object.values(networks).some((n) => typeof n.NetworkID === 'string' && n.NetworkID !== '' && n.NetworkID.startsWith(v)));
    if (!hit) return false;
  }
  return true;
}
