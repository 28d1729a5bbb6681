/**
 * Group commit: mutations made while a write is in flight are carried by the
 * next single write, and each caller's promise settles only when the write
 * that contains its mutation has reached the file.
 */
export class GroupCommit {
  readonly #write: () => Promise<void>;
  #pending: PromiseWithResolvers<void> | null = null;
  #draining = false;
  /** Sizes of the batches written so far (mutations per write), for metrics. */
  onBatch: ((mutations: number, ms: number) => void) | undefined;
  #batchSize = 0;

  constructor(write: () => Promise<void>) {
    this.#write = write;
  }

  /** Call right after mutating the in-memory state. */
  commit(): Promise<void> {
    this.#pending ??= Promise.withResolvers<void>();
    this.#batchSize++;
    const promise = this.#pending.promise;
    if (!this.#draining) void this.#drain();
    return promise;
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      while (this.#pending) {
        const batch = this.#pending;
        const size = this.#batchSize;
        this.#pending = null;
        this.#batchSize = 0;
        const started = performance.now();
        try {
          // The write serializes synchronously before its first await, so it
          // holds every mutation made up to this point.
          await this.#write();
          this.onBatch?.(size, performance.now() - started);
          batch.resolve();
        } catch (error) {
          batch.reject(error);
        }
      }
    } finally {
      this.#draining = false;
    }
  }

  /** Resolves once nothing is pending or in flight. */
  async idle(): Promise<void> {
    while (this.#pending || this.#draining) {
      await (this.#pending?.promise.catch(() => {}) ?? new Promise((r) => setImmediate(r)));
    }
  }
}
