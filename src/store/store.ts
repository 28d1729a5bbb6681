/**
 * The contract both store adapters implement (lowdb: one file, one process;
 * PostgreSQL: many replicas). Operations are shaped like SQL statements: each
 * one is atomic on its own and enforces the invariants it names (the rules
 * themselves, and their wording, are in rules.ts), so callers never
 * read-modify-write.
 */
import type { MaybePromise } from '../core/maybe.ts';
import type { AddressUse, AuditAction, AuditEvent, CustomPermission, CustomRole, Incident, IncidentAction, KeyRecord, KeyStatus, NotificationAttempt, Organization, UsageCount } from '../core/model.ts';
import type { RecentClient, Retirement, RetirementEnd } from '../core/retirement.ts';
import type { Environment } from '../core/rotation.ts';
import type { PeopleStore } from './people-store.ts';

export interface KeyCursor {
  createdAt: string;
  id: string;
}

export interface KeyFilter {
  status: KeyStatus | 'all';
  roleId?: string | undefined;
  environment?: Environment | undefined;
  limit: number;
  after?: KeyCursor | undefined;
  now: number;
  /** Only keys not used since this time (never-used keys count from their creation). */
  unusedSince?: string | undefined;
  /** Only keys whose rotation is due before this time. */
  rotationDueBefore?: string | undefined;
}

export interface KeyPage {
  items: KeyRecord[];
  next: KeyCursor | null;
}

export interface InsertKeyOptions {
  /** Most active keys the organization may hold, checked atomically with the insert; null = unlimited. */
  activeLimit: number | null;
  now: number;
}

export interface RotateKeyInput {
  organizationId: string;
  keyId: string;
  /** Its expiresAt is set by the store: the deadline of the key it replaces (rules.ts, rotationExpiries). */
  successor: KeyRecord;
  /** When the grace period ends (now + grace): the old key stops then, or at its own expiry if that is sooner. */
  previousExpiresAt: string;
  /** Plan limit; the old key, on its way out, does not count (rules.ts, countsAgainstLimit). */
  activeLimit: number | null;
  now: number;
  /** How the old key ends (core/retirement.ts), set on it with the rotation. */
  retirement: Retirement;
}

/** The service ending a whenUnused transition (core/retirement.ts, retirementDecision). */
export interface EndRetirementInput {
  organizationId: string;
  keyId: string;
  endedAt: string;
  /** unused: the key is revoked at endedAt; deadline: it already expired, only the end is recorded. */
  endedBy: RetirementEnd;
  /** The old key's last use the decision saw: an unused end applies only if no later use was stored since. */
  lastUsedAt: string | null;
}

export type KeyPatch = Partial<Pick<KeyRecord, 'name' | 'roleId' | 'ipAllowlist' | 'metadata'>>;
export type RolePatch = Partial<Pick<CustomRole, 'name' | 'description' | 'permissions'>>;
export type OrganizationPatch = Partial<Pick<Organization, 'name' | 'plan' | 'ipAllowlist' | 'rotationDays' | 'maxGracePeriod' | 'leakPolicy'>>;

/**
 * Each mutation takes the audit event that records it and stores both in one
 * atomic step; for edits the store fills in `changes` (before/after of the
 * fields that changed).
 */
export type Audit = AuditEvent;

export interface AuditFilter {
  action?: AuditAction | undefined;
  actorKeyId?: string | undefined;
  targetId?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  limit: number;
  /** Newest first: only events with an id below this one. */
  before?: string | undefined;
}

export interface UsageFilter {
  keyId?: string | undefined;
  /** Inclusive UTC days, YYYY-MM-DD. */
  from: string;
  to: string;
}

/** Usage seen since the last flush, merged into the stored records. */
export interface UsageUpdate {
  keyId: string;
  lastUsedAt: string;
  lastUsedIp: string | null;
  /** The clients seen since the last flush (merged into the stored ones, bounded). */
  clients: RecentClient[];
}

export interface CompromiseInput {
  organizationId: string;
  keyId: string;
  /** When the key stops (revokedAt). */
  at: string;
  /** The replacement to insert in the same step (same role and settings; it takes the revoked key's place, so no plan check), or null. */
  replacement: KeyRecord | null;
  /** The incident, written whole: a new one, or a leak report accepted earlier (same id). */
  incident: Incident;
}

export interface IncidentUpdate {
  state?: Incident['state'];
  replacementKeyId?: string | null;
  /** Appended to the incident's actions. */
  actions?: IncidentAction[];
  /** Appended to its delivery attempts. */
  notifications?: NotificationAttempt[];
}

export interface IncidentFilter {
  keyId?: string | undefined;
  limit: number;
  /** Newest first: only incidents with an id below this one. */
  before?: string | undefined;
}

/** One entry of the change feed: a key's audit record, its position, and the key's metadata. */
export interface KeyEvent {
  seq: number;
  event: AuditEvent;
  metadata: KeyRecord['metadata'];
}

export interface KeyEventFilter {
  /** Only entries after this position. */
  after: number;
  limit: number;
  /** Only keys the Kubernetes operator manages (model.ts, isOperatorManaged). */
  operatorManaged: boolean;
}

/**
 * The reads that decide whether a request may go on: the caller's key, its
 * organization and role, and the key /v1/verify is asked about. Answered
 * synchronously when the store holds the answer in memory (lowdb always;
 * PostgreSQL from each replica's cache, which LISTEN/NOTIFY and a periodic
 * poll keep current), else with a promise: a cache miss is a promise, never
 * an error. Decisions about a change read through the operations below
 * instead, which see every commit.
 */
export interface AuthReads {
  keyByHash(secretHash: string): MaybePromise<KeyRecord | undefined>;
  organization(id: string): MaybePromise<Organization | undefined>;
  customRole(organizationId: string, roleId: string): MaybePromise<CustomRole | undefined>;
}

export interface Store {
  readonly kind: string;
  readonly reads: AuthReads;
  /** Members, invitations, sessions, passkeys and sign-in ceremonies. */
  readonly people: PeopleStore;
  close(): Promise<void>;
  /** Reports each physical write: how many mutations it carried and how long it took. */
  observeWrites(callback: (mutations: number, ms: number) => void): void;

  /**
   * With `onlyIfNone`, creates it only in an empty store, atomically (so replicas
   * starting together on an empty database bootstrap once); returns whether it did.
   */
  createOrganization(org: Organization, adminKey: KeyRecord, audit: Audit, options?: { onlyIfNone?: boolean }): Promise<boolean>;
  listOrganizations(): Promise<Organization[]>;
  /** Throws ORGANIZATION_NOT_FOUND. */
  updateOrganization(id: string, patch: OrganizationPatch, audit: Audit): Promise<Organization>;
  /** Keys that count against the plan (rules.ts, countsAgainstLimit). */
  countActiveKeys(organizationId: string, now: number): Promise<number>;

  getKey(organizationId: string, keyId: string): Promise<KeyRecord | undefined>;
  /** The organization's keys among these ids (any status), in no particular order; ids it has no key for are left out. */
  getKeys(organizationId: string, keyIds: readonly string[]): Promise<KeyRecord[]>;
  /** A key whatever its organization: for the service's own bookkeeping, never for a caller's request. */
  findKeyById(keyId: string): Promise<KeyRecord | undefined>;
  listKeys(organizationId: string, filter: KeyFilter): Promise<KeyPage>;
  /** Throws KEY_LIMIT_REACHED or IDEMPOTENCY_KEY_REUSED; both checks are atomic with the insert. */
  insertKey(key: KeyRecord, options: InsertKeyOptions, audit: Audit): Promise<void>;
  /**
   * Throws KEY_NOT_FOUND, KEY_NOT_ACTIVE for a revoked or expired key, or
   * LAST_ADMIN_KEY when it would move an all-granting key to another role
   * with no other one left that works as long (rules.remainingAdmin; checked
   * atomically with the change).
   */
  updateKey(organizationId: string, keyId: string, patch: KeyPatch, now: number, audit: Audit): Promise<KeyRecord>;
  /** Throws KEY_NOT_FOUND, KEY_ALREADY_REVOKED, or LAST_ADMIN_KEY for an all-granting key no other one outlasts (rules.remainingAdmin; atomically). */
  revokeKey(organizationId: string, keyId: string, at: string, audit: Audit): Promise<KeyRecord>;
  /**
   * Inserts the successor and sets both expiries (rules.ts, rotationExpiries) in one step.
   * Throws KEY_NOT_FOUND, KEY_NOT_ACTIVE, KEY_ALREADY_ROTATED, KEY_LIMIT_REACHED.
   */
  rotateKey(input: RotateKeyInput, audit: Audit): Promise<{ previous: KeyRecord; successor: KeyRecord }>;
  /** Keys with a whenUnused transition still open (not ended, not revoked), of every organization: the service's sweep. */
  listOpenRetirements(limit: number): Promise<KeyRecord[]>;
  /**
   * Ends a transition, atomically, if it is still open and (for unused) the
   * key was not used after `lastUsedAt` nor would leave the organization
   * without a working admin key; the audit event is stored with it. Returns
   * the key as ended, or undefined when it did not apply.
   */
  endRetirement(input: EndRetirementInput, audit: Audit): Promise<KeyRecord | undefined>;
  /**
   * Merges last-used times and adds request counts and address rows (upsert:
   * counts add up, first/last seen widen), in one write. An address row new
   * to its key and day is added only while the key has fewer than
   * MAX_ADDRESS_ROWS_PER_KEY_DAY rows that day (replicas flushing the same
   * key and day at the same moment may each add up to that remainder).
   */
  recordUsage(updates: UsageUpdate[], counts: UsageCount[], addresses?: AddressUse[]): Promise<void>;
  listUsage(organizationId: string, filter: UsageFilter): Promise<UsageCount[]>;
  /** The address rows of the organization (one key's, with keyId) on the days of the filter. */
  listAddressUses(organizationId: string, filter: UsageFilter): Promise<AddressUse[]>;
  /** Which of `ips` a key of the organization other than `keyId` was used from on the days of the filter. */
  addressesOfOtherKeys(organizationId: string, keyId: string, ips: readonly string[], filter: Pick<UsageFilter, 'from' | 'to'>): Promise<string[]>;

  /**
   * Revokes the key, inserts the replacement (if any) and writes the incident
   * and the audit events, in one atomic step. Throws KEY_NOT_FOUND,
   * KEY_ALREADY_REVOKED, or LAST_ADMIN_KEY when no replacement keeps an admin.
   */
  compromiseKey(input: CompromiseInput, audits: Audit[]): Promise<{ revoked: KeyRecord; replacement: KeyRecord | null; incident: Incident }>;
  /** Inserts the incidents whose dedupeKey is new in their organization (atomically); returns those it inserted. */
  insertIncidents(incidents: Incident[]): Promise<Incident[]>;
  /** Throws INCIDENT_NOT_FOUND. The audit event, if any, is written in the same step. */
  updateIncident(organizationId: string, incidentId: string, update: IncidentUpdate, audit?: Audit): Promise<Incident>;
  getIncident(organizationId: string, incidentId: string): Promise<Incident | undefined>;
  listIncidents(organizationId: string, filter: IncidentFilter): Promise<{ items: Incident[]; next: string | null }>;
  /** Incidents accepted but not acted on yet, of every organization (for the service's own processing, oldest first). */
  pendingIncidents(limit: number): Promise<Incident[]>;

  /** The change feed: key audit records of the organization after a position, in commit order. */
  listKeyEvents(organizationId: string, filter: KeyEventFilter): Promise<KeyEvent[]>;
  /** The position of the organization's latest key event (0 when none): where following from now starts. */
  latestKeyEvent(organizationId: string): Promise<number>;
  /** Calls `listener` (no arguments) when key events may have been written, here or by another replica; returns the unsubscribe. */
  onKeyEvents(listener: () => void): () => void;

  appendAudit(event: AuditEvent): Promise<void>;
  /** Newest first. */
  listAudit(organizationId: string, filter: AuditFilter): Promise<{ items: AuditEvent[]; next: string | null }>;

  listCustomRoles(organizationId: string): Promise<CustomRole[]>;
  /** As committed (for changes: the role a key is given, an escalation check); `reads.customRole` may lag by the cache's bound. */
  getCustomRole(organizationId: string, roleId: string): Promise<CustomRole | undefined>;
  /** Throws ROLE_EXISTS. */
  insertCustomRole(role: CustomRole, audit: Audit): Promise<void>;
  /** Throws ROLE_NOT_FOUND. */
  updateCustomRole(organizationId: string, roleId: string, patch: RolePatch, now: string, audit: Audit): Promise<CustomRole>;
  /** Throws ROLE_NOT_FOUND, or ROLE_IN_USE while a key that is not revoked holds it. */
  deleteCustomRole(organizationId: string, roleId: string, audit: Audit): Promise<void>;

  listCustomPermissions(organizationId: string): Promise<CustomPermission[]>;
  /** Throws PERMISSION_EXISTS. */
  insertCustomPermission(permission: CustomPermission, audit: Audit): Promise<void>;
}

/** The before/after of the fields a patch really changes (for audit records). */
export function changesOf<T extends object>(current: T, patch: Partial<T>): { before: Record<string, unknown>; after: Record<string, unknown> } {
  const before: Record<string, unknown> = {};
  const after: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(patch)) {
    const old = (current as Record<string, unknown>)[field];
    if (value !== undefined && JSON.stringify(old) !== JSON.stringify(value)) {
      before[field] = old;
      after[field] = value;
    }
  }
  return { before, after };
}

/** A record with a patch applied: the fields the patch sets (an undefined field changes nothing), the rest as they were. */
export function applyPatch<T extends object>(current: T, patch: Partial<NoInfer<T>>): T {
  const next = { ...current };
  for (const [field, value] of Object.entries(patch)) if (value !== undefined) (next as Record<string, unknown>)[field] = value;
  return next;
}

export const compareKeyOrder = (a: KeyCursor, b: KeyCursor): number =>
  a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
