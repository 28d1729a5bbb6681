/** "Invalid API Key" has distinct causes; each gets its own code, status and hint. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { raw, startTestService, type TestService } from '../support/keyservice.ts';

let service: TestService;
let viewer: { secret: string; id: string };
let revoked: string;

beforeAll(async () => {
  service = await startTestService();
  const admin = service.client();
  const created = await admin.createKey({ name: 'Viewer', role: 'viewer' });
  viewer = { secret: created.secret, id: created.key.id };
  const doomed = await admin.createKey({ name: 'Doomed', role: 'viewer' });
  await admin.revokeKey(doomed.key.id);
  revoked = doomed.secret;
});
afterAll(async () => service.stop());

const call = (headers: Record<string, string>, path = '/v1/keys') => raw(service.url, path, { headers });

describe('each troubleshooting cause has its own code', () => {
  const cases: [string, () => Record<string, string>, number, string, RegExp][] = [
    ['no Authorization header', () => ({}), 401, 'MISSING_AUTHORIZATION', /Authorization: Bearer/],
    ['a bare key without "Bearer"', () => ({ authorization: viewer.secret }), 401, 'MISSING_BEARER', /Bearer/],
    ['Basic auth', () => ({ authorization: 'Basic dXNlcjpwYXNz' }), 401, 'MISSING_BEARER', /Bearer/],
    ['"Bearer" with no key', () => ({ authorization: 'Bearer' }), 401, 'MALFORMED_AUTHORIZATION', /space/],
    ['extra spaces copied around the key', () => ({ authorization: `Bearer  ${viewer.secret}` }), 401, 'KEY_HAS_WHITESPACE', /spaces/],
    ['the Key ID instead of the secret', () => ({ authorization: `Bearer ${viewer.id}` }), 401, 'KEY_ID_USED_AS_SECRET', /shown once/],
    ['a truncated secret', () => ({ authorization: `Bearer ${viewer.secret.slice(0, -4)}` }), 401, 'KEY_TRUNCATED', /cut off/],
    ['a typo', () => ({ authorization: `Bearer ${viewer.secret.slice(0, 8)}${viewer.secret[8] === 'x' ? 'y' : 'x'}${viewer.secret.slice(9)}` }), 401, 'KEY_CHECKSUM_MISMATCH', /typo/],
    ['not a keyward key at all', () => ({ authorization: 'Bearer ghp_notakeywardkey' }), 401, 'MALFORMED_KEY', /whole secret/],
    ['a well-formed key from elsewhere', () => ({ authorization: `Bearer ${unknownButValidSecret()}` }), 401, 'UNKNOWN_KEY', /service URL/],
    ['a revoked key', () => ({ authorization: `Bearer ${revoked}` }), 401, 'KEY_REVOKED', /revoked/],
  ];

  for (const [cause, headers, status, code, hint] of cases) {
    it(`${cause} -> ${status} ${code}`, async () => {
      const response = await call(headers());
      expect(response.status).toBe(status);
      expect(response.body.error.code).toBe(code);
      expect(response.body.error.hint).toMatch(hint);
      expect(response.body.error.message.length).toBeGreaterThan(5);
    });
  }

  it('a key without the permission -> 403 naming the permission', async () => {
    const response = await raw(service.url, '/v1/keys', {
      method: 'POST',
      headers: { authorization: `Bearer ${viewer.secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x', role: 'viewer' }),
    });
    expect(response.status).toBe(403);
    expect(response.body.error).toMatchObject({ code: 'INSUFFICIENT_PERMISSIONS', details: { required: 'api.key.create' } });
    expect(response.body.error.message).toContain('api.key.create');
  });

  it('a wrong endpoint URL -> 404 ROUTE_NOT_FOUND pointing at /v1', async () => {
    const response = await call({ authorization: `Bearer ${viewer.secret}` }, '/keys');
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('ROUTE_NOT_FOUND');
    expect(response.body.error.hint).toContain('/v1');
    const wrongMethod = await raw(service.url, '/v1/keys', { method: 'PUT', headers: { authorization: `Bearer ${viewer.secret}` } });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.body.error.code).toBe('METHOD_NOT_ALLOWED');
    // RFC 9110: a 405 names the methods the path takes.
    expect(wrongMethod.headers.get('allow')).toBe('GET, HEAD, POST');
  });

  it('an expired key -> KEY_EXPIRED naming its successor', async () => {
    const admin = service.client();
    const created = await admin.createKey({ name: 'Old', role: 'viewer' });
    const rotated = await admin.rotateKey(created.key.id, { gracePeriod: '0' });
    const response = await call({ authorization: `Bearer ${created.secret}` });
    expect(response.status).toBe(401);
    expect(response.body.error.code).toBe('KEY_EXPIRED');
    expect(response.body.error.message).toContain(rotated.key.id);
  });
});

/** A secret in the right format (valid checksum) that this service never issued. */
function unknownButValidSecret(): string {
  // Imported lazily to keep the case table readable.
  return newSecretForTest();
}
import { newSecret as newSecretForTest } from '../../src/core/token.ts';
