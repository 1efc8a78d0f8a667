import { describe, expect, it } from 'vitest';
import { throttle } from './container-opts.js';

describe('--device-read-bps and friends', () => {
  it('read a device and a rate, in bytes with units or a count', () => {
    expect(throttle('/dev/sda:1mb', '--device-read-bps', true)).toEqual({ Path: '/dev/sda', Rate: 1048576 });
    expect(throttle('/dev/sda:100', '--device-write-iops', false)).toEqual({ Path: '/dev/sda', Rate: 100 });
    expect(() => throttle('sda:1mb', '--device-read-bps', true)).toThrow('invalid argument "sda:1mb" for "--device-read-bps" flag: bad format: sda:1mb');
    expect(() => throttle('/dev/sda:1.5', '--device-write-iops', false)).toThrow(/invalid rate for device: \/dev\/sda:1\.5/);
  });
});
