/**
 * berth's embedded DNS server, Docker's 127.0.0.11 for user-defined networks: containers on a
 * network ask it for the names of the other containers there (names, aliases, short IDs), and
 * everything else is relayed to the host's resolvers.
 *
 * One server per network, listening on UDP and TCP at an address of that network (the bridge's
 * gateway, in the host's network namespace). For each query:
 *
 * - `A` for a name `DnsAnswerSource.lookup` knows: answered here, authoritatively, TTL 600 (as
 *   Docker), the addresses rotated by one per query so clients that take the first address
 *   spread over the containers sharing an alias (Docker shuffles; rotation is its
 *   deterministic equivalent);
 * - `AAAA` for such a name: NOERROR without records (berth's networks are IPv4), so resolvers
 *   use the A answer instead of failing the whole lookup;
 * - `PTR` for `d.c.b.a.in-addr.arpa` that `reverse` knows: answered here, TTL 600;
 * - anything else, names berth does not know included: the client's bytes are sent unchanged to
 *   the upstreams (UDP query → UDP upstream, TCP → TCP), in order, moving to the next one on a
 *   timeout or error; the first answer is relayed with the client's query ID. When every
 *   upstream fails (or there is none): SERVFAIL.
 *
 * Malformed packets, responses sent to the server and queries without a question are dropped.
 * A local answer too big for the client's UDP size (512, or its EDNS size) is truncated with TC
 * set so the client retries over TCP.
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createConnection, createServer, isIP, type Server, type Socket } from 'node:net';
import { decode, encode, encodingLength, type Answer, type DecodedPacket, type Packet, type Question } from 'dns-packet';
import { Conflict, InvalidArgument, Unavailable, errorMessage } from '../../core/errors.js';

export interface DnsAnswerSource {
  /** IPv4 addresses for `name` (lowercase, no trailing dot) as seen from a container on network `networkId`; [] when unknown to berth. */
  lookup(networkId: string, name: string): string[];
  /** Reverse lookup of an IPv4 address on that network (PTR), or undefined. */
  reverse?(networkId: string, ip: string): string | undefined;
}

export interface EmbeddedDnsOptions {
  source: DnsAnswerSource;
  /** `ip` or `ip:port` (`[v6]:port` for IPv6 with a port). */
  upstreams: string[];
  log?: (msg: string) => void;
  /** How long one upstream has to answer before the next is tried (default 2000 ms). */
  timeoutMs?: number;
}

/** Docker's TTL for the answers of its embedded server. */
export const DNS_TTL = 600;
const DEFAULT_TIMEOUT_MS = 2000;
const DEFAULT_PORT = 53;
/** Queries being forwarded at once, beyond which new ones get SERVFAIL (Docker caps these too). */
const MAX_CONCURRENT_FORWARDS = 1024;
/** A TCP client connection idle this long is closed (RFC 7766 suggests seconds). */
const TCP_IDLE_MS = 10_000;
const MAX_ROTATIONS_TRACKED = 10_000;

// Header flag bits (the 16-bit word after the ID).
const QR = 0x8000;
const OPCODE_MASK = 0x7800;
const AA = 0x0400;
const TC = 0x0200;
const RD = 0x0100;
const RA = 0x0080;
const CD = 0x0010;
const RCODE_SERVFAIL = 2;

interface Upstream {
  host: string;
  port: number;
  family: 4 | 6;
}

interface Listener {
  ip: string;
  port: number;
  udp: UdpSocket;
  tcp: Server;
  conns: Set<Socket>;
}

type Transport = 'udp' | 'tcp';

/** Parses `ip`, `ip:port`, `[v6]:port` or a bare IPv6 address (zone allowed: `fe80::1%eth0`). */
export function parseUpstream(spec: string): Upstream {
  const s = spec.trim();
  let host = s;
  let port = DEFAULT_PORT;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (bracketed) {
    host = bracketed[1] as string;
    if (bracketed[2] !== undefined) port = Number(bracketed[2]);
  } else if (/^[\d.]+:\d+$/.test(s)) {
    const colon = s.lastIndexOf(':');
    host = s.slice(0, colon);
    port = Number(s.slice(colon + 1));
  }
  const family = isIP(host.split('%')[0] ?? '');
  if (family === 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidArgument(`invalid DNS upstream "${spec}": want an IP address, optionally with :port`);
  }
  return { host, port, family: family === 6 ? 6 : 4 };
}

/** Nameservers of a resolv.conf text; loopback ones (127.0.0.53, systemd-resolved) are kept since the server runs in the host's network namespace. */
export function upstreamsFromResolvConf(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || line.startsWith(';')) continue;
    const [keyword, value] = line.split(/\s+/);
    if (keyword !== 'nameserver' || value === undefined) continue;
    if (isIP(value.split('%')[0] ?? '') === 0) continue;
    if (!out.includes(value)) out.push(value);
  }
  return out;
}

/** `4.3.2.1.in-addr.arpa` → `1.2.3.4`; undefined for anything else. */
export function ptrToIp(name: string): string | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.in-addr\.arpa$/.exec(name);
  if (!m) return undefined;
  const parts = [m[4], m[3], m[2], m[1]] as string[];
  if (parts.some((p) => Number(p) > 255 || (p.length > 1 && p.startsWith('0')))) return undefined;
  return parts.join('.');
}

function normalise(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The largest UDP answer the client accepts: its EDNS payload size, else 512. */
function udpLimit(query: DecodedPacket): number {
  for (const a of query.additionals ?? []) {
    if (a.type === 'OPT') return Math.min(Math.max(a.udpPayloadSize, 512), 4096);
  }
  return 512;
}

function hasEdns(query: DecodedPacket): boolean {
  return (query.additionals ?? []).some((a) => a.type === 'OPT');
}

/** Reads the 16-bit flags word of a DNS message (12-byte header assumed present). */
function headerFlags(buf: Buffer): number {
  return buf.readUInt16BE(2);
}

/** The reply's header flags for a query's: QR, the query's opcode, RD and CD, RA, plus `extra`. */
function replyFlags(queryFlags: number, extra: number): number {
  return (queryFlags & (OPCODE_MASK | RD | CD)) | RA | extra;
}

/** A copy of `reply` carrying `id` (upstreams answer with the ID they were sent, kept defensively). */
function withId(reply: Buffer, id: number): Buffer {
  const out = Buffer.from(reply);
  out.writeUInt16BE(id, 0);
  return out;
}

function question(q: Question): Question {
  return { name: q.name, type: q.type, class: q.class ?? 'IN' };
}

/** SERVFAIL for a query, echoing its ID and question. */
function servfail(queryBuf: Buffer, query: DecodedPacket): Buffer {
  const flags = replyFlags(headerFlags(queryBuf), RCODE_SERVFAIL);
  return encode({ type: 'response', id: query.id ?? 0, flags, questions: (query.questions ?? []).map(question) });
}

/**
 * An authoritative reply to `query` with `answers`; over UDP, cut to the client's size limit
 * with TC set when it does not fit.
 */
function encodeLocal(queryBuf: Buffer, query: DecodedPacket, answers: Answer[], transport: Transport): Buffer {
  const q = query.questions?.[0] as Question;
  const additionals: Answer[] = hasEdns(query) ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] : [];
  const packet = (list: Answer[], extra: number): Packet => ({
    type: 'response',
    id: query.id ?? 0,
    flags: replyFlags(headerFlags(queryBuf), AA | extra),
    questions: [question(q)],
    answers: list,
    additionals,
  });
  let p = packet(answers, 0);
  if (transport === 'udp') {
    const limit = udpLimit(query);
    if (encodingLength(p) > limit) {
      let n = answers.length;
      while (n > 0 && encodingLength(packet(answers.slice(0, n), TC)) > limit) n--;
      p = packet(answers.slice(0, n), TC);
    }
  }
  return encode(p);
}

/** Splits a TCP byte stream into DNS messages (2-byte big-endian length prefix, RFC 1035 4.2.2). */
class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const frames: Buffer[] = [];
    while (this.buf.length >= 2) {
      const len = this.buf.readUInt16BE(0);
      if (this.buf.length < 2 + len) break;
      frames.push(this.buf.subarray(2, 2 + len));
      this.buf = this.buf.subarray(2 + len);
    }
    return frames;
  }
}

function frame(msg: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(msg.length, 0);
  return Buffer.concat([len, msg]);
}

function listenError(networkId: string, address: string, proto: Transport, e: unknown): Error {
  const code = (e as NodeJS.ErrnoException).code;
  const where = `embedded DNS for network ${networkId}: cannot listen on ${address}/${proto}`;
  if (code === 'EADDRINUSE') return new Conflict(`${where}: address already in use`, { cause: e });
  if (code === 'EADDRNOTAVAIL') return new InvalidArgument(`${where}: address not available on this host`, { cause: e });
  if (code === 'EACCES') return new Unavailable(`${where}: permission denied`, { cause: e });
  return new Unavailable(`${where}: ${errorMessage(e)}`, { cause: e });
}

export class EmbeddedDns {
  private readonly source: DnsAnswerSource;
  private readonly log: (msg: string) => void;
  private readonly timeoutMs: number;
  private upstreams: Upstream[];
  private readonly listeners = new Map<string, Listener>();
  /** Rotation counters for names with several addresses, by network and name. */
  private readonly rotation = new Map<string, number>();
  /** Upstream exchanges in progress, by the network they serve: cancelled when it closes. */
  private readonly pending = new Map<{ cancel(): void }, string>();

  constructor(opts: EmbeddedDnsOptions) {
    this.source = opts.source;
    this.log = opts.log ?? (() => undefined);
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.upstreams = opts.upstreams.map(parseUpstream);
  }

  /** Serves UDP and TCP DNS on ip:port (default 53) for this network. Rejects with a clear error when the address is taken. */
  async listen(networkId: string, ip: string, port = DEFAULT_PORT): Promise<void> {
    const existing = this.listeners.get(networkId);
    if (existing) {
      if (existing.ip === ip && existing.port === port) return;
      await this.close(networkId);
    }
    const family = isIP(ip);
    if (family === 0) throw new InvalidArgument(`embedded DNS for network ${networkId}: invalid listen address "${ip}"`);
    const address = hostPort(ip, port);

    const udp = createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind({ address: ip, port, exclusive: true }, () => {
        udp.off('error', reject);
        resolve();
      });
    }).catch((e: unknown) => {
      udp.close();
      throw listenError(networkId, address, 'udp', e);
    });
    // With port 0 (tests), TCP takes the port UDP was given.
    const boundPort = udp.address().port;

    const conns = new Set<Socket>();
    // Half-open allowed: a client may shut down its side right after sending its queries.
    const tcp = createServer({ allowHalfOpen: true }, (sock) => this.serveTcp(networkId, sock, conns));
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ host: ip, port: boundPort, exclusive: true }, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      udp.close();
      throw listenError(networkId, hostPort(ip, boundPort), 'tcp', e);
    }
    udp.on('error', (e) => this.log(`dns ${networkId}: udp socket error: ${errorMessage(e)}`));
    tcp.on('error', (e) => this.log(`dns ${networkId}: tcp server error: ${errorMessage(e)}`));
    udp.on('message', (msg, rinfo) => this.serveUdp(networkId, udp, msg, rinfo));
    this.listeners.set(networkId, { ip, port: boundPort, udp, tcp, conns });
  }

  /** The address a network's server listens on (its port is the real one when 0 was asked for). */
  address(networkId: string): { ip: string; port: number } | undefined {
    const l = this.listeners.get(networkId);
    return l ? { ip: l.ip, port: l.port } : undefined;
  }

  async close(networkId: string): Promise<void> {
    const l = this.listeners.get(networkId);
    if (!l) return;
    this.listeners.delete(networkId);
    for (const c of l.conns) c.destroy();
    await Promise.all([
      new Promise<void>((resolve) => l.udp.close(() => resolve())),
      new Promise<void>((resolve) => l.tcp.close(() => resolve())),
    ]);
    for (const [op, id] of this.pending) if (id === networkId) op.cancel();
    for (const key of this.rotation.keys()) if (key.startsWith(`${networkId}\0`)) this.rotation.delete(key);
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.listeners.keys()].map((id) => this.close(id)));
    for (const op of [...this.pending.keys()]) op.cancel();
  }

  setUpstreams(upstreams: string[]): void {
    this.upstreams = upstreams.map(parseUpstream);
  }

  // ------------------------------------------------------------------ serving

  private serveUdp(networkId: string, udp: UdpSocket, msg: Buffer, rinfo: RemoteInfo): void {
    this.handle(networkId, msg, 'udp')
      .then((reply) => {
        if (reply === undefined || !this.listeners.has(networkId)) return;
        udp.send(reply, rinfo.port, rinfo.address, (e) => {
          if (e) this.log(`dns ${networkId}: reply to ${hostPort(rinfo.address, rinfo.port)} failed: ${errorMessage(e)}`);
        });
      })
      .catch((e: unknown) => this.log(`dns ${networkId}: ${errorMessage(e)}`));
  }

  private serveTcp(networkId: string, sock: Socket, conns: Set<Socket>): void {
    conns.add(sock);
    const reader = new FrameReader();
    let inflight = 0;
    let ended = false;
    const maybeEnd = (): void => {
      if (ended && inflight === 0 && !sock.destroyed) sock.end();
    };
    sock.setTimeout(TCP_IDLE_MS, () => {
      if (inflight === 0) sock.destroy();
    });
    sock.on('error', () => sock.destroy());
    sock.on('close', () => conns.delete(sock));
    sock.on('end', () => {
      ended = true;
      maybeEnd();
    });
    sock.on('data', (chunk: Buffer) => {
      for (const msg of reader.push(chunk)) {
        inflight++;
        this.handle(networkId, msg, 'tcp')
          .then((reply) => {
            if (reply !== undefined && !sock.destroyed && sock.writable) sock.write(frame(reply));
          })
          .catch((e: unknown) => this.log(`dns ${networkId}: ${errorMessage(e)}`))
          .finally(() => {
            inflight--;
            maybeEnd();
          });
      }
    });
  }

  /** The reply to one message, or undefined to drop it. Never rejects for bad input. */
  private async handle(networkId: string, msg: Buffer, transport: Transport): Promise<Buffer | undefined> {
    if (msg.length < 12) return undefined;
    let query: DecodedPacket;
    try {
      query = decode(msg);
    } catch (e) {
      this.log(`dns ${networkId}: dropped a malformed ${transport} packet (${msg.length} bytes): ${errorMessage(e)}`);
      return undefined;
    }
    if ((headerFlags(msg) & QR) !== 0) return undefined;
    const q = query.questions?.[0];
    if (q === undefined) return undefined;

    let local: Buffer | undefined;
    try {
      local = this.answerLocally(networkId, msg, query, q, transport);
    } catch (e) {
      this.log(`dns ${networkId}: answering ${q.type} ${q.name}: ${errorMessage(e)}`);
      return servfail(msg, query);
    }
    if (local !== undefined) return local;
    return this.forward(networkId, msg, query, transport);
  }

  private answerLocally(networkId: string, msg: Buffer, query: DecodedPacket, q: Question, transport: Transport): Buffer | undefined {
    const opcode = (headerFlags(msg) & OPCODE_MASK) >> 11;
    if (opcode !== 0 || (query.questions?.length ?? 0) !== 1) return undefined;
    if (q.class !== undefined && q.class !== 'IN') return undefined;
    const name = normalise(q.name);
    switch (q.type) {
      case 'A': {
        const ips = this.source.lookup(networkId, name);
        if (ips.length === 0) return undefined;
        return encodeLocal(msg, query, this.rotate(networkId, name, ips).map((ip) => ({ type: 'A', name: q.name, ttl: DNS_TTL, class: 'IN', data: ip })), transport);
      }
      case 'AAAA': {
        if (this.source.lookup(networkId, name).length === 0) return undefined;
        return encodeLocal(msg, query, [], transport);
      }
      case 'PTR': {
        const ip = ptrToIp(name);
        if (ip === undefined || this.source.reverse === undefined) return undefined;
        const host = this.source.reverse(networkId, ip);
        if (host === undefined || host === '') return undefined;
        return encodeLocal(msg, query, [{ type: 'PTR', name: q.name, ttl: DNS_TTL, class: 'IN', data: host.replace(/\.$/, '') }], transport);
      }
      default:
        return undefined;
    }
  }

  /** `ips` rotated by one more place on each call for the same network and name. */
  private rotate(networkId: string, name: string, ips: string[]): string[] {
    if (ips.length < 2) return ips;
    const key = `${networkId}\0${name}`;
    const n = this.rotation.get(key) ?? 0;
    if (this.rotation.size >= MAX_ROTATIONS_TRACKED && !this.rotation.has(key)) this.rotation.clear();
    this.rotation.set(key, (n + 1) % 1_000_000);
    const k = n % ips.length;
    return [...ips.slice(k), ...ips.slice(0, k)];
  }

  // ------------------------------------------------------------------ forwarding

  private async forward(networkId: string, msg: Buffer, query: DecodedPacket, transport: Transport): Promise<Buffer> {
    const id = query.id ?? msg.readUInt16BE(0);
    const upstreams = this.upstreams.filter((u) => !this.isSelf(u));
    if (upstreams.length === 0 || this.pending.size >= MAX_CONCURRENT_FORWARDS) {
      if (upstreams.length > 0) this.log(`dns ${networkId}: more than ${MAX_CONCURRENT_FORWARDS} queries in flight, answering SERVFAIL`);
      return servfail(msg, query);
    }
    for (const u of upstreams) {
      if (!this.listeners.has(networkId)) break;
      try {
        const reply = transport === 'udp' ? await this.exchangeUdp(networkId, u, msg) : await this.exchangeTcp(networkId, u, msg);
        return withId(reply, id);
      } catch (e) {
        this.log(`dns ${networkId}: upstream ${hostPort(u.host, u.port)}/${transport}: ${errorMessage(e)}`);
      }
    }
    return servfail(msg, query);
  }

  /** True for an upstream that is one of this server's own addresses (a forwarding loop). */
  private isSelf(u: Upstream): boolean {
    for (const l of this.listeners.values()) if (l.ip === u.host && l.port === u.port) return true;
    return false;
  }

  /**
   * One UDP exchange on a fresh socket (a random source port per query), connected to the
   * upstream so the kernel delivers only its datagrams and reports ICMP unreachables as errors.
   */
  private exchangeUdp(networkId: string, u: Upstream, msg: Buffer): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      const sock = createSocket({ type: u.family === 6 ? 'udp6' : 'udp4' });
      const id = msg.readUInt16BE(0);
      let done = false;
      const finish = (err: Error | undefined, reply?: Buffer): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.pending.delete(op);
        try {
          sock.close();
        } catch {
          // already closed
        }
        if (err) reject(err);
        else resolve(reply as Buffer);
      };
      const op = { cancel: () => finish(new Error('server closed')) };
      const timer = setTimeout(() => finish(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      this.pending.set(op, networkId);
      sock.on('error', (e) => finish(e));
      sock.on('message', (reply) => {
        // Only an answer to this query: a response carrying its ID.
        if (reply.length < 12 || reply.readUInt16BE(0) !== id || (reply.readUInt16BE(2) & QR) === 0) return;
        finish(undefined, reply);
      });
      sock.connect(u.port, u.host, () => {
        sock.send(msg, (e) => {
          if (e) finish(e);
        });
      });
    });
  }

  /** One TCP exchange: connect, send the framed query, read one framed answer, close. */
  private exchangeTcp(networkId: string, u: Upstream, msg: Buffer): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      const sock = createConnection({ host: u.host, port: u.port });
      const reader = new FrameReader();
      let done = false;
      const finish = (err: Error | undefined, reply?: Buffer): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.pending.delete(op);
        sock.destroy();
        if (err) reject(err);
        else resolve(reply as Buffer);
      };
      const op = { cancel: () => finish(new Error('server closed')) };
      const timer = setTimeout(() => finish(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      this.pending.set(op, networkId);
      sock.on('error', (e) => finish(e));
      sock.on('close', () => finish(new Error('connection closed before an answer')));
      sock.on('connect', () => sock.write(frame(msg)));
      sock.on('data', (chunk: Buffer) => {
        const [reply] = reader.push(chunk);
        if (reply !== undefined) finish(undefined, Buffer.from(reply));
      });
    });
  }
}
