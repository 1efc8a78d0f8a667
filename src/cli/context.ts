/**
 * What every command gets: the resolved daemon socket, a lazily created client
 * (with daemon auto-start on connection failure), the process streams and helpers
 * for docker-style output and error reporting.
 */
import type { Readable, Writable } from 'node:stream';
import { EngineClient, isDaemonError } from '../client/index.js';
import { errorMessage } from '../core/errors.js';
import type { FlagDef, Flags } from './args.js';

export interface CliIo {
  stdout: Writable & { isTTY?: boolean; columns?: number; rows?: number };
  stderr: Writable;
  /** Lazy: touching `process.stdin` creates a handle, so commands ask for it only when needed. */
  stdin: () => Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  env: NodeJS.ProcessEnv;
  /**
   * Text to stdout (1) or stderr (2). The process's io writes it on the descriptor, without
   * node's streams (`./stdio.ts`); without it, `stdout`/`stderr` take it.
   */
  write?: (fd: 1 | 2, text: string) => void;
}

export interface Cli {
  readonly io: CliIo;
  /** The daemon's socket path. */
  readonly host: string;
  readonly debug: boolean;
  client(): EngineClient;
  out(text: string): void;
  err(text: string): void;
}

/** A berth command: docker's flags, arguments and behaviour. */
export interface CommandDef {
  /** Command path as docker names it (`run`, `container prune`). */
  name: string;
  /** Usage after the command path: `[OPTIONS] IMAGE [COMMAND] [ARG...]`. */
  usage: string;
  description: string;
  flags: readonly FlagDef[];
  /** false: flags end at the first positional (run, create, exec, top). */
  interspersed?: boolean;
  minArgs?: number;
  maxArgs?: number;
  /** Exit code when the command fails (125 for run/create, like docker). */
  failureCode?: number;
  run(cli: Cli, flags: Flags, args: string[]): Promise<number>;
}

/** Exit status a command asked for (docker's `StatusError`), with an optional message for stderr. */
export class StatusError extends Error {
  constructor(
    readonly status: number,
    message = '',
  ) {
    super(message);
    this.name = 'StatusError';
  }
}

export interface CliOptions {
  io: CliIo;
  host: string;
  debug: boolean;
  autoStart: boolean;
}

export function createCli(o: CliOptions): Cli {
  let client: EngineClient | undefined;
  let attempted = false;
  return {
    io: o.io,
    host: o.host,
    debug: o.debug,
    client() {
      client ??= new EngineClient({
        socketPath: o.host,
        ...(o.autoStart
          ? {
              onConnectError: async () => {
                if (attempted) return false;
                attempted = true;
                const { startDaemon } = await import('./autostart.js');
                return startDaemon(o.host, o.io.env);
              },
            }
          : {}),
      });
      return client;
    },
    out(text) {
      if (o.io.write !== undefined) o.io.write(1, text);
      else o.io.stdout.write(text);
    },
    err(text) {
      if (o.io.write !== undefined) o.io.write(2, text);
      else o.io.stderr.write(text);
    },
  };
}

/** How an error is shown: the daemon's own message after docker's prefix, else `berth: ...`. */
export function formatError(e: unknown): string {
  if (isDaemonError(e)) return `Error response from daemon: ${e.message}`;
  return `berth: ${errorMessage(e)}`;
}

/**
 * Runs `fn` for each target in parallel (like docker's parallel operations), printing
 * what `fn` returns (usually the name) in order and each error on stderr; exit 1 if any failed.
 */
export async function forEachTarget(cli: Cli, targets: readonly string[], fn: (t: string) => Promise<string | undefined>): Promise<number> {
  const results = await Promise.allSettled(targets.map((t) => fn(t)));
  let failed = false;
  for (const r of results) {
    if (r.status === 'fulfilled') {
      if (r.value !== undefined) cli.out(`${r.value}\n`);
    } else {
      failed = true;
      cli.err(`${formatError(r.reason)}\n`);
    }
  }
  return failed ? 1 : 0;
}

/** docker's `PromptForConfirmation`: `message [y/N] `, true only for y/Y. */
export async function confirm(cli: Cli, message: string): Promise<boolean> {
  cli.out(`${message} [y/N] `);
  const stdin = cli.io.stdin();
  const answer = await new Promise<string>((resolve) => {
    let buf = '';
    const done = () => {
      stdin.off('data', onData);
      stdin.off('end', done);
      stdin.pause();
      resolve(buf);
    };
    const onData = (d: Buffer | string) => {
      buf += d.toString();
      if (buf.includes('\n')) done();
    };
    stdin.on('data', onData);
    stdin.once('end', done);
    stdin.resume();
  });
  // Like docker 28, nothing more is printed: a terminal has echoed the answer's newline.
  const a = answer.split('\n')[0]?.trim() ?? '';
  return a === 'y' || a === 'Y';
}

/** Parses `--filter key=value` values into the Engine API's filters JSON (`{"key":{"value":true}}`). */
export function filtersJson(values: readonly string[], extra: Record<string, string[]> = {}): string | undefined {
  const out: Record<string, Record<string, boolean>> = {};
  const add = (k: string, v: string) => {
    (out[k] ??= {})[v] = true;
  };
  for (const f of values) {
    const eq = f.indexOf('=');
    if (eq < 0) throw new InvalidFilter(f);
    add(f.slice(0, eq).trim().toLowerCase(), f.slice(eq + 1));
  }
  for (const [k, vs] of Object.entries(extra)) for (const v of vs) add(k, v);
  return Object.keys(out).length > 0 ? JSON.stringify(out) : undefined;
}

export class InvalidFilter extends Error {
  constructor(value: string) {
    super(`bad format of filter (expected name=value): ${value}`);
  }
}

/** Writes a stream (tar archives) to a file atomically or to stdout; refuses a terminal like docker. */
export async function copyToOutput(cli: Cli, src: Readable, file: string | undefined): Promise<void> {
  const { pipeline } = await import('node:stream/promises');
  if (file === undefined || file === '' || file === '-') {
    if (cli.io.stdout.isTTY) {
      src.destroy();
      throw new Error('cowardly refusing to save to a terminal. Use the -o flag or redirect');
    }
    await pipeline(src, cli.io.stdout, { end: false });
    return;
  }
  const fs = await import('node:fs');
  const path = await import('node:path');
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    await pipeline(src, fs.createWriteStream(tmp));
    await fs.promises.rename(tmp, file);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true });
    throw new Error(`failed to save: ${errorMessage(e)}`);
  }
}
