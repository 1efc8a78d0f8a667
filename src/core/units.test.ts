import { describe, expect, it } from 'vitest';
import { humanDuration, humanSize } from './units.js';

describe('units', () => {
  it.each([
    [400, 'Less than a second'],
    [1000, '1 second'],
    [45_000, '45 seconds'],
    [61_000, 'About a minute'],
    [5 * 60_000, '5 minutes'],
    [3600_000, 'About an hour'],
    [5 * 3600_000, '5 hours'],
    [3 * 86400_000, '3 days'],
  ])('humanDuration(%d) = %s', (ms, s) => expect(humanDuration(ms)).toBe(s));
  it.each([
    [512, '512B'],
    [4_194_304, '4.19MB'],
    [1_234_567_890, '1.23GB'],
    [1000, '1kB'],
  ])('humanSize(%d) = %s', (b, s) => expect(humanSize(b)).toBe(s));
});
