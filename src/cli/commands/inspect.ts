/**
 * `berth inspect` (container, then image, unless --type), `container inspect` and
 * `image inspect`: a JSON array indented with 4 spaces, or one template per object.
 */
import { pathSegment } from '../../client/index.js';
import { NotFound } from '../../core/errors.js';
import type { Flags } from '../args.js';
import { formatError, type Cli, type CommandDef } from '../context.js';

type Kind = 'container' | 'image' | 'network' | 'volume';

const KINDS: readonly Kind[] = ['container', 'image', 'network', 'volume'];

async function fetchOne(cli: Cli, kind: Kind, name: string, size: boolean): Promise<unknown> {
  const client = cli.client();
  if (kind === 'container') {
    return client.json('GET', `/containers/${encodeURIComponent(name)}/json`, { query: { size: size || undefined } });
  }
  if (kind === 'network') return client.json('GET', `/networks/${encodeURIComponent(name)}`);
  if (kind === 'volume') return client.json('GET', `/volumes/${encodeURIComponent(name)}`);
  return client.json('GET', `/images/${pathSegment(name)}/json`);
}

class NoSuchObject extends Error {}

/** One kind: the daemon's own answer, as docker shows it; several: the first that has it. */
async function lookup(cli: Cli, kinds: readonly Kind[], name: string, size: boolean): Promise<unknown> {
  if (kinds.length === 1) return fetchOne(cli, kinds[0] as Kind, name, size);
  for (const kind of kinds) {
    try {
      return await fetchOne(cli, kind, name, size);
    } catch (e) {
      if (!(e instanceof NotFound)) throw e;
    }
  }
  throw new NoSuchObject(`Error: No such object: ${name}`);
}

/** Renders found objects like docker's inspector; returns false if any lookup failed. */
async function inspectAll(cli: Cli, kinds: readonly Kind[], names: readonly string[], format: string | undefined, size: boolean): Promise<number> {
  const results = await Promise.allSettled(names.map((n) => lookup(cli, kinds, n, size)));
  const found: unknown[] = [];
  let failed = false;
  const errors: string[] = [];
  for (const r of results) {
    if (r.status === 'fulfilled') found.push(r.value);
    else {
      failed = true;
      errors.push(r.reason instanceof NoSuchObject ? r.reason.message : formatError(r.reason));
    }
  }
  if (format !== undefined && format !== '') {
    const { formatOne } = await import('../format/index.js');
    for (const v of found) cli.out(formatOne(format, v));
  } else {
    cli.out(found.length === 0 ? '[]\n' : `${JSON.stringify(found, null, 4)}\n`);
  }
  for (const e of errors) cli.err(`${e}\n`);
  return failed ? 1 : 0;
}

const FORMAT_FLAG = { long: 'format', short: 'f', kind: 'string', help: "Format output using a custom template: 'json' or a Go template" } as const;

export const inspect: CommandDef = {
  name: 'inspect',
  usage: '[OPTIONS] NAME|ID [NAME|ID...]',
  description: 'Return low-level information on berth objects',
  flags: [
    FORMAT_FLAG,
    { long: 'size', short: 's', kind: 'bool', help: 'Display total file sizes if the type is container' },
    { long: 'type', kind: 'string', help: 'Return JSON for specified type' },
  ],
  minArgs: 1,
  async run(cli: Cli, f: Flags, args: string[]) {
    const type = f.str('type') ?? '';
    let kinds: Kind[];
    if (type === '') kinds = [...KINDS];
    else if ((KINDS as readonly string[]).includes(type)) kinds = [type as Kind];
    else throw new Error(`"${type}" is not a valid value for --type`);
    return inspectAll(cli, kinds, args, f.str('format'), f.bool('size'));
  },
};

export const containerInspect: CommandDef = {
  name: 'container inspect',
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Display detailed information on one or more containers',
  flags: [FORMAT_FLAG, { long: 'size', short: 's', kind: 'bool', help: 'Display total file sizes' }],
  minArgs: 1,
  run: (cli, f, args) => inspectAll(cli, ['container'], args, f.str('format'), f.bool('size')),
};

export const imageInspect: CommandDef = {
  name: 'image inspect',
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  description: 'Display detailed information on one or more images',
  flags: [FORMAT_FLAG],
  minArgs: 1,
  run: (cli, f, args) => inspectAll(cli, ['image'], args, f.str('format'), false),
};
