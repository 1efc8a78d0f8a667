import { describe, expect, it } from 'vitest';
import { pipeTransport } from './pipe.js';

/** process.binding of this node, for the parts a test leaves alone. */
const real = (name: string) => (process as unknown as { binding: (n: string) => Record<string, unknown> }).binding(name);

describe('pipeTransport', () => {
  it("is there on this node (the client's answers read whole take it)", () => {
    expect(pipeTransport()).toBeTypeOf('function');
    expect(pipeTransport(real)).toBeTypeOf('function');
  });

  it('is undefined where node lacks a part it uses, so the client goes through node:net', () => {
    expect(pipeTransport(() => ({}))).toBeUndefined();
    expect(
      pipeTransport(() => {
        throw new Error('No such module: pipe_wrap');
      }),
    ).toBeUndefined();
    // A handle without the method that starts reading, a stream state of another shape, no EOF code.
    const withPipe = (Pipe: unknown) => (name: string) => (name === 'pipe_wrap' ? { ...real(name), Pipe } : real(name));
    class NoRead {
      connect() {}
      writeBuffer() {}
      readStop() {}
      close() {}
    }
    expect(pipeTransport(withPipe(NoRead))).toBeUndefined();
    expect(pipeTransport((name) => (name === 'stream_wrap' ? { ...real(name), streamBaseState: [0, 0] } : real(name)))).toBeUndefined();
    expect(pipeTransport((name) => (name === 'uv' ? {} : real(name)))).toBeUndefined();
  });
});
