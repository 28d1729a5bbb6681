/**
 * The key service's view of keys, asked in batches: one `POST
 * /v1/keys/batch-get` answers for up to BATCH_GET_MAX_IDS keys. Views asked
 * for within a few milliseconds of each other (concurrent reconciles) go in
 * one request (DataLoader); at a resync the gatherer asks for every key due
 * at once, and the reconciles that follow take their answer from that batch.
 * An answer is used once: the next check asks again. A key whose answer is
 * still waiting for its reconcile (behind a backlog of changes) is not asked
 * about again at the next resync: one answer per key is kept, no more.
 */
import DataLoader from 'dataloader';
import { BATCH_GET_MAX_IDS } from '../core/schemas.ts';
import type { KeyView, KeywardClient } from '../client/index.ts';
import type { OperatorMetrics } from './metrics.ts';

/** How long a view asked for waits for others to share its request. */
const GATHER_MS = 5;

export class KeyStates {
  readonly #loader: DataLoader<string, KeyView | null>;
  /** Keys the last resync asked about, whose answer no reconcile has taken yet. */
  #prefetched = new Set<string>();

  constructor(keys: KeywardClient, metrics: OperatorMetrics) {
    this.#loader = new DataLoader<string, KeyView | null>(
      async (ids) => {
        metrics.keyServiceRequests.inc({ operation: 'batchGetKeys' });
        const { items } = await keys.batchGetKeys({ ids: [...ids] });
        const byId = new Map(items.map((key) => [key.id, key]));
        return ids.map((id) => byId.get(id) ?? null);
      },
      { maxBatchSize: BATCH_GET_MAX_IDS, batchScheduleFn: (send) => void setTimeout(send, GATHER_MS) },
    );
  }

  /**
   * Asks for all of these now (but those whose answer is still to be taken),
   * in as few requests as the batch size allows; `view` then answers from
   * them. Answers kept for keys not named (no ApiKey holds them any more) go.
   */
  prefetch(ids: readonly string[]): void {
    const wanted = new Set(ids);
    for (const id of this.#prefetched) {
      if (!wanted.has(id)) this.forget(id);
    }
    const asking = ids.filter((id) => !this.#prefetched.has(id));
    for (const id of asking) this.#prefetched.add(id);
    // Failures reach whoever asks for the view (and back off there); the prefetch itself only starts the requests.
    void this.#loader.loadMany(asking);
  }

  /** Drops what is kept of this key. */
  forget(id: string): void {
    this.#loader.clear(id);
    this.#prefetched.delete(id);
  }

  /**
   * The key service's view of one key (null: it has no such key). With
   * `fresh`, not an answer prefetched earlier. Failures (unreachable, 5xx)
   * are thrown.
   */
  async view(id: string, { fresh }: { fresh: boolean }): Promise<KeyView | null> {
    if (fresh) this.#loader.clear(id);
    try {
      return await this.#loader.load(id);
    } finally {
      this.forget(id);
    }
  }

  /** Whether the last resync asked about this key and its answer is still to be taken. */
  prefetched(id: string): boolean {
    return this.#prefetched.has(id);
  }
}
