import { describe, expect, it } from 'vitest';
import { foregroundOptions } from './entry.js';

describe('the daemon entry (bin/berth daemon ...)', () => {
  it('reads the flags and environment as `berth daemon` does', () => {
    expect(foregroundOptions(['--root', '/r', '--exec-root=/e', '-H', 'unix:///s.sock', '--log-opt', 'max-size=1m'], {})).toMatchObject({
      root: '/r',
      execRoot: '/e',
      host: 'unix:///s.sock',
      runtime: 'runc',
      logMaxSize: 1024 * 1024,
    });
    expect(foregroundOptions([], { BERTH_HOST: 'unix:///x.sock', BERTH_ROOT: '/rr', BERTH_CONFIG_FILE: '/c.json' })).toMatchObject({
      root: '/rr',
      execRoot: '/run/berth',
      host: 'unix:///x.sock',
      configFile: '/c.json',
    });
  });

  it('leaves stop, help and unreadable arguments to the CLI', () => {
    expect(foregroundOptions(['stop'], {})).toBeUndefined();
    expect(foregroundOptions(['--help'], {})).toBeUndefined();
    expect(foregroundOptions(['--nope'], {})).toBeUndefined();
    expect(foregroundOptions(['--log-opt', 'max-size=lots'], {})).toBeUndefined();
  });
});
