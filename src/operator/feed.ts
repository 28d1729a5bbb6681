/**
 * Follows the key service's change feed (GET /v1/events, long poll) so a
 * compromised or revoked key is replaced in seconds, not at the next resync
 * (which stays the fallback). The cursor lives in memory: a dropped
 * connection or a key-service restart resumes from it and misses nothing; an
 * operator restart starts from now, and its first resync looks at every key.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pRetry from 'p-retry';
import { KeywardClient, type KeyEvent } from '../client/index.ts';

export interface FeedFollowerOptions {
  /** The key service and the key to follow it with (api.key.view). */
  url: string;
  apiKey: string;
  onEvent: (event: KeyEvent) => void;
  onError: (error: unknown, retryInMs: number) => void;
  /** How long one call waits for a change (the service's bound is 50s). */
  waitSeconds?: number;
}

const MAX_BACKOFF_MS = 5_000;

export class FeedFollower {
  readonly #options: FeedFollowerOptions;
  readonly #keys: KeywardClient;
  /** Ends the long poll under way at stop (a wait of up to waitSeconds would hold a shutdown). */
  #abort = new AbortController();
  #cursor: string | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(options: FeedFollowerOptions) {
    this.#options = options;
    const wait = options.waitSeconds ?? 25;
    this.#keys = new KeywardClient({
      url: options.url,
      apiKey: options.apiKey,
      // Its own client: a long poll takes longer than a request may elsewhere.
      timeoutMs: (wait + 15) * 1000,
      fetch: (input, init) => fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, this.#abort.signal]) : this.#abort.signal }),
    });
  }

  /** The position of the last change seen (undefined before the first answer). */
  get cursor(): string | undefined {
    return this.#cursor;
  }

  start(): void {
    this.#stopped = false;
    if (this.#abort.signal.aborted) this.#abort = new AbortController();
    this.#running ??= this.#follow().finally(() => (this.#running = undefined));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort.abort();
    await this.#running;
  }

  async #follow(): Promise<void> {
    const { onEvent, onError } = this.#options;
    const keys = this.#keys;
    const wait = `${this.#options.waitSeconds ?? 25}s`;
    const page = () => (this.#cursor === undefined ? keys.listEvents({ managed: 'operator' }) : keys.listEvents({ after: this.#cursor, wait, managed: 'operator' }));
    while (!this.#stopped) {
      const signal = this.#abort.signal;
      try {
        // Each page: retried with backoff (100 ms doubling up to MAX_BACKOFF_MS, back to 100 ms after an answer), until stop aborts it.
        const { items, cursor } = await pRetry(page, {
          retries: Infinity,
          factor: 2,
          minTimeout: 100,
          maxTimeout: MAX_BACKOFF_MS,
          randomize: false,
          unref: true,
          signal,
          onFailedAttempt: ({ error, retryDelay }) => onError(error, retryDelay),
        });
        if (this.#stopped) return;
        for (const event of items) onEvent(event);
        this.#cursor = cursor;
      } catch (error) {
        if (this.#stopped) return;
        // p-retry does not retry a TypeError (a bug, not an outage): say so, and go on following after the longest backoff.
        onError(error, MAX_BACKOFF_MS);
        await sleep(MAX_BACKOFF_MS, undefined, { signal, ref: false }).catch(() => undefined);
      }
    }
  }
}
