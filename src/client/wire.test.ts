import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EngineClient } from './index.js';
import { ChunkedDecoder, requestHead } from './http1.js';

/** A unix-socket server that records each request's bytes and answers with `reply` (written in pieces). */
let dir: string;
let server: Server | undefined;
let requests: string[];
/** How the clients `serve` makes read whole answers (both are tested below). */
let transport: 'pipe' | 'net' = 'pipe';

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-wire-'));
  requests = [];
});

afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** Answers once the request head (and, when chunked, its last chunk) is in, with `reply` split in `pieces`-byte writes. */
async function serve(reply: string | Buffer, opts: { pieces?: number; close?: boolean; after?: (s: Socket) => void } = {}): Promise<EngineClient> {
  const path = join(dir, 's.sock');
  server = createServer((s) => {
    let got = '';
    s.on('data', (d) => {
      got += d.toString('latin1');
      const head = got.indexOf('\r\n\r\n');
      if (head < 0) return;
      if (/Transfer-Encoding: chunked/.test(got) && !got.endsWith('0\r\n\r\n')) return;
      const length = /Content-Length: (\d+)/.exec(got.slice(0, head));
      if (length && got.length < head + 4 + Number(length[1])) return;
      requests.push(got);
      got = '';
      const buf = Buffer.isBuffer(reply) ? reply : Buffer.from(reply, 'latin1');
      const step = opts.pieces ?? buf.length;
      for (let i = 0; i < buf.length; i += step) s.write(buf.subarray(i, i + step));
      if (opts.after) opts.after(s);
      else if (opts.close !== false) s.end();
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server?.listen(path, r));
  return new EngineClient({ socketPath: path, transport });
}

describe('requestHead (what node:http wrote for berth)', () => {
  it.each([
    [{ method: 'GET', path: '/v1.44/containers/json?all=1', headers: { 'User-Agent': 'berth-cli (linux)' } }, 'GET /v1.44/containers/json?all=1 HTTP/1.1\r\nUser-Agent: berth-cli (linux)\r\nHost: localhost\r\nConnection: close\r\n\r\n'],
    [{ method: 'POST', path: '/v1.44/containers/x/start', headers: { 'User-Agent': 'b' } }, 'POST /v1.44/containers/x/start HTTP/1.1\r\nUser-Agent: b\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'],
    [{ method: 'DELETE', path: '/v1.44/containers/x?force=1', headers: { 'User-Agent': 'b' } }, 'DELETE /v1.44/containers/x?force=1 HTTP/1.1\r\nUser-Agent: b\r\nHost: localhost\r\nConnection: close\r\n\r\n'],
    [{ method: 'POST', path: '/p', headers: { 'User-Agent': 'b', 'Content-Type': 'application/json', 'Content-Length': '2' }, body: Buffer.from('{}') }, 'POST /p HTTP/1.1\r\nUser-Agent: b\r\nContent-Type: application/json\r\nContent-Length: 2\r\nHost: localhost\r\nConnection: close\r\n\r\n'],
    [{ method: 'POST', path: '/p', headers: { 'User-Agent': 'b' }, body: Readable.from([]) }, 'POST /p HTTP/1.1\r\nUser-Agent: b\r\nHost: localhost\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n'],
    [{ method: 'POST', path: '/a', headers: { 'User-Agent': 'b', Connection: 'Upgrade', Upgrade: 'tcp' } }, 'POST /a HTTP/1.1\r\nUser-Agent: b\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n'],
  ])('%j', (req, expected) => {
    expect(requestHead(req)).toBe(expected);
  });
});

describe('ChunkedDecoder', () => {
  const body = '4\r\nWiki\r\n7;ext=1\r\npedia i\r\nB\r\nn \r\nchunks.\r\n0\r\nX-Trailer: 1\r\n\r\n';

  it('decodes a body arriving in pieces of any size', () => {
    for (const step of [1, 2, 3, 5, 7, body.length]) {
      const out: string[] = [];
      let done = 0;
      const d = new ChunkedDecoder((b) => out.push(b.toString()), () => done++);
      for (let i = 0; i < body.length; i += step) d.write(Buffer.from(body.slice(i, i + step)));
      expect(out.join('')).toBe('Wikipedia in \r\nchunks.');
      expect(done).toBe(1);
    }
  });

  it('rejects a bad chunk size', () => {
    const d = new ChunkedDecoder(() => undefined, () => undefined);
    expect(() => d.write(Buffer.from('zz\r\n'))).toThrow(/chunk size/);
  });
});

describe.each(['pipe', 'net'] as const)('EngineClient over the wire, answers read whole on %s', (t) => {
  beforeEach(() => {
    transport = t;
  });

  it('uses the transport asked for (the pipe handle is there on this node)', async () => {
    const c = await serve('HTTP/1.1 204 No Content\r\n\r\n');
    expect(c.transport).toBe(t);
    await c.call('POST', '/containers/x/start');
    expect(requests[0]).toBe('POST /v1.44/containers/x/start HTTP/1.1\r\nUser-Agent: berth-cli (linux)\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });

  it('reads Content-Length, chunked and until-close bodies, byte by byte too', async () => {
    const json = '[{"Id":"abc"}]';
    for (const pieces of [1, 1000]) {
      let c = await serve(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${json.length}\r\n\r\n${json}`, { pieces, close: false });
      expect(await c.json('GET', '/containers/json')).toEqual([{ Id: 'abc' }]);
      await new Promise<void>((r) => server?.close(() => r()));
      c = await serve(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n[{"Id\r\n${(json.length - 5).toString(16)}\r\n${json.slice(5)}\r\n0\r\n\r\n`, { pieces, close: false });
      expect(await c.json('GET', '/containers/json')).toEqual([{ Id: 'abc' }]);
      await new Promise<void>((r) => server?.close(() => r()));
      c = await serve(`HTTP/1.0 200 OK\r\n\r\n${json}`, { pieces });
      expect(await c.json('GET', '/containers/json')).toEqual([{ Id: 'abc' }]);
      await new Promise<void>((r) => server?.close(() => r()));
      server = undefined;
    }
  });

  it('gives a HEAD answer no body, whatever its Content-Length', async () => {
    const c = await serve('HTTP/1.1 200 OK\r\nContent-Length: 100\r\nX-Docker-Container-Path-Stat: e30=\r\n\r\n', { close: false });
    const res = await c.request('HEAD', '/containers/x/archive');
    expect(res.headers['x-docker-container-path-stat']).toBe('e30=');
    expect((await res.buffer()).length).toBe(0);
  });

  it("throws the daemon's message for an error status, and the status text for an empty body", async () => {
    let c = await serve('HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 38\r\n\r\n{"message":"No such container: nosuch"}'.replace('38', String('{"message":"No such container: nosuch"}'.length)));
    await expect(c.json('GET', '/containers/nosuch/json')).rejects.toThrow('No such container: nosuch');
    await new Promise<void>((r) => server?.close(() => r()));
    c = await serve('HTTP/1.1 400 Whatever\r\nContent-Length: 0\r\n\r\n');
    await expect(c.call('POST', '/x')).rejects.toThrow('400 Bad Request');
  });

  it('sends a streamed body in chunks, or as it is with a Content-Length', async () => {
    const c = await serve('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    await c.call('POST', '/images/load', { body: Readable.from([Buffer.from('abc'), Buffer.from('de')]) });
    expect(requests[0]).toMatch(/Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n$/);
    await c.call('POST', '/images/create', { body: Readable.from([Buffer.from('abc'), Buffer.from('de')]), headers: { 'Content-Length': '5' } });
    expect(requests[1]).toMatch(/Content-Length: 5\r\nHost: localhost\r\nConnection: close\r\n\r\nabcde$/);
  });

  it("sends a stream that is not node's own (tar-stream's pack, as cp does) in chunks", async () => {
    const c = await serve('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    const pack = tar.pack();
    pack.entry({ name: 'f.txt' }, 'hello');
    pack.finalize();
    await c.call('PUT', '/containers/x/archive', { query: { path: '/tmp' }, body: pack });
    expect(requests[0]).toMatch(/^PUT \/v1\.44\/containers\/x\/archive\?path=%2Ftmp HTTP\/1\.1\r\nUser-Agent: berth-cli \(linux\)\r\nHost: localhost\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n[0-9a-f]+\r\n/);
    expect(requests[0]).toContain('f.txt');
    expect(requests[0]?.endsWith('\r\n0\r\n\r\n')).toBe(true);
  });

  it('hands over the socket on 101 with the bytes that followed the head', async () => {
    const c = await serve('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nhello ', {
      after: (s) => {
        s.once('data', (d) => s.end(`you said ${d.toString()}`));
      },
    });
    const conn = await c.hijack('POST', '/containers/x/attach', { query: { stream: true } });
    expect(conn.status).toBe(101);
    expect(conn.raw).toBe(true);
    conn.socket.write('hi');
    const chunks: Buffer[] = [];
    for await (const d of conn.socket) chunks.push(d as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('hello you said hi');
  });

  it('reports a connection closed before an answer as node:http did, and a cut body as an error', async () => {
    let c = await serve('');
    await expect(c.call('GET', '/x')).rejects.toThrow('error during connect: socket hang up');
    await new Promise<void>((r) => server?.close(() => r()));
    c = await serve('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc');
    const res = await c.request('GET', '/x');
    await expect(res.buffer()).rejects.toThrow('aborted');
  });

  it('sends a JSON body whole, skips an interim 100 Continue, and fails an answer cut short', async () => {
    let c = await serve('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"Id":"ab"}', { pieces: 7 });
    expect(await c.json('POST', '/containers/create', { query: { name: 'web' }, body: { Image: 'busybox', Cmd: ['true'] } })).toEqual({ Id: 'ab' });
    expect(requests[0]).toBe(
      'POST /v1.44/containers/create?name=web HTTP/1.1\r\nUser-Agent: berth-cli (linux)\r\nContent-Type: application/json\r\nContent-Length: 34\r\nHost: localhost\r\nConnection: close\r\n\r\n{"Image":"busybox","Cmd":["true"]}',
    );
    await new Promise<void>((r) => server?.close(() => r()));
    c = await serve('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc');
    await expect(c.json('GET', '/x')).rejects.toThrow(/^aborted$/);
  });

  it('starts the daemon and retries once when the socket is missing (auto-start)', async () => {
    const path = join(dir, 'late.sock');
    const seen: string[] = [];
    const c = new EngineClient({
      socketPath: path,
      transport,
      onConnectError: async (e) => {
        seen.push(String((e as { cause?: { code?: string } }).cause?.code));
        server = createServer((s) => s.resume().end('HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{"Id":"ab"}'));
        await new Promise<void>((r) => server?.listen(path, r));
        return true;
      },
    });
    expect(await c.json('GET', '/containers/ab/json')).toEqual({ Id: 'ab' });
    expect(seen).toEqual(['ENOENT']);
  });

  it('pings without starting a daemon: a missing socket is a false, not an auto-start', async () => {
    let asked = 0;
    const c = new EngineClient({
      socketPath: join(dir, 'none.sock'),
      transport,
      onConnectError: async () => {
        asked++;
        return true;
      },
    });
    expect(await c.ping()).toBe(false);
    expect(asked).toBe(0);
  });

  it('says the daemon is not running when the socket is missing', async () => {
    const c = new EngineClient({ socketPath: join(dir, 'none.sock'), transport });
    await expect(c.call('GET', '/x')).rejects.toThrow(`Cannot connect to the berth daemon at unix://${join(dir, 'none.sock')}. Is the daemon running?`);
    expect(await c.ping()).toBe(false);
  });
});
