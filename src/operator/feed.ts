/**
 * Follows the key service's change feed (GET /v1/events, long poll) so a
 * compromised or revoked key is replaced in seconds, not at the next resync
 * (which stays the fallback). The cursor lives in memory: a dropped
 * connection or a key-service restart resumes from it and misses nothing; an
 * operator restart starts from now, and its first resync looks at every key.
 */
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
  #abortWait: (() => void) | undefined;

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
    this.#abortWait?.();
    this.#abort.abort();
    await this.#running;
  }

  async #follow(): Promise<void> {
    const { onEvent, onError } = this.#options;
    const keys = this.#keys;
    const wait = `${this.#options.waitSeconds ?? 25}s`;
    let backoff = 100;
    while (!this.#stopped) {
      try {
        const page = this.#cursor === undefined ? await keys.listEvents({ managed: 'operator' }) : await keys.listEvents({ after: this.#cursor, wait, managed: 'operator' });
        if (this.#stopped) return;
        for (const event of page.items) onEvent(event);
        this.#cursor = page.cursor;
        backoff = 100;
      } catch (error) {
        if (this.#stopped) return;
        onError(error, backoff);
        await this.#sleep(backoff);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#abortWait = done;
    });
  }
}
