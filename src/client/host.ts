import { InvalidArgument } from '../core/errors.js';

/** Where the berth daemon listens unless told otherwise. */
export const DEFAULT_SOCKET = '/run/berth/berth.sock';

/**
 * Turns a host value (`unix:///run/berth/berth.sock` or a plain path) into a socket path.
 * berth only serves a unix socket, so tcp://, ssh:// and friends are refused.
 */
export function parseHost(value: string): string {
  const v = value.trim();
  if (v === '') return DEFAULT_SOCKET;
  if (v.startsWith('unix://')) {
    const path = v.slice('unix://'.length);
    return path === '' ? DEFAULT_SOCKET : path;
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) {
    throw new InvalidArgument(`unsupported host "${v}": berth only listens on a unix socket (unix:///path)`);
  }
  return v;
}

/** Socket resolution: `--host/-H` flag > `BERTH_HOST` env > the default socket. */
export function resolveHost(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag !== undefined && flag !== '') return parseHost(flag);
  const fromEnv = env.BERTH_HOST;
  if (fromEnv !== undefined && fromEnv !== '') return parseHost(fromEnv);
  return DEFAULT_SOCKET;
}
