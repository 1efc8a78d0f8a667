/**
 * Docker's stream multiplexing: each frame is an 8-byte header
 * [stream (0 stdin, 1 stdout, 2 stderr), 0, 0, 0, uint32 big-endian length] then the payload.
 */
export function frame(stream: 0 | 1 | 2, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}
