import { Readable, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isDaemonError } from './errors.js';
import { displayJsonMessages, jsonMessages, renderMessage } from './progress.js';

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
