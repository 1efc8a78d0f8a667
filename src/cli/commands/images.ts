/** images / image ls, tag, rmi / image rm, history. */
import { pathSegment } from '../../client/index.js';
import { errorMessage } from '../../core/errors.js';
import { parseReference } from '../../core/reference.js';
import { formatRows } from '../format/index.js';
import { filtersJson, forEachTarget, StatusError, type CommandDef } from '../context.js';
import { HISTORY_HEADERS, HISTORY_TABLE, IMAGES_DIGEST_TABLE, IMAGES_HEADERS, IMAGES_TABLE, historyRow, imageRows, type HistoryEntry, type ImageSummary } from '../rows.js';
import { goQuote } from '../units.js';
import { repoTag } from './container-misc.js';

const img = (name: string) => `/images/${pathSegment(name)}`;

export const images: CommandDef = {
  name: 'images',
  usage: '[OPTIONS] [REPOSITORY[:TAG]]',
  description: 'List images',
  flags: [
    { long: 'all', short: 'a', kind: 'bool', help: 'Show all images (default hides intermediate images)' },
    { long: 'digests', kind: 'bool', help: 'Show digests' },
    { long: 'filter', short: 'f', kind: 'list', type: 'filter', help: 'Filter output based on conditions provided' },
    { long: 'format', kind: 'string', help: "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go template" },
    { long: 'no-trunc', kind: 'bool', help: "Don't truncate output" },
    { long: 'quiet', short: 'q', kind: 'bool', help: 'Only show image IDs' },
  ],
  maxArgs: 1,
  async run(cli, f, args) {
    const extra: Record<string, string[]> = args[0] !== undefined ? { reference: [args[0]] } : {};
    const list = await cli.client().json<ImageSummary[]>('GET', '/images/json', {
      query: { all: f.bool('all') || undefined, filters: filtersJson(f.list('filter'), extra) },
    });
    const rows = imageRows(list ?? [], { trunc: !f.bool('no-trunc'), digests: f.bool('digests') });
    let format = f.str('format');
    if (f.bool('quiet') && (format === undefined || format === '')) format = '{{.ID}}';
    cli.out(formatRows(format, rows, { table: f.bool('digests') ? IMAGES_DIGEST_TABLE : IMAGES_TABLE, headers: IMAGES_HEADERS, context: '*formatter.imageContext' }));
    return 0;
  },
};

export const tag: CommandDef = {
  name: 'tag',
  usage: 'SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]',
  description: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
  flags: [],
  minArgs: 2,
  maxArgs: 2,
  async run(cli, _f, args) {
    const [source = '', target = ''] = args;
    // As docker's client words it (ImageTag), the reference's own error last.
    const checked = <T>(ref: string, parse: () => T): T => {
      try {
        return parse();
      } catch (e) {
        // (the reference is named once: berth's own message ends with it too)
        const why = errorMessage(e).replace(`: ${ref}`, '');
        throw new StatusError(1, `Error parsing reference: ${goQuote(ref)} is not a valid repository/tag: ${why}`);
      }
    };
    if (!/^[a-f0-9]{64}$/.test(source) && !source.startsWith('sha256:')) checked(source, () => parseReference(source));
    const parsedTarget = checked(target, () => parseReference(target));
    if (parsedTarget.digest !== undefined) throw new StatusError(1, 'refusing to create a tag with a digest reference');
    const { repo, tag: t } = repoTag(target);
    await cli.client().call('POST', `${img(source)}/tag`, { query: { repo, tag: t } });
    return 0;
  },
};

export const rmi: CommandDef = {
  name: 'rmi',
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  description: 'Remove one or more images',
  flags: [
    { long: 'force', short: 'f', kind: 'bool', help: 'Force removal of the image' },
    { long: 'no-prune', kind: 'bool', help: 'Do not delete untagged parents' },
  ],
  minArgs: 1,
  async run(cli, f, args) {
    // Sequential, like docker: removing one image can affect the next.
    let code = 0;
    for (const name of args) {
      code |= await forEachTarget(cli, [name], async () => {
        const res = await cli.client().json<{ Untagged?: string; Deleted?: string }[]>('DELETE', img(name), {
          query: { force: f.bool('force') || undefined, noprune: f.bool('no-prune') || undefined },
        });
        const lines = (res ?? []).map((d) => (d.Deleted ? `Deleted: ${d.Deleted}` : `Untagged: ${d.Untagged ?? ''}`));
        return lines.length > 0 ? lines.join('\n') : undefined;
      });
    }
    return code;
  },
};

export const history: CommandDef = {
  name: 'history',
  usage: '[OPTIONS] IMAGE',
  description: 'Show the history of an image',
  flags: [
    { long: 'format', kind: 'string', help: "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go template" },
    { long: 'human', short: 'H', kind: 'bool', default: true, help: 'Print sizes and dates in human readable format' },
    { long: 'no-trunc', kind: 'bool', help: "Don't truncate output" },
    { long: 'quiet', short: 'q', kind: 'bool', help: 'Only show image IDs' },
  ],
  minArgs: 1,
  maxArgs: 1,
  async run(cli, f, args) {
    const list = await cli.client().json<HistoryEntry[]>('GET', `${img(args[0] as string)}/history`);
    const now = Date.now();
    const rows = (list ?? []).map((h) => historyRow(h, { trunc: !f.bool('no-trunc'), human: f.bool('human'), now }));
    let format = f.str('format');
    if (f.bool('quiet') && (format === undefined || format === '')) format = '{{.ID}}';
    cli.out(formatRows(format, rows, { table: HISTORY_TABLE, headers: HISTORY_HEADERS, context: '*image.historyContext' }));
    return 0;
  },
};
