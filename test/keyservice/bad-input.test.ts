/** Bad input gets a clear 4xx with the field named, and changes nothing in the store. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { raw, startTestService, type TestService } from '../support/keyservice.ts';

let service: TestService;
let keyId: string;

beforeAll(async () => {
  // No usage flush during the test, so any change to the file is a write we did not want.
  service = await startTestService({ usageFlushMs: 600_000 });
  keyId = (await service.client().createKey({ name: 'Target', role: 'viewer' })).key.id;
});
afterAll(async () => service.stop());

const send = (method: string, path: string, body: string, contentType = 'application/json') =>
  raw(service.url, path, {
    method,
    headers: { authorization: `Bearer ${service.adminSecret}`, 'content-type': contentType },
    body,
  });

const json = (value: unknown) => JSON.stringify(value);
const future = new Date(Date.now() + 86_400_000).toISOString();

type Case = [label: string, method: string, path: () => string, body: string, status: number, code: string, mentions?: RegExp];

const cases: Case[] = [
  ['invalid JSON', 'POST', () => '/v1/keys', '{"name": "x", ', 400, 'INVALID_JSON'],
  ['a JSON array', 'POST', () => '/v1/keys', '[1,2]', 400, 'VALIDATION_FAILED'],
  ['wrong types', 'POST', () => '/v1/keys', json({ name: 42, role: true }), 400, 'VALIDATION_FAILED', /name/],
  ['unknown fields', 'POST', () => '/v1/keys', json({ name: 'x', role: 'viewer', admin: true }), 400, 'VALIDATION_FAILED', /admin/],
  ['an empty name', 'POST', () => '/v1/keys', json({ name: '', role: 'viewer' }), 400, 'VALIDATION_FAILED', /name: must not be empty/],
  ['a blank name', 'POST', () => '/v1/keys', json({ name: '   ', role: 'viewer' }), 400, 'VALIDATION_FAILED', /name/],
  ['a name with a line break', 'POST', () => '/v1/keys', json({ name: 'a\nb', role: 'viewer' }), 400, 'VALIDATION_FAILED', /control characters/],
  ['a name with a NUL', 'POST', () => '/v1/keys', json({ name: 'a\u0000b', role: 'viewer' }), 400, 'VALIDATION_FAILED', /control characters/],
  ['a name over the limit', 'POST', () => '/v1/keys', json({ name: 'n'.repeat(101), role: 'viewer' }), 400, 'VALIDATION_FAILED', /at most 100/],
  ['a bad role id', 'POST', () => '/v1/keys', json({ name: 'x', role: 'Admin!' }), 400, 'VALIDATION_FAILED', /role/],
  ['an unknown role', 'POST', () => '/v1/keys', json({ name: 'x', role: 'ghost' }), 400, 'UNKNOWN_ROLE', /ghost/],
  ['a bad environment', 'POST', () => '/v1/keys', json({ name: 'x', role: 'viewer', environment: 'prod' }), 400, 'VALIDATION_FAILED', /environment/],
  ['an expiry in the past', 'POST', () => '/v1/keys', json({ name: 'x', role: 'viewer', expiresAt: '2001-01-01T00:00:00Z' }), 400, 'VALIDATION_FAILED', /future/],
  ['a non-ISO expiry', 'POST', () => '/v1/keys', json({ name: 'x', role: 'viewer', expiresAt: 'tomorrow' }), 400, 'VALIDATION_FAILED', /ISO 8601/],
  ['metadata with nested objects', 'POST', () => '/v1/keys', json({ name: 'x', role: 'viewer', metadata: { a: { b: 1 } } }), 400, 'VALIDATION_FAILED', /metadata/],
  ['a text/plain body', 'POST', () => '/v1/keys', json({ name: 'x', role: 'viewer' }), 415, 'UNSUPPORTED_MEDIA_TYPE', /text\/plain/],
  ['a 1 MB body', 'POST', () => '/v1/keys', json({ name: 'x', role: 'viewer', metadata: { big: 'x'.repeat(1_000_000) } }), 413, 'PAYLOAD_TOO_LARGE', /64 KiB/],
  ['a 1 MB verify body', 'POST', () => '/v1/verify', json({ key: 'x'.repeat(1_000_000) }), 413, 'PAYLOAD_TOO_LARGE'],
  ['invalid JSON to verify', 'POST', () => '/v1/verify', '{"key":', 400, 'INVALID_JSON'],
  ['a bad duration', 'POST', () => `/v1/keys/${keyId}/rotate`, json({ gracePeriod: '1 day' }), 400, 'VALIDATION_FAILED', /gracePeriod: must be a duration/],
  ['a negative duration', 'POST', () => `/v1/keys/${keyId}/rotate`, json({ gracePeriod: '-5m' }), 400, 'VALIDATION_FAILED', /gracePeriod/],
  ['an absurd duration', 'POST', () => `/v1/keys/${keyId}/rotate`, json({ gracePeriod: '99999d' }), 400, 'VALIDATION_FAILED', /ten years/],
  ['changing the key id', 'PATCH', () => `/v1/keys/${keyId}`, json({ id: 'key_00000000000000000000' }), 400, 'IMMUTABLE_FIELD', /id cannot be changed/],
  ['changing the secret', 'PATCH', () => `/v1/keys/${keyId}`, json({ secret: 'kw_x' }), 400, 'IMMUTABLE_FIELD', /secret/],
  ['an empty edit', 'PATCH', () => `/v1/keys/${keyId}`, json({}), 400, 'VALIDATION_FAILED', /name and\/or role/],
  ['an unknown key id', 'PATCH', () => '/v1/keys/key_00000000000000000000', json({ name: 'x' }), 404, 'KEY_NOT_FOUND'],
  ['a bad cursor', 'GET', () => '/v1/keys?cursor=bm9wZQ', '', 400, 'VALIDATION_FAILED', /cursor/],
  ['a bad limit', 'GET', () => '/v1/keys?limit=0', '', 400, 'VALIDATION_FAILED', /limit/],
  ['an unknown query parameter', 'GET', () => '/v1/keys?stauts=all', '', 400, 'VALIDATION_FAILED', /stauts/],
  ['a bad status filter', 'GET', () => '/v1/keys?status=deleted', '', 400, 'VALIDATION_FAILED', /status/],
  ['a role without permissions', 'POST', () => '/v1/roles', json({ id: 'empty', name: 'Empty', permissions: [] }), 400, 'VALIDATION_FAILED', /at least one permission/],
  ['a malformed permission', 'POST', () => '/v1/roles', json({ id: 'bad', name: 'Bad', permissions: ['Geo Read'] }), 400, 'VALIDATION_FAILED', /permissions/],
];

describe('bad input', () => {
  it.each(cases)('%s -> %i %s', async (_label, method, path, body, status, code, mentions) => {
    const before = await service.store.snapshot();
    const response = await send(method, path(), method === 'GET' ? (undefined as unknown as string) : body, _label === 'a text/plain body' ? 'text/plain' : 'application/json');
    expect(response.status).toBe(status);
    expect(response.body.error.code).toBe(code);
    expect(response.body.error.hint.length).toBeGreaterThan(10);
    if (mentions) expect(response.body.error.message).toMatch(mentions);
    // The limit the route applies, in the hint too (the GitHub endpoint's own is in secret-scanning.test.ts).
    if (code === 'PAYLOAD_TOO_LARGE') expect(response.body.error.hint).toContain('64 KiB');
    expect(await service.store.snapshot()).toBe(before);
  });

  it('accepts unicode names and keeps them exact', async () => {
    const names = ['Zahlungs-API (Büro) 🚀', '支付服务 生产', 'ñandú — prod', 'n'.repeat(100)];
    for (const name of names) {
      const created = await service.client().createKey({ name, role: 'viewer', expiresAt: future });
      expect((await service.client().getKey(created.key.id)).name).toBe(name.normalize('NFC'));
    }
  });

  it('never answers 500 to a barrage of malformed requests', async () => {
    const bodies = ['', 'null', '0', '"str"', '{}', '{"name":null}', '{"__proto__":{"admin":true}}', '{"name":"x","role":"viewer","metadata":[]}', '\u0000'];
    for (const body of bodies) {
      for (const path of ['/v1/keys', `/v1/keys/${keyId}/rotate`, '/v1/verify', '/v1/roles', '/v1/permissions']) {
        const response = await send('POST', path, body);
        expect(response.status, `${path} ${JSON.stringify(body)}`).toBeLessThan(500);
        expect(response.status).toBeGreaterThanOrEqual(200);
      }
    }
  });
});
