/**
 * A bounded queue of bytes from one producer to one consumer: the producer's `push` waits
 * while more than `limit` bytes are queued, the consumer reads with `for await` and gets
 * everything queued as one chunk (a busy consumer takes few big chunks rather than many small
 * ones: its work is per chunk). When the consumer stops (its loop ends, or `close()`), pushes
 * are dropped at once, so a producer is never stuck behind a consumer that gave up.
 *
 * A download hands its bytes to the unpacker this way while it writes them to disk.
 */
export class ByteFeed implements AsyncIterable<Buffer> {
  private chunks: Buffer[] = [];
  private queued = 0;
  private ended = false;
  private failure: { error: unknown } | undefined;
  private closed = false;
  private consumerWaiting: (() => void) | undefined;
  private producerWaiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  /** Whether the consumer has stopped reading (pushes are dropped). */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Queues a chunk; resolves once the queue is under its limit again (or the consumer left). */
  async push(chunk: Buffer): Promise<void> {
    if (this.closed || this.ended || chunk.length === 0) return;
    this.chunks.push(chunk);
    this.queued += chunk.length;
    this.wakeConsumer();
    while (this.queued > this.limit && !this.closed) await new Promise<void>((r) => this.producerWaiting.push(r));
  }

  /** No more bytes: the consumer's loop ends after the queued ones. */
  end(): void {
    this.ended = true;
    this.wakeConsumer();
  }

  /** The producer failed: the consumer's loop throws `error` after the queued bytes. */
  fail(error: unknown): void {
    if (this.ended) return;
    this.failure = { error };
    this.ended = true;
    this.wakeConsumer();
  }

  /** The consumer is done: queued bytes are dropped and waiting producers let go. */
  close(): void {
    this.closed = true;
    this.chunks = [];
    this.queued = 0;
    this.wakeProducers();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    try {
      for (;;) {
        if (this.chunks.length > 0) {
          const chunk = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.queued);
          this.chunks = [];
          this.queued = 0;
          this.wakeProducers();
          yield chunk;
          continue;
        }
        if (this.failure !== undefined) throw this.failure.error;
        if (this.ended || this.closed) return;
        await new Promise<void>((r) => (this.consumerWaiting = r));
      }
    } finally {
      this.close();
    }
  }

  private wakeConsumer(): void {
    const w = this.consumerWaiting;
    this.consumerWaiting = undefined;
    w?.();
  }

  private wakeProducers(): void {
    const ws = this.producerWaiting;
    this.producerWaiting = [];
    for (const w of ws) w();
  }
}
