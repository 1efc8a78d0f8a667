import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createConnection, createServer, type Server } from 'node:net';
import { decode, encode, RECURSION_DESIRED, type DecodedPacket, type Packet, type RecordType, type StringAnswer } from 'dns-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { Conflict } from '../../core/errors.js';
import { EmbeddedDns, parseUpstream, ptrToIp, upstreamsFromResolvConf, type DnsAnswerSource } from './dns.js';

const HOST = '127.0.0.1';
const NET = 'net1';

// ------------------------------------------------------------------ helpers

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function query(name: string, type: RecordType = 'A', id = 4242, extra: Partial<Packet> = {}): Buffer {
  return encode({ type: 'query', id, flags: RECURSION_DESIRED, questions: [{ name, type, class: 'IN' }], ...extra });
}

/** Sends one datagram to the server and resolves with the reply, or undefined after `waitMs`. */
async function udpAsk(port: number, msg: Buffer, waitMs = 1000): Promise<Buffer | undefined> {
  const sock = createSocket('udp4');
  try {
    return await new Promise<Buffer | undefined>((resolve, reject) => {
      const timer = setTimeout(() => resolve(undefined), waitMs);
      sock.on('error', reject);
      sock.on('message', (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      sock.send(msg, port, HOST);
    });
  } finally {
    sock.close();
  }
}

async function udpQuery(port: number, msg: Buffer): Promise<DecodedPacket> {
  const reply = await udpAsk(port, msg, 5000);
  if (reply === undefined) throw new Error('no reply');
  return decode(reply);
}

function framed(msg: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(msg.length);
  return Buffer.concat([len, msg]);
}

/** Writes `chunks` on one TCP connection and collects `want` framed replies. */
async function tcpExchange(port: number, chunks: Buffer[], want: number): Promise<DecodedPacket[]> {
  const sock = createConnection({ host: HOST, port });
  try {
    return await new Promise<DecodedPacket[]>((resolve, reject) => {
      let buf = Buffer.alloc(0);
      const out: DecodedPacket[] = [];
      const timer = setTimeout(() => reject(new Error(`got ${out.length} of ${want} replies`)), 5000);
      sock.on('error', reject);
      sock.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          out.push(decode(buf.subarray(2, 2 + buf.readUInt16BE(0))));
          buf = buf.subarray(2 + buf.readUInt16BE(0));
        }
        if (out.length >= want) {
          clearTimeout(timer);
          resolve(out);
        }
      });
      sock.on('connect', () => {
        void (async () => {
          for (const c of chunks) {
            sock.write(c);
            await new Promise((r) => setTimeout(r, 5));
          }
        })();
      });
    });
  } finally {
    sock.destroy();
  }
}

const aData = (p: DecodedPacket): string[] => (p.answers ?? []).filter((a): a is StringAnswer => a.type === 'A').map((a) => a.data);
const rcode = (p: DecodedPacket): string => (p as DecodedPacket & { rcode: string }).rcode;

class TableSource implements DnsAnswerSource {
  readonly lookups: [string, string][] = [];
  constructor(
    private readonly names: Record<string, string[]>,
    private readonly ptrs: Record<string, string> = {},
  ) {}
  lookup(networkId: string, name: string): string[] {
    this.lookups.push([networkId, name]);
    return networkId === NET ? (this.names[name] ?? []) : [];
  }
  reverse(networkId: string, ip: string): string | undefined {
    return networkId === NET ? this.ptrs[ip] : undefined;
  }
}

async function startDns(source: DnsAnswerSource, upstreams: string[] = [], timeoutMs = 300): Promise<{ dns: EmbeddedDns; port: number; logs: string[] }> {
  const logs: string[] = [];
  const dns = new EmbeddedDns({ source, upstreams, timeoutMs, log: (m) => logs.push(m) });
  await dns.listen(NET, HOST, 0);
  cleanups.push(() => dns.closeAll());
  const port = dns.address(NET)?.port ?? 0;
  return { dns, port, logs };
}

interface FakeUpstream {
  port: number;
  received: Buffer[];
}

/** A UDP DNS server answering every A query with 9.9.9.9 (or staying silent). */
async function fakeUdpUpstream(opts: { silent?: boolean; answer?: string; port?: number } = {}): Promise<FakeUpstream> {
  const sock: UdpSocket = createSocket('udp4');
  const received: Buffer[] = [];
  sock.on('message', (msg, rinfo) => {
    received.push(msg);
    if (opts.silent) return;
    const q = decode(msg);
    const reply = encode({
      type: 'response',
      id: q.id ?? 0,
      flags: RECURSION_DESIRED,
      questions: q.questions ?? [],
      answers: (q.questions ?? []).map((qq) => ({ type: 'A', name: qq.name, ttl: 30, data: opts.answer ?? '9.9.9.9' })),
    });
    sock.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(opts.port ?? 0, HOST, () => r()));
  cleanups.push(() => new Promise<void>((r) => sock.close(() => r())));
  return { port: sock.address().port, received };
}

async function fakeTcpUpstream(answer = '8.8.4.4'): Promise<FakeUpstream> {
  const received: Buffer[] = [];
  const server: Server = createServer((conn) => {
    let buf = Buffer.alloc(0);
    conn.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
      const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
      received.push(Buffer.from(msg));
      const q = decode(msg);
      conn.end(
        framed(
          encode({
            type: 'response',
            id: q.id ?? 0,
            questions: q.questions ?? [],
            answers: (q.questions ?? []).map((qq) => ({ type: 'A', name: qq.name, ttl: 30, data: answer })),
          }),
        ),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, HOST, () => r()));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  const addr = server.address();
  return { port: typeof addr === 'object' && addr !== null ? addr.port : 0, received };
}

/** A port nothing listens on (UDP: the kernel answers port unreachable). */
async function deadPort(): Promise<number> {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, HOST, () => r()));
  const port = sock.address().port;
  await new Promise<void>((r) => sock.close(() => r()));
  return port;
}

// ------------------------------------------------------------------ tests

describe('EmbeddedDns: names berth knows', () => {
  it('answers A authoritatively with TTL 600, echoing ID, question and RD', async () => {
    const source = new TableSource({ web: ['172.20.0.2'] });
    const { port } = await startDns(source);
    const r = await udpQuery(port, query('web', 'A', 777));
    expect(r.id).toBe(777);
    expect(r.type).toBe('response');
    expect(r.flag_aa).toBe(true);
    expect(r.flag_rd).toBe(true);
    expect(r.flag_ra).toBe(true);
    expect(rcode(r)).toBe('NOERROR');
    expect(r.questions).toEqual([{ name: 'web', type: 'A', class: 'IN' }]);
    expect(r.answers).toEqual([{ name: 'web', type: 'A', ttl: 600, class: 'IN', flush: false, data: '172.20.0.2' }]);
  });

  it('looks names up lowercase without the trailing dot, answering with the name as asked', async () => {
    const source = new TableSource({ 'web.mynet': ['172.20.0.2'] });
    const { port } = await startDns(source);
    const r = await udpQuery(port, query('Web.MyNet.', 'A'));
    expect(aData(r)).toEqual(['172.20.0.2']);
    expect(r.answers?.[0]?.name).toBe('Web.MyNet');
    expect(source.lookups).toContainEqual([NET, 'web.mynet']);
  });

  it('rotates the addresses of a shared alias on each query (round-robin)', async () => {
    const { port } = await startDns(new TableSource({ db: ['10.0.0.2', '10.0.0.3', '10.0.0.4'] }));
    const seen: string[][] = [];
    for (let i = 0; i < 4; i++) seen.push(aData(await udpQuery(port, query('db'))));
    expect(seen).toEqual([
      ['10.0.0.2', '10.0.0.3', '10.0.0.4'],
      ['10.0.0.3', '10.0.0.4', '10.0.0.2'],
      ['10.0.0.4', '10.0.0.2', '10.0.0.3'],
      ['10.0.0.2', '10.0.0.3', '10.0.0.4'],
    ]);
  });

  it('answers AAAA for a known name with NOERROR and no records', async () => {
    const up = await fakeUdpUpstream();
    const { port } = await startDns(new TableSource({ web: ['172.20.0.2'] }), [`${HOST}:${up.port}`]);
    const r = await udpQuery(port, query('web', 'AAAA'));
    expect(rcode(r)).toBe('NOERROR');
    expect(r.flag_aa).toBe(true);
    expect(r.answers).toEqual([]);
    expect(up.received).toHaveLength(0);
  });

  it('answers PTR through reverse, and forwards PTR it does not know', async () => {
    const up = await fakeUdpUpstream();
    const { port } = await startDns(new TableSource({}, { '172.20.0.2': 'web.mynet' }), [`${HOST}:${up.port}`]);
    const r = await udpQuery(port, query('2.0.20.172.in-addr.arpa', 'PTR'));
    expect(r.flag_aa).toBe(true);
    expect(r.answers).toEqual([{ name: '2.0.20.172.in-addr.arpa', type: 'PTR', ttl: 600, class: 'IN', flush: false, data: 'web.mynet' }]);
    await udpQuery(port, query('9.0.20.172.in-addr.arpa', 'PTR'));
    expect(up.received).toHaveLength(1);
  });

  it('sees names per network', async () => {
    const source = new TableSource({ web: ['172.20.0.2'] });
    const { dns } = await startDns(source);
    await dns.listen('other', HOST, 0);
    const otherPort = dns.address('other')?.port ?? 0;
    const r = await udpQuery(otherPort, query('web'));
    expect(rcode(r)).toBe('SERVFAIL'); // unknown there, and no upstreams
    expect(source.lookups).toContainEqual(['other', 'web']);
  });

  it('truncates a UDP answer that does not fit 512 bytes and sets TC; TCP gets all', async () => {
    const many = Array.from({ length: 60 }, (_, i) => `10.1.0.${i + 2}`);
    const { port } = await startDns(new TableSource({ big: many }));
    const u = await udpAsk(port, query('big'));
    expect(u).toBeDefined();
    expect((u as Buffer).length).toBeLessThanOrEqual(512);
    const r = decode(u as Buffer);
    expect(r.flag_tc).toBe(true);
    expect(aData(r).length).toBeLessThan(60);
    const [t] = await tcpExchange(port, [framed(query('big'))], 1);
    expect(t?.flag_tc).toBe(false);
    expect(aData(t as DecodedPacket)).toHaveLength(60);
  });

  it('uses the EDNS payload size of the query as the UDP limit and answers with OPT', async () => {
    const many = Array.from({ length: 60 }, (_, i) => `10.1.0.${i + 2}`);
    const { port } = await startDns(new TableSource({ big: many }));
    const opt = { type: 'OPT' as const, name: '.', udpPayloadSize: 4096, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] };
    const r = await udpQuery(port, query('big', 'A', 8, { additionals: [opt] }));
    expect(r.flag_tc).toBe(false);
    expect(aData(r)).toHaveLength(60);
    expect(r.additionals?.map((a) => a.type)).toEqual(['OPT']);
  });

  it('answers SERVFAIL when the source throws', async () => {
    const { port, logs } = await startDns({
      lookup: () => {
        throw new Error('boom');
      },
    });
    expect(rcode(await udpQuery(port, query('web')))).toBe('SERVFAIL');
    expect(logs.join('\n')).toContain('boom');
  });
});

describe('EmbeddedDns: forwarding', () => {
  it('forwards unknown names unchanged over UDP and relays the answer with the client ID', async () => {
    const up = await fakeUdpUpstream({ answer: '93.184.216.34' });
    const { port } = await startDns(new TableSource({ web: ['172.20.0.2'] }), [`${HOST}:${up.port}`]);
    const q = query('example.com', 'A', 31337);
    const r = await udpQuery(port, q);
    expect(r.id).toBe(31337);
    expect(aData(r)).toEqual(['93.184.216.34']);
    expect(r.flag_aa).toBe(false);
    expect(up.received).toEqual([q]);
  });

  it('forwards other record types of known names too (MX, TXT ...)', async () => {
    const up = await fakeUdpUpstream();
    const { port } = await startDns(new TableSource({ web: ['172.20.0.2'] }), [`${HOST}:${up.port}`]);
    await udpQuery(port, query('web', 'MX'));
    expect(up.received).toHaveLength(1);
  });

  it('moves to the next upstream when one times out or refuses', async () => {
    const silent = await fakeUdpUpstream({ silent: true });
    const dead = await deadPort();
    const good = await fakeUdpUpstream({ answer: '1.1.1.1' });
    const { port, logs } = await startDns(new TableSource({}), [`${HOST}:${silent.port}`, `${HOST}:${dead}`, `${HOST}:${good.port}`], 200);
    const r = await udpQuery(port, query('example.org', 'A', 9));
    expect(r.id).toBe(9);
    expect(aData(r)).toEqual(['1.1.1.1']);
    expect(silent.received).toHaveLength(1);
    expect(good.received).toHaveLength(1);
    expect(logs.some((l) => l.includes('no answer within 200 ms'))).toBe(true);
  });

  it('answers SERVFAIL when every upstream fails, and when there is none', async () => {
    const silent = await fakeUdpUpstream({ silent: true });
    const { port, dns } = await startDns(new TableSource({}), [`${HOST}:${silent.port}`, `${HOST}:${await deadPort()}`], 150);
    const r = await udpQuery(port, query('example.org', 'A', 55));
    expect(r.id).toBe(55);
    expect(rcode(r)).toBe('SERVFAIL');
    expect(r.questions).toEqual([{ name: 'example.org', type: 'A', class: 'IN' }]);
    dns.setUpstreams([]);
    expect(rcode(await udpQuery(port, query('example.org')))).toBe('SERVFAIL');
  });

  it('uses new upstreams after setUpstreams', async () => {
    const a = await fakeUdpUpstream({ answer: '1.0.0.1' });
    const b = await fakeUdpUpstream({ answer: '2.0.0.2' });
    const { port, dns } = await startDns(new TableSource({}), [`${HOST}:${a.port}`]);
    expect(aData(await udpQuery(port, query('x.example')))).toEqual(['1.0.0.1']);
    dns.setUpstreams([`${HOST}:${b.port}`]);
    expect(aData(await udpQuery(port, query('x.example')))).toEqual(['2.0.0.2']);
  });

  it('never forwards to itself', async () => {
    const dns = new EmbeddedDns({ source: new TableSource({}), upstreams: [], timeoutMs: 100 });
    cleanups.push(() => dns.closeAll());
    await dns.listen(NET, HOST, 0);
    const port = dns.address(NET)?.port ?? 0;
    dns.setUpstreams([`${HOST}:${port}`]);
    expect(rcode(await udpQuery(port, query('loop.example')))).toBe('SERVFAIL');
  });
});

describe('EmbeddedDns: TCP', () => {
  it('reads length-prefixed queries, pipelined and split across writes', async () => {
    const { port } = await startDns(new TableSource({ web: ['172.20.0.2'], db: ['172.20.0.3'] }));
    const both = Buffer.concat([framed(query('web', 'A', 1)), framed(query('db', 'A', 2))]);
    // Both queries in one write, then a third byte by byte.
    const third = framed(query('web', 'A', 3));
    const chunks = [both, ...[...third].map((b) => Buffer.from([b]))];
    const replies = await tcpExchange(port, chunks, 3);
    const byId = new Map(replies.map((r) => [r.id, aData(r)]));
    expect(byId).toEqual(
      new Map([
        [1, ['172.20.0.2']],
        [2, ['172.20.0.3']],
        [3, ['172.20.0.2']],
      ]),
    );
  });

  it('forwards TCP queries over TCP and UDP queries over UDP', async () => {
    // One upstream address serving both transports, answering differently on each.
    const tcpSide = await fakeTcpUpstream('8.8.4.4');
    const udpSide = await fakeUdpUpstream({ answer: '7.7.7.7', port: tcpSide.port });
    const { port } = await startDns(new TableSource({}), [`${HOST}:${tcpSide.port}`]);
    const [r] = await tcpExchange(port, [framed(query('example.net', 'A', 99))], 1);
    expect(r?.id).toBe(99);
    expect(aData(r as DecodedPacket)).toEqual(['8.8.4.4']);
    expect(tcpSide.received).toEqual([query('example.net', 'A', 99)]);
    expect(udpSide.received).toHaveLength(0);
    expect(aData(await udpQuery(port, query('example.net')))).toEqual(['7.7.7.7']);
    expect(tcpSide.received).toHaveLength(1);
  });

  it('fails over between TCP upstreams and answers SERVFAIL when all fail', async () => {
    const good = await fakeTcpUpstream('4.4.4.4');
    const { port, dns } = await startDns(new TableSource({}), [`${HOST}:${await deadPort()}`, `${HOST}:${good.port}`]);
    const [r] = await tcpExchange(port, [framed(query('example.net'))], 1);
    expect(aData(r as DecodedPacket)).toEqual(['4.4.4.4']);
    dns.setUpstreams([`${HOST}:${await deadPort()}`]);
    const [f] = await tcpExchange(port, [framed(query('example.net'))], 1);
    expect(rcode(f as DecodedPacket)).toBe('SERVFAIL');
  });

  it('drops a malformed frame and keeps serving the connection', async () => {
    const { port } = await startDns(new TableSource({ web: ['172.20.0.2'] }));
    const garbage = framed(Buffer.from('this is not a dns message at all'));
    const replies = await tcpExchange(port, [garbage, framed(query('web', 'A', 5))], 1);
    expect(replies.map((r) => r.id)).toEqual([5]);
  });
});

describe('EmbeddedDns: robustness and lifecycle', () => {
  it('drops malformed packets, responses and question-less queries without crashing', async () => {
    const up = await fakeUdpUpstream();
    const { port, logs } = await startDns(new TableSource({ web: ['172.20.0.2'] }), [`${HOST}:${up.port}`]);
    const valid = query('web');
    const bad = [
      Buffer.alloc(0),
      Buffer.from([1, 2, 3]),
      Buffer.from('0123456789abcdefghijklmnop'),
      valid.subarray(0, valid.length - 3), // truncated question
      encode({ type: 'response', id: 1, questions: [{ name: 'web', type: 'A' }] }),
      encode({ type: 'query', id: 2, questions: [] }),
      Buffer.concat([valid.subarray(0, 12), Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])]), // compression loop
    ];
    for (const b of bad) expect(await udpAsk(port, b, 150)).toBeUndefined();
    expect(up.received).toHaveLength(0);
    expect(aData(await udpQuery(port, valid))).toEqual(['172.20.0.2']);
    expect(logs.some((l) => l.includes('malformed'))).toBe(true);
  });

  it('rejects with Conflict when the address is taken', async () => {
    const taken = createSocket('udp4');
    await new Promise<void>((r) => taken.bind(0, HOST, () => r()));
    cleanups.push(() => new Promise<void>((r) => taken.close(() => r())));
    const dns = new EmbeddedDns({ source: new TableSource({}), upstreams: [] });
    cleanups.push(() => dns.closeAll());
    const p = dns.listen(NET, HOST, taken.address().port);
    await expect(p).rejects.toBeInstanceOf(Conflict);
    await expect(p).rejects.toThrow(`embedded DNS for network ${NET}: cannot listen on ${HOST}:${taken.address().port}/udp: address already in use`);
    expect(dns.address(NET)).toBeUndefined();
  });

  it('rejects when TCP is taken, leaving no UDP socket behind', async () => {
    const tcp = createServer();
    await new Promise<void>((r) => tcp.listen(0, HOST, () => r()));
    cleanups.push(() => new Promise<void>((r) => tcp.close(() => r())));
    const addr = tcp.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
    const dns = new EmbeddedDns({ source: new TableSource({}), upstreams: [] });
    await expect(dns.listen(NET, HOST, port)).rejects.toThrow('/tcp: address already in use');
    // UDP was released: binding it now works.
    const probe = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.bind(port, HOST, () => resolve());
    });
    await new Promise<void>((r) => probe.close(() => r()));
  });

  it('stops answering after close, and listen is idempotent for the same address', async () => {
    const { dns, port } = await startDns(new TableSource({ web: ['172.20.0.2'] }));
    await dns.listen(NET, HOST, port);
    expect(dns.address(NET)).toEqual({ ip: HOST, port });
    await dns.close(NET);
    expect(await udpAsk(port, query('web'), 150)).toBeUndefined();
    await dns.close(NET); // closing twice is fine
    await dns.closeAll();
  });

  it('cancels forwards in flight when closing', async () => {
    const silent = await fakeUdpUpstream({ silent: true });
    const { dns, port, logs } = await startDns(new TableSource({}), [`${HOST}:${silent.port}`], 60_000);
    const pending = udpAsk(port, query('slow.example'), 300);
    while (silent.received.length === 0) await new Promise((r) => setTimeout(r, 10));
    await dns.closeAll();
    expect(await pending).toBeUndefined();
    expect(logs.some((l) => l.includes('server closed'))).toBe(true);
  });
});

describe('helpers', () => {
  it('upstreamsFromResolvConf keeps nameservers in order, loopback ones included', () => {
    const text = [
      '# Generated by NetworkManager',
      'search example.com',
      'nameserver 127.0.0.53',
      '; nameserver 9.9.9.9',
      'nameserver   1.1.1.1  ',
      'nameserver 2001:4860:4860::8888',
      'nameserver fe80::1%eth0',
      'nameserver not-an-ip',
      'nameserver 1.1.1.1',
      'options edns0 trust-ad',
      '',
    ].join('\n');
    expect(upstreamsFromResolvConf(text)).toEqual(['127.0.0.53', '1.1.1.1', '2001:4860:4860::8888', 'fe80::1%eth0']);
    expect(upstreamsFromResolvConf('')).toEqual([]);
  });

  it.each([
    ['1.1.1.1', { host: '1.1.1.1', port: 53, family: 4 }],
    ['127.0.0.1:5353', { host: '127.0.0.1', port: 5353, family: 4 }],
    ['::1', { host: '::1', port: 53, family: 6 }],
    ['[::1]:5300', { host: '::1', port: 5300, family: 6 }],
    ['fe80::1%eth0', { host: 'fe80::1%eth0', port: 53, family: 6 }],
  ])('parseUpstream(%s)', (spec, want) => {
    expect(parseUpstream(spec)).toEqual(want);
  });

  it.each(['', 'dns.google', '1.1.1.1:0', '1.1.1.1:70000', '[::1]:x'])('parseUpstream rejects %j', (spec) => {
    expect(() => parseUpstream(spec)).toThrow('invalid DNS upstream');
  });

  it('ptrToIp', () => {
    expect(ptrToIp('4.3.2.1.in-addr.arpa')).toBe('1.2.3.4');
    expect(ptrToIp('4.3.2.256.in-addr.arpa')).toBeUndefined();
    expect(ptrToIp('3.2.1.in-addr.arpa')).toBeUndefined();
    expect(ptrToIp('4.3.2.1.ip6.arpa')).toBeUndefined();
  });
});
