import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NODE_FLAGS, daemonArgs } from './autostart.js';

describe('daemon auto-start', () => {
  it('starts node with the flags bin/berth gives the daemon', () => {
    const launcher = readFileSync(new URL('../../bin/berth', import.meta.url), 'utf8').split('\n')[1] ?? '';
    expect(launcher).toContain(`daemon) exec node ${NODE_FLAGS.join(' ')} "$0" "$@";;`);
    expect(launcher).toMatch(/; exec node "\$0" "\$@"$/);
    const args = daemonArgs('/run/x/berth.sock', { BERTH_ROOT: '/r', BERTH_EXEC_ROOT: '/e' });
    expect(args.slice(0, NODE_FLAGS.length)).toEqual(NODE_FLAGS);
    expect(args.slice(NODE_FLAGS.length + 1)).toEqual(['daemon', '--host', 'unix:///run/x/berth.sock', '--root', '/r', '--exec-root', '/e']);
  });
});
