/**
 * The invariants both stores enforce, as pure decisions over records, each
 * worded once, so the lowdb and PostgreSQL adapters agree by construction:
 * which keys may be changed or revoked, idempotency, what counts against a
 * plan, what a rotation does to expiries, that an organization keeps one key
 * that holds every permission, and when a role may be deleted. Each adapter
 * locks and reads the records under its own atomicity (one synchronous step
 * in lowdb; row locks in PostgreSQL), asks the rule, and writes or throws
 * what the rule answered. A refusal is a KeywardError returned, not thrown,
 * so a rule is a plain function of what was read.
 */
import { KeywardError } from '../core/errors.ts';
import { keyStatus, type AuditEvent, type Incident, type KeyRecord } from '../core/model.ts';
import { grantsEverything } from '../core/permissions.ts';
import type { EndRetirementInput } from './store.ts';

/** What the adapters do with a rule's answer: throw the refusal, if there is one. */
export function refuse(refusal: KeywardError | undefined): void {
  if (refusal) throw refusal;
}

// ---- what is not there ----

export const keyNotFound = (keyId: string): KeywardError => new KeywardError('KEY_NOT_FOUND', `No key ${keyId} in this organization.`);
export const organizationNotFound = (id: string): KeywardError => new KeywardError('ORGANIZATION_NOT_FOUND', `No organization ${id}.`);
export const roleNotFound = (roleId: string): KeywardError => new KeywardError('ROLE_NOT_FOUND', `No custom role "${roleId}" in this organization.`);
/** A role id that is neither built in nor the organization's own (looking one up, where either kind will do). */
export const unknownRole = (roleId: string): KeywardError => new KeywardError('ROLE_NOT_FOUND', `No role "${roleId}" in this organization.`);
export const incidentNotFound = (incidentId: string): KeywardError => new KeywardError('INCIDENT_NOT_FOUND', `No incident ${incidentId} in this organization.`);

// ---- the store itself ----

/** Any operation after close(). */
export const storeClosed = (): KeywardError => new KeywardError('SERVICE_UNAVAILABLE', 'The store is closed.');

// ---- keys ----

/** Only a working key (not revoked, not expired) may be edited or rotated. */
export function changeRefusal(key: KeyRecord, now: number, change: 'edited' | 'rotated'): KeywardError | undefined {
  const status = keyStatus(key, now);
  return status === 'active' ? undefined : new KeywardError('KEY_NOT_ACTIVE', `Key ${key.id} is ${status} and cannot be ${change}.`);
}

/** A key is revoked once. */
export function revokeRefusal(key: KeyRecord): KeywardError | undefined {
  return key.revokedAt === null ? undefined : new KeywardError('KEY_ALREADY_REVOKED', `Key ${key.id} was already revoked at ${key.revokedAt}.`);
}

/** An idempotency key makes one key: a retry learns which one it made (and its state now). */
export function idempotencyRefusal(existing: KeyRecord | undefined, now: number): KeywardError | undefined {
  if (!existing) return undefined;
  return new KeywardError('IDEMPOTENCY_KEY_REUSED', `Key ${existing.id} was already created with this idempotency key.`, {
    details: { keyId: existing.id, status: keyStatus(existing, now) },
  });
}

/** A new key may not take the organization past its plan (`active` counted as countsAgainstLimit says). */
export function insertLimitRefusal(active: number, limit: number | null): KeywardError | undefined {
  return limit !== null && active >= limit ? keyLimitError(active, limit) : undefined;
}

const working = (key: KeyRecord | undefined, now: number): key is KeyRecord => key !== undefined && keyStatus(key, now) === 'active';

/**
 * Whether a key counts against its plan's limit. Every working key (not
 * revoked, not expired) counts, except the one overlap a rotation leaves: a
 * key whose successor works and has not been rotated itself. So working keys
 * never exceed twice the limit, and each free overlap ends with its grace
 * period (at most the organization's maxGracePeriod).
 */
export function countsAgainstLimit(key: KeyRecord, successor: KeyRecord | undefined, now: number): boolean {
  if (!working(key, now)) return false;
  if (key.rotatedToId === null) return true;
  return !(working(successor, now) && successor.rotatedToId === null);
}

/**
 * How many keys rotating `key` adds to the count (0 or 1): its successor takes
 * its place, but a predecessor still in its grace period (free while `key` was
 * the newest) counts once `key` is rotated.
 */
export function rotationAddsToCount(key: KeyRecord, predecessor: KeyRecord | undefined, now: number): number {
  const freeOverlap = key.rotatedToId === null && working(predecessor, now) && predecessor.rotatedToId === key.id;
  return freeOverlap ? 1 : 0;
}

function keyLimitError(active: number, limit: number): KeywardError {
  return new KeywardError(
    'KEY_LIMIT_REACHED',
    `Can't create more keys: this organization has ${active} active keys and its plan allows ${limit}. ` +
      'Revoke unused keys or upgrade the plan.',
    { details: { active, limit } },
  );
}

/**
 * Refuses a rotation that would make a still-working predecessor count past the
 * limit (asked only when rotationAddsToCount says the rotation adds one).
 */
export function rotationLimitRefusal(key: KeyRecord, predecessor: KeyRecord, active: number, limit: number): KeywardError | undefined {
  if (active + 1 <= limit) return undefined;
  return new KeywardError(
    'KEY_LIMIT_REACHED',
    `Can't rotate ${key.id} yet: ${predecessor.id}, which it replaced, still works until ${predecessor.expiresAt ?? 'it is revoked'} and would then count ` +
      `against the plan (${active + 1} active keys; the plan allows ${limit}). Revoke ${predecessor.id}, wait for it to expire, or upgrade the plan.`,
    { details: { active, limit, predecessorId: predecessor.id } },
  );
}

const earlier = (a: string | null, b: string): string => (a !== null && Date.parse(a) < Date.parse(b) ? a : b);

/**
 * A key is rotated once; but if its successor was revoked (its secret never
 * delivered, say), it may be rotated again.
 */
export function rotationRefusal(previous: KeyRecord, priorSuccessor: KeyRecord | undefined): KeywardError | undefined {
  if (previous.rotatedToId === null || (priorSuccessor !== undefined && priorSuccessor.revokedAt !== null)) return undefined;
  return new KeywardError('KEY_ALREADY_ROTATED', `Key ${previous.id} was already rotated to ${previous.rotatedToId}.`, {
    details: { successorId: previous.rotatedToId },
  });
}

/**
 * The expiries a rotation sets (one rotationRefusal allows). The old key stops
 * at the end of the grace period, or at its own expiry if that is sooner: a
 * rotation never moves an expiry later. The successor inherits the absolute
 * deadline of the key it replaces: a rotation replaces a secret, it does not
 * renew its lifetime. Rotated again after its successor was revoked, the old
 * key's expiry already holds the first grace period's end, which only ever
 * moves sooner, and the deadline to hand on is the one the revoked successor
 * inherited.
 */
export function rotationExpiries(
  previous: KeyRecord,
  priorSuccessor: KeyRecord | undefined,
  graceEndsAt: string,
): { previousExpiresAt: string; successorExpiresAt: string | null } {
  const deadline = previous.rotatedToId !== null && priorSuccessor !== undefined ? priorSuccessor.expiresAt : previous.expiresAt;
  return { previousExpiresAt: earlier(previous.expiresAt, graceEndsAt), successorExpiresAt: deadline };
}

/** The rotation's audit event with the expiries the store really set. */
export function withRotationExpiries(audit: AuditEvent, expiries: ReturnType<typeof rotationExpiries>): AuditEvent {
  return { ...audit, changes: { ...audit.changes, after: { ...audit.changes?.after, ...expiries } } };
}

/** A key that works now and whose role grants every permission. */
export const isWorkingAdmin = (key: KeyRecord, now: number): boolean => grantsEverything(key.roleId) && working(key, now);

/** Whether `other` works at least as long as `key` does (no expiry outlasts any). */
export const outlasts = (other: KeyRecord, key: KeyRecord): boolean =>
  other.expiresAt === null || (key.expiresAt !== null && Date.parse(other.expiresAt) >= Date.parse(key.expiresAt));

/**
 * Whether `other` may be the admin key that remains when `key` is taken away:
 * a working admin key that works at least as long as `key`. So the latest an
 * organization's admin keys work never moves sooner: an organization that has
 * an admin key without expiry keeps one, and a rotated admin key still in its
 * grace period (or one created with an expiry) cannot be the one that remains
 * when the last lasting one is revoked (it would end the organization's admin
 * access when it expires).
 */
export const remainingAdmin = (other: KeyRecord, key: KeyRecord, now: number): boolean =>
  other.id !== key.id && other.organizationId === key.organizationId && isWorkingAdmin(other, now) && outlasts(other, key);

/** Whether revoking `key` (or moving it to `newRoleId`) takes a working admin key away, so another must remain. */
export function removesAnAdmin(key: KeyRecord, now: number, newRoleId?: string): boolean {
  return isWorkingAdmin(key, now) && (newRoleId === undefined || !grantsEverything(newRoleId));
}

/** Refuses taking a working admin key away (see removesAnAdmin) unless another one remains. */
export function lastAdminRefusal(key: KeyRecord, change: 'revoke' | 'demote', anotherRemains: boolean): KeywardError | undefined {
  return anotherRemains ? undefined : lastAdminError(key, change);
}

function lastAdminError(key: KeyRecord, change: 'revoke' | 'demote'): KeywardError {
  const what = change === 'revoke' ? 'Revoking it' : 'Changing its role';
  const lasting = key.expiresAt === null ? 'without an expiry' : `working until ${key.expiresAt}`;
  return new KeywardError(
    'LAST_ADMIN_KEY',
    `Key ${key.id} is the last active admin key of this organization ${lasting}. ${what} would leave no key that can manage every key and role ` +
      '(any other admin key expires sooner), and nothing in the API could bring one back.',
    { details: { keyId: key.id, expiresAt: key.expiresAt } },
  );
}

// ---- roles and permissions ----

/** How many of the keys holding a role a ROLE_IN_USE refusal names. */
export const ROLE_HOLDERS_NAMED = 20;

/** A key that keeps its role from being deleted: any key not revoked (an expired key may still be looked at, and shows its role). */
export const holdsRole = (key: KeyRecord, roleId: string): boolean => key.roleId === roleId && key.revokedAt === null;

/** A custom role is deleted only once no key holds it (`holders`: how many do, and the first ROLE_HOLDERS_NAMED of them by creation). */
export function roleDeleteRefusal(roleId: string, holders: { count: number; keyIds: readonly string[] }): KeywardError | undefined {
  if (holders.count === 0) return undefined;
  return new KeywardError('ROLE_IN_USE', `Role "${roleId}" is still assigned to ${holders.count} key(s).`, {
    details: { keyIds: holders.keyIds.slice(0, ROLE_HOLDERS_NAMED) },
  });
}

export const roleExists = (roleId: string): KeywardError => new KeywardError('ROLE_EXISTS', `Role "${roleId}" already exists.`);
/** A custom role may not take a built-in role's id (checked before the store is asked: built-in roles are not stored). */
export const builtinRoleExists = (roleId: string): KeywardError => new KeywardError('ROLE_EXISTS', `"${roleId}" is a built-in role.`);
export const permissionExists = (name: string): KeywardError => new KeywardError('PERMISSION_EXISTS', `Permission "${name}" already exists.`);

/** Whether a whenUnused transition is open: the service's sweep looks at these. */
export const hasOpenRetirement = (key: KeyRecord): boolean =>
  key.retirement !== null && key.retirement.revokeOld === 'whenUnused' && key.retirement.endedAt === null && key.revokedAt === null;

/**
 * Whether the service's end of a transition still applies to the key as
 * stored: still open, and for an unused end no later use stored since the
 * decision (another replica's flush) nor the organization's last working admin
 * key (its successor revoked meanwhile). The key as ended, or undefined.
 */
export function endedRetirement(key: KeyRecord, input: EndRetirementInput, anotherAdminRemains: boolean): KeyRecord | undefined {
  if (!hasOpenRetirement(key)) return undefined;
  const retirement = { ...key.retirement!, endedAt: input.endedAt, endedBy: input.endedBy };
  if (input.endedBy === 'deadline') return { ...key, retirement };
  if (key.lastUsedAt !== input.lastUsedAt) return undefined;
  if (removesAnAdmin(key, Date.parse(input.endedAt)) && !anotherAdminRemains) return undefined;
  return { ...key, retirement, revokedAt: input.endedAt };
}

/** An incident after an update: state and replacement set, actions and delivery attempts appended (both stores). */
export function updatedIncident(current: Incident, update: { state?: Incident['state']; replacementKeyId?: string | null; actions?: Incident['actions']; notifications?: Incident['notifications'] }): Incident {
  return {
    ...current,
    ...(update.state !== undefined ? { state: update.state } : {}),
    ...(update.replacementKeyId !== undefined ? { replacementKeyId: update.replacementKeyId } : {}),
    actions: [...current.actions, ...(update.actions ?? [])],
    notifications: [...current.notifications, ...(update.notifications ?? [])],
  };
}
