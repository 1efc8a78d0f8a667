import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CommandServer, shellQuote } from './cmdserver.js';
import { spawnRun } from './exec.js';

describe('CommandServer', () => {
  let dir: string;
  let server: CommandServer;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-cmd-'));
    server = new CommandServer({ dir: join(dir, 'cmd'), maxLanes: 2 });
  });
  afterEach(async () => {
    server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('returns what a forked child returns: stdout, stderr and the exit status', async () => {
    const args = ['-c', 'echo out; echo err >&2; exit 3'];
    const viaServer = await server.run('sh', args, { allowFailure: true });
    const forked = await spawnRun('sh', args, { allowFailure: true });
    expect(viaServer).toEqual(forked);
    expect(viaServer).toEqual({ code: 3, stdout: 'out\n', stderr: 'err\n' });
  });

  it('passes every argument through untouched by the shell', async () => {
    const nasty = ["it's", '$HOME', '`id`', '"q"', 'a\nb', ' lead', '*', '; rm -rf /', '\\', ''];
    const r = await server.run('printf', ['%s|', ...nasty]);
    expect(r.stdout).toBe(`${nasty.join('|')}|`);
  });

  it('feeds input, runs in cwd, and keeps the lane in its own directory', async () => {
    expect((await server.run('cat', [], { input: 'line one\nline two\n' })).stdout).toBe('line one\nline two\n');
    expect((await server.run('pwd', [], { cwd: dir })).stdout.trim()).toBe(dir);
    expect((await server.run('sh', ['-c', 'pwd'])).stdout.trim()).not.toBe(dir);
  });

  it("adds variables to the command's environment and gives it a file as fd 3, as a forked child gets them", async () => {
    const script = ['-c', 'echo "$BERTH_T1|$BERTH_T2" >&3; echo "$BERTH_T1"'];
    const opts = (f: string) => ({ setEnv: { BERTH_T1: "it's $x", BERTH_T2: 'two' }, fd3File: join(dir, f) });
    const viaServer = await server.run('sh', script, opts('a'));
    const forked = await spawnRun('sh', script, opts('b'));
    expect(viaServer).toEqual(forked);
    expect(viaServer.stdout).toBe("it's $x\n");
    for (const f of ['a', 'b']) expect(readFileSync(join(dir, f), 'utf8')).toBe("it's $x|two\n");
    // Only for that command; with cwd too.
    expect((await server.run('sh', ['-c', 'echo "[$BERTH_T1]"'])).stdout).toBe('[]\n');
    expect((await server.run('sh', ['-c', 'echo "$BERTH_T1 $PWD"'], { cwd: dir, setEnv: { BERTH_T1: 'v' } })).stdout).toBe(`v ${dir}\n`);
    await expect(server.run('true', [], { setEnv: { 'A;B': '1' } })).rejects.toThrow('not a variable name');
  });

  it('rejects on a non-zero exit unless allowed, naming the command and its stderr', async () => {
    await expect(server.run('sh', ['-c', 'echo bad thing >&2; exit 1'])).rejects.toThrow(/^sh -c .*: bad thing$/);
  });

  it('a missing program fails as spawn does (ENOENT), even when failure is allowed', async () => {
    await expect(server.run('berth-no-such-program', [], { allowFailure: true })).rejects.toThrow('spawn berth-no-such-program ENOENT');
  });

  it('runs more commands than lanes, each with its own result and input, in the lanes\' files only', async () => {
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => server.run('sh', ['-c', `sleep 0.0${i % 3}; cat; echo ${i} >&2`], { input: `in${i}\n` })));
    expect(results.map((r) => [r.stdout, r.stderr])).toEqual(Array.from({ length: 12 }, (_, i) => [`in${i}\n`, `${i}\n`]));
    expect((await readdir(join(dir, 'cmd'))).sort()).toEqual(['lane-1.err', 'lane-1.in', 'lane-1.out', 'lane-2.err', 'lane-2.in', 'lane-2.out']);
    // A command without input or output gets none of an earlier one's.
    expect(await server.run('true', [])).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('a lane that idles ends and takes its files along; close removes the directory', async () => {
    const quick = new CommandServer({ dir: join(dir, 'quick'), maxLanes: 1, idleMs: 50 });
    expect((await quick.run('echo', ['x'])).stdout).toBe('x\n');
    expect((await readdir(join(dir, 'quick'))).length).toBe(2);
    await new Promise((r) => setTimeout(r, 150));
    expect(await readdir(join(dir, 'quick'))).toEqual([]);
    expect((await quick.run('echo', ['y'])).stdout).toBe('y\n');
    quick.close();
    expect(existsSync(join(dir, 'quick'))).toBe(false);
  });

  it('a lane that dies fails its command and the next command gets a new lane', async () => {
    const pending = server.run('sh', ['-c', 'kill -9 $PPID; sleep 5']);
    await expect(pending).rejects.toThrow(/command shell exited/);
    expect((await server.run('echo', ['again'])).stdout).toBe('again\n');
  });

  it('fails queued commands when closed', async () => {
    const running = [server.run('sleep', ['0.2']), server.run('sleep', ['0.2'])];
    const queued = server.run('echo', ['never']);
    server.close();
    await expect(queued).rejects.toThrow(/closed/);
    await Promise.allSettled(running);
    await expect(server.run('echo', ['x'])).rejects.toThrow(/closed/);
  });
});

describe('shellQuote', () => {
  it('single-quotes and escapes quotes', () => {
    expect(shellQuote("a'b")).toBe(`'a'\\''b'`);
    expect(shellQuote('')).toBe("''");
  });
  it('refuses NUL bytes', () => {
    expect(() => shellQuote('a\0b')).toThrow(/NUL/);
  });
});
