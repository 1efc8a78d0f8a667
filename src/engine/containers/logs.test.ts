import { appendFile, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { normaliseTime, parseLogLine, readLog } from './logs.js';

describe('log records', () => {
  it('parses a full and a partial line', () => {
    expect(parseLogLine('2026-11-23T09:17:55.920584634+00:00 stderr F err text')).toMatchObject({
      stream: 'stderr',
      time: '2026-11-23T09:17:55.920584634Z',
      text: 'err text',
      partial: false,
    });
    expect(parseLogLine('2026-11-23T09:17:55.9+00:00 stdout P / # ')?.text).toBe('/ # ');
    expect(parseLogLine('garbage')).toBeUndefined();
  });
  it('normalises offsets to UTC with nanoseconds', () => {
    expect(normaliseTime('2026-01-01T01:00:00.5+01:00')).toEqual({
      time: '2026-01-01T00:00:00.500000000Z',
      nanos: BigInt(Date.parse('2026-01-01T00:00:00Z')) * 1_000_000n + 500_000_000n,
    });
  });
  it('follows a growing file until done', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-log-'));
    const p = join(dir, 'c.log');
    await writeFile(p, '2026-11-23T09:17:55.1+00:00 stdout F one\n');
    let finish!: () => void;
    const done = new Promise<void>((r) => (finish = r));
    const got: string[] = [];
    const reading = (async () => {
      for await (const r of readLog(p, { follow: true, done })) got.push(r.text);
    })();
    await new Promise((r) => setTimeout(r, 50));
    await appendFile(p, '2026-11-23T09:17:55.2+00:00 stdout F two\n');
    await new Promise((r) => setTimeout(r, 50));
    finish();
    await reading;
    await rm(dir, { recursive: true, force: true });
    expect(got).toEqual(['one', 'two']);
  });
  it('starts over on a new file at the same path, even one as long as the old (a restarted container)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-log-'));
    const p = join(dir, 'spool.log');
    const old = '2026-11-23T09:17:55.1+00:00 stdout F out\n';
    await writeFile(p, old);
    let finish!: () => void;
    const done = new Promise<void>((r) => (finish = r));
    const got: string[] = [];
    // An attach to the stopped container: it follows from the end of the old run's spool.
    const reading = (async () => {
      for await (const r of readLog(p, { offset: old.length, follow: true, done })) got.push(r.text);
    })();
    await new Promise((r) => setTimeout(r, 50));
    await unlink(p);
    await writeFile(p, '2026-11-23T09:17:56.1+00:00 stdout F new\n');
    finish();
    await reading;
    await rm(dir, { recursive: true, force: true });
    expect(got).toEqual(['new']);
  });
});
