/**
 * The embedded default store: one lowdb JSON file owned by one process.
 *
 * Reads are served from in-memory indexes. Every mutation is applied in
 * memory, then group-committed: the records it changed are appended to a
 * write-ahead journal (db.json.journal, one fdatasync'ed line per commit),
 * so a commit costs what it changed, not the size of the store. When the
 * journal outgrows the snapshot, it is compacted in the background: the
 * journal is retired and a new one started (between two commits), and
 * db.json is rewritten part by part (atomically, fsync'ed) while commits go
 * on; then the retired journal is deleted. Opening replays the journal(s)
 * over the snapshot; `journalSeq` in the snapshot says which entries it
 * already holds.
 *
 * The background snapshot is fuzzy: its lists are copied when the journal is
 * retired, but a record changed after that may be written in its newer
 * state. Replaying the journal entries after `journalSeq` over it still ends
 * in the right state, because every op is a whole-record put, a delete, or an
 * append to a list that was copied (audit events are never duplicated).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Low } from 'lowdb';
import { addressRowKey, mergeAddressUses, mergedAddressUse } from '../core/address-uses.ts';
import {
  DEFAULT_LEAK_POLICY,
  isKeyFeedAction,
  isOperatorManaged,
  keyStatus,
  MAX_ADDRESS_ROWS_PER_KEY_DAY,
  type AddressUse,
  type AuditEvent,
  type CustomPermission,
  type CustomRole,
  type Incident,
  type KeyRecord,
  type Organization,
  type UsageCount,
} from '../core/model.ts';
import { builtinRole } from '../core/permissions.ts';
import { mergeRecentClients, type RecentClient } from '../core/retirement.ts';
import { DEFAULT_MAX_GRACE_PERIOD } from '../core/rotation.ts';
import { DurableJsonFile } from './durable-file.ts';
import { acquireFileLock } from './file-lock.ts';
import { GroupCommit } from './group-commit.ts';
import { Journal } from './journal.ts';
import { emptyPeopleTables, LowdbPeople, type PeopleOp, type PeopleTables } from './lowdb-people.ts';
import * as rules from './rules.ts';
import { invitationRoleInUse, memberRoleInUse } from './people-rules.ts';
import {
  applyPatch,
  changesOf,
  compareKeyOrder,
  type Audit,
  type EndRetirementInput,
  type AuditFilter,
  type CompromiseInput,
  type IncidentFilter,
  type IncidentUpdate,
  type InsertKeyOptions,
  type KeyEvent,
  type KeyEventFilter,
  type OrganizationPatch,
  type UsageFilter,
  type KeyFilter,
  type KeyPage,
  type KeyPatch,
  type AuthReads,
  type RolePatch,
  type RotateKeyInput,
  type Store,
  type UsageUpdate,
} from './store.ts';

export interface LowdbData extends Partial<PeopleTables> {
  schemaVersion: 1;
  /** The last journal entry this snapshot contains. */
  journalSeq: number;
  organizations: Organization[];
  keys: KeyRecord[];
  roles: CustomRole[];
  permissions: CustomPermission[];
  /** Append-only, in commit order (the change feed's position is an index into it). */
  audit: AuditEvent[];
  usage: UsageCount[];
  /** Uses by client address, outcome and permission, per key and day (the investigation view). */
  addressUses: AddressUse[];
  incidents: Incident[];
}

const emptyData = (): LowdbData => ({ schemaVersion: 1, journalSeq: 0, organizations: [], keys: [], roles: [], permissions: [], audit: [], usage: [], addressUses: [], incidents: [] });

/** A journal record: the new state of one record (puts are idempotent), or a deletion. */
type Op =
  | { t: 'org'; v: Organization }
  | { t: 'key'; v: KeyRecord }
  | { t: 'role'; v: CustomRole }
  | { t: 'role-'; org: string; id: string }
  | { t: 'perm'; v: CustomPermission }
  | { t: 'audit'; v: AuditEvent }
  | { t: 'usage'; v: UsageCount }
  | { t: 'addr'; v: AddressUse }
  | { t: 'inc'; v: Incident }
  /** Last use of a key: a few bytes instead of the whole key record (usage flushes are frequent). */
  | { t: 'used'; id: string; at: string; ip: string | null; clients?: RecentClient[] }
  /** Members, invitations, sessions, passkeys, ceremonies (lowdb-people.ts). */
  | PeopleOp;

export interface LowdbStoreOptions {
  /** Rewrite the snapshot once the journal is larger than this and than the last snapshot. */
  minCompactBytes?: number;
  /** Called when a background compaction fails (the next commit then snapshots in the foreground). */
  onBackgroundError?: ((error: Error, what: string) => void) | undefined;
}

const DEFAULT_MIN_COMPACT_BYTES = 4 * 1024 * 1024;
/** Records serialized per part of a background snapshot (a few milliseconds of JSON.stringify). */
const RECORDS_PER_PART = 1_000;

/** db.json's text in parts: the same JSON as JSON.stringify(data), a slice of each list at a time. */
function* snapshotParts(data: LowdbData): Generator<string> {
  let separator = '{';
  for (const [field, value] of Object.entries(data)) {
    if (value === undefined) continue; // as JSON.stringify does
    const name = `${separator}${JSON.stringify(field)}:`;
    separator = ',';
    if (!Array.isArray(value)) {
      yield name + JSON.stringify(value);
      continue;
    }
    yield `${name}[`;
    for (let start = 0; start < value.length; start += RECORDS_PER_PART) {
      const slice = JSON.stringify(value.slice(start, start + RECORDS_PER_PART));
      yield (start > 0 ? ',' : '') + slice.slice(1, -1);
    }
    yield ']';
  }
  yield '}';
}

const usageKey = (u: Pick<UsageCount, 'keyId' | 'day' | 'outcome'>): string => `${u.keyId}|${u.day}|${u.outcome}`;
const roleKey = (organizationId: string, roleId: string): string => `${organizationId}\u0000${roleId}`;

/** Organizations written before a setting existed get its default. */
const withDefaults = (org: Organization): Organization => {
  org.maxGracePeriod ??= DEFAULT_MAX_GRACE_PERIOD;
  org.leakPolicy ??= DEFAULT_LEAK_POLICY;
  return org;
};

export class LowdbStore implements Store {
  readonly kind = 'lowdb';
  /** Everything is in memory: every read answers at once. */
  readonly reads: AuthReads = {
    keyByHash: (secretHash) => this.#keysByHash.get(secretHash),
    organization: (id) => this.#orgs.get(id),
    customRole: (organizationId, roleId) => this.#roles.get(roleKey(organizationId, roleId)),
  };
  readonly file: string;
  readonly people: LowdbPeople;
  readonly #db: Low<LowdbData>;
  readonly #commit: GroupCommit;
  readonly #release: () => void;
  readonly #orgs = new Map<string, Organization>();
  readonly #keysById = new Map<string, KeyRecord>();
  readonly #keysByHash = new Map<string, KeyRecord>();
  /** Per organization, keys in (createdAt, id) order. */
  readonly #keysByOrg = new Map<string, KeyRecord[]>();
  readonly #idempotency = new Map<string, KeyRecord>();
  /** Custom roles by organization and id (the records of data.roles). */
  readonly #roles = new Map<string, CustomRole>();
  readonly #usage = new Map<string, UsageCount>();
  /** Address rows by addressRowKey, and how many each key has per day (the bound). */
  readonly #addressUses = new Map<string, AddressUse>();
  readonly #addressRows = new Map<string, number>();
  readonly #incidents = new Map<string, Incident>();
  readonly #incidentsByDedupe = new Map<string, Incident>();
  readonly #keyEventListeners = new Set<() => void>();
  /** How much of the audit list is on disk: the change feed shows no change before it is durable. */
  #durableAudit = 0;
  readonly #journal: Journal<Op>;
  readonly #snapshotFile: DurableJsonFile<LowdbData>;
  #pendingOps: Op[] = [];
  #seq: number;
  readonly #minCompactBytes: number;
  readonly #onBackgroundError: ((error: Error, what: string) => void) | undefined;
  /** The background compaction in progress, if any. */
  #compaction: Promise<void> | undefined;
  #closed = false;

  private constructor(
    file: string,
    db: Low<LowdbData>,
    snapshotFile: DurableJsonFile<LowdbData>,
    journal: Journal<Op>,
    release: () => void,
    options: LowdbStoreOptions,
  ) {
    this.file = file;
    this.#minCompactBytes = options.minCompactBytes ?? DEFAULT_MIN_COMPACT_BYTES;
    this.#onBackgroundError = options.onBackgroundError;
    this.#db = db;
    this.#snapshotFile = snapshotFile;
    this.#journal = journal;
    this.#release = release;
    this.#commit = new GroupCommit(() => this.#write());
    // Files written before these fields existed get them now.
    db.data.journalSeq ??= 0;
    db.data.audit ??= [];
    db.data.usage ??= [];
    const people = emptyPeopleTables();
    for (const table of Object.keys(people) as (keyof PeopleTables)[]) if (!db.data[table]) (db.data as unknown as Record<string, unknown>)[table] = people[table];
    this.people = new LowdbPeople(db.data as LowdbData & PeopleTables, (...ops) => this.#change(...ops), (organizationId, roleId) => builtinRole(roleId) !== undefined || this.#roles.has(roleKey(organizationId, roleId)));
    db.data.incidents ??= [];
    for (const incident of db.data.incidents) this.#indexIncident(incident);
    for (const org of db.data.organizations) this.#orgs.set(org.id, withDefaults(org));
    for (const key of db.data.keys) this.#index(key);
    for (const role of db.data.roles) this.#roles.set(roleKey(role.organizationId, role.id), role);
    for (const row of db.data.usage) this.#usage.set(usageKey(row), row);
    db.data.addressUses ??= [];
    for (const row of db.data.addressUses) this.#indexAddressUse(row);
    for (const list of this.#keysByOrg.values()) list.sort(compareKeyOrder);
    this.#seq = db.data.journalSeq;
    for (const entry of journal.recover()) {
      if (entry.seq <= db.data.journalSeq) continue; // already in the snapshot
      for (const op of entry.ops) this.#apply(op);
      this.#seq = entry.seq;
    }
    this.#durableAudit = db.data.audit.length;
  }

  static async open(file: string, options: LowdbStoreOptions = {}): Promise<LowdbStore> {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const release = acquireFileLock(file);
    try {
      const snapshotFile = new DurableJsonFile<LowdbData>(file);
      const db = new Low<LowdbData>(snapshotFile, emptyData());
      await db.read();
      if (db.data.schemaVersion !== 1) {
        throw new Error(`${file}: unsupported store schema version ${String(db.data.schemaVersion)}`);
      }
      const store = new LowdbStore(file, db, snapshotFile, new Journal<Op>(`${file}.journal`), release, options);
      // Start from a self-contained snapshot: db.json alone then holds everything.
      await store.#snapshot();
      return store;
    } catch (error) {
      release();
      throw error;
    }
  }

  /** Replays one journal record into memory (the data arrays and the indexes). */
  #apply(op: Op): void {
    const data = this.#db.data;
    switch (op.t) {
      case 'org': {
        const existing = this.#orgs.get(op.v.id);
        if (existing) withDefaults(Object.assign(existing, op.v));
        else {
          this.#orgs.set(op.v.id, withDefaults(op.v));
          data.organizations.push(op.v);
        }
        return;
      }
      case 'key': {
        const existing = this.#keysById.get(op.v.id);
        if (existing) Object.assign(existing, op.v);
        else {
          data.keys.push(op.v);
          this.#index(op.v);
        }
        return;
      }
      case 'role': {
        const existing = this.#roles.get(roleKey(op.v.organizationId, op.v.id));
        if (existing) Object.assign(existing, op.v);
        else {
          data.roles.push(op.v);
          this.#roles.set(roleKey(op.v.organizationId, op.v.id), op.v);
        }
        return;
      }
      case 'role-': {
        const role = this.#roles.get(roleKey(op.org, op.id));
        if (role) {
          data.roles.splice(data.roles.indexOf(role), 1);
          this.#roles.delete(roleKey(op.org, op.id));
        }
        return;
      }
      case 'perm':
        if (!data.permissions.some((p) => p.organizationId === op.v.organizationId && p.name === op.v.name)) data.permissions.push(op.v);
        return;
      case 'audit':
        data.audit.push(op.v);
        return;
      case 'used': {
        const key = this.#keysById.get(op.id);
        if (!key) return;
        if (key.lastUsedAt === null || key.lastUsedAt < op.at) {
          key.lastUsedAt = op.at;
          key.lastUsedIp = op.ip;
        }
        if (op.clients?.length) key.recentClients = mergeRecentClients(key.recentClients, op.clients);
        return;
      }
      case 'row':
      case 'row-':
        this.people.apply(op);
        return;
      case 'inc': {
        const existing = this.#incidents.get(op.v.id);
        if (existing) Object.assign(existing, op.v);
        else {
          data.incidents.push(op.v);
          this.#indexIncident(op.v);
        }
        return;
      }
      case 'addr': {
        const existing = this.#addressUses.get(addressRowKey(op.v));
        if (existing) Object.assign(existing, op.v);
        else {
          this.#indexAddressUse(op.v);
          data.addressUses.push(op.v);
        }
        return;
      }
      case 'usage': {
        const existing = this.#usage.get(usageKey(op.v));
        if (existing) existing.count = op.v.count;
        else {
          this.#usage.set(usageKey(op.v), op.v);
          data.usage.push(op.v);
        }
        return;
      }
    }
  }

  /** One group commit: append what changed to the journal; start a compaction when the journal has grown. */
  async #write(): Promise<void> {
    const ops = this.#pendingOps;
    this.#pendingOps = [];
    // A retired journal with no compaction running: the last one failed. One
    // snapshot in the foreground holds everything and drops both journals.
    if (!this.#compaction && this.#journal.hasRetired) return this.#snapshot();
    // Serializes synchronously, so the line holds the state as of now.
    await this.#journal.append({ seq: ++this.#seq, ops });
    if (!this.#compaction && this.#journal.bytes >= Math.max(this.#minCompactBytes, this.#snapshotFile.lastBytes)) {
      // Retired here, between two appends; written in the background.
      const view = this.#snapshotView();
      try {
        await this.#journal.retire();
      } catch (error) {
        this.#onBackgroundError?.(error as Error, 'retiring the journal for a compaction');
        return; // this commit is durable all the same; a later one compacts
      }
      this.#compaction = this.#compact(view)
        // The retired journal stays; the next commit snapshots in the foreground.
        .catch((error: unknown) => this.#onBackgroundError?.(error as Error, 'background compaction'))
        .finally(() => {
          this.#compaction = undefined;
        });
    }
  }

  /** The snapshot as of now: every list copied (cheap, pointers only; a list added later is copied too), the records shared. */
  #snapshotView(): LowdbData {
    const copied = Object.entries(this.#db.data).map(([field, value]) => [field, Array.isArray(value) ? [...value] : value]);
    return { ...(Object.fromEntries(copied) as unknown as LowdbData), journalSeq: this.#seq };
  }

  async #compact(view: LowdbData): Promise<void> {
    await this.#snapshotFile.writeParts(snapshotParts(view));
    await this.#journal.dropRetired();
  }

  /** A consistent snapshot written at once (at open, at close, and after a failed compaction). */
  async #snapshot(): Promise<void> {
    await this.#compaction;
    this.#db.data.journalSeq = this.#seq;
    await this.#db.write();
    await this.#journal.reset();
  }

  observeWrites(callback: (mutations: number, ms: number) => void): void {
    this.#commit.onBatch = callback;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#commit.idle();
    await this.#snapshot();
    await this.#journal.close();
    this.#release();
  }

  #index(key: KeyRecord): void {
    // Keys written before these fields existed.
    key.recentClients ??= [];
    key.retirement ??= null;
    this.#keysById.set(key.id, key);
    this.#keysByHash.set(key.secretHash, key);
    if (key.idempotencyKey) this.#idempotency.set(`${key.organizationId}\u0000${key.idempotencyKey}`, key);
    let list = this.#keysByOrg.get(key.organizationId);
    if (!list) this.#keysByOrg.set(key.organizationId, (list = []));
    // New keys almost always sort last; walk back from the end to place them.
    let at = list.length;
    while (at > 0 && compareKeyOrder(list[at - 1]!, key) > 0) at--;
    list.splice(at, 0, key);
  }

  /**
   * Applies changed records in memory (the same code replays the journal),
   * journals them, and resolves once they are durable.
   */
  #change(...ops: Op[]): Promise<void> {
    if (this.#closed) return Promise.reject(rules.storeClosed());
    for (const op of ops) this.#apply(op);
    this.#pendingOps.push(...ops);
    const committed = this.#commit.commit();
    if (ops.some((op) => op.t === 'audit')) {
      const written = this.#db.data.audit.length;
      const keyEvent = ops.some((op) => op.t === 'audit' && isKeyFeedAction(op.v.action));
      // Followers of the change feed see, and hear of, a key change once it is durable.
      void committed.then(() => {
        this.#durableAudit = Math.max(this.#durableAudit, written);
        if (keyEvent) for (const listener of this.#keyEventListeners) listener();
      }, () => {});
    }
    return committed;
  }

  #indexAddressUse(row: AddressUse): void {
    this.#addressUses.set(addressRowKey(row), row);
    const perDay = `${row.keyId}\u0000${row.day}`;
    this.#addressRows.set(perDay, (this.#addressRows.get(perDay) ?? 0) + 1);
  }

  #indexIncident(incident: Incident): void {
    this.#incidents.set(incident.id, incident);
    if (incident.dedupeKey) this.#incidentsByDedupe.set(`${incident.organizationId}\u0000${incident.dedupeKey}`, incident);
  }

  #orgIncident(organizationId: string, incidentId: string): Incident {
    const incident = this.#incidents.get(incidentId);
    if (!incident || incident.organizationId !== organizationId) throw rules.incidentNotFound(incidentId);
    return incident;
  }

  #orgKey(organizationId: string, keyId: string): KeyRecord {
    const key = this.#keysById.get(keyId);
    if (!key || key.organizationId !== organizationId) throw rules.keyNotFound(keyId);
    return key;
  }

  // ---- organizations ----

  async createOrganization(org: Organization, adminKey: KeyRecord, audit: Audit, options: { onlyIfNone?: boolean } = {}): Promise<boolean> {
    if (options.onlyIfNone && this.#orgs.size > 0) return false;
    await this.#change({ t: 'org', v: org }, { t: 'key', v: adminKey }, { t: 'audit', v: audit });
    return true;
  }

  async updateOrganization(id: string, patch: OrganizationPatch, audit: Audit): Promise<Organization> {
    const org = this.#orgs.get(id);
    if (!org) throw rules.organizationNotFound(id);
    const changes = changesOf(org, patch);
    await this.#change({ t: 'org', v: applyPatch(org, patch) }, { t: 'audit', v: { ...audit, changes } });
    return org;
  }

  async countActiveKeys(organizationId: string, now: number): Promise<number> {
    return this.#activeCount(organizationId, now);
  }

  #activeCount(organizationId: string, now: number): number {
    let n = 0;
    for (const key of this.#keysByOrg.get(organizationId) ?? []) {
      if (rules.countsAgainstLimit(key, key.rotatedToId === null ? undefined : this.#keysById.get(key.rotatedToId), now)) n++;
    }
    return n;
  }

  /** Throws LAST_ADMIN_KEY unless another admin key of the organization remains (rules.remainingAdmin). */
  #keepAnAdmin(key: KeyRecord, now: number, change: 'revoke' | 'demote', newRoleId?: string): void {
    if (!rules.removesAnAdmin(key, now, newRoleId)) return;
    rules.refuse(rules.lastAdminRefusal(key, change, this.#anotherAdminRemains(key, now)));
  }

  #anotherAdminRemains(key: KeyRecord, now: number): boolean {
    return (this.#keysByOrg.get(key.organizationId) ?? []).some((other) => rules.remainingAdmin(other, key, now));
  }

  async listOrganizations(): Promise<Organization[]> {
    return [...this.#orgs.values()];
  }

  // ---- keys ----

  async findKeyById(keyId: string): Promise<KeyRecord | undefined> {
    return this.#keysById.get(keyId);
  }

  async getKey(organizationId: string, keyId: string): Promise<KeyRecord | undefined> {
    const key = this.#keysById.get(keyId);
    return key?.organizationId === organizationId ? key : undefined;
  }

  async getKeys(organizationId: string, keyIds: readonly string[]): Promise<KeyRecord[]> {
    return keyIds.map((id) => this.#keysById.get(id)).filter((key): key is KeyRecord => key?.organizationId === organizationId);
  }

  async listKeys(organizationId: string, filter: KeyFilter): Promise<KeyPage> {
    const all = this.#keysByOrg.get(organizationId) ?? [];
    const items: KeyRecord[] = [];
    let start = 0;
    if (filter.after) {
      const after = filter.after;
      // Binary search for the first key after the cursor.
      let lo = 0;
      let hi = all.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (compareKeyOrder(all[mid]!, after) <= 0) lo = mid + 1;
        else hi = mid;
      }
      start = lo;
    }
    for (let i = start; i < all.length; i++) {
      const key = all[i]!;
      if (filter.status !== 'all' && keyStatus(key, filter.now) !== filter.status) continue;
      if (filter.roleId !== undefined && key.roleId !== filter.roleId) continue;
      if (filter.environment !== undefined && key.environment !== filter.environment) continue;
      if (filter.unusedSince !== undefined && (key.lastUsedAt ?? key.createdAt) >= filter.unusedSince) continue;
      if (filter.rotationDueBefore !== undefined && key.rotationDueAt >= filter.rotationDueBefore) continue;
      if (items.length === filter.limit) {
        const last = items[items.length - 1]!;
        return { items, next: { createdAt: last.createdAt, id: last.id } };
      }
      items.push(key);
    }
    return { items, next: null };
  }

  /** The key made with this one's idempotency key, if any. */
  #madeWith(key: KeyRecord): KeyRecord | undefined {
    return key.idempotencyKey ? this.#idempotency.get(`${key.organizationId}\u0000${key.idempotencyKey}`) : undefined;
  }

  async insertKey(key: KeyRecord, options: InsertKeyOptions, audit: Audit): Promise<void> {
    rules.refuse(rules.idempotencyRefusal(this.#madeWith(key), options.now));
    if (options.activeLimit !== null) rules.refuse(rules.insertLimitRefusal(this.#activeCount(key.organizationId, options.now), options.activeLimit));
    await this.#change({ t: 'key', v: key }, { t: 'audit', v: audit });
  }

  async updateKey(organizationId: string, keyId: string, patch: KeyPatch, now: number, audit: Audit): Promise<KeyRecord> {
    const key = this.#orgKey(organizationId, keyId);
    rules.refuse(rules.changeRefusal(key, now, 'edited'));
    if (patch.roleId !== undefined) this.#keepAnAdmin(key, now, 'demote', patch.roleId);
    const changes = changesOf(key, patch);
    await this.#change({ t: 'key', v: applyPatch(key, patch) }, { t: 'audit', v: { ...audit, changes } });
    return key;
  }

  async revokeKey(organizationId: string, keyId: string, at: string, audit: Audit): Promise<KeyRecord> {
    const key = this.#orgKey(organizationId, keyId);
    rules.refuse(rules.revokeRefusal(key));
    this.#keepAnAdmin(key, Date.parse(at), 'revoke');
    await this.#change({ t: 'key', v: { ...key, revokedAt: at } }, { t: 'audit', v: audit });
    return key;
  }

  async rotateKey(input: RotateKeyInput, audit: Audit): Promise<{ previous: KeyRecord; successor: KeyRecord }> {
    const previous = this.#orgKey(input.organizationId, input.keyId);
    rules.refuse(rules.changeRefusal(previous, input.now, 'rotated'));
    // A retry first learns which successor its idempotency key made (before "already rotated").
    rules.refuse(rules.idempotencyRefusal(this.#madeWith(input.successor), input.now));
    const priorSuccessor = previous.rotatedToId === null ? undefined : this.#keysById.get(previous.rotatedToId);
    rules.refuse(rules.rotationRefusal(previous, priorSuccessor));
    const expiries = rules.rotationExpiries(previous, priorSuccessor, input.previousExpiresAt);
    // The successor takes the old key's place; only a predecessor still in its grace period adds to the count.
    const predecessor = previous.rotatedFromId === null ? undefined : this.#keysById.get(previous.rotatedFromId);
    if (input.activeLimit !== null && rules.rotationAddsToCount(previous, predecessor, input.now) > 0) {
      rules.refuse(rules.rotationLimitRefusal(previous, predecessor!, this.#activeCount(input.organizationId, input.now), input.activeLimit));
    }
    const successor: KeyRecord = { ...input.successor, expiresAt: expiries.successorExpiresAt };
    await this.#change(
      { t: 'key', v: { ...previous, rotatedToId: successor.id, expiresAt: expiries.previousExpiresAt, retirement: input.retirement } },
      { t: 'key', v: successor },
      { t: 'audit', v: rules.withRotationExpiries(audit, expiries) },
    );
    return { previous, successor };
  }

  async recordUsage(updates: UsageUpdate[], counts: UsageCount[], addresses: AddressUse[] = []): Promise<void> {
    const ops: Op[] = [];
    for (const count of counts) {
      const total = (this.#usage.get(usageKey(count))?.count ?? 0) + count.count;
      ops.push({ t: 'usage', v: { ...count, count: total } });
    }
    const added = new Map<string, number>();
    for (const row of mergeAddressUses(addresses)) {
      if (!this.#keysById.has(row.keyId)) continue;
      const existing = this.#addressUses.get(addressRowKey(row));
      if (existing) {
        ops.push({ t: 'addr', v: mergedAddressUse(existing, row) });
        continue;
      }
      const perDay = `${row.keyId}\u0000${row.day}`;
      const rows = (this.#addressRows.get(perDay) ?? 0) + (added.get(perDay) ?? 0);
      if (rows >= MAX_ADDRESS_ROWS_PER_KEY_DAY) continue;
      added.set(perDay, (added.get(perDay) ?? 0) + 1);
      ops.push({ t: 'addr', v: { ...row } });
    }
    for (const update of updates) {
      const key = this.#keysById.get(update.keyId);
      if (!key) continue;
      const newer = key.lastUsedAt === null || key.lastUsedAt < update.lastUsedAt;
      if (newer || update.clients.length > 0) {
        ops.push({ t: 'used', id: key.id, at: update.lastUsedAt, ip: update.lastUsedIp, ...(update.clients.length > 0 ? { clients: update.clients } : {}) });
      }
    }
    if (ops.length > 0) await this.#change(...ops);
  }

  async listOpenRetirements(limit: number): Promise<KeyRecord[]> {
    const open: KeyRecord[] = [];
    for (const key of this.#keysById.values()) {
      if (!rules.hasOpenRetirement(key)) continue;
      open.push(key);
      if (open.length === limit) break;
    }
    return open;
  }

  async endRetirement(input: EndRetirementInput, audit: Audit): Promise<KeyRecord | undefined> {
    const key = this.#keysById.get(input.keyId);
    if (!key || key.organizationId !== input.organizationId) return undefined;
    const now = Date.parse(input.endedAt);
    const ended = rules.endedRetirement(key, input, this.#anotherAdminRemains(key, now));
    if (!ended) return undefined;
    await this.#change({ t: 'key', v: ended }, { t: 'audit', v: audit });
    return key;
  }

  async listUsage(organizationId: string, filter: UsageFilter): Promise<UsageCount[]> {
    return this.#db.data.usage.filter(
      (row) =>
        row.organizationId === organizationId &&
        (filter.keyId === undefined || row.keyId === filter.keyId) &&
        row.day >= filter.from &&
        row.day <= filter.to,
    );
  }

  async listAddressUses(organizationId: string, filter: UsageFilter): Promise<AddressUse[]> {
    return this.#db.data.addressUses.filter(
      (row) => row.organizationId === organizationId && (filter.keyId === undefined || row.keyId === filter.keyId) && row.day >= filter.from && row.day <= filter.to,
    );
  }

  async addressesOfOtherKeys(organizationId: string, keyId: string, ips: readonly string[], filter: Pick<UsageFilter, 'from' | 'to'>): Promise<string[]> {
    const wanted = new Set(ips);
    const found = new Set<string>();
    for (const row of this.#db.data.addressUses) {
      if (row.ip !== null && wanted.has(row.ip) && row.organizationId === organizationId && row.keyId !== keyId && row.day >= filter.from && row.day <= filter.to) found.add(row.ip);
    }
    return [...found];
  }

  async appendAudit(event: AuditEvent): Promise<void> {
    await this.#change({ t: 'audit', v: event });
  }

  // ---- incidents ----

  async compromiseKey(input: CompromiseInput, audits: Audit[]): Promise<{ revoked: KeyRecord; replacement: KeyRecord | null; incident: Incident }> {
    const key = this.#orgKey(input.organizationId, input.keyId);
    rules.refuse(rules.revokeRefusal(key));
    // A replacement of the same role keeps the organization's admin; without one the last admin key stays.
    if (input.replacement === null) this.#keepAnAdmin(key, Date.parse(input.at), 'revoke');
    const ops: Op[] = [{ t: 'key', v: { ...key, revokedAt: input.at, ...(input.replacement ? { rotatedToId: input.replacement.id } : {}) } }];
    if (input.replacement) ops.push({ t: 'key', v: input.replacement });
    ops.push({ t: 'inc', v: input.incident }, ...audits.map((v): Op => ({ t: 'audit', v })));
    await this.#change(...ops);
    return { revoked: key, replacement: input.replacement === null ? null : this.#keysById.get(input.replacement.id)!, incident: this.#incidents.get(input.incident.id)! };
  }

  async insertIncidents(incidents: Incident[]): Promise<Incident[]> {
    const fresh: Incident[] = [];
    const seen = new Set<string>();
    for (const incident of incidents) {
      const dedupe = incident.dedupeKey === null ? null : `${incident.organizationId}\u0000${incident.dedupeKey}`;
      if (dedupe !== null && (this.#incidentsByDedupe.has(dedupe) || seen.has(dedupe))) continue;
      if (dedupe !== null) seen.add(dedupe);
      fresh.push(incident);
    }
    if (fresh.length > 0) await this.#change(...fresh.map((v): Op => ({ t: 'inc', v })));
    return fresh;
  }

  async updateIncident(organizationId: string, incidentId: string, update: IncidentUpdate, audit?: Audit): Promise<Incident> {
    const incident = this.#orgIncident(organizationId, incidentId);
    const next = rules.updatedIncident(incident, update);
    await this.#change({ t: 'inc', v: next }, ...(audit ? [{ t: 'audit', v: audit } as Op] : []));
    return incident;
  }

  async getIncident(organizationId: string, incidentId: string): Promise<Incident | undefined> {
    const incident = this.#incidents.get(incidentId);
    return incident?.organizationId === organizationId ? incident : undefined;
  }

  async listIncidents(organizationId: string, filter: IncidentFilter): Promise<{ items: Incident[]; next: string | null }> {
    const all = this.#db.data.incidents;
    const items: Incident[] = [];
    // Newest first; ids sort in the order incidents were opened, and the list is kept in insertion order.
    const ordered = all.filter((i) => i.organizationId === organizationId).sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    for (const incident of ordered) {
      if (filter.before !== undefined && incident.id >= filter.before) continue;
      if (filter.keyId !== undefined && incident.keyId !== filter.keyId) continue;
      if (items.length === filter.limit) return { items, next: items[items.length - 1]!.id };
      items.push(incident);
    }
    return { items, next: null };
  }

  async pendingIncidents(limit: number): Promise<Incident[]> {
    return this.#db.data.incidents.filter((i) => i.state === 'pending').slice(0, limit);
  }

  // ---- the change feed: positions are indexes (from 1) into the append-only audit list ----

  async listKeyEvents(organizationId: string, filter: KeyEventFilter): Promise<KeyEvent[]> {
    const events = this.#db.data.audit;
    const items: KeyEvent[] = [];
    const durable = Math.min(events.length, this.#durableAudit);
    for (let i = Math.max(0, filter.after); i < durable && items.length < filter.limit; i++) {
      const event = events[i]!;
      if (event.organizationId !== organizationId || !isKeyFeedAction(event.action)) continue;
      const metadata = this.#keysById.get(event.targetId)?.metadata ?? {};
      if (filter.operatorManaged && !isOperatorManaged({ metadata })) continue;
      items.push({ seq: i + 1, event, metadata });
    }
    return items;
  }

  async latestKeyEvent(): Promise<number> {
    return this.#durableAudit;
  }

  onKeyEvents(listener: () => void): () => void {
    this.#keyEventListeners.add(listener);
    return () => this.#keyEventListeners.delete(listener);
  }

  async listAudit(organizationId: string, filter: AuditFilter): Promise<{ items: AuditEvent[]; next: string | null }> {
    const events = this.#db.data.audit;
    const items: AuditEvent[] = [];
    for (let i = events.length - 1; i >= 0; i--) {
      const event = events[i]!;
      if (event.organizationId !== organizationId) continue;
      if (filter.before !== undefined && event.id >= filter.before) continue;
      if (filter.action !== undefined && event.action !== filter.action) continue;
      if (filter.actorKeyId !== undefined && event.actorKeyId !== filter.actorKeyId) continue;
      if (filter.targetId !== undefined && event.targetId !== filter.targetId) continue;
      if (filter.from !== undefined && event.at < filter.from) continue;
      if (filter.to !== undefined && event.at > filter.to) continue;
      if (items.length === filter.limit) return { items, next: items[items.length - 1]!.id };
      items.push(event);
    }
    return { items, next: null };
  }

  // ---- roles and permissions ----

  async listCustomRoles(organizationId: string): Promise<CustomRole[]> {
    return this.#db.data.roles.filter((role) => role.organizationId === organizationId);
  }

  async getCustomRole(organizationId: string, roleId: string): Promise<CustomRole | undefined> {
    return this.#roles.get(roleKey(organizationId, roleId));
  }

  #requireRole(organizationId: string, roleId: string): CustomRole {
    const role = this.#roles.get(roleKey(organizationId, roleId));
    if (!role) throw rules.roleNotFound(roleId);
    return role;
  }

  async insertCustomRole(role: CustomRole, audit: Audit): Promise<void> {
    if (this.#roles.has(roleKey(role.organizationId, role.id))) throw rules.roleExists(role.id);
    await this.#change({ t: 'role', v: role }, { t: 'audit', v: audit });
  }

  async updateCustomRole(organizationId: string, roleId: string, patch: RolePatch, now: string, audit: Audit): Promise<CustomRole> {
    const role = this.#requireRole(organizationId, roleId);
    const changes = changesOf(role, patch);
    await this.#change({ t: 'role', v: { ...applyPatch(role, patch), updatedAt: now } }, { t: 'audit', v: { ...audit, changes } });
    return role;
  }

  async deleteCustomRole(organizationId: string, roleId: string, audit: Audit): Promise<void> {
    this.#requireRole(organizationId, roleId);
    const holders = (this.#keysByOrg.get(organizationId) ?? []).filter((key) => rules.holdsRole(key, roleId));
    rules.refuse(rules.roleDeleteRefusal(roleId, { count: holders.length, keyIds: holders.slice(0, rules.ROLE_HOLDERS_NAMED).map((key) => key.id) }));
    const members = this.people.holdersOf(organizationId, roleId);
    if (members.length > 0) throw memberRoleInUse(roleId, members.slice(0, rules.ROLE_HOLDERS_NAMED).map((member) => member.id));
    const invitations = this.people.pendingInvitationsFor(organizationId, roleId, Date.parse(audit.at));
    if (invitations.length > 0) throw invitationRoleInUse(roleId, invitations.slice(0, rules.ROLE_HOLDERS_NAMED).map((invitation) => invitation.id));
    await this.#change({ t: 'role-', org: organizationId, id: roleId }, { t: 'audit', v: audit });
  }

  async listCustomPermissions(organizationId: string): Promise<CustomPermission[]> {
    return this.#db.data.permissions.filter((p) => p.organizationId === organizationId);
  }

  async insertCustomPermission(permission: CustomPermission, audit: Audit): Promise<void> {
    const exists = this.#db.data.permissions.some(
      (p) => p.organizationId === permission.organizationId && p.name === permission.name,
    );
    if (exists) throw rules.permissionExists(permission.name);
    await this.#change({ t: 'perm', v: permission }, { t: 'audit', v: audit });
  }
}
