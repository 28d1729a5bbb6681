/**
 * "Secrets never stored in plain text, never logged": a secret appears in the
 * create/rotate response that issued it and nowhere else. After a create, a
 * rotate, valid and invalid verifies, failed authentications, list/get calls
 * and a clean shutdown, the raw store directory, every captured log line and
 * every other response (success or error, body and headers) are searched for
 * each secret and for its random part.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPeopleToken } from '../../src/core/people.ts';
import { raw, startTestService, type TestService } from '../support/keyservice.ts';
import { invitationToken, memberWithSession } from '../support/people.ts';

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
/** The CSPRNG part: the secret minus its `kw_` prefix and its 6-character checksum. */
const randomPart = (secret: string): string => secret.slice('kw_'.length, -6);
/** Every window of `size` characters of the random part: catches partial echoes. */
const windows = (text: string, size: number): string[] =>
  Array.from({ length: text.length - size + 1 }, (_, i) => text.slice(i, i + size));

/** Changes one character of the random part: a typo the checksum catches. */
const typo = (secret: string): string => {
  const at = 10;
  const replacement = secret[at] === 'A' ? 'B' : 'A';
  return secret.slice(0, at) + replacement + secret.slice(at + 1);
};

let service: TestService;
/** Responses that may carry a secret (the create/rotate that issued it). */
const issuing: string[] = [];
/** Every other response: body text plus headers. */
const others: { what: string; text: string }[] = [];
const secrets: Record<string, string> = {};
const keyIds: Record<string, string> = {};
/** People's tokens in the clear: an invitation link's and a session cookie's. */
const peopleTokens: { invitation?: string; session?: string } = {};
let storeText = '';
let storeRecords: Awaited<ReturnType<TestService['store']['records']>>;
let storeDirText = '';

async function call(
  what: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string; secret?: string; authorization?: string } = {},
) {
  const headers: Record<string, string> = { ...init.headers };
  if (init.authorization !== undefined) headers.authorization = init.authorization;
  else headers.authorization = `Bearer ${init.secret ?? service.adminSecret}`;
  if (init.body !== undefined) headers['content-type'] ??= 'application/json';
  const response = await raw(service.url, path, { method: init.method ?? 'GET', headers, body: init.body });
  const text = `${response.text}\n${[...response.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}`;
  return { ...response, record: (list: 'issuing' | 'others') => (list === 'issuing' ? issuing.push(text) : others.push({ what, text })) };
}

/** Performs a call whose response must not contain any secret. */
async function observed(what: string, path: string, init: Parameters<typeof call>[2] = {}) {
  const response = await call(what, path, init);
  response.record('others');
  return response;
}

beforeAll(async () => {
  service = await startTestService();
  secrets.admin = service.adminSecret;
  keyIds.admin = service.adminKeyId;

  // Issue: a gateway key, an application key, and a rotation of the application key.
  const gateway = await call('create verifier', '/v1/keys', { method: 'POST', body: JSON.stringify({ name: 'Gateway', role: 'verifier' }) });
  expect(gateway.status).toBe(201);
  gateway.record('issuing');
  secrets.verifier = gateway.body.secret;
  keyIds.verifier = gateway.body.key.id;

  const app = await call('create app', '/v1/keys', {
    method: 'POST',
    body: JSON.stringify({ name: 'Mobile App', role: 'viewer', environment: 'development', metadata: { team: 'mobile' } }),
  });
  expect(app.status).toBe(201);
  app.record('issuing');
  secrets.app = app.body.secret;
  keyIds.app = app.body.key.id;

  const rotated = await call('rotate app', `/v1/keys/${keyIds.app}/rotate`, { method: 'POST', body: JSON.stringify({ gracePeriod: '1h' }) });
  expect(rotated.status).toBe(201);
  rotated.record('issuing');
  secrets.successor = rotated.body.secret;
  keyIds.successor = rotated.body.key.id;

  const verify = (what: string, body: unknown) =>
    observed(`verify: ${what}`, '/v1/verify', { method: 'POST', secret: secrets.verifier, body: JSON.stringify(body) });

  // Verifies, valid and invalid.
  for (const name of ['app', 'successor'] as const) {
    const s = secrets[name]!;
    expect((await verify(`${name} valid`, { key: s })).body).toMatchObject({ valid: true, keyId: keyIds[name] });
    expect((await verify(`${name} with permission`, { key: s, permission: 'api.key.view' })).body).toMatchObject({ valid: true });
    expect((await verify(`${name} lacks permission`, { key: s, permission: 'api.key.create' })).body).toMatchObject({
      valid: false,
      code: 'INSUFFICIENT_PERMISSIONS',
    });
    expect((await verify(`${name} typo`, { key: typo(s) })).body).toMatchObject({ valid: false, code: 'KEY_CHECKSUM_MISMATCH' });
    expect((await verify(`${name} truncated`, { key: s.slice(0, -3) })).body).toMatchObject({ valid: false, code: 'KEY_TRUNCATED' });
    expect((await verify(`${name} too long`, { key: `${s}x` })).body).toMatchObject({ valid: false, code: 'MALFORMED_KEY' });
    expect((await verify(`${name} inner space`, { key: `${s.slice(0, 12)} ${s.slice(12)}` })).body).toMatchObject({
      valid: false,
      code: 'KEY_HAS_WHITESPACE',
    });
    expect((await verify(`${name} trailing newline`, { key: `${s}\n` })).body).toMatchObject({ valid: false, code: 'KEY_HAS_WHITESPACE' });
    expect((await verify(`${name} other prefix`, { key: `sk_${s.slice(3)}` })).body).toMatchObject({ valid: false });
    // Request-shape errors that carry the secret in the body.
    const extra = await verify(`${name} unknown field`, { key: s, secret: s });
    expect(extra.status).toBe(400);
    expect(extra.body.error.code).toBe('VALIDATION_FAILED');
    const badJson = await observed(`verify ${name} invalid JSON`, '/v1/verify', {
      method: 'POST',
      secret: secrets.verifier,
      body: `{"key":"${s}"`,
    });
    expect(badJson.body.error.code).toBe('INVALID_JSON');
    const notJson = await observed(`verify ${name} not JSON`, '/v1/verify', {
      method: 'POST',
      secret: secrets.verifier,
      headers: { 'content-type': 'text/plain' },
      body: s,
    });
    expect(notJson.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  }

  // Failed authentication with wrong, typo'd, truncated and misformatted credentials.
  const s = secrets.successor!;
  const failures: [string, string, string][] = [
    ['typo', `Bearer ${typo(s)}`, 'KEY_CHECKSUM_MISMATCH'],
    ['truncated', `Bearer ${s.slice(0, -1)}`, 'KEY_TRUNCATED'],
    ['bare secret', s, 'MISSING_BEARER'],
    ['other scheme', `Token ${s}`, 'MISSING_BEARER'],
    // A bare secret broken by a space (copied across a line wrap), without "Bearer".
    ['bare secret with inner space', `${s.slice(0, 18)} ${s.slice(18)}`, 'MISSING_BEARER'],
    ['lowercase scheme, extra word', `bearer ${s} extra`, 'KEY_HAS_WHITESPACE'],
    ['double space', `Bearer  ${s}`, 'KEY_HAS_WHITESPACE'],
    ['secret with inner space', `Bearer ${s.slice(0, 15)} ${s.slice(15)}`, 'KEY_HAS_WHITESPACE'],
    ['key id instead of secret', `Bearer ${keyIds.successor}`, 'KEY_ID_USED_AS_SECRET'],
  ];
  for (const [what, authorization, code] of failures) {
    const response = await observed(`whoami: ${what}`, '/v1/whoami', { authorization });
    expect(response.status, what).toBe(401);
    expect(response.body.error.code, what).toBe(code);
  }
  const failedCreate = await observed('create with typo', '/v1/keys', {
    method: 'POST',
    authorization: `Bearer ${typo(secrets.admin!)}`,
    body: JSON.stringify({ name: 'x', role: 'viewer' }),
  });
  expect(failedCreate.body.error.code).toBe('KEY_CHECKSUM_MISMATCH');
  // Trying to set a secret through edit is refused without echoing it.
  const immutable = await observed('patch secret', `/v1/keys/${keyIds.successor}`, {
    method: 'PATCH',
    body: JSON.stringify({ secret: s }),
  });
  expect(immutable.body.error.code).toBe('IMMUTABLE_FIELD');

  // Reads: list, get, whoami with every key that may read.
  for (const path of ['/v1/keys', '/v1/keys?status=all', `/v1/keys/${keyIds.app}`, `/v1/keys/${keyIds.successor}`, `/v1/keys/${keyIds.verifier}`, `/v1/keys/${keyIds.admin}`]) {
    const response = await observed(`GET ${path}`, path);
    expect(response.status, path).toBe(200);
  }
  for (const name of ['admin', 'app', 'successor', 'verifier'] as const) {
    const response = await observed(`whoami as ${name}`, '/v1/whoami', { secret: secrets[name]! });
    expect(response.status).toBe(200);
    expect(response.body.key.id).toBe(keyIds[name]);
  }
  const asViewer = await observed('list as app', '/v1/keys?status=all', { secret: secrets.app! });
  expect(asViewer.body.items.length).toBeGreaterThanOrEqual(4);

  // People: an invitation link, a member's session cookie, requests with both, refusals of both.
  const invited = await call('create invitation', '/v1/invitations', { method: 'POST', body: JSON.stringify({ email: 'tokens@example.com', role: 'viewer' }) });
  invited.record('issuing');
  peopleTokens.invitation = invitationToken(invited.body.link);
  const session = await memberWithSession(service, 'session@example.com', 'key-manager');
  peopleTokens.session = session.token;
  const asMember = async (what: string, path: string, init: { method?: string; body?: string; token?: string; csrf?: boolean } = {}) => {
    const headers: Record<string, string> = { cookie: `keyward_session=${init.token ?? session.token}`, origin: service.url };
    if (init.csrf !== false) headers['x-csrf-token'] = session.csrf;
    if (init.body) headers['content-type'] = 'application/json';
    const response = await raw(service.url, path, { method: init.method ?? 'GET', headers, body: init.body });
    others.push({ what, text: `${response.text}\n${[...response.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}` });
    return response;
  };
  // Another last character (appending 'x' in its place kept a token ending in x as it was: 1 run in 62 failed).
  const mistyped = (token: string): string => `${token.slice(0, -1)}${token.endsWith('x') ? 'y' : 'x'}`;
  expect((await asMember('session', '/v1/session')).status).toBe(200);
  expect((await asMember('my sessions', '/v1/me/sessions')).status).toBe(200);
  expect((await asMember('create key without csrf', '/v1/keys', { method: 'POST', body: '{"name":"x","role":"viewer"}', csrf: false })).status).toBe(403);
  expect((await asMember('unknown session', '/v1/session', { token: mistyped(session.token) })).status).toBe(401);
  const preview = (what: string, token: string) =>
    raw(service.url, '/v1/auth/invitation', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) }).then((r) => {
      others.push({ what, text: `${r.text}\n${[...r.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}` });
      return r;
    });
  expect((await preview('invitation preview', peopleTokens.invitation)).status).toBe(200);
  expect((await preview('invitation typo', mistyped(peopleTokens.invitation))).status).toBe(404);
  for (const path of ['/v1/invitations', '/v1/members', '/v1/audit-log?limit=1000']) expect((await observed(`GET ${path}`, path)).status).toBe(200);

  // Clean shutdown flushes usage and pending writes; then read everything on disk.
  await service.server.close();
  // The store's whole content: the lowdb file and its journals, or every row of the PostgreSQL database.
  storeText = await service.store.snapshot();
  storeRecords = await service.store.records();
  storeDirText = readdirSync(service.dir)
    .map((file) => `${file}\n${readFileSync(join(service.dir, file), 'utf8')}`)
    .concat(service.store.kind === 'postgres' ? [storeText] : [])
    .join('\n');
});

afterAll(async () => service?.stop());

describe('secrets appear only in the response that issued them', () => {
  it('the issuing responses do carry the secrets (so the searches below can find them)', () => {
    expect(Object.keys(secrets)).toEqual(['admin', 'verifier', 'app', 'successor']);
    for (const name of ['verifier', 'app', 'successor']) {
      expect(issuing.some((text) => text.includes(secrets[name]!)), name).toBe(true);
    }
    for (const secret of Object.values(secrets)) expect(secret).toMatch(/^kw_[0-9A-Za-z]{28}$/);
  });

  it('the store file holds the SHA-256 of each secret and never the secret', () => {
    const data = storeRecords;
    for (const [name, secret] of Object.entries(secrets)) {
      const record = data.keys.find((key) => key.id === keyIds[name]);
      expect(record, name).toBeDefined();
      expect(record!.secretHash, name).toBe(sha256(secret));
      expect(storeText, name).toContain(sha256(secret));
    }
    // The clean shutdown flushed usage, so the store saw every key in use.
    expect(data.keys.find((key) => key.id === keyIds.successor)!.lastUsedAt).not.toBeNull();
    for (const [name, secret] of Object.entries(secrets)) {
      expect(storeDirText.includes(secret), `${name}: full secret in the store directory`).toBe(false);
      expect(storeDirText.includes(randomPart(secret)), `${name}: random part in the store directory`).toBe(false);
    }
  });

  it('no log line holds a secret or its random part', () => {
    // The capture works: request lines and their key ids are there.
    expect(service.logs.length).toBeGreaterThan(20);
    const all = service.logs.join('\n');
    expect(all).toContain(keyIds.verifier);
    expect(all).toContain('KEY_CHECKSUM_MISMATCH');
    expect(all).toContain('keyward key service stopped');
    for (const [name, secret] of Object.entries(secrets)) {
      const leaks = service.logs.filter((line) => line.includes(secret) || line.includes(randomPart(secret)));
      expect(leaks, `${name}: log lines with the secret`).toEqual([]);
      // Nor a typo'd or truncated copy of it (a failed attempt is still nearly the secret).
      const partial = service.logs.filter((line) => windows(randomPart(secret), 12).some((w) => line.includes(w)));
      expect(partial, `${name}: log lines with 12+ characters of its random part`).toEqual([]);
    }
  });

  it('no list, get, whoami, verify or error response holds a secret or its random part', () => {
    expect(others.length).toBeGreaterThan(40);
    for (const [name, secret] of Object.entries(secrets)) {
      const full = others.filter((r) => r.text.includes(secret) || r.text.includes(randomPart(secret))).map((r) => r.what);
      expect(full, `${name}: responses with the secret`).toEqual([]);
    }
  });

  // Regression: MISSING_BEARER once named the "scheme" as the header's first word, echoing up to
  // 17 characters of a bare secret that was cut by a space.
  it('no error response echoes a partial secret (12+ characters of its random part)', () => {
    for (const [name, secret] of Object.entries(secrets)) {
      const partial = others.filter((r) => windows(randomPart(secret), 12).some((w) => r.text.includes(w))).map((r) => r.what);
      expect(partial, `${name}: responses with part of the secret`).toEqual([]);
    }
  });

  it('other issuing responses do not carry earlier secrets', () => {
    // The rotate response carries the successor's secret, never the old key's.
    const rotateResponse = issuing.find((text) => text.includes(secrets.successor!))!;
    expect(rotateResponse).not.toContain(secrets.app);
    expect(rotateResponse).not.toContain(randomPart(secrets.app!));
    expect(rotateResponse).not.toContain(secrets.admin);
  });
});

describe('invitation tokens and session ids appear only where they are handed over', () => {
  it('the store holds their hashes only; no log line, listing, audit record or error holds them', () => {
    expect(Object.keys(peopleTokens)).toEqual(['invitation', 'session']);
    for (const [name, token] of Object.entries(peopleTokens) as [string, string][]) {
      expect(token).toMatch(/^[0-9A-Za-z]{32}$/);
      expect(storeText, name).toContain(hashPeopleToken(name as 'invitation' | 'session', token));
      expect(storeDirText.includes(token), `${name}: token in the store directory`).toBe(false);
      expect(service.logs.filter((line) => line.includes(token)), `${name}: log lines with the token`).toEqual([]);
      const partial = service.logs.filter((line) => windows(token, 12).some((w) => line.includes(w)));
      expect(partial, `${name}: log lines with 12+ characters of the token`).toEqual([]);
      const responses = others.filter((r) => windows(token, 12).some((w) => r.text.includes(w))).map((r) => r.what);
      expect(responses, `${name}: responses with (part of) the token`).toEqual([]);
    }
    // The invitation's creation is where its link was handed over.
    expect(issuing.some((text) => text.includes(peopleTokens.invitation!))).toBe(true);
  });
});
