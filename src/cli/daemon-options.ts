/**
 * The daemon's flags and how they become its settings: shared by `berth daemon` in the CLI
 * (src/cli/commands/daemon.ts) and the daemon's own entry (src/daemon/entry.ts), which
 * bin/berth starts without loading the CLI.
 */
import type { FlagDef, Flags } from './args.js';

/** Where the daemon keeps its state unless --root or BERTH_ROOT says otherwise. */
export const DEFAULT_ROOT = '/var/lib/berth';

export interface DaemonOptions {
  root: string;
  execRoot: string;
  host: string;
  runtime: string;
  logLevel: string;
  /** Default json-file rotation for containers without their own --log-opt. */
  logMaxSize?: number;
  logMaxFiles?: number;
  /** daemon.json (registry mirrors, insecure registries, transfer limits). */
  configFile?: string;
  /** The seccomp profile of containers that ask for none: a file, `builtin` or `unconfined`. */
  seccompProfile?: string;
}

/**
 * The daemon's settings: flags first, then BERTH_ROOT/BERTH_EXEC_ROOT (what the CLI's
 * auto-start passes on, so `berth daemon stop` finds the daemon it started), then defaults.
 */
export function daemonOptions(f: Flags, env: NodeJS.ProcessEnv, socketPath: string): DaemonOptions {
  const explicit = f.str('host');
  const host = explicit !== undefined && explicit !== '' ? explicit : `unix://${socketPath}`;
  const pick = (flag: string, envName: string, fallback: string): string => {
    if (f.changed(flag)) return f.str(flag) ?? fallback;
    const e = env[envName];
    return e !== undefined && e !== '' ? e : fallback;
  };
  return {
    root: pick('root', 'BERTH_ROOT', DEFAULT_ROOT),
    execRoot: pick('exec-root', 'BERTH_EXEC_ROOT', '/run/berth'),
    host,
    runtime: f.str('runtime') ?? 'runc',
    logLevel: f.str('log-level') ?? 'info',
    ...logOpts(f.list('log-opt')),
    ...configFile(f, env),
    ...(f.str('seccomp-profile') ? { seccompProfile: f.str('seccomp-profile') } : {}),
  };
}

/** `--config-file`, else BERTH_CONFIG_FILE; none means the daemon's default (/etc/berth/daemon.json, optional). */
function configFile(f: Flags, env: NodeJS.ProcessEnv): { configFile?: string } {
  const flag = f.changed('config-file') ? f.str('config-file') : undefined;
  const v = flag !== undefined && flag !== '' ? flag : env.BERTH_CONFIG_FILE;
  return v !== undefined && v !== '' ? { configFile: v } : {};
}

/** `--log-opt max-size=20m --log-opt max-file=5`: the default rotation of container logs. */
export function logOpts(opts: string[]): { logMaxSize?: number; logMaxFiles?: number } {
  const out: { logMaxSize?: number; logMaxFiles?: number } = {};
  for (const o of opts) {
    const i = o.indexOf('=');
    const k = i < 0 ? o : o.slice(0, i);
    const v = i < 0 ? '' : o.slice(i + 1);
    if (k === 'max-size') {
      const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)b?$/i.exec(v);
      if (!m) throw new Error(`invalid --log-opt max-size=${v}: use a size such as 20m`);
      const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] ?? '').toLowerCase()] ?? 1;
      out.logMaxSize = Math.floor(Number(m[1]) * mult);
    } else if (k === 'max-file') {
      if (!/^\d+$/.test(v) || Number(v) < 1) throw new Error(`invalid --log-opt max-file=${v}: use a whole number of at least 1`);
      out.logMaxFiles = Number(v);
    } else {
      throw new Error(`unknown --log-opt ${k}: berth's daemon takes max-size and max-file`);
    }
  }
  return out;
}

export const DAEMON_FLAGS: readonly FlagDef[] = [
  { long: 'config-file', kind: 'string', default: '/etc/berth/daemon.json', help: 'Daemon configuration file (Docker\'s daemon.json keys for registries; default $BERTH_CONFIG_FILE, else /etc/berth/daemon.json if it exists)' },
  { long: 'exec-root', kind: 'string', default: '/run/berth', help: 'Root directory for execution state files (default $BERTH_EXEC_ROOT, else /run/berth)' },
  { long: 'host', short: 'H', kind: 'string', default: '', type: 'string', help: 'Socket to listen on (default unix:///run/berth/berth.sock, or $BERTH_HOST)' },
  { long: 'log-opt', kind: 'list', help: 'Default log rotation for containers: max-size=20m, max-file=5' },
  { long: 'log-level', short: 'l', kind: 'string', default: 'info', help: 'Set the logging level ("debug"|"info"|"warn"|"error")' },
  { long: 'root', kind: 'string', default: DEFAULT_ROOT, help: 'Root directory of persistent berth state (default $BERTH_ROOT, else /var/lib/berth)' },
  { long: 'runtime', kind: 'string', default: 'runc', help: 'OCI runtime binary' },
  { long: 'seccomp-profile', kind: 'string', default: '', help: 'Seccomp profile of containers that give none: a JSON file in Docker\'s format, or "unconfined" (default "builtin")' },
];
