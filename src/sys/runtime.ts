import { constants, existsSync, openSync, readFileSync, rmSync, rmdirSync, unlinkSync, watch, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { Socket } from 'node:net';
import { basename, join } from 'node:path';
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
   *
   * conmon is started like the other host programs (`run`: through the daemon's command
   * shells, sys/cmdserver.ts), not forked from the daemon: a fork of the daemon blocks its
   * event loop for the copy of its page tables, ~9 ms a start when fifty start at once. Its
   * "pipe" is then a file, `conmon.sync` in the bundle: the process that was started exits
   * once conmon has daemonized, and conmon writes the pid there when the runtime has
   * answered, seen through inotify (and a look every 100 ms, which also notices a conmon
   * that ended without a word).
   */
  async spawnMonitor(o: MonitorOptions): Promise<number> {
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
    const exec = o.execProcessSpec !== undefined;
    const syncFile = join(o.bundle, 'conmon.sync');
    writeFileSync(syncFile, '');
    return new Promise<number>((resolve, reject) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      let parentExited = 0;
      const watcher = watch(syncFile, () => check());
      watcher.on('error', () => undefined);
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        watcher.close();
        if (timer) clearInterval(timer);
        fn();
      };
      /** The first message conmon wrote, if it is all there. */
      const check = (): boolean => {
        if (settled) return true;
        let text: string;
        try {
          text = readFileSync(syncFile, 'utf8');
        } catch {
          return false;
        }
        const nl = text.indexOf('\n');
        let msg: { data?: number; message?: string };
        try {
          msg = JSON.parse(nl >= 0 ? text.slice(0, nl) : text) as { data?: number; message?: string };
        } catch {
          return false; // nothing yet, or not all of it
        }
        if (typeof msg.data === 'number' && msg.data > 0) settle(() => resolve(msg.data as number));
        else settle(() => reject(new FailedPrecondition(runtimeMessage(msg.message ?? 'unknown error', exec))));
        return true;
      };
      const alive = (): boolean => {
        try {
          const pid = Number(readFileSync(o.conmonPidFile, 'utf8').trim());
          if (!(pid > 0)) return Date.now() - parentExited < 5000;
          process.kill(pid, 0);
          return true;
        } catch (e) {
          // No pid file yet: give conmon its time to write one; EPERM: it is there.
          if ((e as NodeJS.ErrnoException).code === 'EPERM') return true;
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') return Date.now() - parentExited < 5000;
          return false;
        }
      };
      this.run(this.config.conmon, args, { setEnv: { _OCI_SYNCPIPE: '3' }, fd3File: syncFile, allowFailure: true }).then(
        (r) => {
          if (check()) return;
          if (r.code !== 0) {
            settle(() => reject(new Internal(`conmon exited before reporting: ${r.stderr.trim() || `exit status ${r.code}`}`)));
            return;
          }
          parentExited = Date.now();
          timer = setInterval(() => {
            if (check()) return;
            if (!alive() && !check()) settle(() => reject(new Internal('conmon exited before reporting: no output')));
          }, 100);
        },
        (e: unknown) => settle(() => reject(new Internal(`conmon: ${(e as Error).message}`, { cause: e }))),
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
