/**
 * Settings only whoever runs the service may change (an organization's plan
 * and the bound on its rotation grace periods) are changed with
 * `keyward org …`, straight in the store, as `keyward bootstrap` works; the
 * API refuses them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeywardClient } from '../../src/client/index.ts';
import { resolveConfig } from '../../src/server/config.ts';
import { createLogger } from '../../src/server/logger.ts';
import { startServer } from '../../src/server/server.ts';
import { run as keyward } from '../support/cli-process.ts';
import { failure, freshTestStore, type TestStore } from '../support/keyservice.ts';

const PLANS = 'free=3,team=50,enterprise=unlimited';

let dir: string;
let store: TestStore;
let env: Record<string, string>;
let acme: { organizationId: string; keyId: string; secret: string };
let globex: { organizationId: string; keyId: string; secret: string };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'keyward-org-cli-'));
  store = await freshTestStore(dir);
  env = { ...store.env, KEYWARD_PLANS: PLANS, KEYWARD_DEFAULT_PLAN: 'enterprise' };
  acme = JSON.parse((await keyward(['bootstrap', '--org', 'acme', '-o', 'json'], env)).stdout);
  globex = JSON.parse((await keyward(['bootstrap', '--org', 'globex', '-o', 'json'], env)).stdout);
});
afterAll(async () => {
  await store?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// Each command is a child process that opens the store (one at a time: a lowdb file has one owner); under load that takes seconds.
describe('keyward org', { timeout: 120_000 }, () => {
  it('org list shows every organization with its plan and grace bound (-o json too)', async () => {
    const table = await keyward(['org', 'list'], env);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+PLAN\s+ACTIVE KEYS\s+MAX GRACE PERIOD\s+CREATED$/);
    expect(lines.slice(1).map((line) => line.split(/\s+/).slice(0, 5))).toEqual([
      [acme.organizationId, 'acme', 'enterprise', '1/unlimited', '7d'],
      [globex.organizationId, 'globex', 'enterprise', '1/unlimited', '7d'],
    ]);
    const json = JSON.parse((await keyward(['org', 'list', '-o', 'json'], env)).stdout);
    expect(json.map((o: { id: string; plan: string; maxGracePeriod: string }) => [o.id, o.plan, o.maxGracePeriod])).toEqual([
      [acme.organizationId, 'enterprise', '7d'],
      [globex.organizationId, 'enterprise', '7d'],
    ]);
  });

  it('set-plan and set-max-grace-period change one organization, and refuse what does not exist', async () => {
    const plan = await keyward(['org', 'set-plan', '--org', acme.organizationId, 'free', '-o', 'json'], env);
    expect(plan.stderr).toBe('');
    expect(plan.code).toBe(0);
    expect(JSON.parse(plan.stdout)).toMatchObject({ id: acme.organizationId, plan: 'free', activeKeyLimit: 3 });
    const grace = await keyward(['org', 'set-max-grace-period', '--org', acme.organizationId, '2d'], env);
    expect(grace.code).toBe(0);
    expect(grace.stdout).toContain('2d');

    const unknownPlan = await keyward(['org', 'set-plan', '--org', acme.organizationId, 'platinum'], env);
    expect(unknownPlan.code).toBe(1);
    expect(unknownPlan.stderr).toMatch(/UNKNOWN_PLAN/);
    expect(unknownPlan.stderr).toMatch(/free, team, enterprise/);
    const unknownOrg = await keyward(['org', 'set-plan', '--org', 'org_nothere', 'team'], env);
    expect(unknownOrg.code).toBe(1);
    expect(unknownOrg.stderr).toMatch(/ORGANIZATION_NOT_FOUND/);
    const spoofed = await keyward(['bootstrap', '--org', 'ac\u202Eme', '-o', 'json'], env);
    expect(spoofed.code).toBe(1);
    expect(spoofed.stderr).toMatch(/VALIDATION_FAILED/);
    expect(spoofed.stderr).toMatch(/bidi or invisible formatting characters/);
    // Usage errors never open the store, so they may run side by side.
    const [badDuration, missingOrg] = await Promise.all([
      keyward(['org', 'set-max-grace-period', '--org', acme.organizationId, 'a week'], env),
      keyward(['org', 'set-plan', 'team'], env),
    ]);
    expect(badDuration.code).toBe(2);
    expect(badDuration.stderr).toMatch(/duration/);
    expect(missingOrg.code).toBe(2);
    expect(missingOrg.stderr).toContain('--org');
  });

  it('the service then applies them; the API refuses to change them; the audit log names no key as the actor', async () => {
    const server = await startServer(resolveConfig({ port: 0, host: '127.0.0.1', ...store.config, plans: PLANS }), { logger: createLogger('silent') });
    try {
      const admin = new KeywardClient({ url: server.url, apiKey: acme.secret });
      expect(await admin.getOrganization()).toMatchObject({ plan: 'free', activeKeyLimit: 3, maxGracePeriod: '2d' });
      const key = await admin.createKey({ name: 'Server', role: 'viewer' });
      const tooLong = await failure(admin.rotateKey(key.key.id, { gracePeriod: '3d' }));
      expect(tooLong.code).toBe('VALIDATION_FAILED');
      expect(tooLong.message).toMatch(/at most 2d/);
      for (const body of [{ plan: 'enterprise' }, { maxGracePeriod: '30d' }, { name: 'acme', plan: 'team' }]) {
        const refused = await failure(admin.updateOrganization(body));
        expect(refused.code).toBe('SET_BY_OPERATOR');
      }
      // The other organization is untouched.
      const other = new KeywardClient({ url: server.url, apiKey: globex.secret });
      expect(await other.getOrganization()).toMatchObject({ plan: 'enterprise', maxGracePeriod: '7d' });
      const audit = await admin.listAuditLog({ action: 'organization.updated' });
      expect(audit.items.map((e) => [e.actorKeyId, e.changes])).toEqual([
        [null, { before: { maxGracePeriod: '7d' }, after: { maxGracePeriod: '2d' } }],
        [null, { before: { plan: 'enterprise' }, after: { plan: 'free' } }],
      ]);
    } finally {
      await server.close();
    }
  });

  it('bootstrap refuses a second organization of a name that exists (exit 1, nothing created); --allow-duplicate-name makes it', async () => {
    const count = async () => (JSON.parse((await keyward(['org', 'list', '-o', 'json'], env)).stdout) as { name: string }[]).filter((org) => org.name === 'acme').length;
    const again = await keyward(['bootstrap', '--org', 'acme', '-o', 'json'], env);
    expect(again.code).toBe(1);
    expect(again.stdout).toBe('');
    expect(again.stderr).toContain(`an organization named "acme" exists already (${acme.organizationId}); nothing was created`);
    expect(again.stderr).toContain('--allow-duplicate-name');
    expect(await count()).toBe(1);
    const allowed = await keyward(['bootstrap', '--org', 'acme', '--allow-duplicate-name', '-o', 'json'], env);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(JSON.parse(allowed.stdout).organizationId).not.toBe(acme.organizationId);
    expect(await count()).toBe(2);
  });
});
