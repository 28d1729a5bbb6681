/**
 * On PostgreSQL, a replica answers POST /v1/verify from its cache when it has
 * seen the keys and their custom roles (without awaiting anything) and from
 * the database when it has not. Either way the answer is the same, and each
 * use is counted once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/server/config.ts';
import { createLogger } from '../../src/server/logger.ts';
import { startServer, type RunningServer } from '../../src/server/server.ts';
import type { PostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { hashSecret, newSecret } from '../../src/core/token.ts';
import { startTestService, type TestService } from '../support/keyservice.ts';
import { recordQueries } from '../support/postgres.ts';

let a: TestService;
let b: RunningServer;

beforeAll(async () => {
  a = await startTestService();
  // A second replica on the same database: it has seen none of A's keys.
  b = await startServer(resolveConfig({ port: 0, host: '127.0.0.1', ...a.store.config, logLevel: 'silent' }), { logger: createLogger('silent') });
});
afterAll(async () => {
  await b?.close();
  await a?.stop();
});

describe('verify on a replica, from its cache or from the database', () => {
  it('a key with a custom role: after the first answer, B verifies it (and its custom permission) without a query', async () => {
    const admin = a.client();
    const gateway = await admin.createKey({ name: 'Role gateway', role: 'verifier' });
    await admin.createPermission({ name: 'geo.read', description: 'read maps' });
    await admin.createRole({ id: 'geo-reader', name: 'Geo reader', permissions: ['geo.read'] });
    const maps = await admin.createKey({ name: 'Maps', role: 'geo-reader' });
    const store = b.store as PostgresStore;
    // The replica's change poll (every refreshMs) runs whenever it is due; only what the verifies send counts.
    const pollerQuery = (text: string) => /^SELECT clock_timestamp\(\) - interval /.test(text) || / WHERE changed_at > \$1$/.test(text);
    const { queries, stop } = recordQueries(store.pool, (text) => !pollerQuery(text));
    const verify = async () => {
      const response = await fetch(`${b.url}/v1/verify`, {
        method: 'POST',
        headers: { authorization: `Bearer ${gateway.secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ key: maps.secret, permission: 'geo.read' }),
      });
      return (await response.json()) as { valid: boolean; role?: string; permissions?: string[] };
    };
    expect(await verify()).toMatchObject({ valid: true, role: 'geo-reader', permissions: ['geo.read'] });
    expect(queries.some((text) => text.includes('FROM custom_roles'))).toBe(true);
    queries.length = 0;
    for (let i = 0; i < 3; i++) expect(await verify()).toMatchObject({ valid: true, role: 'geo-reader' });
    // Usage flushes may write meanwhile; nothing was read.
    expect(queries.filter((text) => /^\s*SELECT/i.test(text))).toEqual([]);
    stop();
  });

  it('answers keys it has not seen from the database, then from memory, and counts each use once', async () => {
    const admin = a.client();
    const gateway = await admin.createKey({ name: 'Gateway', role: 'verifier' });
    const cache = (b.store as PostgresStore).cache;

    const answers: { key: string; code: string }[] = [];
    const verify = async (key: string) => {
      const response = await fetch(`${b.url}/v1/verify`, {
        method: 'POST',
        headers: { authorization: `Bearer ${gateway.secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ key }),
      });
      expect(response.status).toBe(200);
      const answer = (await response.json()) as { valid: boolean; code: string; keyId?: string; metadata?: unknown };
      answers.push({ key, code: answer.code });
      return answer;
    };
    // A well-formed key no replica knows: always a database question, never cached (B reads the gateway's key meanwhile).
    expect(await verify(newSecret())).toMatchObject({ valid: false, code: 'UNKNOWN_KEY' });
    expect(cache.keyByHash(hashSecret(gateway.secret))?.id).toBe(gateway.key.id);
    // A key B has not seen, presented by a caller it has: from memory up to that key, then from the database.
    const app = await admin.createKey({ name: 'App', role: 'viewer', metadata: { team: 'geo' } });
    expect(cache.keyByHash(hashSecret(app.secret))).toBeUndefined();
    const first = await verify(app.secret);
    expect(first).toMatchObject({ valid: true, code: 'VALID', keyId: app.key.id, metadata: { team: 'geo' } });
    // The database answer was cached: the next ones come from memory, with the same answer.
    expect(cache.keyByHash(hashSecret(app.secret))?.id).toBe(app.key.id);
    for (let i = 0; i < 4; i++) expect(await verify(app.secret)).toEqual(first);
    // Revoked through A: B's cache learns it (LISTEN/NOTIFY) and refuses from memory.
    await admin.revokeKey(app.key.id);
    await expect.poll(async () => (await verify(app.secret)).code, { timeout: 5_000 }).toBe('KEY_REVOKED');

    await b.close(); // flushes B's usage counts
    const usage = async (keyId: string) =>
      (await admin.getUsage({ keyId })).items;
    const count = (rows: { outcome: string; count: number }[], outcome: string) => rows.find((row) => row.outcome === outcome)?.count ?? 0;
    const answered = (code: string) => answers.filter((answer) => answer.key === app.secret && answer.code === code).length;
    const appUses = await usage(app.key.id);
    expect(count(appUses, 'VALID')).toBe(answered('VALID'));
    expect(count(appUses, 'KEY_REVOKED')).toBe(answered('KEY_REVOKED'));
    // The gateway authenticated, and was counted, once per request.
    expect(count(await usage(gateway.key.id), 'VALID')).toBe(answers.length);
  });

});
