import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { join, resolve } from 'node:path';

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
  restart(opts?: { kill9?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

export interface CmdResult {
  code: number;
  stdout: string;
  stderr: string;
}

function runCmd(cmd: string, args: string[], env: NodeJS.ProcessEnv, opts: { input?: string | Buffer; timeoutMs?: number } = {}): CmdResult {
  const r = spawnSync(cmd, args, { env, input: opts.input, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 256 * 1024 * 1024 });
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

export async function startDaemon(): Promise<TestDaemon> {
  const base = await mkdtemp('/tmp/berth-test-');
  const root = join(base, 'root');
  const execRoot = join(base, 'run');
  const socket = join(base, 'berth.sock');
  const host = `unix://${socket}`;
  const env = { ...process.env, BERTH_HOST: host, DOCKER_HOST: host, DOCKER_CONFIG: join(base, 'docker-config') };
  const launch = () => {
    const p = spawn(process.execPath, [join(REPO, 'bin/berth'), 'daemon', '--root', root, '--exec-root', execRoot, '--host', host], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env,
    });
    p.stderr?.on('data', (d: Buffer) => {
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
    root,
    execRoot,
    socket,
    host,
    env,
    proc: launch(),
    berth: (args, opts) => runCmd(process.execPath, [join(REPO, 'bin/berth'), ...args], env, opts),
    docker: (args, opts) => runCmd('docker', args, env, opts),
    async restart(opts = {}) {
      const exited = new Promise((r) => d.proc.once('exit', r));
      d.proc.kill(opts.kill9 === true ? 'SIGKILL' : 'SIGTERM');
      await exited;
      d.proc = launch();
      await waitUp();
    },
    async stop() {
      // Remove every container so nothing is left running or mounted, then stop the daemon.
      const ids = runCmd('docker', ['ps', '-aq'], env).stdout.split('\n').filter(Boolean);
      if (ids.length > 0) runCmd('docker', ['rm', '-f', ...ids], env);
      const exited = new Promise((r) => d.proc.once('exit', r));
      d.proc.kill('SIGTERM');
      await exited;
      spawnSync('sh', ['-c', `grep -o '${base}[^ ]*' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l`]);
      await rm(base, { recursive: true, force: true });
    },
  };
  await waitUp();
  return d;
}

/** Imports the cached busybox rootfs (made by scripts/base-images.sh) as busybox:latest. */
export function loadBusybox(d: TestDaemon): void {
  const tar = join(CACHE, 'images', 'busybox.tar');
  if (!existsSync(tar)) throw new Error(`${tar} is missing: run scripts/base-images.sh build`);
  const r = d.berth(['import', '--change', 'CMD ["sh"]', tar, 'busybox:latest']);
  if (r.code !== 0) throw new Error(`import busybox failed: ${r.stderr}`);
}
