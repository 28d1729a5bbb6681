/**
 * Connection and credentials like kubectl and gh: `keyward login` saves a
 * named context (the key read from stdin, never argv) in
 * ~/.config/keyward/config.yaml mode 0600; `config use-context` switches;
 * --context, the variables and the flags take precedence as the README says.
 * Two organizations of one real service tell the contexts apart.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { run } from '../support/cli-process.ts';
import { startTestService, type TestService } from '../support/keyservice.ts';

let service: TestService;
let other: { organizationId: string; secret: string; keyId: string };
let home: string;
let env: Record<string, string>;
const configFile = () => join(home, '.config', 'keyward', 'config.yaml');

beforeAll(async () => {
  service = await startTestService();
  other = await service.newOrganization('globex');
  home = mkdtempSync(join(tmpdir(), 'keyward-home-'));
  env = { HOME: home };
});
afterAll(async () => {
  await service?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

const keyward = (args: string[], extra: Record<string, string> = {}, input = '') => run(args, { ...env, ...extra }, input);
const organizationOf = async (args: string[] = [], extra: Record<string, string> = {}) => {
  const result = await keyward(['whoami', '-o', 'json', ...args], extra);
  expect(result.code, result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as { organization: { name: string } }).organization.name;
};

describe('keyward login and config', { timeout: 120_000 }, () => {
  it('a key that does not work is not saved: exit 1, no file', async () => {
    const typo = `${service.adminSecret.slice(0, -1)}${service.adminSecret.endsWith('A') ? 'B' : 'A'}`;
    const result = await keyward(['login', '--name', 'broken', '--url', service.url], {}, `${typo}\n`);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/\((UNKNOWN_KEY|KEY_CHECKSUM_MISMATCH)\)/);
    expect(existsSync(configFile())).toBe(false);
  });

  it('login reads the key from stdin, checks it, writes config.yaml mode 0600 (folder 0700) and makes the context current; the secret is never printed', async () => {
    const acme = await keyward(['login', '--name', 'acme', '--url', service.url], {}, `${service.adminSecret}\n`);
    expect(acme.code, acme.stderr).toBe(0);
    expect(acme.stderr).toContain(`Logged in to ${service.url} as ${service.adminKeyId}`);
    expect(`${acme.stdout}${acme.stderr}`).not.toContain(service.adminSecret);
    expect(statSync(configFile()).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, '.config', 'keyward')).mode & 0o777).toBe(0o700);
    const globex = await keyward(['login', '--name', 'globex', '--url', service.url, '--no-use'], {}, other.secret);
    expect(globex.code, globex.stderr).toBe(0);
    const saved = parseYaml(readFileSync(configFile(), 'utf8'));
    expect(saved).toEqual({
      apiVersion: 'keyward.dev/v1',
      kind: 'Config',
      'current-context': 'acme',
      contexts: [
        { name: 'acme', url: service.url, apiKey: service.adminSecret },
        { name: 'globex', url: service.url, apiKey: other.secret },
      ],
    });
  });

  it('get-contexts marks the current one and shows keys as hints only', async () => {
    const result = await keyward(['config', 'get-contexts']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        `CURRENT   NAME     URL${' '.repeat(service.url.length)}KEY`,
        `*         acme     ${service.url}   kw_…${service.adminSecret.slice(-4)}`,
        `          globex   ${service.url}   kw_…${other.secret.slice(-4)}`,
        '',
      ].join('\n'),
    );
    expect(result.stdout).not.toContain(service.adminSecret);
    expect((await keyward(['config', 'current-context'])).stdout).toBe('acme\n');
  });

  it('use-context switches every later command to the other organization; an unknown context is exit 2 and changes nothing', async () => {
    expect(await organizationOf()).toBe('acme');
    const switched = await keyward(['config', 'use-context', 'globex']);
    expect(switched.code).toBe(0);
    expect(await organizationOf()).toBe('globex');
    const unknown = await keyward(['config', 'use-context', 'prod']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no context "prod"');
    expect(unknown.stderr).toContain('there are: acme, globex');
    expect((await keyward(['config', 'current-context'])).stdout).toBe('globex\n');
    expect((await keyward(['config', 'use-context', 'acme'])).code).toBe(0);
  });

  it('precedence: --api-key > --context > KEYWARD_API_KEY > the current context', async () => {
    // current context: acme
    expect(await organizationOf(['--context', 'globex'])).toBe('globex');
    expect(await organizationOf([], { KEYWARD_CONTEXT: 'globex' })).toBe('globex');
    expect(await organizationOf([], { KEYWARD_API_KEY: other.secret })).toBe('globex');
    expect(await organizationOf(['--context', 'acme'], { KEYWARD_API_KEY: other.secret })).toBe('acme');
    expect(await organizationOf(['--context', 'acme', '--api-key', other.secret])).toBe('globex');
    const whoami = await keyward(['whoami', '--context', 'globex']);
    expect(whoami.stdout).toMatch(/\nContext:\s+globex\n/);
  });

  it('KEYWARD_CONFIG names another file; without any context the default URL and a clear usage error apply', async () => {
    const none = await keyward(['keys', 'list'], { KEYWARD_CONFIG: join(home, 'absent.yaml') });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('log in (`keyward login`)');
    const elsewhere = await keyward(['keys', 'list', '--api-key', service.adminSecret], { KEYWARD_CONFIG: join(home, 'absent.yaml') });
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toContain('cannot reach the keyward service at http://127.0.0.1:8080');
  });

  it('delete-context removes it (and the current context with it)', async () => {
    const deleted = await keyward(['config', 'delete-context', 'acme']);
    expect(deleted.code).toBe(0);
    const saved = parseYaml(readFileSync(configFile(), 'utf8')) as { 'current-context': string | null; contexts: { name: string }[] };
    expect(saved['current-context']).toBeNull();
    expect(saved.contexts.map((c) => c.name)).toEqual(['globex']);
    const current = await keyward(['config', 'current-context']);
    expect(current.code).toBe(1);
  });
});
