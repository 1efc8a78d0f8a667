import { describe, expect, it } from 'vitest';
import { netnsInterfaces, parseNetDev } from './netdev.js';

const SAMPLE = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     100       2    0    0    0     0          0         0      100       2    0    0    0     0       0          0
  eth0:    1602      19    1    2    0     0          0         0      656       8    3    4    0     0       0          0
  eth1: 99999999999  7    0    0    0     0          0         0        0       0    0    0    0     0       0          0
`;

describe('parseNetDev', () => {
  it('reads every interface but loopback with the Engine API names', () => {
    expect(parseNetDev(SAMPLE)).toEqual({
      eth0: { rx_bytes: 1602, rx_packets: 19, rx_errors: 1, rx_dropped: 2, tx_bytes: 656, tx_packets: 8, tx_errors: 3, tx_dropped: 4 },
      eth1: { rx_bytes: 99999999999, rx_packets: 7, rx_errors: 0, rx_dropped: 0, tx_bytes: 0, tx_packets: 0, tx_errors: 0, tx_dropped: 0 },
    });
  });

  it('skips what is not a counter line', () => {
    expect(parseNetDev('header\nheader\n  eth0: 1 2 3\n\n')).toEqual({});
  });

  it("reads this process's namespace, and nothing for a process that is not there", async () => {
    expect(typeof (await netnsInterfaces(process.pid))).toBe('object');
    expect(await netnsInterfaces(0)).toBeUndefined();
    expect(await netnsInterfaces(2 ** 22 + 7)).toBeUndefined();
  });
});
