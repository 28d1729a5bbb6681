/**
 * `keyward migrate`: the schema on its own, and a lowdb store copied into
 * PostgreSQL (organizations, custom roles and permissions, keys by hash,
 * usage, audit), with counts verified, safe to re-run, after which the key
 * service on PostgreSQL answers exactly as it did on the file.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MIGRATIONS } from '../../src/store/postgres/migrations/index.ts';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KeywardClient } from '../../src/client/index.ts';
import { resolveConfig } from '../../src/server/config.ts';
import { createLogger } from '../../src/server/logger.ts';
import { startServer, type RunningServer } from '../../src/server/server.ts';
import { run, type Run } from '../support/cli-process.ts';
import { createDatabase, dropDatabase } from '../support/postgres.ts';

const server = inject('postgresUrl');
let dir: string;
let storeFile: string;
const databases: string[] = [];
const keyward = (args: string[], env: Record<string, string> = {}): Promise<Run> => run(args, env);

async function database(): Promise<string> {
  const url = await createDatabase(server);
  databases.push(url);
  return url;
}

/** What a client sees of the store, for comparing the two services. */
async function observe(client: KeywardClient) {
  const keys = await client.listKeys({ status: 'all', limit: 500 });
  const roles = await client.listRoles();
  const permissions = await client.listPermissions();
  const usage = await client.getUsage();
  const audit = await client.listAuditLog({ limit: 500 });
  const invitations = await client.listInvitations();
  const incidents = await client.listIncidents({ limit: 500 });
  // The observing admin key is used by these very calls: leave its own use out.
  const me = (await client.whoami()).key.id;
  return {
    keys: keys.items.map((key) => (key.id === me ? { ...key, lastUsedAt: 'observer', lastUsedIp: 'observer', recentClients: 'observer' } : key)),
    roles,
    permissions,
    invitations,
    usage: usage.items.filter((row) => row.keyId !== me),
    audit: audit.items,
    incidents: incidents.items,
  };
}

let lowdbView: Awaited<ReturnType<typeof observe>>;
const secrets: Record<string, string> = {};
let adminSecret: string;
let lowdbOidc: unknown;
/** A follower's cursor on the lowdb service, and what it saw after it there. */
let feedCursor: string;
/** A follower's cursor taken last on the lowdb service (its position counts every audit record, not only key changes). */
let endCursor: string;
let lowdbFeed: { cursor: string; action: string; keyId: string }[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'keyward-migrate-'));
  storeFile = join(dir, 'db.json');
  // A lowdb store with some history: keys created, rotated, revoked, used; a custom role and permission; two organizations.
  let bootstrapped: { organizationId: string; keyId: string; secret: string } | undefined;
  const running: RunningServer = await startServer(
    resolveConfig({ port: 0, host: '127.0.0.1', storeFile, bootstrapOrganization: 'acme', usageFlushMs: 50 }),
    { logger: createLogger('silent'), onBootstrap: (result) => (bootstrapped = result) },
  );
  adminSecret = bootstrapped!.secret;
  const admin = new KeywardClient({ url: running.url, apiKey: adminSecret });
  await admin.createPermission({ name: 'geo.read', description: 'Read geodata' });
  await admin.createRole({ id: 'geo', name: 'Geo reader', permissions: ['geo.read', 'api.key.view'] });
  const gateway = await admin.createKey({ name: 'Gateway', role: 'verifier' });
  const app = await admin.createKey({ name: 'App', role: 'geo', metadata: { team: 'maps', tier: 2, beta: true } });
  const old = await admin.createKey({ name: 'Old', role: 'viewer', environment: 'staging' });
  const rotated = await admin.rotateKey(old.key.id, { gracePeriod: '1h' });
  const doomed = await admin.createKey({ name: 'Doomed', role: 'viewer' });
  await admin.createInvitation({ email: 'migrated@example.com', role: 'viewer' });
  await admin.revokeKey(doomed.key.id);
  feedCursor = (await admin.listEvents({})).cursor;
  const leaked = await admin.createKey({ name: 'Leaked', role: 'viewer' });
  await admin.compromiseKey(leaked.key.id, { reason: 'in a public gist', notify: false });
  Object.assign(secrets, { gateway: gateway.secret, app: app.secret, old: old.secret, successor: rotated.secret, doomed: doomed.secret });
  const verifier = new KeywardClient({ url: running.url, apiKey: gateway.secret });
  for (let i = 0; i < 7; i++) await verifier.verifyKey({ key: app.secret });
  await verifier.verifyKey({ key: doomed.secret });
  await running.service.bootstrapOrganization('globex');
  // The organization's identity provider, written as PUT /v1/organization/oidc would after its discovery (no provider runs here).
  const organizationId = bootstrapped!.organizationId;
  await running.service.store.people.putOidcProvider(
    { organizationId, issuer: 'https://login.acme.test', clientId: 'keyward', clientSecret: 'migrated-client-secret', name: 'Acme SSO', allowedDomains: ['acme.test'], updatedAt: new Date().toISOString() },
    running.service.context.audit(null, organizationId, 'organization.oidc-updated', 'organization', organizationId),
  );
  lowdbView = await observe(admin);
  lowdbOidc = await admin.getOrganizationOidc();
  lowdbFeed = (await admin.listEvents({ after: feedCursor })).items.map(({ cursor, action, keyId }) => ({ cursor, action, keyId }));
  endCursor = (await admin.listEvents({})).cursor;
  expect(Number(endCursor)).toBeGreaterThan(Number(lowdbFeed.at(-1)!.cursor));
  await running.close();
});

afterAll(async () => {
  for (const url of databases) await dropDatabase(server, url);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('keyward migrate', () => {
  it('applies the schema to an empty database, then reports it up to date', async () => {
    const url = await database();
    const first = await keyward(['migrate', '-o', 'json'], { KEYWARD_DATABASE_URL: url });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({
      version: MIGRATIONS.at(-1)!.version,
      applied: MIGRATIONS.map((m) => ({ version: m.version, name: m.name })),
    });
    const again = await keyward(['migrate', '--database-url', url]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`up to date (schema version ${MIGRATIONS.at(-1)!.version})`);
    // The usage errors touch nothing: one process start each, run side by side.
    const [usage, fromOnly, untyped] = await Promise.all([
      keyward(['migrate']),
      keyward(['migrate', '--from', 'lowdb:x.json']),
      keyward(['migrate', '--from', 'x.json', '--to', `postgres:${url}`]),
    ]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/KEYWARD_DATABASE_URL/);
    expect(fromOnly.code).toBe(2);
    expect(untyped.code).toBe(2);
  }, 60_000); // five `keyward migrate` process starts: 9 s alone, over 30 s next to other suites at load 20

  it('copies a lowdb store with verified counts, is safe to re-run, and the service on PostgreSQL answers as before', async () => {
    const url = await database();
    const copy = await keyward(['migrate', '--from', `lowdb:${storeFile}`, '--to', `postgres:${url}`, '-o', 'json']);
    expect(copy.stderr).toBe('');
    expect(copy.code).toBe(0);
    const result = JSON.parse(copy.stdout) as { ok: boolean; tables: { table: string; source: number; verified: number; inserted: number }[] };
    expect(result.ok).toBe(true);
    const data = JSON.parse(readFileSync(storeFile, 'utf8'));
    const expected = {
      organizations: 2,
      roles: 1,
      permissions: 1,
      keys: data.keys.length,
      usage: data.usage.length,
      'usage-by-address': data.addressUses.length,
      audit: data.audit.length,
      invitations: data.invitations.length,
      members: data.members.length,
      passkeys: data.passkeys.length,
      oidc_providers: 1,
      incidents: 1,
    };
    // The first admin's invitation (bootstrap) and one made through the API.
    expect(expected.invitations).toBe(2);
    for (const [table, count] of Object.entries(expected)) {
      expect(result.tables.find((t) => t.table === table), table).toEqual({ table, source: count, verified: count, inserted: count });
    }
    expect(expected.usage).toBeGreaterThan(0);
    expect(expected['usage-by-address']).toBeGreaterThan(0);

    // Again: nothing new to insert, everything verified.
    const rerun = await keyward(['migrate', '--from', `lowdb:${storeFile}`, '--to', `postgres:${url}`]);
    expect(rerun.code).toBe(0);
    expect(rerun.stdout).toMatch(/^TABLE\s+SOURCE\s+COPIED\s+VERIFIED/);
    expect(rerun.stdout).toMatch(/keys\s+\d+\s+0\s+\d+/);

    // The same service on PostgreSQL: same keys, roles, usage and audit; every secret behaves as before.
    const running = await startServer(resolveConfig({ port: 0, host: '127.0.0.1', storeFile: join(dir, 'unused.json'), databaseUrl: url }), { logger: createLogger('silent') });
    try {
      const admin = new KeywardClient({ url: running.url, apiKey: adminSecret });
      const view = await observe(admin);
      expect(view.keys).toEqual(lowdbView.keys);
      expect(view.roles).toEqual(lowdbView.roles);
      expect(view.permissions).toEqual(lowdbView.permissions);
      expect(view.invitations).toEqual(lowdbView.invitations);
      expect(view.usage).toEqual(lowdbView.usage);
      expect(view.audit).toEqual(lowdbView.audit);
      expect(view.incidents).toEqual(lowdbView.incidents);
      expect(await admin.getOrganizationOidc()).toEqual(lowdbOidc);
      expect((await running.service.store.people.getOidcProvider((await admin.whoami()).organization.id))?.clientSecret).toBe('migrated-client-secret');
      const verifier = new KeywardClient({ url: running.url, apiKey: secrets.gateway! });
      expect(await verifier.verifyKey({ key: secrets.app!, permission: 'geo.read' })).toMatchObject({ valid: true, metadata: { team: 'maps', tier: 2, beta: true } });
      expect(await verifier.verifyKey({ key: secrets.doomed! })).toMatchObject({ valid: false, code: 'KEY_REVOKED' });
      expect(await verifier.verifyKey({ key: secrets.old! })).toMatchObject({ valid: true });
      expect(await verifier.verifyKey({ key: secrets.successor! })).toMatchObject({ valid: true });
      // A change-feed follower of the lowdb service resumes from its cursor on PostgreSQL: what it had not seen yet, then what follows.
      expect(lowdbFeed.map((e) => e.action)).toEqual(['key.created', 'key.compromised', 'key.created']);
      const resumed = await admin.listEvents({ after: feedCursor });
      expect(resumed.items.map(({ cursor, action, keyId }) => ({ cursor, action, keyId }))).toEqual(lowdbFeed);
      // A follower's long poll (the client's own timeout is longer than the wait).
      const follower = new KeywardClient({ url: running.url, apiKey: adminSecret, timeoutMs: 60_000 });
      const waiting = follower.listEvents({ after: resumed.cursor, wait: '50s' });
      // `keyward migrate` against the live service (schema, and the copy again) changes nothing a follower holds.
      expect((await keyward(['migrate', '--database-url', url])).code).toBe(0);
      expect((await keyward(['migrate', '--from', `lowdb:${storeFile}`, '--to', `postgres:${url}`])).code).toBe(0);
      // And it goes on from there.
      const after = await admin.createKey({ name: 'After migration', role: 'viewer' });
      expect(after.key.id).toMatch(/^key_/);
      const next = await waiting;
      expect(next.items.map((e) => [e.action, e.keyId])).toEqual([['key.created', after.key.id]]);
      expect(Number(next.items[0]!.cursor)).toBeGreaterThan(Number(resumed.cursor));
      // A follower that started last on lowdb (past every key change there) sees it too.
      expect((await admin.listEvents({ after: endCursor })).items.map((e) => e.keyId)).toEqual([after.key.id]);
    } finally {
      await running.close();
    }
  }, 60_000); // four `keyward migrate` starts (two against the live service) and a service start

  it('refuses to copy a store a running service owns (stop it first)', async () => {
    const running = await startServer(resolveConfig({ port: 0, host: '127.0.0.1', storeFile }), { logger: createLogger('silent') });
    try {
      const copy = await keyward(['migrate', '--from', `lowdb:${storeFile}`, '--to', `postgres:${await database()}`]);
      expect(copy.code).toBe(1);
      expect(copy.stderr).toContain('in use by another keyward process');
    } finally {
      await running.close();
    }
  });
});
