import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EngineClient } from './index.js';

/** A stand-in daemon on a temporary socket: `answer` writes the raw response for each request. */
function standIn(dir: string, answer: (conn: Socket) => void): Promise<Server> {
  const server = createServer((conn) => {
    let head = '';
    conn.on('data', (d) => {
      head += d.toString('latin1');
      if (head.includes('\r\n\r\n')) answer(conn);
    });
  });
  return new Promise((resolve) => server.listen(join(dir, 'api.sock'), () => resolve(server)));
}

describe('EngineClient response bodies', () => {
  let dir: string;
  let server: Server | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-client-'));
  });
  afterEach(async () => {
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    server = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads a JSON body that arrives in several pieces', async () => {
    const body = JSON.stringify([{ Id: 'a'.repeat(64), Names: ['/web'] }, { Id: 'b'.repeat(64), Names: ['/db'] }]);
    server = await standIn(dir, (conn) => {
      conn.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`);
      setTimeout(() => conn.write(body.slice(10, 40)), 5);
      setTimeout(() => conn.end(body.slice(40)), 10);
    });
    const client = new EngineClient({ socketPath: join(dir, 'api.sock') });
    expect(await client.json('GET', '/containers/json')).toEqual(JSON.parse(body));
  });

  it('reads a chunked body to its end, and an empty one as null', async () => {
    server = await standIn(dir, (conn) => conn.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{"a\r\n4\r\n":1}\r\n0\r\n\r\n'));
    const client = new EngineClient({ socketPath: join(dir, 'api.sock') });
    expect(await client.json('GET', '/info')).toEqual({ a: 1 });
    await new Promise((r) => server?.close(r));
    server = await standIn(dir, (conn) => conn.end('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
    expect(await client.json('GET', '/info')).toBeNull();
  });

  it('fails a body cut short instead of returning part of it', async () => {
    server = await standIn(dir, (conn) => {
      conn.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n[{"Id":');
      setTimeout(() => conn.destroy(), 5);
    });
    const client = new EngineClient({ socketPath: join(dir, 'api.sock') });
    const res = await client.request('GET', '/containers/json');
    await expect(res.buffer()).rejects.toThrow('aborted');
  });

  it('fails a body whose stream is destroyed without an error', async () => {
    server = await standIn(dir, (conn) => conn.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc'));
    const client = new EngineClient({ socketPath: join(dir, 'api.sock') });
    const res = await client.request('GET', '/containers/json');
    const body = res.buffer();
    setTimeout(() => res.stream.destroy(), 5);
    await expect(body).rejects.toMatchObject({ code: 'ERR_STREAM_PREMATURE_CLOSE' });
  });
});
