import { describe, expect, it } from 'vitest';
import { checkSummaryFilter, matchSummary, portFilterKeys, type SummaryView } from './container-filters.js';

const web: SummaryView = {
  Ports: [
    { PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
    { PrivatePort: 53, Type: 'udp' },
  ],
  Mounts: [
    { Name: 'data', Source: '/var/lib/berth/volumes/data/_data', Destination: '/data' },
    { Source: '/srv/site', Destination: '/www' },
  ],
  NetworkSettings: { Networks: { bridge: { NetworkID: 'abc123def' }, backend: { NetworkID: '' } } },
};
const bare: SummaryView = { Ports: [], Mounts: [], NetworkSettings: { Networks: {} } };
const match = (s: SummaryView, f: Record<string, string[]>) => matchSummary(s, new Map(Object.entries(f)));

describe('ps filters on what a container shows', () => {
  it('reads publish and expose values as Docker does: port, port/proto, ranges; tcp by default', () => {
    expect([...portFilterKeys('publish', '80')]).toEqual(['80/tcp']);
    expect([...portFilterKeys('expose', '53/udp')]).toEqual(['53/udp']);
    expect([...portFilterKeys('expose', '8000-8002/')]).toEqual(['8000/tcp', '8001/tcp', '8002/tcp']);
    expect(() => portFilterKeys('publish', '127.0.0.1:80')).toThrow("filter for 'publish' should not contain ':': 127.0.0.1:80");
    expect(() => portFilterKeys('publish', 'http')).toThrow('error while looking up for publish http: strconv.ParseUint: parsing "http": invalid syntax');
    expect(() => portFilterKeys('expose', '90-80')).toThrow('error while looking up for expose 90-80: invalid range specified for port: 90-80');
    expect(() => portFilterKeys('expose', '70000')).toThrow('value out of range');
    expect(() => portFilterKeys('expose', '/tcp')).toThrow('empty string specified for ports');
  });

  it('publish is a host port, expose a container port; either one of the values', () => {
    expect(match(web, { publish: ['8080'] })).toBe(true);
    expect(match(web, { publish: ['80'] })).toBe(false);
    expect(match(web, { expose: ['80'] })).toBe(true);
    expect(match(web, { expose: ['53'] })).toBe(false);
    expect(match(web, { expose: ['53/udp'] })).toBe(true);
    expect(match(web, { expose: ['1-100/udp'] })).toBe(true);
    expect(match(web, { publish: ['9000'], expose: ['80'] })).toBe(true);
    expect(match(bare, { expose: ['80'] })).toBe(false);
  });

  it('volume by destination, name, or a bind mount\'s source', () => {
    expect(match(web, { volume: ['/data'] })).toBe(true);
    expect(match(web, { volume: ['data'] })).toBe(true);
    expect(match(web, { volume: ['/srv/site'] })).toBe(true);
    expect(match(web, { volume: ['/var/lib/berth/volumes/data/_data'] })).toBe(false);
    expect(match(web, { volume: ['other', '/www'] })).toBe(true);
    expect(match(bare, { volume: ['/data'] })).toBe(false);
  });

  it('network by name or by the start of its ID', () => {
    expect(match(web, { network: ['backend'] })).toBe(true);
    expect(match(web, { network: ['abc1'] })).toBe(true);
    expect(match(web, { network: ['zzz'] })).toBe(false);
    expect(match(bare, { network: ['bridge'] })).toBe(false);
  });

  it('is-task: berth runs no swarm tasks; isolation is accepted and does not filter on Linux', () => {
    expect(match(web, { 'is-task': ['false'] })).toBe(true);
    expect(match(web, { 'is-task': ['true'] })).toBe(false);
    expect(match(web, { 'is-task': ['false', 'true'] })).toBe(false);
    expect(() => checkSummaryFilter('is-task', 'yes')).toThrow("invalid filter 'is-task=yes'");
    expect(match(web, { isolation: ['hyperv'] })).toBe(true);
    expect(() => checkSummaryFilter('publish', 'x')).toThrow('error while looking up for publish x');
  });
});
