import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readlinkSync, rmSync, statfsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, CACHE, ping, REPO, rootSkipReason, rootTestsEnabled, sleep } from '../harness.js';

/**
 * Auto-start: as root, berth's CLI starts a daemon when nothing answers on its socket, and
 * `berth daemon stop` stops it. BERTH_ROOT and BERTH_EXEC_ROOT keep it off /var/lib/berth
 * and /run/berth.
 */

describe.skipIf(!rootTestsEnabled())(`daemon auto-start (${rootSkipReason})`, () => {
  let base: string;
  let env: NodeJS.ProcessEnv;
  let socket: string;
  let pidFile: string;

  const berth = (args: string[], cwd?: string) => {
    const r = spawnSync(process.execPath, [join(REPO, 'bin/berth'), ...args], { env, timeout: 60_000, ...(cwd ? { cwd } : {}) });
    return { code: r.status ?? 1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  };
  const daemonPid = () => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : undefined);

  beforeAll(async () => {
    base = await mkdtemp('/tmp/berth-test-auto-');
    // The default layout: the socket in the exec root (/run/berth/berth.sock in /run/berth).
    socket = join(base, 'run', 'berth.sock');
    pidFile = join(base, 'run', 'berth.pid');
    env = {
      ...process.env,
      BERTH_HOST: `unix://${socket}`,
      BERTH_ROOT: join(base, 'root'),
      BERTH_EXEC_ROOT: join(base, 'run'),
      DOCKER_HOST: `unix://${socket}`,
      DOCKER_CONFIG: join(base, 'docker-config'),
    };
  });
  afterAll(async () => {
    const pid = daemonPid();
    if (pid !== undefined && alive(pid)) {
      const ids = spawnSync('docker', ['ps', '-aq'], { env }).stdout?.toString().split('\n').filter(Boolean) ?? [];
      if (ids.length > 0) spawnSync('docker', ['rm', '-f', ...ids], { env });
      process.kill(pid, 'SIGTERM');
      for (let i = 0; i < 250 && alive(pid); i++) await sleep(20);
    }
    spawnSync('sh', ['-c', `grep -o '${base}[^ ]*' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l`]);
    if (base) await rm(base, { recursive: true, force: true });
  });

  it('a command starts the daemon on BERTH_ROOT/BERTH_EXEC_ROOT and succeeds', async () => {
    expect(await ping(socket)).toBe(false);
    expect(daemonPid()).toBeUndefined();

    // Started from a directory that goes away afterwards (a clone deleted, say).
    const caller = join(base, 'caller');
    mkdirSync(caller);
    const r = berth(['images'], caller);
    rmSync(caller, { recursive: true });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\n$/);

    expect(await ping(socket)).toBe(true);
    const pid = daemonPid();
    expect(pid).toBeGreaterThan(0);
    expect(alive(pid as number)).toBe(true);
    // The daemon runs on this test's directories, not /var/lib/berth and /run/berth.
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    expect(argv).toEqual(expect.arrayContaining(['daemon', '--host', `unix://${socket}`, '--root', join(base, 'root'), '--exec-root', join(base, 'run')]));
    expect(existsSync(join(base, 'root', 'image'))).toBe(true);
    // Its output goes to the state root: the exec root was empty when it started, and is a tmpfs.
    expect(readFileSync(join(base, 'root', 'berth-daemon.log'), 'utf8')).toContain(`listening on unix://${socket}`);
    expect(statfsSync(join(base, 'run')).type).toBe(0x01021994);
    if (existsSync('/run/berth/berth.pid')) expect(readFileSync('/run/berth/berth.pid', 'utf8').trim()).not.toBe(String(pid));

    // It keeps none of its caller's directories (conmon, started in its directory, failed when that was gone).
    expect(readlinkSync(`/proc/${pid}/cwd`)).toBe('/');
    // It is a working daemon: the stock docker CLI sees what berth's CLI does.
    expect(berth(['import', '--change', 'CMD ["sh"]', join(CACHE, 'images', 'busybox.tar'), 'busybox']).code).toBe(0);
    expect(berth(['run', '--rm', 'busybox', 'echo', 'auto-started'])).toEqual({ code: 0, stdout: 'auto-started\n', stderr: '' });
    expect(spawnSync('docker', ['images', '--format', '{{.Repository}}'], { env }).stdout.toString()).toBe('busybox\n');
    // A second command uses it rather than starting another.
    expect(berth(['ps', '-q'])).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(daemonPid()).toBe(pid);
  });

  it('a second daemon (another root and exec root) refuses the socket of a live one', async () => {
    // It used to take the path over, and removed it when it stopped: the first daemon ran on,
    // unreachable.
    const r = berth(['daemon', '--host', `unix://${socket}`, '--root', join(base, 'root2'), '--exec-root', join(base, 'run2')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`another daemon is listening on unix://${socket}`);
    expect(await ping(socket)).toBe(true);
    expect(berth(['version', '--format', '{{.Server.Version}}']).code).toBe(0);
  });

  it('berth daemon stop stops it, and the daemon process ends', async () => {
    const pid = daemonPid() as number;
    expect(alive(pid)).toBe(true);
    // A forced removal just before: its 10 s wait for the exit must not keep the daemon alive.
    const id = berth(['run', '-d', 'busybox', 'sleep', '1000']).stdout.trim();
    expect(berth(['rm', '-f', id]).stdout).toBe(`${id}\n`);
    expect(berth(['daemon', 'stop'])).toEqual({ code: 0, stdout: '', stderr: '' });
    for (let i = 0; i < 250 && alive(pid); i++) await sleep(20);
    expect(alive(pid)).toBe(false);
    expect(await ping(socket)).toBe(false);
    expect(existsSync(socket)).toBe(false);
    expect(existsSync(pidFile)).toBe(false);

    const again = berth(['daemon', 'stop']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`the berth daemon is not running (no pid file at ${pidFile})`);
    // `daemon stop` never starts one.
    expect(await ping(socket)).toBe(false);
  });
});

/**
 * The built CLI runs with its V8 code cache (scripts/cli-cache.mjs): made by this node with no
 * V8 flags, as bin/berth has them once node has started (its one start-up flag is set back
 * before anything is compiled), so V8 takes it rather than compiling the bundle again.
 */
describe('the CLI bundle and its code cache', () => {
  it('has a code cache this node accepts, trained on the run and list paths', async () => {
    const vm = await import('node:vm');
    const file = join(REPO, 'dist', 'cli', 'bundle.js');
    const cachedData = readFileSync(join(REPO, 'dist', 'cli', 'bundle.cache'));
    const script = new vm.Script(readFileSync(file, 'utf8'), { filename: file, cachedData });
    expect(script.cachedDataRejected).toBe(false);
    // The run, attach and list paths were compiled when the cache was made: far more than the
    // bundle's top level alone.
    const bare = new vm.Script(readFileSync(file, 'utf8'), { filename: `${file}.bare` }).createCachedData();
    expect(cachedData.length).toBeGreaterThan(bare.length * 2);
  });

  it('is taken by the CLI bin/berth starts, whose start-up flag is back at its default by then', () => {
    const run = (argv: string[]) => {
      const r = spawnSync(argv[0] as string, argv.slice(1), { env: { ...process.env, BERTH_DEBUG: '' }, encoding: 'utf8' });
      return `${r.stderr}${r.stdout}`;
    };
    expect(run([join(REPO, 'bin', 'berth'), '-D', '--version'])).toBe('berth: code cache of the CLI accepted\nberth version 0.1.0\n');
    expect(run([process.execPath, join(REPO, 'bin', 'berth'), '-D', '--version'])).toContain('code cache of the CLI accepted');
    // Any other V8 flag left set makes V8 refuse the cache, as it would this one.
    expect(run([process.execPath, '--no-opt', join(REPO, 'bin', 'berth'), '-D', '--version'])).toContain('code cache of the CLI rejected (npm run build makes it for this node)');
  });
});
