import type { BerthError } from '../core/errors.js';
import {
  Conflict,
  Forbidden,
  Internal,
  InvalidArgument,
  NotFound,
  NotImplemented,
  Unauthorized,
  Unavailable,
} from '../core/errors.js';

/** Marks errors that the daemon answered with (printed as `Error response from daemon: ...`). */
const FROM_DAEMON = Symbol.for('berth.client.fromDaemon');

export type DaemonError = BerthError & { readonly status: number };

/** The error class for an HTTP status, carrying the daemon's message. */
export function daemonError(status: number, message: string): DaemonError {
  let e: BerthError;
  switch (status) {
    case 400:
      e = new InvalidArgument(message);
      break;
    case 401:
      e = new Unauthorized(message);
      break;
    case 403:
      e = new Forbidden(message);
      break;
    case 404:
      e = new NotFound(message);
      break;
    case 409:
      e = new Conflict(message);
      break;
    case 501:
      e = new NotImplemented(message);
      break;
    case 503:
      e = new Unavailable(message);
      break;
    default:
      e = new Internal(message);
  }
  Object.defineProperty(e, 'status', { value: status, enumerable: true });
  Object.defineProperty(e, FROM_DAEMON, { value: true });
  return e as DaemonError;
}

/** True for errors the daemon returned (as opposed to connection or local errors). */
export function isDaemonError(e: unknown): e is DaemonError {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[FROM_DAEMON] === true;
}

/** The message of a non-2xx answer: `{"message": ...}`, else the body text, else the status. */
export function errorText(status: number, body: string, statusText: string | undefined): string {
  const trimmed = body.trim();
  if (trimmed.startsWith('{')) {
    try {
      const parsed = JSON.parse(trimmed) as { message?: unknown };
      if (typeof parsed.message === 'string') return parsed.message;
    } catch {
      // not JSON: fall through to the raw text
    }
  }
  if (trimmed !== '') return trimmed;
  return `${status} ${statusText ?? 'Unknown Status'}`;
}
