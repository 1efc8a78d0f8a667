import { existsSync, readFileSync, statfsSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectField, loadBusybox, ping, rootSkipReason, rootTestsEnabled, sleep, startDaemon, waitFor, type TestDaemon } from '../harness.js';

/**
 * Restart policies, and what survives the daemon: a clean restart and `kill -9`. Containers
 * run under conmon, so they outlive the daemon; exits while it is away are found at start.
 */

describe.skipIf(!rootTestsEnabled())(`restart policies and daemon restarts (${rootSkipReason})`, () => {
  let d: TestDaemon;

  beforeAll(async () => {
    d = await startDaemon();
    loadBusybox(d);
  });
  afterAll(async () => {
    await d?.stop();
  });

  const state = (name: string) => inspectField(d, name, '{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}');

  describe('restart policies', () => {
    it('on-failure:2 restarts twice, then stays exited', async () => {
      d.docker(['run', '-d', '--name', 'onfail', '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'echo run; exit 3']);
      await waitFor(() => state('onfail') === 'exited 2 3', 'two restarts then exited', 20_000);
      expect(inspectField(d, 'onfail', '{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}')).toBe('on-failure:2');
      expect(d.docker(['logs', 'onfail']).stdout).toBe('run\nrun\nrun\n');
      // It stays that way.
      await sleep(1000);
      expect(state('onfail')).toBe('exited 2 3');
      expect(d.docker(['ps', '-a', '--filter', 'name=onfail', '--format', '{{.Status}}']).stdout).toMatch(/^Exited \(3\) /);
    });

    it('on-failure does not restart a clean exit', async () => {
      d.docker(['run', '-d', '--name', 'onfail-ok', '--restart', 'on-failure', 'busybox', 'true']);
      await waitFor(() => state('onfail-ok').startsWith('exited'), 'onfail-ok to exit');
      await sleep(500);
      expect(state('onfail-ok')).toBe('exited 0 0');
    });

    it('always restarts, also after exit 0; docker stop makes it stay stopped', async () => {
      d.docker(['run', '-d', '--name', 'always', '--restart', 'always', '--stop-timeout', '1', 'busybox', 'sh', '-c', 'sleep 0.2']);
      await waitFor(() => Number(inspectField(d, 'always', '{{.RestartCount}}')) >= 2, 'two restarts of an always container', 20_000);
      expect(d.docker(['stop', 'always'])).toEqual({ code: 0, stdout: 'always\n', stderr: '' });
      const after = inspectField(d, 'always', '{{.State.Status}} {{.RestartCount}}');
      expect(after).toMatch(/^exited \d+$/);
      await sleep(1500);
      expect(inspectField(d, 'always', '{{.State.Status}} {{.RestartCount}}')).toBe(after);
      expect(d.docker(['ps', '-q', '--filter', 'name=always']).stdout).toBe('');
    });

    it('bad policies are refused', () => {
      const bad = d.docker(['run', '-d', '--restart', 'sometimes', 'busybox', 'true']);
      expect(bad.code).toBe(125);
      expect(bad.stderr).toContain('sometimes');
      const both = d.docker(['run', '--rm', '--restart', 'always', 'busybox', 'true']);
      expect(both.code).toBe(125);
      expect(both.stderr).toContain('conflicting options: cannot specify both --restart and --rm');
    });
  });

  describe('the daemon goes away and comes back', () => {
    it('after a clean restart: containers, images and tags are still there, running ones still run', async () => {
      expect(d.docker(['tag', 'busybox', 'kept:1']).code).toBe(0);
      // The docker CLI prints the repositories of one image in Go map order (random): compare sorted.
      const imageLines = () => d.docker(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']).stdout.split('\n').filter(Boolean).sort();
      const imagesBefore = imageLines();
      d.docker(['run', '-d', '--name', 'survivor', 'busybox', 'sleep', '1000']);
      const pid = inspectField(d, 'survivor', '{{.State.Pid}}');
      const psBefore = d.docker(['ps', '-a', '--format', '{{.Names}} {{.State}}']).stdout;
      // The exec root (on this machine, a directory on ext4) was made a tmpfs at the first start;
      // the restarted daemon keeps that one rather than mounting another over its state.
      const TMPFS = 0x01021994;
      const mountsAt = () => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4] === d.execRoot).length;
      expect(statfsSync(d.execRoot).type).toBe(TMPFS);
      const dev = statSync(d.execRoot).dev;
      const mounts = mountsAt();
      expect(mounts).toBeLessThanOrEqual(1); // 0 where /tmp is a tmpfs itself

      await d.restart();

      expect(statfsSync(d.execRoot).type).toBe(TMPFS);
      expect(statSync(d.execRoot).dev).toBe(dev);
      expect(mountsAt()).toBe(mounts);

      expect(imageLines()).toEqual(imagesBefore);
      expect(imagesBefore).toHaveLength(2);
      expect(d.docker(['ps', '-a', '--format', '{{.Names}} {{.State}}']).stdout).toBe(psBefore);
      expect(inspectField(d, 'survivor', '{{.State.Status}} {{.State.Pid}}')).toBe(`running ${pid}`);
      expect(d.docker(['exec', 'survivor', 'echo', 'still-here']).stdout).toBe('still-here\n');
      expect(d.docker(['run', '--rm', 'kept:1', 'echo', 'tag-kept']).stdout).toBe('tag-kept\n');
    });

    it('after kill -9: a container that exited meanwhile shows its real exit code; an always container runs again', async () => {
      d.docker(['run', '-d', '--name', 'ends-while-down', 'busybox', 'sh', '-c', 'while [ ! -f /go ]; do sleep 0.05; done; exit 42']);
      d.docker(['run', '-d', '--name', 'dies-while-down', '--restart', 'always', 'busybox', 'sleep', '1000']);
      d.docker(['run', '-d', '--name', 'stays-up', 'busybox', 'sleep', '1000']);
      // --rm containers: one ends while the daemon is away (removed once it is back, as Docker
      // removes them when it starts), one still runs then and is removed when it ends.
      d.docker(['run', '-d', '--rm', '--name', 'rm-while-down', 'busybox', 'sh', '-c', 'while [ ! -f /go ]; do sleep 0.05; done']);
      d.docker(['run', '-d', '--rm', '--name', 'rm-later', 'busybox', 'sh', '-c', 'while [ ! -f /go ]; do sleep 0.05; done']);
      const rmId = inspectField(d, 'rm-while-down', '{{.Id}}');
      const rmLaterId = inspectField(d, 'rm-later', '{{.Id}}');
      const id = inspectField(d, 'ends-while-down', '{{.Id}}');
      const alwaysId = inspectField(d, 'dies-while-down', '{{.Id}}');
      const alwaysPid = Number(inspectField(d, 'dies-while-down', '{{.State.Pid}}'));
      const upPid = inspectField(d, 'stays-up', '{{.State.Pid}}');
      const imageLines = () => d.docker(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']).stdout.split('\n').filter(Boolean).sort();
      const imagesBefore = imageLines();

      await d.restart({
        kill9: true,
        whileDown: async () => {
          expect(await ping(d.socket)).toBe(false);
          // One container finishes (its trigger file written through the mounted root), another
          // is killed behind the daemon's back; conmon records both exit codes.
          await writeFile(join(d.root, 'containers', id, 'merged', 'go'), '');
          await writeFile(join(d.root, 'containers', rmId, 'merged', 'go'), '');
          process.kill(alwaysPid, 'SIGKILL');
          await waitFor(() => [id, alwaysId, rmId].every((x) => existsSync(join(d.execRoot, 'exits', x))), 'conmon to record the three exits');
        },
      });

      expect(imageLines()).toEqual(imagesBefore);
      expect(inspectField(d, 'ends-while-down', '{{.State.Status}} {{.State.ExitCode}} {{.State.Running}}')).toBe('exited 42 false');
      expect(d.docker(['ps', '-a', '--filter', 'name=ends-while-down', '--format', '{{.Status}}']).stdout).toMatch(/^Exited \(42\) /);
      expect(d.docker(['wait', 'ends-while-down']).stdout).toBe('42\n');
      expect(inspectField(d, 'stays-up', '{{.State.Status}} {{.State.Pid}}')).toBe(`running ${upPid}`);
      await waitFor(() => inspectField(d, 'dies-while-down', '{{.State.Status}}') === 'running', 'the always container to run again');
      expect(Number(inspectField(d, 'dies-while-down', '{{.State.Pid}}'))).not.toBe(alwaysPid);
      expect(d.docker(['exec', 'dies-while-down', 'echo', 'back']).stdout).toBe('back\n');
      expect(d.docker(['ps', '-a', '--filter', 'name=rm-', '--format', '{{.Names}} {{.State}}']).stdout).toBe('rm-later running\n');
      expect(existsSync(join(d.root, 'containers', rmId))).toBe(false);
      expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(rmId);
      await writeFile(join(d.root, 'containers', rmLaterId, 'merged', 'go'), '');
      await waitFor(() => d.docker(['ps', '-aq', '--filter', 'name=rm-later']).stdout === '', 'rm-later to be removed once it ends');
      // And the daemon works as before.
      expect(d.docker(['run', '--rm', 'busybox', 'echo', 'after-kill-9'])).toEqual({ code: 0, stdout: 'after-kill-9\n', stderr: '' });
    });
  });
});
