/** The embedded store: group commit, atomic replace, indexes, the invariants it enforces. */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { issueKey, newAuditEvent, newOrganization } from '../../src/core/issue.ts';
import { KeywardError } from '../../src/core/errors.ts';
import { LowdbStore } from '../../src/store/lowdb-store.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function freshStore() {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-store-'));
  dirs.push(dir);
  const file = join(dir, 'db.json');
  const store = await LowdbStore.open(file);
  const now = new Date();
  const org = newOrganization('acme', now, 'enterprise');
  const audit = (targetId = 'x') => newAuditEvent({ organizationId: org.id, action: 'key.created', actorKeyId: null, ip: null, targetType: 'key', targetId }, new Date());
  const mint = (name: string, extra: { idempotencyKey?: string } = {}) =>
    issueKey({ organizationId: org.id, name, roleId: 'viewer', environment: 'production', createdBy: null, tokenPrefix: 'kw_', rotationDays: {}, now: new Date(), ...extra }).record;
  await store.createOrganization(org, mint('admin'), audit());
  return { dir, file, store, org, mint, audit };
}

describe('lowdb store', () => {
  it('groups concurrent mutations into few writes and persists every acknowledged one', async () => {
    const { file, store, org, mint, audit } = await freshStore();
    const batches: number[] = [];
    store.observeWrites((mutations) => batches.push(mutations));
    const keys = Array.from({ length: 300 }, (_, i) => mint(`k${i}`));
    await Promise.all(keys.map((key) => store.insertKey(key, { activeLimit: null, now: Date.now() }, audit())));
    expect(batches.reduce((a, b) => a + b, 0)).toBe(300);
    expect(batches.length).toBeLessThan(30);
    await store.close();
    // Nothing but the data file (no temp file, no lock) is left behind, and it parses.
    expect(readdirSync(join(file, '..')).sort()).toEqual(['db.json']);
    const data = JSON.parse(readFileSync(file, 'utf8'));
    expect(data.keys).toHaveLength(301);
    const reopened = await LowdbStore.open(file);
    for (const key of keys) expect(await reopened.findKeyByHash(key.secretHash)).toMatchObject({ id: key.id });
    expect((await reopened.listKeys(org.id, { status: 'all', limit: 1000, now: Date.now() })).items).toHaveLength(301);
    await reopened.close();
  });

  it('refuses a second owner of the same file with a clear message', async () => {
    const { file, store } = await freshStore();
    await expect(LowdbStore.open(file)).rejects.toThrow(/in use by another keyward process \(pid \d+\)/);
    await store.close();
    const again = await LowdbStore.open(file);
    await again.close();
  });

  it('checks the active-key limit atomically with the insert', async () => {
    const { store, org, mint, audit } = await freshStore();
    // One active key (the admin) exists; the limit is 5, so exactly 4 of 50 concurrent inserts fit.
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => store.insertKey(mint(`c${i}`), { activeLimit: 5, now: Date.now() }, audit())),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(4);
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected.every((r) => (r.reason as KeywardError).code === 'KEY_LIMIT_REACHED')).toBe(true);
    expect((rejected[0]!.reason as KeywardError).message).toMatch(/5 active keys and its plan allows 5\. Revoke unused keys or upgrade the plan/);
    await store.close();
  });

  it('makes creation idempotent per organization', async () => {
    const { store, mint, audit } = await freshStore();
    const first = mint('a', { idempotencyKey: 'uid-1234/rotation-1' });
    await store.insertKey(first, { activeLimit: null, now: Date.now() }, audit());
    const error = await store.insertKey(mint('b', { idempotencyKey: 'uid-1234/rotation-1' }), { activeLimit: null, now: Date.now() }, audit()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeywardError);
    expect((error as KeywardError).code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect((error as KeywardError).details).toMatchObject({ keyId: first.id });
    await store.close();
  });

  it('rotates in one step: successor in, old key expiring, old key cannot be rotated twice', async () => {
    const { store, org, mint, audit } = await freshStore();
    const old = mint('svc');
    await store.insertKey(old, { activeLimit: null, now: Date.now() }, audit());
    const successor = mint('svc v2');
    const expires = new Date(Date.now() + 60_000).toISOString();
    const result = await store.rotateKey({ organizationId: org.id, keyId: old.id, successor, previousExpiresAt: expires, activeLimit: null, now: Date.now() }, audit());
    expect(result.previous).toMatchObject({ rotatedToId: successor.id, expiresAt: expires });
    const again = await store.rotateKey({ organizationId: org.id, keyId: old.id, successor: mint('svc v2b'), previousExpiresAt: expires, activeLimit: null, now: Date.now() }, audit()).catch((e: unknown) => e);
    expect((again as KeywardError).code).toBe('KEY_ALREADY_ROTATED');
    await store.close();
  });
});
