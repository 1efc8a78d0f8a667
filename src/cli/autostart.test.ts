import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NODE_FLAGS, daemonArgs } from './autostart.js';

describe('daemon auto-start', () => {
  it('starts node with the same flags as bin/berth', () => {
    const shebang = readFileSync(new URL('../../bin/berth', import.meta.url), 'utf8').split('\n')[0] ?? '';
    expect(shebang).toBe(`#!/usr/bin/env -S node ${NODE_FLAGS.join(' ')}`);
    const args = daemonArgs('/run/x/berth.sock', { BERTH_ROOT: '/r', BERTH_EXEC_ROOT: '/e' });
    expect(args.slice(0, NODE_FLAGS.length)).toEqual(NODE_FLAGS);
    expect(args.slice(NODE_FLAGS.length + 1)).toEqual(['daemon', '--host', 'unix:///run/x/berth.sock', '--root', '/r', '--exec-root', '/e']);
  });
});
