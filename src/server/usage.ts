/**
 * Usage is counted in memory on the hot path and flushed to the store in
 * batches (one write per interval at most, and one at shutdown).
 */
import type { KeyRecord, UsageCount } from '../core/model.ts';
import type { Store, UsageUpdate } from '../store/store.ts';
import type { UsageSink } from './context.ts';

export class UsageTracker implements UsageSink {
  readonly #store: Store;
  readonly #lastUse = new Map<string, UsageUpdate>();
  readonly #counts = new Map<string, UsageCount>();
  readonly #timer: NodeJS.Timeout;
  readonly #clock: () => Date;
  #flushing: Promise<void> = Promise.resolve();

  constructor(store: Store, flushIntervalMs: number, clock: () => Date = () => new Date()) {
    this.#store = store;
    this.#clock = clock;
    this.#timer = setInterval(() => void this.flush().catch(() => {}), flushIntervalMs);
    this.#timer.unref();
  }

  /** Hot path: memory only. Refused uses are counted but do not move lastUsedAt. */
  seen(key: KeyRecord, ip: string | null, outcome = 'VALID'): void {
    const at = this.#clock().toISOString();
    if (outcome === 'VALID') {
      const entry = this.#lastUse.get(key.id);
      if (entry) {
        entry.lastUsedAt = at;
        entry.lastUsedIp = ip;
      } else {
        this.#lastUse.set(key.id, { keyId: key.id, lastUsedAt: at, lastUsedIp: ip });
      }
    }
    const day = at.slice(0, 10);
    const countKey = `${key.id}|${day}|${outcome}`;
    const count = this.#counts.get(countKey);
    if (count) count.count++;
    else this.#counts.set(countKey, { organizationId: key.organizationId, keyId: key.id, day, outcome, count: 1 });
  }

  pending(keyId: string): UsageUpdate | undefined {
    return this.#lastUse.get(keyId);
  }

  /** Writes what was counted so far; concurrent callers share one write. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing
      .catch(() => {})
      .then(async () => {
        if (this.#lastUse.size === 0 && this.#counts.size === 0) return;
        const updates = [...this.#lastUse.values()];
        const counts = [...this.#counts.values()];
        this.#lastUse.clear();
        this.#counts.clear();
        try {
          await this.#store.recordUsage(updates, counts);
        } catch (error) {
          // Keep what could not be written for the next flush.
          for (const update of updates) if (!this.#lastUse.has(update.keyId)) this.#lastUse.set(update.keyId, update);
          for (const count of counts) {
            const key = `${count.keyId}|${count.day}|${count.outcome}`;
            const newer = this.#counts.get(key);
            if (newer) newer.count += count.count;
            else this.#counts.set(key, count);
          }
          throw error;
        }
      });
    return this.#flushing;
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }
}
