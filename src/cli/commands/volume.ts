/**
 * `berth volume create|ls|inspect|rm` (and `volume prune`, in prune.ts): the docker CLI's
 * volume commands over the Engine API's /volumes endpoints, with its flags, messages and output.
 */
import { isDaemonError } from '../../client/index.js';
import { InvalidArgument } from '../../core/errors.js';
import { filtersJson, formatError, StatusError, type CommandDef } from '../context.js';
import { renderInspect, renderVolumeList, volumeCreateRequest, volumeInspectView, type VolumeResource } from '../volumes.js';

/**
 * Runs a formatter: template mistakes print as the docker CLI's formatter prints them
 * (`template parsing error: template: :1: ...`, exit 1).
 */
export function formatted(render: () => string): string {
  try {
    return render();
  } catch (e) {
    if (e instanceof InvalidArgument && !isDaemonError(e) && e.message.startsWith('template: ')) throw new StatusError(1, `template parsing error: ${e.message}`);
    throw e;
  }
}

const vol = (name: string) => `/volumes/${encodeURIComponent(name)}`;

const LIST_FORMAT_HELP = "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go template";
const INSPECT_FORMAT_HELP = "Format output using a custom template: 'json' or a Go template";

export const volumeCreate: CommandDef = {
  name: 'volume create',
  usage: '[OPTIONS] [VOLUME]',
  description: 'Create a volume',
  flags: [
    { long: 'driver', short: 'd', kind: 'string', default: 'local', help: 'Specify volume driver name' },
    { long: 'label', kind: 'list', help: 'Set metadata for a volume' },
    { long: 'name', kind: 'string', help: 'Specify volume name', hidden: true },
    { long: 'opt', short: 'o', kind: 'list', type: 'map', help: 'Set driver specific options' },
  ],
  maxArgs: 1,
  async run(cli, f, args) {
    let name = f.str('name') ?? '';
    if (args[0] !== undefined) {
      if (name !== '') throw new StatusError(1, 'conflicting options: cannot specify a volume-name through both --name and as a positional arg');
      name = args[0];
    }
    const body = volumeCreateRequest(name, { driver: f.str('driver') ?? 'local', opts: f.list('opt'), labels: f.list('label') });
    const v = await cli.client().json<VolumeResource>('POST', '/volumes/create', { body });
    cli.out(`${v.Name}\n`);
    return 0;
  },
};

export const volumeLs: CommandDef = {
  name: 'volume ls',
  usage: '[OPTIONS]',
  description: 'List volumes',
  flags: [
    { long: 'filter', short: 'f', kind: 'list', type: 'filter', help: 'Provide filter values (e.g. "dangling=true")' },
    { long: 'format', kind: 'string', help: LIST_FORMAT_HELP },
    { long: 'quiet', short: 'q', kind: 'bool', help: 'Only display volume names' },
  ],
  maxArgs: 0,
  async run(cli, f) {
    const r = await cli.client().json<{ Volumes?: VolumeResource[] | null } | null>('GET', '/volumes', { query: { filters: filtersJson(f.list('filter')) } });
    cli.out(formatted(() => renderVolumeList(r?.Volumes ?? [], { format: f.str('format'), quiet: f.bool('quiet') })));
    return 0;
  },
};

export const volumeInspect: CommandDef = {
  name: 'volume inspect',
  usage: '[OPTIONS] VOLUME [VOLUME...]',
  description: 'Display detailed information on one or more volumes',
  flags: [{ long: 'format', short: 'f', kind: 'string', help: INSPECT_FORMAT_HELP }],
  minArgs: 1,
  async run(cli, f, args) {
    // One after the other, like docker's inspector; errors after the output.
    const found: unknown[] = [];
    const errors: string[] = [];
    for (const name of args) {
      try {
        found.push(volumeInspectView(await cli.client().json<VolumeResource>('GET', vol(name))));
      } catch (e) {
        errors.push(formatError(e));
      }
    }
    cli.out(await renderInspect(found, f.str('format')));
    if (errors.length > 0) throw new StatusError(1, errors.join('\n'));
    return 0;
  },
};

export const volumeRm: CommandDef = {
  name: 'volume rm',
  usage: '[OPTIONS] VOLUME [VOLUME...]',
  description: 'Remove one or more volumes. You cannot remove a volume that is in use by a container.',
  flags: [{ long: 'force', short: 'f', kind: 'bool', help: 'Force the removal of one or more volumes' }],
  minArgs: 1,
  async run(cli, f, args) {
    // One after the other: each name printed once removed, the errors together at the end.
    const errors: string[] = [];
    for (const name of args) {
      try {
        await cli.client().call('DELETE', vol(name), { query: { force: f.bool('force') || undefined } });
        cli.out(`${name}\n`);
      } catch (e) {
        errors.push(formatError(e));
      }
    }
    if (errors.length > 0) throw new StatusError(1, errors.join('\n'));
    return 0;
  },
};
