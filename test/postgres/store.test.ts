/**
 * The PostgreSQL store on its own: migrations under concurrency, invariants
 * the database enforces, cursor semantics, the audit event committed with its
 * mutation, and the per-replica key cache (LISTEN/NOTIFY invalidation, the
 * periodic refresh when a notification is lost, a full reload after the LISTEN
 * connection drops). Two PostgresStore instances on one database are two replicas.
 */
import { afterAll, afterEach, describe, expect, inject, it, onTestFinished } from 'vitest';
import pg from 'pg';
import { KeywardError } from '../../src/core/errors.ts';
import { issueKey, newAuditEvent, newOrganization } from '../../src/core/issue.ts';
import { LowdbStore } from '../../src/store/lowdb-store.ts';
import { MIGRATIONS } from '../../src/store/postgres/migrations/index.ts';
import { PostgresStore } from '../../src/store/postgres/postgres-store.ts';
import type { Store } from '../../src/store/store.ts';
import { createDatabase, dropDatabase, recordQueries } from '../support/postgres.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { Retirement } from '../../src/core/retirement.ts';

const AFTER_GRACE: Retirement = { revokeOld: 'afterGrace', quietPeriod: null, rotatedAt: new Date().toISOString(), endedAt: null, endedBy: null };

const server = inject('postgresUrl');
const open: Store[] = [];
const databases: string[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const store of open.splice(0)) await store.close();
});
afterAll(async () => {
  for (const url of databases) await dropDatabase(server, url);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function database(): Promise<string> {
  const url = await createDatabase(server);
  databases.push(url);
  return url;
}

async function replica(url: string, options: ConstructorParameters<typeof Object>[0] = {}): Promise<PostgresStore> {
  const store = await PostgresStore.open(url, options as never);
  open.push(store);
  return store;
}

/** Waits for a condition (the deadline only keeps a broken store from hanging the run; figures are in bench/). */
const until = async (condition: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

/** A refresh interval no test outlives: only a NOTIFY (or a reconnect) can change what such a replica caches. */
const NO_REFRESH = { refreshMs: 3_600_000 };

function fixtures(plan = 'enterprise') {
  const org = newOrganization('acme', new Date(), plan);
  const audit = (targetId = 'x') => newAuditEvent({ organizationId: org.id, action: 'key.created', actorKeyId: null, ip: null, targetType: 'key', targetId }, new Date());
  const mint = (name: string, extra: { idempotencyKey?: string; roleId?: string; createdAt?: Date } = {}) =>
    issueKey({ organizationId: org.id, name, roleId: extra.roleId ?? 'viewer', environment: 'production', createdBy: null, tokenPrefix: 'kw_', rotationDays: {}, now: extra.createdAt ?? new Date(), idempotencyKey: extra.idempotencyKey ?? null }).record;
  return { org, audit, mint };
}

async function seeded(store: Store) {
  const f = fixtures();
  await store.createOrganization(f.org, f.mint('admin'), f.audit());
  return f;
}

describe('PostgreSQL store: schema and migrations', () => {
  it('five replicas starting at once migrate once (advisory lock); schema_migrations records each version', async () => {
    const url = await database();
    await Promise.all(Array.from({ length: 5 }, () => replica(url)));
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const { rows } = await client.query('SELECT version, name FROM schema_migrations ORDER BY version');
    expect(rows).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
    // Every list filter has an index.
    const indexes = (await client.query<{ indexname: string }>("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")).rows.map((r) => r.indexname);
    expect(indexes).toEqual(expect.arrayContaining(['keys_org_order', 'keys_org_role', 'keys_org_environment', 'keys_org_rotation_due', 'keys_org_last_used', 'keys_org_unrevoked', 'keys_org_revoked', 'audit_org_action', 'audit_org_actor', 'audit_org_target', 'audit_org_at', 'usage_org_day']));
    await client.end();
  });

  it('refuses a database whose schema is newer than this build', async () => {
    const url = await database();
    await (await replica(url)).close();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query("INSERT INTO schema_migrations (version, name) VALUES (9999, 'from the future')");
    await client.end();
    await expect(PostgresStore.open(url)).rejects.toThrow(/schema is at version 9999, newer than this keyward knows/);
  });
});

describe('PostgreSQL store: invariants in the database', () => {
  it('the database itself refuses a duplicate secret hash, a key in two organizations, a rotation link across organizations', async () => {
    const url = await database();
    const store = await replica(url);
    const { org, mint, audit } = await seeded(store);
    const other = fixtures();
    await store.createOrganization(other.org, other.mint('admin'), other.audit());
    const key = mint('k');
    await store.insertKey(key, { activeLimit: null, now: Date.now() }, audit());
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    onTestFinished(() => client.end());
    const copy = (overrides: string) =>
      client.query(`INSERT INTO keys (id, organization_id, name, role_id, environment, secret_hash, secret_hint, created_at, rotation_due_at, rotated_from_id)
                    SELECT ${overrides} FROM keys WHERE id = $1`, [key.id]);
    // same hash, another id
    await expect(copy(`'key_dup', organization_id, name, role_id, environment, secret_hash, secret_hint, created_at, rotation_due_at, NULL`)).rejects.toMatchObject({ constraint: 'keys_secret_hash_unique' });
    // same id, another organization
    await expect(copy(`id, '${other.org.id}', name, role_id, environment, repeat('a', 64), secret_hint, created_at, rotation_due_at, NULL`)).rejects.toMatchObject({ constraint: 'keys_pkey' });
    // a successor in another organization than the key it replaces
    await expect(copy(`'key_x', '${other.org.id}', name, role_id, environment, repeat('b', 64), secret_hint, created_at, rotation_due_at, id`)).rejects.toMatchObject({ constraint: 'keys_rotated_from_fk' });
    expect(org.id).not.toBe(other.org.id);
  });

  it('bootstrap of an empty database is atomic: replicas starting together create exactly one organization', async () => {
    const url = await database();
    const stores = await Promise.all(Array.from({ length: 4 }, () => replica(url)));
    const results = await Promise.all(
      stores.map((store) => {
        const { org, audit, mint } = fixtures();
        return store.createOrganization(org, mint('admin'), audit(), { onlyIfNone: true });
      }),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await stores[0]!.listOrganizations()).toHaveLength(1);
    // Without onlyIfNone, organizations are simply added.
    const { org, audit, mint } = fixtures();
    expect(await stores[1]!.createOrganization(org, mint('admin'), audit())).toBe(true);
    expect(await stores[0]!.listOrganizations()).toHaveLength(2);
  });

  it('plan limit across two replicas: 50 concurrent inserts at limit - 1 give exactly one success', async () => {
    const url = await database();
    const [a, b] = [await replica(url), await replica(url)];
    const { org, mint, audit } = await seeded(a);
    // admin + 3 = 4 active; the limit is 5.
    for (let i = 0; i < 3; i++) await a.insertKey(mint(`pre${i}`), { activeLimit: 5, now: Date.now() }, audit());
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).insertKey(mint(`c${i}`), { activeLimit: 5, now: Date.now() }, audit())),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected.every((r) => (r.reason as KeywardError).code === 'KEY_LIMIT_REACHED')).toBe(true);
    expect((rejected[0]!.reason as KeywardError).message).toMatch(/5 active keys and its plan allows 5\. Revoke unused keys or upgrade the plan/);
    expect(await b.countActiveKeys(org.id, Date.now())).toBe(5);
    // Refused inserts left no audit event behind: one per created key (4 + 1) and the organization's.
    expect((await b.listAudit(org.id, { limit: 100 })).items).toHaveLength(5);
  });

  it('idempotency keys are unique per organization, also across replicas at once', async () => {
    const url = await database();
    const [a, b] = [await replica(url), await replica(url)];
    const { mint, audit } = await seeded(a);
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).insertKey(mint(`i${i}`, { idempotencyKey: 'uid-1/1' }), { activeLimit: null, now: Date.now() }, audit())),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const codes = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => (r.reason as KeywardError).code);
    expect(new Set(codes)).toEqual(new Set(['IDEMPOTENCY_KEY_REUSED']));
    // Another organization may use the same idempotency key.
    const other = fixtures();
    await b.createOrganization(other.org, other.mint('admin'), other.audit());
    await b.insertKey(other.mint('same', { idempotencyKey: 'uid-1/1' }), { activeLimit: null, now: Date.now() }, other.audit());
  });

  it('maps every refusal to the lowdb store’s error code, and writes no audit event for it', async () => {
    const url = await database();
    const store = await replica(url);
    const { org, mint, audit } = await seeded(store);
    const code = (p: Promise<unknown>) => p.then(() => 'NO_ERROR', (e: KeywardError) => e.code);
    const key = mint('k');
    await store.insertKey(key, { activeLimit: null, now: Date.now() }, audit());
    const role = { organizationId: org.id, id: 'ops', name: 'Ops', description: '', permissions: ['api.key.view'], createdAt: new Date().toISOString(), updatedAt: new Date().toISOString() };
    await store.insertCustomRole(role, audit());
    const before = (await store.listAudit(org.id, { limit: 100 })).items.length;
    expect(await code(store.insertCustomRole(role, audit()))).toBe('ROLE_EXISTS');
    expect(await code(store.updateCustomRole(org.id, 'nope', { name: 'x' }, new Date().toISOString(), audit()))).toBe('ROLE_NOT_FOUND');
    expect(await code(store.deleteCustomRole(org.id, 'nope', audit()))).toBe('ROLE_NOT_FOUND');
    await store.updateKey(org.id, key.id, { roleId: 'ops' }, Date.now(), audit());
    expect(await code(store.deleteCustomRole(org.id, 'ops', audit()))).toBe('ROLE_IN_USE');
    const permission = { organizationId: org.id, name: 'geo.read', description: 'x', createdAt: new Date().toISOString() };
    await store.insertCustomPermission(permission, audit());
    expect(await code(store.insertCustomPermission(permission, audit()))).toBe('PERMISSION_EXISTS');
    expect(await code(store.updateKey(org.id, 'key_nope', { name: 'x' }, Date.now(), audit()))).toBe('KEY_NOT_FOUND');
    expect(await code(store.updateOrganization('org_nope', { name: 'x' }, audit()))).toBe('ORGANIZATION_NOT_FOUND');
    await store.revokeKey(org.id, key.id, new Date().toISOString(), audit());
    expect(await code(store.revokeKey(org.id, key.id, new Date().toISOString(), audit()))).toBe('KEY_ALREADY_REVOKED');
    expect(await code(store.updateKey(org.id, key.id, { name: 'x' }, Date.now(), audit()))).toBe('KEY_NOT_ACTIVE');
    expect(await code(store.rotateKey({ organizationId: org.id, keyId: key.id, successor: mint('s'), previousExpiresAt: new Date().toISOString(), activeLimit: null, now: Date.now(), retirement: AFTER_GRACE }, audit()))).toBe('KEY_NOT_ACTIVE');
    // updateKey(role) + revoke + the custom permission = 3 writes that succeeded, plus the role before `before`.
    expect((await store.listAudit(org.id, { limit: 100 })).items.length).toBe(before + 3);
    // Edits carry before/after of what changed.
    const updated = (await store.listAudit(org.id, { limit: 100, action: 'key.created' })).items.find((e) => e.changes?.after?.roleId === 'ops');
    expect(updated?.changes).toEqual({ before: { roleId: 'viewer' }, after: { roleId: 'ops' } });
  });

  it('a store whose database is unreachable answers SERVICE_UNAVAILABLE (503), for reads and writes alike', async () => {
    const url = await database();
    const store = await replica(url);
    const { org, mint, audit } = await seeded(store);
    // pg-pool refuses every query once ended ("Cannot use a pool after calling end on the pool").
    await store.pool.end();
    open.splice(open.indexOf(store), 1);
    const unavailable = { code: 'SERVICE_UNAVAILABLE', status: 503 };
    await expect(store.listKeys(org.id, { status: 'all', limit: 10, now: Date.now() })).rejects.toMatchObject(unavailable);
    await expect(store.reads.keyByHash(mint('never cached').secretHash)).rejects.toMatchObject(unavailable);
    await expect(store.insertKey(mint('refused'), { activeLimit: null, now: Date.now() }, audit())).rejects.toMatchObject(unavailable);
    const error = await store.listAudit(org.id, { limit: 10 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeywardError);
    expect((error as KeywardError).toBody()).toMatchObject({ code: 'SERVICE_UNAVAILABLE', hint: expect.stringContaining('retry') });
  });
});

describe('PostgreSQL store: the same answers as the lowdb store', () => {
  it('key pages, filters, audit pages and usage match lowdb for the same records', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyward-pg-vs-lowdb-'));
    dirs.push(dir);
    const lowdb = await LowdbStore.open(join(dir, 'db.json'));
    open.push(lowdb);
    const postgres = await replica(await database());
    const { org, mint, audit } = fixtures();
    const admin = mint('admin');
    const base = Date.now() - 3_600_000;
    // Keys sharing a createdAt (the id breaks the tie), other roles and environments, revoked and expired ones.
    const keys = Array.from({ length: 23 }, (_, i) => {
      const key = mint(`k${i}`, { createdAt: new Date(base + Math.floor(i / 3) * 1000), roleId: i % 4 === 0 ? 'key-manager' : 'viewer' });
      if (i % 5 === 0) key.environment = 'staging';
      if (i % 7 === 0) key.expiresAt = new Date(base).toISOString();
      return key;
    });
    const revokedAt = new Date().toISOString();
    const usedAt = new Date().toISOString();
    // Same ids for both (audit ids too); each store gets its own copies (lowdb keeps and updates the objects it is given).
    const creation = audit();
    const insertions = keys.map((key) => audit(key.id));
    const revocation = audit(keys[3]!.id);
    for (const store of [lowdb, postgres]) {
      await store.createOrganization(structuredClone(org), structuredClone(admin), structuredClone(creation));
      for (const [i, key] of keys.entries()) await store.insertKey(structuredClone(key), { activeLimit: null, now: Date.now() }, structuredClone(insertions[i]!));
      await store.revokeKey(org.id, keys[3]!.id, revokedAt, structuredClone(revocation));
      await store.recordUsage(
        [{ keyId: keys[1]!.id, lastUsedAt: usedAt, lastUsedIp: '10.0.0.1', clients: [] }],
        [
          { organizationId: org.id, keyId: keys[1]!.id, day: '2026-11-26', outcome: 'VALID', count: 3 },
          { organizationId: org.id, keyId: keys[2]!.id, day: '2026-11-27', outcome: 'KEY_REVOKED', count: 1 },
        ],
      );
      await store.recordUsage([], [{ organizationId: org.id, keyId: keys[1]!.id, day: '2026-11-26', outcome: 'VALID', count: 4 }]);
    }
    const pages = async (store: Store, filter: { status: 'all' | 'active' | 'expired' | 'revoked'; roleId?: string; environment?: 'staging' }) => {
      const ids: string[][] = [];
      let after;
      do {
        const page = await store.listKeys(org.id, { ...filter, limit: 4, after, now: Date.now() });
        ids.push(page.items.map((k) => k.id));
        after = page.next ?? undefined;
      } while (after);
      return ids;
    };
    for (const filter of [{ status: 'all' }, { status: 'active' }, { status: 'expired' }, { status: 'revoked' }, { status: 'all', roleId: 'key-manager' }, { status: 'active', environment: 'staging' }] as const) {
      expect(await pages(postgres, filter), JSON.stringify(filter)).toEqual(await pages(lowdb, filter));
    }
    // Whole records are identical, not just their order.
    const all = async (store: Store) => (await store.listKeys(org.id, { status: 'all', limit: 100, now: Date.now() })).items;
    expect(await all(postgres)).toEqual(await all(lowdb));
    const auditPages = async (store: Store) => {
      const out: string[][] = [];
      let before: string | undefined;
      do {
        const page = await store.listAudit(org.id, { limit: 5, before });
        out.push(page.items.map((e) => e.id));
        before = page.next ?? undefined;
      } while (before);
      return out;
    };
    expect(await auditPages(postgres)).toEqual(await auditPages(lowdb));
    const usage = async (store: Store) => (await store.listUsage(org.id, { from: '2026-01-01', to: '2026-12-31' })).sort((a, b) => `${a.keyId}${a.day}`.localeCompare(`${b.keyId}${b.day}`));
    expect(await usage(postgres)).toEqual(await usage(lowdb));
    expect((await usage(postgres)).find((u) => u.outcome === 'VALID')?.count).toBe(7);
    expect(await postgres.countActiveKeys(org.id, Date.now())).toBe(await lowdb.countActiveKeys(org.id, Date.now()));
  });
});

describe('PostgreSQL store: each replica caches key state', () => {
  it('a key revoked on replica A fails on replica B through NOTIFY (B never refreshes), and B served it from memory before', async () => {
    const url = await database();
    const [a, b] = [await replica(url), await replica(url, NO_REFRESH)];
    const { org, mint, audit } = await seeded(a);
    const key = mint('k');
    await a.insertKey(key, { activeLimit: null, now: Date.now() }, audit());
    expect((await b.reads.keyByHash(key.secretHash))?.revokedAt).toBeNull();
    expect(b.cache.keyByHash(key.secretHash)).toBeDefined();
    await a.revokeKey(org.id, key.id, new Date().toISOString(), audit());
    // The notice drops B's copy; B's next lookup reads the revoked row.
    await until(() => b.cache.keyByHash(key.secretHash) === undefined);
    expect((await b.reads.keyByHash(key.secretHash))?.revokedAt).not.toBeNull();
  });

  it('getKey and getKeys refresh the copies the cache holds with what they read, and cache nothing new', async () => {
    const url = await database();
    const [a, b] = [await replica(url), await replica(url, NO_REFRESH)];
    const { org, mint, audit } = await seeded(a);
    const [one, two, other] = [mint('one'), mint('two'), mint('not cached')];
    for (const key of [one, two, other]) await a.insertKey(key, { activeLimit: null, now: Date.now() }, audit());
    for (const key of [one, two]) await b.reads.keyByHash(key.secretHash);
    // Revoked behind the replicas' back (no NOTIFY, and B never refreshes): only B's own reads can update its copies.
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('UPDATE keys SET revoked_at = now(), changed_at = clock_timestamp() WHERE id = ANY($1::text[])', [[one.id, two.id, other.id]]);
    await client.end();
    expect(b.cache.keyById(one.id)?.revokedAt).toBeNull();
    expect((await b.getKey(org.id, one.id))?.revokedAt).not.toBeNull();
    expect(b.cache.keyById(one.id)?.revokedAt).not.toBeNull();
    expect(b.cache.keyById(two.id)?.revokedAt).toBeNull();
    const found = await b.getKeys(org.id, [two.id, other.id]);
    expect(found.map((key) => key.id).sort()).toEqual([two.id, other.id].sort());
    expect(b.cache.keyById(two.id)?.revokedAt).not.toBeNull();
    expect(b.cache.keyById(other.id)).toBeUndefined();
  });

  it('custom roles are cached like keys: served from memory once read, dropped by NOTIFY when changed or deleted elsewhere', async () => {
    const url = await database();
    const [a, b] = [await replica(url), await replica(url, NO_REFRESH)];
    const { org, audit } = await seeded(a);
    const now = new Date().toISOString();
    await a.insertCustomRole({ organizationId: org.id, id: 'ops', name: 'Ops', description: '', permissions: ['api.key.view'], createdAt: now, updatedAt: now }, audit());
    const { queries } = recordQueries(b.pool, (text) => text.includes('FROM custom_roles'));
    // The first read goes to the database (a promise); then B answers at once, with no query.
    const first = b.reads.customRole(org.id, 'ops');
    expect(first).toBeInstanceOf(Promise);
    expect((await first)?.permissions).toEqual(['api.key.view']);
    const second = b.reads.customRole(org.id, 'ops');
    expect(second).not.toBeInstanceOf(Promise);
    expect((second as { permissions: string[] }).permissions).toEqual(['api.key.view']);
    expect(queries).toHaveLength(1);
    // Changed through A: A's notice drops B's copy, and B reads the new permissions.
    await a.updateCustomRole(org.id, 'ops', { permissions: ['api.key.view', 'usage.view'] }, new Date().toISOString(), audit('ops'));
    await until(() => b.cache.role(org.id, 'ops') === undefined);
    expect((await b.reads.customRole(org.id, 'ops'))?.permissions).toEqual(['api.key.view', 'usage.view']);
    // Deleted through A: dropped again; nothing negative is cached, so a role created again under the id is read afresh.
    await a.deleteCustomRole(org.id, 'ops', audit('ops'));
    await until(() => b.cache.role(org.id, 'ops') === undefined);
    expect(await b.reads.customRole(org.id, 'ops')).toBeUndefined();
    expect(b.cache.role(org.id, 'ops')).toBeUndefined();
  });

  it('a role change whose notification was lost reaches the cache by the periodic refresh', async () => {
    const url = await database();
    const b = await replica(url, { refreshMs: 200 });
    const c = await replica(url, NO_REFRESH);
    const { org, audit } = await seeded(b);
    const now = new Date().toISOString();
    await b.insertCustomRole({ organizationId: org.id, id: 'ops', name: 'Ops', description: '', permissions: ['api.key.view'], createdAt: now, updatedAt: now }, audit());
    expect((await b.reads.customRole(org.id, 'ops'))?.permissions).toEqual(['api.key.view']);
    expect((await c.reads.customRole(org.id, 'ops'))?.permissions).toEqual(['api.key.view']);
    // Changed behind the replicas' back: no NOTIFY.
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query("UPDATE custom_roles SET permissions = '{usage.view}', changed_at = clock_timestamp() WHERE organization_id = $1 AND id = 'ops'", [org.id]);
    await client.end();
    await until(() => b.cache.role(org.id, 'ops')?.permissions[0] === 'usage.view');
    // Only the refresh could have done it: the replica without one still serves its copy.
    expect(c.cache.role(org.id, 'ops')?.permissions).toEqual(['api.key.view']);
  });

  it('concurrent reads of a key the cache lacks share one query, unless something was invalidated meanwhile', async () => {
    const url = await database();
    const [a, b] = [await replica(url), await replica(url)];
    const { org, mint, audit } = await seeded(a);
    const key = mint('cold');
    await a.insertKey(key, { activeLimit: null, now: Date.now() }, audit());
    const { queries } = recordQueries(b.pool, (text) => text.includes('WHERE secret_hash'));
    // 50 requests for a key B has not seen, all at once: one query, 50 answers.
    const answers = await Promise.all(Array.from({ length: 50 }, () => b.reads.keyByHash(key.secretHash)));
    expect(answers.every((found) => found?.id === key.id)).toBe(true);
    expect(queries).toHaveLength(1);
    // The same for a key nobody has (a brute-force burst): one query.
    const unknown = mint('never stored');
    expect(await Promise.all(Array.from({ length: 20 }, () => b.reads.keyByHash(unknown.secretHash)))).toEqual(Array(20).fill(undefined));
    expect(queries).toHaveLength(2);
    // A read that starts after an invalidation does not join one started before it
    // (that one may predate the change). B's LISTEN connection invalidates on A's
    // notice; here the test does it itself, so the order is certain.
    await a.revokeKey(org.id, key.id, new Date().toISOString(), audit());
    b.cache.invalidateKeys([key.id]);
    const before = b.reads.keyByHash(key.secretHash);
    b.cache.invalidateKeys([key.id]);
    const after = b.reads.keyByHash(key.secretHash);
    expect((await after)?.revokedAt).not.toBeNull();
    await before;
    expect(queries).toHaveLength(4);
  });

  it('a change whose notification was lost reaches the cache by the periodic refresh (bounded staleness)', async () => {
    const url = await database();
    const b = await replica(url, { refreshMs: 200 });
    // The same replica without the refresh: what it still serves shows the refresh, not something else, did it.
    const c = await replica(url, NO_REFRESH);
    const { mint, audit } = await seeded(b);
    const key = mint('k');
    await b.insertKey(key, { activeLimit: null, now: Date.now() }, audit());
    expect((await b.reads.keyByHash(key.secretHash))?.revokedAt).toBeNull();
    expect((await c.reads.keyByHash(key.secretHash))?.revokedAt).toBeNull();
    // Revoked behind the replicas' back: no NOTIFY.
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('UPDATE keys SET revoked_at = now(), changed_at = clock_timestamp() WHERE id = $1', [key.id]);
    await client.end();
    await until(async () => (await b.reads.keyByHash(key.secretHash))?.revokedAt !== null);
    expect(b.cache.keyByHash(key.secretHash)?.revokedAt).not.toBeNull();
    expect((await c.reads.keyByHash(key.secretHash))?.revokedAt).toBeNull();
  });

  it('losing the LISTEN connection: it reconnects by itself and then empties the cache', async () => {
    const url = await database();
    const b = await replica(url, NO_REFRESH);
    const { mint, audit } = await seeded(b);
    const key = mint('k');
    await b.insertKey(key, { activeLimit: null, now: Date.now() }, audit());
    await b.reads.keyByHash(key.secretHash);
    expect(b.cache.size).toBeGreaterThan(0);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'keyward listener' AND datname = current_database()");
    await client.end();
    await until(() => b.cache.size === 0);
    await until(() => b.listenConnects === 2);
    // Invalidation works again over the new connection (B never refreshes: only a notice can drop its copy).
    const a = await replica(url);
    expect((await b.reads.keyByHash(key.secretHash))?.revokedAt).toBeNull();
    expect(b.cache.keyByHash(key.secretHash)).toBeDefined();
    await a.revokeKey(key.organizationId, key.id, new Date().toISOString(), audit());
    await until(() => b.cache.keyByHash(key.secretHash) === undefined);
    expect((await b.reads.keyByHash(key.secretHash))?.revokedAt).not.toBeNull();
  });
});
