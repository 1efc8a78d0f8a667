import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { removeEndedState, runtimeMessage, startThroughFifo } from './runtime.js';

/**
 * The start fifo as runc's init uses it: a process blocked opening the fifo for writing,
 * which writes one byte once a reader comes, then ends (as the init execs).
 */
describe('startThroughFifo', () => {
  let dir: string;
  let fifo: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-fifo-'));
    fifo = join(dir, 'exec.fifo');
    execFileSync('mkfifo', [fifo]);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the byte the waiting writer sends and removes the fifo', async () => {
    const writer = spawn('sh', ['-c', `printf 0 > '${fifo}'`], { stdio: 'ignore' });
    const exited = new Promise((resolve) => writer.once('exit', resolve));
    expect(await startThroughFifo(fifo, writer.pid as number)).toBe(true);
    expect(existsSync(fifo)).toBe(false);
    await exited;
  });

  it('gives up, leaving the fifo, when no writer ever comes and the init is gone', async () => {
    const gone = spawn('true');
    await new Promise((resolve) => gone.once('exit', resolve));
    expect(await startThroughFifo(fifo, gone.pid as number)).toBe(false);
    expect(existsSync(fifo)).toBe(true);
  });

  it('is false when the writer ends without writing (runc: "cannot start an already running container")', async () => {
    const writer = spawn('sh', ['-c', `: > '${fifo}'; sleep 0.3`], { stdio: 'ignore' });
    expect(await startThroughFifo(fifo, writer.pid as number)).toBe(false);
    writer.kill();
  });

  it('is false with no fifo', async () => {
    expect(await startThroughFifo(join(dir, 'missing'), process.pid)).toBe(false);
  });
});

describe('runtimeMessage', () => {
  it("turns runc's logrus line into Docker's wording", () => {
    const raw = 'time="2024-01-01T00:00:00Z" level=error msg="runc create failed: unable to start container process: exec: \\"nope\\": executable file not found in $PATH"';
    expect(runtimeMessage(raw, false)).toBe('OCI runtime create failed: runc create failed: unable to start container process: exec: "nope": executable file not found in $PATH: unknown');
    expect(runtimeMessage('plain text', true)).toBe('OCI runtime exec failed: plain text: unknown');
  });
});

/**
 * Deleting an ended container without runc: a state directory as runc leaves it, with its
 * cgroups stood in for by plain directories (rmdir removes an empty one either way).
 */
describe('removeEndedState', () => {
  let dir: string;
  let state: string;
  let cgroups: Record<string, string>;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-runc-state-'));
    state = join(dir, 'state', 'c1');
    mkdirSync(state, { recursive: true });
    cgroups = { '': join(dir, 'unified', 'c1'), memory: join(dir, 'memory', 'c1'), pids: join(dir, 'pids', 'c1') };
    for (const p of Object.values(cgroups)) mkdirSync(p, { recursive: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const ownStart = () => readFileSync('/proc/self/stat', 'latin1').split(') ')[1]?.split(' ')[19];
  async function endedPid(): Promise<number> {
    const p = spawn('true');
    await new Promise((resolve) => p.once('exit', resolve));
    return p.pid as number;
  }
  function writeState(o: { pid: number; start?: number; namespaces?: { type: string; path: string }[]; hooks?: unknown; systemd?: boolean }) {
    const namespaces = o.namespaces ?? [{ type: 'NEWPID', path: '' }, { type: 'NEWNS', path: '' }, { type: 'NEWNET', path: '/run/netns/x' }];
    writeFileSync(
      join(state, 'state.json'),
      JSON.stringify({ init_process_pid: o.pid, init_process_start: o.start ?? 12345, cgroup_paths: cgroups, intel_rdt_path: '', config: { namespaces, hooks: o.hooks ?? null, cgroups: { Systemd: o.systemd ?? false } } }),
    );
  }

  it('removes the cgroups and the state directory of a container whose init has ended', async () => {
    writeState({ pid: await endedPid() });
    expect(await removeEndedState(state)).toBe(true);
    expect(existsSync(state)).toBe(false);
    for (const p of Object.values(cgroups)) expect(existsSync(p)).toBe(false);
  });

  it('takes a cgroup already gone for removed', async () => {
    rmSync(cgroups.memory as string, { recursive: true });
    writeState({ pid: await endedPid() });
    expect(await removeEndedState(state)).toBe(true);
  });

  it('leaves a container whose init still runs to runc (same pid and start time)', async () => {
    writeState({ pid: process.pid, start: Number(ownStart()) });
    expect(await removeEndedState(state)).toBe(false);
    expect(existsSync(join(state, 'state.json'))).toBe(true);
    for (const p of Object.values(cgroups)) expect(existsSync(p)).toBe(true);
  });

  it('takes a pid reused by another process (another start time) for an ended init', async () => {
    writeState({ pid: process.pid, start: Number(ownStart()) + 1 });
    expect(await removeEndedState(state)).toBe(true);
  });

  it('leaves to runc a container without a pid namespace of its own, with hooks, or with systemd cgroups', async () => {
    const pid = await endedPid();
    writeState({ pid, namespaces: [{ type: 'NEWNS', path: '' }] });
    expect(await removeEndedState(state)).toBe(false);
    writeState({ pid, namespaces: [{ type: 'NEWPID', path: '/proc/1/ns/pid' }] });
    expect(await removeEndedState(state)).toBe(false);
    writeState({ pid, hooks: { poststop: [{ path: '/bin/true' }] } });
    expect(await removeEndedState(state)).toBe(false);
    writeState({ pid, systemd: true });
    expect(await removeEndedState(state)).toBe(false);
    expect(existsSync(join(state, 'state.json'))).toBe(true);
  });

  it('leaves to runc a cgroup that has cgroups of its own, at once', async () => {
    mkdirSync(join(cgroups.pids as string, 'nested'));
    writeState({ pid: await endedPid() });
    const t0 = Date.now();
    expect(await removeEndedState(state)).toBe(false);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(existsSync(join(state, 'state.json'))).toBe(true);
  });
});

/** The same against real cgroups (the v1 pids hierarchy, root only), where rmdir answers EBUSY. */
describe.skipIf(process.getuid?.() !== 0 || !existsSync('/sys/fs/cgroup/pids/cgroup.procs'))('removeEndedState with real cgroups', () => {
  let dir: string;
  let parent: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-runc-state-'));
    parent = join('/sys/fs/cgroup/pids', `berth-unit-${process.pid}`);
    mkdirSync(join(parent, 'c1'), { recursive: true });
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    for (const p of [join(parent, 'c1', 'nested'), join(parent, 'c1'), parent]) if (existsSync(p)) rmdirSync(p);
  });
  function writeState(pid: number) {
    mkdirSync(join(dir, 'c1'));
    const namespaces = [{ type: 'NEWPID', path: '' }];
    writeFileSync(join(dir, 'c1', 'state.json'), JSON.stringify({ init_process_pid: pid, init_process_start: 1, cgroup_paths: { pids: join(parent, 'c1') }, config: { namespaces } }));
    return join(dir, 'c1');
  }

  it('waits for the last process to leave the cgroup, then removes it', async () => {
    const straggler = spawn('sleep', ['30'], { stdio: 'ignore' });
    writeFileSync(join(parent, 'c1', 'cgroup.procs'), String(straggler.pid));
    setTimeout(() => straggler.kill('SIGKILL'), 15);
    expect(await removeEndedState(writeState(999999999))).toBe(true);
    expect(existsSync(join(parent, 'c1'))).toBe(false);
  });

  it('leaves a cgroup with cgroups of its own to runc at once', async () => {
    mkdirSync(join(parent, 'c1', 'nested'));
    const t0 = Date.now();
    expect(await removeEndedState(writeState(999999999))).toBe(false);
    expect(Date.now() - t0).toBeLessThan(50);
    expect(existsSync(join(parent, 'c1', 'nested'))).toBe(true);
  });

  it('gives up on a cgroup whose processes stay, leaving it to runc', async () => {
    const stays = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      writeFileSync(join(parent, 'c1', 'cgroup.procs'), String(stays.pid));
      expect(await removeEndedState(writeState(999999999))).toBe(false);
      expect(existsSync(join(parent, 'c1'))).toBe(true);
    } finally {
      stays.kill('SIGKILL');
      await new Promise((resolve) => stays.once('exit', resolve));
    }
  });
});
