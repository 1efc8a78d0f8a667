/**
 * The daemon process's own entry. bin/berth hands `berth daemon [flags]` here, so that the
 * daemon never loads the CLI (its ~0.4 MB bundle and the compiled code of it: 1.5–2 MiB of
 * an idle daemon; bench/README.md). Everything else about `berth daemon` (`stop`, `--help`,
 * flags it cannot read) stays with the CLI, which prints usage and errors as for any command.
 */
import { errorMessage } from '../core/errors.js';
import { parseArgs } from '../cli/args.js';
import { DAEMON_FLAGS, daemonOptions, type DaemonOptions } from '../cli/daemon-options.js';
import { resolveHost } from '../client/host.js';

/** The daemon's settings for `argv` (the arguments after `daemon`), or undefined when the CLI must handle them. */
export function foregroundOptions(argv: readonly string[], env: NodeJS.ProcessEnv): DaemonOptions | undefined {
  try {
    const parsed = parseArgs(argv, DAEMON_FLAGS, { command: 'daemon' });
    if (parsed.help || parsed.args.length > 0) return undefined;
    return daemonOptions(parsed.flags, env, resolveHost(undefined, env));
  } catch {
    return undefined;
  }
}

/** Runs the daemon in the foreground; resolves to 'cli' when the arguments are for the CLI. */
export async function main(argv: readonly string[]): Promise<number | 'cli'> {
  const o = foregroundOptions(argv, process.env);
  if (o === undefined) return 'cli';
  try {
    const { runDaemon } = await import('./main.js');
    await runDaemon(o);
  } catch (e) {
    process.stderr.write(`berth: ${errorMessage(e)}\n`);
    return 1;
  }
  return 0;
}
