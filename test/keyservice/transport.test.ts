/**
 * What a request carries besides its body: a secret in the URL (refused with
 * KEY_IN_URL and never written to the request log), the Authorization
 * header's separator, and HSTS only over HTTPS.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { raw, requestFrom, startTestService, type TestService } from '../support/keyservice.ts';

let service: TestService;
let viewerSecret: string;
let viewerId: string;

beforeAll(async () => {
  service = await startTestService();
  const created = await service.client().createKey({ name: 'Viewer', role: 'viewer' });
  viewerSecret = created.secret;
  viewerId = created.key.id;
});
afterAll(async () => service.stop());

describe('a secret in the query string', () => {
  it('is refused with KEY_IN_URL on every path, and the request log never holds it', async () => {
    const encoded = encodeURIComponent(viewerSecret).replace('_', '%5F');
    const paths = [
      `/v1/keys?api_key=${viewerSecret}`,
      `/v1/whoami?token=${encoded}`,
      `/v1/verify?key=${viewerSecret}`,
      `/v1/keys/${viewerId}?x=1&secret=${viewerSecret}`,
      `/?key=${viewerSecret}`,
      `/metrics?access_token=${viewerSecret}`,
      `/nowhere?${viewerSecret}`,
    ];
    for (const path of paths) {
      const response = await raw(service.url, path, {
        method: path.startsWith('/v1/verify') ? 'POST' : 'GET',
        headers: { authorization: `Bearer ${service.adminSecret}`, 'content-type': 'application/json' },
        ...(path.startsWith('/v1/verify') ? { body: JSON.stringify({ key: viewerSecret }) } : {}),
      });
      expect(response.status, path).toBe(400);
      expect(response.body.error.code, path).toBe('KEY_IN_URL');
      expect(response.body.error.hint).toMatch(/Authorization/);
      expect(response.text).not.toContain(randomPart(viewerSecret));
    }
    // The request lines were logged (with their status), with the query string withheld.
    const requestLines = service.logs.filter((line) => line.includes('"code":"KEY_IN_URL"'));
    expect(requestLines.length).toBeGreaterThanOrEqual(paths.length);
    expect(requestLines.some((line) => line.includes('/v1/keys?[withheld: holds a secret]'))).toBe(true);
    expect(service.logs.filter((line) => line.includes(randomPart(viewerSecret)))).toEqual([]);
  });

  it('public values in the query string are fine: key ids, cursors, filters', async () => {
    const response = await raw(service.url, `/v1/audit-log?actorKeyId=${service.adminKeyId}&targetId=${viewerId}&limit=5`, {
      headers: { authorization: `Bearer ${service.adminSecret}` },
    });
    expect(response.status).toBe(200);
    const page = await raw(service.url, '/v1/keys?limit=1', { headers: { authorization: `Bearer ${service.adminSecret}` } });
    const next = await raw(service.url, `/v1/keys?limit=1&cursor=${page.body.nextCursor}`, { headers: { authorization: `Bearer ${service.adminSecret}` } });
    expect(next.status).toBe(200);
  });
});

describe('the Authorization header', () => {
  it('"Bearer<TAB>secret" is told its separator is wrong, not that it holds a bare key', async () => {
    const response = await raw(service.url, '/v1/whoami', { headers: { authorization: `Bearer\t${viewerSecret}` } });
    expect(response.status).toBe(401);
    expect(response.body.error.code).toBe('MALFORMED_AUTHORIZATION');
    expect(response.body.error.message).toMatch(/tab|whitespace/i);
    expect(response.body.error.message).not.toMatch(/bare key/);
    expect(response.text).not.toContain(randomPart(viewerSecret));
  });
});

/** The CSPRNG part of a secret (without prefix and checksum). */
function randomPart(secret: string): string {
  return secret.slice(3, -6);
}

describe('HSTS', () => {
  it('is sent only when the request came over HTTPS (through a trusted proxy), never over plain HTTP', async () => {
    const trusting = await startTestService({ trustProxy: 'loopback' });
    try {
      const plain = await requestFrom('127.0.0.1', `${service.url}/`);
      expect(plain.status).toBe(200);
      expect(plain.headers['content-security-policy']).toBeDefined();
      expect(plain.headers['strict-transport-security']).toBeUndefined();
      // An untrusted hop cannot claim HTTPS.
      const claimed = await requestFrom('127.0.0.1', `${service.url}/`, { headers: { 'x-forwarded-proto': 'https' } });
      expect(claimed.headers['strict-transport-security']).toBeUndefined();
      const viaProxy = await requestFrom('127.0.0.1', `${trusting.url}/`, { headers: { 'x-forwarded-proto': 'https' } });
      expect(viaProxy.headers['strict-transport-security']).toMatch(/max-age=\d+/);
      const httpViaProxy = await requestFrom('127.0.0.1', `${trusting.url}/`, { headers: { 'x-forwarded-proto': 'http' } });
      expect(httpViaProxy.headers['strict-transport-security']).toBeUndefined();
    } finally {
      await trusting.stop();
    }
  });
});
