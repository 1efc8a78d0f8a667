import type { Writable } from 'node:stream';
import { encodeRegistryAuth, getCredentials, serverAddressFor } from '../client/auth.js';
import { displayJsonMessages } from '../client/index.js';
import { InvalidArgument } from '../core/errors.js';
import { familiarName, formatReference, parseReference, withDefaultTag } from '../core/reference.js';
import type { Cli } from './context.js';

type Output = Writable & { isTTY?: boolean; columns?: number };

/**
 * `X-Registry-Auth` for a reference's registry, from config.json or its credential helper
 * (`e30=`, no credentials, when there are none or the helper fails).
 */
export async function registryAuthHeader(cli: Cli, image: string): Promise<string> {
  const ref = parseReference(image);
  const server = serverAddressFor(ref.domain);
  try {
    return encodeRegistryAuth(await getCredentials(cli.io.env, server));
  } catch (e) {
    if (cli.debug) cli.err(`berth: reading credentials for ${server}: ${(e as Error).message}\n`);
    return encodeRegistryAuth(undefined);
  }
}

/** How a progress stream is shown on `out`: redrawn in place on a terminal, plain lines otherwise. */
export function progressDisplay(out: Output | undefined): { terminal?: { columns: () => number } } {
  if (out === undefined || out.isTTY !== true) return {};
  return { terminal: { columns: () => out.columns ?? 80 } };
}

/**
 * `POST /images/create?fromImage=NAME&tag=TAG` as the docker client sends it (familiar
 * name, tag or digest separately), printing the progress messages to `out`.
 * Returns the fully qualified reference (`docker.io/library/busybox:latest`).
 */
export async function pullImage(cli: Cli, image: string, opts: { platform?: string; out?: Output; all?: boolean } = {}): Promise<string> {
  const parsed = parseReference(image);
  if (opts.all && (parsed.tag !== undefined || parsed.digest !== undefined)) throw new InvalidArgument("tag can't be used with --all-tags/-a");
  const ref = opts.all ? parsed : withDefaultTag(parsed);
  const res = await cli.client().request('POST', '/images/create', {
    query: {
      fromImage: familiarName(ref.repository),
      tag: ref.digest ?? ref.tag,
      platform: opts.platform,
    },
    headers: { 'X-Registry-Auth': await registryAuthHeader(cli, image) },
  });
  await displayJsonMessages(res.stream, opts.out, progressDisplay(opts.out));
  return formatReference(ref);
}
