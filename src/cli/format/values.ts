/**
 * Go-flavoured views of JavaScript values, as text/template sees JSON-like data:
 * plain objects are `map[string]interface {}`, arrays are `[]interface {}`, integral
 * numbers are `int` and others `float64`. Covers fmt's `%v` printing (`[a b]`,
 * `map[k:v]` with sorted keys, `<nil>`), Go truthiness, type names and Go quoting.
 */

/** What an action prints for a missing or nil value. */
export const NO_VALUE = '<no value>';

/**
 * Stand-in for row data when rendering a `table` header: every field of it is another
 * HeaderValue, and it prints as the column title resolved from its field path.
 */
export class HeaderValue {
  constructor(
    readonly path: readonly string[],
    private readonly resolve: (path: readonly string[]) => string,
  ) {}

  child(name: string): HeaderValue {
    return new HeaderValue([...this.path, name], this.resolve);
  }

  toString(): string {
    return this.path.length === 0 ? '' : this.resolve(this.path);
  }
}

export type GoMap = Readonly<Record<string, unknown>>;

export function isNil(v: unknown): v is null | undefined {
  return v === null || v === undefined;
}

/** True for objects treated as Go maps (plain data objects). */
export function isMap(v: unknown): v is GoMap {
  return (
    typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof HeaderValue) && !(v instanceof Date)
  );
}

export function isInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

/** Map keys in Go's fmt/range order (sorted). */
export function sortedKeys(m: GoMap): string[] {
  return Object.keys(m).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export function mapGet(m: GoMap, key: string): unknown {
  return Object.hasOwn(m, key) ? m[key] : undefined;
}

const GO_STRUCT = Symbol('berth.goStruct');

/**
 * Marks a list row as the docker CLI's formatter context, a Go struct named `type`
 * (`*formatter.ContainerContext`): a field it lacks is a template error, as in Go, where a
 * JSON-decoded map (`inspect -f`) gives `<no value>`. The mark is a symbol, unseen by `json`.
 */
export function asGoStruct<T extends object>(row: T, type: string): T {
  Object.defineProperty(row, GO_STRUCT, { value: type, enumerable: false, configurable: true });
  return row;
}

/** The Go struct type a row was marked with, if any. */
export function goStructType(v: GoMap): string | undefined {
  return (v as { [GO_STRUCT]?: string })[GO_STRUCT];
}

/** The Go type a value would have after JSON decoding, for error messages. */
export function goTypeName(v: unknown): string {
  if (isNil(v)) return 'interface {}';
  if (v instanceof HeaderValue) return 'string';
  if (v instanceof Date) return 'time.Time';
  if (Array.isArray(v)) return '[]interface {}';
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'number':
      return Number.isSafeInteger(v) ? 'int' : 'float64';
    case 'bigint':
      return 'int64';
    case 'boolean':
      return 'bool';
    case 'function':
      return 'func()';
    case 'object':
      return 'map[string]interface {}';
    default:
      return typeof v;
  }
}

/** Go truthiness: false, 0, nil, and empty strings, slices and maps are false. */
export function isTrue(v: unknown): boolean {
  if (isNil(v)) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isMap(v)) return Object.keys(v).length > 0;
  switch (typeof v) {
    case 'boolean':
      return v;
    case 'number':
      return v !== 0;
    case 'bigint':
      return v !== 0n;
    case 'string':
      return v.length > 0;
    default:
      return true;
  }
}

/** What `{{pipeline}}` prints: nil becomes `<no value>`, everything else `%v`. */
export function printAction(v: unknown): string {
  return isNil(v) ? NO_VALUE : formatValue(v);
}

/** fmt's `%v` for a value (nil prints as `<nil>`, as inside composites). */
export function formatValue(v: unknown): string {
  if (isNil(v)) return '<nil>';
  if (v instanceof HeaderValue) return v.toString();
  if (v instanceof Date) return formatTime(v);
  if (Array.isArray(v)) return `[${v.map(formatValue).join(' ')}]`;
  if (isMap(v)) return `map[${sortedKeys(v).map((k) => `${k}:${formatValue(v[k])}`).join(' ')}]`;
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
      return formatNumber(v);
    default:
      return String(v);
  }
}

/** `%v` of a number: integers without exponent, other floats like Go's `%g`. */
export function formatNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  return formatFloat(n, 'g', -1);
}

/**
 * strconv.FormatFloat for verbs e, f and g; `prec` -1 means the shortest representation
 * that round-trips. Infinities print as `+Inf`/`-Inf`, like Go.
 */
export function formatFloat(n: number, verb: 'e' | 'f' | 'g', prec: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : '-Inf';
  const sign = n < 0 || Object.is(n, -0) ? '-' : '';
  const abs = Math.abs(n);
  switch (verb) {
    case 'f':
      return sign + fixed(abs, prec);
    case 'e':
      return sign + goExponent(prec < 0 ? abs.toExponential() : abs.toExponential(prec));
    case 'g': {
      const p = prec === 0 ? 1 : prec;
      const [mant = '0', exp = '0'] = (p < 0 ? abs.toExponential() : abs.toExponential(p - 1)).split('e');
      const digits = mant.replace('.', '').replace(/0+$/, '') || '0';
      const x = Number(exp);
      let eprec = p < 0 ? 6 : p;
      if (p >= 0 && eprec > digits.length && digits.length >= x + 1) eprec = digits.length;
      if (abs !== 0 && (x < -4 || x >= eprec)) {
        const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
        return sign + goExponent(`${m}e${exp}`);
      }
      return sign + placeDecimal(abs === 0 ? '0' : digits, x + 1);
    }
  }
}

function fixed(abs: number, prec: number): string {
  if (prec < 0) {
    const [mant = '0', exp = '0'] = abs.toExponential().split('e');
    return placeDecimal(mant.replace('.', ''), Number(exp) + 1);
  }
  if (abs >= 1e21) return BigInt(abs).toString() + (prec > 0 ? `.${'0'.repeat(prec)}` : '');
  return abs.toFixed(Math.min(prec, 100));
}

/** Puts a decimal point into a digit string so that `dp` digits precede it. */
function placeDecimal(digits: string, dp: number): string {
  if (dp <= 0) return `0.${'0'.repeat(-dp)}${digits}`;
  if (dp >= digits.length) return digits + '0'.repeat(dp - digits.length);
  return `${digits.slice(0, dp)}.${digits.slice(dp)}`;
}

/** JS `1.5e+7` → Go `1.5e+07` (at least two exponent digits). */
function goExponent(s: string): string {
  return s.replace(/e([+-])?(\d+)$/, (_m, sign: string | undefined, digits: string) => {
    return `e${sign ?? '+'}${digits.padStart(2, '0')}`;
  });
}

/** Go's time.Time String() layout, in UTC. */
function formatTime(d: Date): string {
  if (Number.isNaN(d.getTime())) return 'Invalid Date';
  const iso = d.toISOString(); // 2024-01-02T03:04:05.678Z
  const [date = '', time = ''] = iso.slice(0, -1).split('T');
  return `${date} ${time.replace(/\.?0+$/, '')} +0000 UTC`;
}

/** strconv.Quote / QuoteToASCII. */
export function quoteGo(s: string, ascii = false): string {
  return `"${escapeRunes(s, '"', ascii)}"`;
}

/** strconv.QuoteRune / QuoteRuneToASCII. */
export function quoteRune(cp: number, ascii = false): string {
  const valid = cp >= 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp < 0xe000);
  return `'${escapeRunes(String.fromCodePoint(valid ? cp : 0xfffd), "'", ascii)}'`;
}

const NAMED_ESCAPES: Readonly<Record<number, string>> = {
  7: '\\a',
  8: '\\b',
  12: '\\f',
  10: '\\n',
  13: '\\r',
  9: '\\t',
  11: '\\v',
};

function escapeRunes(s: string, quote: string, ascii: boolean): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (ch === quote || ch === '\\') {
      out += `\\${ch}`;
    } else if (cp >= 0x20 && cp < 0x7f) {
      out += ch;
    } else if (NAMED_ESCAPES[cp] !== undefined) {
      out += NAMED_ESCAPES[cp];
    } else if (cp < 0x20 || cp === 0x7f) {
      out += `\\x${cp.toString(16).padStart(2, '0')}`;
    } else if (!ascii && /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(ch)) {
      out += ch;
    } else if (cp > 0xffff) {
      out += `\\U${cp.toString(16).padStart(8, '0')}`;
    } else {
      out += `\\u${cp.toString(16).padStart(4, '0')}`;
    }
  }
  return out;
}
