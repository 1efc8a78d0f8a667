import { describe, expect, it } from 'vitest';
import { InvalidArgument } from './errors.js';
import { filterNetworks, isPredefinedNetwork, parseFiltersParam, validateNetworkFilters, type FilterableNetwork } from './network-filters.js';

const nets: FilterableNetwork[] = [
  { Name: 'bridge', Id: 'aaa111', Driver: 'bridge', Scope: 'local', Containers: { c1: {} } },
  { Name: 'host', Id: 'bbb222', Driver: 'host', Scope: 'local' },
  { Name: 'front', Id: 'ccc333', Driver: 'bridge', Scope: 'local', Labels: { tier: 'web', team: 'a' }, Containers: {} },
  { Name: 'back', Id: 'ddd444', Driver: 'bridge', Scope: 'swarm', Labels: { tier: 'db' }, Containers: { c2: {} } },
  { Name: 'frontend2', Id: 'eee555', Driver: 'macvlan', Scope: 'local' },
];
const names = (f: Record<string, string[]>, skip: string[] = []) => filterNetworks(nets, f, skip).map((n) => n.Name);

describe('filterNetworks (Docker semantics)', () => {
  it('keeps everything without filters', () => {
    expect(names({})).toEqual(['bridge', 'host', 'front', 'back', 'frontend2']);
  });

  it('driver and scope match exactly, any value', () => {
    expect(names({ driver: ['bridge'] })).toEqual(['bridge', 'front', 'back']);
    expect(names({ driver: ['host', 'macvlan'] })).toEqual(['host', 'frontend2']);
    expect(names({ driver: ['bri'] })).toEqual([]);
    expect(names({ scope: ['swarm'] })).toEqual(['back']);
  });

  it('name and id match exactly or as unanchored regular expressions', () => {
    expect(names({ name: ['front'] })).toEqual(['front', 'frontend2']);
    expect(names({ name: ['^front$'] })).toEqual(['front']);
    expect(names({ name: ['host', 'back'] })).toEqual(['host', 'back']);
    expect(names({ name: ['(['] })).toEqual([]);
    expect(names({ id: ['ccc'] })).toEqual(['front']);
  });

  it('label needs every key (and value when given)', () => {
    expect(names({ label: ['tier'] })).toEqual(['front', 'back']);
    expect(names({ label: ['tier=web'] })).toEqual(['front']);
    expect(names({ label: ['tier', 'team=a'] })).toEqual(['front']);
    expect(names({ label: ['tier=none'] })).toEqual([]);
  });

  it('type splits builtin from custom networks; several values add up', () => {
    expect(names({ type: ['custom'] })).toEqual(['front', 'back', 'frontend2']);
    expect(names({ type: ['builtin'] })).toEqual(['bridge', 'host']);
    expect(names({ type: ['builtin', 'custom'] })).toEqual(['bridge', 'host', 'front', 'back', 'frontend2']);
  });

  it('dangling keeps unused custom networks (true) or the rest (false), unless skipped', () => {
    expect(names({ dangling: ['true'] })).toEqual(['front', 'frontend2']);
    expect(names({ dangling: ['0'] })).toEqual(['bridge', 'host', 'back']);
    expect(names({ dangling: ['true'] }, ['dangling'])).toHaveLength(5);
  });

  it('combines keys with AND', () => {
    expect(names({ driver: ['bridge'], label: ['tier'], scope: ['local'] })).toEqual(['front']);
  });

  it.each([
    [{ color: ['red'] }, "invalid filter 'color'"],
    [{ dangling: ['true', 'false'] }, 'got more than one value for filter key "dangling"'],
    [{ dangling: ['maybe'] }, 'invalid value for filter \'dangling\', must be "true" (or "1"), or "false" (or "0")'],
    [{ type: ['other'] }, "invalid filter: 'type'='other'"],
  ])('rejects %j', (f, message) => {
    expect(() => validateNetworkFilters(f)).toThrow(InvalidArgument);
    expect(() => validateNetworkFilters(f)).toThrow(message);
  });
});

describe('parseFiltersParam', () => {
  it('reads the map form and the legacy list form', () => {
    expect(parseFiltersParam('{"name":{"web":true,"db":true},"driver":{"bridge":false}}')).toEqual({ name: ['web', 'db'], driver: [] });
    expect(parseFiltersParam('{"name":["web"]}')).toEqual({ name: ['web'] });
    expect(parseFiltersParam(undefined)).toEqual({});
    expect(parseFiltersParam('')).toEqual({});
  });

  it('rejects what is not a filters object', () => {
    expect(() => parseFiltersParam('nope')).toThrow(InvalidArgument);
    expect(() => parseFiltersParam('[1]')).toThrow('invalid filter: [1]');
    expect(() => parseFiltersParam('{"name":"web"}')).toThrow(InvalidArgument);
  });
});

it('isPredefinedNetwork', () => {
  expect(['bridge', 'host', 'none', 'default', 'ingress'].every(isPredefinedNetwork)).toBe(true);
  expect(isPredefinedNetwork('mynet')).toBe(false);
});
