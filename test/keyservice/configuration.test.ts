/**
 * Settings the README documents, each shown by its effect: the organization's
 * `rotationDays` (rotation due dates of new keys and successors, by moving the
 * service clock), and `keyward serve`'s environment: KEYWARD_TOKEN_PREFIX
 * (the prefix of every secret it issues; keys issued under another prefix keep
 * working) and KEYWARD_METRICS (off: no /metrics).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeywardClient } from '../../src/client/index.ts';
import { freePort, killAll, run, serve } from '../support/cli-process.ts';
import { errorCode, freshTestStore, raw, startTestService, TestClock, type TestService, type TestStore } from '../support/keyservice.ts';

const DAY = 86_400_000;

describe("the organization's rotationDays", () => {
  const clock = new TestClock();
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService({}, { clock });
  });
  afterAll(async () => service?.stop());

  it('sets when new keys and successors fall due, per environment; keys issued before keep their date; other organizations keep the defaults', async () => {
    const admin = service.client();
    const before = await admin.createKey({ name: 'Before', role: 'viewer' });
    expect(Date.parse(before.key.rotationDueAt) - clock.ms).toBe(90 * DAY);

    const updated = await admin.updateOrganization({ rotationDays: { production: 30, development: 7 } });
    expect(updated.rotationDays).toEqual({ production: 30, development: 7 });
    const production = await admin.createKey({ name: 'Production', role: 'viewer' });
    const staging = await admin.createKey({ name: 'Staging', role: 'viewer', environment: 'staging' });
    const development = await admin.createKey({ name: 'Development', role: 'viewer', environment: 'development' });
    expect(Date.parse(production.key.rotationDueAt) - clock.ms).toBe(30 * DAY);
    expect(Date.parse(staging.key.rotationDueAt) - clock.ms).toBe(90 * DAY); // not overridden: the default
    expect(Date.parse(development.key.rotationDueAt) - clock.ms).toBe(7 * DAY);
    expect((await admin.getKey(before.key.id)).rotationDueAt).toBe(before.key.rotationDueAt);

    // Another organization is untouched.
    const other = service.client((await service.newOrganization('globex')).secret);
    expect(Date.parse((await other.createKey({ name: 'Theirs', role: 'viewer' })).key.rotationDueAt) - clock.ms).toBe(90 * DAY);

    // Eight days on, only the development key is due; 31 days on, the production one too (not the one issued before).
    const due = async () => (await admin.listKeys({ rotationDue: 'true' } as never)).items.map((k) => k.name).sort();
    clock.advance(8 * DAY);
    expect(await due()).toEqual(['Development']);
    clock.advance(23 * DAY);
    expect(await due()).toEqual(['Development', 'Production']);

    // A successor falls due by the organization's days, counted from its rotation.
    const rotated = await admin.rotateKey(production.key.id, { gracePeriod: '0' });
    expect(Date.parse(rotated.key.rotationDueAt) - clock.ms).toBe(30 * DAY);
    expect(await due()).toEqual(['Development']);
  });

  it('refuses days out of range, and changes nothing', async () => {
    const admin = service.client();
    const current = await admin.getOrganization();
    for (const rotationDays of [{ production: 0 }, { production: 3651 }, { production: 1.5 }, { qa: 10 }]) {
      expect(await errorCode(admin.updateOrganization({ rotationDays })), JSON.stringify(rotationDays)).toBe('VALIDATION_FAILED');
    }
    expect((await admin.getOrganization()).rotationDays).toEqual(current.rotationDays);
  });
});

describe('keyward serve: KEYWARD_TOKEN_PREFIX and KEYWARD_METRICS', () => {
  let dir: string;
  let store: TestStore;
  let admin: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keyward-config-'));
    store = await freshTestStore(dir);
    // Bootstrapped with the default prefix; the service below is then configured with another.
    const bootstrap = await run(['bootstrap', '--org', 'acme', '--output', 'json'], store.env);
    expect(bootstrap.stderr).toBe('');
    admin = JSON.parse(bootstrap.stdout).secret;
  });
  afterAll(async () => {
    await killAll();
    await store?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const start = async (env: Record<string, string>) => {
    const port = await freePort();
    const child = await serve(store.storeFile, port, { ...store.env, ...env });
    const url = `http://127.0.0.1:${port}`;
    return { child, url, client: (secret = admin) => new KeywardClient({ url, apiKey: secret }) };
  };
  const stop = async (child: Awaited<ReturnType<typeof start>>['child']) => {
    child.process.kill('SIGTERM');
    await child.exited;
  };

  it('KEYWARD_TOKEN_PREFIX: every secret issued (create, rotate, bootstrap) carries it and the hint shows it; keys issued before keep working', async () => {
    expect(admin).toMatch(/^kw_[0-9A-Za-z]{28}$/);
    const service = await start({ KEYWARD_TOKEN_PREFIX: 'acme_', KEYWARD_METRICS: 'on' });
    try {
      const client = service.client();
      // The admin key issued as kw_… survives the change of prefix.
      expect((await client.whoami()).key.role).toBe('admin');
      const created = await client.createKey({ name: 'App', role: 'viewer' });
      expect(created.secret).toMatch(/^acme_[0-9A-Za-z]{28}$/);
      expect(created.key.hint).toBe(`acme_…${created.secret.slice(-4)}`);
      const rotated = await client.rotateKey(created.key.id, { gracePeriod: '1h' });
      expect(rotated.secret).toMatch(/^acme_/);
      const gateway = (await client.createKey({ name: 'Gateway', role: 'verifier' })).secret;
      expect(await service.client(gateway).verifyKey({ key: rotated.secret })).toMatchObject({ valid: true, keyId: rotated.key.id });
      // The prefix is part of the secret (and of its checksum): swapped for the default one, it is a typo.
      const withDefault = `kw_${rotated.secret.slice('acme_'.length)}`;
      expect(await service.client(gateway).verifyKey({ key: withDefault })).toMatchObject({ valid: false, code: 'KEY_CHECKSUM_MISMATCH' });
      // `keyward bootstrap` honours it too (on a store of its own: a lowdb file has one owner).
      const otherStore = await freshTestStore(dir, 'prefixed.json');
      try {
        const other = await run(['bootstrap', '--org', 'globex', '--output', 'json'], { ...otherStore.env, KEYWARD_TOKEN_PREFIX: 'acme_' });
        expect(other.stderr).toBe('');
        expect(JSON.parse(other.stdout).secret).toMatch(/^acme_[0-9A-Za-z]{28}$/);
      } finally {
        await otherStore.drop();
      }
      // KEYWARD_METRICS=on: /metrics is served (on the main port, to a key holding metrics.view).
      const metrics = await raw(service.url, '/metrics', { headers: { authorization: `Bearer ${admin}` } });
      expect(metrics.status).toBe(200);
      expect(metrics.text).toContain('keyward_http_requests_total');
    } finally {
      await stop(service.child);
    }
  });

  it('KEYWARD_METRICS=off: no /metrics (404 ROUTE_NOT_FOUND); the API is unaffected', async () => {
    const service = await start({ KEYWARD_TOKEN_PREFIX: 'acme_', KEYWARD_METRICS: 'off' });
    try {
      const metrics = await raw(service.url, '/metrics', { headers: { authorization: `Bearer ${admin}` } });
      expect(metrics.status).toBe(404);
      expect(metrics.body.error.code).toBe('ROUTE_NOT_FOUND');
      expect(metrics.text).not.toContain('keyward_');
      expect((await service.client().whoami()).key.role).toBe('admin');
    } finally {
      await stop(service.child);
    }
  });

  it('a malformed KEYWARD_TOKEN_PREFIX or KEYWARD_METRICS stops serve at start (a usage error), naming the variable', async () => {
    for (const [env, setting] of [[{ KEYWARD_TOKEN_PREFIX: 'Acme-' }, 'KEYWARD_TOKEN_PREFIX:'], [{ KEYWARD_METRICS: 'maybe' }, 'KEYWARD_METRICS:']] as const) {
      const port = await freePort();
      const result = await run(['serve'], { ...store.env, KEYWARD_PORT: String(port), ...env });
      expect(result.code, JSON.stringify(env)).toBe(2);
      expect(result.stderr).toContain(setting);
    }
  });
});
