/** A counting semaphore: at most `max` holders; waiters are served first come, first served. */
export class Semaphore {
  private active = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(private max: number) {}

  /** Changes the limit (daemon config reload); waiters start when there is room. */
  resize(max: number): void {
    this.max = Math.max(1, max);
    this.pump();
  }

  /** True when `acquire` would have to wait. */
  get busy(): boolean {
    return this.active >= this.max;
  }

  /** Resolves with a release function once a slot is free; rejects when `signal` aborts first. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted();
    return new Promise((resolve, reject) => {
      let released = false;
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        this.active++;
        resolve(() => {
          if (released) return;
          released = true;
          this.active--;
          this.pump();
        });
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(grant);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(signal?.reason);
      };
      if (this.active < this.max && this.waiters.length === 0) {
        grant();
        return;
      }
      this.waiters.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private pump(): void {
    while (this.active < this.max && this.waiters.length > 0) (this.waiters.shift() as () => void)();
  }
}

/** Resolves after `ms`, or rejects when `signal` aborts first. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Runs sections one at a time per key (unpacking the same layer chain from two pulls). */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Whether something runs (or waits) under `key`; a `run` in the same tick sees the same. */
  busy(key: string): boolean {
    return this.tails.has(key);
  }

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await next;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
