/**
 * Rotation that waits for its consumers (issue 21): with revokeOld
 * "whenUnused" the service revokes the old key by itself once it has seen no
 * accepted use of it for the quiet period and the successor has been used;
 * the grace period stays the deadline. The consumers are an API's clients:
 * the API verifies their keys through /v1/verify with their address and user
 * agent, so the key's recent clients name who still uses the old key. Runs on
 * both stores (the lowdb and postgres vitest projects); the clock is the
 * test's, the sweep the service's own timer (awaited through its pass).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KeywardClient } from '../../src/client/index.ts';
import type { RunningServer } from '../../src/server/server.ts';
import { failure, startTestService, TestClock, type TestService } from '../support/keyservice.ts';

const MINUTE = 60_000;
const FAST = { ip: '10.0.3.6', userAgent: 'billing/2.1' };
const SLOW = { ip: '10.0.3.7', userAgent: 'reports/1.0' };

let clock: TestClock;
let service: TestService;
let admin: KeywardClient;
let api: KeywardClient;

beforeEach(async () => {
  clock = new TestClock();
  service = await startTestService({ usageFlushMs: 50, retirementCheckMs: 50 }, { clock });
  admin = service.client();
  // The API the consumers call: it verifies their keys with their address and user agent.
  api = service.client((await admin.createKey({ name: 'Orders API', role: 'verifier' })).secret);
});
afterEach(async () => service?.stop());

/** One request of a consumer to the API: its key verified as the API would. */
async function call(secret: string, consumer: { ip: string; userAgent: string }): Promise<void> {
  const result = await api.verifyKey({ key: secret, ...consumer });
  // Zero failed requests: every call of every consumer is accepted.
  expect(result, `${consumer.userAgent} was refused`).toMatchObject({ valid: true });
}

async function rotated(body: Parameters<KeywardClient['rotateKey']>[1]) {
  const old = await admin.createKey({ name: 'Consumer key', role: 'viewer' });
  await call(old.secret, FAST);
  await call(old.secret, SLOW);
  const next = await admin.rotateKey(old.key.id, body);
  return { oldId: old.key.id, oldSecret: old.secret, newId: next.key.id, newSecret: next.secret };
}

/** The service's own pass, now (its timer runs the same one). */
const sweep = (server: RunningServer = service.server) => server.retirement.sweep();

describe('revokeOld whenUnused', () => {
  it('waits for the slow consumer, then revokes the old key once the quiet period passed since its last use, with an audit record of why', async () => {
    const { oldId, oldSecret, newId, newSecret } = await rotated({ gracePeriod: '1h', revokeOld: 'whenUnused', quietPeriod: '10m' });
    // The fast consumer moves at once; the slow one keeps using the old key for two minutes.
    await call(newSecret, FAST);
    for (let minute = 1; minute <= 11; minute++) {
      clock.advance(MINUTE);
      await call(minute <= 2 ? oldSecret : newSecret, SLOW);
      if (minute <= 2) await call(newSecret, FAST);
    }
    // 11 minutes after the rotation, but only 9 since the slow consumer last used the old key: it stays.
    expect((await sweep()).revoked).not.toContain(oldId);
    const waiting = await admin.getKey(oldId);
    expect(waiting.status).toBe('active');
    expect(waiting.transition).toMatchObject({ revokeOld: 'whenUnused', quietPeriod: '10m', endedBy: null });
    // The stragglers: the slow consumer, named by address and user agent, and when it last used the old key.
    expect(waiting.transition!.stragglers).toEqual([expect.objectContaining({ ip: SLOW.ip, userAgent: SLOW.userAgent })]);
    expect(waiting.recentClients.map((c) => c.ip).sort()).toEqual([FAST.ip, SLOW.ip]);

    clock.advance(MINUTE + 1_000);
    // The service's own timer revokes it (within one check interval).
    await expect.poll(async () => (await admin.getKey(oldId)).status, { timeout: 10_000, interval: 50 }).toBe('revoked');
    const ended = await admin.getKey(oldId);
    expect(ended.transition).toMatchObject({ endedBy: 'unused', stragglers: [] });
    expect((await admin.getKey(newId)).status).toBe('active');
    const [audit] = (await admin.listAuditLog({ action: 'key.revoked', targetId: oldId })).items;
    expect(audit).toMatchObject({ actorKeyId: null, changes: { after: { reason: 'unused', successorId: newId, quietPeriod: '10m' } } });
    // Both consumers go on without a failure on the new key; the old one now fails.
    await call(newSecret, FAST);
    await call(newSecret, SLOW);
    expect((await api.verifyKey({ key: oldSecret })).code).toBe('KEY_REVOKED');
  });

  it('never revokes before the successor has been used, unless the deadline comes', async () => {
    const { oldId } = await rotated({ gracePeriod: '1h', revokeOld: 'whenUnused', quietPeriod: '5m' });
    clock.advance(30 * MINUTE);
    expect((await sweep()).revoked).toEqual([]);
    expect((await admin.getKey(oldId)).status).toBe('active');
  });

  it('a consumer that never moves: the old key ends at the deadline, and the audit record names its address', async () => {
    const { oldId, oldSecret, newSecret } = await rotated({ gracePeriod: '30m', revokeOld: 'whenUnused', quietPeriod: '5m' });
    await call(newSecret, FAST);
    for (let minute = 0; minute < 29; minute++) {
      clock.advance(MINUTE);
      await call(oldSecret, SLOW);
    }
    expect((await sweep()).revoked).toEqual([]);
    clock.advance(2 * MINUTE);
    // The service records the end (its timer), naming who still used the key.
    const expiredEvents = async () => (await admin.listAuditLog({ action: 'key.expired', targetId: oldId })).items;
    await expect.poll(async () => (await expiredEvents()).length, { timeout: 10_000, interval: 50 }).toBe(1);
    const ended = await admin.getKey(oldId);
    expect(ended.status).toBe('expired');
    expect(ended.transition).toMatchObject({ endedBy: 'deadline', endedAt: ended.expiresAt });
    expect(ended.transition!.stragglers).toEqual([expect.objectContaining({ ip: SLOW.ip, userAgent: SLOW.userAgent })]);
    const [audit] = await expiredEvents();
    expect(audit?.changes?.after).toMatchObject({ reason: 'deadline', stillUsedBy: [expect.objectContaining({ ip: SLOW.ip, userAgent: SLOW.userAgent })] });
    expect((await api.verifyKey({ key: oldSecret })).code).toBe('KEY_EXPIRED');
  });

  it('afterGrace (the default) leaves the old key to its grace period, whoever uses it', async () => {
    const { oldId, newSecret } = await rotated({ gracePeriod: '1h' });
    await call(newSecret, FAST);
    await call(newSecret, SLOW);
    clock.advance(30 * MINUTE);
    expect((await sweep()).revoked).toEqual([]);
    const view = await admin.getKey(oldId);
    expect(view).toMatchObject({ status: 'active', transition: { revokeOld: 'afterGrace', quietPeriod: null, endedBy: null } });
  });

  it('a restart of the key service mid-transition changes nothing of the outcome', async () => {
    const { oldId, oldSecret, newSecret } = await rotated({ gracePeriod: '1h', revokeOld: 'whenUnused', quietPeriod: '10m' });
    await call(newSecret, FAST);
    clock.advance(MINUTE);
    await call(oldSecret, SLOW);
    // Stopped (usage flushed), started again on the same store, address and config.
    await service.restart();
    const before = await admin.getKey(oldId);
    expect(before.transition!.stragglers).toEqual([expect.objectContaining({ ip: SLOW.ip })]);
    clock.advance(9 * MINUTE);
    expect((await sweep()).revoked).toEqual([]);
    clock.advance(MINUTE + 1_000);
    await expect.poll(async () => (await admin.getKey(oldId)).status, { timeout: 10_000, interval: 50 }).toBe('revoked');
    expect((await admin.getKey(oldId)).transition!.endedBy).toBe('unused');
  });

  it('bad input is refused with a clear error naming quietPeriod, and rotates nothing', async () => {
    const key = await admin.createKey({ name: 'Untouched', role: 'viewer' });
    const cases: [Parameters<KeywardClient['rotateKey']>[1], string][] = [
      [{ gracePeriod: '5m', revokeOld: 'whenUnused', quietPeriod: '10m' }, 'must be shorter than the grace period (5m)'],
      [{ gracePeriod: '5m', revokeOld: 'whenUnused' }, 'the default 10m'],
      [{ gracePeriod: '1h', revokeOld: 'whenUnused', quietPeriod: '0' }, 'must be more than 0'],
      [{ gracePeriod: '1h', quietPeriod: '5m' }, 'applies only when the old key is revoked when unused'],
      [{ gracePeriod: '1h', revokeOld: 'whenIdle' as 'whenUnused' }, 'revokeOld'],
    ];
    for (const [body, message] of cases) {
      const error = await failure(admin.rotateKey(key.key.id, body));
      expect(error.status).toBe(400);
      expect(error.code).toBe('VALIDATION_FAILED');
      expect(error.message).toContain(message);
    }
    expect((await admin.getKey(key.key.id)).rotatedToId).toBeNull();
  });
});
