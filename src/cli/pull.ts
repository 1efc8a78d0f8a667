import type { Writable } from 'node:stream';
import { displayJsonMessages } from '../client/index.js';
import { InvalidArgument } from '../core/errors.js';
import { familiarName, formatReference, parseReference, withDefaultTag } from '../core/reference.js';
import type { Cli } from './context.js';

/**
 * `POST /images/create?fromImage=NAME&tag=TAG` as the docker client sends it (familiar
 * name, tag or digest separately), printing the progress messages to `out`.
 * Returns the fully qualified reference (`docker.io/library/busybox:latest`).
 */
export async function pullImage(cli: Cli, image: string, opts: { platform?: string; out?: Writable; all?: boolean } = {}): Promise<string> {
  const parsed = parseReference(image);
  if (parsed.tag !== undefined && parsed.digest !== undefined && opts.all) throw new InvalidArgument('tag can\'t be used with --all-tags/-a');
  const ref = opts.all ? parsed : withDefaultTag(parsed);
  const res = await cli.client().request('POST', '/images/create', {
    query: {
      fromImage: familiarName(ref.repository),
      tag: ref.digest ?? ref.tag,
      platform: opts.platform,
    },
    headers: { 'X-Registry-Auth': 'e30=' },
  });
  await displayJsonMessages(res.stream, opts.out);
  return formatReference(ref);
}
