/**
 * The docker CLI's list formatting (`ps`, `images`, `volume ls` ...) and `inspect -f`:
 * `json` prints one JSON document per row, `table ...` prints an aligned header plus one
 * line per row, anything else is a template rendered once per row. As in docker's
 * formatter, literal `\t` and `\n` in a list format become a tab and a newline, and
 * surrounding spaces are trimmed.
 */
import { HEADER_FUNCTIONS, goJSON } from './functions.js';
import { tabwrite } from './tabwriter.js';
import { Template } from './template.js';
import { asGoStruct, goStructType, HeaderValue, type GoMap } from './values.js';

export interface FormatDefaults {
  /** Format used when none is given or it is just `table`, e.g. `table {{.ID}}\t{{.Names}}`. */
  readonly table: string;
  /** Column titles by field path (`ID` → `CONTAINER ID`); others are derived from the name. */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * The docker CLI's Go type for a row (`*formatter.ContainerContext`): a field a row lacks
   * is then an error naming it, as docker's is; a row may carry its own (`asGoStruct`).
   */
  readonly context?: string;
}

const TABLE = 'table';

/** `CreatedSince` → `CREATED SINCE`, `HTTPPort` → `HTTP PORT`. */
export function headerName(field: string): string {
  return field
    .replace(/([\p{Ll}\d])(\p{Lu})/gu, '$1 $2')
    .replace(/(\p{Lu})(\p{Lu}\p{Ll})/gu, '$1 $2')
    .replace(/_/g, ' ')
    .toUpperCase();
}

/** encoding/json's HTML escaping (`<`, `>`, `&` as \u003c, \u003e, \u0026) of JSON text. */
export function escapeHtml(json: string): string {
  return json.replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
}

/** Renders list rows the way the docker CLI does for `--format`. */
export function formatRows(format: string | undefined, rows: readonly object[], defaults: FormatDefaults): string {
  const chosen = format === undefined || format === '' || format === TABLE ? defaults.table : format;
  const context = defaults.context;
  if (context !== undefined) for (const row of rows) if (goStructType(row as GoMap) === undefined) asGoStruct(row, context);
  // A row is a formatter context whose MarshalJSON uses json.Marshal: HTML characters escaped.
  if (chosen === 'json') return rows.map((row) => `${escapeHtml(goJSON(row))}\n`).join('');
  const isTable = chosen === TABLE || chosen.startsWith(`${TABLE} `);
  const body = (isTable ? chosen.slice(TABLE.length) : chosen)
    .replace(/^ +| +$/g, '')
    .replace(/\\[tn]/g, (escape) => (escape === '\\t' ? '\t' : '\n'));
  const headers = defaults.headers ?? {};
  const resolve = (path: readonly string[]): string => {
    const key = path.join('.');
    return Object.hasOwn(headers, key) ? (headers[key] ?? key) : path.map(headerName).join(' ');
  };
  const fields = fieldsOnly(body, rows);
  if (fields !== undefined) {
    // The default tables (`ps`, `images` ...), `-q` and most custom formats: no template to run.
    const lines = rows.map((row) => `${fields.render((field) => (row as Record<string, string>)[field] as string)}\n`).join('');
    return isTable ? tabwrite(`${fields.render((field) => resolve([field]))}\n${lines}`) : lines;
  }
  const template = new Template(body);
  const lines = rows.map((row) => `${template.execute(row)}\n`).join('');
  if (!isTable) return lines;
  const header = template.execute(new HeaderValue([], resolve), HEADER_FUNCTIONS);
  return tabwrite(`${header}\n${lines}`);
}

/** `{{.Field}}` (spaces allowed inside the braces, as in Go): the only action of a fields-only template. */
const FIELD_ACTION = /\{\{ *\.([A-Za-z_][A-Za-z0-9_]*) *\}\}/g;

/**
 * A template made only of text and `{{.Field}}` actions, over rows in which each of those
 * fields is a string of the row's own: Go's template prints exactly the text and the
 * strings, so the rows are rendered without parsing or running a template. Anything else
 * (functions, pipes, nested fields, trim markers, a field missing or not a string) is
 * undefined here and left to the template engine, with its errors and Go's printing rules.
 */
function fieldsOnly(body: string, rows: readonly object[]): { render(cell: (field: string) => string): string } | undefined {
  const texts: string[] = [];
  const fields: string[] = [];
  let last = 0;
  for (const m of body.matchAll(FIELD_ACTION)) {
    texts.push(body.slice(last, m.index));
    fields.push(m[1] as string);
    last = m.index + m[0].length;
  }
  texts.push(body.slice(last));
  if (texts.some((t) => t.includes('{{'))) return undefined;
  for (const row of rows) {
    for (const field of fields) {
      if (!Object.hasOwn(row, field) || typeof (row as Record<string, unknown>)[field] !== 'string') return undefined;
    }
  }
  return {
    render(cell) {
      let out = texts[0] as string;
      for (let i = 0; i < fields.length; i++) out += cell(fields[i] as string) + (texts[i + 1] as string);
      return out;
    },
  };
}

/** Renders one object for `inspect -f`; `json` alone prints the value as JSON. */
export function formatOne(format: string, value: unknown): string {
  if (format === 'json') return `${goJSON(value)}\n`;
  return `${new Template(format).execute(value)}\n`;
}
