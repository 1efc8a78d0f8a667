import { isIP as nodeIsIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import { isIP } from './ip.js';

describe('isIP', () => {
  const samples = [
    '', '0.0.0.0', '127.0.0.1', '255.255.255.255', '256.1.1.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.4 ', ' 1.2.3.4',
    '10.0.0.1/24', '::', '::1', '1::', 'fe80::1%eth0', 'fe80::1%', '2001:db8::8a2e:370:7334', '2001:db8:0:0:0:0:2:1',
    '2001:db8:0:0:0:0:0:2:1', '::ffff:192.168.1.1', '::ffff:999.1.1.1', '1:2:3:4:5:6:7::', '1:2:3:4:5:6::8', ':::', 'g::1',
    '12345::1', 'localhost', 'example.com', '[::1]', '::1:', '1.1.1.1:80',
  ];

  it.each(samples)('%j as node:net reads it', (s) => {
    expect(isIP(s)).toBe(nodeIsIP(s));
  });

  it('agrees with node:net on random strings of address characters', () => {
    const chars = '0123456789abcdefABCDEFg.:%';
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 20000; i++) {
      let s = '';
      const len = 1 + rand(20);
      for (let j = 0; j < len; j++) s += chars[rand(chars.length)];
      expect(isIP(s), s).toBe(nodeIsIP(s));
    }
  });
});
