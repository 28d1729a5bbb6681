/**
 * A work queue in the manner of client-go's: each key is processed by one
 * worker at a time; adding a key that is being processed runs it once more
 * afterwards; failures back off exponentially per key; `addAfter` schedules.
 * Two lanes: a change (a watch event, a timer, a retry) goes ahead of the
 * periodic resync's keys, so a token bump is not served after a pass over
 * every ApiKey of a large fleet; a resync key that changes moves up.
 * (The backoff is client-go's per-item rate limiter, not a retried call: a
 * failed key goes back to the queue and the workers move on meanwhile, which
 * a retry helper such as p-retry, awaiting inside one reconcile, would not do.)
 */
export interface QueueOptions {
  baseDelayMs?: number;
  maxDelayMs?: number;
  onDepth?: (depth: number) => void;
  /** A key was queued (not counted when it was waiting already). */
  onAdd?: () => void;
}

export type Lane = 'change' | 'resync';

export class WorkQueue {
  readonly #queue: string[] = [];
  /** The resync lane; a key moved up to #queue stays here too, and is skipped. */
  readonly #resync: string[] = [];
  readonly #queued = new Map<string, Lane>();
  readonly #processing = new Set<string>();
  readonly #dirty = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #timers = new Map<string, { timer: NodeJS.Timeout; due: number }>();
  readonly #waiters: ((key: string | undefined) => void)[] = [];
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #onDepth: (depth: number) => void;
  readonly #onAdd: () => void;
  #shutdown = false;

  constructor(options: QueueOptions = {}) {
    this.#baseDelayMs = options.baseDelayMs ?? 200;
    this.#maxDelayMs = options.maxDelayMs ?? 300_000;
    this.#onDepth = options.onDepth ?? (() => {});
    this.#onAdd = options.onAdd ?? (() => {});
  }

  get depth(): number {
    return this.#queued.size;
  }

  /** Nothing waiting and nothing being processed (timers may be pending). */
  get idle(): boolean {
    return this.#queued.size === 0 && this.#processing.size === 0;
  }

  add(key: string, lane: Lane = 'change'): void {
    if (this.#shutdown) return;
    if (this.#processing.has(key)) {
      this.#dirty.add(key);
      return;
    }
    const queuedIn = this.#queued.get(key);
    if (queuedIn === 'change' || queuedIn === lane) return;
    if (queuedIn === undefined) {
      this.#onAdd();
      const waiter = this.#waiters.shift();
      if (waiter) {
        this.#processing.add(key);
        waiter(key);
        return;
      }
    }
    this.#queued.set(key, lane);
    (lane === 'change' ? this.#queue : this.#resync).push(key);
    this.#onDepth(this.#queued.size);
  }

  /** Adds the key after a delay; an earlier pending schedule for it wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.#shutdown) return;
    if (delayMs <= 0) return this.add(key);
    const due = Date.now() + delayMs;
    const existing = this.#timers.get(key);
    if (existing && existing.due <= due) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.#timers.set(key, { timer, due });
  }

  /** After a failure: retry with exponential backoff for this key. */
  addRateLimited(key: string): number {
    const failures = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, failures);
    const delay = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** (failures - 1));
    this.addAfter(key, delay);
    return delay;
  }

  /** After a success: forget the key's failures. */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /** Resolves with the next key to process, or undefined once shut down. */
  get(): Promise<string | undefined> {
    if (this.#shutdown) return Promise.resolve(undefined);
    const key = this.#next();
    if (key !== undefined) {
      this.#queued.delete(key);
      this.#processing.add(key);
      this.#onDepth(this.#queued.size);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** The first change, else the first resync key still waiting in that lane. */
  #next(): string | undefined {
    const change = this.#queue.shift();
    if (change !== undefined) return change;
    for (let key = this.#resync.shift(); key !== undefined; key = this.#resync.shift()) {
      if (this.#queued.get(key) === 'resync') return key;
    }
    return undefined;
  }

  done(key: string): void {
    this.#processing.delete(key);
    if (this.#dirty.delete(key)) this.add(key);
  }

  shutdown(): void {
    this.#shutdown = true;
    for (const { timer } of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    for (const waiter of this.#waiters.splice(0)) waiter(undefined);
  }
}
