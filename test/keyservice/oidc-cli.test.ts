/**
 * `keyward org oidc get|set|remove` and `keyward members add` against the
 * real service and a real OpenID provider (oidc-provider) on loopback: the
 * client secret goes in on stdin and never comes out (no output format
 * prints it), each format of get (describe, json, yaml, name), refusals exit
 * 1 with their code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { run as keyward } from '../support/cli-process.ts';
import { startTestService, type TestService } from '../support/keyservice.ts';
import { TestOidcProvider } from '../support/oidc-provider.ts';

const SECRET = 'cli-oidc-client-secret-93be51d0';

let service: TestService;
let idp: TestOidcProvider;
let asAdmin: Record<string, string>;
/** Everything the CLI printed: the secret may be in none of it. */
const printed: string[] = [];

async function cli(args: string[], input = '') {
  const result = await keyward(args, asAdmin, input);
  printed.push(result.stdout, result.stderr);
  return result;
}

beforeAll(async () => {
  service = await startTestService();
  idp = (await TestOidcProvider.listen()).serve({ clientId: 'keyward', clientSecret: SECRET, redirectUri: `${service.url}/` });
  asAdmin = { KEYWARD_URL: service.url, KEYWARD_API_KEY: service.adminSecret };
});
afterAll(async () => {
  await service?.stop();
  await idp?.close();
});

describe('keyward org oidc', () => {
  it('without a provider: get and members add exit 1 with their codes', { timeout: 120_000 }, async () => {
    const [get, add] = await Promise.all([cli(['org', 'oidc', 'get']), cli(['members', 'add', '--email', 'ann@acme.test', '--role', 'viewer'])]);
    expect(get.code).toBe(1);
    expect(get.stderr).toContain('OIDC_NOT_CONFIGURED');
    expect(get.stderr).toContain('keyward org oidc set');
    expect(add.code).toBe(1);
    expect(add.stderr).toContain('INVITATION_REQUIRED');
    expect(add.stderr).toContain('keyward members invite');
  });

  it('set reads the secret from stdin; get shows the provider in every format, never the secret', { timeout: 120_000 }, async () => {
    const set = await cli(['org', 'oidc', 'set', '--issuer', idp.issuer, '--client-id', 'keyward', '--allowed-domain', 'acme.test', '--name', 'Acme SSO'], `${SECRET}\n`);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/^Source:\s+organization/m);
    expect(set.stdout).toMatch(new RegExp(`^Issuer:\\s+${idp.issuer}$`, 'm'));
    expect(set.stdout).toMatch(/^Client secret:\s+<set, never shown>$/m);

    const [table, json, yaml, name] = await Promise.all([
      cli(['org', 'oidc', 'get']),
      cli(['org', 'oidc', 'get', '-o', 'json']),
      cli(['org', 'oidc', 'get', '-o', 'yaml']),
      cli(['org', 'oidc', 'get', '-o', 'name']),
    ]);
    expect(table.stdout).toMatch(/^Allowed domains:\s+acme\.test$/m);
    const expected = { source: 'organization', issuer: idp.issuer, clientId: 'keyward', name: 'Acme SSO', allowedDomains: ['acme.test'] };
    expect(JSON.parse(json.stdout)).toMatchObject(expected);
    expect(parseYaml(yaml.stdout)).toMatchObject(expected);
    expect(name.stdout).toBe(`oidc/${idp.issuer}\n`);

    // Changed, keeping the secret: nothing is read from stdin.
    const kept = await cli(['org', 'oidc', 'set', '--issuer', idp.issuer, '--client-id', 'keyward', '--allowed-domain', 'acme.test,acme.example', '--keep-client-secret', '-o', 'json']);
    expect(kept.code, kept.stderr).toBe(0);
    expect(JSON.parse(kept.stdout).allowedDomains).toEqual(['acme.test', 'acme.example']);

    const noSecret = await cli(['org', 'oidc', 'set', '--issuer', idp.issuer, '--client-id', 'keyward', '--allowed-domain', 'acme.test']);
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toContain('no client secret');
    const bad = await cli(['org', 'oidc', 'set', '--issuer', 'http://login.acme.test', '--client-id', 'keyward', '--allowed-domain', 'acme.test'], `${SECRET}\n`);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('VALIDATION_FAILED');
  });

  it('members add: the member, in the table and as JSON; a second time exits 1 (MEMBER_EXISTS)', { timeout: 120_000 }, async () => {
    const added = await cli(['members', 'add', '--email', 'ann@acme.test', '--role', 'viewer', '--display-name', 'Ann']);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toMatch(/^EMAIL\s+MEMBER ID\s+NAME\s+ROLE\s+STATUS\s+LAST SIGN-IN\s+AGE$/m);
    expect(added.stdout).toMatch(/^ann@acme\.test\s+mem_[0-9A-Za-z]{20}\s+Ann\s+viewer\s+active\s+<never>\s+/m);
    const json = await cli(['members', 'add', '--email', 'bo@acme.test', '--role', 'viewer', '-o', 'json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ email: 'bo@acme.test', role: 'viewer', oidcLinked: false });
    const again = await cli(['members', 'add', '--email', 'ann@acme.test', '--role', 'viewer']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('MEMBER_EXISTS');
  });

  it('remove --yes prints what it removed (-o json the provider); then get exits 1', { timeout: 120_000 }, async () => {
    const refused = await cli(['org', 'oidc', 'remove']);
    expect(refused.code).not.toBe(0);
    const removed = await cli(['org', 'oidc', 'remove', '--yes', '-o', 'json']);
    expect(removed.code, removed.stderr).toBe(0);
    expect(JSON.parse(removed.stdout)).toMatchObject({ source: 'organization', issuer: idp.issuer });
    const get = await cli(['org', 'oidc', 'get']);
    expect(get.code).toBe(1);
    expect(get.stderr).toContain('OIDC_NOT_CONFIGURED');
  });

  it('printed the client secret nowhere', () => {
    expect(printed.join('\n')).toContain('Acme SSO');
    expect(printed.join('\n')).not.toContain(SECRET);
  });
});
