/**
 * Input that used to give a 500 or be misread: IPv4-mapped ranges shorter
 * than /96, impossible dates, non-canonical IPv4, JSON media types the two
 * body paths read differently, and names that spoof their display. Each is a
 * clear 4xx that changes nothing in the store, the same on the Express routes
 * and on the fast verify path.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/keyservice.ts';

let service: TestService;
let keyId: string;
let appSecret: string;
let verifierSecret: string;

beforeAll(async () => {
  // No usage flush while the tests run: any change in the store is a write a refused request made.
  service = await startTestService({ usageFlushMs: 600_000 });
  const admin = service.client();
  const app = await admin.createKey({ name: 'Target', role: 'viewer' });
  keyId = app.key.id;
  appSecret = app.secret;
  verifierSecret = (await admin.createKey({ name: 'Gateway', role: 'verifier' })).secret;
});
afterAll(async () => service.stop());

async function send(method: string, path: string, init: { body?: string | Buffer; headers?: Record<string, string>; secret?: string } = {}) {
  const response = await fetch(service.url + path, {
    method,
    headers: { authorization: `Bearer ${init.secret ?? service.adminSecret}`, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers },
    body: typeof init.body === 'string' || init.body === undefined ? init.body : new Uint8Array(init.body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/** Sends a request that must be refused with `status` and `code`, and checks the store did not change. */
async function refused(method: string, path: string, body: unknown, status: number, code: string, mentions?: RegExp) {
  const before = await service.store.snapshot();
  const response = await send(method, path, { body: JSON.stringify(body) });
  expect(response.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(status);
  expect(response.body.error.code).toBe(code);
  expect(response.body.error.hint.length).toBeGreaterThan(10);
  if (mentions) expect(response.body.error.message).toMatch(mentions);
  expect(await service.store.snapshot()).toBe(before);
  return response.body.error as { message: string };
}

describe('IP addresses and ranges', () => {
  const bodies = (entries: string[]): [string, string, () => string, unknown][] => [
    ['PUT', 'organization allowlist', () => '/v1/ip-allowlist', { entries: [...entries, '127.0.0.0/8', '::1'] }],
    ['POST', 'new key', () => '/v1/keys', { name: 'x', role: 'viewer', ipAllowlist: entries }],
    ['PATCH', 'key edit', () => `/v1/keys/${keyId}`, { ipAllowlist: entries }],
  ];

  it('an IPv4-mapped IPv6 range shorter than /96 is a 400 saying what is allowed (it was a 500)', async () => {
    for (const [method, , path, body] of bodies(['::ffff:10.0.0.0/90'])) {
      await refused(method, path(), body, 400, 'VALIDATION_FAILED', /::ffff:10\.0\.0\.0\/90.*\/96/);
    }
  });

  it('non-canonical IPv4 (leading zeros, short or hex forms) and zone ids are refused, not reinterpreted', async () => {
    for (const entry of ['010.0.0.1', '1.2.3', '127.1', '0x7f.0.0.1', '2130706433', '10.0.0.0/08', '::ffff:010.0.0.1', 'fe80::1%eth0', '1.2.3.4/33']) {
      for (const [method, , path, body] of bodies([entry])) {
        await refused(method, path(), body, 400, 'VALIDATION_FAILED', /ipAllowlist|entries/);
      }
    }
  });

  it('canonical forms are taken and normalized', async () => {
    const created = await service.client().createKey({
      name: 'Ranges',
      role: 'viewer',
      ipAllowlist: ['::ffff:10.0.0.0/104', '2001:DB8::/32', '2001:0db8:0001::1', '192.0.2.7'],
    });
    expect(created.key.ipAllowlist).toEqual(['10.0.0.0/8', '2001:db8::/32', '2001:db8:1::1/128', '192.0.2.7/32']);
  });

  it('verify refuses a non-canonical ip the same way on the fast path and through Express', async () => {
    for (const ip of ['010.0.0.1', '1.2.3', '::ffff:010.0.0.1', 'fe80::1%eth0', '10.0.0.0/8']) {
      for (const path of ['/v1/verify', '/v1/verify?through=express']) {
        const response = await send('POST', path, { secret: verifierSecret, body: JSON.stringify({ key: appSecret, ip }) });
        expect(response.status, `${path} ${ip}`).toBe(400);
        expect(response.body.error.code).toBe('VALIDATION_FAILED');
        expect(response.body.error.message).toMatch(/^ip: /);
      }
    }
    expect((await send('POST', '/v1/verify', { secret: verifierSecret, body: JSON.stringify({ key: appSecret, ip: '10.0.0.1' }) })).body).toMatchObject({ valid: true });
  });
});

describe('dates and ranges in query parameters', () => {
  it.each([
    ['/v1/usage?to=2026-13-45', /to: /],
    ['/v1/usage?from=2026-02-30', /from: /],
    ['/v1/usage?to=0001-01-01', /to: /],
    ['/v1/usage?from=2026-1-1', /from: /],
    ['/v1/audit-log?from=2026-13-45T00:00:00Z', /from: /],
    ['/v1/audit-log?to=2026-02-30T00:00:00Z', /to: /],
    [`/v1/keys?cursor=${Buffer.from('0|key_00000000000000000000').toString('base64url')}`, /cursor: /],
    [`/v1/keys?cursor=${Buffer.from('2026-01-01T00:00:00.000Z|x').toString('base64url')}`, /cursor: /],
  ])('%s -> 400 naming the parameter', async (path, mentions) => {
    const before = await service.store.snapshot();
    const response = await send('GET', path);
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('VALIDATION_FAILED');
    expect(response.body.error.message).toMatch(mentions);
    expect(await service.store.snapshot()).toBe(before);
  });
});

describe('U+0000 anywhere a route reads text', () => {
  // PostgreSQL text cannot hold U+0000: each of these was a 500 there (the role id, audit filter and cursor went to SQL as they came).
  it.each([
    ['GET', '/v1/roles/%00', undefined, /^id: /],
    ['PATCH', '/v1/roles/geo%00', { name: 'x' }, /^id: /],
    ['DELETE', '/v1/roles/%00', undefined, /^id: /],
    ['GET', '/v1/members/mem_%00', undefined, /^id: /],
    ['DELETE', '/v1/invitations/%00', undefined, /^id: /],
    ['GET', '/v1/incidents/%00', undefined, /^id: /],
    ['GET', '/v1/incidents?cursor=%00', undefined, /^cursor: /],
    ['GET', '/v1/audit-log?targetId=%00', undefined, /^targetId: /],
    ['GET', '/v1/audit-log?cursor=a%00b', undefined, /^cursor: /],
    ['GET', '/v1/auth/methods?organization=%00', undefined, /^organization: /],
    ['POST', '/v1/auth/oidc/start', { organization: '\u0000' }, /^organization: /],
    ['PUT', '/v1/organization/oidc', { issuer: 'https://login.example.com', clientId: 'a\u0000', clientSecret: 'not-a-real-secret', allowedDomains: ['example.com'] }, /^clientId: /],
  ] as const)('%s %s -> 400 naming where, and nothing changes', async (method, path, body, mentions) => {
    const before = await service.store.snapshot();
    const response = await send(method, path, body === undefined ? {} : { body: JSON.stringify(body) });
    expect(response.status, JSON.stringify(response.body)).toBe(400);
    expect(response.body.error.code).toBe('VALIDATION_FAILED');
    expect(response.body.error.message).toMatch(mentions);
    expect(response.body.error.message).toContain('U+0000');
    expect(await service.store.snapshot()).toBe(before);
  });
});

it('/v1/verify answers a presented key holding U+0000 as any malformed key (its body is never stored)', async () => {
  const response = await send('POST', '/v1/verify', { body: JSON.stringify({ key: 'kw_\u0000' }) });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  expect(response.body).toMatchObject({ valid: false, code: 'MALFORMED_KEY' });
});

describe('bodies: one rule and one parser for both body paths', () => {
  const verifyBody = () => JSON.stringify({ key: appSecret });
  const cases: [label: string, headers: Record<string, string>, body: () => string | Buffer, status: number, code?: string][] = [
    ['application/json', { 'content-type': 'application/json' }, verifyBody, 200],
    ['charset=utf-8', { 'content-type': 'application/json; charset=utf-8' }, verifyBody, 200],
    ['charset=UTF-8, quoted', { 'content-type': 'application/json; charset="UTF-8"' }, verifyBody, 200],
    ['a +json type', { 'content-type': 'application/vnd.api+json' }, verifyBody, 200],
    ['merge-patch+json with a charset', { 'content-type': 'application/merge-patch+json; charset=utf-8' }, verifyBody, 200],
    ['identity encoding', { 'content-type': 'application/json', 'content-encoding': 'identity' }, verifyBody, 200],
    ['text/plain', { 'content-type': 'text/plain' }, verifyBody, 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['a form', { 'content-type': 'application/x-www-form-urlencoded' }, verifyBody, 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['application/jsonx', { 'content-type': 'application/jsonx' }, verifyBody, 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['charset=latin1', { 'content-type': 'application/json; charset=latin1' }, verifyBody, 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['charset=utf-16', { 'content-type': 'application/json; charset=utf-16' }, verifyBody, 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['two media types in one header', { 'content-type': 'application/json, text/plain' }, verifyBody, 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['an empty charset', { 'content-type': 'application/json; charset=' }, verifyBody, 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['gzip', { 'content-type': 'application/json', 'content-encoding': 'gzip' }, () => gzipSync(verifyBody()), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['deflate', { 'content-type': 'application/json', 'content-encoding': 'deflate' }, verifyBody, 415, 'UNSUPPORTED_MEDIA_TYPE'],
    // One parser reads the body on both paths: the same answers for what is inside it.
    ['a UTF-8 byte order mark before the JSON', { 'content-type': 'application/json' }, () => `\uFEFF${verifyBody()}`, 200],
    ['invalid JSON', { 'content-type': 'application/json' }, () => '{"key":', 400, 'INVALID_JSON'],
    ['no body', { 'content-type': 'application/json' }, () => '', 400, 'VALIDATION_FAILED'],
    ['a JSON string', { 'content-type': 'application/json' }, () => '"kw_x"', 400, 'VALIDATION_FAILED'],
    ['a body over 64 KiB', { 'content-type': 'application/json' }, () => JSON.stringify({ key: appSecret, pad: 'x'.repeat(70_000) }), 413, 'PAYLOAD_TOO_LARGE'],
  ];

  it.each(cases)('%s: the same answer on the fast verify path and through Express', async (_label, headers, body, status, code) => {
    const answers = [];
    for (const path of ['/v1/verify', '/v1/verify?through=express']) {
      const response = await send('POST', path, { secret: verifierSecret, headers, body: body() });
      expect(response.status, path).toBe(status);
      if (code) {
        expect(response.body.error.code, path).toBe(code);
        expect(response.body.error.hint.length).toBeGreaterThan(10);
      } else expect(response.body, path).toMatchObject({ valid: true });
      answers.push(response.body);
    }
    expect(answers[0]).toEqual(answers[1]);
  });

  it('a rotate sent as application/merge-patch+json is read: gracePeriod "0" really ends the old key now', async () => {
    const created = await service.client().createKey({ name: 'Emergency', role: 'viewer' });
    const response = await send('POST', `/v1/keys/${created.key.id}/rotate`, {
      headers: { 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify({ gracePeriod: '0' }),
    });
    expect(response.status).toBe(201);
    expect(response.body.previous.status).toBe('expired');
  });

  it('a gzip body to a management route is refused with 415 and changes nothing', async () => {
    const before = await service.store.snapshot();
    const response = await send('POST', '/v1/keys', {
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(JSON.stringify({ name: 'zipped', role: 'viewer' })),
    });
    expect(response.status).toBe(415);
    expect(response.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(response.body.error.message).toMatch(/gzip/);
    expect(await service.store.snapshot()).toBe(before);
  });
});

describe('names and descriptions refuse control, bidi and invisible characters', () => {
  const spoofers: [string, string][] = [
    ['RIGHT-TO-LEFT OVERRIDE', '\u202E'],
    ['ZERO WIDTH SPACE', '\u200B'],
    ['ZERO WIDTH JOINER', '\u200D'],
    ['RIGHT-TO-LEFT MARK', '\u200F'],
    ['LEFT-TO-RIGHT ISOLATE', '\u2066'],
    ['POP DIRECTIONAL ISOLATE', '\u2069'],
    ['BYTE ORDER MARK', '\uFEFF'],
    ['SOFT HYPHEN', '\u00AD'],
    ['a TAG character', '\u{E0041}'],
    ['a lone surrogate', '\uD800'],
  ];
  const fields: [string, string, () => string, (text: string) => unknown][] = [
    ['key name', 'POST', () => '/v1/keys', (text) => ({ name: `pay${text}ments`, role: 'viewer' })],
    ['key rename', 'PATCH', () => `/v1/keys/${keyId}`, (text) => ({ name: `pay${text}ments` })],
    ['successor name', 'POST', () => `/v1/keys/${keyId}/rotate`, (text) => ({ name: `pay${text}ments` })],
    ['metadata value', 'POST', () => '/v1/keys', (text) => ({ name: 'x', role: 'viewer', metadata: { team: `pay${text}ments` } })],
    ['role name', 'POST', () => '/v1/roles', (text) => ({ id: 'spoof', name: `Ad${text}min`, permissions: ['api.key.view'] })],
    ['role description', 'POST', () => '/v1/roles', (text) => ({ id: 'spoof', name: 'Spoof', description: `read${text}only`, permissions: ['api.key.view'] })],
    ['permission description', 'POST', () => '/v1/permissions', (text) => ({ name: 'geo.spoof', description: `read${text}only` })],
    ['organization name', 'PATCH', () => '/v1/organization', (text) => ({ name: `ac${text}me` })],
    [
      'identity provider name (the sign-in button)',
      'PUT',
      () => '/v1/organization/oidc',
      (text) => ({ issuer: 'https://login.example.com', clientId: 'keyward', clientSecret: 'not-a-real-secret', name: `Ac${text}me SSO`, allowedDomains: ['example.com'] }),
    ],
  ];

  for (const [what, character] of spoofers) {
    it(`${what} (U+${character.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}) in every name and description -> 400`, async () => {
      for (const [field, method, path, body] of fields) {
        const error = await refused(method, path(), body(character), 400, 'VALIDATION_FAILED');
        expect(error.message, field).toMatch(/bidi or invisible formatting characters/);
      }
    });
  }

  it('ordinary unicode stays accepted: accents, CJK, emoji with a variation selector', async () => {
    for (const name of ['Zahlungs-API (Büro) 🚀', '支付服务 生产', 'I ❤️ keys', 'ñandú — prod']) {
      const created = await service.client().createKey({ name, role: 'viewer' });
      expect(created.key.name).toBe(name.normalize('NFC'));
    }
  });
});
