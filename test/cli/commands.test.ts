/**
 * Every client command of `keyward`, run as a user runs it: a child process
 * (the pinned Node running src/cli/main.ts) against the real key service on
 * a loopback port, each shown by its effect on the service. Exit codes:
 * 0 ok, 1 the API refused, 2 usage (and refused without --yes), 3 a key that
 * does not verify. Incidents and the change feed (`events`, and
 * `events --watch` as a long-running child) too. Each case runs several processes one after another
 * (about half a second each, seconds on a loaded machine): longer timeouts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { KeyView } from '../../src/client/index.ts';
import { killAll, run, startKeyward } from '../support/cli-process.ts';
import { errorCode, startTestService, type TestService } from '../support/keyservice.ts';
import { until } from '../support/webhook.ts';

const SECRET = /kw_[0-9A-Za-z]{28}/;
let service: TestService;

beforeAll(async () => {
  service = await startTestService();
});
afterAll(async () => service?.stop());

const keyward = async (args: string[], env: Record<string, string | undefined> = service.adminEnv, input = '') => {
  const result = await run(args, env, input);
  return { ...result, json: () => JSON.parse(result.stdout) };
};
const admin = () => service.client();

describe('output formats: -o table|wide|json|yaml|name|jsonpath', { timeout: 120_000 }, () => {
  let key: KeyView;
  beforeAll(async () => {
    key = (await admin().createKey({ name: 'Formats', role: 'viewer', environment: 'staging', metadata: { team: 'web' }, ipAllowlist: ['10.0.0.0/8'] })).key;
  });

  it('every format prints the same keys; table columns and wide columns as documented', async () => {
    const list = (...o: string[]) => keyward(['keys', 'list', ...o]);
    const [table, wide, json, yaml, name, jsonpath] = await Promise.all([list(), list('-o', 'wide'), list('-o', 'json'), list('-o', 'yaml'), list('-o', 'name'), list('-o', 'jsonpath={[*].id}')]);
    for (const r of [table, wide, json, yaml, name, jsonpath]) expect(r.code, r.stderr).toBe(0);
    const ids = (json.json() as KeyView[]).map((k) => k.id);
    expect(ids).toContain(key.id);
    expect((parseYaml(yaml.stdout) as KeyView[]).map((k) => k.id)).toEqual(ids);
    expect(name.stdout).toBe(ids.map((id) => `key/${id}\n`).join(''));
    expect(jsonpath.stdout).toBe(`${ids.join(' ')}\n`);
    const header = table.stdout.split('\n')[0]!;
    expect(header.split(/\s{2,}/)).toEqual(['NAME', 'KEY ID', 'ROLE', 'ENVIRONMENT', 'STATUS', 'EXPIRES', 'ROTATION DUE', 'LAST USED', 'AGE']);
    const row = table.stdout.split('\n').find((line) => line.includes(key.id))!;
    expect(row.split(/\s{2,}/)).toEqual(['Formats', key.id, 'viewer', 'staging', 'active', '<never>', 'in 90d', '<never>', expect.stringMatching(/^\d+s$/)]);
    const wideHeader = wide.stdout.split('\n')[0]!;
    expect(wideHeader).toMatch(/AGE\s+HINT\s+LAST IP\s+CREATED BY\s+ROTATED TO\s+IP ALLOWLIST\s+METADATA$/);
    const wideRow = wide.stdout.split('\n').find((line) => line.includes(key.id))!;
    expect(wideRow).toContain(key.hint);
    expect(wideRow).toMatch(/10\.0\.0\.0\/8\s+team=web$/);
  });

  it('one object prints as itself (not a list); jsonpath takes kubectl templates with literal text', async () => {
    const [json, yaml, template] = await Promise.all([
      keyward(['keys', 'get', key.id, '-o', 'json']),
      keyward(['keys', 'get', key.id, '-o', 'yaml']),
      keyward(['keys', 'get', key.id, '-o', 'jsonpath={.name}{" is "}{.role}{"\\n"}']),
    ]);
    expect(json.json()).toMatchObject({ id: key.id, name: 'Formats' });
    expect(parseYaml(yaml.stdout)).toEqual(json.json());
    expect(template.stdout).toBe('Formats is viewer\n');
  });

  it('keys get with several ids reads them in one request; a missing one is an error (exit 1) after the keys found', async () => {
    const other = (await admin().createKey({ name: 'Second', role: 'viewer' })).key;
    const missing = 'key_00000000000000000000';
    const [both, withMissing] = await Promise.all([keyward(['keys', 'get', key.id, other.id, '-o', 'name']), keyward(['keys', 'get', key.id, missing, '-o', 'json'])]);
    expect(both.code, both.stderr).toBe(0);
    expect(both.stdout.split('\n').filter(Boolean).sort()).toEqual([`key/${key.id}`, `key/${other.id}`].sort());
    expect(withMissing.code).toBe(1);
    expect((withMissing.json() as KeyView[]).map((k) => k.id)).toEqual([key.id]);
    expect(withMissing.stderr).toBe(`error: key ${missing} not found (KEY_NOT_FOUND)\n`);
  });

  it('an empty list says so on stderr and leaves stdout empty; json prints []', async () => {
    const [table, json] = await Promise.all([keyward(['keys', 'list', '--status', 'revoked', '--role', 'verifier']), keyward(['keys', 'list', '--status', 'revoked', '--role', 'verifier', '-o', 'json'])]);
    expect(table.code).toBe(0);
    expect(table.stdout).toBe('');
    expect(table.stderr).toBe('No keys found.\n');
    expect(json.json()).toEqual([]);
  });

  it('an unknown format is a usage error (exit 2) naming the formats', async () => {
    const run = await keyward(['roles', 'list', '-o', 'xml']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('"xml" is not an output format: use one of table, wide, json, yaml, name, jsonpath=…');
    expect(run.stdout).toBe('');
  });
});

describe('keys', { timeout: 120_000 }, () => {
  it('create --expires-in --ip-allowlist --metadata --environment -q: the secret alone on stdout, nothing on stderr; the key has every setting', async () => {
    const before = Date.now();
    const run = await keyward(['keys', 'create', '--name', 'Partner', '--role', 'viewer', '--environment', 'development', '--expires-in', '30d', '--ip-allowlist', '127.0.0.1,10.0.0.0/8', '--metadata', 'partner=acme', '--metadata', 'tier=gold', '-q']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(new RegExp(`^${SECRET.source}\\n$`));
    const me = await service.client(run.stdout.trim()).whoami();
    expect(me.key).toMatchObject({ name: 'Partner', environment: 'development', metadata: { partner: 'acme', tier: 'gold' }, ipAllowlist: ['127.0.0.1/32', '10.0.0.0/8'] });
    const expires = Date.parse(me.key.expiresAt!);
    expect(expires).toBeGreaterThanOrEqual(before + 30 * 86_400_000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 30 * 86_400_000);
  });

  it('create refuses --expires-in with --expires-at, a bad duration and a bad --metadata (exit 2), creating nothing', async () => {
    const count = (await admin().listKeys({ status: 'all', limit: 500 })).items.length;
    const runs = await Promise.all([
      keyward(['keys', 'create', '--name', 'x', '--role', 'viewer', '--expires-in', '1d', '--expires-at', '2099-01-01T00:00:00Z']),
      keyward(['keys', 'create', '--name', 'x', '--role', 'viewer', '--expires-in', 'a month']),
      keyward(['keys', 'create', '--name', 'x', '--role', 'viewer', '--metadata', 'novalue']),
      keyward(['keys', 'create', '--name', 'x', '--role', 'viewer', '--expires-in', '0']),
    ]);
    expect(runs.map((r) => r.code)).toEqual([2, 2, 2, 2]);
    // Zero is a duration: the message says why it is refused instead of calling it none.
    expect(runs[3]!.stderr).toContain('--expires-in 0 would expire the key as it is created');
    expect(runs[0]!.stderr).toContain('--expires-in or --expires-at, not both');
    expect(runs[1]!.stderr).toContain('--expires-in "a month" is not a duration');
    expect(runs[2]!.stderr).toContain('"novalue" is not key=value');
    expect((await admin().listKeys({ status: 'all', limit: 500 })).items).toHaveLength(count);
  });

  it('a key used from outside its allowlist: IP_NOT_ALLOWED with a hint naming the allowlist commands', async () => {
    const fenced = await admin().createKey({ name: 'Fenced', role: 'viewer', ipAllowlist: ['10.0.0.0/8'] });
    const run = await keyward(['whoami'], { KEYWARD_URL: service.url, KEYWARD_API_KEY: fenced.secret });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('(IP_NOT_ALLOWED)');
    expect(run.stderr).toMatch(/hint: .*`keyward allowlist add <cidr>`.*`keyward keys update <keyId> --ip-allowlist …`/);
  });

  it("the API's validation details are listed field by field with their flags, and hints name CLI commands", async () => {
    const [invalid, unknownRole] = await Promise.all([
      keyward(['keys', 'create', '--name', ' ', '--role', 'viewer', '--expires-at', 'next tuesday']),
      keyward(['keys', 'create', '--name', 'x', '--role', 'no-such-role']),
    ]);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain('(VALIDATION_FAILED)');
    expect(invalid.stderr).toMatch(/\n {2}- name \(--name\): must not be blank\n/);
    expect(invalid.stderr).toMatch(/\n {2}- expiresAt \(--expires-at\): must be an ISO 8601 date-time/);
    expect(unknownRole.code).toBe(1);
    expect(unknownRole.stderr).toContain('(UNKNOWN_ROLE)');
    expect(unknownRole.stderr).toContain('hint: List the roles with `keyward roles list`');
    expect(unknownRole.stderr).not.toContain('/v1/');
  });

  it('a field given as an argument is named as that argument, and a field no flag sets names no flag', async () => {
    const [permission, role, tooLong] = await Promise.all([
      keyward(['permissions', 'create', 'api.key.mine']),
      keyward(['roles', 'create', 'Not An Id', '--name', 'x', '--permissions', 'api.key.view']),
      keyward(['verify'], service.adminEnv, 'x'.repeat(600)),
    ]);
    expect([permission.code, role.code, tooLong.code]).toEqual([1, 1, 1]);
    expect(permission.stderr).toMatch(/\n {2}- name \(<name>\): /);
    expect(role.stderr).toMatch(/\n {2}- id \(<roleId>\): must be lowercase/);
    // verify reads the key from stdin: there is no --key to name.
    expect(tooLong.stderr).toMatch(/\n {2}- key: must be at most 512 characters\n/);
  });

  it('describe shows every field like kubectl describe; after a rotation STATUS says rotating and EXPIRES the end of the grace period', async () => {
    const created = await admin().createKey({ name: 'Described', role: 'viewer', metadata: { team: 'ops' } });
    const rotated = await admin().rotateKey(created.key.id, { gracePeriod: '2h' });
    const [describe, list] = await Promise.all([keyward(['keys', 'describe', created.key.id]), keyward(['keys', 'list'])]);
    expect(describe.code, describe.stderr).toBe(0);
    const fields = Object.fromEntries(
      describe.stdout
        .split('\n')
        .filter((line) => /^[A-Z][^:]*:/.test(line))
        .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()]),
    );
    expect(fields).toMatchObject({ Name: 'Described', 'Key ID': created.key.id, Role: 'viewer', Status: 'rotating', 'Rotated to': rotated.key.id, 'Rotation due': '-' });
    expect(fields.Expires).toMatch(/\(in (2h|1\d\dm)\)$/);
    expect(describe.stdout).toMatch(/\nMetadata:\n {2}team=ops\n/);
    const row = list.stdout.split('\n').find((line) => line.includes(created.key.id))!;
    expect(row.split(/\s{2,}/).slice(4, 7)).toEqual(['rotating', expect.stringMatching(/^in (2h|1\d\dm)$/), '-']);
    expect(describe.stdout).not.toContain(created.secret);
  });

  it('update --ip-allowlist and --clear-ip-allowlist change the key on the server; update with nothing is exit 2', async () => {
    const { key } = await admin().createKey({ name: 'Allowlisted', role: 'viewer' });
    const set = await keyward(['keys', 'update', key.id, '--ip-allowlist', '192.0.2.0/24', '-o', 'json']);
    expect(set.code, set.stderr).toBe(0);
    expect(set.json()).toMatchObject({ id: key.id, ipAllowlist: ['192.0.2.0/24'] });
    expect((await admin().getKey(key.id)).ipAllowlist).toEqual(['192.0.2.0/24']);
    expect((await keyward(['keys', 'update', key.id, '--clear-ip-allowlist'])).code).toBe(0);
    expect((await admin().getKey(key.id)).ipAllowlist).toEqual([]);
    const nothing = await keyward(['keys', 'update', key.id]);
    expect(nothing.code).toBe(2);
  });

  it('revoke without a terminal and without --yes is refused (exit 2) and the key keeps working; --dry-run changes nothing; --yes revokes', async () => {
    const created = await admin().createKey({ name: 'To revoke', role: 'viewer' });
    const [refused, dry] = await Promise.all([keyward(['keys', 'revoke', created.key.id]), keyward(['keys', 'revoke', created.key.id, '--dry-run'])]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('pass --yes');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`would revoke key ${created.key.id} (To revoke, role viewer)`);
    expect((await service.client(created.secret).whoami()).key.status).toBe('active');
    const revoked = await keyward(['keys', 'revoke', created.key.id, '--yes', '-q']);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toBe('');
    expect(await errorCode(service.client(created.secret).whoami())).toBe('KEY_REVOKED');
  });

  it('rotate -q prints the new secret alone, and it works', async () => {
    const created = await admin().createKey({ name: 'Rotated quietly', role: 'viewer' });
    const run = await keyward(['keys', 'rotate', created.key.id, '--grace-period', '1h', '-q']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe('');
    const secret = run.stdout.trim();
    expect(secret).toMatch(SECRET);
    expect((await service.client(secret).whoami()).key.rotatedFromId).toBe(created.key.id);
  });
});

describe('roles and permissions', { timeout: 120_000 }, () => {
  it('permissions create and list; roles create, get, describe, update, list, and delete (with --yes)', async () => {
    const permission = await keyward(['permissions', 'create', 'geo.read', '--description', 'read geodata', '-o', 'json']);
    expect(permission.code, permission.stderr).toBe(0);
    expect(permission.json()).toEqual({ name: 'geo.read', description: 'read geodata', builtin: false });
    const catalog = await keyward(['permissions', 'list', '-o', 'name']);
    expect(catalog.stdout.split('\n')).toEqual(expect.arrayContaining(['permission/geo.read', 'permission/api.key.view']));

    const created = await keyward(['roles', 'create', 'geo-reader', '--name', 'Geo reader', '--permissions', 'geo.read,api.key.verify']);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^ID\s+NAME\s+BUILTIN\s+PERMISSIONS\ngeo-reader\s+Geo reader\s+no\s+2\n$/);
    expect((await admin().getRole('geo-reader')).permissions).toEqual(['geo.read', 'api.key.verify']);

    const updated = await keyward(['roles', 'update', 'geo-reader', '--permissions', 'geo.read', '--description', 'maps', '-o', 'json']);
    expect(updated.json()).toMatchObject({ id: 'geo-reader', permissions: ['geo.read'], description: 'maps' });
    const [get, describe, list] = await Promise.all([
      keyward(['roles', 'get', 'geo-reader', '-o', 'jsonpath={.permissions[*]}']),
      keyward(['roles', 'describe', 'geo-reader']),
      keyward(['roles', 'list', '-o', 'wide']),
    ]);
    expect(get.stdout).toBe('geo.read\n');
    expect(describe.stdout).toMatch(/^ID:\s+geo-reader\nName:\s+Geo reader\nBuilt-in:\s+no\nDescription:\s+maps\nPermissions:\n {2}geo\.read\n$/);
    expect(list.stdout).toMatch(/\ngeo-reader\s+Geo reader\s+no\s+1\s+maps\s+geo\.read\n/);

    const refused = await keyward(['roles', 'delete', 'geo-reader']);
    expect(refused.code).toBe(2);
    expect((await admin().getRole('geo-reader')).id).toBe('geo-reader');
    const deleted = await keyward(['roles', 'delete', 'geo-reader', '--yes']);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toBe('role geo-reader deleted\n');
    expect(await errorCode(admin().getRole('geo-reader'))).toBe('ROLE_NOT_FOUND');
    const missing = await keyward(['roles', 'describe', 'geo-reader']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('hint: List the roles with `keyward roles list`.');
  });
});

describe('allowlist', { timeout: 120_000 }, () => {
  // Whatever happens here, later tests call from 127.0.0.1 without an allowlist.
  afterAll(async () => void (await admin().putIpAllowlist({ entries: [], force: true })));

  it('add, remove and set change the list; a lock-out is refused (exit 1) and --dry-run and a missing --yes change nothing', async () => {
    const entries = async () => (await admin().getIpAllowlist()).entries;
    const added = await keyward(['allowlist', 'add', '127.0.0.1', '198.51.100.0/24', '--yes', '-o', 'json']);
    expect(added.code, added.stderr).toBe(0);
    expect(added.json()).toEqual({ entries: ['127.0.0.1/32', '198.51.100.0/24'], callerIp: '127.0.0.1' });
    expect(await entries()).toEqual(['127.0.0.1/32', '198.51.100.0/24']);

    const lockout = await keyward(['allowlist', 'set', '203.0.113.0/24', '--yes']);
    expect(lockout.code).toBe(1);
    expect(lockout.stderr).toContain('(SELF_LOCKOUT)');
    expect(lockout.stderr).toContain('pass --force');
    const [dry, unconfirmed] = await Promise.all([keyward(['allowlist', 'set', '203.0.113.0/24', '--dry-run']), keyward(['allowlist', 'remove', '198.51.100.0/24'])]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^Entries:\n {2}203\.0\.113\.0\/24\n/);
    expect(dry.stderr).toContain('would lock out your address 127.0.0.1');
    expect(unconfirmed.code).toBe(2);
    expect(await entries()).toEqual(['127.0.0.1/32', '198.51.100.0/24']);

    const removed = await keyward(['allowlist', 'remove', '198.51.100.0/24', '--yes']);
    expect(removed.code, removed.stderr).toBe(0);
    expect(await entries()).toEqual(['127.0.0.1/32']);
    const notThere = await keyward(['allowlist', 'remove', '192.0.2.1', '--yes']);
    expect(notThere.code).toBe(2);
    expect(notThere.stderr).toContain('not on the allowlist: 192.0.2.1/32');
    const cleared = await keyward(['allowlist', 'set', '--yes']);
    expect(cleared.code).toBe(0);
    const get = await keyward(['allowlist', 'get']);
    expect(get.stdout).toBe('Entries:      none (every address may call)\nYour address: 127.0.0.1\n');
  });
});

describe('usage, audit, org, whoami', { timeout: 120_000 }, () => {
  it('usage --key --since lists the key’s requests per day and outcome', async () => {
    const created = await admin().createKey({ name: 'Counted', role: 'viewer' });
    await service.client(created.secret).whoami();
    await service.client(created.secret).whoami();
    const run = await keyward(['usage', '--key', created.key.id, '--since', '1d', '-o', 'json']);
    expect(run.code, run.stderr).toBe(0);
    const today = new Date().toISOString().slice(0, 10);
    expect(run.json()).toEqual([{ keyId: created.key.id, day: today, outcome: 'VALID', count: 2 }]);
    const bad = await keyward(['usage', '--since', 'lately']);
    expect(bad.code).toBe(2);
  });

  it('audit list filters like the API and prints a table; an unknown action is the API’s validation error', async () => {
    const created = await admin().createKey({ name: 'Audited', role: 'viewer' });
    await admin().revokeKey(created.key.id);
    const [table, json, bad] = await Promise.all([
      keyward(['audit', 'list', '--action', 'key.revoked', '--target', created.key.id]),
      keyward(['audit', 'list', '--target', created.key.id, '-o', 'json']),
      keyward(['audit', 'list', '--action', 'key.exploded']),
    ]);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^AT\s+ACTION\s+ACTOR\s+TARGET\s+IP$/);
    expect(lines.slice(1)).toEqual([expect.stringMatching(new RegExp(`key\\.revoked\\s+${service.adminKeyId}\\s+key/${created.key.id}\\s+127\\.0\\.0\\.1$`))]);
    expect((json.json() as { action: string }[]).map((e) => e.action)).toEqual(['key.revoked', 'key.created']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('(VALIDATION_FAILED)');
    expect(bad.stderr).toContain('- action (--action):');
    // What the service did itself (the organization's bootstrap) names no key: <service>.
    const bootstrap = await keyward(['audit', 'list', '--action', 'organization.created']);
    expect(bootstrap.code, bootstrap.stderr).toBe(0);
    expect(bootstrap.stdout.trimEnd().split('\n').slice(1)).toEqual([expect.stringMatching(/organization\.created\s+<service>\s+organization\//)]);
  });

  it('org get and org update (rename, rotation days) over the API; the plan stays the operator’s', async () => {
    const update = await keyward(['org', 'update', '--name', 'Acme Corp', '--rotation-days', 'production=30', '-o', 'json']);
    expect(update.code, update.stderr).toBe(0);
    expect(update.json()).toMatchObject({ name: 'Acme Corp', rotationDays: expect.objectContaining({ production: 30 }) });
    const get = await keyward(['org', 'get']);
    expect(get.stdout).toMatch(/^ID:\s+org_/);
    expect(get.stdout).toMatch(/\nName:\s+Acme Corp\n/);
    expect(get.stdout).toMatch(/\n {2}production=30d\n/);
    const bad = await keyward(['org', 'update', '--rotation-days', 'prod=30']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('"prod" is not an environment');
  });

  it('whoami names the service, the key, its organization and permissions', async () => {
    const [table, json] = await Promise.all([keyward(['whoami']), keyward(['whoami', '-o', 'json'])]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`^Service:\\s+${service.url}\\nContext:\\s+<none>\\nKey:\\s+${service.adminKeyId} `));
    expect(json.json()).toMatchObject({ key: { id: service.adminKeyId }, organization: { id: service.organizationId } });
  });
});

describe('verify: the exit code is the answer', { timeout: 120_000 }, () => {
  let secret: string;
  let keyId: string;
  beforeAll(async () => {
    const created = await admin().createKey({ name: 'Presented', role: 'viewer', metadata: { app: 'shop' } });
    secret = created.secret;
    keyId = created.key.id;
  });

  it('a valid key (from stdin) exits 0 and shows the key; an invalid one exits 3 with the code that says why', async () => {
    const [valid, truncated, missingPermission, quiet] = await Promise.all([
      keyward(['verify'], service.adminEnv, `${secret}\n`),
      keyward(['verify'], service.adminEnv, secret.slice(0, 20)),
      keyward(['verify', '--permission', 'role.manage', '-o', 'json'], service.adminEnv, secret),
      keyward(['verify', '-q'], service.adminEnv, secret),
    ]);
    expect(valid.code, valid.stderr).toBe(0);
    expect(valid.stdout).toMatch(new RegExp(`^Valid:\\s+yes\\nKey:\\s+${keyId} \\(Presented\\)\\n`));
    expect(valid.stdout).toMatch(/\nMetadata:\n {2}app=shop\n/);
    expect(truncated.code).toBe(3);
    expect(truncated.stdout).toMatch(/^Valid:\s+no\nCode:\s+KEY_TRUNCATED\n/);
    expect(missingPermission.code).toBe(3);
    expect(missingPermission.json()).toMatchObject({ valid: false, code: 'INSUFFICIENT_PERMISSIONS' });
    expect(quiet.code).toBe(0);
    expect(quiet.stdout).toBe('');
    for (const r of [valid, truncated, missingPermission]) expect(`${r.stdout}${r.stderr}`).not.toContain(secret);
  });

  it("the CLI's own key refused is exit 1 (not 3); no key on stdin is exit 2", async () => {
    const [refused, empty] = await Promise.all([keyward(['verify'], { ...service.adminEnv, KEYWARD_API_KEY: secret }, secret), keyward(['verify'], service.adminEnv, '')]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('(INSUFFICIENT_PERMISSIONS)');
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('never as an argument');
  });
});

describe('incidents', { timeout: 120_000 }, () => {
  it('list, get and describe show a compromise report and its investigation; an unknown id is exit 1 with a CLI hint', async () => {
    const created = await admin().createKey({ name: 'Leaked', role: 'viewer' });
    await service.client(created.secret).whoami(); // a use the investigation shows
    const reported = await keyward(['keys', 'compromise', created.key.id, '--reason', 'pasted in chat', '--no-notify', '-o', 'json']);
    expect(reported.code, reported.stderr).toBe(0);
    const { incident, replacement } = reported.json() as { incident: { id: string }; replacement: { key: { id: string } } };

    const [table, wide, json, quiet, name] = await Promise.all([
      keyward(['incidents', 'list', '--key', created.key.id]),
      keyward(['incidents', 'list', '--key', created.key.id, '-o', 'wide']),
      keyward(['incidents', 'list', '-o', 'json']),
      keyward(['incidents', 'list', '-q']),
      keyward(['incidents', 'get', incident.id, '-o', 'name']),
    ]);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]!.split(/\s{2,}/)).toEqual(['ID', 'KEY ID', 'KEY NAME', 'RESPONSE', 'STATE', 'REPORTED BY', 'AGE']);
    expect(lines.slice(1).map((line) => line.split(/\s{2,}/).slice(0, 6))).toEqual([[incident.id, created.key.id, 'Leaked', 'compromise', 'handled', service.adminKeyId]]);
    expect(wide.stdout).toMatch(new RegExp(`${replacement.key.id}\\s+pasted in chat\\n$`));
    expect((json.json() as { id: string }[]).map((i) => i.id)).toContain(incident.id);
    expect(quiet.stdout.split('\n')).toContain(incident.id);
    expect(name.stdout).toBe(`incident/${incident.id}\n`);

    const describe = await keyward(['incidents', 'describe', incident.id]);
    expect(describe.code, describe.stderr).toBe(0);
    expect(describe.stdout).toMatch(new RegExp(`^ID:\\s+${incident.id}\\nKey:\\s+${created.key.id} \\(Leaked\\)\\nReason:\\s+pasted in chat\\n`));
    expect(describe.stdout).toMatch(/\nActions:\n {2}\S+ {2}revoked: .*\n {2}\S+ {2}replacement-issued: /);
    expect(describe.stdout).toMatch(/\nAddresses:\n {2}127\.0\.0\.1 {2}VALID {2}1×, /);
    expect(describe.stdout).toMatch(new RegExp(`\\nAudit trail:\\n(  .*\\n)*  \\S+  key\\.compromised by ${service.adminKeyId}\\n`));
    expect(describe.stdout).not.toContain(created.secret);
    const detail = await keyward(['incidents', 'describe', incident.id, '-o', 'json']);
    expect(detail.json()).toMatchObject({ id: incident.id, investigation: { addresses: [expect.objectContaining({ ip: '127.0.0.1', outcome: 'VALID', count: 1 })] } });

    // -q: the replacement's secret alone, and it works.
    const quietly = await keyward(['keys', 'compromise', replacement.key.id, '--reason', 'again', '--no-notify', '-q']);
    expect(quietly.code, quietly.stderr).toBe(0);
    expect(quietly.stderr).toBe('');
    expect(quietly.stdout).toMatch(new RegExp(`^${SECRET.source}\\n$`));
    expect((await service.client(quietly.stdout.trim()).whoami()).key.rotatedFromId).toBe(replacement.key.id);

    const missing = await keyward(['incidents', 'describe', 'inc_000000000nothere0']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('(INCIDENT_NOT_FOUND)');
    expect(missing.stderr).toContain('hint: List the incidents with `keyward incidents list`.');
  });
});

describe('events: the change feed of keys', { timeout: 120_000 }, () => {
  it('-q prints where the feed is; --after lists what followed in every format; a bad cursor is the API’s validation error', async () => {
    const start = await keyward(['events', '-q']);
    expect(start.code, start.stderr).toBe(0);
    expect(start.stdout).toMatch(/^\d+\n$/);
    const cursor = start.stdout.trim();
    const created = await admin().createKey({ name: 'Followed', role: 'viewer', metadata: { app: 'feed' } });
    await admin().updateKey(created.key.id, { name: 'Followed (renamed)' });
    await admin().revokeKey(created.key.id);

    const [table, wide, json, name, quiet] = await Promise.all([
      keyward(['events', '--after', cursor]),
      keyward(['events', '--after', cursor, '-o', 'wide']),
      keyward(['events', '--after', cursor, '-o', 'json']),
      keyward(['events', '--after', cursor, '-o', 'name']),
      keyward(['events', '--after', cursor, '-q']),
    ]);
    expect(table.code, table.stderr).toBe(0);
    const events = json.json() as { cursor: string; action: string; keyId: string }[];
    expect(events.map((e) => [e.action, e.keyId])).toEqual([
      ['key.created', created.key.id],
      ['key.updated', created.key.id],
      ['key.revoked', created.key.id],
    ]);
    const last = events.at(-1)!.cursor;
    const rows = table.stdout.trimEnd().split('\n');
    expect(rows[0]!.split(/\s{2,}/)).toEqual(['CURSOR', 'AT', 'ACTION', 'KEY ID', 'CHANGED']);
    expect(rows[2]!.split(/\s{2,}/)).toEqual([events[1]!.cursor, expect.any(String), 'key.updated', created.key.id, 'name']);
    expect(wide.stdout).toMatch(/key\.revoked\s+key_\S+\s+\S+\s+app=feed\n$/);
    expect(table.stderr).toBe(`cursor ${last}: continue with --after ${last}\n`);
    expect(name.stdout).toBe(events.map((e) => `event/${e.cursor}\n`).join(''));
    expect(quiet.stdout).toBe(`${last}\n`);

    const nothingNew = await keyward(['events', '--after', last]);
    expect(nothingNew.stdout).toBe('');
    expect(nothingNew.stderr).toBe(`No key events found.\ncursor ${last}: continue with --after ${last}\n`);
    const bad = await keyward(['events', '--after', 'yesterday']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/\n {2}- after \(--after\): must be a cursor/);
    const watchQuiet = await keyward(['events', '--watch', '-q']);
    expect(watchQuiet.code).toBe(2);
  });

  it('--watch prints each change as it is committed, one JSON object a line, until stopped', async () => {
    const watch = startKeyward(['events', '--watch', '-o', 'json'], service.adminEnv);
    try {
      await until(() => watch.stderr.includes('watching key events after cursor'));
      const first = await admin().createKey({ name: 'Watched 1', role: 'viewer' });
      await until(() => watch.stdout.includes(first.key.id));
      const second = await admin().createKey({ name: 'Watched 2', role: 'viewer' });
      await admin().revokeKey(second.key.id);
      await until(() => watch.stdout.split('\n').filter(Boolean).length === 3);
      const lines = watch.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as { action: string; keyId: string });
      expect(lines.map((e) => [e.action, e.keyId])).toEqual([
        ['key.created', first.key.id],
        ['key.created', second.key.id],
        ['key.revoked', second.key.id],
      ]);
      expect(watch.process.exitCode).toBeNull();
    } finally {
      await killAll();
    }
  });
});
