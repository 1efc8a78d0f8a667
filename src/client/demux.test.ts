import { PassThrough, Readable, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Demuxer, demux } from './demux.js';

function frame(stream: number, payload: string | Buffer): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const h = Buffer.alloc(8);
  h[0] = stream;
  h.writeUInt32BE(body.length, 4);
  return Buffer.concat([h, body]);
}

function collect(): { w: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const w = new Writable({
    write(c, _e, cb) {
      chunks.push(c as Buffer);
      cb();
    },
  });
  return { w, text: () => Buffer.concat(chunks).toString() };
}

function decodeAll(d: Demuxer, chunks: Buffer[]): { out: string; err: string } {
  let out = '';
  let err = '';
  for (const c of chunks) {
    for (const f of d.push(c)) {
      if (f.stream === 2) err += f.data.toString();
      else out += f.data.toString();
    }
  }
  return { out, err };
}

/** Splits `buf` at the given offsets. */
function splitAt(buf: Buffer, cuts: number[]): Buffer[] {
  const parts: Buffer[] = [];
  let prev = 0;
  for (const c of [...cuts, buf.length]) {
    parts.push(buf.subarray(prev, c));
    prev = c;
  }
  return parts;
}

describe('Demuxer', () => {
  const stream = Buffer.concat([frame(1, 'hello '), frame(2, 'oops\n'), frame(1, 'world\n'), frame(1, ''), frame(0, 'in')]);

  it('decodes whole frames', () => {
    const d = new Demuxer();
    expect(decodeAll(d, [stream])).toEqual({ out: 'hello world\nin', err: 'oops\n' });
    expect(d.idle).toBe(true);
  });

  it('decodes with every possible single cut (including inside headers)', () => {
    for (let cut = 1; cut < stream.length; cut++) {
      const d = new Demuxer();
      expect(decodeAll(d, splitAt(stream, [cut]))).toEqual({ out: 'hello world\nin', err: 'oops\n' });
    }
  });

  it('decodes byte by byte', () => {
    const d = new Demuxer();
    const bytes = [...stream].map((b) => Buffer.from([b]));
    expect(decodeAll(d, bytes)).toEqual({ out: 'hello world\nin', err: 'oops\n' });
  });

  it('decodes cuts inside the length field of a large frame', () => {
    const big = Buffer.alloc(70_000, 'x');
    const buf = Buffer.concat([frame(2, big), frame(1, 'tail')]);
    const d = new Demuxer();
    const r = decodeAll(d, splitAt(buf, [3, 6, 40_000, 70_005, 70_010]));
    expect(r.err.length).toBe(70_000);
    expect(r.out).toBe('tail');
  });

  it('reports a partial frame as not idle', () => {
    const d = new Demuxer();
    d.push(stream.subarray(0, 4));
    expect(d.idle).toBe(false);
  });

  it('rejects unknown stream types', () => {
    const d = new Demuxer();
    expect(() => d.push(frame(3, 'x'))).toThrow('Unrecognized input header: 3');
  });
});

describe('demux()', () => {
  it('routes frames to stdout and stderr', async () => {
    const out = collect();
    const err = collect();
    const src = Readable.from([frame(1, 'a'), Buffer.concat([frame(2, 'b'), frame(1, 'c').subarray(0, 5)]), frame(1, 'c').subarray(5)]);
    await demux(src, out.w, err.w);
    expect(out.text()).toBe('ac');
    expect(err.text()).toBe('b');
  });

  it('passes raw TTY output through untouched', async () => {
    const out = collect();
    const err = collect();
    const raw = Buffer.from([1, 0, 0, 0, 0, 0, 0, 1, 0x41]);
    await demux(Readable.from([raw]), out.w, err.w, { tty: true });
    expect(Buffer.from(out.text(), 'latin1').length).toBe(raw.length);
    expect(err.text()).toBe('');
  });

  it('waits for drain on slow writers', async () => {
    let pending = 0;
    const seen: string[] = [];
    const slow = new Writable({
      highWaterMark: 1,
      write(c, _e, cb) {
        pending++;
        seen.push(String(c));
        setTimeout(() => {
          pending--;
          cb();
        }, 1);
      },
    });
    const src = new PassThrough();
    const done = demux(src, slow, collect().w);
    for (let i = 0; i < 20; i++) src.write(frame(1, String(i % 10)));
    src.end();
    await done;
    expect(seen.join('')).toBe('01234567890123456789');
    expect(pending).toBeLessThanOrEqual(1);
  });

  it('treats a reset connection as the end of output', async () => {
    let sent = false;
    const src = new Readable({
      read() {
        if (sent) return;
        sent = true;
        this.push(frame(1, 'x'));
        const e = Object.assign(new Error('reset'), { code: 'ECONNRESET' });
        setImmediate(() => this.destroy(e));
      },
    });
    const out = collect();
    await demux(src, out.w, collect().w);
    expect(out.text()).toBe('x');
  });
});
