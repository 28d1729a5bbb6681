/** The invariants both stores share, as pure decisions (src/store/rules.ts). */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { issueKey } from '../../src/core/issue.ts';
import type { KeyRecord } from '../../src/core/model.ts';
import {
  changeRefusal,
  countsAgainstLimit,
  holdsRole,
  idempotencyRefusal,
  insertLimitRefusal,
  isWorkingAdmin,
  lastAdminRefusal,
  remainingAdmin,
  removesAnAdmin,
  revokeRefusal,
  roleDeleteRefusal,
  rotationAddsToCount,
  rotationExpiries,
  rotationLimitRefusal,
  rotationRefusal,
} from '../../src/store/rules.ts';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const at = (hours: number) => new Date(NOW + hours * 3_600_000).toISOString();
const key = (patch: Partial<KeyRecord> = {}): KeyRecord => ({
  ...issueKey({ organizationId: 'org_x', name: 'k', roleId: 'viewer', environment: 'production', createdBy: null, tokenPrefix: 'kw_', rotationDays: {}, now: new Date(NOW) }).record,
  ...patch,
});

describe('rotation expiries', () => {
  it('the successor inherits the deadline; the old key stops at the end of the grace period or its own expiry, whichever is sooner', () => {
    expect(rotationExpiries(key({ expiresAt: at(1) }), undefined, at(24))).toEqual({ previousExpiresAt: at(1), successorExpiresAt: at(1) });
    expect(rotationExpiries(key({ expiresAt: at(48) }), undefined, at(24))).toEqual({ previousExpiresAt: at(24), successorExpiresAt: at(48) });
    expect(rotationExpiries(key(), undefined, at(24))).toEqual({ previousExpiresAt: at(24), successorExpiresAt: null });
  });

  it('rotating again after the successor was revoked never moves an expiry later, and hands on the deadline the successor had', () => {
    const revoked = key({ expiresAt: at(10), revokedAt: at(0) });
    const old = key({ expiresAt: at(2), rotatedToId: revoked.id });
    expect(rotationExpiries(old, revoked, at(24 * 365 * 10))).toEqual({ previousExpiresAt: at(2), successorExpiresAt: at(10) });
    expect(rotationExpiries(old, revoked, at(1))).toEqual({ previousExpiresAt: at(1), successorExpiresAt: at(10) });
  });

  it('a key whose successor still stands is not rotated again; one whose successor was revoked is', () => {
    const successor = key();
    const rotated = key({ rotatedToId: successor.id });
    expect(rotationRefusal(rotated, successor)).toMatchObject({ code: 'KEY_ALREADY_ROTATED', details: { successorId: successor.id } });
    expect(rotationRefusal(rotated, { ...successor, revokedAt: at(0) })).toBeUndefined();
    expect(rotationRefusal(key(), undefined)).toBeUndefined();
  });
});

describe('what counts against a plan', () => {
  it('every working key, except the one overlap of a successor that works and was not rotated itself', () => {
    const head = key();
    const overlap = key({ rotatedToId: head.id, expiresAt: at(1) });
    expect(countsAgainstLimit(head, undefined, NOW)).toBe(true);
    expect(countsAgainstLimit(overlap, head, NOW)).toBe(false);
    // Its successor rotated in turn: the older key counts again.
    expect(countsAgainstLimit(overlap, { ...head, rotatedToId: 'key_next' }, NOW)).toBe(true);
    // Its successor revoked: it is the key in use again.
    expect(countsAgainstLimit(overlap, { ...head, revokedAt: at(-1) }, NOW)).toBe(true);
    expect(countsAgainstLimit(key({ expiresAt: at(-1) }), undefined, NOW)).toBe(false);
    expect(countsAgainstLimit(key({ revokedAt: at(-1) }), undefined, NOW)).toBe(false);
  });

  it('a rotation adds to the count only when the key it rotates has a predecessor still in its grace period', () => {
    const head = key();
    const predecessor = key({ rotatedToId: head.id, expiresAt: at(1) });
    expect(rotationAddsToCount(head, undefined, NOW)).toBe(0);
    expect(rotationAddsToCount(head, predecessor, NOW)).toBe(1);
    expect(rotationAddsToCount(head, { ...predecessor, expiresAt: at(-1) }, NOW)).toBe(0);
    expect(rotationAddsToCount(head, { ...predecessor, rotatedToId: 'key_other' }, NOW)).toBe(0);
  });
});

describe('the last admin key', () => {
  it('revoking or demoting a working admin key takes one away; renaming, promoting or an expired key does not', () => {
    const admin = key({ roleId: 'admin' });
    expect(isWorkingAdmin(admin, NOW)).toBe(true);
    expect(removesAnAdmin(admin, NOW)).toBe(true);
    expect(removesAnAdmin(admin, NOW, 'viewer')).toBe(true);
    expect(removesAnAdmin(admin, NOW, 'admin')).toBe(false);
    expect(removesAnAdmin(key(), NOW, 'admin')).toBe(false);
    expect(removesAnAdmin(key({ roleId: 'admin', expiresAt: at(-1) }), NOW)).toBe(false);
    expect(isWorkingAdmin(key({ roleId: 'admin', revokedAt: at(-1) }), NOW)).toBe(false);
    // Custom roles never grant "*".
    expect(isWorkingAdmin(key({ roleId: 'superuser' }), NOW)).toBe(false);
  });
});

describe('refusals, each worded once for both stores', () => {
  it('only a working key is edited or rotated; a key is revoked once', () => {
    expect(changeRefusal(key(), NOW, 'edited')).toBeUndefined();
    const revoked = key({ revokedAt: at(-1) });
    expect(changeRefusal(revoked, NOW, 'edited')).toMatchObject({ code: 'KEY_NOT_ACTIVE', message: `Key ${revoked.id} is revoked and cannot be edited.` });
    expect(changeRefusal(key({ expiresAt: at(-1) }), NOW, 'rotated')).toMatchObject({ code: 'KEY_NOT_ACTIVE', message: expect.stringMatching(/is expired and cannot be rotated\.$/) });
    expect(revokeRefusal(key())).toBeUndefined();
    expect(revokeRefusal(revoked)).toMatchObject({ code: 'KEY_ALREADY_REVOKED', message: `Key ${revoked.id} was already revoked at ${at(-1)}.` });
  });

  it('an idempotency key names the key it made, with its state now; the plan limit counts what countsAgainstLimit counts', () => {
    expect(idempotencyRefusal(undefined, NOW)).toBeUndefined();
    const made = key({ revokedAt: at(-1) });
    expect(idempotencyRefusal(made, NOW)).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', details: { keyId: made.id, status: 'revoked' } });
    expect(insertLimitRefusal(2, 3)).toBeUndefined();
    expect(insertLimitRefusal(3, 3)).toMatchObject({ code: 'KEY_LIMIT_REACHED', details: { active: 3, limit: 3 } });
    expect(insertLimitRefusal(1_000, null)).toBeUndefined();
    const head = key();
    const predecessor = key({ rotatedToId: head.id, expiresAt: at(1) });
    expect(rotationLimitRefusal(head, predecessor, 2, 3)).toBeUndefined();
    expect(rotationLimitRefusal(head, predecessor, 3, 3)).toMatchObject({ code: 'KEY_LIMIT_REACHED', details: { predecessorId: predecessor.id } });
  });

  it('the admin key that remains works at least as long as the one taken away (no expiry outlasts any)', () => {
    const lasting = key({ roleId: 'admin' });
    const inGrace = key({ roleId: 'admin', expiresAt: at(1), rotatedToId: lasting.id });
    const later = key({ roleId: 'admin', expiresAt: at(2) });
    expect(remainingAdmin(inGrace, lasting, NOW)).toBe(false);
    expect(remainingAdmin(lasting, inGrace, NOW)).toBe(true);
    expect(remainingAdmin(later, inGrace, NOW)).toBe(true);
    expect(remainingAdmin(inGrace, later, NOW)).toBe(false);
    expect(remainingAdmin(key({ roleId: 'admin', expiresAt: at(1) }), inGrace, NOW)).toBe(true);
    expect(remainingAdmin(lasting, lasting, NOW)).toBe(false);
    expect(remainingAdmin(key({ roleId: 'admin', revokedAt: at(-1) }), inGrace, NOW)).toBe(false);
    expect(remainingAdmin(key({ roleId: 'viewer' }), inGrace, NOW)).toBe(false);
    expect(remainingAdmin(key({ roleId: 'admin', organizationId: 'org_y' }), inGrace, NOW)).toBe(false);
  });

  it('the last admin key stays; a role is deleted only once no unrevoked key holds it', () => {
    const admin = key({ roleId: 'admin' });
    expect(lastAdminRefusal(admin, 'revoke', true)).toBeUndefined();
    expect(lastAdminRefusal(admin, 'demote', false)).toMatchObject({ code: 'LAST_ADMIN_KEY', message: expect.stringContaining('Changing its role') });
    expect(holdsRole(key({ roleId: 'ops' }), 'ops')).toBe(true);
    expect(holdsRole(key({ roleId: 'ops', expiresAt: at(-1) }), 'ops')).toBe(true);
    expect(holdsRole(key({ roleId: 'ops', revokedAt: at(-1) }), 'ops')).toBe(false);
    expect(roleDeleteRefusal('ops', { count: 0, keyIds: [] })).toBeUndefined();
    const ids = Array.from({ length: 25 }, (_, i) => `key_${i}`);
    expect(roleDeleteRefusal('ops', { count: 25, keyIds: ids })).toMatchObject({
      code: 'ROLE_IN_USE',
      message: 'Role "ops" is still assigned to 25 key(s).',
      details: { keyIds: ids.slice(0, 20) },
    });
  });
});

describe('the adapters word no refusal of their own', () => {
  // Every refusal an adapter throws is a rule's (rules.ts, people-rules.ts), so both stores answer in the same words.
  // The one exception is PostgreSQL's own: the database being unreachable, which lowdb has no counterpart of.
  const ADAPTERS = ['src/store/lowdb-store.ts', 'src/store/lowdb-people.ts', ...readdirSync('src/store/postgres').filter((f) => f.endsWith('.ts')).map((f) => `src/store/postgres/${f}`)];
  const OWN: Readonly<Record<string, readonly string[]>> = { 'src/store/postgres/postgres-store.ts': ["new KeywardError('SERVICE_UNAVAILABLE', 'The database is not reachable right now"] };

  it.each(ADAPTERS)('%s builds no KeywardError', (file) => {
    const built = [...readFileSync(file, 'utf8').matchAll(/new KeywardError\([^\n]*/g)].map((m) => m[0]);
    expect(built.filter((line) => !(OWN[file] ?? []).some((own) => line.startsWith(own)))).toEqual([]);
  });

  it('nor does the role catalog word a refusal a rule words', () => {
    expect(readFileSync('src/server/role-catalog.ts', 'utf8')).not.toMatch(/new KeywardError\('(ROLE_NOT_FOUND|ROLE_EXISTS)'/);
  });
});
