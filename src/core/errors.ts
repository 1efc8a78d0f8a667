/**
 * berth's error taxonomy: a small fixed set of classes with stable codes.
 * The API layer maps them to HTTP status codes in exactly one place
 * (`statusFromError` in src/api/errors.ts); the CLI prints `message` and exits non-zero.
 * Messages name the object: `No such container: web`, following Docker's wording where
 * clients (the docker CLI, compose) match on it.
 */
export type ErrorCode =
  | 'not_found'
  | 'invalid_argument'
  | 'conflict'
  | 'already_exists'
  | 'failed_precondition'
  | 'unavailable'
  | 'not_implemented'
  | 'not_modified'
  | 'unauthorized'
  | 'forbidden'
  | 'internal';

export class BerthError extends Error {
  readonly code: ErrorCode = 'internal';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
export class NotFound extends BerthError {
  override readonly code = 'not_found';
}
export class InvalidArgument extends BerthError {
  override readonly code = 'invalid_argument';
}
export class Conflict extends BerthError {
  override readonly code = 'conflict';
}
export class AlreadyExists extends BerthError {
  override readonly code = 'already_exists';
}
export class FailedPrecondition extends BerthError {
  override readonly code = 'failed_precondition';
}
export class Unavailable extends BerthError {
  override readonly code = 'unavailable';
}
export class NotImplemented extends BerthError {
  override readonly code = 'not_implemented';
}
export class NotModified extends BerthError {
  override readonly code = 'not_modified';
}
/** Credentials missing or refused (a registry's `unauthorized`/`denied`). */
export class Unauthorized extends BerthError {
  override readonly code = 'unauthorized';
}
/** Never allowed, whatever the state (Docker's errdefs.Forbidden: removing a pre-defined network). */
export class Forbidden extends BerthError {
  override readonly code = 'forbidden';
}
export class Internal extends BerthError {
  override readonly code = 'internal';
}

export function isBerthError(e: unknown): e is BerthError {
  return e instanceof BerthError;
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
