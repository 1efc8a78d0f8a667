import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { send, SOCKET_BUFFER_BYTES } from './transport.js';

let server: Server | undefined;

afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

async function serve(body: Buffer): Promise<string> {
  server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Length': String(body.length) });
    res.end(body);
  });
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server?.address() as AddressInfo).port}/blob`;
}

describe('registry transport', () => {
  it('hands a body that arrived while the reader was busy over in big chunks', async () => {
    // A pull's per-chunk work (hashing, the partial file, the unpacker's queue) is done once
    // per chunk: a socket that buffers only 16 KiB hands over one 64 KiB read at a time.
    const body = randomBytes(4 * 1024 * 1024);
    const res = await send({ method: 'GET', url: await serve(body) });
    await sleep(200); // the reader is busy: the connection buffers what comes
    const sizes: number[] = [];
    const got: Buffer[] = [];
    for await (const c of res.body as AsyncIterable<Buffer>) {
      sizes.push(c.length);
      got.push(c);
    }
    expect(Buffer.concat(got).equals(body)).toBe(true);
    expect(sizes[0]).toBeGreaterThanOrEqual(SOCKET_BUFFER_BYTES);
  });
});
