/**
 * One request and its whole answer over the daemon's unix socket on libuv's pipe handle, as
 * node's own `net.Socket` drives it, without loading `node:net` and `node:stream`: the
 * requests of short commands (`ps`, `create`, `start`, `inspect`, `rm`) whose answers are
 * read at once. node:net and the stream modules it pulls in were ~5 ms of such a command's
 * ~35 ms of CPU (bench/README.md), and the CLI's time is what a burst of starts spends most
 * on.
 *
 * The handle comes from `process.binding('pipe_wrap')`, which node keeps for compatibility
 * and does not warn about (unlike `v8` or `crypto`). Everything this module uses of it is
 * checked once; on a node that lacks any of it `pipeTransport()` is undefined and the client
 * goes through node:net as for streams.
 */
import { getSystemErrorName } from 'node:util';
import { ResponseCollector, type BufferedResponse } from './http1.js';

/** The parts of node's libuv stream handles used here (node's src/stream_base.cc, pipe_wrap.cc). */
interface PipeHandle {
  connect(req: ConnectReq, path: string): number;
  writeBuffer(req: WriteReq, data: Buffer): number;
  readStart(): number;
  readStop(): number;
  close(): void;
  onread: (buffer: ArrayBuffer | undefined) => void;
}
interface ConnectReq {
  oncomplete: (status: number) => void;
}
interface WriteReq {
  handle: PipeHandle;
  oncomplete: (status: number) => void;
}
interface Bindings {
  Pipe: new (type: number) => PipeHandle;
  PipeConnectWrap: new () => ConnectReq;
  WriteWrap: new () => WriteReq;
  socketType: number;
  /** Where node puts a read's length (or error) and its offset in the buffer handed to `onread`. */
  state: Int32Array;
  readBytes: number;
  bufferOffset: number;
  eof: number;
}

/** What `exchange` sends: the request's bytes, head and body. */
export interface PipeRequest {
  method: string;
  bytes: Buffer;
}

export type PipeTransport = (socketPath: string, req: PipeRequest) => Promise<BufferedResponse>;

type BindingFn = (name: string) => Record<string, unknown>;

/** node's bindings, or null where `binding` has not all of them. */
function bindingsFrom(binding: BindingFn | undefined): Bindings | null {
  if (typeof binding !== 'function') return null;
  // process.binding is documented as deprecated (DEP0111, warned only with
  // --pending-deprecation): muted for this one look-up.
  const muted = process.noDeprecation;
  process.noDeprecation = true;
  try {
    const pipe = binding('pipe_wrap') as { Pipe?: unknown; PipeConnectWrap?: unknown; constants?: { SOCKET?: unknown } };
    const stream = binding('stream_wrap') as { WriteWrap?: unknown; streamBaseState?: unknown; kReadBytesOrError?: unknown; kArrayBufferOffset?: unknown };
    const uv = binding('uv') as { UV_EOF?: unknown };
    const Pipe = pipe.Pipe as Bindings['Pipe'] | undefined;
    const proto = typeof Pipe === 'function' ? (Pipe.prototype as unknown as Record<string, unknown>) : undefined;
    const methods = ['connect', 'writeBuffer', 'readStart', 'readStop', 'close'];
    if (
      Pipe === undefined ||
      proto === undefined ||
      !methods.every((m) => typeof proto[m] === 'function') ||
      typeof pipe.PipeConnectWrap !== 'function' ||
      typeof pipe.constants?.SOCKET !== 'number' ||
      typeof stream.WriteWrap !== 'function' ||
      !(stream.streamBaseState instanceof Int32Array) ||
      typeof stream.kReadBytesOrError !== 'number' ||
      typeof stream.kArrayBufferOffset !== 'number' ||
      typeof uv.UV_EOF !== 'number'
    ) {
      return null;
    }
    return {
      Pipe,
      PipeConnectWrap: pipe.PipeConnectWrap as Bindings['PipeConnectWrap'],
      WriteWrap: stream.WriteWrap as Bindings['WriteWrap'],
      socketType: pipe.constants.SOCKET,
      state: stream.streamBaseState,
      readBytes: stream.kReadBytesOrError,
      bufferOffset: stream.kArrayBufferOffset,
      eof: uv.UV_EOF,
    };
  } catch {
    return null;
  } finally {
    process.noDeprecation = muted;
  }
}

let cached: Bindings | null | undefined;

/** The error node:net gives for a failed system call on a unix socket (`connect ENOENT /run/...`). */
function uvError(status: number, syscall: string, address?: string): NodeJS.ErrnoException {
  const code = getSystemErrorName(status);
  const e: NodeJS.ErrnoException = new Error(`${syscall} ${code}${address !== undefined ? ` ${address}` : ''}`);
  e.errno = status;
  e.code = code;
  e.syscall = syscall;
  if (address !== undefined) Object.assign(e, { address });
  return e;
}

function exchange(b: Bindings, socketPath: string, req: PipeRequest): Promise<BufferedResponse> {
  return new Promise((resolve, reject) => {
    const handle = new b.Pipe(b.socketType);
    let open = true;
    const close = (): void => {
      if (!open) return;
      open = false;
      handle.readStop();
      handle.close();
    };
    const fail = (e: unknown): void => {
      close();
      reject(e);
    };
    const collector = new ResponseCollector(req.method, (res) => {
      close();
      resolve(res);
    });
    const connect = new b.PipeConnectWrap();
    connect.oncomplete = (status) => {
      if (!open) return;
      if (status < 0) {
        fail(uvError(status, 'connect', socketPath));
        return;
      }
      const write = new b.WriteWrap();
      write.handle = handle;
      // Called only when the write could not finish at once; the buffer stays referenced here.
      write.oncomplete = (st) => {
        if (st < 0 && open) fail(uvError(st, 'write'));
      };
      const err = handle.writeBuffer(write, req.bytes);
      if (err < 0) {
        fail(uvError(err, 'write'));
        return;
      }
      handle.onread = (buffer) => {
        const n = b.state[b.readBytes] as number;
        try {
          if (n > 0 && buffer !== undefined) collector.write(Buffer.from(buffer, b.state[b.bufferOffset] as number, n));
          else if (n === b.eof) {
            collector.end();
            close();
          } else if (n < 0) fail(uvError(n, 'read'));
        } catch (e) {
          fail(e);
        }
      };
      const r = handle.readStart();
      if (r < 0) fail(uvError(r, 'read'));
    };
    const err = handle.connect(connect, socketPath);
    if (err < 0) fail(uvError(err, 'connect', socketPath));
  });
}

/**
 * The pipe transport, or undefined where this node does not offer what it needs. `binding`
 * stands in for `process.binding` (tests).
 */
export function pipeTransport(binding?: BindingFn): PipeTransport | undefined {
  let b: Bindings | null;
  if (binding !== undefined) b = bindingsFrom(binding);
  else b = cached ??= bindingsFrom((process as unknown as { binding?: BindingFn }).binding?.bind(process));
  return b === null ? undefined : (socketPath, req) => exchange(b, socketPath, req);
}
