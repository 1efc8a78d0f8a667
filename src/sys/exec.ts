import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { Internal } from '../core/errors.js';
import type { CommandServer } from './cmdserver.js';

/**
 * The one door through which berth runs host programs (runc, conmon, mount, ...).
 * Every call goes through `run`, so a fake can record argv and tests can assert on it.
 */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  signal?: AbortSignal;
  input?: string | Buffer;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Resolve with the result instead of throwing on a non-zero exit. */
  allowFailure?: boolean;
  /** Variables added to the command's environment. */
  setEnv?: Readonly<Record<string, string>>;
  /** A file the command gets as its fd 3, opened for writing (created or emptied): conmon's sync pipe. */
  fd3File?: string;
}

export type Runner = (cmd: string, args: readonly string[], opts?: RunOptions) => Promise<CommandResult>;

let server: CommandServer | undefined;

/**
 * Sends `run`'s commands through a command server (the daemon does, see cmdserver.ts);
 * undefined goes back to forking this process for each one.
 */
export function useCommandServer(s: CommandServer | undefined): void {
  server = s;
}

export const run: Runner = (cmd, args, opts = {}) =>
  server !== undefined && opts.env === undefined && opts.signal === undefined ? server.run(cmd, args, opts) : spawnRun(cmd, args, opts);

/** One child process forked from this one. */
export const spawnRun: Runner = (cmd, args, opts = {}) =>
  new Promise((resolve, reject) => {
    let fd3: number | undefined;
    try {
      if (opts.fd3File !== undefined) fd3 = openSync(opts.fd3File, 'w');
    } catch (e) {
      reject(new Internal(`${cmd}: ${opts.fd3File}: ${(e as Error).message}`, { cause: e }));
      return;
    }
    const child = spawn(cmd, args, {
      stdio: [opts.input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe', ...(fd3 !== undefined ? [fd3] : [])],
      cwd: opts.cwd,
      env: opts.setEnv !== undefined ? { ...(opts.env ?? process.env), ...opts.setEnv } : (opts.env ?? process.env),
      signal: opts.signal,
    });
    if (fd3 !== undefined) closeSync(fd3);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (d: Buffer) => out.push(d));
    child.stderr?.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e) => reject(new Internal(`${cmd}: ${e.message}`, { cause: e })));
    child.on('close', (code, sig) => {
      const result = {
        code: code ?? (sig !== null ? 128 : 1),
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
      };
      if (result.code !== 0 && opts.allowFailure !== true) {
        reject(new Internal(`${cmd} ${args.join(' ')}: ${result.stderr.trim() || `exit status ${result.code}`}`));
      } else resolve(result);
    });
    if (opts.input !== undefined && child.stdin) child.stdin.end(opts.input);
  });

/** A runner that records calls and answers from a table; for unit tests of code above sys. */
export function fakeRunner(answer: (cmd: string, args: readonly string[]) => Partial<CommandResult> = () => ({})) {
  const calls: { cmd: string; args: readonly string[]; input?: string }[] = [];
  const runner: Runner = async (cmd, args, opts = {}) => {
    calls.push({ cmd, args, ...(opts.input !== undefined ? { input: String(opts.input) } : {}) });
    return { code: 0, stdout: '', stderr: '', ...answer(cmd, args) };
  };
  return { runner, calls };
}
