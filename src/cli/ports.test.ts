import { describe, expect, it } from 'vitest';
import { displayablePorts, parseExpose, parsePortSpec, parsePortSpecs } from './ports.js';

describe('parsePortSpec (nat.ParsePortSpec)', () => {
  it.each([
    ['80', [{ port: '80/tcp', binding: { HostIp: '', HostPort: '' } }]],
    ['8080:80', [{ port: '80/tcp', binding: { HostIp: '', HostPort: '8080' } }]],
    ['127.0.0.1:8080:80/udp', [{ port: '80/udp', binding: { HostIp: '127.0.0.1', HostPort: '8080' } }]],
    ['127.0.0.1::80', [{ port: '80/tcp', binding: { HostIp: '127.0.0.1', HostPort: '' } }]],
    ['[::1]:8080:80', [{ port: '80/tcp', binding: { HostIp: '::1', HostPort: '8080' } }]],
    ['::1:8080:80', [{ port: '80/tcp', binding: { HostIp: '::1', HostPort: '8080' } }]],
    [
      '8000-8001:80-81',
      [
        { port: '80/tcp', binding: { HostIp: '', HostPort: '8000' } },
        { port: '81/tcp', binding: { HostIp: '', HostPort: '8001' } },
      ],
    ],
    ['8000-8010:80', [{ port: '80/tcp', binding: { HostIp: '', HostPort: '8000-8010' } }]],
    ['53/UDP', [{ port: '53/udp', binding: { HostIp: '', HostPort: '' } }]],
  ])('%s', (spec, want) => {
    expect(parsePortSpec(spec)).toEqual(want);
  });

  it.each([
    ['1.2.3:80:80', 'invalid IP address: 1.2.3'],
    ['8080:', 'no port specified: 8080:<empty>'],
    ['8080:abc', 'invalid containerPort: abc'],
    ['x:80', 'invalid hostPort: x'],
    ['8000-8001:80-82', 'invalid ranges specified for container and host Ports: 80-82 and 8000-8001'],
    ['80/icmp', 'invalid proto: icmp'],
  ])('rejects %s', (spec, msg) => {
    expect(() => parsePortSpec(spec)).toThrow(msg);
  });

  it('collects exposed ports and bindings', () => {
    expect(parsePortSpecs(['8080:80', '8081:80', '443'])).toEqual({
      exposed: { '80/tcp': {}, '443/tcp': {} },
      bindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }, { HostIp: '', HostPort: '8081' }], '443/tcp': [{ HostIp: '', HostPort: '' }] },
    });
    expect(parseExpose('9000-9002/udp')).toEqual(['9000/udp', '9001/udp', '9002/udp']);
  });
});

describe('displayablePorts', () => {
  it.each([
    [[], ''],
    [[{ PrivatePort: 80, Type: 'tcp' }], '80/tcp'],
    [[{ IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }], '0.0.0.0:8080->80/tcp'],
    [[{ IP: '::', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }], '[::]:8080->80/tcp'],
    [
      [
        { PrivatePort: 9001, Type: 'tcp' },
        { PrivatePort: 9000, Type: 'tcp' },
        { PrivatePort: 9002, Type: 'tcp' },
        { PrivatePort: 53, Type: 'udp' },
      ],
      '53/udp, 9000-9002/tcp',
    ],
    [
      [
        { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 80, Type: 'tcp' },
        { IP: '0.0.0.0', PrivatePort: 81, PublicPort: 81, Type: 'tcp' },
        { PrivatePort: 443, Type: 'tcp' },
      ],
      '0.0.0.0:80-81->80-81/tcp, 443/tcp',
    ],
    [
      [
        { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
        { IP: '::', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
      ],
      '0.0.0.0:8080->80/tcp, [::]:8080->80/tcp',
    ],
  ])('%j → %s', (ports, want) => {
    expect(displayablePorts(ports)).toBe(want);
  });
});
