import { describe, expect, it } from 'vitest';
import type { VolumeRecord } from '../../engine/index.js';
import { LIST_FILTERS, PRUNE_FILTERS, volumeFilter } from './volumes.js';

const vol = (Name: string, Labels: Record<string, string> = {}): VolumeRecord => ({
  Name,
  Driver: 'local',
  Mountpoint: `/var/lib/berth/volumes/${Name}/_data`,
  CreatedAt: '2024-05-01T09:00:00Z',
  Labels,
  Options: {},
  Scope: 'local',
});

const VOLUMES = [vol('data', { a: '1', b: '' }), vol('vol2'), vol('vol10', { keep: '1' }), vol('cache', { keep: '2' })];
const USERS: Record<string, number> = { data: 1 };

function names(filters: Record<string, string[]>, accepted = LIST_FILTERS): string[] {
  const keep = volumeFilter(new Map(Object.entries(filters)), accepted, (n) => USERS[n] ?? 0);
  return VOLUMES.filter(keep).map((v) => v.Name);
}

describe('volume filters (Docker filtersToBy)', () => {
  it('matches name exactly or as an unanchored regular expression', () => {
    expect(names({ name: ['vol'] })).toEqual(['vol2', 'vol10']);
    expect(names({ name: ['ata'] })).toEqual(['data']);
    expect(names({ name: ['^vol1'] })).toEqual(['vol10']);
    expect(names({ name: ['v.l2'] })).toEqual(['vol2']);
    expect(names({ name: ['data', 'cache'] })).toEqual(['data', 'cache']);
  });

  it('needs every label, and excludes volumes holding every label!', () => {
    expect(names({ label: ['a'] })).toEqual(['data']);
    expect(names({ label: ['a=1', 'b='] })).toEqual(['data']);
    expect(names({ label: ['a=2'] })).toEqual([]);
    expect(names({ 'label!': ['keep'] }, PRUNE_FILTERS)).toEqual(['data', 'vol2']);
    expect(names({ 'label!': ['keep=1'] }, PRUNE_FILTERS)).toEqual(['data', 'vol2', 'cache']);
  });

  it('dangling: true/1 unreferenced, false/0 referenced, anything else refused', () => {
    expect(names({ dangling: ['true'] })).toEqual(['vol2', 'vol10', 'cache']);
    expect(names({ dangling: ['0'] })).toEqual(['data']);
    expect(() => names({ dangling: ['maybe'] })).toThrow("invalid filter 'dangling=[maybe]'");
    expect(() => names({ dangling: ['true', 'false'] })).toThrow("invalid filter 'dangling=[true false]'");
  });

  it('driver is exact; keys outside the accepted set are refused', () => {
    expect(names({ driver: ['local'] })).toHaveLength(4);
    expect(names({ driver: ['nfs'] })).toEqual([]);
    expect(() => names({ color: ['red'] })).toThrow("invalid filter 'color'");
    expect(() => names({ all: ['1'] })).toThrow("invalid filter 'all'");
    expect(() => names({ name: ['x'] }, PRUNE_FILTERS)).toThrow("invalid filter 'name'");
  });
});
