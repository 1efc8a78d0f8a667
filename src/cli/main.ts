/**
 * berth's command line: a Docker-compatible CLI that is purely a client of the
 * daemon's Engine API. `main` parses the global options, finds the command, imports
 * only that command's module and maps failures to docker's messages and exit codes.
 */
import { resolveHost } from '../client/host.js';
import { errorMessage } from '../core/errors.js';
import { UsageError, parseArgs, renderHelp } from './args.js';
import { createCli, formatError, InvalidFilter, StatusError, type CliIo, type CommandDef } from './context.js';
import { MANAGEMENT, managementHelp, resolveCommand, topLevelHelp } from './registry.js';
import { processIo } from './stdio.js';

export { pendingStreams } from './stdio.js';

export const CLI_VERSION = '0.1.0';

/** Set by bin/berth: whether V8 took dist/cli/bundle.cache (`accepted`, `rejected`, `none`). */
const CODE_CACHE = Symbol.for('berth.codeCache');

export { StatusError };

interface GlobalOptions {
  host?: string;
  debug: boolean;
  version: boolean;
  help: boolean;
}

const GLOBAL_WITH_VALUE = new Map([
  ['-H', 'host'],
  ['--host', 'host'],
  ['-l', 'log-level'],
  ['--log-level', 'log-level'],
  ['--config', 'config'],
  ['-c', 'context'],
  ['--context', 'context'],
]);

function parseGlobal(argv: readonly string[]): { opts: GlobalOptions; rest: string[] } {
  const opts: GlobalOptions = { debug: false, version: false, help: false };
  let i = 0;
  while (i < argv.length) {
    const a = argv[i] as string;
    if (!a.startsWith('-') || a === '-') break;
    i++;
    if (a === '--') break;
    const eq = a.indexOf('=');
    const name = a.startsWith('--') && eq >= 0 ? a.slice(0, eq) : a.length > 2 && !a.startsWith('--') ? a.slice(0, 2) : a;
    const key = GLOBAL_WITH_VALUE.get(name);
    if (key !== undefined) {
      let value: string;
      if (name !== a) value = a.startsWith('--') ? a.slice(eq + 1) : a.slice(2).replace(/^=/, '');
      else if (i < argv.length) value = argv[i++] as string;
      else throw new UsageError(`flag needs an argument: ${a}`, '');
      if (key === 'host') {
        if (opts.host !== undefined) throw new UsageError('Specify only one -H', '');
        opts.host = value;
      }
      continue;
    }
    if (a === '-D' || a === '--debug') opts.debug = true;
    else if (a === '-v' || a === '--version') opts.version = true;
    else if (a === '-h' || a === '--help') opts.help = true;
    else if (a === '--tls' || a === '--tlsverify') continue;
    else throw new UsageError(a.startsWith('--') ? `unknown flag: ${a.split('=')[0]}` : `unknown shorthand flag: '${a[1]}' in ${a}`, '');
  }
  return { opts, rest: argv.slice(i) };
}

function usageLine(path: string, def: CommandDef): string {
  return `berth ${path} ${def.usage}`.trimEnd();
}

function argCountError(path: string, def: CommandDef, n: number): string | undefined {
  const plural = (k: number) => (k === 1 ? 'argument' : 'arguments');
  const min = def.minArgs ?? 0;
  const max = def.maxArgs;
  let msg: string | undefined;
  if (max === 0 && n > 0) msg = `"berth ${path}" accepts no arguments.`;
  else if (max !== undefined && min === max && n !== min) msg = `"berth ${path}" requires exactly ${min} ${plural(min)}.`;
  else if (n < min) msg = `"berth ${path}" requires at least ${min} ${plural(min)}.`;
  else if (max !== undefined && n > max) msg = `"berth ${path}" requires at most ${max} ${plural(max)}.`;
  if (msg === undefined) return undefined;
  return `${msg}\nSee 'berth ${path} --help'.\n\nUsage:  ${usageLine(path, def)}\n\n${def.description}\n`;
}

/**
 * Runs the berth CLI. `argv` are the arguments after the program name
 * (`process.argv.slice(2)`); resolves to the exit status.
 */
export async function main(argv: string[], io: Partial<CliIo> = {}): Promise<number> {
  const streams = processIo(io);
  if (argv.length >= 2 && argv[0] === process.argv[0] && argv[1] === process.argv[1]) argv = argv.slice(2);
  const out = (s: string) => streams.write(1, s);
  const err = (s: string) => streams.write(2, s);
  let global: { opts: GlobalOptions; rest: string[] };
  try {
    global = parseGlobal(argv);
  } catch (e) {
    err(`${errorMessage(e)}\nSee 'berth --help'.\n`);
    return 125;
  }
  const { opts, rest } = global;
  const codeCache = (globalThis as { [CODE_CACHE]?: string })[CODE_CACHE];
  if ((opts.debug || streams.env.BERTH_DEBUG === '1') && codeCache !== undefined) {
    err(`berth: code cache of the CLI ${codeCache}${codeCache === 'accepted' ? '' : ' (npm run build makes it for this node)'}\n`);
  }
  if (opts.version) {
    out(`berth version ${CLI_VERSION}\n`);
    return 0;
  }
  if (rest.length === 0) {
    out(topLevelHelp());
    return 0;
  }
  const resolved = resolveCommand(rest);
  if (resolved === undefined) {
    const [first, second] = rest;
    if (second !== undefined && first !== undefined && Object.hasOwn(MANAGEMENT, first)) {
      err(`berth: '${first} ${second}' is not a berth command.\nSee 'berth ${first} --help'\n`);
    } else {
      err(`berth: '${first}' is not a berth command.\nSee 'berth --help'\n`);
    }
    return 1;
  }
  if ('management' in resolved) {
    out(managementHelp(resolved.management));
    return 0;
  }
  const def = await resolved.entry.load();
  const path = resolved.path;
  let host: string;
  try {
    host = resolveHost(opts.host, streams.env);
  } catch (e) {
    err(`${formatError(e)}\n`);
    return 1;
  }
  const cli = createCli({ io: streams, host, debug: opts.debug || streams.env.BERTH_DEBUG === '1', autoStart: def.name !== 'daemon' });
  let parsed;
  try {
    parsed = parseArgs(resolved.rest, def.flags, { interspersed: def.interspersed ?? true, command: path });
  } catch (e) {
    err(`${errorMessage(e)}\nSee 'berth ${path} --help'.\n`);
    return 125;
  }
  if (parsed.help || opts.help) {
    out(renderHelp(usageLine(path, def), def.description, [...def.flags].sort((a, b) => (a.long < b.long ? -1 : 1))));
    return 0;
  }
  const countError = argCountError(path, def, parsed.args.length);
  if (countError !== undefined) {
    err(countError);
    return 1;
  }
  try {
    return await def.run(cli, parsed.flags, parsed.args);
  } catch (e) {
    if (e instanceof StatusError) {
      if (e.message !== '') err(`${e.message}\n`);
      return e.status;
    }
    if (e instanceof UsageError) {
      err(`${e.message}\nSee 'berth ${path} --help'.\n`);
      return 125;
    }
    if (e instanceof InvalidFilter) {
      err(`${formatError(e)}\n`);
      return 125;
    }
    err(`${formatError(e)}\n`);
    if (cli.debug && e instanceof Error && e.stack) err(`${e.stack}\n`);
    return def.failureCode ?? 1;
  }
}
