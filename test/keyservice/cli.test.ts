/**
 * The `keyward` command as a user runs it: a child process (the pinned Node
 * running src/cli/main.ts) talking to the real key service on a loopback
 * port. Exit codes: 0 success, 1 failure, 2 usage error.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, run as keyward } from '../support/cli-process.ts';
import { KeywardApiError, KeywardClient } from '../../src/client/index.ts';
import { API } from '../../src/core/api.ts';
import { ClientSettings } from '../../src/cli/client.ts';
import { describeSettings, resolveSettings } from '../../src/core/settings.ts';
import { resolveConfig, ServeSettings } from '../../src/server/config.ts';
import { createLogger } from '../../src/server/logger.ts';
import { startServer, type RunningServer } from '../../src/server/server.ts';
import { errorCode, freshTestStore, TEST_STORE, type TestStore } from '../support/keyservice.ts';

const SECRET_PATTERN = /^kw_[0-9A-Za-z]{28}$/;

let dir: string;
let store: TestStore;
let server: RunningServer;
let bootstrapped: { organizationId: string; keyId: string; secret: string };
/** Environment for client commands against the running service as the admin key. */
let asAdmin: Record<string, string>;

const client = (secret: string) => new KeywardClient({ url: server.url, apiKey: secret });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'keyward-cli-'));
  store = await freshTestStore(dir);
  // Bootstrap the store with the CLI before any server owns it.
  const run = await keyward(['bootstrap', '--org', 'acme', '--output', 'json'], store.env);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  bootstrapped = JSON.parse(run.stdout);
  server = await startServer(resolveConfig({ port: 0, host: '127.0.0.1', ...store.config }), { logger: createLogger('silent') });
  asAdmin = { KEYWARD_URL: server.url, KEYWARD_API_KEY: bootstrapped.secret };
});

afterAll(async () => {
  await server?.close();
  await store?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('keyward CLI: usage', () => {
  it('--help exits 0 and lists the commands', async () => {
    const [top, keys] = await Promise.all([keyward(['--help']), keyward(['keys', '--help'])]);
    expect(top.code).toBe(0);
    for (const command of ['serve', 'bootstrap', 'keys']) expect(top.stdout).toContain(command);
    expect(keys.code).toBe(0);
    for (const command of ['create', 'list', 'get', 'update', 'rotate', 'revoke']) expect(keys.stdout).toContain(command);
  });

  it('usage errors exit 2: unknown command, missing required option, bad choice, nothing to update', async () => {
    const [unknown, missingName, badOutput, emptyUpdate] = await Promise.all([
      keyward(['frobnicate']),
      keyward(['keys', 'create', '--role', 'viewer'], asAdmin),
      keyward(['keys', 'list', '-o', 'xml'], asAdmin),
      keyward(['keys', 'update', bootstrapped.keyId], asAdmin),
    ]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command 'frobnicate'/);
    expect(missingName.code).toBe(2);
    expect(missingName.stderr).toContain('--name');
    expect(badOutput.code).toBe(2);
    expect(badOutput.stderr).toContain('"xml" is not an output format');
    expect(emptyUpdate.code).toBe(2);
    expect(emptyUpdate.stderr).toContain('--name and/or --role');
  });

  it('a client command without KEYWARD_API_KEY exits 2 and says what to set', async () => {
    const run = await keyward(['keys', 'list'], { KEYWARD_URL: server.url });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: .*KEYWARD_API_KEY/);
    expect(run.stderr).toContain('keyward bootstrap');
    // The quick start's first start is `npm start`: the message names it too.
    expect(run.stderr).toContain('`npm start`');
    // What the key must be allowed, from the route table (listing keys needs api.key.view).
    expect(run.stderr).toContain(`a key whose role grants ${API.listKeys.permission}`);
    expect(run.stdout).toBe('');
  });

  it('serve and the client commands take their flags, help and variables from one schema each', async () => {
    const [serve, list] = await Promise.all([keyward(['serve', '--help']), keyward(['keys', 'list', '--help'])]);
    expect(serve.code).toBe(0);
    const serveHelp = serve.stdout.replace(/\s+/g, ' ');
    const [options, environment] = serveHelp.split(' Environment: ');
    for (const setting of describeSettings(ServeSettings).filter((s) => !s.hidden)) {
      if (setting.flag) expect(options, setting.key).toContain(`${setting.flag} ${setting.help}`);
      else if (setting.env) expect(environment, setting.key).toContain(`${setting.env} ${setting.description}`);
    }
    expect(options).toContain('-p, --port <port> listen port (default: 8080, env: KEYWARD_PORT)');
    expect(environment).toContain('KEYWARD_PLANS plans and their active-key limits, name=N or name=unlimited, comma-separated (default: "free=3,team=50,enterprise=unlimited")');
    const listHelp = list.stdout.replace(/\s+/g, ' ');
    expect(listHelp).toContain("--url <url> key service URL; default: the context's, else http://127.0.0.1:8080 (env: KEYWARD_URL)");
    expect(listHelp).toContain('--api-key <secret> secret of the key to call the service with');
    expect(listHelp).toContain('env: KEYWARD_API_KEY');
    expect(listHelp).toMatch(/Environment: KEYWARD_CONFIG /);
  });

  it('settings resolve flag > environment > default; a bad value is a usage error naming its flag or variable', async () => {
    expect(resolveSettings(ServeSettings, { port: '9000' }, { KEYWARD_PORT: '9001', KEYWARD_HOST: '0.0.0.0' })).toMatchObject({ port: 9000, host: '0.0.0.0', storeFile: './.keyward/db.json' });
    expect(resolveSettings(ClientSettings, {}, { KEYWARD_URL: 'http://env.example:1' }).url).toBe('http://env.example:1');
    // No default here: a context of the config file comes between the variables and the default (src/cli/client.ts).
    expect(resolveSettings(ClientSettings, {}, {}).url).toBeUndefined();
    const [badPort, badUrl] = await Promise.all([
      keyward(['serve', '--port', 'eighty']),
      keyward(['keys', 'list'], { KEYWARD_URL: 'ftp://nowhere', KEYWARD_API_KEY: bootstrapped.secret }),
    ]);
    expect([badPort.code, badUrl.code]).toEqual([2, 2]);
    expect(badPort.stderr).toMatch(/^error: --port: /);
    expect(badUrl.stderr).toMatch(/^error: KEYWARD_URL: must be an http\(s\) URL/);
  });

  it('an unreachable service exits 1 and names the URL', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const run = await keyward(['keys', 'list', '--url', url], { KEYWARD_API_KEY: bootstrapped.secret });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`cannot reach the keyward service at ${url}`);
    expect(run.stdout).toBe('');
  });
});

describe('keyward CLI: bootstrap', () => {
  it('bootstrap --output json prints exactly {organizationId,keyId,secret}, and the secret is the admin key', async () => {
    expect(Object.keys(bootstrapped).sort()).toEqual(['keyId', 'organizationId', 'secret']);
    expect(bootstrapped.secret).toMatch(SECRET_PATTERN);
    expect(bootstrapped.keyId).toMatch(/^key_[0-9A-Za-z]{20}$/);
    const me = await client(bootstrapped.secret).whoami();
    expect(me.key).toMatchObject({ id: bootstrapped.keyId, role: 'admin', status: 'active' });
    expect(me.organization).toMatchObject({ id: bootstrapped.organizationId, name: 'acme' });
  });

  // lowdb: one process owns the file. PostgreSQL is shared by design: bootstrap is one more writer, like a replica.
  const bootstrapWhileServing =
    TEST_STORE === 'lowdb'
      ? 'bootstrap on a store a running service owns fails with exit 1 and a lock message'
      : 'bootstrap next to a running service on PostgreSQL succeeds, and the service sees the new organization at once';
  it(bootstrapWhileServing, async () => {
    const run = await keyward(['bootstrap', '--org', 'other', '--output', 'json'], store.env);
    if (store.kind === 'lowdb') {
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('in use by another keyward process');
      expect(run.stdout).toBe('');
      return;
    }
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const other = JSON.parse(run.stdout) as { organizationId: string; secret: string };
    expect((await client(other.secret).whoami()).organization).toMatchObject({ id: other.organizationId, name: 'other' });
  });

  it('bootstrap puts the organization on the configured default plan', async () => {
    const other = await freshTestStore(dir, 'plans.json');
    const plans = { KEYWARD_PLANS: 'free=3,team=50', KEYWARD_DEFAULT_PLAN: 'free' };
    const run = await keyward(['bootstrap', '--org', 'small', '--output', 'json'], { ...other.env, ...plans });
    expect(run.code).toBe(0);
    const serving = await startServer(resolveConfig({ port: 0, host: '127.0.0.1', ...other.config, plans: plans.KEYWARD_PLANS, defaultPlan: 'free' }), {
      logger: createLogger('silent'),
    });
    try {
      const secret = (JSON.parse(run.stdout) as { secret: string }).secret;
      expect(await new KeywardClient({ url: serving.url, apiKey: secret }).getOrganization()).toMatchObject({ plan: 'free', activeKeyLimit: 3 });
    } finally {
      await serving.close();
      await other.drop();
    }
  });

  it('bootstrap in table mode prints the secret once, as an export line on stderr', async () => {
    const other = await freshTestStore(dir, 'other.json');
    const run = await keyward(['bootstrap', '--org', 'globex'], other.env);
    await other.drop();
    expect(run.code).toBe(0);
    const match = /export KEYWARD_API_KEY=(\S+)/.exec(run.stderr);
    expect(match?.[1]).toMatch(SECRET_PATTERN);
    expect(run.stderr).toContain('shown once');
    expect(run.stderr.split(match![1]!).length - 1).toBe(1);
    expect(run.stdout).not.toContain(match![1]);
  });
});

describe('keyward CLI: the key lifecycle', () => {
  let keyId: string;
  let secret: string;

  it('keys create -o json prints the key and its secret; the secret works', async () => {
    const run = await keyward(['keys', 'create', '--name', 'CI runner', '--role', 'viewer', '--environment', 'staging', '-o', 'json'], asAdmin);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const created = JSON.parse(run.stdout);
    expect(created.key).toMatchObject({ name: 'CI runner', role: 'viewer', environment: 'staging', status: 'active' });
    expect(created.secret).toMatch(SECRET_PATTERN);
    expect(created.key).not.toHaveProperty('secret');
    keyId = created.key.id;
    secret = created.secret;
    expect(run.stdout.split(secret).length - 1).toBe(1);
    expect((await client(secret).whoami()).key.id).toBe(keyId);
  });

  it('keys create (table) shows the key row, prints the secret once on stdout and warns on stderr', async () => {
    const run = await keyward(['keys', 'create', '--name', 'Mobile App', '--role', 'viewer'], asAdmin);
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+KEY ID\s+ROLE\s+ENVIRONMENT\s+STATUS\s+EXPIRES\s+ROTATION DUE\s+LAST USED\s+AGE$/);
    expect(lines[1]).toMatch(/^Mobile App\s+key_[0-9A-Za-z]{20}\s+viewer\s+production\s+active\s+<never>\s+in 90d\s+<never>\s+\d+s$/);
    const printed = lines.at(-1)!;
    expect(printed).toMatch(SECRET_PATTERN);
    expect(`${run.stdout}${run.stderr}`.split(printed).length - 1).toBe(1);
    expect(run.stderr).toContain('shown once');
    const newId = /key_[0-9A-Za-z]{20}/.exec(lines[1]!)![0];
    expect(run.stderr).toContain(newId);
    expect((await client(printed).whoami()).key.id).toBe(newId);
  });

  it('keys create with a key that lacks api.key.create exits 1 and names the code and hint', async () => {
    const run = await keyward(['keys', 'create', '--name', 'x', '--role', 'viewer'], { KEYWARD_URL: server.url, KEYWARD_API_KEY: secret });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('(INSUFFICIENT_PERMISSIONS)');
    expect(run.stderr).toContain('hint: Use a key whose role grants this permission');
  });

  it('keys list shows a NAME / KEY ID / ROLE table, and -o json the same keys', async () => {
    const [table, json] = await Promise.all([keyward(['keys', 'list'], asAdmin), keyward(['keys', 'list', '-o', 'json'], asAdmin)]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    const header = lines[0]!;
    expect(header).toMatch(/^NAME\s+KEY ID\s+ROLE\s/);
    // Columns are aligned: each row's Key ID starts under the KEY ID header.
    const idColumn = header.indexOf('KEY ID');
    const row = lines.find((line) => line.includes(keyId));
    expect(row).toBeDefined();
    expect(row!.slice(0, idColumn).trim()).toBe('CI runner');
    expect(row!.slice(idColumn)).toMatch(new RegExp(`^${keyId}\\s+viewer\\s+staging\\s+active\\s`));
    expect(lines.some((line) => line.includes(bootstrapped.keyId) && /\badmin\b/.test(line))).toBe(true);
    expect(table.stdout).not.toContain(secret);

    expect(json.code).toBe(0);
    const items = JSON.parse(json.stdout) as { id: string; name: string; role: string }[];
    expect(items.map((k) => k.id).sort()).toEqual(
      lines
        .slice(1)
        .map((line) => /key_[0-9A-Za-z]{20}/.exec(line)![0])
        .sort(),
    );
    expect(items.find((k) => k.id === keyId)).toMatchObject({ name: 'CI runner', role: 'viewer' });
    expect(json.stdout).not.toContain(secret);
  });

  it('keys get shows one key, never its secret', async () => {
    const [table, json] = await Promise.all([keyward(['keys', 'get', keyId], asAdmin), keyward(['keys', 'get', keyId, '-o', 'json'], asAdmin)]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain(keyId);
    expect(json.code).toBe(0);
    const view = JSON.parse(json.stdout);
    expect(view).toMatchObject({ id: keyId, name: 'CI runner', role: 'viewer', hint: `kw_…${secret.slice(-4)}` });
    expect(`${table.stdout}${json.stdout}`).not.toContain(secret);
    const missing = await keyward(['keys', 'get', 'key_00000000000000000000'], asAdmin);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('(KEY_NOT_FOUND)');
  });

  it('keys update --name renames the key on the server', async () => {
    const run = await keyward(['keys', 'update', keyId, '--name', 'CI runner (eu)', '-o', 'json'], asAdmin);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ id: keyId, name: 'CI runner (eu)', role: 'viewer' });
    expect((await client(bootstrapped.secret).getKey(keyId)).name).toBe('CI runner (eu)');
  });

  let successorId: string;
  let successorSecret: string;

  it('keys rotate --grace-period 1h -o json prints the successor secret once and sets the old key to expire in 1h', async () => {
    const before = Date.now();
    const run = await keyward(['keys', 'rotate', keyId, '--grace-period', '1h', '-o', 'json'], asAdmin);
    const after = Date.now();
    expect(run.code).toBe(0);
    const rotated = JSON.parse(run.stdout);
    expect(rotated.secret).toMatch(SECRET_PATTERN);
    expect(rotated.secret).not.toBe(secret);
    expect(`${run.stdout}${run.stderr}`.split(rotated.secret).length - 1).toBe(1);
    expect(rotated.key).toMatchObject({ name: 'CI runner (eu) v2', role: 'viewer', environment: 'staging', rotatedFromId: keyId, status: 'active' });
    expect(rotated.previous).toMatchObject({ id: keyId, rotatedToId: rotated.key.id, status: 'active' });
    const expiry = Date.parse(rotated.previous.expiresAt);
    expect(expiry).toBeGreaterThanOrEqual(before + 3_600_000);
    expect(expiry).toBeLessThanOrEqual(after + 3_600_000);
    successorId = rotated.key.id;
    successorSecret = rotated.secret;
    // Both work during the overlap.
    expect((await client(successorSecret).whoami()).key.id).toBe(successorId);
    expect((await client(secret).whoami()).key.id).toBe(keyId);
    // The server kept the expiry.
    expect((await client(bootstrapped.secret).getKey(keyId)).expiresAt).toBe(rotated.previous.expiresAt);
  });

  it('keys rotate --revoke-old when-unused --quiet-period 10m: the old key waits for its consumers; keys describe shows the transition and who still uses it', async () => {
    const admin = client(bootstrapped.secret);
    const created = await admin.createKey({ name: 'Batch job', role: 'viewer' });
    const verifier = client((await admin.createKey({ name: 'Reports API', role: 'verifier' })).secret);
    const run = await keyward(['keys', 'rotate', created.key.id, '--grace-period', '2h', '--revoke-old', 'when-unused', '--quiet-period', '10m', '-o', 'json'], asAdmin);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const rotated = JSON.parse(run.stdout);
    expect(rotated.previous.transition).toMatchObject({ revokeOld: 'whenUnused', quietPeriod: '10m', endedBy: null });
    // A consumer still on the old key, through an API that verifies it.
    expect((await verifier.verifyKey({ key: created.secret, ip: '10.0.3.7', userAgent: 'batch/3' })).valid).toBe(true);
    const described = await keyward(['keys', 'describe', created.key.id], asAdmin);
    expect(described.code).toBe(0);
    expect(described.stdout).toContain('Revoke old:  whenUnused (quiet period 10m)');
    expect(described.stdout).toMatch(new RegExp(`\\nRotated to:\\s+${rotated.key.id}\\n`));
    expect(described.stdout).toMatch(/Stragglers: +\n +10\.0\.3\.7 \(batch\/3\), \d+s ago/);
    // The table says how the old key ends and how to watch it.
    const table = await keyward(['keys', 'rotate', rotated.key.id, '--grace-period', '2h', '--revoke-old', 'when-unused'], asAdmin);
    expect(table.code).toBe(0);
    expect(table.stderr).toContain(`is revoked once nothing used it for 10m`);
    expect(table.stderr).toContain(`keyward keys describe ${rotated.key.id}`);
    // Bad input: the API's error (exit 1), or a usage error for an unknown mode (exit 2); nothing rotated.
    const tooLong = await keyward(['keys', 'rotate', created.key.id, '--grace-period', '1h', '--revoke-old', 'when-unused', '--quiet-period', '2h'], asAdmin);
    expect(tooLong.code).toBe(1);
    expect(tooLong.stderr).toContain('quietPeriod: must be shorter than the grace period (1h)');
    const unknownMode = await keyward(['keys', 'rotate', created.key.id, '--revoke-old', 'whenever'], asAdmin);
    expect(unknownMode.code).toBe(2);
    expect(unknownMode.stderr).toContain('after-grace, when-unused');
  });

  it('keys revoke revokes; revoking again exits 1 with KEY_ALREADY_REVOKED and its hint', async () => {
    const run = await keyward(['keys', 'revoke', successorId, '--yes'], asAdmin);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`key ${successorId} revoked\n`);
    expect(await errorCode(client(successorSecret).whoami())).toBe('KEY_REVOKED');
    expect((await client(bootstrapped.secret).getKey(successorId)).status).toBe('revoked');

    const again = await keyward(['keys', 'revoke', successorId, '--yes'], asAdmin);
    expect(again.code).toBe(1);
    expect(again.stdout).toBe('');
    expect(again.stderr).toMatch(/^error: .*\(KEY_ALREADY_REVOKED\)\nhint: Revocation cannot be undone/);

    // Revoked keys leave the default list but stay reachable with --status revoked.
    const [active, revoked] = await Promise.all([
      keyward(['keys', 'list', '-o', 'json'], asAdmin),
      keyward(['keys', 'list', '--status', 'revoked', '-o', 'json'], asAdmin),
    ]);
    expect((JSON.parse(active.stdout) as { id: string }[]).map((k) => k.id)).not.toContain(successorId);
    expect((JSON.parse(revoked.stdout) as { id: string }[]).map((k) => k.id)).toEqual([successorId]);
  });

  it('a revoked key used by the CLI exits 1 with KEY_REVOKED', async () => {
    const run = await keyward(['keys', 'list'], { KEYWARD_URL: server.url, KEYWARD_API_KEY: successorSecret });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('(KEY_REVOKED)');
    expect(run.stderr).toContain('hint: This key was revoked');
  });

  it('keys compromise revokes at once, prints the replacement secret once and the incident; --reason is required', async () => {
    const victim = await client(bootstrapped.secret).createKey({ name: 'Leaky', role: 'viewer' });
    const usage = await keyward(['keys', 'compromise', victim.key.id], asAdmin);
    expect(usage.code).toBe(2);
    const run = await keyward(['keys', 'compromise', victim.key.id, '--reason', 'pasted in chat', '--no-notify', '-o', 'json'], asAdmin);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.revoked).toMatchObject({ id: victim.key.id, status: 'revoked' });
    expect(result.replacement.secret).toMatch(SECRET_PATTERN);
    expect(`${run.stdout}${run.stderr}`.split(result.replacement.secret).length - 1).toBe(1);
    expect(result.incident).toMatchObject({ keyId: victim.key.id, reason: 'pasted in chat', replacementKeyId: result.replacement.key.id });
    expect((await client(result.replacement.secret).whoami()).key.id).toBe(result.replacement.key.id);
    const table = await keyward(['keys', 'compromise', result.replacement.key.id, '--reason', 'again', '--no-replace', '--no-notify'], asAdmin);
    expect(table.code).toBe(0);
    expect(table.stderr).toContain(`Key ${result.replacement.key.id} revoked. Incident inc_`);
    expect(table.stderr).toContain('revoked: Revoked at once');
  });
});

describe('keyward CLI: a key copied with whitespace', () => {
  it('is refused before sending (HTTP would silently trim it), exit 1 naming KEY_HAS_WHITESPACE', async () => {
    const run = await keyward(['keys', 'list'], { ...asAdmin, KEYWARD_API_KEY: `${bootstrapped.secret}\n` });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('KEY_HAS_WHITESPACE');
    expect(run.stderr).not.toContain(bootstrapped.secret);
    expect(() => client(` ${bootstrapped.secret}`)).toThrow(/spaces, tabs or line breaks/);
  });
});
