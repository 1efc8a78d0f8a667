/**
 * Registry errors as a user can act on them: the distribution spec's error body
 * (`{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}`) in Docker's
 * wording (`manifest unknown: manifest unknown`), the HTTP status when there is no body,
 * and network failures that name the host (`dial tcp 127.0.0.1:5000: connect: connection refused`).
 */
import { BerthError, InvalidArgument, NotFound, Unauthorized, Unavailable } from '../../core/errors.js';

export interface RegistryErrorEntry {
  code: string;
  message: string;
  detail?: unknown;
}

/** The `errors` of a distribution error body; empty when the body is something else. */
export function parseErrorBody(body: string): RegistryErrorEntry[] {
  const t = body.trim();
  if (!t.startsWith('{')) return [];
  try {
    const j = JSON.parse(t) as { errors?: unknown; details?: unknown };
    if (!Array.isArray(j.errors)) return [];
    return j.errors
      .filter((e): e is Record<string, unknown> => e !== null && typeof e === 'object')
      .map((e) => ({ code: typeof e.code === 'string' ? e.code : 'UNKNOWN', message: typeof e.message === 'string' ? e.message : '', ...(e.detail !== undefined ? { detail: e.detail } : {}) }));
  } catch {
    return [];
  }
}

/** errcode's `ErrorCode.Error()`: `MANIFEST_UNKNOWN` → `manifest unknown`. */
export function codeText(code: string): string {
  return code.toLowerCase().replace(/_/g, ' ');
}

/** One entry as Docker prints it: `manifest unknown: manifest unknown`; several joined by `, `. */
export function formatErrors(errors: readonly RegistryErrorEntry[]): string {
  return errors.map((e) => (e.message !== '' ? `${codeText(e.code)}: ${e.message}` : codeText(e.code))).join(', ');
}

/** An error answer of a registry, with its status and error codes kept for callers that branch on them. */
export class RegistryError extends BerthError {
  constructor(
    message: string,
    readonly status: number,
    readonly codes: readonly string[],
    readonly kind: 'not_found' | 'unauthorized' | 'denied' | 'rate_limited' | 'invalid' | 'server',
  ) {
    super(message);
  }
}

/** The error class a registry answer maps to (what the API returns when it is not mid-stream). */
export function toBerthError(e: RegistryError): BerthError {
  switch (e.kind) {
    case 'not_found':
      return new NotFound(e.message, { cause: e });
    case 'unauthorized':
    case 'denied':
      return new Unauthorized(e.message, { cause: e });
    case 'rate_limited':
    case 'server':
      return new Unavailable(e.message, { cause: e });
    default:
      return new InvalidArgument(e.message, { cause: e });
  }
}

/** Builds the error for a non-2xx registry answer. */
export function registryError(status: number, body: string, statusText: string): RegistryError {
  const errors = parseErrorBody(body);
  const codes = errors.map((e) => e.code);
  let text = formatErrors(errors);
  if (text === '') {
    const plain = body.trim();
    if (status === 401) text = 'unauthorized: authentication required';
    else if (status === 429) text = `toomanyrequests: ${plain !== '' && plain.length < 300 && !plain.startsWith('<') ? plain : 'too many requests'}`;
    else text = `${status} ${statusText}${plain !== '' && plain.length < 300 && !plain.startsWith('<') ? `: ${plain}` : ''}`;
  }
  let kind: RegistryError['kind'];
  if (status === 401 || codes.includes('UNAUTHORIZED')) kind = 'unauthorized';
  else if (status === 403 || codes.includes('DENIED')) kind = 'denied';
  else if (status === 429 || codes.includes('TOOMANYREQUESTS')) kind = 'rate_limited';
  else if (status === 404 || codes.some((c) => c.endsWith('_UNKNOWN'))) kind = 'not_found';
  else if (status >= 500) kind = 'server';
  else kind = 'invalid';
  return new RegistryError(text, status, codes, kind);
}

/** Go's net error text for a Node socket error, so messages read like Docker's. */
export function networkErrorText(e: NodeJS.ErrnoException, hostPort: string): string {
  const host = hostPort.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  switch (e.code) {
    case 'ECONNREFUSED':
      return `dial tcp ${hostPort}: connect: connection refused`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `dial tcp: lookup ${host}: no such host`;
    case 'ETIMEDOUT':
    case 'ECONNABORTED':
      return `dial tcp ${hostPort}: i/o timeout`;
    case 'EHOSTUNREACH':
      return `dial tcp ${hostPort}: connect: no route to host`;
    case 'ENETUNREACH':
      return `dial tcp ${hostPort}: connect: network is unreachable`;
    case 'ECONNRESET':
      return `read tcp ${hostPort}: connection reset by peer`;
    case 'EPIPE':
      return `write tcp ${hostPort}: broken pipe`;
    default:
      break;
  }
  if (isTlsError(e)) return tlsErrorText(e, hostPort);
  return e.message;
}

const TLS_VERIFY_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_UNTRUSTED',
  'CERT_REVOKED',
]);

export function isTlsError(e: NodeJS.ErrnoException): boolean {
  return (e.code !== undefined && (TLS_VERIFY_CODES.has(e.code) || e.code.startsWith('ERR_SSL') || e.code === 'EPROTO')) || /SSL|TLS|certificate/i.test(e.message);
}

/** Whether a TLS failure is about the peer's certificate (not a plain-HTTP server on the port). */
export function isCertificateError(e: NodeJS.ErrnoException): boolean {
  return e.code !== undefined && TLS_VERIFY_CODES.has(e.code);
}

function tlsErrorText(e: NodeJS.ErrnoException, hostPort: string): string {
  const hint = ` (if ${hostPort} is a registry you trust, put its CA certificate in /etc/docker/certs.d/${hostPort}/ca.crt, or add "${hostPort}" to "insecure-registries" in daemon.json)`;
  switch (e.code) {
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
      return `tls: failed to verify certificate: x509: certificate signed by unknown authority${hint}`;
    case 'CERT_HAS_EXPIRED':
      return `tls: failed to verify certificate: x509: certificate has expired or is not yet valid${hint}`;
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `tls: failed to verify certificate: x509: certificate is not valid for ${hostPort.replace(/:\d+$/, '')}${hint}`;
    default:
      if (/wrong version number|packet length too long|http request/i.test(e.message)) return 'http: server gave HTTP response to HTTPS client';
      return `tls: ${e.message}${hint}`;
  }
}
