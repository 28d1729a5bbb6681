/**
 * Usage is counted in memory on the hot path and flushed to the store in
 * batches (one write per interval at most, and one at shutdown). The hot path
 * keeps numbers only; dates are formatted when flushing.
 */
import type { KeyRecord, UsageCount } from '../core/model.ts';
import type { Store, UsageUpdate } from '../store/store.ts';
import type { UsageSink } from './context.ts';

const DAY_MS = 86_400_000;

interface LastUse {
  at: number;
  ip: string | null;
}

export class UsageTracker implements UsageSink {
  readonly #store: Store;
  readonly #lastUse = new Map<string, LastUse>();
  /** Counts of the current UTC day, by "keyId|outcome". */
  #counts = new Map<string, UsageCount>();
  /** Counts of days that ended since the last flush. */
  #earlier: UsageCount[] = [];
  #day = '';
  #dayEnds = 0;
  readonly #timer: NodeJS.Timeout;
  readonly #now: () => number;
  #flushing: Promise<void> = Promise.resolve();

  constructor(store: Store, flushIntervalMs: number, now: () => number = Date.now) {
    this.#store = store;
    this.#now = now;
    this.#timer = setInterval(() => void this.flush().catch(() => {}), flushIntervalMs);
    this.#timer.unref();
  }

  /** Hot path: memory only. Refused uses are counted but do not move lastUsedAt. */
  seen(key: KeyRecord, ip: string | null, outcome = 'VALID'): void {
    const now = this.#now();
    if (now >= this.#dayEnds) this.#newDay(now);
    if (outcome === 'VALID') {
      const entry = this.#lastUse.get(key.id);
      if (entry) {
        entry.at = now;
        entry.ip = ip;
      } else this.#lastUse.set(key.id, { at: now, ip });
    }
    const countKey = outcome === 'VALID' ? key.id : `${key.id}|${outcome}`;
    const count = this.#counts.get(countKey);
    if (count) count.count++;
    else this.#counts.set(countKey, { organizationId: key.organizationId, keyId: key.id, day: this.#day, outcome, count: 1 });
  }

  #newDay(now: number): void {
    this.#earlier.push(...this.#counts.values());
    this.#counts = new Map();
    const start = now - (now % DAY_MS);
    this.#day = new Date(start).toISOString().slice(0, 10);
    this.#dayEnds = start + DAY_MS;
  }

  pending(keyId: string): UsageUpdate | undefined {
    const use = this.#lastUse.get(keyId);
    return use ? { keyId, lastUsedAt: new Date(use.at).toISOString(), lastUsedIp: use.ip } : undefined;
  }

  /** Writes what was counted so far; concurrent callers share one write. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing
      .catch(() => {})
      .then(async () => {
        if (this.#lastUse.size === 0 && this.#counts.size === 0 && this.#earlier.length === 0) return;
        const uses = [...this.#lastUse.entries()];
        const counts = [...this.#earlier, ...this.#counts.values()];
        this.#lastUse.clear();
        this.#counts = new Map();
        this.#earlier = [];
        const updates = uses.map(([keyId, use]) => ({ keyId, lastUsedAt: new Date(use.at).toISOString(), lastUsedIp: use.ip }));
        try {
          await this.#store.recordUsage(updates, counts);
        } catch (error) {
          // Keep what could not be written for the next flush.
          for (const [keyId, use] of uses) if (!this.#lastUse.has(keyId)) this.#lastUse.set(keyId, use);
          this.#earlier.push(...counts);
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
