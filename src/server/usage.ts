/**
 * Usage is counted in memory on the hot path and flushed to the store in
 * batches (one write per interval at most, and one at shutdown). The hot path
 * keeps numbers only; dates are formatted when flushing. Per key it also
 * keeps the few clients (address, user agent) that used it, so a rotation can
 * tell who still uses the old key: the same client again is two comparisons.
 * And per key and day it counts uses by client address, outcome and
 * requested permission, accepted and refused (an incident's investigation
 * view). Both are kept in one record per key: one Map lookup per use, and
 * the same address, outcome and permission as the key's last use is three
 * comparisons more.
 */
import { MAX_ADDRESS_ROWS_PER_KEY_DAY, type AddressUse, type KeyRecord, type UsageCount } from '../core/model.ts';
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

/** Uses of one key from one address with one outcome and requested permission, today. Times are epoch ms. */
interface AddressCount {
  ip: string | null;
  outcome: string;
  permission: string | null;
  count: number;
  first: number;
  last: number;
}

/** A key's address counts since the last flush (of one day, bounded), and the one of its latest use. */
interface KeyAddresses {
  rows: Map<string, AddressCount>;
  last: AddressCount;
}

/** What one key's uses since the last flush left: accepted uses (if any) and today's address counts (if any yet). */
interface KeyUsage {
  organizationId: string;
  use: KeyUse | undefined;
  addresses: KeyAddresses | undefined;
}

/** A key's record as a flush takes it: with accepted uses to write. */
type UsageToWrite = KeyUsage & { use: KeyUse };
const hasUse = (usage: KeyUsage): usage is UsageToWrite => usage.use !== undefined;

const addressId = (ip: string | null, outcome: string, permission: string | null): string => `${ip ?? ''}\u0000${outcome}\u0000${permission ?? ''}`;

/** A use whose address, outcome or permission differs from the key's last one: found, else added while under the bound (past it, the daily totals still count it). */
function otherAddress(byKey: KeyAddresses, ip: string | null, outcome: string, permission: string | null, now: number): void {
  const id = addressId(ip, outcome, permission);
  const row = byKey.rows.get(id);
  if (row) {
    row.count++;
    row.last = now;
    byKey.last = row;
    return;
  }
  if (byKey.rows.size >= MAX_ADDRESS_ROWS_PER_KEY_DAY) return;
  const added = { ip, outcome, permission, count: 1, first: now, last: now };
  byKey.rows.set(id, added);
  byKey.last = added;
}

const toUpdate = (keyId: string, use: KeyUse): UsageUpdate => ({
  keyId,
  lastUsedAt: new Date(use.at).toISOString(),
  lastUsedIp: use.ip,
  clients: use.clients.map(toRecent),
});

export class UsageTracker implements UsageSink {
  readonly #store: Store;
  /** Accepted uses and today's uses by address, outcome and permission, by key id: one lookup per use, the hot path's common case. */
  #keys = new Map<string, KeyUsage>();
  /** Refused uses of the current UTC day, by "keyId|outcome". */
  #refused = new Map<string, UsageCount>();
  /** Counts of days that ended since the last flush. */
  #earlier: UsageCount[] = [];
  /** Address rows of days that ended since the last flush (and of a flush that failed). */
  #earlierAddresses: AddressUse[] = [];
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
  #writing = new Map<string, UsageToWrite>();
  /** Flushes ended (written or not): readSettled's way to tell a read that may have raced a commit. */
  #flushesEnded = 0;

  constructor(store: Store, flushIntervalMs: number, now: () => number = Date.now) {
    this.#store = store;
    this.#now = now;
    this.#timer = setInterval(() => void this.flush().catch(() => {}), flushIntervalMs);
    this.#timer.unref();
  }

  /**
   * Hot path: memory only. Refused uses are counted but do not move
   * lastUsedAt. `at`: the request's clock reading, when it has one.
   * `permission`: the one a verify call asked for (null: none).
   */
  seen(key: KeyRecord, ip: string | null, outcome = 'VALID', at?: number, userAgent: string | null = null, permission: string | null = null): void {
    const now = at ?? this.#now();
    if (now >= this.#dayEnds) this.#newDay(now);
    let usage = this.#keys.get(key.id);
    if (usage === undefined) this.#keys.set(key.id, (usage = { organizationId: key.organizationId, use: undefined, addresses: undefined }));
    const byAddress = usage.addresses;
    if (byAddress === undefined) {
      const row = { ip, outcome, permission, count: 1, first: now, last: now };
      usage.addresses = { rows: new Map([[addressId(ip, outcome, permission), row]]), last: row };
    } else {
      const last = byAddress.last;
      if (last.ip === ip && last.outcome === outcome && last.permission === permission) {
        last.count++;
        last.last = now;
      } else otherAddress(byAddress, ip, outcome, permission, now);
    }
    if (outcome === 'VALID') {
      const use = usage.use;
      if (use) {
        use.at = now;
        use.ip = ip;
        use.valid++;
        const last = use.last;
        if (last.ip === ip && last.userAgent === userAgent) last.at = now;
        else otherClient(use, ip, userAgent, now);
      } else {
        const client = { ip, userAgent, at: now };
        usage.use = { at: now, ip, valid: 1, clients: [client], last: client };
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
    for (const [keyId, { organizationId, use }] of this.#keys) {
      if (use && use.valid > 0) rows.push({ organizationId, keyId, day: this.#day, outcome: 'VALID', count: use.valid });
    }
    return rows;
  }

  /** The address counts of the day so far, as rows. */
  #todaysAddresses(): AddressUse[] {
    const rows: AddressUse[] = [];
    for (const [keyId, { organizationId, addresses }] of this.#keys) {
      if (!addresses) continue;
      for (const row of addresses.rows.values()) {
        rows.push({
          organizationId,
          keyId,
          day: this.#day,
          ip: row.ip,
          outcome: row.outcome,
          permission: row.permission,
          count: row.count,
          firstSeen: new Date(row.first).toISOString(),
          lastSeen: new Date(row.last).toISOString(),
        });
      }
    }
    return rows;
  }

  #newDay(now: number): void {
    this.#earlier.push(...this.#todaysCounts());
    this.#earlierAddresses.push(...this.#todaysAddresses());
    this.#refused = new Map();
    for (const usage of this.#keys.values()) {
      usage.addresses = undefined;
      if (usage.use) usage.use.valid = 0;
    }
    const start = now - (now % DAY_MS);
    this.#day = new Date(start).toISOString().slice(0, 10);
    this.#dayEnds = start + DAY_MS;
  }

  pending(keyId: string): UsageUpdate | undefined {
    const use = this.#keys.get(keyId)?.use;
    const writing = this.#writing.get(keyId)?.use;
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
        if (this.#keys.size === 0 && this.#refused.size === 0 && this.#earlier.length === 0 && this.#earlierAddresses.length === 0) return;
        const counts = [...this.#earlier, ...this.#todaysCounts()];
        const addresses = [...this.#earlierAddresses, ...this.#todaysAddresses()];
        // The keys with accepted uses (their records leave #keys: uses counted from now on start afresh).
        const uses = new Map<string, UsageToWrite>();
        for (const [keyId, usage] of this.#keys) if (hasUse(usage)) uses.set(keyId, usage);
        this.#keys = new Map();
        this.#refused = new Map();
        this.#earlier = [];
        this.#earlierAddresses = [];
        const updates = [...uses].map(([keyId, { use }]) => toUpdate(keyId, use));
        this.#writing = uses;
        try {
          await this.#store.recordUsage(updates, counts, addresses);
        } catch (error) {
          // Keep what could not be written for the next flush (the counts as rows; a newer last use wins).
          for (const [keyId, usage] of uses) this.#restore(keyId, usage);
          // (A key used again meanwhile keeps its newer clients; the older ones of the failed flush go, as a bounded record may.)
          this.#earlier.push(...counts);
          this.#earlierAddresses.push(...addresses);
          throw error;
        } finally {
          this.#writing = new Map();
          this.#flushesEnded++;
        }
      });
    return this.#flushing;
  }

  /** A use a failed flush could not write, kept for the next one unless the key was used again meanwhile (its own count was kept as a row). */
  #restore(keyId: string, { organizationId, use }: UsageToWrite): void {
    const usage = this.#keys.get(keyId);
    if (usage === undefined) this.#keys.set(keyId, { organizationId, use: { ...use, valid: 0 }, addresses: undefined });
    else usage.use ??= { ...use, valid: 0 };
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }
}
