/** The manual's flows end to end over HTTP: create, use, edit, rotate, grace, revoke. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeywardApiError } from '../../src/client/index.ts';
import { errorCode, raw, startTestService, TestClock, type TestService } from '../support/keyservice.ts';

let service: TestService;
let verifierSecret: string;
/** The service's clock: grace periods end by moving it, not by waiting. */
const clock = new TestClock();

beforeAll(async () => {
  service = await startTestService({}, { clock });
  verifierSecret = (await service.client().createKey({ name: 'Gateway', role: 'verifier' })).secret;
});
afterAll(async () => service.stop());


describe('key lifecycle', () => {
  it('create -> use -> edit -> rotate -> overlap -> revoke', async () => {
    const admin = service.client();
    // Create: secret and Key ID shown at once.
    const created = await admin.createKey({ name: 'Production Server', role: 'key-manager', environment: 'production' });
    expect(created.key).toMatchObject({ name: 'Production Server', role: 'key-manager', status: 'active', environment: 'production' });
    expect(created.key.id).toMatch(/^key_/);
    expect(created.secret).toMatch(/^kw_/);
    expect(created.key.hint).toBe(`kw_…${created.secret.slice(-4)}`);
    expect(Date.parse(created.key.rotationDueAt) - Date.parse(created.key.createdAt)).toBe(90 * 86_400_000);

    // Use it: the key authenticates and is marked used.
    const user = service.client(created.secret);
    expect((await user.whoami()).key.id).toBe(created.key.id);
    expect((await user.listKeys()).items.map((k) => k.id)).toContain(created.key.id);

    // The table: Name, Key ID, Role, Created, Status.
    const listed = (await admin.listKeys()).items.find((k) => k.id === created.key.id)!;
    expect(listed).toMatchObject({ name: 'Production Server', role: 'key-manager', status: 'active' });
    expect(listed).not.toHaveProperty('secret');
    expect(listed).not.toHaveProperty('secretHash');

    // Edit name and role.
    const edited = await admin.updateKey(created.key.id, { name: 'Production Server (EU)', role: 'viewer' });
    expect(edited).toMatchObject({ id: created.key.id, name: 'Production Server (EU)', role: 'viewer' });
    expect(await errorCode(user.createKey({ name: 'x', role: 'viewer' }))).toBe('INSUFFICIENT_PERMISSIONS');

    // Rotate with a grace period: both keys work during the overlap.
    const rotated = await admin.rotateKey(created.key.id, { gracePeriod: '1h' });
    expect(rotated.key).toMatchObject({ name: 'Production Server (EU) v2', role: 'viewer', environment: 'production', rotatedFromId: created.key.id });
    expect(rotated.previous).toMatchObject({ id: created.key.id, rotatedToId: rotated.key.id, status: 'active' });
    expect(Date.parse(rotated.previous.expiresAt!)).toBe(clock.ms + 3_600_000);
    const successor = service.client(rotated.secret);
    expect((await successor.whoami()).key.id).toBe(rotated.key.id);
    expect((await user.whoami()).key.id).toBe(created.key.id);
    // Rotating the old key again is refused: rotate the successor.
    expect(await errorCode(admin.rotateKey(created.key.id, { gracePeriod: '0' }))).toBe('KEY_ALREADY_ROTATED');

    // Still valid a moment before the grace period ends…
    clock.advance(3_600_000 - 1);
    expect((await user.whoami()).key.id).toBe(created.key.id);
    // …and it ends on the server, with no client involved.
    clock.advance(1);
    expect(await errorCode(user.whoami())).toBe('KEY_EXPIRED');
    expect((await admin.getKey(created.key.id)).status).toBe('expired');
    const expiredVerify = await service.client(verifierSecret).verifyKey({ key: created.secret });
    expect(expiredVerify).toMatchObject({ valid: false, code: 'KEY_EXPIRED' });
    expect(expiredVerify.message).toContain(rotated.key.id);

    // Revoke: the very next request fails; the key leaves the table but stays reachable.
    await admin.revokeKey(rotated.key.id);
    expect(await errorCode(successor.whoami())).toBe('KEY_REVOKED');
    expect((await admin.listKeys()).items.map((k) => k.id)).not.toContain(rotated.key.id);
    expect((await admin.listKeys({ status: 'revoked' })).items.map((k) => k.id)).toContain(rotated.key.id);
    expect((await admin.getKey(rotated.key.id)).status).toBe('revoked');
    expect(await errorCode(admin.revokeKey(rotated.key.id))).toBe('KEY_ALREADY_REVOKED');
    expect(await errorCode(admin.rotateKey(rotated.key.id))).toBe('KEY_NOT_ACTIVE');
    expect(await errorCode(admin.updateKey(rotated.key.id, { name: 'again' }))).toBe('KEY_NOT_ACTIVE');
  });

  it('names successors v2, v3 … and defaults the grace period to 24h', async () => {
    const admin = service.client();
    const first = await admin.createKey({ name: 'Mobile App', role: 'viewer', environment: 'development' });
    expect(Date.parse(first.key.rotationDueAt) - Date.parse(first.key.createdAt)).toBe(180 * 86_400_000);
    const second = await admin.rotateKey(first.key.id);
    const third = await admin.rotateKey(second.key.id, { gracePeriod: '0' });
    expect([second.key.name, third.key.name]).toEqual(['Mobile App v2', 'Mobile App v3']);
    expect(Date.parse(second.previous.expiresAt!) - Date.parse(second.key.createdAt)).toBe(86_400_000);
    // Grace 0: the old key stops at once.
    expect(third.previous.status).toBe('expired');
    expect(await errorCode(service.client(second.secret).whoami())).toBe('KEY_EXPIRED');
    const custom = await admin.rotateKey(third.key.id, { name: 'Mobile App (2027)' });
    expect(custom.key.name).toBe('Mobile App (2027)');
  });

  it('rotations are safe to retry: an idempotency key names the successor, and a revoked successor lets the old key rotate again', async () => {
    const admin = service.client();
    const original = await admin.createKey({ name: 'Operator-managed', role: 'viewer', idempotencyKey: 'apikey-uid-1/1' });
    // Creating again with the same idempotency key names the key it made (its secret is gone for good).
    const again = await admin.createKey({ name: 'Operator-managed', role: 'viewer', idempotencyKey: 'apikey-uid-1/1' }).catch((e: KeywardApiError) => e);
    expect(again).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', details: { keyId: original.key.id } });

    const first = await admin.rotateKey(original.key.id, { gracePeriod: '1h', idempotencyKey: 'apikey-uid-1/2' });
    // A retry (say, after a crash before the secret was delivered) learns which successor it made…
    const retry = await admin.rotateKey(original.key.id, { gracePeriod: '1h', idempotencyKey: 'apikey-uid-1/2' }).catch((e: KeywardApiError) => e);
    expect(retry).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', details: { keyId: first.key.id } });
    // …revokes it, since its secret was never delivered, and rotates the old key again. The first grace period
    // still holds: a rotation never moves the old key's expiry later (rotation-lifetime.test.ts).
    await admin.revokeKey(first.key.id);
    const second = await admin.rotateKey(original.key.id, { gracePeriod: '2h', idempotencyKey: 'apikey-uid-1/3' });
    expect(second.previous.rotatedToId).toBe(second.key.id);
    expect(second.previous.expiresAt).toBe(first.previous.expiresAt);
    // With a live successor, rotating the old key again is refused.
    expect(await errorCode(admin.rotateKey(original.key.id, { idempotencyKey: 'apikey-uid-1/4' }))).toBe('KEY_ALREADY_ROTATED');
    expect((await service.client(second.secret).whoami()).key.id).toBe(second.key.id);
  });

  it('lists with filters and cursor pagination', async () => {
    const admin = service.client();
    for (let i = 0; i < 7; i++) {
      clock.advance(1); // created one after another (the clock only moves by hand)
      await admin.createKey({ name: `page ${i}`, role: 'viewer', environment: 'staging' });
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await admin.listKeys({ environment: 'staging', limit: 3, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((k) => k.name));
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor);
    expect(seen).toEqual(Array.from({ length: 7 }, (_, i) => `page ${i}`));
    expect(pages).toBe(3);
    const verifiers = await admin.listKeys({ role: 'verifier' });
    expect(verifiers.items.every((k) => k.role === 'verifier')).toBe(true);
    expect(verifiers.items.length).toBeGreaterThan(0);
    const all = await admin.listKeys({ status: 'all', limit: 500 });
    expect(all.items.length).toBeGreaterThan((await admin.listKeys({ limit: 500 })).items.length);
  });

  it('records when a key was last used (flushed in batches)', async () => {
    const admin = service.client();
    const created = await admin.createKey({ name: 'Cron job', role: 'viewer' });
    expect(created.key.lastUsedAt).toBeNull();
    await service.client(created.secret).whoami();
    const seen = await admin.getKey(created.key.id);
    expect(seen.lastUsedAt).not.toBeNull();
    expect(seen.lastUsedIp).toMatch(/127\.0\.0\.1/);
  });

  it('verify answers 200 with the key for downstream APIs, or valid:false with the cause', async () => {
    const admin = service.client();
    const created = await admin.createKey({ name: 'Geo client', role: 'viewer', metadata: { team: 'maps', tier: 2 } });
    const gateway = service.client(verifierSecret);
    const ok = await gateway.verifyKey({ key: created.secret });
    expect(ok).toMatchObject({
      valid: true,
      code: 'VALID',
      keyId: created.key.id,
      name: 'Geo client',
      role: 'viewer',
      organizationId: service.organizationId,
      environment: 'production',
      metadata: { team: 'maps', tier: 2 },
    });
    expect(ok.permissions).toContain('api.key.view');
    expect(await gateway.verifyKey({ key: created.secret, permission: 'api.key.view' })).toMatchObject({ valid: true });
    expect(await gateway.verifyKey({ key: created.secret, permission: 'api.key.create' })).toMatchObject({ valid: false, code: 'INSUFFICIENT_PERMISSIONS' });
    expect(await gateway.verifyKey({ key: created.key.id })).toMatchObject({ valid: false, code: 'KEY_ID_USED_AS_SECRET' });
    // The verify caller itself needs api.key.verify.
    expect(await errorCode(service.client(created.secret).verifyKey({ key: created.secret }))).toBe('INSUFFICIENT_PERMISSIONS');
    const response = await raw(service.url, '/v1/verify', {
      method: 'POST',
      headers: { authorization: `Bearer ${verifierSecret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ key: 'kw_nope' }),
    });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ valid: false, code: 'KEY_TRUNCATED' });
  });

  it('serves health, readiness and the OpenAPI document built from the request schemas', async () => {
    expect((await raw(service.url, '/healthz')).status).toBe(200);
    expect((await raw(service.url, '/readyz')).status).toBe(200);
    const doc = (await raw(service.url, '/openapi.json')).body;
    expect(doc.openapi).toBe('3.1.0');
    const create = doc.paths['/v1/keys'].post;
    // Request and response schemas are named components, referenced from the operations.
    const component = (schema: { $ref: string }) => doc.components.schemas[schema.$ref.replace('#/components/schemas/', '')];
    expect(create.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/CreateKeyBody' });
    const schema = component(create.requestBody.content['application/json'].schema);
    expect(schema.required).toEqual(expect.arrayContaining(['name', 'role']));
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.name.maxLength).toBe(100);
    expect(create['x-keyward-permission']).toBe('api.key.create');
    expect(create.responses['403'].description).toContain('PRIVILEGE_ESCALATION');
    expect(component(doc.paths['/v1/keys/{id}/rotate'].post.requestBody.content['application/json'].schema).properties.gracePeriod.default).toBe('24h');
    expect(create.tags).toEqual(['Keys']);
    expect(doc.tags.map((tag: { name: string }) => tag.name)).toContain('Keys');
    expect(doc.paths['/v1/verify'].post).toBeDefined();
  });
});
