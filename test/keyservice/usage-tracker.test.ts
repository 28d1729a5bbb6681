/**
 * The usage tracker's accounting against a real store (lowdb, or PostgreSQL
 * in that project), with its clock driven by the test: counts per UTC day and
 * outcome, last use, and a day that ends between two flushes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/store/index.ts';
import { KeyService } from '../../src/server/service.ts';
import { UsageTracker } from '../../src/server/usage.ts';
import { freshTestStore, type TestStore } from '../support/keyservice.ts';

let dir: string;
let testStore: TestStore;
let store: Store;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'keyward-usage-tracker-'));
  testStore = await freshTestStore(dir);
  store = await openStore({ file: testStore.config.storeFile, databaseUrl: testStore.config.databaseUrl });
});
afterAll(async () => {
  await store?.close();
  await testStore?.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe('usage tracker', () => {
  it('counts accepted and refused uses per UTC day, keeps the latest use, and carries a day that ended before the flush', async () => {
    const service = new KeyService(store, { tokenPrefix: 'kw_' });
    const { organizationId, keyId } = await service.bootstrapOrganization('usage tracker');
    const key = (await store.findKeyById(keyId))!;

    let now = Date.parse('2026-03-01T23:59:58.000Z');
    const tracker = new UsageTracker(store, 3_600_000, () => now);
    tracker.seen(key, '10.0.0.1');
    tracker.seen(key, '10.0.0.2');
    tracker.seen(key, '10.0.0.3', 'IP_NOT_ALLOWED');
    expect(tracker.pending(keyId)).toEqual({ keyId, lastUsedAt: '2026-03-01T23:59:58.000Z', lastUsedIp: '10.0.0.2' });

    now = Date.parse('2026-03-02T00:00:01.000Z');
    tracker.seen(key, '10.0.0.4');
    tracker.seen(key, '10.0.0.5', 'INSUFFICIENT_PERMISSIONS');
    await tracker.flush();
    expect(tracker.pending(keyId)).toBeUndefined();

    // A second flush adds to the stored counts.
    now += 1_000;
    tracker.seen(key, '10.0.0.6');
    await tracker.stop();

    const rows = await store.listUsage(organizationId, { keyId, from: '2026-03-01', to: '2026-03-02' });
    const byDayAndOutcome = Object.fromEntries(rows.map((row) => [`${row.day} ${row.outcome}`, row.count]));
    expect(byDayAndOutcome).toEqual({
      '2026-03-01 VALID': 2,
      '2026-03-01 IP_NOT_ALLOWED': 1,
      '2026-03-02 VALID': 2,
      '2026-03-02 INSUFFICIENT_PERMISSIONS': 1,
    });
    const stored = (await store.findKeyById(keyId))!;
    expect(stored.lastUsedAt).toBe('2026-03-02T00:00:02.000Z');
    expect(stored.lastUsedIp).toBe('10.0.0.6');
  });
});
