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
  run: (cli, f, args) => {
    const body = updateBody(f);
    return forEachTarget(cli, args, async (t) => {
      await cli.client().call('POST', `/containers/${encodeURIComponent(t)}/update`, { body });
      return t;
    });
  },
};
