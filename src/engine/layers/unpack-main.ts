/**
 * The unpack process: `node unpack-main.js <dest>` unpacks the layer blob it reads on stdin
 * (plain, gzip or zstd tar) into the empty directory `dest`, with `unpackLayer` exactly as
 * the daemon would, and writes one line of JSON to stdout: `{"diffId","size","entries"}`,
 * or `{"error":{"code","message"}}` (and exits 1). The daemon starts it for big layers of
 * many small files (unpack-process.ts): it runs with V8's compilers, which the daemon goes
 * without to idle small, and with blocking file calls, and several of them use both cores.
 */
import { isBerthError } from '../../core/errors.js';
import { ByteFeed } from '../util/feed.js';
import { unpackLayer } from './unpack.js';
import { PARENT_ENV } from './unpack-process.js';

/** Input queued while the unpacker works, at most. */
const INPUT_BYTES = 4 * 1024 * 1024;

async function main(): Promise<void> {
  const dest = process.argv[2];
  if (dest === undefined || process.argv.length !== 3) {
    process.stderr.write('usage: unpack-main.js DEST   (a layer blob on stdin)\n');
    process.exitCode = 2;
    return;
  }
  // A daemon that dies (kill -9) leaves its unpack processes behind: one ends at once rather
  // than go on filling a scratch directory the next daemon removes at start.
  // The daemon names itself (PARENT_ENV): a daemon that died before this process got here
  // has left it a child of init already, which a ppid taken now would not show.
  const parent = Number(process.env[PARENT_ENV]) || process.ppid;
  if (process.ppid !== parent) process.exit(1);
  setInterval(() => {
    if (process.ppid !== parent) process.exit(1);
  }, 100).unref();
  // stdin arrives in 64 KiB reads; the unpacker's work (a gunzip round trip through the
  // thread pool, the tar parser) is per chunk: what has arrived meanwhile goes on as one chunk.
  const input = new ByteFeed(INPUT_BYTES);
  process.stdin.on('data', (chunk: Buffer) => {
    process.stdin.pause();
    void input.push(chunk).then(() => process.stdin.resume());
  });
  process.stdin.on('end', () => input.end());
  process.stdin.on('error', (e) => input.fail(e));
  let line: string;
  try {
    const r = await unpackLayer(input, dest, { blocking: true });
    line = JSON.stringify(r);
  } catch (e) {
    const code = isBerthError(e) ? e.code : 'internal';
    line = JSON.stringify({ error: { code, message: e instanceof Error ? e.message : String(e) } });
    process.exitCode = 1;
  }
  // Done reading, whatever is left: the daemon sees the end of the process at once.
  process.stdin.destroy();
  process.stdout.write(`${line}\n`);
}

await main();
