import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectField, loadBusybox, onPty, rootSkipReason, rootTestsEnabled, startDaemon, type TestDaemon } from '../harness.js';

/**
 * Terminals (docker and berth on a real pty made by `script`), resource limits in the
 * container's cgroups, and `--init`.
 */

const CGROUP_V2 = existsSync('/sys/fs/cgroup/cgroup.controllers');

describe.skipIf(!rootTestsEnabled())(`terminals, resources and init (${rootSkipReason})`, () => {
  let d: TestDaemon;

  beforeAll(async () => {
    d = await startDaemon();
    loadBusybox(d);
  });
  afterAll(async () => {
    await d?.stop();
  });

  describe('-it on a terminal', () => {
    it('docker: the container\'s tty has the terminal\'s size and the exit status comes back', async () => {
      const r = await onPty(d, "docker run -it --rm busybox sh -c 'stty size; exit 5'", { cols: 100, rows: 30 });
      expect(r.code).toBe(5);
      expect(r.stdout).toBe('30 100\r\n');
      const other = await onPty(d, "docker run -it --rm busybox sh -c 'stty size; [ -t 0 ] && [ -t 1 ] && echo tty-ok'", { cols: 132, rows: 43 });
      expect(other.code).toBe(0);
      expect(other.stdout).toBe('43 132\r\ntty-ok\r\n');
    });

    it('berth: the same size and exit status', async () => {
      const r = await onPty(d, "node bin/berth run -it --rm busybox sh -c 'stty size; exit 5'", { cols: 100, rows: 30 });
      expect(r.code).toBe(5);
      // Output processing is off as with docker: "\r\n" from the container, not "\r\r\n".
      expect(r.stdout).toBe('30 100\r\n');
    });

    it('an interactive shell reads what is typed', async () => {
      for (const cli of ['docker', 'node bin/berth']) {
        const r = await onPty(d, `${cli} run -it --rm busybox sh`, { input: 'echo hello-$((6*7))\nexit 9\n' });
        expect(r.code).toBe(9);
        // The result of the arithmetic can only come from the shell in the container.
        expect(r.stdout).toContain('hello-42\r');
        expect(r.stdout).toContain('/ # ');
      }
      expect(d.docker(['ps', '-aq']).stdout).toBe('');
    });

    it('exec -it gets a terminal too', async () => {
      d.docker(['run', '-d', '--name', 'ttybox', 'busybox', 'sleep', '1000']);
      const r = await onPty(d, "docker exec -it ttybox sh -c 'stty size; tty; exit 3'", { cols: 90, rows: 20 });
      expect(r.code).toBe(3);
      expect(r.stdout).toMatch(/^20 90\r\n\/dev\/pts\/\d+\r\n$/);
      expect(d.docker(['rm', '-f', 'ttybox']).code).toBe(0);
    });
  });

  describe('resource limits', () => {
    let id: string;
    beforeAll(() => {
      const r = d.docker(['run', '-d', '--memory', '64m', '--pids-limit', '50', '--cpus', '0.5', 'busybox', 'sleep', '1000']);
      expect(r.code).toBe(0);
      id = r.stdout.trim();
    });

    const hostFile = (controller: string, file: string) =>
      readFileSync(CGROUP_V2 ? `/sys/fs/cgroup/berth/${id}/${file}` : `/sys/fs/cgroup/${controller}/berth/${id}/${file}`, 'utf8').trim();
    const inside = (path: string) => {
      const r = d.docker(['exec', id, 'cat', path]);
      expect(r.stderr).toBe('');
      return r.stdout.trim();
    };

    it('land in the container\'s cgroups', () => {
      if (CGROUP_V2) {
        expect(hostFile('memory', 'memory.max')).toBe('67108864');
        expect(hostFile('pids', 'pids.max')).toBe('50');
        expect(hostFile('cpu', 'cpu.max')).toBe('50000 100000');
        expect(inside('/sys/fs/cgroup/memory.max')).toBe('67108864');
        return;
      }
      expect(hostFile('memory', 'memory.limit_in_bytes')).toBe('67108864');
      expect(hostFile('pids', 'pids.max')).toBe('50');
      expect(hostFile('cpu', 'cpu.cfs_quota_us')).toBe('50000');
      expect(hostFile('cpu', 'cpu.cfs_period_us')).toBe('100000');
      // The container sees its own cgroup at /sys/fs/cgroup (a cgroup namespace).
      expect(inside('/sys/fs/cgroup/memory/memory.limit_in_bytes')).toBe('67108864');
      expect(inside('/sys/fs/cgroup/pids/pids.max')).toBe('50');
      expect(inside('/sys/fs/cgroup/cpu/cpu.cfs_quota_us')).toBe('50000');
    });

    it('show in inspect HostConfig', () => {
      expect(inspectField(d, id, '{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{.HostConfig.NanoCpus}}')).toBe('67108864 50 500000000');
      expect(d.docker(['stats', '--no-stream', '--format', '{{.MemUsage}}', id]).stdout).toMatch(/ \/ 64MiB\n$/);
    });

    it('are enforced', () => {
      const forks = d.docker(['run', '--rm', '--pids-limit', '5', 'busybox', 'sh', '-c', 'for i in 1 2 3 4 5 6 7 8; do sleep 1 & done; wait']);
      expect(forks.code).not.toBe(0);
      expect(forks.stderr).toContain("can't fork");
      // 40 MB in a shell variable does not fit in 16 MB: the kernel kills the shell.
      const mem = d.docker(['run', '--rm', '--memory', '16m', '--memory-swap', '16m', 'busybox', 'sh', '-c', 'x=$(head -c 40000000 /dev/zero | tr "\\0" a); echo survived ${#x}']);
      expect(mem.code).toBe(137);
      expect(mem.stdout).toBe('');
      const fine = d.docker(['run', '--rm', '--memory', '16m', 'busybox', 'sh', '-c', 'x=$(head -c 4000000 /dev/zero | tr "\\0" a); echo survived ${#x}']);
      expect(fine).toEqual({ code: 0, stdout: 'survived 4000000\n', stderr: '' });
    });

    it('change with update while the container runs (docker update and berth update), and keep for its next start', () => {
      const up = d.docker(['update', '--memory', '96m', '--pids-limit', '60', '--cpus', '0.25', id]);
      expect(up).toEqual({ code: 0, stdout: `${id}\n`, stderr: '' });
      if (CGROUP_V2) {
        expect(hostFile('memory', 'memory.max')).toBe(String(96 * 1024 * 1024));
        expect(hostFile('pids', 'pids.max')).toBe('60');
        expect(hostFile('cpu', 'cpu.max')).toBe('25000 100000');
      } else {
        expect(hostFile('memory', 'memory.limit_in_bytes')).toBe(String(96 * 1024 * 1024));
        expect(hostFile('pids', 'pids.max')).toBe('60');
        expect(hostFile('cpu', 'cpu.cfs_quota_us')).toBe('25000');
      }
      expect(d.berth(['update', '--pids-limit', '-1', '--restart', 'on-failure:2', id]).code).toBe(0);
      expect(hostFile('pids', 'pids.max')).toBe('max');
      expect(inspectField(d, id, '{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{.HostConfig.NanoCpus}} {{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}')).toBe(
        `${96 * 1024 * 1024} 0 250000000 on-failure:2`,
      );
      // cpuset mems and a block I/O weight, which berth's daemon once dropped from an update.
      for (const cli of ['docker', 'berth'] as const) {
        const r = d[cli](['update', '--cpuset-mems', '0', '--blkio-weight', '300', id]);
        expect(r.code, cli).toBe(0);
        expect(hostFile('cpuset', 'cpuset.mems')).toBe('0');
        const weight = inspectField(d, id, '{{.HostConfig.BlkioWeight}}');
        // Where the kernel has no weight, docker's warning after the name, on stdout.
        if (r.stdout.includes('does not support Block I/O weight')) {
          expect(r.stdout).toBe(`${id}\nYour kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.\n`);
          expect(weight).toBe('0');
        } else expect(weight).toBe('300');
      }
      expect(inspectField(d, id, '{{.HostConfig.CpusetMems}}')).toBe('0');
      // Bad input: nothing to change, a limit under the minimum, a policy --rm forbids.
      expect(d.berth(['update', id])).toMatchObject({ code: 125, stderr: expect.stringContaining('you must provide one or more flags') });
      expect(d.berth(['update', '--memory', '1m', id])).toMatchObject({ code: 1, stderr: expect.stringContaining('Minimum memory limit allowed is 6MB') });
      expect(hostFile('memory', CGROUP_V2 ? 'memory.max' : 'memory.limit_in_bytes')).toBe(String(96 * 1024 * 1024));
      // The limits are the container's: they come back with its next start.
      expect(d.docker(['restart', '-t', '0', id]).code).toBe(0);
      expect(hostFile('cpu', CGROUP_V2 ? 'cpu.max' : 'cpu.cfs_quota_us')).toBe(CGROUP_V2 ? '25000 100000' : '25000');
      expect(hostFile('memory', CGROUP_V2 ? 'memory.max' : 'memory.limit_in_bytes')).toBe(String(96 * 1024 * 1024));
    });

    it('update refuses a restart policy for a container started with --rm', () => {
      const r = d.docker(['run', '-d', '--rm', 'busybox', 'sleep', '100']);
      const rmId = r.stdout.trim();
      const up = d.docker(['update', '--restart', 'always', rmId]);
      expect(up.code).not.toBe(0);
      expect(up.stderr).toContain('Restart policy cannot be updated because AutoRemove is enabled for the container');
      d.docker(['rm', '-f', rmId]);
    });

    it('the cgroup goes away with the container', () => {
      const dir = CGROUP_V2 ? `/sys/fs/cgroup/berth/${id}` : `/sys/fs/cgroup/memory/berth/${id}`;
      expect(existsSync(dir)).toBe(true);
      expect(d.docker(['rm', '-f', id]).code).toBe(0);
      expect(existsSync(dir)).toBe(false);
    });
  });

  it('--init runs tini as pid 1', () => {
    const r = d.docker(['run', '--rm', '--init', 'busybox', 'ps', '-o', 'pid,args']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n').map((l) => l.trim());
    expect(lines[0]).toBe('PID   COMMAND');
    expect(lines).toContain('1 /sbin/docker-init -- ps -o pid,args');
    expect(lines.filter((l) => /^\d+ ps -o pid,args$/.test(l))).toHaveLength(1);
    // Without --init the command itself is pid 1.
    expect(d.docker(['run', '--rm', 'busybox', 'ps', '-o', 'pid,args']).stdout.trimEnd().split('\n').map((l) => l.trim())).toEqual(['PID   COMMAND', '1 ps -o pid,args']);
    // tini reaps and passes the exit status through.
    expect(d.berth(['run', '--rm', '--init', 'busybox', 'sh', '-c', 'exit 12']).code).toBe(12);
    const c = d.docker(['create', '--init', 'busybox', 'true']).stdout.trim();
    expect(inspectField(d, c, '{{.HostConfig.Init}}')).toBe('true');
    d.docker(['rm', c]);
  });
});
