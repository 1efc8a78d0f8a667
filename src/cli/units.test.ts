import { describe, expect, it } from 'vitest';
import { bytesSize, ellipsis, formatG, goQuote, humanDuration, humanSize, humanSizeWithPrecision, parseBytes, parseDuration, parseNanoCpus, truncateId } from './units.js';

describe('formatG (Go %.Ng)', () => {
  it.each([
    [4.194304, 3, '4.19'],
    [4.1, 3, '4.1'],
    [512, 3, '512'],
    [50, 3, '50'],
    [0, 3, '0'],
    [999.5, 3, '1e+03'],
    [1000, 4, '1000'],
    [123.456, 4, '123.5'],
    [1.5, 4, '1.5'],
    [0.0001234, 3, '0.000123'],
    [0.00001234, 3, '1.23e-05'],
    [12345678, 3, '1.23e+07'],
    [-2.5, 3, '-2.5'],
  ])('%s with precision %s → %s', (v, p, want) => {
    expect(formatG(v, p)).toBe(want);
  });
});

describe('human sizes', () => {
  it.each([
    [0, '0B'],
    [512, '512B'],
    [999, '999B'],
    [1000, '1kB'],
    [1500, '1.5kB'],
    [4_194_304, '4.19MB'],
    [999_500, '1e+03kB'],
    [1_234_567_890, '1.23GB'],
    [2e15, '2PB'],
    [3e18, '3EB'],
  ])('HumanSizeWithPrecision(%s, 3) = %s', (n, want) => {
    expect(humanSizeWithPrecision(n, 3)).toBe(want);
  });

  it.each([
    [0, '0B'],
    [1_234_567, '1.235MB'],
    [1000, '1kB'],
  ])('HumanSize(%s) = %s', (n, want) => {
    expect(humanSize(n)).toBe(want);
  });

  it.each([
    [0, '0B'],
    [1023, '1023B'],
    [1024, '1KiB'],
    [1536, '1.5KiB'],
    [1_572_864, '1.5MiB'],
    [2_147_483_648, '2GiB'],
    [7_845_888, '7.482MiB'],
  ])('BytesSize(%s) = %s', (n, want) => {
    expect(bytesSize(n)).toBe(want);
  });
});

describe('humanDuration (go-units)', () => {
  const s = 1000;
  const m = 60 * s;
  const h = 60 * m;
  const d = 24 * h;
  it.each([
    [0, 'Less than a second'],
    [999, 'Less than a second'],
    [1 * s, '1 second'],
    [1999, '1 second'],
    [2 * s, '2 seconds'],
    [59 * s, '59 seconds'],
    [60 * s, 'About a minute'],
    [119 * s, 'About a minute'],
    [2 * m, '2 minutes'],
    [59 * m + 59 * s, '59 minutes'],
    [60 * m, 'About an hour'],
    [89 * m, 'About an hour'],
    [90 * m, '2 hours'],
    [47 * h, '47 hours'],
    [48 * h, '2 days'],
    [13 * d, '13 days'],
    [14 * d, '2 weeks'],
    [59 * d, '8 weeks'],
    [60 * d, '2 months'],
    [364 * d, '12 months'],
    [2 * 365 * d, '2 years'],
  ])('%s ms → %s', (ms, want) => {
    expect(humanDuration(ms)).toBe(want);
  });
});

describe('parseBytes (RAMInBytes)', () => {
  it.each([
    ['32', 32],
    ['32b', 32],
    ['32B', 32],
    ['32k', 32 * 1024],
    ['32K', 32 * 1024],
    ['32kb', 32 * 1024],
    ['32Kib', 32 * 1024],
    ['32KIB', 32 * 1024],
    ['512m', 512 * 1024 ** 2],
    ['1g', 1024 ** 3],
    ['1.5g', 1.5 * 1024 ** 3],
    ['1 GiB', 1024 ** 3],
    ['0.3m', Math.trunc(0.3 * 1024 ** 2)],
    ['2t', 2 * 1024 ** 4],
  ])('%s → %s', (v, want) => {
    expect(parseBytes(v)).toBe(want);
  });

  it.each([
    ['', "invalid size: ''"],
    ['abc', "invalid size: 'abc'"],
    ['32x', "invalid suffix: 'x'"],
    ['32bb', "invalid suffix: 'bb'"],
    ['32mbb', "invalid suffix: 'mbb'"],
    ['32kx', "invalid suffix: 'kx'"],
    ['-1', "invalid size: '-1'"],
  ])('%s is rejected: %s', (v, msg) => {
    expect(() => parseBytes(v)).toThrow(msg);
  });
});

describe('parseDuration (time.ParseDuration)', () => {
  it.each([
    ['0', 0],
    ['30s', 30e9],
    ['1m30s', 90e9],
    ['1.5h', 1.5 * 3600e9],
    ['300ms', 300e6],
    ['10us', 10e3],
    ['10µs', 10e3],
    ['5ns', 5],
    ['2h45m', (2 * 60 + 45) * 60e9],
    ['-1s', -1e9],
    ['.5s', 0.5e9],
  ])('%s → %s ns', (v, want) => {
    expect(parseDuration(v)).toBe(want);
  });

  it.each([
    ['30', 'time: missing unit in duration "30"'],
    ['1d', 'time: unknown unit "d" in duration "1d"'],
    ['', 'time: invalid duration ""'],
    ['s', 'time: invalid duration "s"'],
  ])('%s is rejected', (v, msg) => {
    expect(() => parseDuration(v)).toThrow(msg);
  });
});

describe('parseNanoCpus', () => {
  it.each([
    ['1', 1e9],
    ['1.5', 1.5e9],
    ['0.000000001', 1],
    ['.5', 5e8],
    ['2.', 2e9],
    ['3/2', 1.5e9],
    ['0.1', 1e8],
  ])('%s → %s', (v, want) => {
    expect(parseNanoCpus(v)).toBe(want);
  });

  it('rejects junk and too much precision', () => {
    expect(() => parseNanoCpus('abc')).toThrow('failed to parse abc as a rational number');
    expect(() => parseNanoCpus('0.0000000001')).toThrow('value is too precise');
  });
});

describe('text helpers', () => {
  it.each([
    ['sleep 100', '"sleep 100"'],
    ['echo "hi"', '"echo \\"hi\\""'],
    ['a\tb\nc', '"a\\tb\\nc"'],
    ['\x01', '"\\x01"'],
    ['héllo', '"héllo"'],
    ['a\\b', '"a\\\\b"'],
    ['\x7f', '"\\x7f"'],
    ['\u0085', '"\\u0085"'],
    ['', '""'],
  ])('goQuote(%j) = %s', (v, want) => {
    expect(goQuote(v)).toBe(want);
  });

  it.each([
    ['short', 20, 'short'],
    ['exactly twenty chars', 20, 'exactly twenty chars'],
    ['/bin/sh -c while true; do sleep 1; done', 20, '/bin/sh -c while tr…'],
    ['abc', 1, 'a'],
    ['abc', 0, ''],
    ['😀😀😀', 4, '😀😀😀'],
    ['😀😀😀', 2, '😀…'],
  ])('ellipsis(%j, %s) = %j', (v, n, want) => {
    expect(ellipsis(v, n)).toBe(want);
  });

  it('truncates IDs like stringid.TruncateID', () => {
    expect(truncateId('sha256:0123456789abcdef0123')).toBe('0123456789ab');
    expect(truncateId('0123456789abcdef')).toBe('0123456789ab');
    expect(truncateId('abc')).toBe('abc');
  });
});
