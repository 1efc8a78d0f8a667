import { describe, expect, it } from 'vitest';
import { parseArgs } from '../args.js';
import { daemon, daemonOptions } from './daemon.js';

const parse = (argv: string[]) => parseArgs(argv, daemon.flags, { command: 'daemon' }).flags;

describe('daemonOptions', () => {
  it('defaults to /var/lib/berth, /run/berth and the CLI\'s socket', () => {
    const o = daemonOptions(parse([]), {}, '/run/berth/berth.sock');
    expect(o).toMatchObject({ root: '/var/lib/berth', execRoot: '/run/berth', host: 'unix:///run/berth/berth.sock', runtime: 'runc' });
  });

  it('takes BERTH_ROOT and BERTH_EXEC_ROOT, as auto-start passes them on', () => {
    const env = { BERTH_ROOT: '/tmp/x/root', BERTH_EXEC_ROOT: '/tmp/x/run' };
    expect(daemonOptions(parse([]), env, '/tmp/x/s.sock')).toMatchObject({ root: '/tmp/x/root', execRoot: '/tmp/x/run', host: 'unix:///tmp/x/s.sock' });
    // `daemon stop` reads the pid file under the same exec root.
    expect(daemonOptions(parse(['stop']), env, '/tmp/x/s.sock').execRoot).toBe('/tmp/x/run');
  });

  it('takes --seccomp-profile', () => {
    expect(daemonOptions(parse([]), {}, '/s.sock').seccompProfile).toBeUndefined();
    expect(daemonOptions(parse(['--seccomp-profile', 'unconfined']), {}, '/s.sock').seccompProfile).toBe('unconfined');
  });

  it('lets flags win over the environment; empty variables are ignored', () => {
    const env = { BERTH_ROOT: '/tmp/x/root', BERTH_EXEC_ROOT: '' };
    const o = daemonOptions(parse(['--root', '/srv/berth', '--host', 'unix:///srv/b.sock']), env, '/ignored.sock');
    expect(o).toMatchObject({ root: '/srv/berth', execRoot: '/run/berth', host: 'unix:///srv/b.sock' });
    expect(daemonOptions(parse(['--exec-root=/srv/run']), { BERTH_EXEC_ROOT: '/tmp/x/run' }, '/s.sock').execRoot).toBe('/srv/run');
  });
});
