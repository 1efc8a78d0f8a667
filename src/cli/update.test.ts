import { describe, expect, it } from 'vitest';
import { parseArgs } from './args.js';
import { UPDATE_FLAGS, updateBody } from './container-opts.js';

const body = (argv: string[]) => updateBody(parseArgs(argv, UPDATE_FLAGS, { command: 'update' }).flags);

describe('update flags', () => {
  it('send only what was given, in the Engine API fields', () => {
    expect(body(['--memory', '64m', '--cpus', '0.5', '--pids-limit', '50', '--restart', 'on-failure:3', 'c'])).toEqual({
      Memory: 64 * 1024 * 1024,
      NanoCpus: 500_000_000,
      PidsLimit: 50,
      RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 },
    });
    expect(body(['--pids-limit', '-1', 'c'])).toEqual({ PidsLimit: -1 });
    expect(body(['--memory-swap', '-1', '--cpu-shares', '512', '--cpuset-cpus', '0', 'c'])).toEqual({ MemorySwap: -1, CpuShares: 512, CpusetCpus: '0' });
    expect(body(['--blkio-weight', '300', '--cpuset-mems', '0', '--cpu-rt-period', '1000000', '--cpu-rt-runtime', '950', 'c'])).toEqual({ BlkioWeight: 300, CpusetMems: '0', CpuRealtimePeriod: 1000000, CpuRealtimeRuntime: 950 });
  });

  it('refuse nothing to change and bad values, naming the flag', () => {
    expect(() => body(['c'])).toThrow('you must provide one or more flags when using this command');
    expect(() => body(['--memory', 'lots', 'c'])).toThrow(/invalid argument "lots" for "-m, --memory" flag/);
    expect(() => body(['--cpus', 'x', 'c'])).toThrow(/invalid argument "x" for "--cpus" flag/);
    expect(() => body(['--restart', ':3', 'c'])).toThrow('invalid restart policy format: no policy provided before colon');
  });
});
