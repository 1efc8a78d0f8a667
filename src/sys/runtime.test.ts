import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runtimeMessage, startThroughFifo } from './runtime.js';

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
