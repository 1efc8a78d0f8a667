/**
 * Writes `chunk` to `w` and, when `w` is full, waits until it drains. Resolves false when
 * `w` is destroyed (a child process that stopped reading, a client gone), before the write
 * or while waiting: a writer must not wait for a `drain` or `close` that has already been.
 */
export async function writeOrStop(w: NodeJS.WritableStream & { readonly destroyed: boolean }, chunk: Buffer): Promise<boolean> {
  if (w.destroyed) return false;
  if (w.write(chunk)) return true;
  if (w.destroyed) return false;
  await new Promise<void>((res) => {
    const done = (): void => {
      w.off('drain', done);
      w.off('close', done);
      w.off('error', done);
      res();
    };
    w.on('drain', done);
    w.on('close', done);
    w.on('error', done);
  });
  return !w.destroyed;
}
