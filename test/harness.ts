import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join, resolve } from 'node:path';
import { daemonTag } from '../src/engine/network/service.js';

/**
 * Test support for the root tiers: an isolated berth daemon (its own root, exec root and
 * socket) and the clients that talk to it: berth's CLI and the stock docker CLI.
 */
export const REPO = resolve(import.meta.dirname, '..');
export const CACHE = process.env.BERTH_CACHE ?? join(REPO, '.cache');

/** Root tiers run only with BERTH_TEST_ROOT=1 (as root, with runc, conmon and overlayfs). */
export function rootTestsEnabled(): boolean {
  return process.env.BERTH_TEST_ROOT === '1' && process.getuid?.() === 0;
}
export const rootSkipReason = 'needs root, runc and overlayfs: run with BERTH_TEST_ROOT=1 as root';

export interface TestDaemon {
  root: string;
  execRoot: string;
  socket: string;
  host: string;
  env: NodeJS.ProcessEnv;
  proc: ChildProcess;
  /** Runs `berth ...` against this daemon. */
  berth(args: string[], opts?: { input?: string | Buffer; timeoutMs?: number }): CmdResult;
  /** Runs the stock `docker ...` CLI against this daemon. */
  docker(args: string[], opts?: { input?: string | Buffer; timeoutMs?: number }): CmdResult;
  /** Stops the daemon (SIGTERM, or SIGKILL with kill9), runs `whileDown`, starts it again. */
  restart(opts?: { kill9?: boolean; whileDown?: () => Promise<void> }): Promise<void>;
  stop(): Promise<void>;
  /** The daemon's tag in host object names (iptables chains `BERTH-<tag>`, bridge `berth<tag>`). */
  tag: string;
  /** Bridges of user networks a test created (for leak checks). */
  bridges: string[];
  /** What the daemon wrote to stderr so far (its log; the last 1 MiB). */
  log(): string;
}

export interface CmdResult {
  code: number;
  stdout: string;
  stderr: string;
}

function runCmd(cmd: string, args: string[], env: NodeJS.ProcessEnv, opts: { input?: string | Buffer; timeoutMs?: number } = {}): CmdResult {
  // SIGKILL: an attached `docker run` proxies SIGTERM to its container instead of ending.
  const r = spawnSync(cmd, args, { env, input: opts.input, timeout: opts.timeoutMs ?? 60_000, killSignal: 'SIGKILL', maxBuffer: 256 * 1024 * 1024 });
  return { code: r.status ?? (r.signal ? 128 : 1), stdout: r.stdout?.toString() ?? '', stderr: r.stderr?.toString() ?? '' };
}

export function ping(socket: string): Promise<boolean> {
  return new Promise((res) => {
    const req = request({ socketPath: socket, path: '/_ping', method: 'GET', timeout: 1000 }, (r) => {
      r.resume();
      res(r.statusCode === 200);
    });
    req.on('error', () => res(false));
    req.end();
  });
}

export interface DaemonOptions {
  /** daemon.json for the daemon (`--config-file`); also passed on as BERTH_CONFIG_FILE to auto-started daemons. */
  configFile?: string;
  /** Puts the daemon's --root on a tmpfs of this size (`48m`): a disk that can be filled. */
  rootTmpfsSize?: string;
  /** More environment for the daemon (and the CLIs run against it). */
  env?: Record<string, string>;
}

export async function startDaemon(opts: DaemonOptions = {}): Promise<TestDaemon> {
  const base = await mkdtemp('/tmp/berth-test-');
  // Tests never reach the internet: without a config of their own, test daemons send
  // docker.io to a port where nothing listens (a pull of `busybox` fails at once, locally).
  if (opts.configFile === undefined) {
    opts = { ...opts, configFile: join(base, 'daemon.json') };
    await writeFile(opts.configFile as string, JSON.stringify({ 'registry-origin-for': { 'docker.io': 'http://127.0.0.1:9' } }));
  }
  const root = join(base, 'root');
  const execRoot = join(base, 'run');
  if (opts.rootTmpfsSize !== undefined) {
    await mkdir(root);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${opts.rootTmpfsSize},mode=0711`, 'tmpfs', root]);
    if (m.status !== 0) throw new Error(`mount tmpfs on ${root}: ${m.stderr.toString().trim()}`);
  }
  const socket = join(base, 'berth.sock');
  const host = `unix://${socket}`;
  // BERTH_ROOT/BERTH_EXEC_ROOT: should the daemon die, berth's CLI auto-starts a replacement on
  // this test's directories (and stop() ends it), never on /var/lib/berth and /run/berth.
  const env = {
    ...process.env,
    BERTH_HOST: host,
    DOCKER_HOST: host,
    DOCKER_CONFIG: join(base, 'docker-config'),
    BERTH_ROOT: root,
    BERTH_EXEC_ROOT: execRoot,
    ...(opts.configFile !== undefined ? { BERTH_CONFIG_FILE: opts.configFile } : {}),
    ...opts.env,
  };
  let log = '';
  const launch = () => {
    const extra = opts.configFile !== undefined ? ['--config-file', opts.configFile] : [];
    const p = spawn(join(REPO, 'bin/berth'), ['daemon', '--root', root, '--exec-root', execRoot, '--host', host, ...extra], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env,
    });
    p.stderr?.on('data', (d: Buffer) => {
      log = (log + d.toString()).slice(-(1 << 20));
      if (process.env.BERTH_TEST_DEBUG) process.stderr.write(d);
    });
    return p;
  };
  const waitUp = async () => {
    for (let i = 0; i < 500; i++) {
      if (await ping(socket)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('berth daemon did not answer /_ping within 10 s');
  };
  const d: TestDaemon = {
    tag: daemonTag(root),
    bridges: [],
    root,
    execRoot,
    socket,
    host,
    env,
    proc: launch(),
    berth: (args, opts) => runCmd(join(REPO, 'bin/berth'), args, env, opts), // as a user runs it: the script, with its node flags
    docker: (args, opts) => runCmd('docker', args, env, opts),
    log: () => log,
    async restart(opts = {}) {
      await endProcess(d.proc, opts.kill9 === true ? 'SIGKILL' : 'SIGTERM');
      await opts.whileDown?.();
      d.proc = launch();
      await waitUp();
    },
    async stop() {
      // Remove every container so nothing is left running or mounted, then stop the daemon
      // (and one the CLI may have auto-started here if ours died).
      const ids = runCmd('docker', ['ps', '-aq'], env).stdout.split('\n').filter(Boolean);
      if (ids.length > 0) runCmd('docker', ['rm', '-f', ...ids], env);
      await endProcess(d.proc, 'SIGTERM');
      await endPidFile(join(execRoot, 'berth.pid'));
      unmountUnder(base);
      await rm(base, { recursive: true, force: true });
    },
  };
  try {
    await waitUp();
  } catch (e) {
    // A daemon that never came up leaves nothing behind either.
    await endProcess(d.proc, 'SIGKILL');
    unmountUnder(base);
    await rm(base, { recursive: true, force: true });
    throw e;
  }
  return d;
}

/** Lazily unmounts everything mounted under `base`, deepest first. */
function unmountUnder(base: string): void {
  spawnSync('sh', ['-c', `grep -o '${base}[^ ]*' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l`]);
}

function exited(p: ChildProcess): boolean {
  return p.exitCode !== null || p.signalCode !== null;
}

/** Signals a child and waits for it to end (at once when it already has). */
async function endProcess(p: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (exited(p)) return;
  const done = new Promise((r) => p.once('exit', r));
  p.kill(signal);
  await done;
}

/** Ends the daemon named by a pid file, if one is still alive (an auto-started one). */
async function endPidFile(pidFile: string): Promise<void> {
  const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 500 && alive(pid); i++) await sleep(20);
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `probe` every `everyMs` until it returns something other than undefined/false. */
export async function waitFor<T>(probe: () => T | undefined | false, what: string, timeoutMs = 15_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined | false;
  for (;;) {
    last = probe();
    if (last !== undefined && last !== false) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/**
 * Runs a command line on a pseudo-terminal of `cols`x`rows` with util-linux `script`
 * (`script -eqc`: quiet, the command's exit status). `input` is typed into the terminal;
 * stdin stays open until the command ends, because `script` sends the terminal a NUL
 * (echoed as `^@`) when its own stdin reaches end of file.
 */
export function onPty(
  d: TestDaemon,
  command: string,
  opts: { input?: string; cols?: number; rows?: number; timeoutMs?: number } = {},
): Promise<CmdResult> {
  const size = `stty cols ${opts.cols ?? 80} rows ${opts.rows ?? 24}`;
  const p = spawn('script', ['-eqc', `${size}; ${command}`, '/dev/null'], { env: d.env, stdio: ['pipe', 'pipe', 'pipe'], cwd: REPO });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  p.stdout.on('data', (c: Buffer) => out.push(c));
  p.stderr.on('data', (c: Buffer) => err.push(c));
  p.stdin.on('error', () => undefined);
  if (opts.input !== undefined) p.stdin.write(opts.input);
  return new Promise((res, rej) => {
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      rej(new Error(`pty command timed out: ${command}\n${Buffer.concat(out).toString()}`));
    }, opts.timeoutMs ?? 30_000);
    p.once('close', (code, signal) => {
      clearTimeout(timer);
      p.stdin.destroy();
      res({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
}

/** One Engine API request on the daemon's socket; the body is sent as is (Buffer) or as JSON. */
export function api(d: TestDaemon, method: string, path: string, body?: unknown): Promise<{ status: number; body: string }> {
  return new Promise((res, rej) => {
    const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string | number> = {};
    if (payload !== undefined) {
      headers['Content-Type'] = Buffer.isBuffer(body) ? 'application/x-tar' : 'application/json';
      headers['Content-Length'] = payload.length;
    }
    // A connection of its own: one kept alive from an earlier call may be closed by the daemon (idle) as this one writes (EPIPE).
    const req = request({ socketPath: d.socket, path, method, headers, agent: false }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => res({ status: r.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      r.on('error', rej);
    });
    req.on('error', rej);
    req.end(payload);
  });
}

/** A client command running in the background: `done` resolves when it ends; `kill` ends it early. */
export interface Background {
  done: Promise<CmdResult>;
  stdout(): string;
  kill(signal?: NodeJS.Signals): void;
}

export function background(d: TestDaemon, client: 'docker' | 'berth', args: string[], opts: { input?: string } = {}): Background {
  const [cmd, argv] = client === 'docker' ? ['docker', args] : [join(REPO, 'bin/berth'), args];
  const p = spawn(cmd, argv, { env: d.env, stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  p.stdout.on('data', (c: Buffer) => out.push(c));
  p.stderr.on('data', (c: Buffer) => err.push(c));
  p.stdin.on('error', () => undefined);
  if (opts.input !== undefined) p.stdin.end(opts.input);
  const done = new Promise<CmdResult>((res) => {
    p.once('close', (code, signal) => res({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
  });
  return { done, stdout: () => Buffer.concat(out).toString(), kill: (signal = 'SIGTERM') => void p.kill(signal) };
}

/** `docker inspect -f FORMAT target`, trimmed; throws when inspect fails. */
export function inspectField(d: TestDaemon, target: string, format: string): string {
  const r = d.docker(['inspect', '-f', format, target]);
  if (r.code !== 0) throw new Error(`docker inspect ${target} failed: ${r.stderr}`);
  return r.stdout.trim();
}

/** Imports the cached busybox rootfs (made by scripts/base-images.sh) as busybox:latest. */
export function loadBusybox(d: TestDaemon): void {
  const tar = join(CACHE, 'images', 'busybox.tar');
  if (!existsSync(tar)) throw new Error(`${tar} is missing: run scripts/base-images.sh build`);
  const r = d.berth(['import', '--change', 'CMD ["sh"]', tar, 'busybox:latest']);
  if (r.code !== 0) throw new Error(`import busybox failed: ${r.stderr}`);
}

/** Imports the cached debootstrap rootfs (made by scripts/base-images.sh) as debian:bookworm-slim. */
export function loadDebian(d: TestDaemon): void {
  const tar = join(CACHE, 'images', 'debian-bookworm-slim.tar');
  if (!existsSync(tar)) throw new Error(`${tar} is missing: run scripts/base-images.sh build`);
  const r = d.berth(['import', '--change', 'CMD ["bash"]', tar, 'debian:bookworm-slim']);
  if (r.code !== 0) throw new Error(`import debian failed: ${r.stderr}`);
}
