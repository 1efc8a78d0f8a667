import { describe, expect, it } from 'vitest';
import { DEFAULT_BRIDGE_POOLS, USER_NETWORK_POOLS, allocateIp, completeIpamConfig, firstFreeSubnet, macForIp, normaliseMac, overlaps, parseCidr } from './ipam.js';

describe('CIDR arithmetic', () => {
  it('reduces to the network address and detects overlaps', () => {
    expect(parseCidr('10.88.3.7/16')).toEqual({ base: parseCidr('10.88.0.0/16').base, prefix: 16 });
    expect(overlaps(parseCidr('10.88.0.0/16'), parseCidr('10.88.5.0/24'))).toBe(true);
    expect(overlaps(parseCidr('10.88.0.0/16'), parseCidr('10.89.0.0/24'))).toBe(false);
    expect(() => parseCidr('10.0.0.0/33')).toThrow(/invalid CIDR/);
    expect(() => parseCidr('300.0.0.0/8')).toThrow(/invalid IP/);
  });
});

describe('subnet choice', () => {
  it('takes the first pool subnet clear of host routes and other networks', () => {
    expect(firstFreeSubnet(DEFAULT_BRIDGE_POOLS, ['0.0.0.0/0', '192.0.2.0/24'])).toBe('10.88.0.0/16');
    expect(firstFreeSubnet(DEFAULT_BRIDGE_POOLS, ['10.88.0.0/16', '10.89.7.0/24'])).toBe('10.90.0.0/16');
    expect(firstFreeSubnet(USER_NETWORK_POOLS, ['10.96.0.0/24', '10.96.1.0/24'])).toBe('10.96.2.0/24');
    // A host route covering the whole pool leaves nothing.
    expect(firstFreeSubnet(USER_NETWORK_POOLS, ['10.0.0.0/8'])).toBeUndefined();
  });
  it("never picks Docker's default ranges", () => {
    for (const pools of [DEFAULT_BRIDGE_POOLS, USER_NETWORK_POOLS]) {
      for (const p of pools) {
        expect(overlaps(parseCidr(p.range), parseCidr('172.16.0.0/12'))).toBe(false);
        expect(overlaps(parseCidr(p.range), parseCidr('192.168.0.0/16'))).toBe(false);
      }
    }
  });
});

describe('IPAM config', () => {
  it('fills the gateway and checks it and the range against the subnet', () => {
    expect(completeIpamConfig({ Subnet: '10.5.0.0/24' })).toEqual({ Subnet: '10.5.0.0/24', Gateway: '10.5.0.1' });
    expect(completeIpamConfig({ Subnet: '10.5.0.0/24', Gateway: '10.5.0.254', IPRange: '10.5.0.128/25' })).toEqual({ Subnet: '10.5.0.0/24', Gateway: '10.5.0.254', IPRange: '10.5.0.128/25' });
    expect(() => completeIpamConfig({ Subnet: '10.5.0.0/24', Gateway: '10.6.0.1' })).toThrow('no matching subnet for gateway 10.6.0.1');
    expect(() => completeIpamConfig({ Subnet: '10.5.0.0/24', IPRange: '10.6.0.0/25' })).toThrow('no matching subnet for range 10.6.0.0/25');
  });
});

describe('address allocation', () => {
  const cfg = completeIpamConfig({ Subnet: '10.5.0.0/29' });
  it('hands out the lowest free address, skipping network, gateway and broadcast', () => {
    const used = new Set<string>();
    const got: string[] = [];
    for (let i = 0; i < 5; i++) {
      const ip = allocateIp(cfg, used);
      used.add(ip);
      got.push(ip);
    }
    expect(got).toEqual(['10.5.0.2', '10.5.0.3', '10.5.0.4', '10.5.0.5', '10.5.0.6']);
    expect(() => allocateIp(cfg, used)).toThrow(/no available IPv4 addresses/);
    used.delete('10.5.0.4');
    expect(allocateIp(cfg, used)).toBe('10.5.0.4');
  });
  it('honours --ip and --ip-range', () => {
    expect(allocateIp(cfg, new Set(), '10.5.0.6')).toBe('10.5.0.6');
    expect(() => allocateIp(cfg, new Set(['10.5.0.6']), '10.5.0.6')).toThrow('Address already in use: 10.5.0.6');
    expect(() => allocateIp(cfg, new Set(), '10.9.0.6')).toThrow(/does not belong to subnet/);
    expect(() => allocateIp(cfg, new Set(), '10.5.0.1')).toThrow(/already in use/);
    const ranged = completeIpamConfig({ Subnet: '10.5.0.0/24', IPRange: '10.5.0.128/25' });
    expect(allocateIp(ranged, new Set())).toBe('10.5.0.128');
  });
  it("derives Docker's MAC address from the IP", () => {
    expect(macForIp('10.88.0.5')).toBe('02:42:0a:58:00:05');
  });
});

describe('normaliseMac', () => {
  it("reads what Go's net.ParseMAC reads for 6 bytes, and writes it as ip takes it", () => {
    expect(normaliseMac('02:42:AC:11:00:02')).toBe('02:42:ac:11:00:02');
    expect(normaliseMac('02-42-ac-11-00-56')).toBe('02:42:ac:11:00:56');
    expect(normaliseMac('0242.ac11.0057')).toBe('02:42:ac:11:00:57');
  });

  it('refuses anything else in the daemon\'s words', () => {
    for (const bad of ['zz', '02:42:ac:11:00', '02:42:ac:11:00:02:03', '02:42-ac:11:00:02', '2:42:ac:11:00:02', '']) {
      expect(() => normaliseMac(bad)).toThrow(`invalid MAC address ${bad}`);
    }
  });
});
