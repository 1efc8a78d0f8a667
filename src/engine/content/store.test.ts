import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalContentStore } from './store.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

let dir: string;
let store: LocalContentStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-content-test-'));
  store = new LocalContentStore(dir);
  await store.init();
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('partial blobs (resumable downloads)', () => {
  it('appends across attempts and commits only the right bytes', async () => {
    const data = randomBytes(100_000);
    const digest = sha(data);
    const a = await store.openPartial(digest);
    expect(a.offset).toBe(0);
    await a.append(Readable.from([data.subarray(0, 30_000)]));
    a.close();
    expect(await store.partialSize(digest)).toBe(30_000);
    // Reopened (a new attempt, or after a restart): what is there is hashed again.
    const again = new LocalContentStore(dir);
    await again.init();
    const b = await again.openPartial(digest);
    expect(b.offset).toBe(30_000);
    let seen = 0;
    await b.append(Readable.from([data.subarray(30_000)]), (n) => (seen += n));
    expect(seen).toBe(70_000);
    await b.commit(data.length);
    expect((await again.read(digest)).equals(data)).toBe(true);
    expect(await again.partialSize(digest)).toBe(0);
  });

  it('deletes bytes that do not match their digest or size', async () => {
    const data = randomBytes(1000);
    const p = await store.openPartial(sha(data));
    // The last byte flipped (replacing it with a fixed byte matched the data 1 time in 256).
    await p.append(Readable.from([Buffer.concat([data.subarray(0, 999), Buffer.from([(data[999] ?? 0) ^ 0xff])])]));
    await expect(p.commit(1000)).rejects.toThrow(`digest mismatch: expected ${sha(data)}`);
    expect(await store.has(sha(data))).toBe(false);
    expect(await store.partialSize(sha(data))).toBe(0);
    const q = await store.openPartial(sha(data));
    await q.append(Readable.from([data.subarray(0, 10)]));
    await expect(q.commit(1000)).rejects.toThrow(/size mismatch/);
    expect(await store.partialSize(sha(data))).toBe(0);
  });

  it('starts over on reset, and allows one writer per digest', async () => {
    const data = randomBytes(10);
    const p = await store.openPartial(sha(data));
    await expect(store.openPartial(sha(data))).rejects.toThrow(/already being written/);
    await p.append(Readable.from([Buffer.from('garbage')]));
    await p.reset();
    expect(p.offset).toBe(0);
    await p.append(Readable.from([data]));
    await p.commit();
    expect(await store.has(sha(data))).toBe(true);
    // Released on commit: it can be opened again.
    (await store.openPartial(sha(data))).close();
  });

  it('keeps partials across init, but not other ingest leftovers or old partials', async () => {
    const keep = sha(Buffer.from('keep'));
    const old = sha(Buffer.from('old'));
    await writeFile(join(dir, 'ingest', 'partial', keep.slice(7)), 'ke');
    await writeFile(join(dir, 'ingest', 'partial', old.slice(7)), 'o');
    const past = new Date(Date.now() - 30 * 24 * 3600 * 1000);
    await utimes(join(dir, 'ingest', 'partial', old.slice(7)), past, past);
    await writeFile(join(dir, 'ingest', 'deadbeef'), 'half a put');
    await store.init();
    expect(await readdir(join(dir, 'ingest'))).toEqual(['partial']);
    expect(await readdir(join(dir, 'ingest', 'partial'))).toEqual([keep.slice(7)]);
  });
});
