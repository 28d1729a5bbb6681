/**
 * Each replica's in-memory view of key and organization state, so verifying a
 * key costs no database round trip once the key has been seen.
 *
 * Entries are invalidated by NOTIFY from whichever replica changed them, and
 * refreshed from rows changed since the last poll (bounded staleness if a
 * notification is ever lost). A lookup that raced with an invalidation of the
 * same key is not cached: `epoch` counts invalidations, each key remembers the
 * epoch it was last invalidated at, and a row read before that may be older.
 */
import type { KeyRecord, Organization } from '../../core/model.ts';

export class KeyCache {
  readonly #byHash = new Map<string, KeyRecord>();
  readonly #byId = new Map<string, KeyRecord>();
  readonly #orgs = new Map<string, Organization>();
  readonly #capacity: number;
  #epoch = 0;
  /** Epoch of the latest invalidation per key or organization id (recent ones; older ones fold into `#floor`). */
  readonly #invalidated = new Map<string, number>();
  /** Reads that started before this epoch are never cached (set by clear() and when #invalidated is pruned). */
  #floor = 0;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get epoch(): number {
    return this.#epoch;
  }

  get size(): number {
    return this.#byId.size;
  }

  keyByHash(hash: string): KeyRecord | undefined {
    return this.#byHash.get(hash);
  }

  keyById(id: string): KeyRecord | undefined {
    return this.#byId.get(id);
  }

  organization(id: string): Organization | undefined {
    return this.#orgs.get(id);
  }

  /** Caches a row read at `epoch`, unless something was invalidated since. */
  rememberKey(key: KeyRecord, epoch: number): void {
    if (!this.#fresh(key.id, epoch)) return;
    this.#putKey(key);
  }

  rememberOrganization(org: Organization, epoch: number): void {
    if (!this.#fresh(org.id, epoch)) return;
    this.#orgs.set(org.id, org);
    if (this.#orgs.size > this.#capacity) this.#orgs.delete(this.#orgs.keys().next().value!);
  }

  /** The state this replica just committed: newer than anything in flight. */
  committedKey(key: KeyRecord): void {
    this.#mark(key.id);
    this.#putKey(key);
  }

  committedOrganization(org: Organization): void {
    this.#mark(org.id);
    this.#orgs.set(org.id, org);
  }

  /** Replaces cached entries with rows read at `epoch` (periodic refresh); rows not cached are ignored. */
  refresh(keys: readonly KeyRecord[], orgs: readonly Organization[], epoch: number): boolean {
    if (epoch < this.#floor) return false;
    for (const key of keys) if (this.#byId.has(key.id) && this.#fresh(key.id, epoch)) this.#putKey(key);
    for (const org of orgs) if (this.#orgs.has(org.id) && this.#fresh(org.id, epoch)) this.#orgs.set(org.id, org);
    return true;
  }

  /** Updates last-used fields in place (usage flush): not key state, no invalidation needed. */
  touch(keyId: string, lastUsedAt: string, lastUsedIp: string | null): void {
    const key = this.#byId.get(keyId);
    if (key && (key.lastUsedAt === null || key.lastUsedAt < lastUsedAt)) {
      key.lastUsedAt = lastUsedAt;
      key.lastUsedIp = lastUsedIp;
    }
  }

  invalidateKeys(ids: readonly string[]): void {
    for (const id of ids) {
      this.#mark(id);
      const key = this.#byId.get(id);
      if (!key) continue;
      this.#byId.delete(id);
      this.#byHash.delete(key.secretHash);
    }
  }

  invalidateOrganizations(ids: readonly string[]): void {
    for (const id of ids) {
      this.#mark(id);
      this.#orgs.delete(id);
    }
  }

  clear(): void {
    this.#epoch++;
    this.#floor = this.#epoch;
    this.#invalidated.clear();
    this.#byHash.clear();
    this.#byId.clear();
    this.#orgs.clear();
  }

  /** Was `id` left alone since a read that started at `epoch`? */
  #fresh(id: string, epoch: number): boolean {
    return epoch >= this.#floor && (this.#invalidated.get(id) ?? -1) <= epoch;
  }

  #mark(id: string): void {
    this.#epoch++;
    this.#invalidated.delete(id);
    this.#invalidated.set(id, this.#epoch);
    if (this.#invalidated.size > 10_000) {
      // Forget the oldest half; reads older than what is forgotten are not cached.
      let drop = this.#invalidated.size / 2;
      for (const [oldId, at] of this.#invalidated) {
        if (drop-- <= 0) break;
        this.#invalidated.delete(oldId);
        this.#floor = Math.max(this.#floor, at + 1);
      }
    }
  }

  #putKey(key: KeyRecord): void {
    const old = this.#byId.get(key.id);
    if (old) {
      this.#byId.delete(key.id);
      this.#byHash.delete(old.secretHash);
    }
    this.#byId.set(key.id, key);
    this.#byHash.set(key.secretHash, key);
    if (this.#byId.size > this.#capacity) {
      const [id, oldest] = this.#byId.entries().next().value!;
      this.#byId.delete(id);
      this.#byHash.delete(oldest.secretHash);
    }
  }
}
