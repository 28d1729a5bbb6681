/**
 * The `keyward keys` options the README lists, run as a user runs them (a
 * child process against the real service on loopback), each shown by its
 * effect: `create --expires-at` (the key stops at that time), `update --role`
 * (the key gains and loses what the role grants, never more than the caller
 * holds), `list --unused-for` and `--rotation-due` (exactly the keys that
 * qualify, as keys age on the service's clock). Each step is a CLI process
 * (about a second each on a loaded 2-core machine), hence the longer timeouts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../support/cli-process.ts';
import { errorCode, startTestService, TestClock, type TestService } from '../support/keyservice.ts';

const DAY = 86_400_000;
const clock = new TestClock();
let service: TestService;

beforeAll(async () => {
  service = await startTestService({}, { clock });
});
afterAll(async () => service?.stop());

const keyward = async (args: string[], env = service.adminEnv) => {
  const result = await run(args, env);
  return { ...result, json: () => JSON.parse(result.stdout) };
};
const ids = (items: { id: string }[]) => items.map((k) => k.id).sort();

describe('keyward keys create --expires-at', () => {
  it('creates a key that works until that time and is expired from then on', async () => {
    const at = new Date(clock.ms + 2 * DAY).toISOString();
    const created = await keyward(['keys', 'create', '--name', 'Contractor', '--role', 'viewer', '--expires-at', at, '-o', 'json']);
    expect(created.code, created.stderr).toBe(0);
    const { key, secret } = created.json();
    expect(key).toMatchObject({ name: 'Contractor', expiresAt: at, status: 'active' });
    expect((await service.client(secret).whoami()).key.id).toBe(key.id);
    clock.advance(2 * DAY);
    expect(await errorCode(service.client(secret).whoami())).toBe('KEY_EXPIRED');
    const shown = await keyward(['keys', 'get', key.id, '-o', 'json']);
    expect(shown.json()).toMatchObject({ id: key.id, status: 'expired' });
  }, 90_000);

  it('a time in the past or not a date-time exits 1 with VALIDATION_FAILED, and creates nothing', async () => {
    const before = (await service.client().listKeys({ status: 'all', limit: 500 })).items.length;
    const times = [new Date(Date.now() - DAY).toISOString(), 'next tuesday'];
    const results = await Promise.all(times.map((at) => keyward(['keys', 'create', '--name', 'Never', '--role', 'viewer', '--expires-at', at])));
    for (const [i, result] of results.entries()) {
      expect(result.code, times[i]).toBe(1);
      expect(result.stderr).toContain('(VALIDATION_FAILED)');
      expect(result.stderr).toContain('expiresAt');
    }
    expect((await service.client().listKeys({ status: 'all', limit: 500 })).items).toHaveLength(before);
  }, 90_000);
});

describe('keyward keys update --role', () => {
  it('changes what the key may do at once; a key-manager cannot promote past its own role', async () => {
    const created = (await keyward(['keys', 'create', '--name', 'Deployer', '--role', 'viewer', '-o', 'json'])).json();
    const asKey = { KEYWARD_URL: service.url, KEYWARD_API_KEY: created.secret };
    const attempt = () => keyward(['keys', 'create', '--name', 'made by deployer', '--role', 'viewer', '-o', 'json'], asKey);
    expect((await attempt()).stderr).toContain('(INSUFFICIENT_PERMISSIONS)');

    const promoted = await keyward(['keys', 'update', created.key.id, '--role', 'key-manager', '-o', 'json']);
    expect(promoted.code, promoted.stderr).toBe(0);
    expect(promoted.json()).toMatchObject({ id: created.key.id, role: 'key-manager', name: 'Deployer' });
    // Same secret, new powers.
    const made = await attempt();
    expect(made.code, made.stderr).toBe(0);
    expect(made.json().key.createdBy).toBe(created.key.id);

    // The key-manager may not make any key (itself included) an admin, and nothing changes.
    const escalation = await keyward(['keys', 'update', created.key.id, '--role', 'admin'], asKey);
    expect(escalation.code).toBe(1);
    expect(escalation.stderr).toContain('(PRIVILEGE_ESCALATION)');
    expect((await service.client().getKey(created.key.id)).role).toBe('key-manager');

    // Back to viewer: the power is gone again; an unknown role is refused.
    expect((await keyward(['keys', 'update', created.key.id, '--role', 'viewer'])).code).toBe(0);
    expect((await attempt()).stderr).toContain('(INSUFFICIENT_PERMISSIONS)');
    const unknown = await keyward(['keys', 'update', created.key.id, '--role', 'no-such-role']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('(UNKNOWN_ROLE)');
  }, 90_000);
});

describe('keyward keys list --unused-for / --rotation-due', () => {
  it('lists exactly the keys unused for that long, and exactly the keys due for rotation, as they age', async () => {
    // A fresh organization, so the other tests' keys do not count.
    const org = await service.newOrganization('aging');
    const env = { KEYWARD_URL: service.url, KEYWARD_API_KEY: org.secret };
    // Setup goes through the client; only `keys list` (what this shows) runs the CLI: each run is a process start.
    const create = (name: string, environment: 'production' | 'development' = 'production') => service.client(org.secret).createKey({ name, role: 'viewer', environment });
    const [used, idle, devIdle] = await Promise.all([create('Used'), create('Idle'), create('Dev idle', 'development')]);
    const list = async (...args: string[]) => {
      const result = await keyward(['keys', 'list', ...args, '-o', 'json'], env);
      expect(result.code, result.stderr).toBe(0);
      return ids(result.json());
    };
    expect(await Promise.all([list('--unused-for', '30d'), list('--rotation-due')])).toEqual([[], []]);

    // 40 days on, "Used" is used (and so is the admin key, by these very commands).
    clock.advance(40 * DAY);
    expect((await service.client(used.secret).whoami()).key.id).toBe(used.key.id);
    const [unused, unusedProduction, unused45, table] = await Promise.all([
      list('--unused-for', '30d'),
      list('--unused-for', '30d', '--environment', 'production'),
      list('--unused-for', '45d'),
      keyward(['keys', 'list', '--unused-for', '30d'], env),
    ]);
    expect(unused).toEqual(ids([idle.key, devIdle.key]));
    expect(unusedProduction).toEqual([idle.key.id]);
    expect(unused45).toEqual([]);
    // The table shows the same keys.
    expect(table.stdout.trimEnd().split('\n').slice(1).map((line) => /key_[0-9A-Za-z]{20}/.exec(line)![0]).sort()).toEqual(ids([idle.key, devIdle.key]));

    // 100 days after creation the production keys are due (90 days), the development one is not (180).
    clock.advance(60 * DAY);
    expect(await list('--rotation-due')).toEqual(ids([{ id: org.keyId }, used.key, idle.key]));
    // Rotating one takes it (and its successor, new) off the list.
    await service.client(org.secret).rotateKey(idle.key.id, { gracePeriod: '0' });
    expect(await list('--rotation-due')).toEqual(ids([{ id: org.keyId }, used.key]));

    const bad = await keyward(['keys', 'list', '--unused-for', 'a while'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('(VALIDATION_FAILED)');
  }, 90_000);
});

describe('keyward keys update --metadata', () => {
  it('sets and removes entries (the others stay); verify answers with the new metadata; the audit log has before and after', async () => {
    const created = (await keyward(['keys', 'create', '--name', 'Labelled', '--role', 'viewer', '--metadata', 'team=web', '--metadata', 'legacy=yes', '-o', 'json'])).json();
    const updated = await keyward(['keys', 'update', created.key.id, '--metadata', 'team=payments', '--metadata', 'tier=gold', '--metadata', 'legacy-', '-o', 'json']);
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.json().metadata).toEqual({ team: 'payments', tier: 'gold' });
    expect(await service.client().verifyKey({ key: created.secret })).toMatchObject({ valid: true, metadata: { team: 'payments', tier: 'gold' } });
    const audit = await service.client().listAuditLog({ action: 'key.updated', targetId: created.key.id });
    expect(audit.items[0]!.changes).toEqual({ before: { metadata: { team: 'web', legacy: 'yes' } }, after: { metadata: { team: 'payments', tier: 'gold' } } });

    // Removing an entry the key does not have, or a malformed edit, is a usage error and changes nothing.
    const [absent, malformed] = await Promise.all([
      keyward(['keys', 'update', created.key.id, '--metadata', 'nothere-']),
      keyward(['keys', 'update', created.key.id, '--metadata', 'team']),
    ]);
    expect([absent.code, malformed.code]).toEqual([2, 2]);
    expect(absent.stderr).toContain('no entry nothere to remove');
    expect((await service.client().getKey(created.key.id)).metadata).toEqual({ team: 'payments', tier: 'gold' });
  }, 90_000);
});
