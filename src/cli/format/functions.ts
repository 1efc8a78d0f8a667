/**
 * Template functions: Go's text/template builtins (and, or, not, len, index, slice, eq,
 * ne, lt, le, gt, ge, print, printf, println, html, js, urlquery) and the docker CLI's
 * additions (json, join, split, lower, upper, title, truncate, pad), plus the variants
 * docker uses when rendering `table` headers, where string helpers return their input.
 */
import { sprint, sprintf, sprintln } from './printf.js';
import { HeaderValue, formatValue, goStructType, goTypeName, isMap, isNil, isTrue, mapGet, sortedKeys } from './values.js';

/** A failure inside a function; reported as `error calling NAME: message`. */
export class CallError extends Error {}

/** An argument of the wrong type; reported as is. */
export class ArgTypeError extends Error {}

export interface TemplateFunction {
  /** Fewest arguments accepted. */
  readonly min: number;
  /** Most arguments accepted; `Infinity` for variadic functions. */
  readonly max: number;
  readonly call: (args: readonly unknown[]) => unknown;
}

export type FunctionTable = ReadonlyMap<string, TemplateFunction>;

function fixed(n: number, call: (args: readonly unknown[]) => unknown): TemplateFunction {
  return { min: n, max: n, call };
}

function variadic(min: number, call: (args: readonly unknown[]) => unknown): TemplateFunction {
  return { min, max: Infinity, call };
}

// --- argument checks ------------------------------------------------------------

function str(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v instanceof HeaderValue) return v.toString();
  if (isNil(v)) throw new ArgTypeError('invalid value; expected string');
  throw new ArgTypeError(`wrong type for value; expected string; got ${goTypeName(v)}`);
}

function int(v: unknown): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (isNil(v)) throw new ArgTypeError('invalid value; expected int');
  throw new ArgTypeError(`wrong type for value; expected int; got ${goTypeName(v)}`);
}

function arg(args: readonly unknown[], i: number): unknown {
  return args[i];
}

// --- builtins ---------------------------------------------------------------------

function length(v: unknown): number {
  if (isNil(v)) throw new CallError('len of nil pointer');
  if (typeof v === 'string') return Buffer.byteLength(v, 'utf8');
  if (Array.isArray(v)) return v.length;
  if (isMap(v)) return Object.keys(v).length;
  throw new CallError(`len of type ${goTypeName(v)}`);
}

function indexArg(v: unknown, cap: number): number {
  if (isNil(v)) throw new CallError('cannot index slice/array with nil');
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new CallError(`cannot index slice/array with type ${goTypeName(v)}`);
  }
  if (v < 0 || v > cap) throw new CallError(`index out of range: ${v}`);
  return v;
}

function index(args: readonly unknown[]): unknown {
  let item = arg(args, 0);
  if (isNil(item)) throw new CallError('index of untyped nil');
  for (const key of args.slice(1)) {
    if (isNil(item)) throw new CallError('index of nil pointer');
    if (typeof item === 'string') {
      const bytes = Buffer.from(item, 'utf8');
      const i = indexArg(key, bytes.length);
      const b = bytes[i];
      if (b === undefined) throw new CallError(`index out of range: ${i}`);
      item = b;
    } else if (Array.isArray(item)) {
      const list: readonly unknown[] = item;
      const i = indexArg(key, list.length);
      if (i >= list.length) throw new CallError(`index out of range: ${i}`);
      item = list[i];
    } else if (isMap(item)) {
      if (typeof key !== 'string') {
        throw new CallError(`value has type ${isNil(key) ? 'nil' : goTypeName(key)}; should be string`);
      }
      item = mapGet(item, key);
    } else {
      throw new CallError(`can't index item of type ${goTypeName(item)}`);
    }
  }
  return item;
}

function slice(args: readonly unknown[]): unknown {
  const item = arg(args, 0);
  const indexes = args.slice(1);
  if (isNil(item)) throw new CallError('slice of untyped nil');
  if (indexes.length > 3) throw new CallError(`too many slice indexes: ${indexes.length}`);
  let len: number;
  if (typeof item === 'string') {
    if (indexes.length === 3) throw new CallError('cannot 3-index slice a string');
    len = Buffer.byteLength(item, 'utf8');
  } else if (Array.isArray(item)) {
    len = item.length;
  } else {
    throw new CallError(`can't slice item of type ${goTypeName(item)}`);
  }
  const idx = [0, len, len];
  indexes.forEach((x, i) => {
    idx[i] = indexArg(x, len);
  });
  const [lo = 0, hi = len, max = len] = idx;
  if (lo > hi) throw new CallError(`invalid slice index: ${lo} > ${hi}`);
  if (indexes.length === 3 && hi > max) throw new CallError(`invalid slice index: ${hi} > ${max}`);
  return typeof item === 'string' ? Buffer.from(item, 'utf8').subarray(lo, hi).toString('utf8') : item.slice(lo, hi);
}

type BasicKind = 'bool' | 'number' | 'string';

function basicKind(v: unknown): BasicKind | null {
  const t = typeof v;
  return t === 'boolean' ? 'bool' : t === 'number' || t === 'bigint' ? 'number' : t === 'string' ? 'string' : null;
}

function eq(args: readonly unknown[]): boolean {
  const a = arg(args, 0);
  if (args.length < 2) throw new CallError('missing argument for comparison');
  const ka = basicKind(a);
  for (const b of args.slice(1)) {
    const kb = basicKind(b);
    if (ka !== kb) {
      if (!isNil(a) && !isNil(b)) throw new CallError('incompatible types for comparison');
      continue;
    }
    if (ka === null) {
      if (isNil(a) || isNil(b)) {
        if (isNil(a) && isNil(b)) return true;
        continue;
      }
      throw new CallError(`non-comparable type ${formatValue(a)}: ${goTypeName(a)}`);
    }
    if (a === b) return true;
  }
  return false;
}

function lessThan(a: unknown, b: unknown): boolean {
  const ka = basicKind(a);
  const kb = basicKind(b);
  if (ka === null || kb === null || ka === 'bool') throw new CallError('invalid type for comparison');
  if (typeof a === 'string' && typeof b === 'string') return a < b;
  if (typeof a === 'number' && typeof b === 'number') return a < b;
  throw new CallError('incompatible types for comparison');
}

/** Go's HTMLEscapeString. */
function htmlEscape(s: string): string {
  return s.replace(/[\0"'&<>]/g, (c) =>
    c === '\0' ? '\uFFFD' : c === '"' ? '&#34;' : c === "'" ? '&#39;' : c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;',
  );
}

/** Go's JSEscapeString. */
function jsEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (ch === '\\' || ch === "'" || ch === '"') out += `\\${ch}`;
    else if (ch === '<') out += '\\u003C';
    else if (ch === '>') out += '\\u003E';
    else if (ch === '&') out += '\\u0026';
    else if (ch === '=') out += '\\u003D';
    else if (cp < 0x20) out += `\\u${cp.toString(16).toUpperCase().padStart(4, '0')}`;
    else out += ch;
  }
  return out;
}

/** Go's url.QueryEscape. */
function queryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** `and`/`or`: the first argument whose truth is `truth`, else the last argument. */
function firstWithTruth(args: readonly unknown[], truth: boolean): unknown {
  const i = args.findIndex((v) => isTrue(v) === truth);
  return args[i < 0 ? args.length - 1 : i];
}

/** Text of builtins that take `...any` and format it like fmt.Sprint. */
function sprintArgs(args: readonly unknown[]): string {
  const only = args[0];
  return args.length === 1 && typeof only === 'string' ? only : sprint(args);
}

// --- docker's functions -----------------------------------------------------------

/**
 * encoding/json output for JSON-like data (HTML characters left alone, like docker). A list
 * row marked as one of the docker CLI's formatter contexts (`*formatter.ContainerContext`
 * ...) is marshalled as those are, through a map of its fields: keys sorted.
 */
export function goJSON(v: unknown): string {
  const type = isMap(v) ? goStructType(v) : undefined;
  const value = type?.endsWith('Context') ? Object.fromEntries(sortedKeys(v as Record<string, unknown>).map((k) => [k, (v as Record<string, unknown>)[k]])) : v;
  const text = JSON.stringify(value, (_k, item: unknown) => (item instanceof HeaderValue ? item.toString() : item));
  return (text ?? 'null').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function isSeparator(ch: string): boolean {
  if (/^[0-9A-Za-z_]$/.test(ch)) return false;
  if (ch.charCodeAt(0) < 0x80) return true;
  if (/^[\p{L}\p{Nd}]$/u.test(ch)) return false;
  return /^\s$/u.test(ch);
}

/** strings.Title: upper-cases the first letter of each word. */
function title(s: string): string {
  let prev = ' ';
  let out = '';
  for (const ch of s) {
    out += isSeparator(prev) ? ch.toUpperCase() : ch;
    prev = ch;
  }
  return out;
}

function join(list: unknown, sep: unknown): string {
  const separator = str(sep);
  if (isNil(list)) return '';
  if (!Array.isArray(list)) throw new ArgTypeError(`wrong type for value; expected []string; got ${goTypeName(list)}`);
  return list.map((e) => (typeof e === 'string' ? e : formatValue(e))).join(separator);
}

function split(s: string, sep: string): string[] {
  return sep === '' ? [...s] : s.split(sep);
}

function truncateText(s: string, n: number): string {
  const runes = [...s];
  return runes.length < n ? s : runes.slice(0, Math.max(n, 0)).join('');
}

function padText(s: string, left: number, right: number): string {
  return s === '' ? s : ' '.repeat(Math.max(left, 0)) + s + ' '.repeat(Math.max(right, 0));
}

const BUILTINS: ReadonlyArray<readonly [string, TemplateFunction]> = [
  // `and` and `or` short-circuit in the evaluator; these bodies serve pipelines' final args.
  ['and', variadic(1, (a) => firstWithTruth(a, false))],
  ['or', variadic(1, (a) => firstWithTruth(a, true))],
  ['not', fixed(1, (a) => !isTrue(a[0]))],
  ['len', fixed(1, (a) => length(a[0]))],
  ['index', variadic(1, index)],
  ['slice', variadic(1, slice)],
  ['eq', variadic(1, eq)],
  ['ne', fixed(2, (a) => !eq(a))],
  ['lt', fixed(2, (a) => lessThan(a[0], a[1]))],
  ['le', fixed(2, (a) => lessThan(a[0], a[1]) || eq(a))],
  ['gt', fixed(2, (a) => !lessThan(a[0], a[1]) && !eq(a))],
  ['ge', fixed(2, (a) => !lessThan(a[0], a[1]))],
  ['print', variadic(0, sprint)],
  ['printf', variadic(1, (a) => sprintf(str(a[0]), a.slice(1)))],
  ['println', variadic(0, sprintln)],
  ['html', variadic(0, (a) => htmlEscape(sprintArgs(a)))],
  ['js', variadic(0, (a) => jsEscape(sprintArgs(a)))],
  ['urlquery', variadic(0, (a) => queryEscape(sprintArgs(a)))],
  ['json', fixed(1, (a) => goJSON(a[0]))],
  ['join', fixed(2, (a) => join(a[0], a[1]))],
  ['split', fixed(2, (a) => split(str(a[0]), str(a[1])))],
  ['lower', fixed(1, (a) => str(a[0]).toLowerCase())],
  ['upper', fixed(1, (a) => str(a[0]).toUpperCase())],
  ['title', fixed(1, (a) => title(str(a[0])))],
  ['truncate', fixed(2, (a) => truncateText(str(a[0]), int(a[1])))],
  ['pad', fixed(3, (a) => padText(str(a[0]), int(a[1]), int(a[2])))],
  // `table` is a directive of --format, not a function; accept it and pass its argument through.
  ['table', variadic(0, (a) => (a.length > 0 ? a[a.length - 1] : ''))],
];

/** Functions available to `--format` templates. */
export const FUNCTIONS: FunctionTable = new Map(BUILTINS);

function headerText(v: unknown): string {
  return v instanceof HeaderValue ? v.toString() : formatValue(v);
}

/**
 * Functions for rendering a `table` header, as in docker's templates.HeaderFunctions:
 * the string helpers return the column title unchanged (so `{{upper .Name}}` is
 * headed `NAME`, not mangled), and `index` keeps the title of the indexed field.
 */
export const HEADER_FUNCTIONS: FunctionTable = new Map<string, TemplateFunction>([
  ...BUILTINS,
  ['json', fixed(1, (a) => headerText(a[0]))],
  ['join', fixed(2, (a) => headerText(a[0]))],
  ['split', fixed(2, (a) => headerText(a[0]))],
  ['lower', fixed(1, (a) => headerText(a[0]))],
  ['upper', fixed(1, (a) => headerText(a[0]))],
  ['title', fixed(1, (a) => headerText(a[0]))],
  ['truncate', fixed(2, (a) => headerText(a[0]))],
  ['pad', fixed(3, (a) => headerText(a[0]))],
  ['index', variadic(1, (a) => headerText(a[0]))],
  ['slice', variadic(1, (a) => headerText(a[0]))],
]);
