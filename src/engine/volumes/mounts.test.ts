import { describe, expect, it } from 'vitest';
import { parseApiMount, parseBind, planMounts, tmpfsOptions } from './mounts.js';

describe('-v specs', () => {
  it('tells binds, named volumes and anonymous volumes apart', () => {
    expect(parseBind('/srv/data:/data:ro')).toMatchObject({ Type: 'bind', Source: '/srv/data', Destination: '/data', RW: false, Propagation: 'rprivate', createSource: true });
    expect(parseBind('db:/var/lib/db')).toMatchObject({ Type: 'volume', Name: 'db', Destination: '/var/lib/db', RW: true, CopyUp: true });
    expect(parseBind('db:/var/lib/db:nocopy')).toMatchObject({ CopyUp: false });
    expect(parseBind('/cache')).toMatchObject({ Type: 'volume', Name: '', Anonymous: true, Destination: '/cache' });
    expect(parseBind('/a/b/:/c/d/:rw,rshared')).toMatchObject({ Source: '/a/b', Destination: '/c/d', Propagation: 'rshared' });
  });
  it("refuses what Docker refuses, with Docker's messages", () => {
    expect(() => parseBind('rel/dir:/x')).toThrow('create rel/dir: "rel/dir" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path');
    expect(() => parseBind('/a:b')).toThrow("invalid mount path: 'b' mount path must be absolute");
    expect(() => parseBind('/a:/b:bogus')).toThrow('invalid mode: bogus');
    expect(() => parseBind('/a:/b:ro,rw')).toThrow('invalid mode: ro,rw');
    expect(() => parseBind('/a:/b:/c:/d')).toThrow("invalid volume specification: '/a:/b:/c:/d'");
  });
});

describe('--mount', () => {
  it('parses bind, volume and tmpfs', () => {
    expect(parseApiMount({ Type: 'bind', Source: '/h', Target: '/c', ReadOnly: true, BindOptions: { Propagation: 'rslave' } })).toMatchObject({ Type: 'bind', RW: false, Propagation: 'rslave', createSource: false });
    expect(parseApiMount({ Type: 'volume', Source: 'v1', Target: '/v', VolumeOptions: { NoCopy: true, Labels: { a: 'b' }, DriverConfig: { Options: { type: 'tmpfs', device: 'tmpfs' } } } })).toMatchObject({
      Type: 'volume',
      Name: 'v1',
      CopyUp: false,
      volumeCreate: { labels: { a: 'b' }, driverOpts: { type: 'tmpfs', device: 'tmpfs' } },
    });
    const t = parseApiMount({ Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 1048576, Mode: 0o1777 } });
    // Docker's defaults for --mount type=tmpfs as for --tmpfs: noexec too.
    expect(tmpfsOptions(t)).toEqual(['nosuid', 'nodev', 'noexec', 'size=1048576', 'mode=1777']);
  });
  it('names the field that is wrong', () => {
    expect(() => parseApiMount({ Type: 'bind', Target: '/c' })).toThrow('invalid mount config for type "bind": field Source must not be empty');
    expect(() => parseApiMount({ Type: 'tmpfs', Source: 'x', Target: '/c' })).toThrow('invalid mount config for type "tmpfs": field Source must not be specified');
    expect(() => parseApiMount({ Type: 'nfs', Target: '/c' })).toThrow('mount type unknown: "nfs"');
    expect(() => parseApiMount({ Type: 'volume', Target: 'c' })).toThrow("invalid mount path: 'c' mount path must be absolute");
  });
});

describe('a container’s mounts', () => {
  it('adds anonymous volumes for uncovered VOLUMEs, takes --volumes-from, orders parents first', () => {
    const plan = planMounts({
      binds: ['/host/logs:/var/log/app', 'data:/data'],
      mounts: [],
      tmpfs: { '/run': 'size=64m' },
      volumes: ['/data', '/var/cache', '/var/cache/sub'],
      from: [{ mounts: [{ Type: 'volume', Name: 'shared', Source: '/v/shared', Destination: '/shared', Mode: 'z', RW: true, Propagation: '' }], mode: 'ro' }],
    });
    expect(plan.map((m) => `${m.Type} ${m.Destination} ${m.Name ?? ''} ${m.RW ? 'rw' : 'ro'}`)).toEqual([
      'volume /data data rw',
      'tmpfs /run  rw',
      'volume /shared shared ro',
      'volume /var/cache  rw',
      'volume /var/cache/sub  rw',
      'bind /var/log/app  rw',
    ]);
    expect(tmpfsOptions(plan[1]!)).toEqual(['nosuid', 'nodev', 'noexec', 'size=64m']);
  });
  it('refuses two mounts on one path', () => {
    expect(() => planMounts({ binds: ['/a:/x', 'vv:/x'], mounts: [], tmpfs: {}, volumes: [], from: [] })).toThrow('Duplicate mount point: /x');
  });
});
