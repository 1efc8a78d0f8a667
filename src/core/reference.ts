import { InvalidArgument } from './errors.js';

/**
 * Image references with Docker's normalisation: `busybox` is
 * `docker.io/library/busybox:latest`, `localhost:5000/app` keeps its registry.
 * Grammar from the distribution reference package: [domain/]path[:tag][@digest].
 */
export interface Reference {
  /** Fully qualified repository, e.g. `docker.io/library/busybox`. */
  readonly repository: string;
  readonly domain: string;
  /** Repository path without the domain, e.g. `library/busybox`. */
  readonly path: string;
  readonly tag?: string;
  readonly digest?: string;
}

const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_PREFIX = 'library/';

const pathComponent = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const tagPattern = /^[\w][\w.-]{0,127}$/;
const digestPattern = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const domainPattern = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?$|^\[[a-fA-F0-9:]+\](?::[0-9]+)?$/;
const idPattern = /^[a-f0-9]{64}$/;

/** Parses and normalises a reference. Throws InvalidArgument with Docker's wording. */
export function parseReference(input: string): Reference {
  if (input === '') throw new InvalidArgument('invalid reference format');
  if (idPattern.test(input)) {
    throw new InvalidArgument(
      `invalid repository name (${input}), cannot specify 64-byte hexadecimal strings`,
    );
  }
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!digestPattern.test(digest)) throw new InvalidArgument(`invalid reference format: ${input}`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!tagPattern.test(tag)) throw new InvalidArgument(`invalid reference format: ${input}`);
  }
  let domain = DEFAULT_DOMAIN;
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (/[.:]/.test(first) || first === 'localhost' || first.toLowerCase() !== first) {
      domain = first;
      path = rest.slice(slash + 1);
      if (!domainPattern.test(domain)) throw new InvalidArgument(`invalid reference format: ${input}`);
    }
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (path !== path.toLowerCase()) {
    // Named as distribution/reference names it: the path an official image has on the hub.
    const remote = domain === DEFAULT_DOMAIN && !path.includes('/') ? OFFICIAL_PREFIX + path : path;
    throw new InvalidArgument(`invalid reference format: repository name (${remote}) must be lowercase`);
  }
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = OFFICIAL_PREFIX + path;
  if (path === '' || !path.split('/').every((c) => pathComponent.test(c))) {
    throw new InvalidArgument(`invalid reference format: ${input}`);
  }
  if (domain.length + 1 + path.length > 255) throw new InvalidArgument('repository name must not be more than 255 characters');
  const ref: { repository: string; domain: string; path: string; tag?: string; digest?: string } = {
    repository: `${domain}/${path}`,
    domain,
    path,
  };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** Adds `latest` when neither tag nor digest is given (Docker's TagNameOnly). */
export function withDefaultTag(ref: Reference): Reference {
  return ref.tag === undefined && ref.digest === undefined ? { ...ref, tag: 'latest' } : ref;
}

/** `docker.io/library/busybox:latest` */
export function formatReference(ref: Reference): string {
  return ref.repository + (ref.tag !== undefined ? `:${ref.tag}` : '') + (ref.digest !== undefined ? `@${ref.digest}` : '');
}

/** The short form Docker shows: `busybox:latest`, `user/app:1`, `localhost:5000/app:1`. */
export function familiarName(repository: string): string {
  if (repository.startsWith(`${DEFAULT_DOMAIN}/`)) {
    const p = repository.slice(DEFAULT_DOMAIN.length + 1);
    return p.startsWith(OFFICIAL_PREFIX) && p.indexOf('/', OFFICIAL_PREFIX.length) < 0 ? p.slice(OFFICIAL_PREFIX.length) : p;
  }
  return repository;
}

export function familiarString(ref: Reference): string {
  return familiarName(ref.repository) + (ref.tag !== undefined ? `:${ref.tag}` : '') + (ref.digest !== undefined ? `@${ref.digest}` : '');
}
