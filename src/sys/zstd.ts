import { spawn } from 'node:child_process';
import { InvalidArgument, Unavailable } from '../core/errors.js';
import { writeOrStop } from '../core/streams.js';

/**
 * zstd decompression through the `zstd` program (Debian's zstd package): Node 20 has no
 * zstd in zlib. The compressed bytes go to `zstd -d -c` on stdin, the plain bytes come back
 * on stdout, with backpressure both ways. A corrupt stream is an InvalidArgument carrying
 * zstd's message; a missing program says which package to install.
 */
export type Decompressor = (input: AsyncIterable<Buffer>) => AsyncIterable<Buffer>;

export function zstdDecompress(input: AsyncIterable<Buffer>, binary = 'zstd'): AsyncIterable<Buffer> {
  return (async function* () {
    const child = spawn(binary, ['-d', '-c', '-q', '--no-progress'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const stderr: Buffer[] = [];
    child.stderr.on('data', (d: Buffer) => stderr.push(d));
    let spawnError: Error | undefined;
    const exited = new Promise<number>((resolve) => {
      child.once('error', (e) => {
        spawnError = e;
        resolve(-1);
      });
      child.once('close', (code, sig) => resolve(code ?? (sig !== null ? 128 : 1)));
    });
    child.stdin.on('error', () => undefined); // zstd gone early: reported through its exit
    let feedError: unknown;
    const feeding = (async () => {
      try {
        for await (const chunk of input) {
          if (!(await writeOrStop(child.stdin, chunk))) break;
        }
      } catch (e) {
        feedError = e;
        child.kill('SIGKILL');
      } finally {
        child.stdin.end();
      }
    })();
    let finished = false;
    try {
      for await (const chunk of child.stdout as AsyncIterable<Buffer>) yield chunk;
      finished = true;
    } finally {
      if (!finished) child.kill('SIGKILL');
      await feeding;
      const code = await exited;
      if (finished) {
        if (feedError !== undefined) throw feedError;
        if (spawnError !== undefined) {
          const err = spawnError as NodeJS.ErrnoException;
          throw err.code === 'ENOENT'
            ? new Unavailable('this layer is zstd-compressed and the zstd program is missing: install it (apt-get install zstd)')
            : new Unavailable(`zstd: ${err.message}`);
        }
        if (code !== 0) {
          const msg = Buffer.concat(stderr).toString().trim().replace(/^zstd:\s*/, '').replace(/^\/\*stdin\*\\\\?\s*:?\s*/, '');
          throw new InvalidArgument(`invalid layer: zstd: ${msg || `exit status ${code}`}`);
        }
      }
    }
  })();
}
