import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MALLOC_ENV, NODE_FLAGS, daemonArgs, daemonEnv } from './autostart.js';

describe('daemon auto-start', () => {
  it('starts node with the flags bin/berth gives the daemon', () => {
    const launcher = readFileSync(new URL('../../bin/berth', import.meta.url), 'utf8').split('\n')[1] ?? '';
    const malloc = Object.entries(MALLOC_ENV).map(([k, v]) => `${k}=\${${k}:-${v}}`).join(' ');
    expect(launcher).toContain(`daemon) ${malloc} exec node ${NODE_FLAGS.join(' ')} "$0" "$@";;`);
    // The CLI: only the flag that spares V8 its hash-seed search (bin/berth sets it back at once).
    expect(launcher).toMatch(/; exec node --no-rehash-snapshot "\$0" "\$@"$/);
    const args = daemonArgs('/run/x/berth.sock', { BERTH_ROOT: '/r', BERTH_EXEC_ROOT: '/e' });
    expect(args.slice(0, NODE_FLAGS.length)).toEqual(NODE_FLAGS);
    expect(args.slice(NODE_FLAGS.length + 1)).toEqual(['daemon', '--host', 'unix:///run/x/berth.sock', '--root', '/r', '--exec-root', '/e']);
  });

  it('gives the daemon glibc malloc settings, unless the environment has its own', () => {
    expect(daemonEnv({ PATH: '/bin' })).toEqual({ PATH: '/bin', MALLOC_ARENA_MAX: '2', MALLOC_TRIM_THRESHOLD_: '32768' });
    expect(daemonEnv({ MALLOC_ARENA_MAX: '8' })).toMatchObject({ MALLOC_ARENA_MAX: '8', MALLOC_TRIM_THRESHOLD_: '32768' });
  });

  it('the shell line gives them to the daemon it starts, and leaves those set alone', () => {
    const env = (extra: Record<string, string>) =>
      execFileSync('sh', ['-c', `${(readFileSync(new URL('../../bin/berth', import.meta.url), 'utf8').split('\n')[1] ?? '').replace(/exec node [^;]*;;/, 'exec env;;')}`, 'berth', 'daemon'], { env: { PATH: process.env.PATH ?? '', ...extra }, encoding: 'utf8' });
    expect(env({})).toMatch(/^MALLOC_ARENA_MAX=2$/m);
    expect(env({})).toMatch(/^MALLOC_TRIM_THRESHOLD_=32768$/m);
    expect(env({ MALLOC_ARENA_MAX: '4' })).toMatch(/^MALLOC_ARENA_MAX=4$/m);
  });
});
