/**
 * Usage counters live in memory and are flushed in batches: a SIGTERM flushes
 * everything, a kill -9 loses at most the last flush interval, and neither
 * corrupts the store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeywardClient } from '../../src/client/index.ts';
import { freePort, killAll, run, serve } from '../support/cli-process.ts';
import { freshTestStore, type TestStore } from '../support/keyservice.ts';

const FLUSH_MS = 400;
let dir: string;
let store: TestStore;
let admin: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'keyward-usage-'));
  store = await freshTestStore(dir);
  const bootstrap = await run(['bootstrap', '--org', 'usage', '--output', 'json'], store.env);
  admin = JSON.parse(bootstrap.stdout).secret;
});
afterAll(async () => {
  await killAll();
  await store?.drop();
  rmSync(dir, { recursive: true, force: true });
});

async function start() {
  const port = await freePort();
  const child = await serve(store.storeFile, port, { ...store.env, KEYWARD_USAGE_FLUSH_MS: String(FLUSH_MS) });
  const url = `http://127.0.0.1:${port}`;
  return { child, url, client: (secret = admin) => new KeywardClient({ url, apiKey: secret }) };
}

const validCount = async (client: KeywardClient, keyId: string): Promise<number> => {
  const usage = await client.request<{ items: { outcome: string; count: number }[] }>('GET', `/v1/usage?keyId=${keyId}`);
  return usage.items.filter((row) => row.outcome === 'VALID').reduce((sum, row) => sum + row.count, 0);
};

describe('usage durability', () => {
  let appKeyId: string;
  let appSecret: string;
  let gatewaySecret: string;

  it('SIGTERM flushes every counter and lastUsedAt', async () => {
    const first = await start();
    const app = await first.client().createKey({ name: 'App', role: 'viewer' });
    const gateway = await first.client().createKey({ name: 'Gateway', role: 'verifier' });
    [appKeyId, appSecret, gatewaySecret] = [app.key.id, app.secret, gateway.secret];
    for (let i = 0; i < 25; i++) await first.client(gatewaySecret).verify({ key: appSecret });
    first.child.process.kill('SIGTERM');
    expect(await first.child.exited).toEqual({ code: 0, signal: null });

    const second = await start();
    expect(await validCount(second.client(), appKeyId)).toBe(25);
    expect((await second.client().getKey(appKeyId)).lastUsedAt).not.toBeNull();
    second.child.process.kill('SIGTERM');
    await second.child.exited;
  });

  it('kill -9 loses at most the last flush interval', async () => {
    const third = await start();
    for (let i = 0; i < 10; i++) await third.client(gatewaySecret).verify({ key: appSecret });
    // Two intervals pass: those ten are flushed.
    await new Promise((r) => setTimeout(r, FLUSH_MS * 2.5));
    for (let i = 0; i < 10; i++) await third.client(gatewaySecret).verify({ key: appSecret });
    third.child.process.kill('SIGKILL');
    await third.child.exited;

    const fourth = await start();
    const count = await validCount(fourth.client(), appKeyId);
    expect(count).toBeGreaterThanOrEqual(35);
    expect(count).toBeLessThanOrEqual(45);
    // The store is intact: every key still authenticates.
    expect((await fourth.client(appSecret).whoami()).key.id).toBe(appKeyId);
  });
});
