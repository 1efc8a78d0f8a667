import { constants, existsSync, openSync, readFileSync, rmSync, rmdirSync, unlinkSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { Socket } from 'node:net';
import { basename, join } from 'node:path';
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { FailedPrecondition, Internal, NotFound } from '../core/errors.js';
import type { Runner } from './exec.js';
import { run as defaultRun } from './exec.js';

/**
 * The OCI runtime, reached only as binaries: `runc` (or `crun`) for the verbs of the OCI
 * runtime CLI and `conmon` as the per-container monitor that owns the container's stdio,
 * writes its log and its exit code, and outlives a daemon restart.
 */
export interface RuntimeConfig {
  /** runc, crun, or a path. */
  runtime: string;
  /** runc --root: the runtime's own state directory (per daemon, so daemons side by side never meet). */
  stateDir: string;
  conmon: string;
}

export interface MonitorOptions {
  id: string;
  /** Short id used for the attach socket path (socket paths are limited to 108 bytes). */
  shortId: string;
  bundle: string;
  logPath: string;
  logSizeMax?: number;
  exitDir: string;
  socketDir: string;
  pidFile: string;
  conmonPidFile: string;
  tty: boolean;
  stdin: boolean;
  /** For exec sessions: the process.json path; absent for the container's init process. */
  execProcessSpec?: string;
}

export interface RuntimeState {
  id: string;
  pid: number;
  status: 'created' | 'running' | 'paused' | 'stopped' | 'creating';
}

export class OciRuntime {
  constructor(
    readonly config: RuntimeConfig,
    private readonly run: Runner = defaultRun,
  ) {}

  private rt(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
    return this.run(this.config.runtime, ['--root', this.config.stateDir, ...args]);
  }

  /**
   * Starts conmon, which runs `runc create` (or `runc exec` for exec sessions) and reports
   * the container pid, or the runtime's error, on its sync pipe. Resolves with the pid.
   */
  spawnMonitor(o: MonitorOptions): Promise<number> {
    const args = [
      '--api-version', '1',
      '-c', o.id,
      '-u', o.shortId,
      '-n', o.id,
      '-r', this.config.runtime,
      '--runtime-arg', `--root=${this.config.stateDir}`,
      '-b', o.bundle,
      '-p', o.pidFile,
      '-P', o.conmonPidFile,
      '-l', `k8s-file:${o.logPath}`,
      '--exit-dir', o.exitDir,
      '--socket-dir-path', o.socketDir,
      '--log-level', 'error',
      '--no-sync-log',
    ];
    if (o.logSizeMax !== undefined && o.logSizeMax > 0) args.push('--log-size-max', String(o.logSizeMax));
    if (o.tty) args.push('-t');
    if (o.stdin) args.push('-i');
    if (o.execProcessSpec !== undefined) args.push('-e', '--exec-process-spec', o.execProcessSpec);
    return new Promise((resolve, reject) => {
      const child = spawn(this.config.conmon, args, {
        stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
        env: { ...process.env, _OCI_SYNCPIPE: '3' },
        detached: true,
      });
      const sync = child.stdio[3] as Readable;
      let buf = '';
      let stderr = '';
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        sync.destroy();
        child.stderr?.destroy();
        child.unref();
        fn();
      };
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      sync.on('data', (d: Buffer) => {
        buf += d.toString();
        const nl = buf.indexOf('\n');
        const text = nl >= 0 ? buf.slice(0, nl) : buf;
        let msg: { data?: number; message?: string };
        try {
          msg = JSON.parse(text) as { data?: number; message?: string };
        } catch {
          return; // incomplete message, wait for more
        }
        if (typeof msg.data === 'number' && msg.data > 0) settle(() => resolve(msg.data as number));
        else settle(() => reject(new FailedPrecondition(runtimeMessage(msg.message ?? 'unknown error', o.execProcessSpec !== undefined))));
      });
      child.on('error', (e) => settle(() => reject(new Internal(`conmon: ${e.message}`, { cause: e }))));
      sync.on('close', () =>
        settle(() => reject(new Internal(`conmon exited before reporting: ${stderr.trim() || 'no output'}`))),
      );
    });
  }

  /**
   * Starts a created container. With runc, the daemon does what `runc start` does itself
   * (runc's libcontainer `exec()`): `runc create` leaves the container's init process
   * blocked opening `<state>/<id>/exec.fifo` for writing; reading that fifo to its end lets
   * the init exec the user's process, and removing it marks the container running. That
   * spares a Go process per start (~15 ms of CPU; bench/README.md). Whenever that path is
   * not certain (another runtime, no fifo, the init gone, nothing read), `runc start` runs
   * and gives its own answer and error.
   */
  async start(id: string, initPid?: number): Promise<void> {
    if (initPid !== undefined && basename(this.config.runtime) === 'runc') {
      const started = await startThroughFifo(join(this.config.stateDir, id, EXEC_FIFO), initPid).catch(() => false);
      if (started) return;
    }
    await this.rt(['start', id]);
  }

  async kill(id: string, signal: string, all = false): Promise<void> {
    try {
      await this.rt(all ? ['kill', '--all', id, signal] : ['kill', id, signal]);
    } catch (e) {
      if (/not running|container does not exist|process already finished/.test(String(e))) return;
      throw e;
    }
  }

  /**
   * Deletes the runtime's container; with no state of it (the usual case before a start), no
   * process is spawned. A runc container whose init has ended is deleted as runc would delete
   * it, without a runc process (`removeEndedState`); anything else goes to `runc delete --force`.
   */
  async delete(id: string): Promise<void> {
    const dir = join(this.config.stateDir, id);
    if (!existsSync(dir)) return;
    if (basename(this.config.runtime) === 'runc' && (await removeEndedState(dir).catch(() => false))) return;
    await this.run(this.config.runtime, ['--root', this.config.stateDir, 'delete', '--force', id], { allowFailure: true });
  }

  async state(id: string): Promise<RuntimeState | undefined> {
    const r = await this.run(this.config.runtime, ['--root', this.config.stateDir, 'state', id], { allowFailure: true });
    if (r.code !== 0) return undefined;
    return JSON.parse(r.stdout) as RuntimeState;
  }

  /** Changes a running container's cgroup limits (`runc update --resources -`, OCI `linux.resources`). */
  async update(id: string, resources: Record<string, unknown>): Promise<void> {
    await this.run(this.config.runtime, ['--root', this.config.stateDir, 'update', '--resources', '-', id], { input: JSON.stringify(resources) });
  }

  async pause(id: string): Promise<void> {
    await this.rt(['pause', id]);
  }

  async resume(id: string): Promise<void> {
    await this.rt(['resume', id]);
  }

  async ps(id: string): Promise<number[]> {
    const r = await this.rt(['ps', '--format', 'json', id]);
    return (JSON.parse(r.stdout) as number[] | null) ?? [];
  }

  /** One sample of the container's cgroup statistics (`runc events --stats`). */
  async stats(id: string): Promise<RuncStats> {
    const r = await this.run(this.config.runtime, ['--root', this.config.stateDir, 'events', '--stats', id], { allowFailure: true });
    if (r.code !== 0) throw new NotFound(`container ${id} is not running`);
    return (JSON.parse(r.stdout) as { data: RuncStats }).data;
  }

  async list(): Promise<RuntimeState[]> {
    const r = await this.run(this.config.runtime, ['--root', this.config.stateDir, 'list', '--format', 'json'], { allowFailure: true });
    if (r.code !== 0) return [];
    return (JSON.parse(r.stdout) as RuntimeState[] | null) ?? [];
  }
}

/** runc's start fifo in a container's state directory (libcontainer `execFifoFilename`). */
const EXEC_FIFO = 'exec.fifo';

/**
 * Opens the start fifo for reading (non-blocking, so a missing writer never holds a thread),
 * reads it to its end while checking every 100 ms that the init process still lives (as
 * runc does), and removes it. True when the init wrote its byte: it has exec'd the user's
 * process (or failed doing so, which the monitor reports as the process's exit).
 */
export async function startThroughFifo(fifo: string, initPid: number): Promise<boolean> {
  let fd: number;
  try {
    fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return false;
  }
  const sock = new Socket({ fd, readable: true, writable: false });
  const got = await new Promise<number>((resolve) => {
    let n = 0;
    const alive = setInterval(() => {
      if (!processAlive(initPid)) done();
    }, 100);
    function done(): void {
      clearInterval(alive);
      sock.destroy();
      resolve(n);
    }
    sock.on('data', (d: Buffer) => (n += d.length));
    sock.once('end', done);
    sock.once('error', done);
  });
  if (got === 0) return false;
  try {
    unlinkSync(fifo);
  } catch {
    // runc's own start removes it too; its absence is what marks the container running
  }
  return true;
}

/** The parts of runc's `state.json` (libcontainer `State`) that deleting an ended container needs. */
interface RuncStateFile {
  init_process_pid?: number;
  init_process_start?: number;
  cgroup_paths?: Record<string, string>;
  intel_rdt_path?: string | null;
  config?: {
    namespaces?: { type: string; path?: string }[] | null;
    hooks?: Record<string, unknown[] | null> | null;
    cgroups?: { Systemd?: boolean } | null;
  };
}

/**
 * What `runc delete` does for a container whose init process has ended (libcontainer's
 * `destroy`): remove its cgroups, then its state directory. Saves a Go process (~10 ms of CPU)
 * on every container exit. True when done; false, with nothing removed but possibly some
 * empty cgroups, whenever runc itself should decide: the init still runs (created, running,
 * paused), the container shares a pid namespace (runc then kills what is left in its
 * cgroup), hooks or Intel RDT to undo, systemd-managed cgroups, a cgroup that has cgroups of
 * its own or keeps processes.
 */
export async function removeEndedState(dir: string): Promise<boolean> {
  // A few small files on tmpfs and cgroupfs directories, each call some microseconds: done
  // synchronously, rather than a dozen round trips through the thread pool on every exit.
  const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as RuncStateFile;
  const cfg = state.config;
  if (cfg === undefined || cfg.cgroups?.Systemd === true || (state.intel_rdt_path ?? '') !== '') return false;
  if (Object.values(cfg.hooks ?? {}).some((h) => (h?.length ?? 0) > 0)) return false;
  if (!(cfg.namespaces ?? []).some((n) => n.type === 'NEWPID' && (n.path ?? '') === '')) return false;
  if (state.init_process_pid === undefined || initAlive(state.init_process_pid, state.init_process_start)) return false;
  // One cgroup per hierarchy (a dozen on cgroup v1): a process still leaving one is waited
  // for while the others go.
  const removed = await Promise.all(Object.values(state.cgroup_paths ?? {}).map((path) => removeCgroup(path)));
  if (removed.includes(false)) return false;
  rmSync(dir, { recursive: true, force: true });
  return true;
}

/**
 * rmdir of one leaf cgroup. The processes of an ended pid namespace may take a moment to
 * leave it (EBUSY): a few tries, 10 to 80 ms apart, as runc's own `RemovePath` does.
 */
async function removeCgroup(path: string): Promise<boolean> {
  for (let delay = 10; ; delay *= 2) {
    try {
      rmdirSync(path);
      return true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return true;
      if (code !== 'EBUSY' || delay > 80) return false;
      const children = await readdir(path, { withFileTypes: true }).catch(() => []);
      if (children.some((c) => c.isDirectory())) return false;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

/** Whether the container's init still exists: its pid, with the start time runc recorded. */
function initAlive(pid: number, start: number | undefined): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is the state (field 3 of proc(5)); the start time is field 22.
    return start === undefined || fields[19] === String(start);
  } catch {
    return false;
  }
}

/** Whether a process exists and is not a zombie. */
function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export interface RuncStats {
  cpu?: { usage?: { total?: number; percpu?: number[]; kernel?: number; user?: number }; throttling?: Record<string, number> };
  memory?: { usage?: { usage?: number; limit?: number; max?: number }; cache?: number; raw?: Record<string, number> };
  pids?: { current?: number; limit?: number };
  blkio?: Record<string, unknown>;
}

/** Turns runc's logrus line into the text Docker users know. */
export function runtimeMessage(raw: string, exec: boolean): string {
  const m = /msg="((?:[^"\\]|\\.)*)"/.exec(raw);
  const text = (m?.[1] ?? raw).replace(/\\"/g, '"').replace(/\\\\/g, '\\').trim();
  return `OCI runtime ${exec ? 'exec' : 'create'} failed: ${text}: unknown`;
}
