import { describe, expect, it } from 'vitest';
import { ByteFeed } from './feed.js';

const tick = () => new Promise((r) => setImmediate(r));

async function collect(feed: ByteFeed): Promise<string> {
  let out = '';
  for await (const c of feed) out += c.toString();
  return out;
}

describe('ByteFeed', () => {
  it('passes the bytes in order and ends after the queued ones', async () => {
    const feed = new ByteFeed(1024);
    const got = collect(feed);
    await feed.push(Buffer.from('ab'));
    await feed.push(Buffer.from('cd'));
    feed.end();
    expect(await got).toBe('abcd');
  });

  it('gives the consumer what is queued as one chunk', async () => {
    const feed = new ByteFeed(1024);
    await feed.push(Buffer.from('ab'));
    await feed.push(Buffer.from('cd'));
    const it = feed[Symbol.asyncIterator]();
    expect((await it.next()).value?.toString()).toBe('abcd');
    await feed.push(Buffer.from('e'));
    feed.end();
    expect((await it.next()).value?.toString()).toBe('e');
    expect((await it.next()).done).toBe(true);
  });

  it('holds the producer while more than its limit is queued', async () => {
    const feed = new ByteFeed(4);
    let pushed = false;
    const p = feed.push(Buffer.from('123456')).then(() => (pushed = true));
    await tick();
    expect(pushed).toBe(false);
    const it = feed[Symbol.asyncIterator]();
    expect((await it.next()).value?.toString()).toBe('123456');
    await p;
    expect(pushed).toBe(true);
    feed.end();
    expect((await it.next()).done).toBe(true);
  });

  it("throws the producer's failure to the consumer after the queued bytes", async () => {
    const feed = new ByteFeed(1024);
    await feed.push(Buffer.from('ok'));
    feed.fail(new Error('cut'));
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const c of feed) seen.push(c.toString());
      })(),
    ).rejects.toThrow('cut');
    expect(seen).toEqual(['ok']);
  });

  it('lets a waiting producer go, and drops later pushes, once the consumer stops', async () => {
    const feed = new ByteFeed(2);
    const waiting = feed.push(Buffer.from('abcdef'));
    for await (const c of feed) {
      expect(c.toString()).toBe('abcdef');
      break;
    }
    await waiting;
    expect(feed.isClosed).toBe(true);
    await feed.push(Buffer.from('more'));
    feed.end();
    expect(await collect(feed)).toBe('');
  });

  it('close() from outside frees a producer held by a consumer that never reads', async () => {
    const feed = new ByteFeed(1);
    const waiting = feed.push(Buffer.from('xx'));
    feed.close();
    await waiting;
    expect(feed.isClosed).toBe(true);
  });
});
