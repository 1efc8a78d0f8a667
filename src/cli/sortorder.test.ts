import { describe, expect, it } from 'vitest';
import { naturalCompare, naturalLess } from './sortorder.js';

describe('naturalLess (fvbommel/sortorder)', () => {
  it.each([
    ['a', 'b'],
    ['net2', 'net10'],
    ['80/tcp', '443/tcp'],
    ['9/udp', '10/tcp'],
    ['a1', 'a01'],
    ['a01', 'a001'],
    ['1', 'a'],
    ['80/tcp -> 0.0.0.0:8080', '80/tcp -> [::]:8080'],
    ['abc', 'abcd'],
    ['x9y', 'x10'],
  ])('%s < %s', (a, b) => {
    expect(naturalLess(a, b)).toBe(true);
    expect(naturalLess(b, a)).toBe(false);
  });

  it('sorts lists', () => {
    expect(['net10', 'bridge', 'net2', 'Net1', 'host'].sort(naturalCompare)).toEqual(['Net1', 'bridge', 'host', 'net2', 'net10']);
    expect(naturalCompare('same', 'same')).toBe(0);
  });
});
