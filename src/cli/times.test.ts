import { describe, expect, it } from 'vitest';
import { getTimestamp } from './times.js';

describe('getTimestamp (--since / --until)', () => {
  const now = new Date(Date.UTC(2026, 0, 10, 12, 0, 0));

  it('counts a Go duration back from now, and passes Unix timestamps through', () => {
    expect(getTimestamp('10m', now)).toBe(String(now.getTime() / 1000 - 600));
    expect(getTimestamp('1700000000.5', now)).toBe('1700000000.5');
  });

  it('reads RFC 3339 dates with a zone', () => {
    expect(getTimestamp('2020-01-02T03:04:05Z', now)).toBe(`${Date.UTC(2020, 0, 2, 3, 4, 5) / 1000}.000000000`);
    expect(getTimestamp('2020-01-02T03:04:05.25+01:00', now)).toBe(`${Date.UTC(2020, 0, 2, 2, 4, 5) / 1000}.250000000`);
  });

  it('refuses dates that do not exist, as Go does, instead of rolling them over', () => {
    expect(() => getTimestamp('2020-13-45', now)).toThrow('parsing time "2020-13-45": month out of range');
    expect(() => getTimestamp('2021-02-29', now)).toThrow('parsing time "2021-02-29": day out of range');
    expect(() => getTimestamp('2020-01-02T24:00:00Z', now)).toThrow('hour out of range');
    expect(getTimestamp('2020-02-29T00:00:00Z', now)).toBe(`${Date.UTC(2020, 1, 29) / 1000}.000000000`);
  });

  it('says what it could not read', () => {
    expect(() => getTimestamp('garbage', now)).toThrow('failed to parse value as time or duration: "garbage"');
  });
});
