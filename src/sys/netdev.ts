import { readFile } from 'node:fs/promises';

/** One interface's counters as the Engine API's stats name them (`networks.eth0`). */
export interface InterfaceStats {
  rx_bytes: number;
  rx_packets: number;
  rx_errors: number;
  rx_dropped: number;
  tx_bytes: number;
  tx_packets: number;
  tx_errors: number;
  tx_dropped: number;
}

/**
 * /proc/net/dev read as the Engine API's `networks`: every interface but loopback, by name.
 * Columns: receive bytes packets errs drop fifo frame compressed multicast, then transmit
 * bytes packets errs drop fifo colls carrier compressed.
 */
export function parseNetDev(text: string): Record<string, InterfaceStats> {
  const out: Record<string, InterfaceStats> = {};
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    if (name === '' || name === 'lo' || f.length < 16 || f.some((n) => !Number.isFinite(n))) continue;
    const n = (i: number) => f[i] as number;
    out[name] = { rx_bytes: n(0), rx_packets: n(1), rx_errors: n(2), rx_dropped: n(3), tx_bytes: n(8), tx_packets: n(9), tx_errors: n(10), tx_dropped: n(11) };
  }
  return out;
}

/** The interfaces of the network namespace process `pid` is in; undefined when it cannot be read. */
export async function netnsInterfaces(pid: number): Promise<Record<string, InterfaceStats> | undefined> {
  if (!(pid > 0)) return undefined;
  try {
    return parseNetDev(await readFile(`/proc/${pid}/net/dev`, 'utf8'));
  } catch {
    return undefined;
  }
}
