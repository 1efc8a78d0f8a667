/** top, diff, export, port, commit. */
import { InvalidArgument, errorMessage } from '../../core/errors.js';
import { familiarName, parseReference, withDefaultTag } from '../../core/reference.js';
import { copyToOutput, StatusError, type CommandDef } from '../context.js';
import { portLines, type PortMap } from '../ports.js';
import { tabwrite } from '../tabwriter.js';

const c = (name: string) => `/containers/${encodeURIComponent(name)}`;

export const top: CommandDef = {
  name: 'top',
  usage: 'CONTAINER [ps OPTIONS]',
  description: 'Display the running processes of a container',
  flags: [],
  interspersed: false,
  minArgs: 1,
  async run(cli, _f, args) {
    const [name = '', ...psArgs] = args;
    const res = await cli.client().json<{ Titles: string[]; Processes: string[][] | null }>('GET', `${c(name)}/top`, {
      query: { ps_args: psArgs.length > 0 ? psArgs.join(' ') : undefined },
    });
    cli.out(tabwrite([res.Titles, ...(res.Processes ?? [])], { minWidth: 20, padding: 3 }));
    return 0;
  },
};

const KINDS = ['C', 'A', 'D'];

export const diff: CommandDef = {
  name: 'diff',
  usage: 'CONTAINER',
  description: "Inspect changes to files or directories on a container's filesystem",
  flags: [],
  minArgs: 1,
  maxArgs: 1,
  async run(cli, _f, args) {
    const changes = await cli.client().json<{ Path: string; Kind: number }[] | null>('GET', `${c(args[0] as string)}/changes`);
    cli.out((changes ?? []).map((ch) => `${KINDS[ch.Kind] ?? '?'} ${ch.Path}\n`).join(''));
    return 0;
  },
};

export const exportCmd: CommandDef = {
  name: 'export',
  usage: '[OPTIONS] CONTAINER',
  description: "Export a container's filesystem as a tar archive",
  flags: [{ long: 'output', short: 'o', kind: 'string', help: 'Write to a file, instead of STDOUT' }],
  minArgs: 1,
  maxArgs: 1,
  async run(cli, f, args) {
    const out = f.str('output');
    if ((out === undefined || out === '') && cli.io.stdout.isTTY) throw new Error('cowardly refusing to save to a terminal. Use the -o flag or redirect');
    const res = await cli.client().request('GET', `${c(args[0] as string)}/export`);
    await copyToOutput(cli, res.stream, out);
    return 0;
  },
};

export const port: CommandDef = {
  name: 'port',
  usage: 'CONTAINER [PRIVATE_PORT[/PROTO]]',
  description: 'List port mappings or a specific mapping for the container',
  flags: [],
  minArgs: 1,
  maxArgs: 2,
  async run(cli, _f, args) {
    const [name = '', want] = args;
    const info = await cli.client().json<{ NetworkSettings?: { Ports?: PortMap | null } | null }>('GET', `${c(name)}/json`);
    let lines: string[];
    try {
      lines = portLines(info.NetworkSettings?.Ports, name, want);
    } catch (e) {
      // Printed as is, like the docker CLI (`Error: No public port '80/tcp' published for web`).
      throw new StatusError(1, errorMessage(e));
    }
    if (lines.length > 0) cli.out(`${lines.join('\n')}\n`);
    return 0;
  },
};

/** The repo/tag query parameters docker derives from `REPOSITORY[:TAG]`. */
export function repoTag(ref: string | undefined): { repo: string; tag: string } {
  if (ref === undefined || ref === '') return { repo: '', tag: '' };
  const parsed = parseReference(ref);
  if (parsed.digest !== undefined) throw new InvalidArgument('refusing to create a tag with a digest reference');
  const tagged = withDefaultTag(parsed);
  return { repo: familiarName(tagged.repository), tag: tagged.tag ?? '' };
}

export const commit: CommandDef = {
  name: 'commit',
  usage: '[OPTIONS] CONTAINER [REPOSITORY[:TAG]]',
  description: "Create a new image from a container's changes",
  flags: [
    { long: 'author', short: 'a', kind: 'string', help: 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")' },
    { long: 'change', short: 'c', kind: 'list', help: 'Apply Dockerfile instruction to the created image' },
    { long: 'message', short: 'm', kind: 'string', help: 'Commit message' },
    { long: 'pause', short: 'p', kind: 'bool', default: true, help: 'Pause container during commit' },
  ],
  minArgs: 1,
  maxArgs: 2,
  async run(cli, f, args) {
    const [container = '', ref] = args;
    const { repo, tag } = repoTag(ref);
    const res = await cli.client().json<{ Id: string }>('POST', '/commit', {
      query: {
        container,
        repo,
        tag,
        comment: f.str('message') ?? '',
        author: f.str('author') ?? '',
        changes: f.list('change'),
        pause: f.bool('pause') ? undefined : '0',
      },
    });
    cli.out(`${res.Id}\n`);
    return 0;
  },
};
