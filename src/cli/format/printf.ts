/**
 * A subset of Go's fmt package over JSON-like values: `sprint`, `sprintln` and
 * `sprintf` with flags `-+# 0`, width and precision (also `*`), and verbs
 * v s d q t x X o O b c U e E f F g G T %. Mistakes render like Go does:
 * `%!d(string=abc)`, `%!s(MISSING)`, `%!(EXTRA int=1)`.
 */
import { HeaderValue, formatFloat, formatValue, goTypeName, isMap, isNil, quoteGo, quoteRune, sortedKeys } from './values.js';

/** fmt.Sprint: operands joined, with a space between two operands when neither is a string. */
export function sprint(args: readonly unknown[]): string {
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += formatValue(a);
  });
  return out;
}

/** fmt.Sprintln: operands always space-separated, newline appended. */
export function sprintln(args: readonly unknown[]): string {
  return `${args.map(formatValue).join(' ')}\n`;
}

interface Spec {
  minus: boolean;
  plus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  width: number | null;
  prec: number | null;
}

/** fmt.Sprintf. */
export function sprintf(format: string, args: readonly unknown[]): string {
  let out = '';
  let argNum = 0;
  let i = 0;
  const takeInt = (): number | null => {
    const a = args[argNum++];
    return typeof a === 'number' && Number.isInteger(a) ? a : null;
  };
  while (i < format.length) {
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    i = pct + 1;
    const spec: Spec = { minus: false, plus: false, sharp: false, space: false, zero: false, width: null, prec: null };
    for (; i < format.length; i++) {
      const c = format[i];
      if (c === '-') {
        spec.minus = true;
        spec.zero = false;
      } else if (c === '+') spec.plus = true;
      else if (c === '#') spec.sharp = true;
      else if (c === ' ') spec.space = true;
      else if (c === '0') spec.zero = !spec.minus;
      else break;
    }
    if (format[i] === '*') {
      i++;
      const w = argNum < args.length ? takeInt() : null;
      if (w === null) out += '%!(BADWIDTH)';
      else if (w < 0) {
        spec.minus = true;
        spec.zero = false;
        spec.width = -w;
      } else spec.width = w;
    } else {
      const m = /^\d+/.exec(format.slice(i));
      if (m) {
        spec.width = Number(m[0]);
        i += m[0].length;
      }
    }
    if (format[i] === '.') {
      i++;
      if (format[i] === '*') {
        i++;
        const p = argNum < args.length ? takeInt() : null;
        if (p === null) out += '%!(BADPREC)';
        else spec.prec = p < 0 ? null : p;
      } else {
        const m = /^\d*/.exec(format.slice(i));
        const digits = m?.[0] ?? '';
        spec.prec = digits === '' ? 0 : Number(digits);
        i += digits.length;
      }
    }
    const verb = format.codePointAt(i);
    if (verb === undefined) {
      out += '%!(NOVERB)';
      break;
    }
    const v = String.fromCodePoint(verb);
    i += v.length;
    if (v === '%') {
      out += '%';
      continue;
    }
    if (argNum >= args.length) {
      out += `%!${v}(MISSING)`;
      continue;
    }
    out += formatArg(args[argNum++], v, spec);
  }
  if (argNum < args.length) {
    const extra = args.slice(argNum).map((a) => (isNil(a) ? '<nil>' : `${goTypeName(a)}=${formatValue(a)}`));
    out += `%!(EXTRA ${extra.join(', ')})`;
  }
  return out;
}

function formatArg(arg: unknown, verb: string, spec: Spec): string {
  if (verb === 'T') return pad(goTypeName(arg), spec);
  const a = arg instanceof HeaderValue ? arg.toString() : arg;
  if (isNil(a)) return verb === 'v' ? pad('<nil>', spec) : badVerb(a, verb, spec);
  if (Array.isArray(a)) {
    if (!'vsdqxXobcUeEfFgGt'.includes(verb)) return badVerb(a, verb, spec);
    return `[${a.map((e) => formatArg(e, verb, spec)).join(' ')}]`;
  }
  if (isMap(a)) {
    const entries = sortedKeys(a).map((k) => `${formatArg(k, verb, spec)}:${formatArg(a[k], verb, spec)}`);
    return `map[${entries.join(' ')}]`;
  }
  switch (typeof a) {
    case 'boolean':
      return verb === 't' || verb === 'v' ? pad(String(a), spec) : badVerb(a, verb, spec);
    case 'string':
      return formatString(a, verb, spec);
    case 'bigint':
      return formatInteger(a, verb, spec) ?? badVerb(a, verb, spec);
    case 'number':
      if (Number.isInteger(a) && Math.abs(a) <= Number.MAX_SAFE_INTEGER) {
        const s = formatInteger(BigInt(a), verb, spec);
        if (s !== null) return s;
      }
      return formatFloatVerb(a, verb, spec) ?? badVerb(a, verb, spec);
    default:
      return verb === 'v' || verb === 's' ? pad(formatValue(a), spec) : badVerb(a, verb, spec);
  }
}

function badVerb(a: unknown, verb: string, spec: Spec): string {
  if (isNil(a)) return `%!${verb}(<nil>)`;
  return `%!${verb}(${goTypeName(a)}=${formatArg(a, 'v', spec)})`;
}

function formatString(s: string, verb: string, spec: Spec): string {
  switch (verb) {
    case 'v':
    case 's':
      return pad(truncate(s, spec), spec);
    case 'q':
      return spec.sharp && !/[\x00-\x08\x0a-\x1f\x7f`]/.test(s)
        ? pad(`\`${truncate(s, spec)}\``, spec)
        : pad(quoteGo(truncate(s, spec), spec.plus), spec);
    case 'x':
    case 'X': {
      const bytes = [...Buffer.from(truncate(s, spec), 'utf8')];
      const hex = bytes.map((b) => b.toString(16).padStart(2, '0'));
      const prefix = spec.sharp ? '0x' : '';
      let body = spec.space ? hex.map((h) => prefix + h).join(' ') : prefix + hex.join('');
      if (verb === 'X') body = body.toUpperCase();
      return pad(body, spec);
    }
    default:
      return badVerb(s, verb, spec);
  }
}

function truncate(s: string, spec: Spec): string {
  return spec.prec === null ? s : [...s].slice(0, spec.prec).join('');
}

const BASES: Readonly<Record<string, number>> = { v: 10, d: 10, b: 2, o: 8, O: 8, x: 16, X: 16 };

function formatInteger(n: bigint, verb: string, spec: Spec): string | null {
  if (verb === 'c') return pad(runeString(n), spec);
  if (verb === 'q') return pad(quoteRune(Number(n), spec.plus), spec);
  if (verb === 'U') {
    const u = `U+${(n < 0n ? -n : n).toString(16).toUpperCase().padStart(4, '0')}`;
    return pad(spec.sharp ? `${u} '${runeString(n)}'` : u, spec);
  }
  const base = BASES[verb];
  if (base === undefined) return null;
  const negative = n < 0n;
  let digits = (negative ? -n : n).toString(base);
  if (verb === 'X') digits = digits.toUpperCase();
  const sign = negative ? '-' : spec.plus ? '+' : spec.space ? ' ' : '';
  if (spec.prec !== null) {
    if (spec.prec === 0 && n === 0n) digits = '';
    digits = digits.padStart(spec.prec, '0');
  } else if (spec.zero && spec.width !== null && !spec.minus) {
    digits = digits.padStart(spec.width - sign.length, '0');
  }
  let prefix = '';
  if (verb === 'O') prefix = '0o';
  else if (spec.sharp) {
    if (base === 2) prefix = '0b';
    else if (base === 8 && !digits.startsWith('0')) prefix = '0';
    else if (base === 16) prefix = verb === 'X' ? '0X' : '0x';
  }
  return pad(sign + prefix + digits, { ...spec, zero: false });
}

function runeString(n: bigint): string {
  const cp = Number(n);
  const valid = cp >= 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp < 0xe000);
  return String.fromCodePoint(valid ? cp : 0xfffd);
}

function formatFloatVerb(n: number, verb: string, spec: Spec): string | null {
  const lower = verb.toLowerCase();
  if (!['v', 'e', 'f', 'g'].includes(lower)) return null;
  const kind = lower === 'v' ? 'g' : (lower as 'e' | 'f' | 'g');
  const defaultPrec = kind === 'g' ? -1 : 6;
  let num = formatFloat(n, kind, spec.prec ?? defaultPrec);
  if (verb === 'E' || verb === 'G') num = num.toUpperCase();
  const special = num.endsWith('Inf') || num === 'NaN';
  let sign = '';
  if (num.startsWith('-') || num.startsWith('+')) {
    sign = num[0] ?? '';
    num = num.slice(1);
  }
  if (sign === '' && !(num === 'NaN' && !spec.plus && !spec.space)) sign = spec.plus ? '+' : spec.space ? ' ' : '';
  if (!special && spec.zero && !spec.minus && spec.width !== null) num = num.padStart(spec.width - sign.length, '0');
  return pad(sign + num, { ...spec, zero: false });
}

/** Pads to the spec's width (counted in runes) with spaces, left or right. */
function pad(s: string, spec: Spec): string {
  if (spec.width === null) return s;
  const n = spec.width - [...s].length;
  if (n <= 0) return s;
  return spec.minus ? s + ' '.repeat(n) : ' '.repeat(n) + s;
}
