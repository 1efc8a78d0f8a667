import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, hostname, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_SECCOMP_PROFILE } from '../../src/engine/containers/seccomp.js';
import { kernelRunsX32 } from '../../src/sys/abi.js';
import { api, background, inspectField, loadBusybox, loadDebian, rootSkipReason, rootTestsEnabled, sleep, startDaemon, waitFor, type TestDaemon } from '../harness.js';

/**
 * Containers through the stock docker CLI (and berth's for a few): run, the detached
 * lifecycle (logs, exec, top, inspect, stop, kill, restart, pause, rename, wait, attach),
 * ps and its filters, stats and port.
 */

/** go-units BytesSize, as the docker CLI prints sizes: 4 significant digits, binary units. */
function bytesSize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${Number(n.toPrecision(4))}${units[i]}`;
}

const RFC3339_NANO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/;

describe.skipIf(!rootTestsEnabled())(`containers (${rootSkipReason})`, () => {
  let d: TestDaemon;

  beforeAll(async () => {
    d = await startDaemon();
    loadBusybox(d);
  });
  afterAll(async () => {
    await d?.stop();
  });

  const ids = () => d.docker(['ps', '-aq', '--no-trunc']).stdout.split('\n').filter(Boolean).sort();
  const running = (name: string) => inspectField(d, name, '{{.State.Running}}') === 'true';

  describe('run in the foreground', () => {
    it('prints the output, keeps stdout and stderr apart and exits with the status', () => {
      const hi = d.docker(['run', '--rm', 'busybox', 'echo', 'hi']);
      expect(hi).toEqual({ code: 0, stdout: 'hi\n', stderr: '' });

      expect(d.docker(['run', '--rm', 'busybox', 'sh', '-c', 'exit 3']).code).toBe(3);

      const split = d.docker(['run', '--rm', 'busybox', 'sh', '-c', 'echo to-out; echo to-err >&2; echo more-out']);
      expect(split.code).toBe(0);
      expect(split.stdout).toBe('to-out\nmore-out\n');
      expect(split.stderr).toBe('to-err\n');

      // berth's CLI behaves the same.
      const b = d.berth(['run', '--rm', 'busybox', 'sh', '-c', 'echo b-out; echo b-err >&2; exit 4']);
      expect(b).toEqual({ code: 4, stdout: 'b-out\n', stderr: 'b-err\n' });
      expect(ids()).toEqual([]);
    });

    it('--entrypoint "" runs the command given without the image\'s entrypoint', () => {
      expect(d.docker(['run', '--rm', '--entrypoint', '', 'busybox', 'echo', 'no-entrypoint'])).toEqual({ code: 0, stdout: 'no-entrypoint\n', stderr: '' });
      expect(d.berth(['run', '--rm', '--entrypoint', '', 'busybox', 'echo', 'no-entrypoint'])).toEqual({ code: 0, stdout: 'no-entrypoint\n', stderr: '' });
      const none = d.docker(['run', '--rm', '--entrypoint', '', 'busybox']);
      expect(none.code).toBe(125);
      expect(none.stderr).toContain('no command specified');
    });

    it('users, groups and capabilities: --user, --group-add, --cap-drop, --cap-add, --privileged', () => {
      expect(d.docker(['run', '--rm', 'busybox', 'id']).stdout).toBe('uid=0(root) gid=0(root) groups=0(root)\n');
      // (the kernel sorts the supplementary groups; Docker Engine prints the same)
      expect(d.docker(['run', '--rm', '--group-add', '123', '--user', 'nobody', 'busybox', 'id']).stdout).toBe('uid=65534(nobody) gid=65534(nogroup) groups=123,65534(nogroup)\n');
      const nosuch = d.docker(['run', '--rm', '--group-add', 'nosuch', 'busybox', 'id']);
      expect(nosuch.code).toBe(125);
      expect(nosuch.stderr).toContain('Unable to find group nosuch: no matching entries in group file');
      const eff = (args: string[]) => BigInt(`0x${/CapEff:\s*([0-9a-f]+)/.exec(d.docker(['run', '--rm', ...args, 'busybox', 'cat', '/proc/self/status']).stdout)?.[1] ?? 'x'}`);
      expect(eff(['--cap-drop', 'ALL'])).toBe(0n);
      expect(eff(['--cap-add', 'NET_ADMIN']) & (1n << 12n)).toBe(1n << 12n);
      // --privileged: every capability the daemon itself holds (where this host's bounding set
      // lacks some, Docker's runtime fails with "unable to apply caps").
      const bounding = BigInt(`0x${/CapBnd:\s*([0-9a-f]+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0'}`);
      expect(eff(['--privileged'])).toBe(bounding);
    });

    it("a container not running has no ports; inspect shows Docker's defaults (checked against Docker Engine 20.10)", () => {
      expect(d.docker(['create', '--name', 'noports', '-p', '8089:80', '--expose', '90', 'busybox', 'true']).code).toBe(0);
      const shown = () => [d.docker(['ps', '-a', '--filter', 'name=noports', '--format', '[{{.Ports}}]']).stdout, inspectField(d, 'noports', '{{json .NetworkSettings.Ports}}')];
      expect(shown()).toEqual(['[]\n', '{}']);
      expect(inspectField(d, 'noports', '{{json .HostConfig.LogConfig}} {{json .Config.Volumes}}')).toBe('{"Type":"json-file","Config":{}} null');
      expect(d.docker(['start', '-a', 'noports']).code).toBe(0);
      expect(shown()).toEqual(['[]\n', '{}']);
      expect(d.docker(['rm', 'noports']).code).toBe(0);
    });

    it('-e NAME of a variable the client does not have leaves it unset (it failed the start in runc)', () => {
      const r = d.docker(['run', '--rm', '-e', 'BERTH_TEST_UNSET_VAR', 'busybox', 'sh', '-c', 'echo [${BERTH_TEST_UNSET_VAR-unset}]']);
      expect(r).toEqual({ code: 0, stdout: '[unset]\n', stderr: '' });
    });

    it('a missing command exits 127 with docker\'s message and leaves no container', () => {
      const before = ids();
      const r = d.docker(['run', '--rm', 'busybox', 'nope']);
      expect(r.code).toBe(127);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain('exec: "nope": executable file not found');
      expect(ids()).toEqual(before);

      const b = d.berth(['run', '--rm', 'busybox', 'nope']);
      expect(b.code).toBe(127);
      expect(b.stderr).toContain('exec: "nope": executable file not found');
      expect(ids()).toEqual(before);
    });

    it('-i carries stdin into the container', () => {
      // The command reads all of stdin before it writes: output written while the stdin
      // bridge is attached can make conmon lose the end of stdin (reported; `cat` alone hangs
      // in roughly one run in five under load).
      const catIn = ['sh', '-c', 'cat > /tmp/in; cat /tmp/in'];
      expect(d.docker(['run', '-i', '--rm', 'busybox', ...catIn], { input: 'data\nline two\n' })).toEqual({ code: 0, stdout: 'data\nline two\n', stderr: '' });
      expect(d.berth(['run', '-i', '--rm', 'busybox', 'wc', '-c'], { input: 'x'.repeat(100_000) }).stdout.trim()).toBe('100000');
      // Without -i the container's stdin is empty.
      expect(d.docker(['run', '--rm', 'busybox', 'cat'], { input: 'ignored\n' })).toEqual({ code: 0, stdout: '', stderr: '' });
    });

    it('create then start -a streams the output and returns the exit status', () => {
      const c = d.docker(['create', '--name', 'cs', 'busybox', 'sh', '-c', 'echo created-then-started; exit 2']);
      expect(c.code).toBe(0);
      const id = c.stdout.trim();
      expect(id).toMatch(/^[0-9a-f]{64}$/);
      expect(inspectField(d, 'cs', '{{.State.Status}}')).toBe('created');
      expect(d.docker(['start', '-a', 'cs'])).toEqual({ code: 2, stdout: 'created-then-started\n', stderr: '' });
      expect(inspectField(d, id, '{{.State.Status}} {{.State.ExitCode}}')).toBe('exited 2');
      // Started again: the output of this run, not lost behind the last run's (it once was).
      for (const cli of [d.docker, d.berth, d.docker]) expect(cli(['start', '-a', 'cs'])).toEqual({ code: 2, stdout: 'created-then-started\n', stderr: '' });
      expect(d.docker(['rm', 'cs']).code).toBe(0);
    });
  });

  describe('logs', () => {
    beforeAll(async () => {
      const r = d.docker(['run', '-d', '--name', 'lg', 'busybox', 'sh', '-c', 'for i in 1 2 3 4; do echo line$i; done; echo oops >&2; sleep 0.3; echo late']);
      expect(r.code).toBe(0);
      await waitFor(() => !running('lg'), 'lg to exit');
    });

    it('prints stdout and stderr on their own streams', () => {
      const r = d.docker(['logs', 'lg']);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('line1\nline2\nline3\nline4\nlate\n');
      expect(r.stderr).toBe('oops\n');
      expect(d.berth(['logs', 'lg']).stdout).toBe('line1\nline2\nline3\nline4\nlate\n');
    });

    it('--tail keeps the last lines', () => {
      expect(d.docker(['logs', '--tail', '2', 'lg'])).toEqual({ code: 0, stdout: 'late\n', stderr: 'oops\n' });
      expect(d.docker(['logs', '--tail', '0', 'lg'])).toEqual({ code: 0, stdout: '', stderr: '' });
    });

    it('-t prefixes RFC3339Nano timestamps and --since cuts by time', () => {
      const r = d.docker(['logs', '-t', 'lg']);
      const lines = r.stdout.trimEnd().split('\n');
      expect(lines).toHaveLength(5);
      const stamps = lines.map((l) => l.split(' ')[0] as string);
      for (const s of stamps) expect(s).toMatch(RFC3339_NANO);
      expect(lines.map((l) => l.slice(l.indexOf(' ') + 1))).toEqual(['line1', 'line2', 'line3', 'line4', 'late']);
      // `late` came 0.3 s after the others: --since its own timestamp keeps just it.
      const lateAt = stamps[4] as string;
      expect(Date.parse(lateAt) - Date.parse(stamps[3] as string)).toBeGreaterThanOrEqual(250);
      expect(d.docker(['logs', '--since', lateAt, 'lg'])).toEqual({ code: 0, stdout: 'late\n', stderr: '' });
      expect(d.docker(['logs', '--since', '2999-01-01T00:00:00Z', 'lg'])).toEqual({ code: 0, stdout: '', stderr: '' });
      expect(d.docker(['logs', '--since', '2000-01-01T00:00:00Z', 'lg']).stdout).toBe('line1\nline2\nline3\nline4\nlate\n');
    });

    it('-f follows a running container and returns when it ends', async () => {
      d.docker(['run', '-d', '--name', 'lgf', 'busybox', 'sh', '-c', 'echo first; sleep 1; echo second; exit 0']);
      const f = background(d, 'docker', ['logs', '-f', 'lgf']);
      await waitFor(() => f.stdout().includes('first'), 'the first line');
      expect(f.stdout()).toBe('first\n');
      const r = await f.done;
      expect(r).toEqual({ code: 0, stdout: 'first\nsecond\n', stderr: '' });
      expect(running('lgf')).toBe(false);
    });

    it('--log-driver none: the output still reaches an attached client, nothing is kept, logs says why', () => {
      expect(d.docker(['run', '--name', 'nolog', '--log-driver', 'none', 'busybox', 'sh', '-c', 'echo out; echo err >&2'])).toEqual({ code: 0, stdout: 'out\n', stderr: 'err\n' });
      expect(inspectField(d, 'nolog', '{{.HostConfig.LogConfig.Type}}|{{.LogPath}}')).toBe('none|');
      const id = inspectField(d, 'nolog', '{{.Id}}');
      // Only the monitor's spool, which attached clients follow: no json-file log.
      expect(readdirSync(join(d.root, 'containers', id)).filter((f) => f.includes('log'))).toEqual(['spool.log']);
      const r = d.docker(['logs', 'nolog']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('configured logging driver does not support reading');
      expect(d.docker(['run', '--rm', '--log-driver', 'syslog', 'busybox', 'true']).stderr).toContain('logging driver "syslog" is not supported by berth');
    });
  });

  describe('a detached container', () => {
    let id: string;
    beforeAll(() => {
      const r = d.docker(['run', '-d', '--name', 'box', '--label', 'team=blue', '--stop-timeout', '1', 'busybox', 'sleep', '1000']);
      expect(r.code).toBe(0);
      id = r.stdout.trim();
    });

    it('-d prints the full ID and the container is running', () => {
      expect(id).toMatch(/^[0-9a-f]{64}$/);
      expect(d.docker(['ps', '-q', '--no-trunc', '--filter', 'name=^box$']).stdout).toBe(`${id}\n`);
    });

    it('inspect shows State, Config, Name and HostConfig', () => {
      const r = d.docker(['inspect', 'box']);
      expect(r.code).toBe(0);
      const [c] = JSON.parse(r.stdout) as [{ Id: string; Name: string; State: Record<string, unknown> & { Pid: number; StartedAt: string }; Config: Record<string, unknown>; HostConfig: { RestartPolicy: unknown } }];
      expect(c.Id).toBe(id);
      expect(c.Name).toBe('/box');
      expect(c.State).toMatchObject({ Status: 'running', Running: true, Paused: false, Restarting: false, ExitCode: 0 });
      expect(c.State.Pid).toBeGreaterThan(0);
      expect(Date.parse(c.State.StartedAt)).toBeGreaterThan(Date.now() - 120_000);
      expect(c.Config).toMatchObject({ Image: 'busybox', Cmd: ['sleep', '1000'], Labels: { team: 'blue' }, StopTimeout: 1 });
      expect(c.HostConfig.RestartPolicy).toEqual({ Name: 'no', MaximumRetryCount: 0 });
      expect(inspectField(d, 'box', '{{.Name}} {{.State.Status}} {{json .Config.Cmd}}')).toBe('/box running ["sleep","1000"]');
      expect(d.berth(['inspect', '-f', '{{.Id}}', 'box']).stdout).toBe(`${id}\n`);
    });

    it('exec runs as -u, in -w, with -e, and returns the exit status', () => {
      expect(d.docker(['exec', 'box', 'echo', 'in-box'])).toEqual({ code: 0, stdout: 'in-box\n', stderr: '' });
      expect(d.docker(['exec', '-u', '1000', 'box', 'id', '-u']).stdout).toBe('1000\n');
      expect(d.docker(['exec', '-u', 'nobody', 'box', 'id', '-un']).stdout).toBe('nobody\n');
      expect(d.docker(['exec', '-w', '/tmp', 'box', 'pwd']).stdout).toBe('/tmp\n');
      expect(d.docker(['exec', '-e', 'FOO=bar baz', 'box', 'sh', '-c', 'echo "$FOO"']).stdout).toBe('bar baz\n');
      expect(d.docker(['exec', 'box', 'sh', '-c', 'echo err >&2; exit 7'])).toEqual({ code: 7, stdout: '', stderr: 'err\n' });
      expect(d.berth(['exec', '-w', '/etc', 'box', 'sh', '-c', 'pwd; exit 9'])).toEqual({ code: 9, stdout: '/etc\n', stderr: '' });
      expect(d.docker(['exec', '-i', 'box', 'sh', '-c', 'cat > /tmp/in; cat /tmp/in'], { input: 'piped\n' })).toEqual({ code: 0, stdout: 'piped\n', stderr: '' });
      // A user the container does not have: the command never runs, and the exit status says so (it once said 0).
      for (const cli of [d.docker, d.berth]) {
        const r = cli(['exec', '-u', 'nosuchuser', 'box', 'true']);
        expect(r.code).toBe(126);
        expect(r.stderr).toContain('unable to find user nosuchuser: no matching entries in passwd file');
      }
    });

    it('the generated hostname, hosts and resolv.conf are in the exec root, as inspect says, and go with the container', async () => {
      const paths = inspectField(d, 'box', '{{.HostnamePath}} {{.HostsPath}} {{.ResolvConfPath}}').split(' ');
      expect(paths).toEqual(['hostname', 'hosts', 'resolv.conf'].map((f) => join(d.execRoot, 'etc', id, f)));
      expect(readFileSync(paths[0] as string, 'utf8')).toBe(`${id.slice(0, 12)}\n`);
      for (const [i, f] of ['/etc/hostname', '/etc/hosts', '/etc/resolv.conf'].entries()) {
        expect(d.docker(['exec', 'box', 'cat', f]).stdout).toBe(readFileSync(paths[i] as string, 'utf8'));
      }
      // /.dockerenv as Docker's init layer has it: empty, mode 0755.
      expect(d.docker(['exec', 'box', 'stat', '-c', '%a %s', '/.dockerenv']).stdout).toBe('755 0\n');
      const other = d.docker(['run', '-d', 'busybox', 'sleep', '100']).stdout.trim();
      const dir = join(d.execRoot, 'etc', other);
      expect(existsSync(join(dir, 'hosts'))).toBe(true);
      // An exec's files (its monitor's bundle, sync file, log) go with the container too, not minutes later.
      const bundles = () => readdirSync(join(d.execRoot, 'c')).sort();
      const before = bundles();
      expect(d.docker(['exec', other, 'true']).code).toBe(0);
      const execDirs = bundles().filter((b) => !before.includes(b));
      expect(execDirs).toEqual([expect.stringMatching(/^x[0-9a-f]{11}$/)]);
      expect(d.docker(['rm', '-f', other]).code).toBe(0);
      expect(existsSync(dir)).toBe(false);
      await waitFor(() => !bundles().some((b) => execDirs.includes(b)), "the exec's bundle to go");
    });

    it("inspect's GraphDriver names the container's own overlay dirs and its layers, as they are on disk (they once named the exec root); HostConfig.Runtime", () => {
      const g = JSON.parse(inspectField(d, 'box', '{{json .GraphDriver}}')) as { Name: string; Data: Record<string, string> };
      expect(g.Name).toBe('overlay2');
      expect(Object.keys(g.Data).sort()).toEqual(['LowerDir', 'MergedDir', 'UpperDir', 'WorkDir']);
      for (const k of ['MergedDir', 'UpperDir', 'WorkDir']) expect(g.Data[k]).toBe(join(d.root, 'containers', id, k.replace('Dir', '').toLowerCase()));
      // A file the container writes is in its UpperDir; the image's files are in a LowerDir.
      expect(d.docker(['exec', 'box', 'sh', '-c', 'echo mine > /graph-check']).code).toBe(0);
      expect(readFileSync(join(g.Data.UpperDir as string, 'graph-check'), 'utf8')).toBe('mine\n');
      expect((g.Data.LowerDir as string).split(':').some((l) => existsSync(join(l, 'bin', 'busybox')))).toBe(true);
      expect(existsSync(join(g.Data.MergedDir as string, 'graph-check'))).toBe(true);
      // The runtime, as Docker fills it at create.
      expect(inspectField(d, 'box', '{{.HostConfig.Runtime}}')).toBe('runc');
      const img = JSON.parse(d.docker(['image', 'inspect', '--format', '{{json .GraphDriver.Data}}', 'busybox']).stdout) as Record<string, string>;
      expect(existsSync(join(img.UpperDir as string, 'bin', 'busybox'))).toBe(true);
    });

    it('exec --privileged gives that process every capability; the container keeps Docker\'s default set', () => {
      const capEff = (text: string) => /^CapEff:\s*([0-9a-f]+)$/m.exec(text)?.[1];
      // Docker's default set: chown, dac_override, fowner, fsetid, kill, setgid, setuid, setpcap,
      // net_bind_service, net_raw, sys_chroot, mknod, audit_write, setfcap.
      expect(capEff(d.docker(['exec', 'box', 'cat', '/proc/self/status']).stdout)).toBe('00000000a80425fb');
      const all = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
      for (const cli of [d.docker, d.berth]) expect(capEff(cli(['exec', '--privileged', 'box', 'cat', '/proc/self/status']).stdout)).toBe(all);
      expect(capEff(d.docker(['exec', 'box', 'cat', '/proc/1/status']).stdout)).toBe('00000000a80425fb');
    });

    it('top lists the container\'s processes', () => {
      const r = d.docker(['top', 'box']);
      expect(r.code).toBe(0);
      const [header, ...rows] = r.stdout.trimEnd().split('\n');
      expect(header?.split(/\s+/)).toEqual(['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatch(/^root\s+(\d+)\s.*sleep 1000$/);
      expect(rows[0]?.split(/\s+/)[1]).toBe(inspectField(d, 'box', '{{.State.Pid}}'));
    });

    it('stats --no-stream reports the container', () => {
      const r = d.docker(['stats', '--no-stream', '--format', '{{.Name}} {{.PIDs}}', 'box']);
      expect(r).toEqual({ code: 0, stdout: 'box 1\n', stderr: '' });
      // No memory limit: like Docker, the limit shown is the machine's memory.
      expect(d.docker(['stats', '--no-stream', '--format', '{{.MemUsage}}', 'box']).stdout).toMatch(new RegExp(` / ${bytesSize(totalmem())}\n$`));
      const table = d.docker(['stats', '--no-stream', 'box']);
      expect(table.stdout.split('\n')[0]).toMatch(/^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/);
      expect(table.stdout.split('\n')[1]).toMatch(new RegExp(`^${id.slice(0, 12)}\\s+box\\s+\\d+\\.\\d\\d%\\s`));
      // A named container that is not there: the error alone, as the docker CLI does (berth once printed a row of --).
      for (const cli of [d.docker, d.berth]) {
        const missing = cli(['stats', '--no-stream', 'box', 'nonexist']);
        expect(missing.code).toBe(1);
        expect(missing.stdout).toBe('');
        expect(missing.stderr).toContain('No such container: nonexist');
      }
    });

    it('port prints nothing when no ports are published', () => {
      expect(d.docker(['port', 'box'])).toEqual({ code: 0, stdout: '', stderr: '' });
    });

    it('pause and unpause show in ps and inspect', () => {
      expect(d.docker(['pause', 'box'])).toEqual({ code: 0, stdout: 'box\n', stderr: '' });
      expect(d.docker(['ps', '--filter', 'name=^box$', '--format', '{{.Status}}']).stdout).toMatch(/^Up .* \(Paused\)\n$/);
      expect(inspectField(d, 'box', '{{.State.Status}} {{.State.Paused}}')).toBe('paused true');
      expect(d.docker(['exec', 'box', 'true']).stderr).toContain('is paused');
      expect(d.docker(['unpause', 'box'])).toEqual({ code: 0, stdout: 'box\n', stderr: '' });
      expect(d.docker(['ps', '--filter', 'name=^box$', '--format', '{{.Status}}']).stdout).toMatch(/^Up [^(]*\n$/);
      expect(inspectField(d, 'box', '{{.State.Status}} {{.State.Paused}}')).toBe('running false');
    });

    it('restart gives a new process', () => {
      const pid = inspectField(d, 'box', '{{.State.Pid}}');
      const started = inspectField(d, 'box', '{{.State.StartedAt}}');
      expect(d.docker(['restart', '-t', '1', 'box'])).toEqual({ code: 0, stdout: 'box\n', stderr: '' });
      expect(inspectField(d, 'box', '{{.State.Status}}')).toBe('running');
      expect(inspectField(d, 'box', '{{.State.Pid}}')).not.toBe(pid);
      expect(Date.parse(inspectField(d, 'box', '{{.State.StartedAt}}'))).toBeGreaterThan(Date.parse(started));
    });

    it('rename changes the name everywhere', () => {
      expect(d.docker(['rename', 'box', 'box2']).code).toBe(0);
      expect(inspectField(d, id, '{{.Name}}')).toBe('/box2');
      expect(d.docker(['ps', '--format', '{{.Names}}', '--filter', `id=${id}`]).stdout).toBe('box2\n');
      const old = d.docker(['inspect', 'box']);
      expect(old.code).toBe(1);
      expect(old.stderr).toContain('No such object: box');
      expect(d.docker(['rename', 'box2', 'box']).code).toBe(0);
    });

    it('stop sends SIGTERM and, after --stop-timeout, SIGKILL to a shell that ignores it: 137', () => {
      // `sleep` as pid 1 has no SIGTERM handler, so the kernel drops the signal.
      const t0 = Date.now();
      expect(d.docker(['stop', 'box'])).toEqual({ code: 0, stdout: 'box\n', stderr: '' });
      // Not a speed check: stop must wait out the 1 s stop timeout before it sends SIGKILL.
      expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
      expect(inspectField(d, 'box', '{{.State.Status}} {{.State.ExitCode}} {{.State.Running}}')).toBe('exited 137 false');
      expect(d.docker(['ps', '-q', '--filter', `id=${id}`]).stdout).toBe('');
    });

    it('wait prints the exit code', () => {
      expect(d.docker(['wait', 'box'])).toEqual({ code: 0, stdout: '137\n', stderr: '' });
      d.docker(['run', '-d', '--name', 'waiter', 'busybox', 'sh', '-c', 'sleep 0.5; exit 4']);
      expect(d.docker(['wait', 'waiter'])).toEqual({ code: 0, stdout: '4\n', stderr: '' });
      expect(d.berth(['wait', 'waiter'])).toEqual({ code: 0, stdout: '4\n', stderr: '' });
    });
  });

  it('stop of `sh` as pid 1 with --stop-timeout 1 ends in SIGKILL: 137', () => {
    d.docker(['run', '-d', '--name', 'shstop', '--stop-timeout', '1', 'busybox', 'sh', '-c', 'while true; do sleep 0.1; done']);
    const t0 = Date.now();
    expect(d.docker(['stop', 'shstop']).code).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900); // the stop timeout was waited out
    expect(inspectField(d, 'shstop', '{{.State.ExitCode}}')).toBe('137');
    // A shell that handles TERM stops at once with its own status.
    d.docker(['run', '-d', '--name', 'shterm', 'busybox', 'sh', '-c', 'trap "exit 11" TERM; while true; do sleep 0.1; done']);
    expect(d.docker(['stop', '-t', '30', 'shterm']).code).toBe(0);
    // 11, not 137: the shell's trap ended it, no SIGKILL was needed.
    expect(inspectField(d, 'shterm', '{{.State.ExitCode}}')).toBe('11');
  });

  it('stop and restart take the timeout as --timeout, -t and the older --time, through both CLIs', () => {
    const ignoresTerm = ['busybox', 'sh', '-c', 'trap "" TERM; while true; do sleep 0.1; done'];
    expect(d.docker(['run', '-d', '--name', 'slowstop', '--stop-timeout', '30', ...ignoresTerm]).code).toBe(0);
    for (const [cli, verb, flag] of [['berth', 'stop', '--timeout'], ['berth', 'restart', '-t'], ['berth', 'stop', '--time'], ['docker', 'stop', '--timeout']] as const) {
      if (!running('slowstop')) expect(d.docker(['start', 'slowstop']).code).toBe(0);
      const t0 = Date.now();
      expect(d[cli]([verb, flag, '1', 'slowstop']), `${cli} ${verb} ${flag}`).toEqual({ code: 0, stdout: 'slowstop\n', stderr: '' });
      // One second, not the container's 30: the timeout given was used.
      expect(Date.now() - t0, `${cli} ${verb} ${flag}`).toBeLessThan(10_000);
      expect(Date.now() - t0, `${cli} ${verb} ${flag}`).toBeGreaterThanOrEqual(900);
    }
    const bad = d.berth(['stop', '-t', 'abc', 'slowstop']);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain('invalid argument "abc" for "-t, --timeout" flag');
    d.docker(['rm', '-f', 'slowstop']);
  });

  it('kill -s delivers the signal; plain kill is SIGKILL', async () => {
    d.docker(['run', '-d', '--name', 'killme', 'busybox', 'sh', '-c', 'trap "exit 42" USR1; while true; do sleep 0.1; done']);
    expect(d.docker(['kill', '-s', 'USR1', 'killme'])).toEqual({ code: 0, stdout: 'killme\n', stderr: '' });
    await waitFor(() => !running('killme'), 'killme to exit');
    expect(inspectField(d, 'killme', '{{.State.ExitCode}}')).toBe('42');

    d.docker(['run', '-d', '--name', 'killme2', 'busybox', 'sleep', '1000']);
    expect(d.berth(['kill', 'killme2'])).toEqual({ code: 0, stdout: 'killme2\n', stderr: '' });
    await waitFor(() => !running('killme2'), 'killme2 to exit');
    expect(inspectField(d, 'killme2', '{{.State.ExitCode}}')).toBe('137');
    const again = d.docker(['kill', 'killme2']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('is not running');
  });

  it('attach streams a running container\'s output and returns its exit status', async () => {
    // After /go appears the container waits a second: its end kills every process in it, and an
    // exec still finishing then ends with 137 (seen under load).
    d.docker(['run', '-d', '--name', 'att', 'busybox', 'sh', '-c', 'while [ ! -f /go ]; do sleep 0.05; done; sleep 1; echo attached-out; echo attached-err >&2; exit 6']);
    const a = background(d, 'docker', ['attach', 'att']);
    await sleep(700); // let attach connect before the container writes
    expect(d.docker(['exec', 'att', 'touch', '/go']).code).toBe(0);
    expect(await a.done).toEqual({ code: 6, stdout: 'attached-out\n', stderr: 'attached-err\n' });
  });

  it('rm takes the container away at once, and its files (writable layer, logs) soon after', async () => {
    d.docker(['run', '--name', 'big-upper', 'busybox', 'sh', '-c', 'head -c 20000000 /dev/zero > /blob; echo done']);
    const id = inspectField(d, 'big-upper', '{{.Id}}');
    const dir = join(d.root, 'containers', id);
    expect(existsSync(join(dir, 'upper', 'blob'))).toBe(true);
    expect(d.docker(['rm', 'big-upper'])).toEqual({ code: 0, stdout: 'big-upper\n', stderr: '' });
    expect(d.docker(['ps', '-aq', '--filter', `id=${id}`]).stdout).toBe('');
    // The name is free again at once.
    expect(d.docker(['create', '--name', 'big-upper', 'busybox', 'true']).code).toBe(0);
    expect(d.docker(['rm', 'big-upper']).code).toBe(0);
    await waitFor(() => !existsSync(dir), 'the removed container\'s directory to go');
  });

  it('rm -f of a running --rm container: kill, die and destroy, once each', () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    const id = d.docker(['run', '-d', '--rm', 'busybox', 'sleep', '100']).stdout.trim();
    expect(d.docker(['rm', '-f', id])).toEqual({ code: 0, stdout: `${id}\n`, stderr: '' });
    // (events up to a second from now: the docker CLI returns then)
    const events = d.docker(['events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', `container=${id}`, '--format', '{{.Action}}']);
    expect(events.stdout.split('\n').filter(Boolean)).toEqual(['create', 'start', 'kill', 'die', 'destroy']);
    // The message's Go fields, through berth's CLI as through docker's.
    const until = String(Math.floor(Date.now() / 1000) + 1);
    const goFields = ['events', '--since', String(since), '--until', until, '--filter', `container=${id}`, '--format', '{{.ID}} {{.Status}} {{.From}} {{.Scope}} {{if gt .TimeNano 0}}ns{{end}} {{.Time}}'];
    const viaDocker = d.docker(goFields);
    expect(viaDocker.stdout.split('\n')[0]).toMatch(new RegExp(`^${id} create busybox local ns \\d{10}$`));
    expect(d.berth(goFields)).toEqual(viaDocker);
  });

  it("formats as the docker CLI does: Go field names, formatter contexts' JSON, history and stats columns", () => {
    const id = d.docker(['run', '-d', '--name', 'fmt-run', 'busybox', 'sleep', '100']).stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    try {
      for (const args of [
        ['version', '--format', '{{.Server.APIVersion}} {{.Client.APIVersion}} {{json .Server.Components}}'],
        ['info', '--format', '{{json .Plugins}}'],
        ['history', '--format', '{{.CreatedAt}} {{.CreatedSince}}', 'busybox'],
        ['history', '-H=false', '--format', '{{.CreatedAt}}', 'busybox'],
        ['stats', '--no-stream', '--format', '{{.Container}} {{.Name}}'],
      ]) {
        const viaDocker = d.docker(args);
        expect(viaDocker.code, args.join(' ')).toBe(0);
        if (args[0] === 'stats') expect(viaDocker.stdout).toContain(`${id.slice(0, 12)} fmt-run\n`);
        if (args[0] === 'history') expect(viaDocker.stdout).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)/);
        const lines = (r: { stdout: string }) => r.stdout.split('\n').sort();
        expect(lines(d.berth(args)), args.join(' ')).toEqual(lines(viaDocker));
      }
      // `--format json` of list rows: the same fields in the same (sorted) order.
      for (const args of [['ps', '--filter', 'name=fmt-run', '--format', 'json'], ['images', '--format', 'json', 'busybox'], ['history', '--format', 'json', 'busybox'], ['stats', '--no-stream', '--format', '{{json .}}', 'fmt-run']]) {
        const keys = (out: string) => Object.keys(JSON.parse(out.split('\n')[0] ?? '') as object);
        const viaDocker = keys(d.docker(args).stdout);
        expect(viaDocker, args.join(' ')).toEqual([...viaDocker].sort());
        expect(keys(d.berth(args).stdout), args.join(' ')).toEqual(viaDocker);
      }
    } finally {
      d.docker(['rm', '-f', 'fmt-run']);
    }
  });

  it("stats count the container's network traffic, as Docker's do (NET I/O was always 0B / 0B)", async () => {
    const id = d.docker(['run', '-d', '--name', 'netio', 'busybox', 'sleep', '60']).stdout.trim();
    try {
      const gw = inspectField(d, id, '{{.NetworkSettings.Gateway}}');
      d.docker(['exec', id, 'ping', '-c', '2', '-W', '1', gw]);
      const r = await api(d, 'GET', `/v1.44/containers/${id}/stats?stream=0`);
      const s = JSON.parse(r.body) as { networks?: Record<string, { rx_bytes: number; tx_bytes: number; rx_packets: number }>; blkio_stats?: Record<string, unknown> };
      expect(Object.keys(s.networks ?? {})).toEqual(['eth0']);
      expect(s.networks?.eth0?.tx_bytes).toBeGreaterThan(0);
      expect(s.networks?.eth0?.rx_packets).toBeGreaterThan(0);
      expect(Object.keys(s.blkio_stats ?? {})).toContain('io_service_bytes_recursive');
      expect(d.docker(['stats', '--no-stream', '--format', '{{.NetIO}}', id]).stdout).not.toBe('0B / 0B\n');
    } finally {
      d.docker(['rm', '-f', id]);
    }
  });

  it("publishes Docker's events for a run: attach, its networks connected and volumes mounted before start, disconnected and unmounted after die", () => {
    expect(d.docker(['volume', 'create', 'evvol']).code).toBe(0);
    const since = (Date.now() / 1000).toFixed(3);
    expect(d.docker(['run', '--rm', '--name', 'evrun', '-v', 'evvol:/x', 'busybox', 'true']).code).toBe(0);
    const until = (Date.now() / 1000 + 1).toFixed(3);
    const seen = d.docker(['events', '--since', since, '--until', until, '--format', '{{.Type}}:{{.Action}}:{{.Actor.Attributes.name}}{{.Actor.Attributes.container}}']).stdout.split('\n').filter(Boolean);
    const mine = seen.filter((l) => l.includes('evrun') || l.startsWith('network:') || l.startsWith('volume:')).map((l) => l.split(':').slice(0, 2).join(':'));
    expect(mine).toEqual(['container:create', 'container:attach', 'network:connect', 'volume:mount', 'container:start', 'container:die', 'network:disconnect', 'volume:unmount', 'container:destroy']);
    // Exec events name the command as Docker's do: the program, a space, its arguments.
    const id = d.docker(['run', '-d', 'busybox', 'sleep', '60']).stdout.trim();
    const s2 = (Date.now() / 1000).toFixed(3);
    expect(d.docker(['exec', id, 'true']).code).toBe(0);
    const execs = d.docker(['events', '--since', s2, '--until', (Date.now() / 1000 + 1).toFixed(3), '--filter', `container=${id}`, '--format', '[{{.Action}}]']).stdout;
    expect(execs).toBe('[exec_create: true ]\n[exec_start: true ]\n[exec_die]\n');
    d.docker(['rm', '-f', id]);
    d.docker(['volume', 'rm', 'evvol']);
  });

  describe('ps', () => {
    beforeAll(async () => {
      for (const r of [
        d.docker(['run', '-d', '--name', 'ps-run', '--label', 'tier=web', 'busybox', 'sleep', '1000']),
        d.docker(['run', '-d', '--name', 'ps-exit', '--label', 'tier=db', 'busybox', 'sh', '-c', 'exit 5']),
        d.docker(['create', '--name', 'ps-created', 'busybox', 'true']),
      ]) expect(r.code).toBe(0);
      await waitFor(() => !running('ps-exit'), 'ps-exit to exit');
    });

    const names = (args: string[]) => {
      const r = d.docker(['ps', ...args, '--format', '{{.Names}}']);
      expect(r.stderr).toBe('');
      return r.stdout.split('\n').filter(Boolean);
    };

    it('lists running containers, -a all, -n 1 the newest', () => {
      const live = names([]);
      expect(live).toContain('ps-run');
      expect(live).not.toContain('ps-exit');
      expect(live).not.toContain('ps-created');
      expect(names(['-a'])).toEqual(expect.arrayContaining(['ps-run', 'ps-exit', 'ps-created', 'box']));
      expect(names(['-n', '1'])).toEqual(['ps-created']);
      expect(names(['-a', '-n', '2'])).toEqual(['ps-created', 'ps-exit']);
    });

    it('-q prints short IDs', () => {
      const q = d.docker(['ps', '-aq']).stdout.split('\n').filter(Boolean);
      expect(q.length).toBe(names(['-a']).length);
      for (const id of q) expect(id).toMatch(/^[0-9a-f]{12}$/);
      expect(q).toContain(inspectField(d, 'ps-exit', '{{.Id}}').slice(0, 12));
    });

    it('filters by status, name and label', () => {
      const exited = names(['-a', '--filter', 'status=exited']);
      expect(exited).toContain('ps-exit');
      expect(exited).not.toContain('ps-run');
      expect(exited).not.toContain('ps-created');
      expect(names(['-a', '--filter', 'status=created'])).toEqual(['ps-created']);
      expect(names(['-a', '--filter', 'name=ps-ex'])).toEqual(['ps-exit']);
      expect(names(['-a', '--filter', 'label=tier=db'])).toEqual(['ps-exit']);
      expect(names(['-a', '--filter', 'label=tier']).sort()).toEqual(['ps-exit', 'ps-run']);
      expect(names(['-a', '--filter', 'exited=5'])).toEqual(['ps-exit']);
      expect(names(['-a', '--filter', 'name=no-such-container'])).toEqual([]);
    });

    it('filters by published and exposed port, volume, network and is-task (they were refused as invalid filters)', () => {
      const run = d.docker(['run', '-d', '--name', 'ps-pub', '-p', '127.0.0.1::80', '-v', 'ps-filter-vol:/data', 'busybox', 'sleep', '100']);
      expect(run.code).toBe(0);
      try {
        const hostPort = d.docker(['port', 'ps-pub', '80']).stdout.trim().split(':').pop() as string;
        expect(names(['--filter', `publish=${hostPort}`])).toEqual(['ps-pub']);
        expect(names(['--filter', 'publish=80'])).toEqual([]);
        expect(names(['--filter', 'expose=80/tcp'])).toEqual(['ps-pub']);
        expect(names(['--filter', 'expose=79-81'])).toEqual(['ps-pub']);
        expect(names(['-a', '--filter', 'volume=/data'])).toEqual(['ps-pub']);
        expect(names(['-a', '--filter', 'volume=ps-filter-vol'])).toEqual(['ps-pub']);
        expect(names(['--filter', 'network=bridge'])).toContain('ps-pub');
        expect(names(['-a', '--filter', 'network=no-such-net'])).toEqual([]);
        expect(names(['-a', '--filter', 'is-task=false'])).toContain('ps-pub');
        expect(names(['-a', '--filter', 'is-task=true'])).toEqual([]);
        const bad = d.docker(['ps', '--filter', 'publish=127.0.0.1:80']);
        expect(bad.code).not.toBe(0);
        expect(bad.stderr).toContain("filter for 'publish' should not contain ':': 127.0.0.1:80");
      } finally {
        d.docker(['rm', '-f', '-v', 'ps-pub']);
        d.docker(['volume', 'rm', 'ps-filter-vol']);
      }
    });

    it('shows the exit status the way docker does', () => {
      expect(d.docker(['ps', '-a', '--filter', 'name=ps-exit', '--format', '{{.Status}}']).stdout).toMatch(/^Exited \(5\) .* ago\n$/);
      expect(d.docker(['ps', '-a', '--filter', 'name=ps-created', '--format', '{{.Status}}']).stdout).toBe('Created\n');
      expect(d.berth(['ps', '-a', '--filter', 'name=ps-exit', '--format', '{{.Names}} {{.Image}}']).stdout).toBe('ps-exit busybox\n');
    });
  });

  /**
   * Seccomp as Docker applies it: the built-in profile unless privileged or unconfined.
   * `unshare -U` makes a user namespace, which needs no capability: only the filter refuses it.
   */
  describe('seccomp', () => {
    const probe = 'grep Seccomp: /proc/self/status; unshare -U true && echo userns=yes || echo userns=no';
    const run = (args: string[], client: 'docker' | 'berth' = 'docker') => d[client](['run', '--rm', ...args, 'busybox', 'sh', '-c', probe]);

    it('runs containers under the built-in profile, and says so in info', () => {
      expect(d.docker(['info', '--format', '{{json .SecurityOptions}}']).stdout).toBe('["name=seccomp,profile=builtin"]\n');
      const r = run([]);
      expect(r.stdout).toBe('Seccomp:\t2\nuserns=no\n');
      expect(r.stderr).toMatch(/Operation not permitted/);
      expect(run([], 'berth').stdout).toBe('Seccomp:\t2\nuserns=no\n');
    });

    it('has none for --privileged and seccomp=unconfined; CAP_SYS_ADMIN gives namespaces back', () => {
      expect(run(['--privileged']).stdout).toBe('Seccomp:\t0\nuserns=yes\n');
      expect(run(['--security-opt', 'seccomp=unconfined']).stdout).toBe('Seccomp:\t0\nuserns=yes\n');
      expect(run(['--security-opt', 'seccomp:unconfined'], 'berth').stdout).toBe('Seccomp:\t0\nuserns=yes\n');
      expect(run(['--cap-add', 'SYS_ADMIN']).stdout).toBe('Seccomp:\t2\nuserns=yes\n');
    });

    it('answers in the kernel as Docker\'s does: EPERM for what it refuses, ENOSYS for clone3 (C libraries then use clone)', () => {
      loadDebian(d);
      // perl's syscall(): unshare(CLONE_NEWUSER) = 272, clone3 = 435, getpid = 39 (x86_64).
      const probe = 'for n in 272 435 39; do perl -e \'my $r = syscall($ARGV[0], 0x10000000, 0); print $r < 0 ? $!+0 : "ok", "\\n"\' $n; done';
      expect(d.docker(['run', '--rm', 'debian:bookworm-slim', 'sh', '-c', probe]).stdout).toBe('1\n38\nok\n');
      // glibc programs that fork, exec, resolve names and drop privileges run as under Docker.
      const r = d.docker(['run', '--rm', 'debian:bookworm-slim', 'sh', '-c', 'getent hosts localhost >/dev/null && setpriv --reuid=65534 --regid=65534 --clear-groups id -u && timeout 1 sleep 5; echo $?']);
      expect(r).toEqual({ code: 0, stdout: '65534\n124\n', stderr: '' });
    });

    it("leaves x32 out where the kernel runs no x32 system calls: an x32 call ends the process (SIGSYS) instead of ENOSYS; a profile file is kept whole", async () => {
      loadDebian(d);
      const x32 = await kernelRunsX32();
      // perl's syscall(): getpid with the x32 bit.
      const probe = ['perl', '-e', `my $r = syscall(${0x40000027}); print $r < 0 ? $!+0 : "pid", "\n"`];
      const builtin = d.docker(['run', '--rm', 'debian:bookworm-slim', ...probe]);
      if (x32 === false) {
        expect(builtin.code).toBe(128 + 31);
        const dir = mkdtempSync(join(tmpdir(), 'berth-seccomp-'));
        try {
          const file = join(dir, 'docker-default.json');
          writeFileSync(file, JSON.stringify(BUILTIN_SECCOMP_PROFILE));
          expect(d.docker(['run', '--rm', '--security-opt', `seccomp=${file}`, 'debian:bookworm-slim', ...probe])).toEqual({ code: 0, stdout: '38\n', stderr: '' });
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      } else {
        expect(builtin).toEqual({ code: 0, stdout: x32 === true ? 'pid\n' : '38\n', stderr: '' });
      }
    });

    it('applies to exec too', () => {
      const id = d.docker(['run', '-d', 'busybox', 'sleep', '100']).stdout.trim();
      try {
        expect(d.docker(['exec', id, 'sh', '-c', probe]).stdout).toBe('Seccomp:\t2\nuserns=no\n');
      } finally {
        d.docker(['rm', '-f', id]);
      }
    });

    it('takes a profile file through both CLIs, and refuses a bad one at create, leaving nothing', () => {
      const dir = mkdtempSync(join(tmpdir(), 'berth-seccomp-'));
      try {
        const own = join(dir, 'no-mkdir.json');
        writeFileSync(own, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }] }));
        for (const client of ['docker', 'berth'] as const) {
          const r = d[client](['run', '--rm', '--security-opt', `seccomp=${own}`, 'busybox', 'sh', '-c', 'mkdir /x; touch /y && echo touched']);
          expect(r.stdout).toBe('touched\n');
          expect(r.stderr).toMatch(/Permission denied/);
        }
        const bad = join(dir, 'bad.json');
        writeFileSync(bad, JSON.stringify({ defaultAction: 'SCMP_ACT_NOPE' }));
        const before = ids();
        const r = d.docker(['run', '--rm', '--security-opt', `seccomp=${bad}`, 'busybox', 'true']);
        expect(r.code).not.toBe(0);
        expect(r.stderr).toMatch(/decoding seccomp profile failed: defaultAction: unknown action "SCMP_ACT_NOPE"/);
        const opt = d.docker(['run', '--rm', '--security-opt', 'foo=bar', 'busybox', 'true']);
        expect(opt.code).not.toBe(0);
        expect(opt.stderr).toMatch(/invalid --security-opt 2: "foo=bar"/);
        expect(ids()).toEqual(before);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("a daemon's default profile (daemon.json seccomp-profile) applies to containers that ask for none", async () => {
      const dir = mkdtempSync(join(tmpdir(), 'berth-seccomp-daemon-'));
      writeFileSync(join(dir, 'daemon.json'), '{"seccomp-profile": "unconfined"}');
      const other = await startDaemon({ configFile: join(dir, 'daemon.json') });
      try {
        loadBusybox(other);
        expect(other.docker(['info', '--format', '{{json .SecurityOptions}}']).stdout).toBe('["name=seccomp,profile=unconfined"]\n');
        expect(other.docker(['run', '--rm', 'busybox', 'sh', '-c', probe]).stdout).toBe('Seccomp:\t0\nuserns=yes\n');
        expect(other.docker(['run', '--rm', '--security-opt', 'seccomp=builtin', 'busybox', 'sh', '-c', probe]).stdout).toBe('Seccomp:\t2\nuserns=no\n');
      } finally {
        await other.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('masks system paths unless systempaths=unconfined', () => {
      const roProcSys = 'grep -c " /proc/sys proc ro," /proc/mounts';
      expect(d.docker(['run', '--rm', 'busybox', 'sh', '-c', roProcSys]).stdout).toBe('1\n');
      expect(d.docker(['run', '--rm', '--security-opt', 'systempaths=unconfined', 'busybox', 'sh', '-c', roProcSys]).stdout).toBe('0\n');
      expect(d.berth(['run', '--rm', '--security-opt', 'systempaths=unconfined', 'busybox', 'sh', '-c', roProcSys]).stdout).toBe('0\n');
      const id = d.docker(['create', 'busybox', 'true']).stdout.trim();
      expect(inspectField(d, id, '{{json .HostConfig.MaskedPaths}}')).toContain('"/proc/kcore"');
      d.docker(['rm', id]);
    });
  });

  /** `--pid`, `--ipc`, `--uts`, `--cgroupns`, `--device`, the OOM and cgroup flags, with Docker's results. */
  describe('namespace modes, devices and limits', () => {
    const sh = (args: string[], script: string) => d.docker(['run', '--rm', ...args, 'busybox', 'sh', '-c', script]);

    it('lets any user bind low ports and ping in a network namespace of its own (Docker\'s sysctls)', () => {
      const r = sh(['-u', 'nobody'], 'nc -l -p 80 & sleep 0.3; netstat -ltn | grep -c ":80 "; cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/net/ipv4/ping_group_range');
      expect(r.stdout).toBe('1\n0\n0\t2147483647\n');
      expect(sh(['--network', 'host'], 'cat /proc/sys/net/ipv4/ip_unprivileged_port_start').stdout).not.toBe('0\n');
      expect(sh(['--sysctl', 'net.ipv4.ip_unprivileged_port_start=1000'], 'cat /proc/sys/net/ipv4/ip_unprivileged_port_start').stdout).toBe('1000\n');
    });

    it("--pid host and container:<x> share those pid namespaces; the target must run", () => {
      expect(sh([], 'echo $$').stdout).toBe('1\n');
      expect(sh(['--pid', 'host'], 'echo $$').stdout).not.toBe('1\n');
      expect(d.docker(['run', '-d', '--name', 'pid-target', 'busybox', 'sleep', '100']).code).toBe(0);
      expect(d.docker(['create', '--name', 'pid-stopped', 'busybox', 'true']).code).toBe(0);
      try {
        expect(sh(['--pid', 'container:pid-target'], 'cat /proc/1/cmdline | tr "\\0" " "').stdout).toBe('sleep 100 ');
        const stopped = d.docker(['run', '--rm', '--pid', 'container:pid-stopped', 'busybox', 'true']);
        expect(stopped.stderr).toMatch(/container [0-9a-f]{64} is not running/);
        expect(d.docker(['run', '--rm', '--pid', 'nope', 'busybox', 'true']).stderr).toMatch(/invalid PID mode/);
      } finally {
        d.docker(['rm', '-f', 'pid-target', 'pid-stopped']);
      }
    });

    it('--ipc shareable lends its namespace and /dev/shm to container:<x>; host, none and the refusals', async () => {
      expect(d.docker(['run', '-d', '--name', 'ipc-donor', '--ipc', 'shareable', 'busybox', 'sh', '-c', 'echo shared > /dev/shm/x; sleep 100']).code).toBe(0);
      expect(d.docker(['run', '-d', '--name', 'ipc-private', 'busybox', 'sleep', '100']).code).toBe(0);
      const hostFile = `/dev/shm/berth-itest-${process.pid}`;
      writeFileSync(hostFile, 'from the host\n');
      try {
        expect(inspectField(d, 'ipc-private', '{{.HostConfig.IpcMode}} {{.HostConfig.ShmSize}}')).toBe('private 67108864');
        const donorIpc = readlinkSync(`/proc/${inspectField(d, 'ipc-donor', '{{.State.Pid}}')}/ns/ipc`);
        const joined = () => sh(['--ipc', 'container:ipc-donor'], 'cat /dev/shm/x; readlink /proc/self/ns/ipc').stdout;
        await waitFor(() => joined() === `shared\n${donorIpc}\n`, "the donor's /dev/shm and IPC namespace in a container that joins it");
        expect(d.docker(['run', '--rm', '--ipc', 'container:ipc-private', 'busybox', 'true']).stderr).toMatch(/non-shareable IPC \(hint: use IpcMode:shareable for the donor container\)/);
        expect(sh(['--ipc', 'host'], `cat ${hostFile}`).stdout).toBe('from the host\n');
        expect(sh(['--ipc', 'none'], 'ls /dev/shm 2>&1; mount | grep -c /dev/shm').stdout).toMatch(/No such file or directory\n0\n$/);
        expect(d.docker(['run', '--rm', '--ipc', 'nope', 'busybox', 'true']).stderr).toMatch(/Invalid IPC mode: nope/);
        // The donor's /dev/shm is unmounted from the host with it.
        const donorShm = join(d.execRoot, 'etc', inspectField(d, 'ipc-donor', '{{.Id}}'), 'shm');
        expect(readFileSync('/proc/self/mountinfo', 'utf8')).toContain(` ${donorShm} `);
        d.docker(['rm', '-f', 'ipc-donor']);
        expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(` ${donorShm} `);
      } finally {
        rmSync(hostFile, { force: true });
        d.docker(['rm', '-f', 'ipc-donor', 'ipc-private']);
      }
    });

    it('refuses at create what Docker refuses: unknown capabilities, CPUs the host lacks, an OOM score out of range', () => {
      const refused = (args: string[], message: string) => {
        const r = d.docker(['create', ...args, 'busybox', 'true']);
        expect(r.code).not.toBe(0);
        expect(r.stderr).toContain(`Error response from daemon: ${message}`);
      };
      refused(['--cap-add', 'BOGUS'], 'invalid CapAdd: unknown capability: "CAP_BOGUS"');
      refused(['--cap-drop', 'cap_nope'], 'invalid CapDrop: unknown capability: "CAP_NOPE"');
      const n = availableParallelism();
      refused(['--cpus', String(n + 1)], `Range of CPUs is from 0.01 to ${n}.00, as there are only ${n} CPUs available`);
      refused(['--cpuset-cpus', '999'], 'Requested CPUs are not available - requested 999, available: ');
      refused(['--oom-score-adj', '2000'], 'Invalid value 2000, range for oom score adj is [-1000, 1000]');
      refused(['--tmpfs', 'relative'], "invalid mount path: 'relative' mount path must be absolute");
      // Accepted as Docker accepts them: a MAC for --network none (the CLI sends it as that network's), published ports with host networking (with a warning).
      expect(sh(['--network', 'none', '--mac-address', '02:42:ac:11:00:02'], 'true').code).toBe(0);
      const host = d.docker(['run', '--rm', '--network', 'host', '-p', '8080:80', 'busybox', 'true']);
      expect(host.code).toBe(0);
      expect(host.stderr).toContain('WARNING: Published ports are discarded when using host network mode');
    });

    it("--domainname is the container's NIS domain name (it was left unset)", () => {
      expect(sh(['--domainname', 'example.org'], 'cat /proc/sys/kernel/domainname').stdout).toBe('example.org\n');
      // With the host's UTS namespace it cannot be set: refused at create, not in the runtime.
      const r = d.docker(['create', '--uts', 'host', '--domainname', 'example.org', 'busybox', 'true']);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('Error response from daemon: conflicting options: domainname and the UTS mode');
    });

    it("--uts host has the host's name, and refuses --hostname with it", () => {
      expect(sh(['--uts', 'host'], 'hostname').stdout).toBe(`${hostname()}\n`);
      expect(d.docker(['run', '--rm', '--uts', 'host', '--hostname', 'x', 'busybox', 'true']).stderr).toMatch(/conflicting options: hostname and the UTS mode/);
    });

    it('--cgroupns private and --cgroup-parent', () => {
      expect(sh(['--cgroupns', 'private'], 'head -1 /proc/self/cgroup').stdout).toMatch(/:\/\n$/);
      const parent = `/berth-itest-${process.pid}`;
      try {
        expect(sh(['--cgroup-parent', parent], 'cat /proc/self/cgroup').stdout).toMatch(new RegExp(`^\\d+:pids:${parent}/[0-9a-f]{64}$`, 'm'));
      } finally {
        for (const h of readdirSync('/sys/fs/cgroup')) {
          try {
            rmdirSync(join('/sys/fs/cgroup', h, parent));
          } catch {
            // not in this hierarchy (or one linked to another)
          }
        }
      }
    });

    it('--device makes the node with the access given, --device-cgroup-rule adds a rule, --privileged has the host\'s', () => {
      // /dev/kmsg (1:11) is on every Linux host and not among a container's default devices.
      const r = sh(['--device', '/dev/kmsg:/dev/k2:r', '--device-cgroup-rule', 'c 10:229 rwm'], 'ls -l /dev/k2; grep -x -e "c 1:11 r" -e "c 10:229 rwm" /sys/fs/cgroup/devices/devices.list');
      expect(r.stdout).toMatch(/^c[-rwx]{9} +1 root +root +1, +11 .* \/dev\/k2\nc 1:11 r\nc 10:229 rwm\n$/);
      expect(d.docker(['run', '--rm', '--device', '/dev/nope', 'busybox', 'true']).stderr).toMatch(/error gathering device information while adding custom device "\/dev\/nope": no such file or directory/);
      expect(sh([], 'test -e /dev/kmsg && echo yes || echo no').stdout).toBe('no\n');
      expect(sh(['--privileged'], 'test -c /dev/kmsg && echo yes || echo no').stdout).toBe('yes\n');
    });

    it('--oom-score-adj and --oom-kill-disable reach the process and its cgroup', () => {
      expect(sh([], 'cat /proc/self/oom_score_adj').stdout).toBe('0\n');
      expect(sh(['--oom-score-adj', '500'], 'cat /proc/self/oom_score_adj').stdout).toBe('500\n');
      expect(sh(['--oom-kill-disable', '-m', '64m'], 'head -1 /sys/fs/cgroup/memory/memory.oom_control').stdout).toBe('oom_kill_disable 1\n');
    });
  });

  describe('--link and the other settings the docker CLI sends', () => {
    it('--link puts the linked container in /etc/hosts and, on the default bridge, its variables in the environment', () => {
      expect(d.docker(['run', '-d', '--name', 'link-db', '--expose', '5432', '-e', 'SECRET=s1', 'busybox', 'sleep', '100']).code).toBe(0);
      expect(d.docker(['create', '--name', 'link-stopped', 'busybox', 'true']).code).toBe(0);
      try {
        const ip = inspectField(d, 'link-db', '{{.NetworkSettings.IPAddress}}');
        const id12 = inspectField(d, 'link-db', '{{.Id}}').slice(0, 12);
        const r = d.docker(['run', '--rm', '--name', 'link-web', '--link', 'link-db:database', 'busybox', 'sh', '-c', 'grep database /etc/hosts; env | grep ^DATABASE_ | sort; ping -c1 -W1 database >/dev/null && echo reached']);
        expect(r.stdout).toBe(
          [
            `${ip}\tdatabase ${id12} link-db`,
            'DATABASE_ENV_SECRET=s1',
            'DATABASE_NAME=/link-web/database',
            `DATABASE_PORT=tcp://${ip}:5432`,
            `DATABASE_PORT_5432_TCP=tcp://${ip}:5432`,
            `DATABASE_PORT_5432_TCP_ADDR=${ip}`,
            'DATABASE_PORT_5432_TCP_PORT=5432',
            'DATABASE_PORT_5432_TCP_PROTO=tcp',
            'reached',
            '',
          ].join('\n'),
        );
        const c = d.docker(['create', '--name', 'link-kept', '--link', 'link-db:database', 'busybox', 'true']);
        expect(inspectField(d, 'link-kept', '{{json .HostConfig.Links}}')).toBe('["/link-db:/link-kept/database"]');
        d.docker(['rm', c.stdout.trim()]);
        expect(d.docker(['run', '--rm', '--link', 'nosuch:x', 'busybox', 'true']).stderr).toMatch(/could not get container for nosuch: No such container: nosuch/);
        expect(d.docker(['run', '--rm', '--link', 'link-stopped:s', 'busybox', 'true']).stderr).toMatch(/Cannot link to a non running container: \/link-stopped AS \/[a-z_]+\/s/);
      } finally {
        d.docker(['rm', '-f', 'link-db', 'link-stopped']);
      }
    });

    it('refuses what berth cannot do, in words that say so; applies swappiness and annotations; warns as Docker does', () => {
      const err = (args: string[]) => d.docker(['run', '--rm', ...args, 'busybox', 'true']).stderr;
      expect(err(['--runtime', 'foo'])).toMatch(/Unknown runtime specified foo/);
      expect(err(['--isolation', 'hyperv'])).toMatch(/Invalid isolation: "hyperv" - linux only supports 'default'/);
      expect(err(['--storage-opt', 'size=1G'])).toMatch(/--storage-opt is not supported/);
      expect(err(['--gpus', 'all'])).toMatch(/could not select device driver "" with capabilities: \[\[gpu\]\]/);
      expect(err(['--volume-driver', 'foo', '-v', 'vol-x:/x'])).toMatch(/volume driver "foo" is not supported/);
      expect(d.docker(['run', '--rm', '--memory-swappiness', '10', '-m', '64m', 'busybox', 'cat', '/sys/fs/cgroup/memory/memory.swappiness']).stdout).toBe('10\n');
      // Block I/O weight: applied where the kernel has it, else discarded with Docker's warning.
      const weighted = ['blkio/blkio.weight', 'blkio/blkio.bfq.weight', 'io.weight', 'io.bfq.weight'].some((f) => existsSync(join('/sys/fs/cgroup', f)));
      const k = d.docker(['run', '--rm', '--blkio-weight', '300', 'busybox', 'echo', 'ran']);
      expect(k.stdout).toBe('ran\n');
      if (weighted) expect(k.stderr).toBe('');
      else expect(k.stderr).toMatch(/WARNING: Your kernel does not support Block I\/O weight or the cgroup is not mounted. Weight discarded./);
      const id = d.docker(['create', '--annotation', 'org.example.team=infra', 'busybox', 'true']).stdout.trim();
      expect(inspectField(d, id, '{{json .HostConfig.Annotations}}')).toBe('{"org.example.team":"infra"}');
      expect(d.docker(['start', '-a', id]).code).toBe(0);
      d.docker(['rm', id]);
    });
  });
});
