import { readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { createServer } from 'node:http';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { createApi } from '../api/server.js';
import { loadDaemonConfig, loadSeccompDefault } from './config.js';
import { buildEngine } from './wiring.js';
import { prepareExecRoot } from '../sys/execroot.js';

/**
 * `berth daemon`: builds the engine, serves the Engine API on a unix socket, and stops
 * cleanly on SIGTERM/SIGINT (containers keep running under their monitors).
 */
export interface DaemonOptions {
  root?: string;
  execRoot?: string;
  host?: string;
  runtime?: string;
  logLevel?: string;
  logMaxSize?: number;
  logMaxFiles?: number;
  /** daemon.json; /etc/berth/daemon.json when absent (and then optional). */
  configFile?: string;
  /** `--seccomp-profile`: a file, `builtin` or `unconfined` (daemon.json's `seccomp-profile` otherwise). */
  seccompProfile?: string;
}

export const BERTH_VERSION = '0.1.0';

/** Container logs rotate by default (Docker's json-file never does): 5 files of 20 MiB at most. */
export const DEFAULT_LOG_MAX_SIZE = 20 * 1024 * 1024;
export const DEFAULT_LOG_MAX_FILES = 5;

export async function runDaemon(opts: DaemonOptions = {}): Promise<void> {
  const root = resolve(opts.root ?? '/var/lib/berth');
  const execRoot = resolve(opts.execRoot ?? '/run/berth');
  const socketPath = resolve((opts.host ?? 'unix:///run/berth/berth.sock').replace(/^unix:\/\//, ''));
  const log = (msg: string) => process.stderr.write(`${new Date().toISOString()} ${msg}\n`);
  await mkdir(root, { recursive: true, mode: 0o711 });
  await mkdir(execRoot, { recursive: true, mode: 0o711 });
  await mkdir(dirname(socketPath), { recursive: true });
  const pidFile = join(execRoot, 'berth.pid');
  const other = await readFile(pidFile, 'utf8').catch(() => '');
  if (other !== '' && Number(other) !== process.pid && isAlive(Number(other))) {
    throw new Error(`another berth daemon (pid ${other.trim()}) is using ${execRoot}`);
  }
  // A socket that answers belongs to a live daemon (with another exec root): taking its path
  // would leave that daemon unreachable. A stale file of one that died is replaced.
  if (await answers(socketPath)) throw new Error(`another daemon is listening on unix://${socketPath}`);
  // Before anything is written there: the exec root on a tmpfs (src/sys/execroot.ts).
  await prepareExecRoot(execRoot, log);
  const fileConfig = await loadDaemonConfig(opts.configFile);
  if (fileConfig && fileConfig.ignored.length > 0) log(`configuration file: ignoring keys berth does not use: ${fileConfig.ignored.join(', ')}`);
  const seccomp = await loadSeccompDefault(opts.seccompProfile ?? fileConfig?.seccompProfile);
  // Read what it was given relative to where it was started, then keep none of the caller's
  // directories: its command shells and conmon start in its working directory, and one
  // removed meanwhile (an auto-start from a clone that was deleted) made conmon fail.
  process.chdir('/');
  await writeFile(pidFile, String(process.pid));
  const engine = await buildEngine({
    root,
    execRoot,
    runtime: opts.runtime ?? 'runc',
    version: BERTH_VERSION,
    logMaxSize: opts.logMaxSize ?? DEFAULT_LOG_MAX_SIZE,
    logMaxFiles: opts.logMaxFiles ?? DEFAULT_LOG_MAX_FILES,
    log,
    ...(fileConfig ? { registry: fileConfig.registry } : {}),
    seccomp,
  });
  const api = createApi(engine, log);
  const settle = afterBursts(1500);
  const server = createServer({ keepAliveTimeout: 5000 }, (req, res) => {
    settle();
    api.handle(req, res);
  });
  server.on('upgrade', (req, socket, head) => {
    settle();
    api.upgrade(req, socket, head);
  });
  await rm(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  const ours = statSync(socketPath).ino;
  log(`berth daemon ${BERTH_VERSION} listening on unix://${socketPath} (root ${root})`);
  void engine.containers.applyRestartPolicies();
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  log('shutting down');
  server.close();
  server.closeAllConnections();
  await engine.close();
  // Only our own socket: a daemon started later on the same path keeps its socket.
  if (statSync(socketPath, { throwIfNoEntry: false })?.ino === ours) await rm(socketPath, { force: true });
  await rm(pidFile, { force: true });
}

/**
 * A daemon idles most of its life: once requests stop coming for `ms`, one full garbage
 * collection gives back the young generation and the garbage of the burst (V8 keeps the
 * heap it grew otherwise; measured in bench/README.md). Returns the function each request
 * calls. The gc function comes from V8's flag, set at run time, in a fresh context.
 */
function afterBursts(ms: number): () => void {
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  return () => {
    if (typeof gc !== 'function') return;
    if (timer) timer.refresh();
    else timer = setTimeout(() => ((timer = undefined), gc()), ms).unref();
  };
}

/** Whether something accepts connections on the unix socket at `path`. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const conn = connect(path);
    conn.once('connect', () => {
      conn.destroy();
      resolve(true);
    });
    conn.once('error', () => resolve(false));
  });
}

/** A live berth daemon, not a zombie or an unrelated process that reused the pid. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (/^\d+ \(.*\) Z/.test(stat)) return false;
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('daemon');
  } catch {
    return false;
  }
}
