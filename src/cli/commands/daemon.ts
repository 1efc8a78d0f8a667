/**
 * `berth daemon [OPTIONS]` runs the daemon in the foreground; `berth daemon stop`
 * signals the one whose pid is in `<exec-root>/berth.pid` and waits for its socket to go quiet.
 */
import { EngineClient, parseHost } from '../../client/index.js';
import type { CommandDef } from '../context.js';
import { DAEMON_FLAGS, daemonOptions, type DaemonOptions } from '../daemon-options.js';
import { importCliRelative } from '../paths.js';

export { daemonOptions, logOpts } from '../daemon-options.js';

async function stopDaemon(o: DaemonOptions): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const pidFile = `${o.execRoot}/berth.pid`;
  let pid: number;
  try {
    pid = Number.parseInt((await readFile(pidFile, 'utf8')).trim(), 10);
  } catch {
    throw new Error(`the berth daemon is not running (no pid file at ${pidFile})`);
  }
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`invalid pid file ${pidFile}`);
  try {
    process.kill(pid, 'SIGTERM');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') throw new Error(`the berth daemon is not running (stale pid file ${pidFile})`);
    throw e;
  }
  const client = new EngineClient({ socketPath: parseHost(o.host) });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (!alive || !(await client.ping())) return 0;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the berth daemon (pid ${pid}) did not stop within 60s`);
}

export const daemon: CommandDef = {
  name: 'daemon',
  usage: '[OPTIONS] [stop]',
  description: 'Run the berth daemon in the foreground, or stop the running one',
  flags: DAEMON_FLAGS,
  maxArgs: 1,
  async run(cli, f, args) {
    const o = daemonOptions(f, cli.io.env, cli.host);
    if (args[0] === 'stop') return stopDaemon(o);
    if (args[0] !== undefined) throw new Error(`unknown daemon subcommand: ${args[0]}`);
    // Resolved at run time: the daemon is a separate part of berth (src/daemon/main.ts).
    // bin/berth usually starts it without the CLI (src/daemon/entry.ts); this path serves
    // `node dist/cli/main.js daemon` and the CLI's tests.
    const mod = (await importCliRelative('../daemon/main.js')) as { runDaemon(opts: DaemonOptions): Promise<unknown> };
    await mod.runDaemon(o);
    // Shut down cleanly: end now rather than when the last timer of an interrupted operation
    // fires (a `rm -f` waits up to 10 s for an exit that can no longer be observed).
    process.exit(0);
  },
};
