/**
 * POST /v1/keys/batch-get: many keys' views in one request (the operator's
 * resync asks this instead of one GET per key). Organization-scoped, bounded,
 * api.key.view only, never a secret; bad input is a 400 that changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BodyInput } from '../../src/client/index.ts';
import { API } from '../../src/core/api.ts';
import { BATCH_GET_MAX_IDS } from '../../src/core/schemas.ts';
import { failure, raw, startTestService, TEST_STORE, type TestService } from '../support/keyservice.ts';

let service: TestService;

beforeAll(async () => {
  service = await startTestService();
});
afterAll(async () => service.stop());

describe(`POST /v1/keys/batch-get (${TEST_STORE})`, () => {
  it("answers with the views of the organization's keys, in any status, and names the ids it has none for", async () => {
    const admin = service.client();
    const active = await admin.createKey({ name: 'active one', role: 'viewer' });
    const revoked = await admin.createKey({ name: 'revoked one', role: 'viewer' });
    await admin.revokeKey(revoked.key.id);
    const rotated = await admin.rotateKey(active.key.id, { gracePeriod: '1h' });
    const other = await service.newOrganization('Elsewhere');
    const theirs = await service.client(other.secret).createKey({ name: 'not yours', role: 'viewer' });
    const unknown = 'key_00000000000000000000';

    const viewer = service.client((await admin.createKey({ name: 'reader', role: 'viewer' })).secret);
    const batch = await viewer.batchGetKeys({ ids: [active.key.id, revoked.key.id, rotated.key.id, theirs.key.id, unknown, active.key.id] });

    expect(batch.items.map((key) => [key.id, key.status])).toEqual([
      [active.key.id, 'active'],
      [revoked.key.id, 'revoked'],
      [rotated.key.id, 'active'],
    ]);
    expect(batch.items[0]).toEqual(await admin.getKey(active.key.id));
    // Another organization's key is as unknown as a key that never was.
    expect(batch.missing).toEqual([theirs.key.id, unknown]);
    const text = JSON.stringify(batch);
    for (const secret of [active.secret, revoked.secret, rotated.secret, theirs.secret]) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/secretHash|"secret"/);
  });

  it('is bounded, and refuses what is not a list of key ids with a 400', async () => {
    const admin = service.client();
    const ids = Array.from({ length: BATCH_GET_MAX_IDS }, (_, i) => `key_${String(i).padStart(20, '0')}`);
    expect((await admin.batchGetKeys({ ids })).missing).toHaveLength(BATCH_GET_MAX_IDS);

    const tooMany = await failure(admin.batchGetKeys({ ids: [...ids, 'key_99999999999999999999'] }));
    expect([tooMany.status, tooMany.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect(tooMany.message).toContain(`at most ${BATCH_GET_MAX_IDS}`);
    for (const body of [{ ids: [] }, { ids: ['not-a-key-id'] }, { ids: 'key_00000000000000000000' }, {}, { ids: [ids[0]], extra: true }]) {
      // The client's own method, given what its types would refuse: the server must refuse it too.
      const refused = await failure(admin.batchGetKeys(body as BodyInput<'batchGetKeys'>));
      expect([refused.status, refused.code], JSON.stringify(body)).toEqual([400, 'VALIDATION_FAILED']);
    }
  });

  it('needs api.key.view', async () => {
    const admin = service.client();
    const key = await admin.createKey({ name: 'target', role: 'viewer' });
    const verifier = service.client((await admin.createKey({ name: 'gateway', role: 'verifier' })).secret);
    const denied = await failure(verifier.batchGetKeys({ ids: [key.key.id] }));
    expect([denied.status, denied.code]).toEqual([403, 'INSUFFICIENT_PERMISSIONS']);
  });

  it('is in /openapi.json like every operation of the route table: its permission, named body and answer schemas, the bound', async () => {
    const doc = (await raw(service.url, '/openapi.json')).body;
    const operation = doc.paths['/v1/keys/batch-get'].post;
    expect(operation.operationId).toBe('batchGetKeys');
    expect(operation.tags).toEqual([API.batchGetKeys.tag]);
    expect(operation['x-keyward-permission']).toBe('api.key.view');
    expect(operation.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/BatchGetKeysBody' });
    expect(operation.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/KeyBatch' });
    const body = doc.components.schemas.BatchGetKeysBody;
    expect([body.properties.ids.minItems, body.properties.ids.maxItems, body.additionalProperties]).toEqual([1, BATCH_GET_MAX_IDS, false]);
    expect(doc.components.schemas.KeyBatch.required).toEqual(expect.arrayContaining(['items', 'missing']));
    expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['200', '400', '403']));
  });
});
