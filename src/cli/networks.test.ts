import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFiltersParam } from '../core/network-filters.js';
import { filtersJson } from './context.js';
import { networkConnectRequest, networkCreateRequest, networkListFormat, networkRow, pruneReport, renderNetworkList, type NetworkCreateFlags, type NetworkResource } from './networks.js';
import { goTimeStringRfc3339 } from './times.js';

const GOLDEN_DIR = fileURLToPath(new URL('../../test/golden/network-ls/', import.meta.url));

/** Compares with test/golden/network-ls/<name>; `UPDATE_GOLDEN=1` rewrites the file instead. */
function expectGolden(name: string, actual: string): void {
  const file = join(GOLDEN_DIR, name);
  if (process.env['UPDATE_GOLDEN'] === '1') {
    mkdirSync(GOLDEN_DIR, { recursive: true });
    writeFileSync(file, actual);
  }
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

// Rendered times are local: pin the zone so goldens are the same everywhere.
let savedTz: string | undefined;
beforeAll(() => {
  savedTz = process.env['TZ'];
  process.env['TZ'] = 'UTC';
});
afterAll(() => {
  if (savedTz === undefined) delete process.env['TZ'];
  else process.env['TZ'] = savedTz;
});

const NO_FLAGS: NetworkCreateFlags = {
  driver: 'bridge',
  subnets: [],
  ipRanges: [],
  gateways: [],
  auxAddresses: [],
  ipamDriver: 'default',
  ipamOpts: [],
  internal: false,
  attachable: false,
  ingress: false,
  ipv6: false,
  scope: '',
  configOnly: false,
  configFrom: '',
  opts: [],
  labels: [],
};

describe('networkCreateRequest', () => {
  it('sends what `docker network create NAME` sends', () => {
    expect(networkCreateRequest('app', NO_FLAGS)).toEqual({
      Name: 'app',
      Driver: 'bridge',
      Scope: '',
      EnableIPv6: false,
      IPAM: { Driver: 'default', Config: null, Options: {} },
      Internal: false,
      Attachable: false,
      Ingress: false,
      ConfigOnly: false,
      ConfigFrom: null,
      Options: {},
      Labels: {},
    });
  });

  it('maps every flag', () => {
    const body = networkCreateRequest('app', {
      ...NO_FLAGS,
      driver: 'bridge',
      subnets: ['172.28.0.0/16'],
      ipRanges: ['172.28.5.0/24'],
      gateways: ['172.28.5.254'],
      auxAddresses: ['router=172.28.1.5'],
      ipamOpts: ['foo=bar'],
      internal: true,
      attachable: true,
      ipv6: true,
      opts: ['com.docker.network.bridge.name=br-app', 'com.docker.network.driver.mtu=1400', 'flag'],
      labels: ['com.example.team=infra', 'empty'],
      configFrom: 'base',
    });
    expect(body).toMatchObject({
      EnableIPv6: true,
      Internal: true,
      Attachable: true,
      ConfigFrom: { Network: 'base' },
      IPAM: {
        Driver: 'default',
        Config: [{ Subnet: '172.28.0.0/16', IPRange: '172.28.5.0/24', Gateway: '172.28.5.254', AuxiliaryAddresses: { router: '172.28.1.5' } }],
        Options: { foo: 'bar' },
      },
      Options: { 'com.docker.network.bridge.name': 'br-app', 'com.docker.network.driver.mtu': '1400', flag: '' },
      Labels: { 'com.example.team': 'infra', empty: '' },
    });
  });

  it('splits comma-separated subnets and gateways and matches each gateway to its subnet, IPv6 included', () => {
    const body = networkCreateRequest('dual', { ...NO_FLAGS, subnets: ['10.1.0.0/24,fd00:1::/64'], gateways: ['fd00:1::1', '10.1.0.1'] });
    expect(body.IPAM.Config).toEqual([
      { Subnet: '10.1.0.0/24', Gateway: '10.1.0.1' },
      { Subnet: 'fd00:1::/64', Gateway: 'fd00:1::1' },
    ]);
  });

  it.each([
    [{ gateways: ['10.0.0.1'] }, 'every ip-range or gateway must have a corresponding subnet'],
    [{ subnets: ['10.0.0.0/16', '10.0.1.0/24'] }, 'multiple overlapping subnet configuration is not supported'],
    [{ subnets: ['10.0.0.0/24'], gateways: ['10.9.0.1'] }, 'no matching subnet for gateway 10.9.0.1'],
    [{ subnets: ['10.0.0.0/24'], ipRanges: ['10.9.0.0/28'] }, 'no matching subnet for range 10.9.0.0/28'],
    [{ subnets: ['10.0.0.0/24', '10.1.0.0/24'], gateways: ['10.0.0.1', '10.0.0.2'] }, 'cannot configure multiple gateways (10.0.0.2, 10.0.0.1) for the same subnet (10.0.0.0/24)'],
    [{ subnets: ['10.0.0.0/24'], auxAddresses: ['a=10.5.0.1'] }, 'no matching subnet for aux-address 10.5.0.1'],
    [{ subnets: ['10.0.0.300/24'], gateways: ['10.0.0.1'] }, 'invalid subnet: invalid CIDR address: 10.0.0.300/24'],
    [{ subnets: ['10.1.0.0/24', '10.0.0.0'] }, 'invalid subnet: invalid CIDR address: 10.0.0.0'],
    [{ labels: ['=x'] }, `invalid argument "=x" for "--label" flag: invalid label '=x': empty name`],
  ])('rejects %j', (flags, message) => {
    expect(() => networkCreateRequest('bad', { ...NO_FLAGS, ...flags })).toThrow(message);
  });
});

describe('networkConnectRequest', () => {
  it('sends only what was given, like the docker CLI', () => {
    expect(networkConnectRequest('web', { aliases: [], ip: '', ip6: '', links: [], linkLocalIps: [], driverOpts: [] })).toEqual({
      Container: 'web',
      EndpointConfig: { IPAMConfig: {}, Links: null, Aliases: null, DriverOpts: {} },
    });
    expect(networkConnectRequest('web', { aliases: ['db,database', 'pg'], ip: '172.20.0.9', ip6: '', links: ['other:o'], linkLocalIps: [], driverOpts: ['com.example.x=1'] })).toEqual({
      Container: 'web',
      EndpointConfig: { IPAMConfig: { IPv4Address: '172.20.0.9' }, Links: ['other:o'], Aliases: ['db', 'database', 'pg'], DriverOpts: { 'com.example.x': '1' } },
    });
  });

  it('rejects bad driver options, leaves addresses to the daemon', () => {
    const base = { aliases: [], ip: '', ip6: '', links: [], linkLocalIps: [], driverOpts: [] };
    expect(() => networkConnectRequest('web', { ...base, driverOpts: ['novalue'] })).toThrow('invalid key/value pair format in driver options');
    expect(() => networkConnectRequest('web', { ...base, driverOpts: ['=x'] })).toThrow('invalid key/value pair format in driver options');
    expect(networkConnectRequest('web', { ...base, ip: '172.20.0' }).EndpointConfig.IPAMConfig).toEqual({ IPv4Address: '172.20.0' });
  });
});

const NETWORKS: NetworkResource[] = [
  { Name: 'none', Id: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', Created: '2024-05-01T09:00:00.000000000Z', Scope: 'local', Driver: 'null', Labels: {} },
  { Name: 'net10', Id: '5f9a1a7e6c3b2d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f90112233445566', Created: '2024-05-03T12:30:45.5Z', Scope: 'local', Driver: 'bridge', Internal: true, Labels: { 'com.example.team': 'infra', a: '1' } },
  { Name: 'bridge', Id: '0b7f1e5c2a9d4c3e8f6a7b5d4c3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e', Created: '2024-05-01T09:00:00.123456Z', Scope: 'local', Driver: 'bridge', Labels: null },
  { Name: 'net2', Id: '9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b', Created: '2024-05-02T08:15:00Z', Scope: 'local', Driver: 'bridge', EnableIPv6: true, Labels: { 'com.example.team': 'web' } },
  { Name: 'host', Id: 'c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2', Created: '2024-05-01T09:00:00Z', Scope: 'local', Driver: 'host' },
];

const ls = (o: { format?: string; quiet?: boolean; trunc?: boolean; filter?: string[] } = {}): string =>
  renderNetworkList(NETWORKS, { format: o.format, quiet: o.quiet ?? false, trunc: o.trunc ?? true, filters: parseFiltersParam(filtersJson(o.filter ?? [])) });

describe('network ls', () => {
  it('prints NETWORK ID, NAME, DRIVER, SCOPE sorted naturally by name', () => {
    const out = ls();
    expect(out.split('\n')[0]).toBe('NETWORK ID     NAME      DRIVER    SCOPE');
    expect(out.split('\n').slice(1, -1).map((l) => l.split(/\s+/)[1])).toEqual(['bridge', 'host', 'net2', 'net10', 'none']);
    expectGolden('ls-default.txt', out);
    expect(ls({ format: 'table' })).toBe(out);
  });

  it('--no-trunc shows full IDs', () => {
    expectGolden('ls-no-trunc.txt', ls({ trunc: false }));
  });

  it('-q prints IDs only (also with --format table), -q with a template keeps the template', () => {
    const ids = ls({ quiet: true });
    expect(ids).toBe('0b7f1e5c2a9d\nc1d2e3f4a5b6\n9a8b7c6d5e4f\n5f9a1a7e6c3b\ne3b0c44298fc\n');
    expect(ls({ quiet: true, format: 'table' })).toBe(ids);
    expect(ls({ quiet: true, format: '{{.Name}}' })).toBe('bridge\nhost\nnet2\nnet10\nnone\n');
  });

  it('--format json prints one object per network with the formatter fields, sorted keys', () => {
    const out = ls({ format: 'json' });
    expectGolden('ls-json.txt', out);
    expect(JSON.parse(out.split('\n')[3] as string)).toEqual({
      CreatedAt: '2024-05-03 12:30:45.5 +0000 UTC',
      Driver: 'bridge',
      ID: '5f9a1a7e6c3b',
      IPv4: 'false',
      IPv6: 'false',
      Internal: 'true',
      Labels: 'a=1,com.example.team=infra',
      Name: 'net10',
      Scope: 'local',
    });
  });

  it('renders custom tables with the docker headers', () => {
    const out = ls({ format: 'table {{.Name}}\\t{{.IPv6}}\\t{{.Internal}}\\t{{.Labels}}\\t{{.CreatedAt}}' });
    expect(out.split('\n')[0]).toMatch(/^NAME\s+IPV6\s+INTERNAL\s+LABELS\s+CREATED AT$/);
    expectGolden('ls-custom-table.txt', out);
  });

  it('supports the raw format', () => {
    expectGolden('ls-raw.txt', ls({ format: 'raw' }));
    expect(networkListFormat('raw', true)).toBe('network_id: {{.ID}}');
  });

  it('re-applies filters it can check: driver, name, id, label, type', () => {
    expectGolden('ls-filter-driver-bridge.txt', ls({ filter: ['driver=bridge'] }));
    expect(ls({ quiet: true, format: '{{.Name}}', filter: ['name=net'] })).toBe('net2\nnet10\n');
    expect(ls({ format: '{{.Name}}', filter: ['name=^net1'] })).toBe('net10\n');
    expect(ls({ format: '{{.Name}}', filter: ['id=^9a8b7c'] })).toBe('net2\n');
    expect(ls({ format: '{{.Name}}', filter: ['label=com.example.team'] })).toBe('net2\nnet10\n');
    expect(ls({ format: '{{.Name}}', filter: ['label=com.example.team=web'] })).toBe('net2\n');
    expect(ls({ format: '{{.Name}}', filter: ['type=custom'] })).toBe('net2\nnet10\n');
    expect(ls({ format: '{{.Name}}', filter: ['type=builtin'] })).toBe('bridge\nhost\nnone\n');
    expect(ls({ format: '{{.Name}}', filter: ['driver=bridge', 'type=builtin'] })).toBe('bridge\n');
    // dangling needs the containers the daemon knows: the CLI leaves it to the daemon.
    expect(ls({ format: '{{.Name}}', filter: ['dangling=true'] })).toBe('bridge\nhost\nnet2\nnet10\nnone\n');
  });

  it('rejects filters Docker does not accept', () => {
    expect(() => ls({ filter: ['color=red'] })).toThrow("invalid filter 'color'");
    expect(() => ls({ filter: ['type=weird'] })).toThrow("invalid filter: 'type'='weird'");
  });

  it('prints only the header for no networks', () => {
    const out = renderNetworkList([], { format: undefined, quiet: false, trunc: true, filters: {} });
    expect(out).toBe('NETWORK ID   NAME      DRIVER    SCOPE\n');
  });

  it('row fields', () => {
    expect(networkRow({ Name: 'x', Id: 'abc' }, { trunc: true })).toEqual({
      CreatedAt: '0001-01-01 00:00:00 +0000 UTC',
      Driver: '',
      ID: 'abc',
      IPv4: 'false',
      IPv6: 'false',
      Internal: 'false',
      Labels: '',
      Name: 'x',
      Scope: '',
    });
  });
});

describe('goTimeStringRfc3339', () => {
  it.each([
    ['2024-05-03T12:30:45.500000000Z', '2024-05-03 12:30:45.5 +0000 UTC'],
    ['2024-05-03T12:30:45Z', '2024-05-03 12:30:45 +0000 UTC'],
    ['2024-05-03T14:30:45.123456789+02:00', '2024-05-03 12:30:45.123456789 +0000 UTC'],
    ['', '0001-01-01 00:00:00 +0000 UTC'],
    ['0001-01-01T00:00:00Z', '0001-01-01 00:00:00 +0000 UTC'],
  ])('%s → %s', (input, want) => {
    expect(goTimeStringRfc3339(input)).toBe(want);
  });
});

describe('network prune report', () => {
  it('lists deleted networks, or prints nothing', () => {
    expect(pruneReport(['net2', 'net10'])).toBe('Deleted Networks:\nnet2\nnet10\n\n');
    expect(pruneReport([])).toBe('');
    expect(pruneReport(null)).toBe('');
  });
});
