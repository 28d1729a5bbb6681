/**
 * The CLI at a terminal: a pseudo-terminal (util-linux `script`) in front of
 * the real command and the real service. Changes that cannot be undone ask
 * first (and "no" changes nothing); `login` asks for the key without echoing
 * it; colours appear on a terminal and not with NO_COLOR.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, runInTerminal } from '../support/cli-process.ts';
import { errorCode, startTestService, type TestService } from '../support/keyservice.ts';

let service: TestService;
const ANSI = /\x1b\[[0-9;]*m/;

beforeAll(async () => {
  service = await startTestService();
});
afterAll(async () => service?.stop());

describe('confirmation on a terminal', { timeout: 120_000 }, () => {
  it('keys revoke asks; "n" aborts (exit 1) and the key keeps working; "y" revokes', async () => {
    const created = await service.client().createKey({ name: 'Asked about', role: 'viewer' });
    const declined = await runInTerminal(['keys', 'revoke', created.key.id], service.adminEnv, [{ after: '[y/N]', send: 'n\r' }]);
    expect(declined.stdout).toContain(`Revoke key ${created.key.id}? Applications using it stop working at once; this cannot be undone. [y/N]`);
    expect(declined.code).toBe(1);
    expect(declined.stdout).toContain('aborted: nothing was changed');
    expect((await service.client(created.secret).whoami()).key.status).toBe('active');

    const confirmed = await runInTerminal(['keys', 'revoke', created.key.id], service.adminEnv, [{ after: '[y/N]', send: 'y\r' }]);
    expect(confirmed.code, confirmed.stdout).toBe(0);
    expect(confirmed.stdout).toContain(`key ${created.key.id} revoked`);
    expect(await errorCode(service.client(created.secret).whoami())).toBe('KEY_REVOKED');
  });

  it('allowlist changes ask too, and say when the list would lock this address out', async () => {
    const declined = await runInTerminal(['allowlist', 'set', '203.0.113.0/24'], service.adminEnv, [{ after: '[y/N]', send: '\r' }]);
    expect(declined.stdout).toContain('Set the IP allowlist to 203.0.113.0/24, locking out your address 127.0.0.1? [y/N]');
    expect(declined.code).toBe(1);
    expect((await service.client().getIpAllowlist()).entries).toEqual([]);
  });
});

describe('login at a terminal', { timeout: 120_000 }, () => {
  let home: string;
  beforeAll(() => void (home = mkdtempSync(join(tmpdir(), 'keyward-tty-home-'))));
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('asks for the key and does not echo it', async () => {
    const result = await runInTerminal(['login', '--name', 'local', '--url', service.url], { HOME: home }, [{ after: 'API key for', send: `${service.adminSecret}\r` }]);
    expect(result.code, result.stdout).toBe(0);
    expect(result.stdout).toContain(`API key for ${service.url}: `);
    expect(result.stdout).toContain('Saved as context "local"');
    expect(result.stdout).not.toContain(service.adminSecret);
    expect(readFileSync(join(home, '.config', 'keyward', 'config.yaml'), 'utf8')).toContain(service.adminSecret);
  });
});

describe('progress', { timeout: 120_000 }, () => {
  it('keys list says how many keys it fetched while it pages, on the terminal only', async () => {
    const client = service.client();
    const have = (await client.listKeys({ limit: 500 })).items.length;
    const names = Array.from({ length: 501 - have }, (_, i) => `Paged ${i}`);
    for (let i = 0; i < names.length; i += 25) await Promise.all(names.slice(i, i + 25).map((name) => client.createKey({ name, role: 'viewer' })));
    const result = await runInTerminal(['keys', 'list', '-o', 'name'], service.adminEnv);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('fetched 500 keys…');
    expect(result.stdout.match(/key\/key_/g)).toHaveLength(501);
    const piped = await run(['keys', 'list', '-o', 'name'], service.adminEnv);
    expect(piped.stderr).toBe('');
    expect(piped.stdout.split('\n').filter(Boolean)).toHaveLength(501);
  }, 120_000);
});

describe('colours', { timeout: 120_000 }, () => {
  it('on a terminal the STATUS column is coloured; NO_COLOR turns colours off', async () => {
    const [coloured, plain] = await Promise.all([runInTerminal(['keys', 'list'], service.adminEnv), runInTerminal(['keys', 'list'], { ...service.adminEnv, NO_COLOR: '1' })]);
    expect(coloured.code).toBe(0);
    expect(coloured.stdout).toMatch(/\x1b\[32mactive\x1b\[39m/);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain('active');
    expect(plain.stdout).not.toMatch(ANSI);
  });
});
