/**
 * `berth manifest create|annotate|inspect|push|rm`: the docker CLI's `docker manifest`, for
 * making multi-platform images out of images already in a registry. Local lists live where
 * docker keeps them (`~/.docker/manifests`, src/client/manifest-store.ts), so either CLI can
 * carry on a list the other began. The registry work (reading manifests and their configs,
 * pushing the list) is done by the daemon (`/berth/manifests/*`): the CLI never imports the
 * engine, and the daemon has the registry client, daemon.json's registry settings and certs.d.
 */
import { manifestsDir, ManifestStore } from '../../client/manifest-store.js';
import { errorMessage, InvalidArgument, NotFound } from '../../core/errors.js';
import { annotateEntry, assembleManifestList, normalizeManifestRef, type ImageManifestEntry } from '../../core/manifest-list.js';
import { formatReference, type Reference } from '../../core/reference.js';
import type { Cli, CommandDef } from '../context.js';
import { registryAuthHeader } from '../pull.js';

interface RemoteManifest {
  Ref: string;
  Kind: 'manifest' | 'list';
  Raw: string;
  Manifest?: ImageManifestEntry;
  Manifests?: ImageManifestEntry[];
}

interface ListPushResult {
  Digest: string;
  Pushed?: { Ref: string; Digest: string }[];
}

function store(cli: Cli): ManifestStore {
  return new ManifestStore(manifestsDir(cli.io.env));
}

/** A reference as docker's manifest commands read it, with `what` in the error when it is not one. */
function normalize(input: string, what?: string): Reference {
  try {
    return normalizeManifestRef(input);
  } catch (e) {
    if (what === undefined) throw e;
    throw new InvalidArgument(`${what} ${input}: ${errorMessage(e)}`, { cause: e });
  }
}

async function remote(cli: Cli, ref: Reference, o: { insecure: boolean; members?: boolean }): Promise<RemoteManifest> {
  const name = formatReference(ref);
  return cli.client().json<RemoteManifest>('GET', '/berth/manifests/inspect', {
    query: { ref: name, insecure: o.insecure || undefined, members: o.members === true || undefined },
    headers: { 'X-Registry-Auth': await registryAuthHeader(cli, name) },
  });
}

const isNotFound = (e: unknown) => e instanceof NotFound;

export const manifestCreate: CommandDef = {
  name: 'manifest create',
  usage: 'MANIFEST_LIST MANIFEST [MANIFEST...]',
  description: 'Create a local manifest list for annotating and pushing to a registry',
  flags: [
    { long: 'amend', short: 'a', kind: 'bool', help: 'Amend an existing manifest list' },
    { long: 'insecure', kind: 'bool', help: 'Allow communication with an insecure registry' },
  ],
  minArgs: 2,
  async run(cli, f, args) {
    const [listArg, ...images] = args as [string, ...string[]];
    const target = formatReference(normalize(listArg, 'error parsing name for manifest list'));
    const s = store(cli);
    const existing = await s.getList(target).then(
      () => true,
      (e: unknown) => {
        if (isNotFound(e)) return false;
        throw e;
      },
    );
    if (existing && !f.bool('amend')) throw new InvalidArgument('refusing to amend an existing manifest list with no --amend flag');
    for (const image of images) {
      const ref = normalize(image);
      const name = formatReference(ref);
      // An image the list has already (with --amend) keeps its entry and annotations.
      let entry = await s.get(target, name).catch((e: unknown) => {
        if (isNotFound(e)) return undefined;
        throw e;
      });
      if (entry?.Raw === undefined) {
        const r = await remote(cli, ref, { insecure: f.bool('insecure') });
        if (r.Kind === 'list' || r.Manifest === undefined) throw new InvalidArgument(`${name} is a manifest list`);
        entry = r.Manifest;
      }
      await s.save(target, name, entry);
    }
    cli.out(`Created manifest list ${target}\n`);
    return 0;
  },
};

export const manifestAnnotate: CommandDef = {
  name: 'manifest annotate',
  usage: '[OPTIONS] MANIFEST_LIST MANIFEST',
  description: 'Add additional information to a local image manifest',
  flags: [
    { long: 'arch', kind: 'string', help: 'Set architecture' },
    { long: 'os', kind: 'string', help: 'Set operating system' },
    { long: 'os-features', kind: 'list', type: 'strings', help: 'Set operating system feature' },
    { long: 'os-version', kind: 'string', help: 'Set operating system version' },
    { long: 'variant', kind: 'string', help: 'Set architecture variant' },
  ],
  minArgs: 2,
  maxArgs: 2,
  async run(cli, f, args) {
    const [listArg, image] = args as [string, string];
    const target = formatReference(normalize(listArg, 'annotate: error parsing name for manifest list'));
    const name = formatReference(normalize(image, 'annotate: error parsing name for manifest'));
    const s = store(cli);
    const entry = await s.get(target, name).catch((e: unknown) => {
      if (isNotFound(e)) throw new NotFound(`manifest for image ${image} does not exist in ${listArg}`);
      throw e;
    });
    const osFeatures = f.list('os-features').flatMap((v) => v.split(','));
    const updated = annotateEntry(entry, {
      os: f.str('os') ?? '',
      arch: f.str('arch') ?? '',
      variant: f.str('variant') ?? '',
      osVersion: f.str('os-version') ?? '',
      osFeatures,
    });
    await s.save(target, name, updated);
    return 0;
  },
};

/** docker's printManifest: the manifest's own bytes, tab-indented; with -v the whole entry. */
function printManifest(cli: Cli, entry: ImageManifestEntry, verbose: boolean): void {
  if (verbose) {
    cli.out(`${JSON.stringify(entry, null, '\t')}\n`);
    return;
  }
  const raw = entry.Raw !== undefined ? Buffer.from(entry.Raw, 'base64').toString('utf8') : JSON.stringify(entry.SchemaV2Manifest ?? entry.OCIManifest ?? {});
  cli.out(`${JSON.stringify(JSON.parse(raw), null, '\t')}\n`);
}

export const manifestInspect: CommandDef = {
  name: 'manifest inspect',
  usage: '[OPTIONS] [MANIFEST_LIST] MANIFEST',
  description: 'Display an image manifest, or manifest list',
  flags: [
    { long: 'insecure', kind: 'bool', help: 'Allow communication with an insecure registry' },
    { long: 'verbose', short: 'v', kind: 'bool', help: 'Output additional info including layers and platform' },
  ],
  minArgs: 1,
  maxArgs: 2,
  async run(cli, f, args) {
    const verbose = f.bool('verbose');
    const s = store(cli);
    if (args.length === 2) {
      const [listArg, image] = args as [string, string];
      printManifest(cli, await s.get(formatReference(normalize(listArg)), formatReference(normalize(image))), verbose);
      return 0;
    }
    const ref = normalize(args[0] as string);
    const name = formatReference(ref);
    // A local list first, then the registry.
    const local = await s.getList(name).catch((e: unknown) => {
      if (isNotFound(e)) return undefined;
      throw e;
    });
    if (local !== undefined) {
      if (verbose) cli.out(`${JSON.stringify(local, null, '\t')}\n`);
      else cli.out(`${assembleManifestList(local, ref, { forPush: false }).json}\n`);
      return 0;
    }
    const r = await remote(cli, ref, { insecure: f.bool('insecure'), members: verbose });
    if (r.Kind === 'manifest' && r.Manifest !== undefined) {
      printManifest(cli, r.Manifest, verbose);
    } else if (verbose) {
      cli.out(`${JSON.stringify(r.Manifests ?? [], null, '\t')}\n`);
    } else {
      cli.out(`${JSON.stringify(JSON.parse(Buffer.from(r.Raw, 'base64').toString('utf8')), null, 3)}\n`);
    }
    return 0;
  },
};

export const manifestPush: CommandDef = {
  name: 'manifest push',
  usage: '[OPTIONS] MANIFEST_LIST',
  description: 'Push a manifest list to a repository',
  flags: [
    { long: 'insecure', kind: 'bool', help: 'Allow push to an insecure registry' },
    { long: 'purge', short: 'p', kind: 'bool', help: 'Remove the local manifest list after push' },
  ],
  minArgs: 1,
  maxArgs: 1,
  async run(cli, f, args) {
    const ref = normalize(args[0] as string);
    const name = formatReference(ref);
    const s = store(cli);
    const entries = await s.getList(name);
    if (entries.length === 0) throw new NotFound(`${name} not found`);
    // The list is checked here as well, so a list the registry would refuse fails before any request.
    assembleManifestList(entries, ref);
    const r = await cli.client().json<ListPushResult>('POST', '/berth/manifests/push', {
      query: { ref: name, insecure: f.bool('insecure') || undefined },
      body: { Manifests: entries },
      headers: { 'X-Registry-Auth': await registryAuthHeader(cli, name) },
    });
    for (const p of r.Pushed ?? []) cli.out(`Pushed ref ${p.Ref} with digest: ${p.Digest}\n`);
    cli.out(`${r.Digest}\n`);
    if (f.bool('purge')) await s.remove(name);
    return 0;
  },
};

export const manifestRm: CommandDef = {
  name: 'manifest rm',
  usage: 'MANIFEST_LIST [MANIFEST_LIST...]',
  description: 'Delete one or more manifest lists from local storage',
  flags: [],
  minArgs: 1,
  async run(cli, _f, args) {
    const s = store(cli);
    const errors: string[] = [];
    for (const a of args) {
      try {
        const name = formatReference(normalize(a));
        await s.getList(name);
        await s.remove(name);
      } catch (e) {
        errors.push(errorMessage(e));
      }
    }
    if (errors.length > 0) throw new InvalidArgument(errors.join('\n'));
    return 0;
  },
};
