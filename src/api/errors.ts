import { isBerthError, type ErrorCode } from '../core/errors.js';

/** The one place berth's error classes become HTTP status codes (Docker's mapping). */
const STATUS: Readonly<Record<ErrorCode, number>> = Object.freeze({
  not_found: 404,
  invalid_argument: 400,
  conflict: 409,
  already_exists: 409,
  failed_precondition: 400,
  unavailable: 503,
  not_implemented: 501,
  not_modified: 304,
  unauthorized: 401,
  forbidden: 403,
  internal: 500,
});

export function statusFromError(e: unknown): number {
  return isBerthError(e) ? STATUS[e.code] : 500;
}
