/**
 * A small flag parser with the semantics of spf13/pflag as the docker CLI configures it:
 * `--name value`, `--name=value`, `-abc` bool groups, `-eFOO=1`, `-e=FOO`, `--bool=false`,
 * `--` ends flags, repeated list flags collect, and (for run/create/exec/top) parsing
 * stops at the first positional so the container command keeps its own options.
 * Hand-written rather than commander to keep `berth run` start-up free of its import cost.
 */

export type FlagKind = 'bool' | 'string' | 'int' | 'list';

export interface FlagDef {
  long: string;
  short?: string;
  kind: FlagKind;
  help: string;
  /** Default for string/int/bool flags (shown in help when not the zero value). */
  default?: string | number | boolean;
  /** Type name shown in help (`string`, `list`, `duration`, `bytes`, ...). */
  type?: string;
  hidden?: boolean;
}

export class UsageError extends Error {
  constructor(message: string, readonly command: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export class Flags {
  private readonly values = new Map<string, string | number | boolean | string[]>();
  private readonly changedSet = new Set<string>();

  constructor(private readonly defs: readonly FlagDef[]) {
    for (const d of defs) {
      if (d.kind === 'list') this.values.set(d.long, []);
      else if (d.default !== undefined) this.values.set(d.long, d.default);
    }
  }

  /** True when the flag was given on the command line (pflag's `Changed`). */
  changed(name: string): boolean {
    return this.changedSet.has(name);
  }

  str(name: string): string | undefined {
    const v = this.values.get(name);
    return v === undefined ? undefined : String(v);
  }

  bool(name: string): boolean {
    return this.values.get(name) === true;
  }

  int(name: string): number | undefined {
    const v = this.values.get(name);
    return typeof v === 'number' ? v : undefined;
  }

  list(name: string): string[] {
    const v = this.values.get(name);
    return Array.isArray(v) ? v : [];
  }

  /** @internal */
  set(def: FlagDef, raw: string, display: string, command: string): void {
    this.changedSet.add(def.long);
    switch (def.kind) {
      case 'bool': {
        const b = parseBool(raw);
        if (b === undefined) throw new UsageError(`invalid argument "${raw}" for "${display}" flag: strconv.ParseBool: parsing "${raw}": invalid syntax`, command);
        this.values.set(def.long, b);
        return;
      }
      case 'int': {
        if (!/^[+-]?\d+$/.test(raw.trim())) throw new UsageError(`invalid argument "${raw}" for "${display}" flag: strconv.ParseInt: parsing "${raw}": invalid syntax`, command);
        this.values.set(def.long, Number.parseInt(raw, 10));
        return;
      }
      case 'list':
        (this.values.get(def.long) as string[]).push(raw);
        return;
      default:
        this.values.set(def.long, raw);
    }
  }

  /** @internal */
  get definitions(): readonly FlagDef[] {
    return this.defs;
  }
}

function parseBool(s: string): boolean | undefined {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(s)) return false;
  return undefined;
}

function flagDisplay(d: FlagDef): string {
  return d.short ? `-${d.short}, --${d.long}` : `--${d.long}`;
}

export interface ParseResult {
  flags: Flags;
  args: string[];
  help: boolean;
}

/**
 * Parses `argv` against `defs`. `interspersed: false` stops at the first positional.
 * `--help` (and `-h` when the command does not define it) set `help`.
 */
export function parseArgs(argv: readonly string[], defs: readonly FlagDef[], opts: { interspersed?: boolean; command?: string } = {}): ParseResult {
  const command = opts.command ?? '';
  const interspersed = opts.interspersed ?? true;
  const flags = new Flags(defs);
  const byLong = new Map(defs.map((d) => [d.long, d]));
  const byShort = new Map(defs.filter((d) => d.short).map((d) => [d.short as string, d]));
  const args: string[] = [];
  let help = false;
  let i = 0;
  while (i < argv.length) {
    const a = argv[i++] as string;
    if (a === '--') {
      args.push(...argv.slice(i));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      args.push(a);
      if (!interspersed) {
        args.push(...argv.slice(i));
        break;
      }
      continue;
    }
    if (a.startsWith('--')) {
      const body = a.slice(2);
      const eq = body.indexOf('=');
      const name = eq >= 0 ? body.slice(0, eq) : body;
      const def = byLong.get(name);
      if (!def) {
        if (name === 'help') {
          help = true;
          continue;
        }
        throw new UsageError(`unknown flag: --${name}`, command);
      }
      let value: string;
      if (eq >= 0) value = body.slice(eq + 1);
      else if (def.kind === 'bool') value = 'true';
      else if (i < argv.length) value = argv[i++] as string;
      else throw new UsageError(`flag needs an argument: --${name}`, command);
      flags.set(def, value, flagDisplay(def), command);
      continue;
    }
    // Shorthand group: -abc, -eVALUE, -e VALUE, -e=VALUE
    let rest = a.slice(1);
    while (rest.length > 0) {
      const c = rest[0] as string;
      const def = byShort.get(c);
      if (!def) {
        if (c === 'h') {
          help = true;
          rest = rest.slice(1);
          continue;
        }
        throw new UsageError(`unknown shorthand flag: '${c}' in ${a}`, command);
      }
      let value: string;
      if (rest.length > 2 && rest[1] === '=') {
        value = rest.slice(2);
        rest = '';
      } else if (def.kind === 'bool') {
        value = 'true';
        rest = rest.slice(1);
      } else if (rest.length > 1) {
        value = rest.slice(1);
        rest = '';
      } else if (i < argv.length) {
        value = argv[i++] as string;
        rest = '';
      } else {
        throw new UsageError(`flag needs an argument: '${c}' in -${c}`, command);
      }
      flags.set(def, value, flagDisplay(def), command);
    }
  }
  return { flags, args, help };
}

/** Docker-style help: usage line, description, aliases and the options table. */
export function renderHelp(usage: string, description: string, defs: readonly FlagDef[], aliases: readonly string[] = []): string {
  let s = `\nUsage:  ${usage}\n\n${description}\n`;
  if (aliases.length > 0) s += `\nAliases:\n  ${aliases.join(', ')}\n`;
  const shown = defs.filter((d) => !d.hidden);
  if (shown.length > 0) {
    const rows = shown.map((d) => {
      const type = d.kind === 'bool' ? '' : ` ${d.type ?? (d.kind === 'list' ? 'list' : d.kind)}`;
      const left = d.short ? `-${d.short}, --${d.long}${type}` : `    --${d.long}${type}`;
      let help = d.help;
      if (d.kind !== 'bool' && d.default !== undefined && d.default !== '' && d.default !== 0) help += ` (default ${typeof d.default === 'string' && d.type !== 'duration' ? `"${d.default}"` : d.default})`;
      if (d.kind === 'bool' && d.default === true) help += ' (default true)';
      return [left, help] as const;
    });
    const width = Math.max(...rows.map(([l]) => l.length));
    s += '\nOptions:\n';
    for (const [l, h] of rows) s += `  ${l.padEnd(width)}   ${h}\n`;
  }
  return s;
}
