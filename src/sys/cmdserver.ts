import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { Internal, errorMessage } from '../core/errors.js';
import type { CommandResult, RunOptions } from './exec.js';

/**
 * Runs host programs through a few long-lived `sh` processes instead of forking the daemon.
 *
 * Forking copies the page tables of the whole process and blocks node's main thread until
 * the child has exec'd: for a daemon of 60–100 MB that is 2–5 ms a command, and 7 ms and more
 * when fifty containers start at once on two busy cores (measured; bench/README.md). A shell
 * of a few hundred kilobytes forks in a fraction of that, on its own time, while the daemon
 * goes on serving. Each lane runs one command at a time: the daemon writes one line —
 * the quoted argv, stdin and stdout/stderr redirected to the lane's own files in `dir` (under
 * the exec root, a tmpfs) and an `echo` of the exit status — reads the status line back,
 * then the output files. Lanes are
 * started on demand up to `maxLanes` and end after `idleMs` without work.
 */
export interface CommandServerOptions {
  /** Scratch directory for the commands' input and output files (tmpfs: under the exec root). */
  dir: string;
  maxLanes?: number;
  idleMs?: number;
  shell?: string;
  /** Called after each command with its start and end (performance.now()), for tracing. */
  trace?: (what: string, start: number, end: number) => void;
}

interface Job {
  n: number;
  /** The quoted command, without redirections. */
  body: string;
  input?: string | Buffer;
  resolve: (r: { code: number; stdout: string; stderr: string }) => void;
  reject: (e: Error) => void;
}

interface Lane {
  proc: ChildProcessByStdio<Writable, Readable, null>;
  /** The lane's own input and output files, rewritten by each of its commands. */
  files: { in: string; out: string; err: string };
  busy?: Job;
  buf: string;
  idleTimer?: NodeJS.Timeout;
}

export class CommandServer {
  private readonly lanes = new Set<Lane>();
  private readonly queue: Job[] = [];
  private seq = 0;
  private laneSeq = 0;
  private closed = false;
  private readonly maxLanes: number;
  private readonly idleMs: number;

  constructor(private readonly o: CommandServerOptions) {
    this.maxLanes = o.maxLanes ?? 8;
    this.idleMs = o.idleMs ?? 30_000;
    rmSync(o.dir, { recursive: true, force: true }); // what a daemon that was killed left
    mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  }

  async run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
    if (this.closed) throw new Internal(`${cmd}: the command server is closed`);
    // Variables for the command alone (`NAME=value cmd`), its fd 3 after the arguments (`3>file`).
    const assigned = Object.entries(opts.setEnv ?? {}).map(([k, v]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Internal(`${cmd}: not a variable name: ${k}`);
      return `${k}=${shellQuote(v)} `;
    });
    const fd3 = opts.fd3File !== undefined ? ` 3>${shellQuote(opts.fd3File)}` : '';
    const argv = `${assigned.join('')}${[cmd, ...args].map(shellQuote).join(' ')}${fd3}`;
    const t0 = performance.now();
    try {
      const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
        this.queue.push({
          n: ++this.seq,
          body: opts.cwd !== undefined ? `(cd ${shellQuote(opts.cwd)} && ${assigned.length > 0 ? argv : `exec ${argv}`})` : argv,
          ...(opts.input !== undefined ? { input: opts.input } : {}),
          resolve,
          reject,
        });
        this.pump();
      });
      // 127: the shell could not find the program, as spawn's ENOENT.
      if (code === 127 && stderr.includes(`: ${cmd}: not found`)) throw new Internal(`${cmd}: spawn ${cmd} ENOENT`);
      if (code !== 0 && opts.allowFailure !== true) throw new Internal(`${cmd} ${args.join(' ')}: ${stderr.trim() || `exit status ${code}`}`);
      return { code, stdout, stderr };
    } finally {
      this.o.trace?.(`${cmd} ${args.slice(0, 4).join(' ')}`, t0, performance.now());
    }
  }

  /** Ends every lane; commands still queued fail. */
  close(): void {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new Internal('the command server is closed'));
    for (const lane of this.lanes) this.endLane(lane);
    rmSync(this.o.dir, { recursive: true, force: true });
  }

  private pump(): void {
    while (this.queue.length > 0) {
      let lane = [...this.lanes].find((l) => l.busy === undefined);
      if (lane === undefined) {
        if (this.lanes.size >= this.maxLanes) return;
        lane = this.startLane();
      }
      const job = this.queue.shift() as Job;
      if (lane.idleTimer) clearTimeout(lane.idleTimer);
      delete lane.idleTimer;
      lane.busy = job;
      const f = lane.files;
      let stdin = '/dev/null';
      if (job.input !== undefined) {
        try {
          writeFileSync(f.in, job.input); // small (ip -batch, iptables-restore input), on the exec root
        } catch (e) {
          delete lane.busy;
          job.reject(new Internal(`command input: ${errorMessage(e)}`));
          continue;
        }
        stdin = shellQuote(f.in);
      }
      lane.proc.stdin.write(`${job.body} <${stdin} >${shellQuote(f.out)} 2>${shellQuote(f.err)}; echo "@ ${job.n} $?"\n`);
    }
  }

  private startLane(): Lane {
    const proc = spawn(this.o.shell ?? '/bin/sh', [], { stdio: ['pipe', 'pipe', 'ignore'] });
    const base = join(this.o.dir, `lane-${++this.laneSeq}`);
    const lane: Lane = { proc, buf: '', files: { in: `${base}.in`, out: `${base}.out`, err: `${base}.err` } };
    this.lanes.add(lane);
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (d: string) => {
      lane.buf += d;
      let i;
      while ((i = lane.buf.indexOf('\n')) >= 0) {
        const m = /^@ (\d+) (\d+)$/.exec(lane.buf.slice(0, i));
        lane.buf = lane.buf.slice(i + 1);
        const job = lane.busy;
        if (!m || job === undefined || Number(m[1]) !== job.n) continue;
        delete lane.busy;
        // Small files on the exec root, just written: read at once rather than through the thread pool.
        job.resolve({ code: Number(m[2]), stdout: readOr(lane.files.out), stderr: readOr(lane.files.err) });
        lane.idleTimer = setTimeout(() => this.endLane(lane), this.idleMs).unref();
      }
      this.pump();
    });
    const lost = (why: string) => {
      if (!this.lanes.delete(lane)) return;
      if (lane.idleTimer) clearTimeout(lane.idleTimer);
      lane.busy?.reject(new Internal(`command shell ${why}`));
      this.pump();
    };
    proc.on('error', (e) => lost(`failed: ${e.message}`));
    proc.on('exit', (code, sig) => lost(`exited (${sig ?? code})`));
    proc.stdin.on('error', () => undefined);
    return lane;
  }

  private endLane(lane: Lane): void {
    if (!this.lanes.delete(lane)) return;
    if (lane.idleTimer) clearTimeout(lane.idleTimer);
    lane.busy?.reject(new Internal('the command server is closed'));
    lane.proc.stdin.end();
    for (const f of Object.values(lane.files)) rmSync(f, { force: true });
  }
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** One word for a POSIX shell: single-quoted, with `'` written as `'\''`. */
export function shellQuote(s: string): string {
  if (s.includes('\0')) throw new Internal('an argument contains a NUL byte');
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
