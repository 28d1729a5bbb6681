/**
 * Usage counters live in memory and are flushed in batches: a SIGTERM flushes
 * everything, a kill -9 loses at most the last flush interval, and neither
 * corrupts the store.
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeywardClient } from '../../src/client/index.ts';
import { LowdbStore } from '../../src/store/lowdb-store.ts';
import { PostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { freePort, killAll, run, serve } from '../support/cli-process.ts';
import { freshTestStore, type TestStore } from '../support/keyservice.ts';

const FLUSH_MS = 400;
let dir: string;
let store: TestStore;
let admin: string;
let organizationId: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'keyward-usage-'));
  store = await freshTestStore(dir);
  const bootstrap = await run(['bootstrap', '--org', 'usage', '--output', 'json'], store.env);
  ({ secret: admin, organizationId } = JSON.parse(bootstrap.stdout));
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
  const usage = await client.getUsage({ keyId });
  return usage.items.filter((row) => row.outcome === 'VALID').reduce((sum, row) => sum + row.count, 0);
};

/**
 * The VALID uses of a key that would survive a kill -9 right now: what the store holds on disk
 * (a copy of the lowdb files, opened like after a crash) or in the database, read around the service.
 */
async function durableValidCount(keyId: string): Promise<number> {
  let reader: LowdbStore | PostgresStore;
  let copy: string | undefined;
  if (store.kind === 'lowdb') {
    copy = mkdtempSync(join(dir, 'image-'));
    for (const suffix of ['', '.journal', '.journal.old']) if (existsSync(`${store.storeFile}${suffix}`)) copyFileSync(`${store.storeFile}${suffix}`, join(copy, `db.json${suffix}`));
    reader = await LowdbStore.open(join(copy, 'db.json'));
  } else reader = await PostgresStore.open(store.databaseUrl!, { migrate: false });
  try {
    const rows = await reader.listUsage(organizationId, { keyId, from: '2000-01-01', to: '2999-12-31' });
    return rows.filter((row) => row.outcome === 'VALID').reduce((sum, row) => sum + row.count, 0);
  } finally {
    await reader.close();
    if (copy) rmSync(copy, { recursive: true, force: true });
  }
}

async function untilDurable(keyId: string, count: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while ((await durableValidCount(keyId)) < count) {
    if (Date.now() > deadline) throw new Error(`usage of ${keyId} was not flushed to ${count} within 30 s`);
    await new Promise((r) => setTimeout(r, FLUSH_MS / 4));
  }
}

describe('usage durability', () => {
  let appKeyId: string;
  let appSecret: string;
  let gatewaySecret: string;

  it('SIGTERM flushes every counter and lastUsedAt', async () => {
    const first = await start();
    const app = await first.client().createKey({ name: 'App', role: 'viewer' });
    const gateway = await first.client().createKey({ name: 'Gateway', role: 'verifier' });
    [appKeyId, appSecret, gatewaySecret] = [app.key.id, app.secret, gateway.secret];
    for (let i = 0; i < 25; i++) await first.client(gatewaySecret).verifyKey({ key: appSecret });
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
    expect(await durableValidCount(appKeyId)).toBe(25);
    for (let i = 0; i < 10; i++) await third.client(gatewaySecret).verifyKey({ key: appSecret });
    // The flush timer writes those ten (nothing asks the service to flush: the store is read around it).
    await untilDurable(appKeyId, 35);
    for (let i = 0; i < 10; i++) await third.client(gatewaySecret).verifyKey({ key: appSecret });
    third.child.process.kill('SIGKILL');
    await third.child.exited;

    const fourth = await start();
    const count = await validCount(fourth.client(), appKeyId);
    // What was flushed survived; of the last ten, only what the timer flushed before the kill.
    expect(count).toBeGreaterThanOrEqual(35);
    expect(count).toBeLessThanOrEqual(45);
    // The store is intact: every key still authenticates.
    expect((await fourth.client(appSecret).whoami()).key.id).toBe(appKeyId);
  });
});
