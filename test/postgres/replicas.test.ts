/**
 * Two `keyward serve` replicas (child processes) on one PostgreSQL database:
 * a key revoked through replica A fails on replica B (every time, and never
 * with another answer than KEY_REVOKED); custom roles and permissions defined
 * through one replica apply on the other at once, and a role changed or
 * deleted through one is applied by the other as soon as the change notice
 * reaches it (roles are cached like keys); the plan limit holds across replicas (exactly one of 50
 * concurrent creates at limit - 1 succeeds); an organization setting changed
 * through A applies on B. How fast revocations propagate is measured by
 * bench/replicas.ts (docs/benchmarks-postgres.md), not asserted here.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort, killAll, run, serve } from '../support/cli-process.ts';
import { createDatabase, dropDatabase } from '../support/postgres.ts';

const server = inject('postgresUrl');
const REVOCATIONS = 20;
let dir: string;
let databaseUrl: string;
let admin: string;
let a: string;
let b: string;

async function call(url: string, method: string, path: string, secret: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${secret}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/** Asks until `answer` says done; the deadline only keeps a broken replica from hanging the run. */
async function until<T>(what: string, ask: () => Promise<T>, done: (answer: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await ask();
    if (done(answer)) return answer;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last answer: ${JSON.stringify(answer)}`);
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'keyward-replicas-'));
  databaseUrl = await createDatabase(server);
  const env = { KEYWARD_DATABASE_URL: databaseUrl, KEYWARD_PLANS: 'free=3,team=50,enterprise=unlimited', KEYWARD_DEFAULT_PLAN: 'enterprise' };
  const bootstrap = await run(['bootstrap', '--org', 'replicas', '--output', 'json'], env);
  expect(bootstrap.stderr).toBe('');
  admin = JSON.parse(bootstrap.stdout).secret;
  const [portA, portB] = [await freePort(), await freePort()];
  // Both replicas start at once on the same database (they migrate under one advisory lock).
  await Promise.all([serve(join(dir, 'unused-a.json'), portA, env), serve(join(dir, 'unused-b.json'), portB, env)]);
  a = `http://127.0.0.1:${portA}`;
  b = `http://127.0.0.1:${portB}`;
});

afterAll(async () => {
  await killAll();
  if (databaseUrl) await dropDatabase(server, databaseUrl);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('two replicas on one database', () => {
  it('a key created on A works on B; revoked through A it fails on B, every time, and only ever as KEY_REVOKED', async () => {
    const gateway = (await call(a, 'POST', '/v1/keys', admin, { name: 'Gateway', role: 'verifier' })).body.secret as string;
    for (let i = 0; i < REVOCATIONS; i++) {
      const created = await call(a, 'POST', '/v1/keys', admin, { name: `r${i}`, role: 'viewer' });
      expect(created.status).toBe(201);
      // B verifies it (and so holds it in its cache), and the key itself authenticates on B.
      expect((await call(b, 'POST', '/v1/verify', gateway, { key: created.body.secret })).body).toMatchObject({ valid: true, keyId: created.body.key.id });
      if (i === 0) expect((await call(b, 'GET', '/v1/whoami', created.body.secret)).status).toBe(200);
      expect((await call(a, 'DELETE', `/v1/keys/${created.body.key.id}`, admin)).status).toBe(200);
      const verdict = await until(
        `B to refuse ${created.body.key.id}`,
        async () => (await call(b, 'POST', '/v1/verify', gateway, { key: created.body.secret })).body,
        (v) => v.valid === false,
      );
      expect(verdict.code).toBe('KEY_REVOKED');
      // Once refused, refused for good.
      expect((await call(b, 'POST', '/v1/verify', gateway, { key: created.body.secret })).body.code).toBe('KEY_REVOKED');
      if (i === 0) expect((await call(b, 'GET', '/v1/whoami', created.body.secret)).body.error.code).toBe('KEY_REVOKED');
    }
  });

  it('the change feed is one feed on every replica: a wait on B wakes for a change made on A, and concurrent changes through both read the same, in the same order, from either', async () => {
    const start = (await call(b, 'GET', '/v1/events', admin)).body.cursor as string;
    const waiting = call(b, 'GET', `/v1/events?after=${start}&wait=30s`, admin);
    const first = await call(a, 'POST', '/v1/keys', admin, { name: 'feed first', role: 'viewer' });
    expect((await waiting).body.items.map((e: { keyId: string }) => e.keyId)).toEqual([first.body.key.id]);

    // Followers read while the changes commit through both replicas, so a position taken before a slower commit
    // would be skipped; a follower gives up when a wait brings nothing and it has not seen everything.
    const follow = async (url: string) => {
      const seen: { cursor: string; keyId: string }[] = [];
      let cursor = start;
      while (seen.length < 121) {
        const page = (await call(url, 'GET', `/v1/events?after=${cursor}&wait=3s&limit=5`, admin)).body;
        if (page.items.length === 0) break;
        seen.push(...page.items.map((e: { cursor: string; keyId: string }) => ({ cursor: e.cursor, keyId: e.keyId })));
        cursor = page.cursor;
      }
      return seen;
    };
    const following = Promise.all([follow(a), follow(b)]);
    const created = await Promise.all(Array.from({ length: 120 }, (_, i) => call(i % 2 === 0 ? a : b, 'POST', '/v1/keys', admin, { name: `feed ${i}`, role: 'viewer' })));
    const ids = created.map((c) => c.body.key.id as string);
    const [viaA, viaB] = await following;
    expect(viaA).toEqual(viaB);
    expect(viaA.map((e) => e.keyId).sort()).toEqual([first.body.key.id, ...ids].sort());
  });

  it('custom roles across replicas: defined on A, used on B; changed on A, B applies it once told; deleted on B, A refuses it', async () => {
    const gateway = (await call(b, 'POST', '/v1/keys', admin, { name: 'Role gateway', role: 'verifier' })).body.secret as string;
    expect((await call(a, 'POST', '/v1/permissions', admin, { name: 'geo.read', description: 'read maps' })).status).toBe(201);
    expect((await call(a, 'POST', '/v1/roles', admin, { id: 'geo-reader', name: 'Geo reader', permissions: ['geo.read', 'api.key.view'] })).status).toBe(201);
    // B knows the role and the permission the moment A committed them.
    expect((await call(b, 'GET', '/v1/roles/geo-reader', admin)).body).toMatchObject({ id: 'geo-reader', permissions: ['geo.read', 'api.key.view'], builtin: false });
    expect((await call(b, 'GET', '/v1/permissions', admin)).body.items.map((p: { name: string }) => p.name)).toContain('geo.read');
    // A key with it, created through B, works through A, and B verifies it for the custom permission.
    const maps = await call(b, 'POST', '/v1/keys', admin, { name: 'Maps client', role: 'geo-reader' });
    expect(maps.status).toBe(201);
    expect((await call(a, 'GET', '/v1/whoami', maps.body.secret)).body.permissions.sort()).toEqual(['api.key.view', 'geo.read']);
    expect((await call(b, 'POST', '/v1/verify', gateway, { key: maps.body.secret, permission: 'geo.read' })).body).toMatchObject({ valid: true, role: 'geo-reader' });

    // The role loses geo.read through A: B (which holds the role in its cache now) refuses it once A's notice arrives, and for good.
    expect((await call(a, 'PATCH', '/v1/roles/geo-reader', admin, { permissions: ['api.key.view'] })).status).toBe(200);
    const withoutGeo = await until(
      'B to apply the role change made through A',
      async () => (await call(b, 'POST', '/v1/verify', gateway, { key: maps.body.secret, permission: 'geo.read' })).body,
      (v) => v.valid === false,
    );
    expect(withoutGeo).toMatchObject({ valid: false, code: 'INSUFFICIENT_PERMISSIONS' });
    expect((await call(b, 'GET', '/v1/whoami', maps.body.secret)).body.permissions).toEqual(['api.key.view']);

    // In use: neither replica deletes it. Once its key is revoked (on A), B deletes it and A no longer offers it.
    expect((await call(b, 'DELETE', '/v1/roles/geo-reader', admin)).body.error.code).toBe('ROLE_IN_USE');
    expect((await call(a, 'DELETE', `/v1/keys/${maps.body.key.id}`, admin)).status).toBe(200);
    expect((await call(b, 'DELETE', '/v1/roles/geo-reader', admin)).status).toBe(204);
    // Management reads the role as committed: A knows at once, whatever its cache holds.
    expect((await call(a, 'GET', '/v1/roles/geo-reader', admin)).body.error.code).toBe('ROLE_NOT_FOUND');
    expect((await call(a, 'POST', '/v1/keys', admin, { name: 'too late', role: 'geo-reader' })).body.error.code).toBe('UNKNOWN_ROLE');
  });

  it('plan limit across replicas: 50 concurrent creates at limit - 1, half through each replica, give exactly one success', async () => {
    // A second organization, moved to the free plan (3 keys) by the service operator while the replicas run: its admin + 1 = 2 active.
    const bootstrap = await run(['bootstrap', '--org', 'small', '--output', 'json'], { KEYWARD_DATABASE_URL: databaseUrl });
    const { organizationId, secret: small } = JSON.parse(bootstrap.stdout) as { organizationId: string; secret: string };
    expect((await call(b, 'GET', '/v1/organization', small)).body.plan).toBe('enterprise');
    const setPlan = await run(['org', 'set-plan', '--org', organizationId, 'free'], { KEYWARD_DATABASE_URL: databaseUrl });
    expect(setPlan.stderr).toBe('');
    expect(setPlan.code).toBe(0);
    for (const url of [a, b]) {
      for (const deadline = Date.now() + 5_000; (await call(url, 'GET', '/v1/organization', small)).body.plan !== 'free'; ) {
        if (Date.now() > deadline) throw new Error(`${url} did not see the new plan within 5 s`);
      }
    }
    expect((await call(a, 'POST', '/v1/keys', small, { name: 'one', role: 'viewer' })).status).toBe(201);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => call(i % 2 ? a : b, 'POST', '/v1/keys', small, { name: `race ${i}`, role: 'viewer' })));
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    const refused = results.filter((r) => r.status !== 201);
    expect(refused.every((r) => r.status === 403 && r.body.error.code === 'KEY_LIMIT_REACHED')).toBe(true);
    expect(refused[0]!.body.error.message).toMatch(/3 active keys and its plan allows 3/);
    for (const url of [a, b]) {
      expect((await call(url, 'GET', '/v1/keys?status=active', small)).body.items).toHaveLength(3);
    }
  });

  it('an organization setting changed through A applies on B (IP allowlist)', async () => {
    const me = await call(b, 'GET', '/v1/whoami', admin);
    expect(me.status).toBe(200);
    // Allow only a network the test does not come from, with force (it locks the caller out).
    const set = await call(a, 'PUT', '/v1/ip-allowlist', admin, { entries: ['10.99.0.0/16'], force: true });
    expect(set.status).toBe(200);
    const refused = await until('B to apply the allowlist set through A', () => call(b, 'GET', '/v1/whoami', admin), (r) => r.status !== 200);
    expect(refused).toMatchObject({ status: 403, body: { error: { code: 'IP_NOT_ALLOWED' } } });
  });
});
