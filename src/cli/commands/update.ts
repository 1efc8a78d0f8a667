/**
 * update: new limits and restart policy for containers. A module of its own, so that `rm`,
 * `stop` and the others never load `run`'s flag table (container-opts.ts) with it.
 */
import { updateBody, UPDATE_FLAGS } from '../container-opts.js';
import { forEachTarget, type CommandDef } from '../context.js';

export const update: CommandDef = {
  name: 'update',
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Update configuration of one or more containers',
  flags: UPDATE_FLAGS,
  minArgs: 1,
  run: async (cli, f, args) => {
    const body = updateBody(f);
    const warnings: string[] = [];
    const status = await forEachTarget(cli, args, async (t) => {
      const r = await cli.client().json<{ Warnings?: string[] | null } | undefined>('POST', `/containers/${encodeURIComponent(t)}/update`, { body });
      warnings.push(...(r?.Warnings ?? []));
      return t;
    });
    // After the names, on stdout, as docker prints them.
    if (warnings.length > 0) cli.out(`${warnings.join('\n')}\n`);
    return status;
  },
};
