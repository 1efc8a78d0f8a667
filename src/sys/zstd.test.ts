import { describe, expect, it } from 'vitest';
import { InvalidArgument } from '../core/errors.js';
import { zstdDecompress } from './zstd.js';

async function drain(it: AsyncIterable<Buffer>): Promise<number> {
  let n = 0;
  for await (const c of it) n += c.length;
  return n;
}

describe('zstdDecompress', () => {
  it('fails (rather than hangs) when the program exits while input is still coming', async () => {
    // `false` exits at once without reading: the feeder's writes meet a closed pipe.
    async function* input() {
      for (let i = 0; i < 20; i++) {
        await new Promise((r) => setTimeout(r, 5));
        yield Buffer.alloc(256 * 1024, i);
      }
    }
    const err = await drain(zstdDecompress(input(), 'false')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgument);
    expect((err as Error).message).toBe('invalid layer: zstd: exit status 1');
  }, 5000);
});
