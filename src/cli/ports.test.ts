import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { displayablePorts, parseExpose, parsePortSpec, parsePortSpecs, portLines, type PortMap } from './ports.js';

const GOLDEN_DIR = fileURLToPath(new URL('../../test/golden/port/', import.meta.url));

/** Compares with test/golden/port/<name>; `UPDATE_GOLDEN=1` rewrites the file instead. */
function expectGolden(name: string, actual: string): void {
  const file = join(GOLDEN_DIR, name);
  if (process.env['UPDATE_GOLDEN'] === '1') {
    mkdirSync(GOLDEN_DIR, { recursive: true });
    writeFileSync(file, actual);
  }
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

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

describe('portLines (docker port)', () => {
  const ports: PortMap = {
    '443/tcp': [{ HostIp: '0.0.0.0', HostPort: '8443' }],
    '80/tcp': [
      { HostIp: '::', HostPort: '8080' },
      { HostIp: '0.0.0.0', HostPort: '8080' },
    ],
    '53/udp': [{ HostIp: '127.0.0.1', HostPort: '5353' }],
    '9000/tcp': null,
    '8000/tcp': [],
  };

  it('lists every binding, naturally sorted', () => {
    const out = `${portLines(ports, 'web').join('\n')}\n`;
    expect(out).toBe('53/udp -> 127.0.0.1:5353\n80/tcp -> 0.0.0.0:8080\n80/tcp -> [::]:8080\n443/tcp -> 0.0.0.0:8443\n');
    expectGolden('all.txt', out);
  });

  it('shows the bindings of one private port (tcp by default)', () => {
    expect(portLines(ports, 'web', '80')).toEqual(['0.0.0.0:8080', '[::]:8080']);
    expect(portLines(ports, 'web', '80/tcp')).toEqual(['0.0.0.0:8080', '[::]:8080']);
    expect(portLines(ports, 'web', '80/')).toEqual(['0.0.0.0:8080', '[::]:8080']);
    expect(portLines(ports, 'web', '53/udp')).toEqual(['127.0.0.1:5353']);
    expect(portLines(ports, 'web', '8000')).toEqual([]);
  });

  it('prints nothing for a container without ports', () => {
    expect(portLines(null, 'web')).toEqual([]);
    expect(portLines({}, 'web')).toEqual([]);
  });

  it.each([
    ['81', "Error: No public port '81' published for web"],
    ['53', "Error: No public port '53' published for web"],
    ['9000', "Error: No public port '9000' published for web"],
    ['abc', 'Error: invalid port (abc): strconv.ParseUint: parsing "abc": invalid syntax'],
    ['70000/tcp', 'Error: invalid port (70000): strconv.ParseUint: parsing "70000": value out of range'],
    ['/udp', 'Error: invalid port (): strconv.ParseUint: parsing "": invalid syntax'],
  ])('%s fails: %s', (want, message) => {
    expect(() => portLines(ports, 'web', want)).toThrow(message);
  });
});
