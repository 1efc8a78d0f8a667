/**
 * Daemon auto-start: when the socket is missing or refuses connections and we are
 * root, spawn `berth daemon` detached (output to `<root>/berth-daemon.log`, the state root:
 * the socket's directory is usually the exec root, which the daemon makes a tmpfs when it
 * finds it empty, src/sys/execroot.ts) and wait for `GET /_ping` to answer (every 20 ms, up
 * to 10 s).
 */
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EngineClient } from '../client/index.js';
import { Unavailable } from '../core/errors.js';
import { DEFAULT_ROOT } from './daemon-options.js';
import { cliRelative } from './paths.js';

const POLL_MS = 20;
const TIMEOUT_MS = 10_000;

/** `bin/berth` of this installation (src/cli or dist/cli are two levels below the package root). */
export function berthBin(): string {
  const bin = fileURLToPath(cliRelative('../../bin/berth'));
  if (existsSync(bin)) return bin;
  return process.argv[1] ?? bin;
}

/**
 * The node flags bin/berth gives `berth daemon` (its second line), for a daemon started with
 * this node: a 1 MiB young generation and no optimising compilers keep the daemon small (57 MB
 * idle instead of 97 after fifty containers). `--optimize-for-size` is not among them: with it,
 * V8 ran a full, memory-reducing collection every few megabytes a pull streamed through (35 for
 * 200 MB, pulls ~25% slower) for ~1.5 MiB of idle memory, which the daemon's bundle
 * (scripts/build-cli.mjs) saves otherwise. The CLI runs without flags: any V8 flag makes node
 * reject the code cache of its built-in modules (bench/README.md).
 */
export const NODE_FLAGS = ['--max-semi-space-size=1', '--no-opt', '--no-sparkplug', '--no-maglev'];

/**
 * glibc's malloc settings bin/berth gives the daemon unless the environment sets them: two
 * arenas rather than one per thread-pool thread, and free memory at the top of the heap handed
 * back from 32 KiB (128 KiB by default). ~3 MB less idle RSS after a burst of containers, no
 * change in start times or daemon CPU (bench/README.md).
 */
export const MALLOC_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2', MALLOC_TRIM_THRESHOLD_: '32768' };

/** The daemon's environment: `env`, with `MALLOC_ENV` for what it leaves unset. */
export function daemonEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...MALLOC_ENV, ...env };
}

export function daemonArgs(socketPath: string, env: NodeJS.ProcessEnv): string[] {
  const args = [...NODE_FLAGS, berthBin(), 'daemon', '--host', `unix://${socketPath}`];
  if (env.BERTH_ROOT) args.push('--root', env.BERTH_ROOT);
  if (env.BERTH_EXEC_ROOT) args.push('--exec-root', env.BERTH_EXEC_ROOT);
  return args;
}

/** Starts the daemon; false when we may not (not root), throws when it does not come up. */
export async function startDaemon(socketPath: string, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return false;
  const { spawn } = await import('node:child_process');
  const root = env.BERTH_ROOT || DEFAULT_ROOT;
  mkdirSync(root, { recursive: true, mode: 0o711 });
  const logPath = join(root, 'berth-daemon.log');
  const fd = openSync(logPath, 'a');
  let exited: number | null | undefined;
  try {
    const child = spawn(process.execPath, daemonArgs(socketPath, env), { detached: true, stdio: ['ignore', fd, fd], env: daemonEnv(env) });
    child.once('exit', (code) => {
      exited = code;
    });
    child.once('error', () => {
      exited = -1;
    });
    child.unref();
  } finally {
    closeSync(fd);
  }
  const client = new EngineClient({ socketPath });
  const deadline = Date.now() + TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await client.ping()) return true;
    if (exited !== undefined) break;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  throw new Unavailable(
    exited !== undefined
      ? `the berth daemon exited (code ${exited}) before answering at unix://${socketPath}; see ${logPath}`
      : `the berth daemon did not answer at unix://${socketPath} within ${TIMEOUT_MS / 1000}s; see ${logPath}`,
  );
}
