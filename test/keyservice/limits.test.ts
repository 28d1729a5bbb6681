/** Plan limits: "can't create more keys", atomic under concurrency, rotation overlap allowed. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeywardApiError } from '../../src/client/index.ts';
import { failure, startTestService, type TestService } from '../support/keyservice.ts';

let service: TestService;

beforeAll(async () => {
  service = await startTestService({ plans: 'free=3,team=50,enterprise=unlimited', defaultPlan: 'free' });
});
afterAll(async () => service.stop());


describe('plan limits', () => {
  it('refuses the key past the limit with a message that says what to do; revoking frees a slot', async () => {
    const admin = service.client();
    const org = await admin.request<{ plan: string; activeKeyLimit: number; activeKeys: number }>('GET', '/v1/organization');
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
    expect((await admin.request<{ activeKeys: number }>('GET', '/v1/organization')).activeKeys).toBe(3);
    expect((await failure(admin.createKey({ name: 'c', role: 'viewer' }))).code).toBe('KEY_LIMIT_REACHED');

    await admin.revokeKey(rotated.key.id);
    const c = await admin.createKey({ name: 'c', role: 'viewer' });
    expect(c.key.status).toBe('active');

    // Upgrading the plan lifts the limit (and is audited).
    expect((await failure(admin.request('PATCH', '/v1/organization', { plan: 'platinum' }))).code).toBe('UNKNOWN_PLAN');
    await admin.request('PATCH', '/v1/organization', { plan: 'team' });
    await admin.createKey({ name: 'd', role: 'viewer' });
    const audit = await admin.request<{ items: { action: string; changes?: { before?: object; after?: object } }[] }>('GET', '/v1/audit-log?action=organization.updated');
    expect(audit.items[0]!.changes).toEqual({ before: { plan: 'free' }, after: { plan: 'team' } });
  });

  it('50 concurrent creates at limit - 1 produce exactly one success', async () => {
    const other = await service.newOrganization('contended');
    const admin = service.client(other.secret);
    await admin.request('PATCH', '/v1/organization', { plan: 'free' });
    await admin.createKey({ name: 'one', role: 'viewer' }); // admin + one = 2 of 3
    const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => admin.createKey({ name: `racer ${i}`, role: 'viewer' })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const codes = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => (r.reason as KeywardApiError).code);
    expect(new Set(codes)).toEqual(new Set(['KEY_LIMIT_REACHED']));
    expect((await admin.listKeys()).items).toHaveLength(3);
  });
});
