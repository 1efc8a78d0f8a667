/**
 * The CLI's stdout and stderr. node makes `process.stdout` a `net.Socket` for a pipe, a
 * `tty.WriteStream` for a terminal and a `SyncWriteStream` for a file, loading node:net or
 * node:stream for it the first time it is touched: more than a short command (`berth ps`,
 * `berth run -d`) spends on everything else it does besides node's own start. So the CLI
 * writes its text with `write(2)` on the descriptor, as docker's CLI does, and node's stream
 * is made only for what needs one (an archive piped out, a terminal's size, raw mode).
 *
 * Order is kept: on Linux node writes stdout and stderr synchronously too (pipes, files and
 * terminals alike), and once a command has made node's stream, text goes through it. A
 * descriptor that another process left non-blocking may refuse a write (EAGAIN): the rest goes
 * through node's stream, which waits for it. Writing to a closed pipe (EPIPE) ends the
 * command, as docker's does.
 */
import { writeSync } from 'node:fs';
import type { CliIo } from './context.js';

type Fd = 1 | 2;

/** node's streams made so far, by descriptor (bin/berth waits for what they still hold before it exits). */
const made = new Map<Fd, NodeJS.WriteStream>();

/** node's stream for `fd`, made on the first call (`process.stdout` is a getter that makes it). */
function stream(fd: Fd): NodeJS.WriteStream {
  let s = made.get(fd);
  if (s === undefined) {
    s = fd === 1 ? process.stdout : process.stderr;
    made.set(fd, s);
    // A reader that went away (`berth ps | head -1`) ends the command quietly.
    if (fd === 1) {
      s.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      });
    }
  }
  return s;
}

function write(fd: Fd, text: string): void {
  const s = made.get(fd);
  if (s !== undefined) {
    s.write(text);
    return;
  }
  const data = Buffer.from(text);
  let off = 0;
  while (off < data.length) {
    try {
      off += writeSync(fd, data, off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        stream(fd).write(data.subarray(off));
        return;
      }
      if (code === 'EPIPE') {
        if (fd === 1) process.exit(process.exitCode ?? 0);
        return;
      }
      throw e;
    }
  }
}

/** The streams bin/berth waits for before it exits: those made and still holding output. */
export function pendingStreams(): NodeJS.WriteStream[] {
  return [...made.values()].filter((s) => s.writableLength > 0);
}

/**
 * The process's io for the CLI, with `io` (tests, the code-cache build) in place of any part:
 * node's streams made only when a command asks for them.
 */
export function processIo(io: Partial<CliIo> = {}): CliIo & Required<Pick<CliIo, 'write'>> {
  return {
    get stdout() {
      return io.stdout ?? stream(1);
    },
    get stderr() {
      return io.stderr ?? stream(2);
    },
    stdin: io.stdin ?? (() => process.stdin),
    env: io.env ?? process.env,
    write: (fd, text) => {
      const given = fd === 1 ? io.stdout : io.stderr;
      if (given !== undefined) given.write(text);
      else if (io.write !== undefined) io.write(fd, text);
      else write(fd, text);
    },
  };
}
