/**
 * Usage is counted in memory on the hot path and flushed to the store in
 * batches (one write per interval at most, and one at shutdown). The hot path
 * keeps numbers only; dates are formatted when flushing. Per key it also
 * keeps the few clients (address, user agent) that used it, so a rotation can
 * tell who still uses the old key: the same client again is two comparisons.
 */
import type { KeyRecord, UsageCount } from '../core/model.ts';
import { MAX_RECENT_CLIENTS, mergeRecentClients, storedUserAgent, type RecentClient } from '../core/retirement.ts';
import type { Store, UsageUpdate } from '../store/store.ts';
import type { UsageSink } from './context.ts';

const DAY_MS = 86_400_000;

/** One client's latest accepted use (address and user agent, as the request gave them). */
interface ClientUse {
  ip: string | null;
  userAgent: string | null;
  at: number;
}

/** A key's accepted uses since the last flush: the latest one, how many today, and by which clients (bounded). */
interface KeyUse {
  organizationId: string;
  at: number;
  ip: string | null;
  valid: number;
  clients: ClientUse[];
  /** The client of the latest use: the common case is the same client again, found without a scan. */
  last: ClientUse;
}

// The user agent is cleaned here, off the hot path (a header may hold anything).
const toRecent = (client: ClientUse): RecentClient => ({ ip: client.ip, userAgent: storedUserAgent(client.userAgent), lastUsedAt: new Date(client.at).toISOString() });

/** A use by a client other than the latest one: found among the few kept, else added, in place of the least recent at the bound. */
function otherClient(use: KeyUse, ip: string | null, userAgent: string | null, now: number): void {
  const { clients } = use;
  let least = 0;
  for (let i = 0; i < clients.length; i++) {
    const client = clients[i]!;
    if (client.ip === ip && client.userAgent === userAgent) {
      client.at = now;
      use.last = client;
      return;
    }
    if (client.at < clients[least]!.at) least = i;
  }
  const client = { ip, userAgent, at: now };
  if (clients.length < MAX_RECENT_CLIENTS) clients.push(client);
  else clients[least] = client;
  use.last = client;
}

const toUpdate = (keyId: string, use: KeyUse): UsageUpdate => ({
  keyId,
  lastUsedAt: new Date(use.at).toISOString(),
  lastUsedIp: use.ip,
  clients: use.clients.map(toRecent),
});

export class UsageTracker implements UsageSink {
  readonly #store: Store;
  /** Accepted uses by key id: one lookup per verify, the hot path's common case. */
  #uses = new Map<string, KeyUse>();
  /** Refused uses of the current UTC day, by "keyId|outcome". */
  #refused = new Map<string, UsageCount>();
  /** Counts of days that ended since the last flush. */
  #earlier: UsageCount[] = [];
  #day = '';
  #dayEnds = 0;
  readonly #timer: NodeJS.Timeout;
  readonly #now: () => number;
  #flushing: Promise<void> = Promise.resolve();
  /**
   * The uses the flush under way is writing: still pending to readers until
   * the store has them (else a read between the hand-over and the commit sees
   * neither, and a whenUnused sweep could take a key in use for an unused one).
   */
  #writing = new Map<string, KeyUse>();
  /** Flushes ended (written or not): readSettled's way to tell a read that may have raced a commit. */
  #flushesEnded = 0;

  constructor(store: Store, flushIntervalMs: number, now: () => number = Date.now) {
    this.#store = store;
    this.#now = now;
    this.#timer = setInterval(() => void this.flush().catch(() => {}), flushIntervalMs);
    this.#timer.unref();
  }

  /** Hot path: memory only. Refused uses are counted but do not move lastUsedAt. `at`: the request's clock reading, when it has one. */
  seen(key: KeyRecord, ip: string | null, outcome = 'VALID', at?: number, userAgent: string | null = null): void {
    const now = at ?? this.#now();
    if (now >= this.#dayEnds) this.#newDay(now);
    if (outcome === 'VALID') {
      const use = this.#uses.get(key.id);
      if (use) {
        use.at = now;
        use.ip = ip;
        use.valid++;
        const last = use.last;
        if (last.ip === ip && last.userAgent === userAgent) last.at = now;
        else otherClient(use, ip, userAgent, now);
      } else {
        const client = { ip, userAgent, at: now };
        this.#uses.set(key.id, { organizationId: key.organizationId, at: now, ip, valid: 1, clients: [client], last: client });
      }
      return;
    }
    const countKey = `${key.id}|${outcome}`;
    const count = this.#refused.get(countKey);
    if (count) count.count++;
    else this.#refused.set(countKey, { organizationId: key.organizationId, keyId: key.id, day: this.#day, outcome, count: 1 });
  }

  /** The counts of the day so far, as rows (accepted uses with outcome VALID). */
  #todaysCounts(): UsageCount[] {
    const rows = [...this.#refused.values()];
    for (const [keyId, use] of this.#uses) {
      if (use.valid > 0) rows.push({ organizationId: use.organizationId, keyId, day: this.#day, outcome: 'VALID', count: use.valid });
    }
    return rows;
  }

  #newDay(now: number): void {
    this.#earlier.push(...this.#todaysCounts());
    this.#refused = new Map();
    for (const use of this.#uses.values()) use.valid = 0;
    const start = now - (now % DAY_MS);
    this.#day = new Date(start).toISOString().slice(0, 10);
    this.#dayEnds = start + DAY_MS;
  }

  pending(keyId: string): UsageUpdate | undefined {
    const use = this.#uses.get(keyId);
    const writing = this.#writing.get(keyId);
    if (!writing) return use ? toUpdate(keyId, use) : undefined;
    if (!use) return toUpdate(keyId, writing);
    // Uses counted since the flush began are the newer ones.
    const update = toUpdate(keyId, use);
    return { ...update, clients: mergeRecentClients(writing.clients.map(toRecent), update.clients) };
  }

  async readSettled<T>(read: () => Promise<T>): Promise<T> {
    for (;;) {
      const before = this.#flushesEnded;
      const value = await read();
      if (this.#flushesEnded === before) return value;
    }
  }

  /** Writes what was counted so far; concurrent callers share one write. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing
      .catch(() => {})
      .then(async () => {
        if (this.#uses.size === 0 && this.#refused.size === 0 && this.#earlier.length === 0) return;
        const counts = [...this.#earlier, ...this.#todaysCounts()];
        const uses = this.#uses;
        this.#uses = new Map();
        this.#refused = new Map();
        this.#earlier = [];
        const updates = [...uses].map(([keyId, use]) => toUpdate(keyId, use));
        this.#writing = uses;
        try {
          await this.#store.recordUsage(updates, counts);
        } catch (error) {
          // Keep what could not be written for the next flush (the counts as rows; a newer last use wins).
          for (const [keyId, use] of uses) if (!this.#uses.has(keyId)) this.#uses.set(keyId, { ...use, valid: 0 });
          // (A key used again meanwhile keeps its newer clients; the older ones of the failed flush go, as a bounded record may.)
          this.#earlier.push(...counts);
          throw error;
        } finally {
          this.#writing = new Map();
          this.#flushesEnded++;
        }
      });
    return this.#flushing;
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }
}
