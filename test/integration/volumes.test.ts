import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectField, loadBusybox, rootSkipReason, rootTestsEnabled, startDaemon, type TestDaemon } from '../harness.js';

/**
 * Volumes and mounts through the stock docker CLI: data outliving containers, volumes in use,
 * copy-up into a fresh volume, anonymous volumes, binds (read-only, created, refused),
 * --mount, --tmpfs, --read-only, --volumes-from, system df.
 */
describe.skipIf(!rootTestsEnabled())(`volumes and mounts (${rootSkipReason})`, () => {
  let d: TestDaemon;
  let host: string;

  beforeAll(async () => {
    d = await startDaemon();
    loadBusybox(d);
    host = mkdtempSync(join(tmpdir(), 'berth-vol-'));
  });
  afterAll(async () => {
    await d?.stop();
    rmSync(host, { recursive: true, force: true });
  });

  const vols = () => d.docker(['volume', 'ls', '-q']).stdout.split('\n').filter(Boolean).sort();

  it('data written to a named volume by one container is read by the next', () => {
    expect(d.docker(['volume', 'create', '--label', 'app=db', 'data']).stdout).toBe('data\n');
    expect(d.docker(['run', '--rm', '-v', 'data:/data', 'busybox', 'sh', '-c', 'echo kept > /data/f']).code).toBe(0);
    expect(d.docker(['run', '--rm', '-v', 'data:/data', 'busybox', 'cat', '/data/f']).stdout).toBe('kept\n');
    expect(d.docker(['volume', 'ls', '--filter', 'label=app=db', '--format', '{{.Name}} {{.Driver}}']).stdout).toBe('data local\n');
    const mp = d.docker(['volume', 'inspect', '-f', '{{.Mountpoint}}', 'data']).stdout.trim();
    expect(readFileSync(join(mp, 'f'), 'utf8')).toBe('kept\n');
  });

  it('a volume in use cannot be removed; unused it can', () => {
    const id = d.docker(['run', '-d', '--name', 'holder', '-v', 'data:/data', 'busybox', 'sleep', '60']).stdout.trim();
    const r = d.docker(['volume', 'rm', 'data']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`remove data: volume is in use - [${id}]`);
    expect(d.docker(['rm', '-f', 'holder']).code).toBe(0);
    expect(d.docker(['volume', 'rm', 'data']).stdout).toBe('data\n');
    expect(vols()).not.toContain('data');
  });

  it('a fresh volume is filled with the image content, owners and modes kept', () => {
    expect(d.docker(['run', '--name', 'seed', 'busybox', 'sh', '-c', 'mkdir -p /seed/sub && echo s > /seed/sub/a && chown -R 1000:1001 /seed && chmod 0750 /seed']).code).toBe(0);
    expect(d.docker(['commit', 'seed', 'seeded:1']).code).toBe(0);
    const r = d.docker(['run', '--rm', '-v', 'fresh:/seed', 'seeded:1', 'sh', '-c', 'stat -c "%u:%g %a" /seed /seed/sub/a; cat /seed/sub/a']);
    expect(r.stdout).toBe('1000:1001 750\n1000:1001 644\ns\n');
    // nocopy leaves it empty.
    expect(d.docker(['run', '--rm', '-v', 'empty:/seed:nocopy', 'seeded:1', 'ls', '-A', '/seed']).stdout).toBe('');
  });

  it('anonymous volumes come from -v /path and go with run --rm and rm -v', () => {
    const before = vols();
    expect(d.docker(['run', '--rm', '-v', '/scratch', 'busybox', 'sh', '-c', 'echo x > /scratch/y']).code).toBe(0);
    expect(vols()).toEqual(before);
    d.docker(['create', '--name', 'anon', '-v', '/keep', 'busybox', 'true']);
    const name = inspectField(d, 'anon', '{{(index .Mounts 0).Name}}');
    expect(vols()).toContain(name);
    expect(d.docker(['rm', '-v', 'anon']).code).toBe(0);
    expect(vols()).not.toContain(name);
  });

  it('bind mounts: read-only refuses writes, -v makes a missing host dir, --mount refuses it, relative paths are refused', () => {
    writeFileSync(join(host, 'in.txt'), 'from host\n');
    expect(d.docker(['run', '--rm', '-v', `${host}:/h:ro`, 'busybox', 'cat', '/h/in.txt']).stdout).toBe('from host\n');
    const ro = d.docker(['run', '--rm', '-v', `${host}:/h:ro`, 'busybox', 'touch', '/h/new']);
    expect(ro.code).not.toBe(0);
    expect(ro.stderr).toContain('Read-only file system');
    expect(d.docker(['run', '--rm', '-v', `${host}:/h`, 'busybox', 'sh', '-c', 'echo back > /h/out.txt']).code).toBe(0);
    expect(readFileSync(join(host, 'out.txt'), 'utf8')).toBe('back\n');
    const made = join(host, 'made', 'deep');
    expect(d.docker(['run', '--rm', '-v', `${made}:/m`, 'busybox', 'true']).code).toBe(0);
    expect(existsSync(made)).toBe(true);
    const missing = d.docker(['run', '--rm', '--mount', `type=bind,source=${join(host, 'nope')},target=/m`, 'busybox', 'true']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain(`bind source path does not exist: ${join(host, 'nope')}`);
    const rel = d.docker(['run', '--rm', '-v', 'rel/dir:/x', 'busybox', 'true']);
    expect(rel.code).not.toBe(0);
    expect(rel.stderr).toContain('If you intended to pass a host directory, use absolute path');
  });

  it('--tmpfs, --mount type=tmpfs and --read-only', () => {
    expect(d.docker(['run', '--rm', '--tmpfs', '/run:size=1m', 'busybox', 'sh', '-c', "df -k /run | tail -1 | awk '{print $1, $2}'"]).stdout).toBe('tmpfs 1024\n');
    // Mounted once, with Docker's options (it was mounted twice).
    expect(d.docker(['run', '--rm', '--tmpfs', '/t', 'busybox', 'sh', '-c', 'mount | grep " /t "']).stdout).toBe('tmpfs on /t type tmpfs (rw,nosuid,nodev,noexec,relatime)\n');
    expect(d.docker(['run', '--rm', '--mount', 'type=tmpfs,target=/t,tmpfs-size=2097152', 'busybox', 'sh', '-c', "df -k /t | tail -1 | awk '{print $2}'"]).stdout).toBe('2048\n');
    // Docker's defaults for --mount type=tmpfs too (noexec was missing).
    expect(d.docker(['run', '--rm', '--mount', 'type=tmpfs,target=/t,tmpfs-size=1m', 'busybox', 'sh', '-c', 'mount | grep " /t "']).stdout).toBe('tmpfs on /t type tmpfs (rw,nosuid,nodev,noexec,relatime,size=1024k)\n');
    const ro = d.docker(['run', '--rm', '--read-only', '--tmpfs', '/tmp', 'busybox', 'sh', '-c', 'touch /tmp/ok && touch /x']);
    expect(ro.code).not.toBe(0);
    expect(ro.stderr).toContain('Read-only file system');
    // inspect as Docker's: a --tmpfs is in HostConfig.Tmpfs only, a --mount type=tmpfs in Mounts too; no ports, no ExposedPorts.
    const id = d.docker(['create', '--tmpfs', '/t1:size=1m', '--mount', 'type=tmpfs,target=/t2', 'busybox', 'true']).stdout.trim();
    expect(d.docker(['inspect', '--format', '{{json .HostConfig.Tmpfs}} {{json .Mounts}} {{json .Config.ExposedPorts}}', id]).stdout).toBe(
      '{"/t1":"size=1m"} [{"Type":"tmpfs","Source":"","Destination":"/t2","Mode":"","RW":true,"Propagation":""}] null\n',
    );
    d.docker(['rm', id]);
  });

  it('--volumes-from shares another container’s volumes, :ro read-only', () => {
    d.docker(['run', '-d', '--name', 'owner', '-v', 'shared:/s', 'busybox', 'sh', '-c', 'echo from-owner > /s/m; sleep 60']);
    spawnSync('sleep', ['0.5']);
    const r = d.docker(['run', '--rm', '--volumes-from', 'owner:ro', 'busybox', 'sh', '-c', 'cat /s/m; touch /s/z']);
    expect(r.stdout).toBe('from-owner\n');
    expect(r.stderr).toContain('Read-only file system');
    d.docker(['rm', '-f', 'owner']);
  });

  it('system df counts volumes; volume prune removes anonymous ones only, --all the rest', () => {
    const df = d.docker(['system', 'df', '--format', '{{.Type}} {{.TotalCount}}']).stdout;
    expect(df).toContain(`Local Volumes ${vols().length}`);
    d.docker(['create', '--name', 'anon2', '-v', '/junk', 'busybox', 'true']);
    const anon = inspectField(d, 'anon2', '{{(index .Mounts 0).Name}}');
    d.docker(['rm', 'anon2']); // without -v: the anonymous volume stays, dangling
    expect(vols()).toContain(anon);
    expect(d.docker(['volume', 'prune', '-f']).stdout).toContain(anon);
    expect(vols()).not.toContain(anon);
    expect(vols()).toContain('shared');
    d.docker(['volume', 'prune', '-f', '--all']);
    expect(vols()).toEqual([]);
  });
});
