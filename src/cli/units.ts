/**
 * Docker's human units for the CLI, ported from go-units and Go's strconv/time so the
 * output matches the docker CLI digit for digit: `4.19MB`, `1e+03kB` (Go's %g quirk
 * included), `1.5GiB`, `About a minute`; and the parsers behind `--memory 512m`,
 * `--cpus 1.5`, `--health-interval 1m30s`.
 */
import { InvalidArgument } from '../core/errors.js';

const DECIMAL_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];

/** Go's `fmt.Sprintf("%.<prec>g", v)` for finite non-negative and negative numbers. */
export function formatG(v: number, prec: number): string {
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : v < 0 ? '-Inf' : 'NaN';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const neg = v < 0;
  const [mant = '0', expStr = '0'] = Math.abs(v).toExponential(Math.max(prec, 1) - 1).split('e');
  let digits = mant.replace('.', '').replace(/0+$/, '');
  if (digits === '') digits = '0';
  const exp = Number(expStr);
  const nd = digits.length;
  const dp = exp + 1;
  let eprec = prec;
  if (eprec > nd && nd >= dp) eprec = nd;
  let out: string;
  if (exp < -4 || exp >= eprec) {
    const e = Math.abs(exp);
    out = `${digits[0]}${nd > 1 ? `.${digits.slice(1)}` : ''}e${exp < 0 ? '-' : '+'}${e < 10 ? `0${e}` : e}`;
  } else {
    const p = prec > dp ? nd : prec;
    const decimals = Math.max(p - dp, 0);
    const intPart = dp > 0 ? digits.slice(0, dp).padEnd(dp, '0') : '0';
    const frac = (dp >= 0 ? digits.slice(dp) : '0'.repeat(-dp) + digits).padEnd(decimals, '0').slice(0, decimals);
    out = decimals > 0 ? `${intPart}.${frac}` : intPart;
  }
  return neg ? `-${out}` : out;
}

function scaled(size: number, base: number, units: readonly string[]): [number, string] {
  let i = 0;
  let v = size;
  while (v >= base && i < units.length - 1) {
    v /= base;
    i++;
  }
  return [v, units[i] as string];
}

/** go-units `HumanSizeWithPrecision(size, precision)`: decimal units, `%.<precision>g`. */
export function humanSizeWithPrecision(size: number, precision: number): string {
  const [v, unit] = scaled(size, 1000, DECIMAL_UNITS);
  return `${formatG(v, precision)}${unit}`;
}

/** go-units `HumanSize`: precision 4 (`Total reclaimed space: 1.234MB`). */
export function humanSize(size: number): string {
  return humanSizeWithPrecision(size, 4);
}

/** go-units `BytesSize`: binary units, `%.4g` (`docker stats` memory: `1.5MiB`). */
export function bytesSize(size: number): string {
  const [v, unit] = scaled(size, 1024, BINARY_UNITS);
  return `${formatG(v, 4)}${unit}`;
}

/** go-units `HumanDuration`: `Less than a second`, `About a minute`, `3 hours`, `2 weeks`. */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.trunc(ms / 3_600_000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(Math.trunc(ms / 3_600_000) / 24 / 365)} years`;
}

const RAM_UNITS: Readonly<Record<string, number>> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** go-units `RAMInBytes`: `512m`, `1g`, `1.5GiB`, `100` (bytes); binary multiples. */
export function parseBytes(value: string): number {
  const sep = Math.max(...[...'01234567890. '].map((c) => value.lastIndexOf(c)));
  if (sep === -1) throw new InvalidArgument(`invalid size: '${value}'`);
  let num: string;
  let sfx: string;
  if (value[sep] !== ' ') {
    num = value.slice(0, sep + 1);
    sfx = value.slice(sep + 1);
  } else {
    num = value.slice(0, sep);
    sfx = value.slice(sep + 1);
  }
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(num)) throw new InvalidArgument(`strconv.ParseFloat: parsing "${num}": invalid syntax`);
  let size = Number(num);
  if (size < 0) throw new InvalidArgument(`invalid size: '${value}'`);
  if (sfx.length === 0) return Math.trunc(size);
  const bad = () => new InvalidArgument(`invalid suffix: '${sfx.toLowerCase()}'`);
  if (sfx.length > 3) throw bad();
  const l = sfx.toLowerCase();
  if (l[0] === 'b') {
    if (l.length > 1) throw bad();
    return Math.trunc(size);
  }
  const mul = RAM_UNITS[l[0] as string];
  if (mul === undefined) throw bad();
  size *= mul;
  if ((l.length === 2 && l[1] !== 'b') || (l.length === 3 && l.slice(1) !== 'ib')) throw bad();
  return Math.trunc(size);
}

const DURATION_UNITS: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3,
  'μs': 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Go's `time.ParseDuration`, in nanoseconds: `30s`, `1m30s`, `1.5h`, `300ms`, `0`. */
export function parseDuration(value: string): number {
  let s = value;
  let neg = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw new InvalidArgument(`time: invalid duration "${value}"`);
  let total = 0;
  while (s !== '') {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s);
    const intPart = m?.[1] ?? '';
    const fracPart = m?.[2];
    if (intPart === '' && (fracPart === undefined || fracPart === '')) throw new InvalidArgument(`time: invalid duration "${value}"`);
    s = s.slice(m?.[0].length ?? 0);
    const u = /^[^\d.]*/.exec(s)?.[0] ?? '';
    if (u === '') throw new InvalidArgument(`time: missing unit in duration "${value}"`);
    const mul = DURATION_UNITS[u];
    if (mul === undefined) throw new InvalidArgument(`time: unknown unit "${u}" in duration "${value}"`);
    s = s.slice(u.length);
    total += Number(intPart || '0') * mul + (fracPart ? Math.round(Number(`0.${fracPart}`) * mul) : 0);
  }
  return neg ? -total : total;
}

/** `--cpus 1.5` → NanoCpus (exact decimal arithmetic, like big.Rat in the docker CLI). */
export function parseNanoCpus(value: string): number {
  const frac = /^(\d+)\/(\d+)$/.exec(value);
  if (frac) {
    const n = BigInt(frac[1] as string) * 1_000_000_000n;
    const d = BigInt(frac[2] as string);
    if (d === 0n) throw new InvalidArgument(`failed to parse ${value} as a rational number`);
    if (n % d !== 0n) throw new InvalidArgument('value is too precise');
    return Number(n / d);
  }
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(value);
  if (!m || ((m[2] ?? '') === '' && (m[3] ?? '') === '')) throw new InvalidArgument(`failed to parse ${value} as a rational number`);
  const fraction = (m[3] ?? '').replace(/0+$/, '');
  if (fraction.length > 9) throw new InvalidArgument('value is too precise');
  const nanos = BigInt(m[2] || '0') * 1_000_000_000n + BigInt(fraction.padEnd(9, '0') || '0');
  return Number(m[1] === '-' ? -nanos : nanos);
}

/** Characters `goQuote` escapes: `"`, `\`, C0 and C1 controls, DEL. */
const NEEDS_QUOTE_ESCAPE = /["\\\x00-\x1f\x7f-\x9f]/;

/** Go's `strconv.Quote` (what `docker ps` shows in COMMAND). */
export function goQuote(s: string): string {
  // Most commands need no escape: quoted as they are, without a walk over their characters.
  if (!NEEDS_QUOTE_ESCAPE.test(s)) return `"${s}"`;
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (c === 7) out += '\\a';
    else if (c === 8) out += '\\b';
    else if (c === 12) out += '\\f';
    else if (c === 10) out += '\\n';
    else if (c === 13) out += '\\r';
    else if (c === 9) out += '\\t';
    else if (c === 11) out += '\\v';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if (c >= 0x80 && c < 0xa0) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** The docker CLI's `formatter.Ellipsis`: at most `max` characters, the last one `…` when cut. */
export function ellipsis(s: string, max: number): string {
  if (max <= 0) return '';
  // No more UTF-16 units than `max`, so no more characters either.
  if (s.length <= max) return s;
  const chars = [...s];
  if (chars.length <= max) return s;
  if (max === 1) return chars[0] as string;
  return `${chars.slice(0, max - 1).join('')}…`;
}

/** `stringid.TruncateID`: drops an algorithm prefix and keeps 12 characters. */
export function truncateId(id: string): string {
  const i = id.indexOf(':');
  const bare = i >= 0 ? id.slice(i + 1) : id;
  return bare.length > 12 ? bare.slice(0, 12) : bare;
}
