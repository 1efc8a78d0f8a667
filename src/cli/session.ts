/**
 * Interactive plumbing shared by run, start -a, attach and exec (docker's
 * hijackedIOStreamer): container output demultiplexed to stdout/stderr (raw for a TTY),
 * local stdin forwarded (raw mode for `-it`, half-close on EOF, detach keys), TTY size
 * kept in sync and signals proxied to the container.
 */
import { demux, type EngineClient, type HijackedConnection } from '../client/index.js';
import { InvalidArgument } from '../core/errors.js';
import type { Cli } from './context.js';

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/** `term.ToBytes`: `ctrl-p,ctrl-q` → [16, 17]; single characters as themselves. */
export function parseDetachKeys(keys: string): number[] {
  const out: number[] = [];
  for (const raw of keys.split(',')) {
    const key = raw.trim();
    if (key.length > 1 && key.toLowerCase().startsWith('ctrl-')) {
      const c = key.slice(5).toLowerCase();
      if (c.length !== 1) throw new InvalidArgument(`Unknown character: '${key}'`);
      if (c >= 'a' && c <= 'z') out.push(c.charCodeAt(0) - 96);
      else if (c === '@') out.push(0);
      else if (c === '[') out.push(27);
      else if (c === '\\') out.push(28);
      else if (c === ']') out.push(29);
      else if (c === '^') out.push(30);
      else if (c === '_') out.push(31);
      else throw new InvalidArgument(`Unknown character: '${key}'`);
    } else if (key.length === 1) {
      out.push(key.charCodeAt(0));
    } else {
      throw new InvalidArgument(`Unknown character: '${key}'`);
    }
  }
  return out;
}

/**
 * Watches a byte stream for the detach sequence. `feed` returns the bytes to forward
 * (a partial match is held back until it is known not to be the sequence) and whether
 * the sequence completed.
 */
export class EscapeProxy {
  private matched = 0;
  constructor(private readonly keys: readonly number[]) {}

  feed(chunk: Buffer): { forward: Buffer; detach: boolean } {
    if (this.keys.length === 0) return { forward: chunk, detach: false };
    const out: number[] = [];
    for (const byte of chunk) {
      if (byte === this.keys[this.matched]) {
        this.matched++;
        if (this.matched === this.keys.length) return { forward: Buffer.from(out), detach: true };
        continue;
      }
      if (this.matched > 0) {
        out.push(...this.keys.slice(0, this.matched));
        this.matched = 0;
        if (byte === this.keys[0]) {
          this.matched = 1;
          continue;
        }
      }
      out.push(byte);
    }
    return { forward: Buffer.from(out), detach: false };
  }
}

/** docker's `CheckTty`: `-it` needs a terminal on stdin (node:tty is loaded only then). */
export async function checkTty(attachStdin: boolean, tty: boolean): Promise<void> {
  if (attachStdin && tty && !(await import('node:tty')).isatty(0)) throw new InvalidArgument('the input device is not a TTY');
}

export function terminalSize(cli: Cli): [number, number] | undefined {
  const out = cli.io.stdout;
  if (!out.isTTY || !out.rows || !out.columns) return undefined;
  return [out.rows, out.columns];
}

/** Sends the terminal size now and on every resize; returns the stop function. */
export function monitorTtySize(cli: Cli, resizePath: string): () => void {
  const out = cli.io.stdout as NodeJS.WriteStream;
  if (!out.isTTY) return () => {};
  const client = cli.client();
  const send = () => {
    const size = terminalSize(cli);
    if (!size) return;
    client.call('POST', resizePath, { query: { h: size[0], w: size[1] } }).catch(() => {});
  };
  send();
  out.on('resize', send);
  return () => out.off('resize', send);
}

const PROXIED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const;

/** `ForwardAllSignals`: signals this process receives are sent to the container. */
export function forwardSignals(client: EngineClient, id: string): () => void {
  const handlers = PROXIED.map((sig) => {
    const h = () => {
      client.call('POST', `/containers/${encodeURIComponent(id)}/kill`, { query: { signal: sig.slice(3) } }).catch(() => {});
    };
    process.on(sig, h);
    return [sig, h] as const;
  });
  return () => {
    for (const [sig, h] of handlers) process.off(sig, h);
  };
}

export interface StreamOptions {
  conn: HijackedConnection;
  tty: boolean;
  /** Forward local stdin to the connection. */
  stdin: boolean;
  detachKeys?: string;
}

export type StreamResult = 'done' | 'detached';

/**
 * Pumps a hijacked connection until the container side closes it (or the user types
 * the detach sequence). Restores the terminal in every case.
 */
export async function streamConnection(cli: Cli, o: StreamOptions): Promise<StreamResult> {
  const socket = o.conn.socket;
  const raw = o.tty || o.conn.raw;
  let restore = () => {};
  let detachResolve: ((r: StreamResult) => void) | undefined;
  const detached = new Promise<StreamResult>((r) => {
    detachResolve = r;
  });
  if (o.stdin) {
    const stdin = cli.io.stdin();
    const rawMode = o.tty && stdin.isTTY === true && typeof stdin.setRawMode === 'function';
    if (rawMode) {
      const { spawnSync } = await import('node:child_process');
      stdin.setRawMode?.(true);
      // libuv's raw mode keeps output processing (ONLCR), so the container's "\r\n" would reach
      // the screen as "\r\r\n"; docker's raw mode turns it off, and so does berth. Leaving raw
      // mode restores the terminal libuv saved, OPOST included.
      spawnSync('stty', ['-opost'], { stdio: ['inherit', 'ignore', 'ignore'] });
    }
    const proxy = rawMode || o.detachKeys ? new EscapeProxy(parseDetachKeys(o.detachKeys ?? DEFAULT_DETACH_KEYS)) : undefined;
    const onData = (d: Buffer | string) => {
      const chunk = typeof d === 'string' ? Buffer.from(d) : d;
      const { forward, detach } = proxy ? proxy.feed(chunk) : { forward: chunk, detach: false };
      if (forward.length > 0 && !socket.destroyed && !socket.writableEnded) socket.write(forward);
      if (detach) detachResolve?.('detached');
    };
    const onEnd = () => {
      if (!socket.destroyed && !socket.writableEnded) socket.end();
    };
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    stdin.resume();
    restore = () => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      if (rawMode) stdin.setRawMode?.(false);
      stdin.pause();
      if ('unref' in stdin && typeof stdin.unref === 'function') (stdin as unknown as { unref(): void }).unref();
    };
  }
  try {
    const output = demux(socket, cli.io.stdout, cli.io.stderr, { tty: raw }).then((): StreamResult => 'done');
    const result = await Promise.race([output, detached]);
    if (result === 'detached') socket.destroy();
    return result;
  } finally {
    restore();
  }
}
