import { appendFile, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonLogWriter, formatJsonLine, logFiles, parseJsonLine, readJsonLog } from './jsonlog.js';
import { LogShipper } from './logship.js';
import { logRotation, validateLogConfig } from './service.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-jsonlog-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const T = '2026-11-23T09:17:55.920584634Z';

async function collect(path: string, maxFiles: number): Promise<string[]> {
  const out: string[] = [];
  for await (const r of readJsonLog(path, { maxFiles })) out.push(`${r.stream}:${r.text}${r.partial ? '…' : ''}`);
  return out;
}

describe('json-file lines', () => {
  it("writes Docker's json-file shape", () => {
    expect(formatJsonLine({ stream: 'stdout', time: T, text: 'hi "there"', partial: false })).toBe(
      `{"log":"hi \\"there\\"\\n","stream":"stdout","time":"${T}"}\n`,
    );
    expect(formatJsonLine({ stream: 'stderr', time: T, text: 'no newline', partial: true })).toBe(`{"log":"no newline","stream":"stderr","time":"${T}"}\n`);
  });

  it('reads lines Docker wrote, partial ones included, and skips garbage', () => {
    const r = parseJsonLine(`{"log":"hello\\n","stream":"stderr","time":"2026-11-23T09:17:55.92Z"}`);
    expect(r).toMatchObject({ stream: 'stderr', text: 'hello', partial: false, time: '2026-11-23T09:17:55.920000000Z' });
    expect(parseJsonLine(`{"log":"abc","stream":"stdout","time":"${T}"}`)).toMatchObject({ text: 'abc', partial: true });
    expect(parseJsonLine('not json')).toBeUndefined();
    expect(parseJsonLine('{"log":1,"stream":"stdout","time":"x"}')).toBeUndefined();
  });

  it('names rotated files oldest first', () => {
    expect(logFiles('/l/x-json.log', 3)).toEqual(['/l/x-json.log.2', '/l/x-json.log.1', '/l/x-json.log']);
    expect(logFiles('/l/x-json.log', 1)).toEqual(['/l/x-json.log']);
  });
});

describe('JsonLogWriter rotation', () => {
  const line = (i: number) => formatJsonLine({ stream: 'stdout', time: T, text: `line ${String(i).padStart(2, '0')}`, partial: false });

  it('rotates at max-size, keeps max-file files, and reads back in order', async () => {
    const path = join(dir, 'c-json.log');
    const size = Buffer.byteLength(line(0));
    const w = new JsonLogWriter(path, { maxSize: size * 3, maxFiles: 3 });
    for (let i = 0; i < 20; i++) await w.append([line(i)]);
    expect((await readdir(dir)).sort()).toEqual(['c-json.log', 'c-json.log.1', 'c-json.log.2']);
    for (const f of await readdir(dir)) expect((await readFile(join(dir, f))).length).toBeLessThanOrEqual(size * 3);
    // 20 lines, 3 per file: .2 holds 12-14, .1 15-17, the current file 18-19.
    const got = await collect(path, 3);
    expect(got).toEqual(Array.from({ length: 8 }, (_, k) => `stdout:line ${12 + k}`));
  });

  it('truncates with max-file 1', async () => {
    const path = join(dir, 'c-json.log');
    const size = Buffer.byteLength(line(0));
    const w = new JsonLogWriter(path, { maxSize: size * 2, maxFiles: 1 });
    await w.append([line(1), line(2), line(3), line(4), line(5)]);
    expect(await readdir(dir)).toEqual(['c-json.log']);
    expect(await collect(path, 1)).toEqual(['stdout:line 05']);
  });

  it('never rotates with max-size 0', async () => {
    const path = join(dir, 'c-json.log');
    const w = new JsonLogWriter(path, { maxSize: 0, maxFiles: 3 });
    for (let i = 0; i < 50; i++) await w.append([line(i)]);
    expect(await readdir(dir)).toEqual(['c-json.log']);
    expect((await collect(path, 3)).length).toBe(50);
  });

  it('a follower keeps reading across a rotation and stops when told the writer is done', async () => {
    const path = join(dir, 'c-json.log');
    const size = Buffer.byteLength(line(0));
    const w = new JsonLogWriter(path, { maxSize: size * 2, maxFiles: 2 });
    await w.append([line(0)]);
    let finish!: () => void;
    const done = new Promise<void>((r) => (finish = r));
    const seen: string[] = [];
    const reading = (async () => {
      for await (const r of readJsonLog(path, { maxFiles: 2, follow: true, done })) seen.push(r.text);
    })();
    for (let i = 1; i < 7; i++) {
      await w.append([line(i)]);
      await new Promise((r) => setTimeout(r, 15));
    }
    finish();
    await reading;
    expect(seen).toEqual(Array.from({ length: 7 }, (_, i) => `line 0${i}`));
  });
});

describe('LogShipper', () => {
  const k8s = (stream: string, text: string, flag = 'F') => `2026-11-23T09:17:55.920584634+00:00 ${stream} ${flag} ${text}\n`;

  it('ships complete records once, resumes from its saved position, follows a replaced spool', async () => {
    const spool = join(dir, 'spool.log');
    const logPath = join(dir, 'c-json.log');
    const state = join(dir, 'spool.pos');
    const mk = () => new LogShipper(spool, state, new JsonLogWriter(logPath, { maxSize: 0, maxFiles: 1 }));
    await writeFile(spool, k8s('stdout', 'one') + k8s('stderr', 'two') + '2026-11-23T09:17:55.9+00:00 stdout F hal');
    const s1 = mk();
    await s1.ship();
    await s1.ship();
    expect(await collect(logPath, 1)).toEqual(['stdout:one', 'stderr:two']);
    await appendFile(spool, 'f done\n');
    await s1.close();
    // A new daemon: carries on where the last one stopped.
    const s2 = mk();
    await appendFile(spool, k8s('stdout', 'part', 'P'));
    await s2.ship();
    expect(await collect(logPath, 1)).toEqual(['stdout:one', 'stderr:two', 'stdout:half done', 'stdout:part…']);
    // conmon replaces a full spool with a new file.
    await appendFile(spool, k8s('stdout', 'last of old'));
    await rename(spool, `${spool}.old`);
    await writeFile(spool, k8s('stdout', 'first of new'));
    await s2.ship();
    await s2.close();
    expect((await collect(logPath, 1)).slice(-2)).toEqual(['stdout:last of old', 'stdout:first of new']);
    const s3 = mk();
    await s3.ship();
    await s3.close();
    expect((await collect(logPath, 1)).length).toBe(6);
  });

  it('keeps multi-byte characters split across reads intact', async () => {
    const spool = join(dir, 'spool.log');
    const logPath = join(dir, 'c-json.log');
    const text = 'é'.repeat(200_000);
    await writeFile(spool, k8s('stdout', text));
    const s = new LogShipper(spool, join(dir, 'spool.pos'), new JsonLogWriter(logPath, { maxSize: 0, maxFiles: 1 }));
    await s.ship();
    await s.close();
    expect(await collect(logPath, 1)).toEqual([`stdout:${text}`]);
  });
});

describe('log options', () => {
  const dflt = { maxSize: 20 * 1024 * 1024, maxFiles: 5 };
  it("follows Docker's json-file rules on top of berth's defaults", () => {
    expect(logRotation({}, dflt)).toEqual(dflt);
    expect(logRotation({ 'max-size': '10k' }, dflt)).toEqual({ maxSize: 10 * 1024, maxFiles: 1 });
    expect(logRotation({ 'max-size': '1m', 'max-file': '3' }, dflt)).toEqual({ maxSize: 1024 * 1024, maxFiles: 3 });
    expect(logRotation({ 'max-file': '2' }, dflt)).toEqual({ maxSize: dflt.maxSize, maxFiles: 2 });
    expect(logRotation({ 'max-size': '-1' }, dflt)).toEqual({ maxSize: 0, maxFiles: 1 });
  });
  it('rejects what Docker rejects, naming the option', () => {
    expect(() => validateLogConfig({ Type: 'syslog', Config: {} })).toThrow(/logging driver "syslog"/);
    expect(() => validateLogConfig({ Type: 'json-file', Config: { 'max-file': '0' } })).toThrow(/max-file cannot be less than 1/);
    expect(() => validateLogConfig({ Type: 'json-file', Config: { 'max-size': 'lots' } })).toThrow(/max-size: lots/);
    expect(() => validateLogConfig({ Type: 'json-file', Config: { bogus: '1' } })).toThrow(/unknown log opt 'bogus'/);
    expect(() => validateLogConfig({ Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } })).not.toThrow();
  });
  it('takes none, with any options (as Docker does)', () => {
    expect(() => validateLogConfig({ Type: 'none', Config: {} })).not.toThrow();
    expect(() => validateLogConfig({ Type: 'none', Config: { 'max-size': 'lots' } })).not.toThrow();
  });
});
