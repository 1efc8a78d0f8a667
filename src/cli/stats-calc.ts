/**
 * `docker stats` arithmetic (cli/command/container/stats_helpers.go): CPU % from the
 * usage deltas between `precpu_stats` and `cpu_stats`, memory without the page cache,
 * block and network I/O sums; and the formatter's rendering of each column.
 */
import { bytesSize, humanSizeWithPrecision, truncateId } from './units.js';

export interface CpuStats {
  cpu_usage?: { total_usage?: number; percpu_usage?: number[] | null };
  system_cpu_usage?: number;
  online_cpus?: number;
}

export interface StatsJson {
  id?: string;
  name?: string;
  read?: string;
  cpu_stats?: CpuStats;
  precpu_stats?: CpuStats;
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  blkio_stats?: { io_service_bytes_recursive?: { op?: string; value?: number }[] | null };
  networks?: Record<string, { rx_bytes?: number; tx_bytes?: number }> | null;
  pids_stats?: { current?: number };
}

export interface StatsEntry {
  container: string;
  name: string;
  id: string;
  cpuPercentage: number;
  memory: number;
  memoryLimit: number;
  memoryPercentage: number;
  networkRx: number;
  networkTx: number;
  blockRead: number;
  blockWrite: number;
  pidsCurrent: number;
  isInvalid: boolean;
}

export function cpuPercent(v: StatsJson): number {
  const prev = v.precpu_stats ?? {};
  const cur = v.cpu_stats ?? {};
  const cpuDelta = (cur.cpu_usage?.total_usage ?? 0) - (prev.cpu_usage?.total_usage ?? 0);
  const systemDelta = (cur.system_cpu_usage ?? 0) - (prev.system_cpu_usage ?? 0);
  let online = cur.online_cpus ?? 0;
  if (online === 0) online = cur.cpu_usage?.percpu_usage?.length ?? 0;
  if (systemDelta > 0 && cpuDelta > 0) return (cpuDelta / systemDelta) * online * 100;
  return 0;
}

/** Memory usage without the page cache (`total_inactive_file` on cgroup v1, `inactive_file` on v2). */
export function memUsageNoCache(mem: StatsJson['memory_stats']): number {
  const usage = mem?.usage ?? 0;
  const stats = mem?.stats ?? {};
  const v1 = stats.total_inactive_file;
  if (v1 !== undefined && v1 < usage) return usage - v1;
  const v2 = stats.inactive_file ?? 0;
  if (v2 < usage) return usage - v2;
  return usage;
}

export function blockIO(v: StatsJson): [number, number] {
  let read = 0;
  let write = 0;
  for (const e of v.blkio_stats?.io_service_bytes_recursive ?? []) {
    const op = (e.op ?? '').toLowerCase();
    if (op === 'read') read += e.value ?? 0;
    else if (op === 'write') write += e.value ?? 0;
  }
  return [read, write];
}

export function networkIO(v: StatsJson): [number, number] {
  let rx = 0;
  let tx = 0;
  for (const n of Object.values(v.networks ?? {})) {
    rx += n.rx_bytes ?? 0;
    tx += n.tx_bytes ?? 0;
  }
  return [rx, tx];
}

export function statsEntry(container: string, v: StatsJson): StatsEntry {
  const memory = memUsageNoCache(v.memory_stats);
  const limit = v.memory_stats?.limit ?? 0;
  const [rx, tx] = networkIO(v);
  const [br, bw] = blockIO(v);
  return {
    container,
    name: (v.name ?? '').replace(/^\//, ''),
    id: v.id ?? container,
    cpuPercentage: cpuPercent(v),
    memory,
    memoryLimit: limit,
    memoryPercentage: limit !== 0 ? (memory / limit) * 100 : 0,
    networkRx: rx,
    networkTx: tx,
    blockRead: br,
    blockWrite: bw,
    pidsCurrent: v.pids_stats?.current ?? 0,
    isInvalid: false,
  };
}

export function invalidStats(container: string): StatsEntry {
  return { container, name: '--', id: container, cpuPercentage: 0, memory: 0, memoryLimit: 0, memoryPercentage: 0, networkRx: 0, networkTx: 0, blockRead: 0, blockWrite: 0, pidsCurrent: 0, isInvalid: true };
}

export interface StatsRow {
  Container: string;
  Name: string;
  ID: string;
  CPUPerc: string;
  MemUsage: string;
  MemPerc: string;
  NetIO: string;
  BlockIO: string;
  PIDs: string;
}

export const STATS_TABLE = 'table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}';

export const STATS_HEADERS: Readonly<Record<string, string>> = {
  Container: 'CONTAINER',
  Name: 'NAME',
  ID: 'CONTAINER ID',
  CPUPerc: 'CPU %',
  MemUsage: 'MEM USAGE / LIMIT',
  MemPerc: 'MEM %',
  NetIO: 'NET I/O',
  BlockIO: 'BLOCK I/O',
  PIDs: 'PIDS',
};

export function statsRow(s: StatsEntry, opts: { trunc: boolean }): StatsRow {
  const inv = s.isInvalid;
  return {
    Container: s.container,
    Name: s.name === '' ? '--' : s.name,
    ID: opts.trunc ? truncateId(s.id) : s.id,
    CPUPerc: inv ? '--' : `${s.cpuPercentage.toFixed(2)}%`,
    MemUsage: inv ? '-- / --' : `${bytesSize(s.memory)} / ${bytesSize(s.memoryLimit)}`,
    MemPerc: inv ? '--' : `${s.memoryPercentage.toFixed(2)}%`,
    NetIO: inv ? '--' : `${humanSizeWithPrecision(s.networkRx, 3)} / ${humanSizeWithPrecision(s.networkTx, 3)}`,
    BlockIO: inv ? '--' : `${humanSizeWithPrecision(s.blockRead, 3)} / ${humanSizeWithPrecision(s.blockWrite, 3)}`,
    PIDs: inv ? '--' : String(s.pidsCurrent),
  };
}
