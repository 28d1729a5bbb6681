/**
 * Each replica's in-memory view of what authenticating and verifying a key
 * reads (keys, organizations, custom roles), so a request costs no database
 * round trip once its records have been seen. Each kind is bounded, least
 * recently used out first (lru-cache).
 *
 * Entries are invalidated by NOTIFY from whichever replica changed them, and
 * refreshed from rows changed since the last poll (bounded staleness if a
 * notification is ever lost). A lookup that raced with an invalidation of the
 * same record is not cached: `epoch` counts invalidations, each record
 * remembers the epoch it was last invalidated at, and a row read before that
 * may be older. Nothing negative is cached: a record that is not there is
 * asked for again.
 */
import { LRUCache } from 'lru-cache';
import type { CustomRole, KeyRecord, Organization } from '../../core/model.ts';

/** Custom roles are cached by organization and id; the key is also what invalidations name. */
export const roleKey = (organizationId: string, roleId: string): string => `${organizationId}\u0000${roleId}`;

export class KeyCache {
  readonly #byHash: LRUCache<string, KeyRecord>;
  /** The same records by id, kept in step with #byHash (its dispose drops what it drops). */
  readonly #byId = new Map<string, KeyRecord>();
  readonly #orgs: LRUCache<string, Organization>;
  readonly #roles: LRUCache<string, CustomRole>;
  #epoch = 0;
  /** Epoch of the latest invalidation per key, organization or role (recent ones; older ones fold into `#floor`). */
  readonly #invalidated = new Map<string, number>();
  /** Reads that started before this epoch are never cached (set by clear() and when #invalidated is pruned). */
  #floor = 0;

  constructor(capacity: number) {
    this.#byHash = new LRUCache<string, KeyRecord>({
      max: capacity,
      dispose: (key) => {
        if (this.#byId.get(key.id) === key) this.#byId.delete(key.id);
      },
    });
    this.#orgs = new LRUCache<string, Organization>({ max: capacity });
    this.#roles = new LRUCache<string, CustomRole>({ max: capacity });
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

  role(organizationId: string, roleId: string): CustomRole | undefined {
    return this.#roles.get(roleKey(organizationId, roleId));
  }

  /** Caches a row read at `epoch`, unless something was invalidated since. */
  rememberKey(key: KeyRecord, epoch: number): void {
    if (this.#fresh(key.id, epoch)) this.#putKey(key);
  }

  rememberOrganization(org: Organization, epoch: number): void {
    if (this.#fresh(org.id, epoch)) this.#orgs.set(org.id, org);
  }

  rememberRole(role: CustomRole, epoch: number): void {
    const id = roleKey(role.organizationId, role.id);
    if (this.#fresh(id, epoch)) this.#roles.set(id, role);
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

  committedRole(role: CustomRole): void {
    const id = roleKey(role.organizationId, role.id);
    this.#mark(id);
    this.#roles.set(id, role);
  }

  /** Replaces cached entries with rows read at `epoch` (periodic refresh); rows not cached are ignored. */
  refresh(rows: { keys: readonly KeyRecord[]; orgs: readonly Organization[]; roles: readonly CustomRole[] }, epoch: number): boolean {
    if (epoch < this.#floor) return false;
    for (const key of rows.keys) if (this.#byId.has(key.id) && this.#fresh(key.id, epoch)) this.#putKey(key);
    for (const org of rows.orgs) if (this.#orgs.has(org.id) && this.#fresh(org.id, epoch)) this.#orgs.set(org.id, org);
    for (const role of rows.roles) {
      const id = roleKey(role.organizationId, role.id);
      if (this.#roles.has(id) && this.#fresh(id, epoch)) this.#roles.set(id, role);
    }
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
      if (key) this.#byHash.delete(key.secretHash);
    }
  }

  invalidateOrganizations(ids: readonly string[]): void {
    for (const id of ids) {
      this.#mark(id);
      this.#orgs.delete(id);
    }
  }

  /** Roles by roleKey(organizationId, roleId). */
  invalidateRoles(ids: readonly string[]): void {
    for (const id of ids) {
      this.#mark(id);
      this.#roles.delete(id);
    }
  }

  clear(): void {
    this.#epoch++;
    this.#floor = this.#epoch;
    this.#invalidated.clear();
    this.#byHash.clear();
    this.#byId.clear();
    this.#orgs.clear();
    this.#roles.clear();
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
    // A key's secret hash never changes: setting it again replaces the old record (dispose drops it from #byId first).
    this.#byHash.set(key.secretHash, key);
    this.#byId.set(key.id, key);
  }
}
