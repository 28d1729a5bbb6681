/** Plan limits: "can't create more keys", atomic under concurrency, rotation overlap allowed. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeywardApiError } from '../../src/client/index.ts';
import { failure, startTestService, type TestService } from '../support/keyservice.ts';

let service: TestService;

beforeAll(async () => {
  service = await startTestService({ plans: 'free=3,team=50,enterprise=unlimited', defaultPlan: 'free', usageFlushMs: 600_000 });
});
afterAll(async () => service.stop());


describe('plan limits', () => {
  it('refuses the key past the limit with a message that says what to do; revoking frees a slot', async () => {
    const admin = service.client();
    const org = await admin.getOrganization();
    expect(org).toMatchObject({ plan: 'free', activeKeyLimit: 3, activeKeys: 1 });
    const a = await admin.createKey({ name: 'a', role: 'viewer' });
    await admin.createKey({ name: 'b', role: 'viewer' });
    const error = await failure(admin.createKey({ name: 'c', role: 'viewer' }));
    expect(error.status).toBe(403);
    expect(error.code).toBe('KEY_LIMIT_REACHED');
    expect(error.message).toBe("Can't create more keys: this organization has 3 active keys and its plan allows 3. Revoke unused keys or upgrade the plan.");
    expect(error.hint).toMatch(/Revoke unused keys or upgrade the plan/);

    // A rotation's overlap is not blocked: the old key is on its way out.
    const rotated = await admin.rotateKey(a.key.id, { gracePeriod: '1h' });
    expect(rotated.previous.status).toBe('active');
    expect((await admin.getOrganization()).activeKeys).toBe(3);
    expect((await failure(admin.createKey({ name: 'c', role: 'viewer' }))).code).toBe('KEY_LIMIT_REACHED');

    // Revoking the successor makes the old key the one in use again: it counts (it is no overlap any more).
    await admin.revokeKey(rotated.key.id);
    expect((await admin.getOrganization()).activeKeys).toBe(3);
    expect((await failure(admin.createKey({ name: 'c', role: 'viewer' }))).code).toBe('KEY_LIMIT_REACHED');
    // Revoking a key frees a slot.
    await admin.revokeKey(a.key.id);
    const c = await admin.createKey({ name: 'c', role: 'viewer' });
    expect(c.key.status).toBe('active');

    // The organization cannot change its own plan: whoever runs the service does (keyward org set-plan).
    const before = await service.store.snapshot();
    const refused = await failure(admin.updateOrganization({ plan: 'team' } as never /* outside the contract: refused */));
    expect(refused.status).toBe(403);
    expect(refused.code).toBe('SET_BY_OPERATOR');
    expect(refused.message).toContain('plan');
    expect(refused.hint).toContain('keyward org set-plan');
    expect(await service.store.snapshot()).toBe(before);
    expect((await admin.getOrganization()).plan).toBe('free');
    expect((await failure(admin.createKey({ name: 'd', role: 'viewer' }))).code).toBe('KEY_LIMIT_REACHED');

    // The service operator's path (what `keyward org set-plan` runs) lifts the limit, and is audited.
    await service.server.service.operator.setPlan(service.organizationId, 'team');
    await admin.createKey({ name: 'd', role: 'viewer' });
    const audit = await admin.listAuditLog({ action: 'organization.updated' });
    expect(audit.items[0]).toMatchObject({ actorKeyId: null, changes: { before: { plan: 'free' }, after: { plan: 'team' } } });
  });

  it('only one overlap key per key is free: rotating a successor while its predecessor still works makes the predecessor count', async () => {
    const org = await service.newOrganization('chained');
    const admin = service.client(org.secret);
    const a = await admin.createKey({ name: 'a', role: 'viewer' });
    await admin.createKey({ name: 'b', role: 'viewer' }); // admin, a, b: 3 of 3
    const a2 = await admin.rotateKey(a.key.id, { gracePeriod: '1h' }); // a is the free overlap of a2
    expect((await admin.getOrganization()).activeKeys).toBe(3);
    // Rotating a2 within the hour would leave a, a2 and a3 working: a would count, a 4th key on a 3-key plan.
    const refused = await failure(admin.rotateKey(a2.key.id, { gracePeriod: '1h' }));
    expect(refused.code).toBe('KEY_LIMIT_REACHED');
    expect((await admin.getKey(a2.key.id)).rotatedToId).toBeNull();
    // Ending the first overlap frees it: revoke a, then a2 rotates.
    await admin.revokeKey(a.key.id);
    const a3 = await admin.rotateKey(a2.key.id, { gracePeriod: '1h' });
    expect(a3.previous.status).toBe('active');
    expect((await admin.getOrganization()).activeKeys).toBe(3);
    // Working keys never exceed twice the limit, and here: admin, b, a2 (overlap), a3.
    expect((await admin.listKeys()).items).toHaveLength(4);
  });

  it('50 concurrent creates at limit - 1 produce exactly one success', async () => {
    const other = await service.newOrganization('contended');
    const admin = service.client(other.secret);
    expect((await admin.getOrganization()).plan).toBe('free');
    await admin.createKey({ name: 'one', role: 'viewer' }); // admin + one = 2 of 3
    const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => admin.createKey({ name: `racer ${i}`, role: 'viewer' })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const codes = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => (r.reason as KeywardApiError).code);
    expect(new Set(codes)).toEqual(new Set(['KEY_LIMIT_REACHED']));
    expect((await admin.listKeys()).items).toHaveLength(3);
  });
});
