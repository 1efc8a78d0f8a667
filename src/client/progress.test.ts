import { Readable, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isDaemonError } from './errors.js';
import { displayJsonMessages, jsonMessages, renderMessage, TerminalProgress } from './progress.js';

function sink(): { w: Writable; text: () => string } {
  let s = '';
  return {
    w: new Writable({
      write(c, _e, cb) {
        s += String(c);
        cb();
      },
    }),
    text: () => s,
  };
}

describe('JSON-lines progress', () => {
  it('yields objects across chunk boundaries', async () => {
    const src = Readable.from(['{"status":"a"}\n{"sta', 'tus":"b"}\r\n\n', '{"stream":"c\\n"}']);
    const got = [];
    for await (const m of jsonMessages(src)) got.push(m);
    expect(got).toEqual([{ status: 'a' }, { status: 'b' }, { stream: 'c\n' }]);
  });

  it('renders like jsonmessage.Display for a non-terminal', () => {
    expect(renderMessage({ status: 'Pulling fs layer', id: 'abc', progressDetail: {} })).toBe('abc: Pulling fs layer\n');
    expect(renderMessage({ status: 'Downloading', id: 'abc', progressDetail: { current: 1, total: 10 }, progress: '[>  ]' })).toBe('');
    expect(renderMessage({ stream: 'Loaded image: busybox:latest\n' })).toBe('Loaded image: busybox:latest\n');
    expect(renderMessage({ status: 'Digest: sha256:x' })).toBe('Digest: sha256:x\n');
    expect(renderMessage({ aux: { ID: 'sha256:x' } })).toBe('');
  });

  it('prints status/stream lines and hands aux payloads over', async () => {
    const out = sink();
    const aux: unknown[] = [];
    await displayJsonMessages(Readable.from(['{"status":"Loading layer"}\n{"stream":"Loaded image: a:b\\n"}\n{"aux":{"ID":"x"}}\n']), out.w, { onAux: (a) => aux.push(a) });
    expect(out.text()).toBe('Loading layer\nLoaded image: a:b\n');
    expect(aux).toEqual([{ ID: 'x' }]);
  });

  it('throws the daemon error of errorDetail', async () => {
    const out = sink();
    const p = displayJsonMessages(Readable.from(['{"status":"x"}\n{"errorDetail":{"message":"pull access denied"},"error":"pull access denied"}\n']), out.w);
    await expect(p).rejects.toThrow('pull access denied');
    await p.catch((e: unknown) => expect(isDaemonError(e)).toBe(true));
    expect(out.text()).toBe('x\n');
  });
});

describe('TerminalProgress (docker on a terminal)', () => {
  it('gives each layer a line and redraws it in place, bars past 110 columns', () => {
    const t = new TerminalProgress(() => 150);
    const out = [
      { status: 'Pulling from library/busybox', id: 'latest' },
      { status: 'Pulling fs layer', progressDetail: {}, id: 'aaa' },
      { status: 'Pulling fs layer', progressDetail: {}, id: 'bbb' },
      { status: 'Downloading', progressDetail: { current: 500, total: 1000 }, progress: 'x', id: 'aaa' },
      { status: 'Pull complete', progressDetail: {}, id: 'bbb' },
      { status: 'Digest: sha256:x' },
    ].map((m) => t.render(m));
    expect(out).toEqual([
      'latest: Pulling from library/busybox\n',
      '\n\x1b[1A\x1b[2K\raaa: Pulling fs layer \r\x1b[1B',
      '\n\x1b[1A\x1b[2K\rbbb: Pulling fs layer \r\x1b[1B',
      `\x1b[2A\x1b[2K\raaa: Downloading [${'='.repeat(25)}>${' '.repeat(25)}]     500B/1kB\r\x1b[2B`,
      '\x1b[1A\x1b[2K\rbbb: Pull complete \r\x1b[1B',
      'Digest: sha256:x\n',
    ]);
  });

  it('shows numbers only on a narrow terminal, and starts a new block after a plain line', () => {
    const t = new TerminalProgress(() => 80);
    expect(t.render({ status: 'Downloading', progressDetail: { current: 1, total: 2 }, id: 'a' })).toBe('\n\x1b[1A\x1b[2K\ra: Downloading       1B/2B\r\x1b[1B');
    t.render({ status: 'Digest: x' });
    expect(t.render({ status: 'Waiting', progressDetail: {}, id: 'a' })).toBe('\n\x1b[1A\x1b[2K\ra: Waiting \r\x1b[1B');
    expect(t.render({ aux: { Tag: 'x' }, progressDetail: {} })).toBe('');
  });
});
