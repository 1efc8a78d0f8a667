/**
 * `--env-file` / `--label-file` parsing with the docker CLI's rules (opts/file.go):
 * one `KEY=VALUE` per line, leading whitespace dropped, `#` comments and blank lines
 * skipped, the value passed through untouched (no quotes processing), a UTF-8 BOM
 * ignored, and a bare `KEY` taken from the local environment (dropped when unset).
 * `-e` values follow `opts.ValidateEnv`.
 */
import { readFileSync } from 'node:fs';
import { InvalidArgument } from '../core/errors.js';

const WHITESPACE = /[ \t]/;

/** Parses the text of a key-value file; `lookup` resolves bare keys (env files only). */
export function parseKeyValueFile(content: string | Buffer, filename: string, lookup?: (key: string) => string | undefined): string[] {
  const buf = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  const lines: string[] = [];
  let start = 0;
  let lineNo = 0;
  while (start < buf.length) {
    let end = buf.indexOf(0x0a, start);
    if (end < 0) end = buf.length;
    let raw = buf.subarray(start, end);
    start = end + 1;
    if (raw.length > 0 && raw[raw.length - 1] === 0x0d) raw = raw.subarray(0, raw.length - 1);
    if (lineNo === 0 && raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf) raw = raw.subarray(3);
    lineNo++;
    const text = raw.toString('utf8');
    if (text.includes('\ufffd') && !Buffer.from(text, 'utf8').equals(raw)) {
      throw new InvalidArgument(`env file ${filename} contains invalid utf8 bytes at line ${lineNo}: [${[...raw].join(' ')}]`);
    }
    const line = text.replace(/^\s+/u, '');
    if (line.length === 0 || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const variable = (eq >= 0 ? line.slice(0, eq) : line).replace(/^[ \t]+/, '');
    // Docker's words, with the file and line in front (Docker names neither).
    if (WHITESPACE.test(variable)) throw new InvalidArgument(`${filename}:${lineNo}: poorly formatted environment: variable '${variable}' contains whitespaces`);
    if (variable.length === 0) throw new InvalidArgument(`${filename}:${lineNo}: poorly formatted environment: no variable name on line '${line}'`);
    if (eq >= 0) {
      lines.push(`${variable}=${line.slice(eq + 1)}`);
    } else if (lookup) {
      const value = lookup(line);
      if (value !== undefined) lines.push(`${variable.trim()}=${value}`);
    }
  }
  return lines;
}

function readKeyValueFile(filename: string, lookup?: (key: string) => string | undefined): string[] {
  let content: Buffer;
  try {
    content = readFileSync(filename);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new InvalidArgument(`open ${filename}: ${err.code === 'ENOENT' ? 'no such file or directory' : err.message}`);
  }
  return parseKeyValueFile(content, filename, lookup);
}

/** `opts.ValidateEnv`: `KEY=VALUE` as is, a bare `KEY` takes the local value when set. */
export function validateEnv(value: string, env: NodeJS.ProcessEnv = process.env): string {
  const eq = value.indexOf('=');
  const key = eq >= 0 ? value.slice(0, eq) : value;
  if (key === '') throw new InvalidArgument(`invalid environment variable: ${value}`);
  if (eq >= 0) return value;
  const local = env[key];
  return local !== undefined ? `${key}=${local}` : value;
}

/** `opts.ReadKVEnvStrings`: env files first, then `-e` values. */
export function readEnv(files: readonly string[], values: readonly string[], env: NodeJS.ProcessEnv = process.env): string[] {
  const out: string[] = [];
  for (const f of files) out.push(...readKeyValueFile(f, (k) => env[k]));
  for (const v of values) out.push(validateEnv(v, env));
  return out;
}

/** `opts.ReadKVStrings` for labels: label files (bare keys dropped), then `-l` values. */
export function readLabels(files: readonly string[], values: readonly string[]): Record<string, string> {
  const all: string[] = [];
  for (const f of files) all.push(...readKeyValueFile(f));
  all.push(...values);
  return kvToMap(all);
}

/** `opts.ConvertKVStringsToMap`: `k=v` → {k: v}, a bare `k` → {k: ''}. */
export function kvToMap(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq >= 0) out[v.slice(0, eq)] = v.slice(eq + 1);
    else out[v] = '';
  }
  return out;
}
