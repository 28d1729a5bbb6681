/**
 * The invariants both stores enforce, as pure decisions over records, so the
 * lowdb and PostgreSQL adapters agree by construction: what counts against a
 * plan, what a rotation does to expiries, and that an organization keeps one
 * key that holds every permission. Each store gathers the records under its
 * own atomicity (one synchronous step; row locks) and acts on the answer.
 */
import { KeywardError } from '../core/errors.ts';
import { keyStatus, type AuditEvent, type KeyRecord } from '../core/model.ts';
import { grantsEverything } from '../core/permissions.ts';

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

export function keyLimitError(active: number, limit: number): KeywardError {
  return new KeywardError(
    'KEY_LIMIT_REACHED',
    `Can't create more keys: this organization has ${active} active keys and its plan allows ${limit}. ` +
      'Revoke unused keys or upgrade the plan.',
    { details: { active, limit } },
  );
}

/** Refuses a rotation that would make a still-working predecessor count past the limit. */
export function rotationLimitError(key: KeyRecord, predecessor: KeyRecord, active: number, limit: number): KeywardError {
  return new KeywardError(
    'KEY_LIMIT_REACHED',
    `Can't rotate ${key.id} yet: ${predecessor.id}, which it replaced, still works until ${predecessor.expiresAt ?? 'it is revoked'} and would then count ` +
      `against the plan (${active + 1} active keys; the plan allows ${limit}). Revoke ${predecessor.id}, wait for it to expire, or upgrade the plan.`,
    { details: { active, limit, predecessorId: predecessor.id } },
  );
}

const earlier = (a: string | null, b: string): string => (a !== null && Date.parse(a) < Date.parse(b) ? a : b);

/**
 * The expiries a rotation sets. The old key stops at the end of the grace
 * period, or at its own expiry if that is sooner: a rotation never moves an
 * expiry later. The successor inherits the absolute deadline of the key it
 * replaces: a rotation replaces a secret, it does not renew its lifetime.
 *
 * A key is rotated once; but if its successor was revoked (its secret never
 * delivered, say), it may be rotated again. Its expiry then already holds the
 * first grace period's end, which only ever moves sooner, and the deadline to
 * hand on is the one the revoked successor inherited.
 */
export function rotationExpiries(
  previous: KeyRecord,
  priorSuccessor: KeyRecord | undefined,
  graceEndsAt: string,
): { previousExpiresAt: string; successorExpiresAt: string | null } {
  let deadline = previous.expiresAt;
  if (previous.rotatedToId !== null) {
    if (priorSuccessor === undefined || priorSuccessor.revokedAt === null) {
      throw new KeywardError('KEY_ALREADY_ROTATED', `Key ${previous.id} was already rotated to ${previous.rotatedToId}.`, {
        details: { successorId: previous.rotatedToId },
      });
    }
    deadline = priorSuccessor.expiresAt;
  }
  return { previousExpiresAt: earlier(previous.expiresAt, graceEndsAt), successorExpiresAt: deadline };
}

/** The rotation's audit event with the expiries the store really set. */
export function withRotationExpiries(audit: AuditEvent, expiries: ReturnType<typeof rotationExpiries>): AuditEvent {
  return { ...audit, changes: { ...audit.changes, after: { ...audit.changes?.after, ...expiries } } };
}

/** A key that works now and whose role grants every permission. */
export const isWorkingAdmin = (key: KeyRecord, now: number): boolean => grantsEverything(key.roleId) && working(key, now);

/** Whether revoking `key` (or moving it to `newRoleId`) takes a working admin key away, so another must remain. */
export function removesAnAdmin(key: KeyRecord, now: number, newRoleId?: string): boolean {
  return isWorkingAdmin(key, now) && (newRoleId === undefined || !grantsEverything(newRoleId));
}

export function lastAdminError(key: KeyRecord, change: 'revoke' | 'demote'): KeywardError {
  const what = change === 'revoke' ? 'Revoking it' : 'Changing its role';
  return new KeywardError(
    'LAST_ADMIN_KEY',
    `Key ${key.id} is the last active admin key of this organization. ${what} would leave no key that can manage every key and role, and nothing in the API could bring one back.`,
    { details: { keyId: key.id } },
  );
}
