import { spawn, spawnSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBusybox, REPO, rootSkipReason, rootTestsEnabled, sleep, startDaemon, type TestDaemon } from '../harness.js';

/**
 * The CLI's own process: short commands answer on libuv's pipe handle and write their text on
 * the descriptors (src/client/pipe.ts, src/cli/stdio.ts) without loading node:net or
 * node:stream, and their output stays whole and in order however stdout is connected.
 */
describe.skipIf(!rootTestsEnabled())(`the CLI's transport and output (${rootSkipReason})`, () => {
  let d: TestDaemon;
  let dir: string;
  /** A preload that reports, as the CLI exits, which of node's stream modules it loaded. */
  let probe: string;

  beforeAll(async () => {
    d = await startDaemon();
    loadBusybox(d);
    dir = mkdtempSync('/tmp/berth-test-cli-io-');
    probe = join(dir, 'probe.cjs');
    writeFileSync(
      probe,
      `const exit = process.reallyExit;
process.reallyExit = function (code) {
  const loaded = process.moduleLoadList.filter((m) => /^NativeModule (net|stream|tty|child_process)$/.test(m)).map((m) => m.slice(13));
  require('node:fs').writeSync(2, 'modules: ' + loaded.join(',') + '\\n');
  return exit.call(process, code);
};
`,
    );
  });
  afterAll(async () => {
    await d?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /**
   * `berth args` under the probe: its status, output and the stream modules it loaded. With
   * --pending-deprecation, node would warn on stderr about the process.binding berth uses.
   */
  const probed = (args: string[]) => {
    const r = spawnSync(process.execPath, ['--pending-deprecation', '-r', probe, join(REPO, 'bin', 'berth'), ...args], { env: d.env, encoding: 'utf8', timeout: 60_000 });
    const modules = /modules: (.*)\n/.exec(r.stderr)?.[1];
    return { code: r.status, stdout: r.stdout, stderr: r.stderr.replace(/modules: .*\n/, ''), modules };
  };

  it('runs short commands without node:net, node:stream, node:tty or node:child_process, to a pipe as to a file', () => {
    const id = probed(['run', '-d', '--name', 'io1', 'busybox', 'sleep', '60']);
    expect(id).toMatchObject({ code: 0, stderr: '', modules: '' });
    expect(id.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    expect(probed(['create', '--name', 'io2', 'busybox', 'true'])).toMatchObject({ code: 0, modules: '' });
    expect(probed(['start', 'io2'])).toMatchObject({ code: 0, stdout: 'io2\n', modules: '' });
    const ps = probed(['ps', '-a', '--format', '{{.Names}} {{.Image}}']);
    expect(ps).toMatchObject({ code: 0, modules: '' });
    expect(ps.stdout.split('\n').sort()).toEqual(['', 'io1 busybox', 'io2 busybox']);
    expect(probed(['inspect', '-f', '{{.State.Running}}', 'io1'])).toMatchObject({ code: 0, stdout: 'true\n', modules: '' });
    expect(probed(['images', '-q'])).toMatchObject({ code: 0, modules: '' });
    expect(probed(['rm', '-f', 'io1', 'io2'])).toMatchObject({ code: 0, stdout: 'io1\nio2\n', modules: '' });
    // A daemon error, on stderr in docker's words, loads nothing either.
    expect(probed(['inspect', 'nosuch'])).toMatchObject({ code: 1, stderr: 'Error: No such object: nosuch\n', modules: '' });
    // What streams: the attach of `run` (so the probe sees the modules when they are loaded).
    const attached = probed(['run', '--rm', 'busybox', 'echo', 'hi']);
    expect(attached).toMatchObject({ code: 0, stdout: 'hi\n' });
    expect(attached.modules).toContain('net');
  });

  it('keeps stdout and stderr in order on one pipe', () => {
    expect(d.berth(['create', '--name', 'io3', 'busybox', 'true']).code).toBe(0);
    expect(d.berth(['create', '--name', 'io4', 'busybox', 'true']).code).toBe(0);
    const r = spawnSync('sh', ['-c', `"${join(REPO, 'bin', 'berth')}" rm io3 nosuch io4 2>&1`], { env: d.env, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('io3\nError response from daemon: No such container: nosuch\nio4\n');
  });

  it('ends quietly with status 0 when the reader of its output has gone', () => {
    const r = spawnSync('bash', ['-c', `set -o pipefail; "${join(REPO, 'bin', 'berth')}" images | (exec 0<&-; sleep 0.5)`], { env: d.env, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('writes all of a long output to a pipe left non-blocking, waiting for a slow reader', async () => {
    // 40 inspects of one container: ~100 KiB, more than a pipe holds.
    expect(d.berth(['create', '--name', 'io5', 'busybox', 'true']).code).toBe(0);
    const args = ['inspect', ...Array.from({ length: 40 }, () => 'io5')];
    const expected = d.berth(args).stdout;
    expect(expected.length).toBeGreaterThan(80 * 1024);
    const fifo = join(dir, 'out.fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const rfd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const wfd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    try {
      // The shell hands the non-blocking descriptor on as stdout (node would make its own
      // child's stdout blocking); the reader waits before it reads anything.
      const child = spawn('sh', ['-c', `exec "${join(REPO, 'bin', 'berth')}" "$@" >&3`, 'sh', ...args], { env: d.env, stdio: ['ignore', 'ignore', 'pipe', wfd] });
      closeSync(wfd);
      let stderr = '';
      child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      await sleep(1000);
      const chunks: Buffer[] = [];
      const buf = Buffer.alloc(65536);
      for (;;) {
        let n: number;
        try {
          n = readSync(rfd, buf);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
          await sleep(5);
          continue;
        }
        if (n === 0) break;
        chunks.push(Buffer.from(buf.subarray(0, n)));
      }
      expect(await exited).toBe(0);
      expect(stderr).toBe('');
      expect(Buffer.concat(chunks).toString()).toBe(expected);
    } finally {
      closeSync(rfd);
    }
  });
});
