import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgument, NotFound, errorMessage } from '../../core/errors.js';
import type { OciRuntime } from '../../sys/runtime.js';
import type { EventBus } from '../events/bus.js';
import { exitCodeForError, type ContainerService } from './service.js';
import { readContainerFile } from './archive.js';
import { resolveUser } from './spec.js';
import { ContainerView } from './view.js';
import type { ContainerRecord } from './types.js';

/**
 * Exec sessions. Each runs under its own conmon (`conmon --exec`), with a bundle directory
 * of its own for the attach socket, control FIFO, log and exit file, so a session behaves
 * like a small container: output read from its log, stdin through its attach socket.
 */
export interface ExecConfig {
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  DetachKeys?: string;
  Tty?: boolean;
  Env?: string[] | null;
  Cmd?: string[];
  Privileged?: boolean;
  User?: string;
  WorkingDir?: string;
  ConsoleSize?: [number, number] | null;
}

export interface ExecSession {
  id: string;
  containerId: string;
  config: ExecConfig;
  running: boolean;
  exitCode: number | null;
  pid: number;
  dir: string;
  exited: Promise<void>;
  resolveExit: () => void;
}

/** The command as Docker's exec events name it: the program, a space, its arguments (`exec_create: true ` for `true`). */
export function execAction(cmd: readonly string[]): string {
  return `${cmd[0] ?? ''} ${cmd.slice(1).join(' ')}`;
}

export class ExecService {
  private readonly sessions = new Map<string, ExecSession>();

  constructor(
    private readonly containers: ContainerService,
    private readonly runtime: OciRuntime,
    private readonly events: EventBus,
  ) {
    // A removed container's exec instances go with it, as Docker's do (not five minutes later).
    events.subscribe((e) => {
      if (e.Type !== 'container' || e.Action !== 'destroy') return;
      for (const s of this.sessions.values()) if (s.containerId === e.Actor.ID && !s.running) this.forget(s);
    });
  }

  private forget(s: ExecSession): void {
    this.sessions.delete(s.id);
    void rm(s.dir, { recursive: true, force: true });
    void rm(join(this.containers.socketDir, `x${s.id.slice(0, 11)}`), { force: true });
  }

  create(containerIdOrName: string, config: ExecConfig): string {
    const rec = this.containers.get(containerIdOrName);
    this.containers.assertRunning(rec);
    if (!config.Cmd || config.Cmd.length === 0) throw new InvalidArgument('No exec command specified');
    const id = randomBytes(32).toString('hex');
    let resolveExit!: () => void;
    const exited = new Promise<void>((r) => (resolveExit = r));
    const dir = join(this.containers.bundles, `x${id.slice(0, 11)}`);
    this.sessions.set(id, { id, containerId: rec.id, config, running: false, exitCode: null, pid: 0, dir, exited, resolveExit });
    this.events.publish('container', `exec_create: ${execAction(config.Cmd)}`, rec.id, this.containers.attrs(rec, { execID: id }));
    return id;
  }

  get(id: string): ExecSession {
    const s = this.sessions.get(id);
    if (!s) throw new NotFound(`No such exec instance: ${id}`);
    return s;
  }

  idsFor(containerId: string): string[] {
    return [...this.sessions.values()].filter((s) => s.containerId === containerId).map((s) => s.id);
  }

  logPath(s: ExecSession): string {
    return join(s.dir, 'exec.log');
  }

  /** Starts the session; resolves once the process runs. `exited` resolves when it ends. */
  async start(id: string, opts: { tty?: boolean; stdin?: NodeJS.ReadableStream }): Promise<ExecSession> {
    const s = this.get(id);
    if (s.running || s.exitCode !== null) throw new InvalidArgument(`exec ${id} has already been started`);
    const rec = this.containers.get(s.containerId);
    this.containers.assertRunning(rec);
    const spec = JSON.parse(await readFile(join(this.containers.bundle(rec.id), 'config.json'), 'utf8')) as {
      process: Record<string, unknown> & { env: string[]; user: unknown; cwd: string; capabilities: unknown };
      root: { path: string };
    };
    const tty = opts.tty ?? s.config.Tty === true;
    const process: Record<string, unknown> = { ...spec.process, terminal: tty, args: s.config.Cmd ?? [], env: mergeEnv(spec.process.env, s.config.Env ?? []) };
    if (s.config.WorkingDir) process.cwd = s.config.WorkingDir;
    if (s.config.Privileged === true) {
      // As Docker's exec --privileged: every capability for this process, whatever the container has.
      const caps = this.containers.privilegedCapabilities();
      process.capabilities = { bounding: caps, effective: caps, permitted: caps };
    }
    if (s.config.ConsoleSize) process.consoleSize = { height: s.config.ConsoleSize[0], width: s.config.ConsoleSize[1] };
    let pid: number;
    try {
      if (s.config.User) {
        // Read inside the container's root: its symlinks must not lead to the host's files.
        const view = await ContainerView.open({ root: spec.root.path });
        let u;
        try {
          u = resolveUser(s.config.User, (await readContainerFile(view, '/etc/passwd')) ?? '', (await readContainerFile(view, '/etc/group')) ?? '', rec.hostConfig.GroupAdd ?? []);
        } finally {
          view.close();
        }
        process.user = { uid: u.uid, gid: u.gid, ...(u.additionalGids.length > 0 ? { additionalGids: u.additionalGids } : {}) };
      }
      pid = await this.spawn(s, rec, tty, opts.stdin !== undefined, process);
    } catch (e) {
      // The process never ran: the session ends with Docker's exit code for that.
      s.exitCode = exitCodeForError(errorMessage(e), 126);
      s.running = false;
      this.events.publish('container', 'exec_die', rec.id, this.containers.attrs(rec, { execID: s.id, exitCode: String(s.exitCode) }));
      s.resolveExit();
      throw e;
    }
    s.pid = pid;
    s.running = true;
    this.events.publish('container', `exec_start: ${execAction(s.config.Cmd ?? [])}`, rec.id, this.containers.attrs(rec, { execID: id }));
    if (opts.stdin) {
      const child = spawn('socat', ['STDIO', `UNIX-CONNECT:${join(s.dir, 'attach')},type=5`], { stdio: ['pipe', 'ignore', 'ignore'] });
      child.on('error', () => undefined);
      child.stdin.on('error', () => undefined);
      opts.stdin.pipe(child.stdin);
    }
    void this.watchExit(s, rec);
    return s;
  }

  private async spawn(s: ExecSession, rec: ContainerRecord, tty: boolean, stdin: boolean, process: Record<string, unknown>): Promise<number> {
    await rm(s.dir, { recursive: true, force: true });
    await mkdir(join(s.dir, 'exits'), { recursive: true });
    await writeFile(join(s.dir, 'process.json'), JSON.stringify(process));
    return this.runtime.spawnMonitor({
      id: rec.id,
      shortId: `x${s.id.slice(0, 11)}`,
      bundle: s.dir,
      logPath: this.logPath(s),
      exitDir: join(s.dir, 'exits'),
      socketDir: this.containers.socketDir,
      pidFile: join(s.dir, 'pid'),
      conmonPidFile: join(s.dir, 'conmon.pid'),
      tty,
      stdin,
      execProcessSpec: join(s.dir, 'process.json'),
    });
  }

  private async watchExit(s: ExecSession, rec: ContainerRecord): Promise<void> {
    const file = join(s.dir, 'exits', rec.id);
    const { watch } = await import('node:fs');
    await new Promise<void>((resolve) => {
      const w = watch(join(s.dir, 'exits'), () => void check());
      const t = setInterval(() => void check(), 500);
      const check = async () => {
        const raw = await readFile(file, 'utf8').catch(() => undefined);
        if (raw === undefined || raw.trim() === '') return;
        w.close();
        clearInterval(t);
        s.exitCode = Number(raw.trim());
        resolve();
      };
      void check();
      // A container that stops ends its exec sessions too.
      void this.containers.exited(rec.id).then(() => setTimeout(() => void check().then(() => {
        if (s.exitCode === null) {
          w.close();
          clearInterval(t);
          s.exitCode = 137;
          resolve();
        }
      }), 500));
    });
    s.running = false;
    this.events.publish('container', 'exec_die', rec.id, this.containers.attrs(rec, { execID: s.id, exitCode: String(s.exitCode) }));
    s.resolveExit();
    // Keep the session (for ExitCode) a while, then free it, as Docker does.
    let removed = false;
    try {
      this.containers.get(rec.id);
    } catch {
      removed = true;
    }
    if (removed) this.forget(s);
    else setTimeout(() => this.forget(s), 5 * 60_000).unref();
  }

  async resize(id: string, h: number, w: number): Promise<void> {
    const s = this.get(id);
    await this.containers.resize(s.containerId, h, w, s.dir);
  }

  /** Runs a command to completion and captures its output (health checks). */
  async runCapture(rec: ContainerRecord, cmd: string[], timeoutMs: number): Promise<{ code: number; output: string }> {
    const id = this.create(rec.id, { Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const s = await this.start(id, {});
    const timedOut = await Promise.race([s.exited.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), timeoutMs).unref())]);
    let output = '';
    const log = await readFile(this.logPath(s), 'utf8').catch(() => '');
    const { parseLogLine } = await import('./logs.js');
    for (const line of log.split('\n')) {
      const r = parseLogLine(line);
      if (r) output += r.text + (r.partial ? '' : '\n');
    }
    if (timedOut) {
      if (s.pid > 0) {
        try {
          globalThis.process.kill(s.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      return { code: -1, output: `Health check exceeded timeout (${timeoutMs / 1000}s)` };
    }
    return { code: s.exitCode ?? -1, output: output.slice(0, 4096) };
  }
}

function mergeEnv(base: string[], extra: string[]): string[] {
  const out = [...base];
  for (const e of extra) {
    if (!e.includes('=')) continue; // `-e NAME` the client's environment lacks: unset
    const k = e.split('=')[0];
    const i = out.findIndex((x) => x.split('=')[0] === k);
    if (i >= 0) out[i] = e;
    else out.push(e);
  }
  return out;
}
