/**
 * Usage is counted in memory on the hot path and flushed to the store in
 * batches (one write per interval at most, and one at shutdown).
 */
import type { KeyRecord } from '../core/model.ts';
import type { Store, UsageUpdate } from '../store/store.ts';
import type { UsageSink } from './service.ts';

export class UsageTracker implements UsageSink {
  readonly #store: Store;
  readonly #pending = new Map<string, UsageUpdate>();
  readonly #timer: NodeJS.Timeout;
  readonly #clock: () => Date;

  constructor(store: Store, flushIntervalMs: number, clock: () => Date = () => new Date()) {
    this.#store = store;
    this.#clock = clock;
    this.#timer = setInterval(() => void this.flush().catch(() => {}), flushIntervalMs);
    this.#timer.unref();
  }

  /** Hot path: no I/O, no allocation beyond one small record per key per interval. */
  seen(key: KeyRecord, ip: string | null): void {
    const at = this.#clock().toISOString();
    const entry = this.#pending.get(key.id);
    if (entry) {
      entry.lastUsedAt = at;
      entry.lastUsedIp = ip;
    } else {
      this.#pending.set(key.id, { keyId: key.id, lastUsedAt: at, lastUsedIp: ip });
    }
  }

  pending(keyId: string): UsageUpdate | undefined {
    return this.#pending.get(keyId);
  }

  async flush(): Promise<void> {
    if (this.#pending.size === 0) return;
    const batch = [...this.#pending.values()];
    this.#pending.clear();
    await this.#store.recordUsage(batch);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }
}
