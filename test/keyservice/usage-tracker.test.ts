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
import { MAX_RECENT_CLIENTS, mergeRecentClients } from '../../src/core/retirement.ts';
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
  it('keeps the uses a flush is writing pending until the store has them (a read meanwhile sees them)', async () => {
    const service = new KeyService(store, { tokenPrefix: 'kw_' });
    const { keyId } = await service.bootstrapOrganization('usage tracker in flight');
    const key = (await store.findKeyById(keyId))!;
    // The real store, its usage write held until the test lets it go.
    let release!: () => void;
    let entered!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const writing = new Promise<void>((resolve) => (entered = resolve));
    const holding = Object.create(store, {
      recordUsage: { value: async (...args: Parameters<Store['recordUsage']>) => (entered(), await held, store.recordUsage(...args)) },
    }) as Store;
    let now = Date.parse('2026-04-01T10:00:00.000Z');
    const tracker = new UsageTracker(holding, 3_600_000, () => now);
    tracker.seen(key, '10.0.3.7', 'VALID', now, 'reports/1.0');
    const flushing = tracker.flush();
    await writing;
    now += 1_000;
    tracker.seen(key, '10.0.3.8', 'VALID', now, null);
    // Mid-write: the stored record does not have the first use yet; pending has both.
    expect((await store.findKeyById(keyId))!.lastUsedAt).toBeNull();
    expect(tracker.pending(keyId)).toMatchObject({
      lastUsedAt: '2026-04-01T10:00:01.000Z',
      lastUsedIp: '10.0.3.8',
      clients: [
        { ip: '10.0.3.8', userAgent: null, lastUsedAt: '2026-04-01T10:00:01.000Z' },
        { ip: '10.0.3.7', userAgent: 'reports/1.0', lastUsedAt: '2026-04-01T10:00:00.000Z' },
      ],
    });
    release();
    await flushing;
    expect((await store.findKeyById(keyId))!.lastUsedAt).toBe('2026-04-01T10:00:00.000Z');
    expect(tracker.pending(keyId)?.clients).toEqual([{ ip: '10.0.3.8', userAgent: null, lastUsedAt: '2026-04-01T10:00:01.000Z' }]);
    await tracker.stop();
  });

  it('a read that a flush overtakes (it read the store before the commit, pending is cleared after) is read again: record and pending together miss no use', async () => {
    const service = new KeyService(store, { tokenPrefix: 'kw_' });
    const { keyId } = await service.bootstrapOrganization('usage tracker settled read');
    const key = (await store.findKeyById(keyId))!;
    const now = Date.parse('2026-04-01T11:00:00.000Z');
    const tracker = new UsageTracker(store, 3_600_000, () => now);
    tracker.seen(key, '10.0.3.7', 'VALID', now, 'reports/1.0');
    // The race the whenUnused sweep hit in CI: the record is read, then a whole flush commits and clears pending.
    let reads = 0;
    const record = await tracker.readSettled(async () => {
      const read = await store.findKeyById(keyId);
      if (++reads === 1) await tracker.flush();
      return read;
    });
    expect(tracker.pending(keyId)).toBeUndefined();
    expect(reads).toBe(2);
    expect(record!.lastUsedAt).toBe('2026-04-01T11:00:00.000Z');
    expect(record!.recentClients).toEqual([{ ip: '10.0.3.7', userAgent: 'reports/1.0', lastUsedAt: '2026-04-01T11:00:00.000Z' }]);
    await tracker.stop();
  });

  it('counts accepted and refused uses per UTC day, keeps the latest use, and carries a day that ended before the flush', async () => {
    const service = new KeyService(store, { tokenPrefix: 'kw_' });
    const { organizationId, keyId } = await service.bootstrapOrganization('usage tracker');
    const key = (await store.findKeyById(keyId))!;

    let now = Date.parse('2026-03-01T23:59:58.000Z');
    const tracker = new UsageTracker(store, 3_600_000, () => now);
    tracker.seen(key, '10.0.0.1');
    tracker.seen(key, '10.0.0.2');
    tracker.seen(key, '10.0.0.3', 'IP_NOT_ALLOWED');
    // Accepted uses only name their clients (the refused one from 10.0.0.3 does not).
    expect(tracker.pending(keyId)).toEqual({
      keyId,
      lastUsedAt: '2026-03-01T23:59:58.000Z',
      lastUsedIp: '10.0.0.2',
      clients: [
        { ip: '10.0.0.1', userAgent: null, lastUsedAt: '2026-03-01T23:59:58.000Z' },
        { ip: '10.0.0.2', userAgent: null, lastUsedAt: '2026-03-01T23:59:58.000Z' },
      ],
    });

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

  it('counts uses by address, outcome and permission per UTC day (first/last seen), across a day that ends before the flush and a flush that fails', async () => {
    const service = new KeyService(store, { tokenPrefix: 'kw_' });
    const { organizationId, keyId } = await service.bootstrapOrganization('usage by address');
    const key = (await store.findKeyById(keyId))!;
    let now = Date.parse('2026-03-10T23:59:58.000Z');
    let fail = true;
    const failing = Object.create(store, {
      recordUsage: { value: async (...args: Parameters<Store['recordUsage']>) => (fail ? Promise.reject(new Error('store down')) : store.recordUsage(...args)) },
    }) as Store;
    const tracker = new UsageTracker(failing, 3_600_000, () => now);
    tracker.seen(key, '10.1.0.1', 'VALID', now, null, 'orders.read');
    now += 1_000;
    tracker.seen(key, '10.1.0.1', 'VALID', now, null, 'orders.read');
    tracker.seen(key, '10.1.0.2', 'INSUFFICIENT_PERMISSIONS', now, null, 'orders.write');
    tracker.seen(key, null);
    now = Date.parse('2026-03-11T00:00:05.000Z');
    tracker.seen(key, '10.1.0.1', 'VALID', now, null, 'orders.read');
    await expect(tracker.flush()).rejects.toThrow('store down');
    // Kept for the next flush, and added to what follows.
    now += 1_000;
    tracker.seen(key, '10.1.0.1', 'VALID', now, null, 'orders.read');
    fail = false;
    await tracker.stop();
    const rows = await store.listAddressUses(organizationId, { keyId, from: '2026-03-10', to: '2026-03-11' });
    // By day, then address (none last), then outcome.
    const order = (row: { day: string; ip: string | null; outcome: string }) => `${row.day} ${row.ip ?? '~'} ${row.outcome}`;
    const shown = rows.map(({ day, ip, outcome, permission, count, firstSeen, lastSeen }) => ({ day, ip, outcome, permission, count, firstSeen, lastSeen }));
    expect(shown.sort((a, b) => (order(a) < order(b) ? -1 : 1))).toEqual([
      { day: '2026-03-10', ip: '10.1.0.1', outcome: 'VALID', permission: 'orders.read', count: 2, firstSeen: '2026-03-10T23:59:58.000Z', lastSeen: '2026-03-10T23:59:59.000Z' },
      { day: '2026-03-10', ip: '10.1.0.2', outcome: 'INSUFFICIENT_PERMISSIONS', permission: 'orders.write', count: 1, firstSeen: '2026-03-10T23:59:59.000Z', lastSeen: '2026-03-10T23:59:59.000Z' },
      { day: '2026-03-10', ip: null, outcome: 'VALID', permission: null, count: 1, firstSeen: '2026-03-10T23:59:59.000Z', lastSeen: '2026-03-10T23:59:59.000Z' },
      { day: '2026-03-11', ip: '10.1.0.1', outcome: 'VALID', permission: 'orders.read', count: 2, firstSeen: '2026-03-11T00:00:05.000Z', lastSeen: '2026-03-11T00:00:06.000Z' },
    ]);
  });

  it('keeps the accepted uses of a flush that fails for the next one, also for a key not used again', async () => {
    const service = new KeyService(store, { tokenPrefix: 'kw_' });
    const { keyId } = await service.bootstrapOrganization('usage kept after a failed flush');
    const key = (await store.findKeyById(keyId))!;
    let fail = true;
    const failing = Object.create(store, {
      recordUsage: { value: async (...args: Parameters<Store['recordUsage']>) => (fail ? Promise.reject(new Error('store down')) : store.recordUsage(...args)) },
    }) as Store;
    const now = Date.parse('2026-03-12T08:00:00.000Z');
    const tracker = new UsageTracker(failing, 3_600_000, () => now);
    tracker.seen(key, '10.2.0.9', 'VALID', now, 'batch/2');
    await expect(tracker.flush()).rejects.toThrow('store down');
    expect(tracker.pending(keyId)).toMatchObject({ lastUsedAt: '2026-03-12T08:00:00.000Z', lastUsedIp: '10.2.0.9' });
    fail = false;
    await tracker.stop();
    const stored = (await store.findKeyById(keyId))!;
    expect(stored.lastUsedAt).toBe('2026-03-12T08:00:00.000Z');
    expect(stored.lastUsedIp).toBe('10.2.0.9');
    expect(stored.recentClients).toEqual([{ ip: '10.2.0.9', userAgent: 'batch/2', lastUsedAt: '2026-03-12T08:00:00.000Z' }]);
  });

  it(`keeps the ${MAX_RECENT_CLIENTS} most recent clients of a key (address and user agent), in memory and in the store across flushes`, async () => {
    const service = new KeyService(store, { tokenPrefix: 'kw_' });
    const { keyId } = await service.bootstrapOrganization('recent clients');
    const key = (await store.findKeyById(keyId))!;
    let now = Date.parse('2026-03-05T10:00:00.000Z');
    const tracker = new UsageTracker(store, 3_600_000, () => now);
    const at = (ms: number) => new Date(ms).toISOString();
    // 12 clients, one second apart; the same address with two user agents is two clients; a control character is not kept.
    for (let i = 1; i <= 12; i++) {
      now += 1_000;
      tracker.seen(key, `10.0.1.${i}`, 'VALID', undefined, i === 12 ? 'probe/1\u202e' : 'svc/1');
    }
    now += 1_000;
    tracker.seen(key, '10.0.1.12', 'VALID', undefined, 'svc/2');
    const start = Date.parse('2026-03-05T10:00:00.000Z');
    const expected = [
      { ip: '10.0.1.12', userAgent: 'svc/2', lastUsedAt: at(start + 13_000) },
      { ip: '10.0.1.12', userAgent: 'probe/1', lastUsedAt: at(start + 12_000) },
      ...[11, 10, 9, 8, 7, 6, 5, 4].map((i) => ({ ip: `10.0.1.${i}`, userAgent: 'svc/1', lastUsedAt: at(start + i * 1_000) })),
    ];
    expect(mergeRecentClients([], tracker.pending(keyId)!.clients)).toEqual(expected);
    await tracker.flush();
    expect((await store.findKeyById(keyId))!.recentClients).toEqual(expected);
    // A later flush merges: a known client moves to the front, the least recent goes.
    now += 1_000;
    tracker.seen(key, '10.0.1.5', 'VALID', undefined, 'svc/1');
    tracker.seen(key, '10.0.2.1', 'VALID', undefined, 'new/1');
    await tracker.stop();
    const merged = (await store.findKeyById(keyId))!.recentClients;
    expect(merged).toHaveLength(MAX_RECENT_CLIENTS);
    expect(merged.slice(0, 2).map((c) => c.ip).sort()).toEqual(['10.0.1.5', '10.0.2.1']);
    expect(merged.map((c) => c.ip)).not.toContain('10.0.1.4');
    expect(merged.filter((c) => c.ip === '10.0.1.5')).toHaveLength(1);
  });
});
