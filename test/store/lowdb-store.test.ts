/** The embedded store: group commit, atomic replace, indexes, the invariants it enforces. */
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { issueKey, newAuditEvent, newOrganization } from '../../src/core/issue.ts';
import { KeywardError } from '../../src/core/errors.ts';
import { LowdbStore, type LowdbStoreOptions } from '../../src/store/lowdb-store.ts';
import type { Retirement } from '../../src/core/retirement.ts';

const AFTER_GRACE: Retirement = { revokeOld: 'afterGrace', quietPeriod: null, rotatedAt: new Date().toISOString(), endedAt: null, endedBy: null };

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Waits for a condition of the store's files (the deadline only keeps a stuck compaction from hanging the run). */
async function until(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function freshStore(options: LowdbStoreOptions = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-store-'));
  dirs.push(dir);
  const file = join(dir, 'db.json');
  const store = await LowdbStore.open(file, options);
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
    // Closing leaves a self-contained snapshot and an empty journal (no temp file, no lock), and it parses.
    expect(readdirSync(join(file, '..')).sort()).toEqual(['db.json', 'db.json.journal']);
    expect(readFileSync(`${file}.journal`, 'utf8')).toBe('');
    const data = JSON.parse(readFileSync(file, 'utf8'));
    expect(data.keys).toHaveLength(301);
    const reopened = await LowdbStore.open(file);
    for (const key of keys) expect(await reopened.reads.keyByHash(key.secretHash)).toMatchObject({ id: key.id });
    expect((await reopened.listKeys(org.id, { status: 'all', limit: 1000, now: Date.now() })).items).toHaveLength(301);
    await reopened.close();
  });

  it('recovers acknowledged writes from the journal after a crash, and cuts a torn tail', async () => {
    const { dir, file, store, org, mint, audit } = await freshStore();
    const keys = Array.from({ length: 50 }, (_, i) => mint(`j${i}`));
    await Promise.all(keys.map((key) => store.insertKey(key, { activeLimit: null, now: Date.now() }, audit())));
    await store.revokeKey(org.id, keys[0]!.id, new Date().toISOString(), audit());
    const usedAt = new Date().toISOString();
    await store.recordUsage([{ keyId: keys[1]!.id, lastUsedAt: usedAt, lastUsedIp: '10.0.0.9', clients: [] }], [{ organizationId: org.id, keyId: keys[1]!.id, day: usedAt.slice(0, 10), outcome: 'VALID', count: 3 }]);
    // "Crash": copy the files as they are now, without closing (no final snapshot).
    const crashed = join(dir, 'crashed');
    mkdirSync(crashed);
    copyFileSync(file, join(crashed, 'db.json'));
    copyFileSync(`${file}.journal`, join(crashed, 'db.json.journal'));
    // Everything since the store was opened is only in the journal.
    expect(JSON.parse(readFileSync(join(crashed, 'db.json'), 'utf8')).keys).toHaveLength(0);
    // A write torn by the crash: never acknowledged, so it must simply be dropped.
    appendFileSync(join(crashed, 'db.json.journal'), '{"seq":999,"ops":[{"t":"key","v":{"id":"key_');
    const recovered = await LowdbStore.open(join(crashed, 'db.json'));
    for (const key of keys) expect(await recovered.reads.keyByHash(key.secretHash)).toMatchObject({ id: key.id });
    expect((await recovered.getKey(org.id, keys[0]!.id))?.revokedAt).not.toBeNull();
    expect(await recovered.getKey(org.id, keys[1]!.id)).toMatchObject({ lastUsedAt: usedAt, lastUsedIp: '10.0.0.9' });
    expect(await recovered.listUsage(org.id, { keyId: keys[1]!.id, from: '2000-01-01', to: '2999-01-01' })).toMatchObject([{ outcome: 'VALID', count: 3 }]);
    expect((await recovered.listAudit(org.id, { limit: 1000 })).items).toHaveLength(52);
    // Opening compacted everything into the snapshot.
    expect(JSON.parse(readFileSync(join(crashed, 'db.json'), 'utf8')).keys).toHaveLength(51);
    expect(readFileSync(join(crashed, 'db.json.journal'), 'utf8')).toBe('');
    await recovered.close();
    await store.close();
  });

  it('compacts: the journal is folded into the snapshot once it outgrows it', async () => {
    const { file, store, mint, audit } = await freshStore({ minCompactBytes: 256 * 1024 });
    let maxJournal = 0;
    for (let round = 0; round < 10; round++) {
      await Promise.all(Array.from({ length: 100 }, (_, i) => store.insertKey(mint(`c${round}-${i}`), { activeLimit: null, now: Date.now() }, audit())));
      maxJournal = Math.max(maxJournal, statSync(`${file}.journal`).size);
    }
    // 1,000 keys journal ~850 KB: compactions happened, so the snapshot holds keys and the journal stayed bounded.
    // Compaction runs in the background: on a busy machine the last one may still be writing the snapshot.
    await until('the background compaction to finish', () => !existsSync(`${file}.journal.old`));
    const snapshotKeys = JSON.parse(readFileSync(file, 'utf8')).keys.length;
    expect(snapshotKeys).toBeGreaterThan(100);
    expect(maxJournal).toBeLessThan(2 * Math.max(256 * 1024, statSync(file).size));
    await store.close();
    expect(JSON.parse(readFileSync(file, 'utf8')).keys).toHaveLength(1001);
  });

  it('compacts in the background: commits go on, and a crash at any point of it loses and duplicates nothing', async () => {
    const { dir, file, store, org, mint, audit } = await freshStore({ minCompactBytes: 64 * 1024 });
    const retired = `${file}.journal.old`;
    const acknowledged: { keys: ReturnType<typeof mint>[]; revoked: string[]; audits: number } = { keys: [], revoked: [], audits: 1 };
    const insert = async (count: number, tag: string) => {
      const keys = Array.from({ length: count }, (_, i) => mint(`${tag}-${i}`));
      await Promise.all(keys.map((key) => store.insertKey(key, { activeLimit: null, now: Date.now() }, audit(key.id))));
      acknowledged.keys.push(...keys);
      acknowledged.audits += count;
    };
    // A crash image: the store's files exactly as they are at this moment (synchronous copies).
    const images: { dir: string; keys: number; revoked: string[]; audits: number }[] = [];
    const crashImage = (name: string, extra: Record<string, string> = {}) => {
      const image = join(dir, name);
      mkdirSync(image);
      for (const suffix of ['', '.journal', '.journal.old']) if (existsSync(`${file}${suffix}`)) copyFileSync(`${file}${suffix}`, join(image, `db.json${suffix}`));
      for (const [from, to] of Object.entries(extra)) copyFileSync(from, join(image, to));
      images.push({ dir: image, keys: acknowledged.keys.length, revoked: [...acknowledged.revoked], audits: acknowledged.audits });
    };

    // Commit until one retires the journal: that commit returns before the snapshot is written.
    let batches = 0;
    while (!existsSync(retired)) {
      await insert(40, `a${batches++}`);
      expect(batches).toBeLessThan(100);
    }
    crashImage('right-after-retiring');
    copyFileSync(retired, join(dir, 'retired-journal'));

    // Commits go on while the snapshot is being written: new keys, revocations, usage.
    await insert(40, 'during');
    for (const key of acknowledged.keys.slice(0, 10)) {
      await store.revokeKey(org.id, key.id, new Date().toISOString(), audit(key.id));
      acknowledged.revoked.push(key.id);
      acknowledged.audits++;
    }
    crashImage('during-compaction');

    // Wait for the compaction to finish: the retired journal goes once the snapshot is durable.
    await until('the retired journal to be deleted', () => !existsSync(retired));
    await insert(10, 'after');
    crashImage('after-compaction');
    // A crash between the snapshot's rename and the retired journal's deletion.
    crashImage('before-dropping-retired', { [join(dir, 'retired-journal')]: 'db.json.journal.old' });
    await store.close();

    const snapshotKeys = JSON.parse(readFileSync(file, 'utf8')).keys.length;
    expect(snapshotKeys).toBe(acknowledged.keys.length + 1);
    for (const image of images) {
      const recovered = await LowdbStore.open(join(image.dir, 'db.json'));
      const all = (await recovered.listKeys(org.id, { status: 'all', limit: 10_000, now: Date.now() })).items;
      expect(all, image.dir).toHaveLength(image.keys + 1);
      for (const key of acknowledged.keys.slice(0, image.keys)) expect(await recovered.reads.keyByHash(key.secretHash), image.dir).toMatchObject({ id: key.id });
      for (const id of image.revoked) expect((await recovered.findKeyById(id))?.revokedAt, image.dir).not.toBeNull();
      const events = (await recovered.listAudit(org.id, { limit: 10_000 })).items;
      expect(events, image.dir).toHaveLength(image.audits);
      expect(new Set(events.map((e) => e.id)).size, image.dir).toBe(image.audits);
      await recovered.close();
      // Opening left one self-contained snapshot and an empty journal.
      expect(readdirSync(image.dir).sort()).toEqual(['db.json', 'db.json.journal']);
    }
  });

  it('snapshots in the foreground after a background compaction failed, reports it, and loses nothing', async () => {
    const failures: string[] = [];
    let reported: () => void;
    const failureReported = new Promise<void>((resolve) => (reported = resolve));
    const { dir, file, store, org, mint, audit } = await freshStore({
      minCompactBytes: 32 * 1024,
      onBackgroundError: (error, what) => {
        failures.push(`${what}: ${error.message}`);
        reported();
      },
    });
    // The snapshot's temp file cannot be created while a directory sits at its path.
    const temp = join(dir, '.db.json.tmp');
    mkdirSync(temp);
    const keys: ReturnType<typeof mint>[] = [];
    for (let batch = 0; !existsSync(`${file}.journal.old`); batch++) {
      expect(batch).toBeLessThan(100);
      const more = Array.from({ length: 40 }, (_, i) => mint(`f${batch}-${i}`));
      await Promise.all(more.map((key) => store.insertKey(key, { activeLimit: null, now: Date.now() }, audit())));
      keys.push(...more);
    }
    await failureReported; // the background compaction fails, and says so
    await new Promise((r) => setImmediate(r)); // (and its promise chain, which the callback is part of, settles)
    expect(failures).toEqual([expect.stringMatching(/^background compaction: EISDIR/)]);
    // The next commit snapshots in the foreground, which fails too: that commit is refused...
    await expect(store.insertKey(mint('refused'), { activeLimit: null, now: Date.now() }, audit())).rejects.toThrow(/EISDIR|directory/);
    // ...and once the path is free, the next one snapshots everything and drops both journals.
    rmSync(temp, { recursive: true });
    const last = mint('last');
    await store.insertKey(last, { activeLimit: null, now: Date.now() }, audit());
    keys.push(last);
    expect(existsSync(`${file}.journal.old`)).toBe(false);
    expect(statSync(`${file}.journal`).size).toBe(0);
    // Nothing acknowledged is lost, even without closing.
    const crashed = join(dir, 'crashed');
    mkdirSync(crashed);
    copyFileSync(file, join(crashed, 'db.json'));
    copyFileSync(`${file}.journal`, join(crashed, 'db.json.journal'));
    const recovered = await LowdbStore.open(join(crashed, 'db.json'));
    for (const key of keys) expect(await recovered.reads.keyByHash(key.secretHash)).toMatchObject({ id: key.id });
    expect((await recovered.listKeys(org.id, { status: 'all', limit: 10_000, now: Date.now() })).items.length).toBeGreaterThanOrEqual(keys.length + 1);
    await recovered.close();
    await store.close();
  });

  it('filters keys by last use and by rotation due date', async () => {
    const { store, org, mint, audit } = await freshStore();
    const used = mint('used');
    const idle = mint('idle');
    await store.insertKey(used, { activeLimit: null, now: Date.now() }, audit());
    await store.insertKey(idle, { activeLimit: null, now: Date.now() }, audit());
    await store.recordUsage([{ keyId: used.id, lastUsedAt: new Date(Date.now() + 1000).toISOString(), lastUsedIp: '10.0.0.1', clients: [] }], []);
    const since = new Date(Date.now() + 500).toISOString();
    const unused = await store.listKeys(org.id, { status: 'all', limit: 10, now: Date.now(), unusedSince: since });
    expect(unused.items.map((k) => k.name).sort()).toEqual(['admin', 'idle']);
    const dueIn100Days = new Date(Date.now() + 100 * 86_400_000).toISOString();
    expect((await store.listKeys(org.id, { status: 'all', limit: 10, now: Date.now(), rotationDueBefore: dueIn100Days })).items).toHaveLength(3);
    expect((await store.listKeys(org.id, { status: 'all', limit: 10, now: Date.now(), rotationDueBefore: new Date().toISOString() })).items).toHaveLength(0);
    await store.close();
  });

  it('bootstraps an empty store only once (onlyIfNone)', async () => {
    const { store, mint, audit } = await freshStore();
    // freshStore already created one organization.
    const again = newOrganization('again', new Date(), 'enterprise');
    expect(await store.createOrganization(again, mint('admin 2'), audit(), { onlyIfNone: true })).toBe(false);
    expect(await store.listOrganizations()).toHaveLength(1);
    expect(await store.createOrganization(again, mint('admin 2'), audit())).toBe(true);
    expect(await store.listOrganizations()).toHaveLength(2);
    await store.close();
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
    // Another organization may use the same idempotency key.
    const other = newOrganization('globex', new Date(), 'enterprise');
    const mintFor = (name: string, idempotencyKey: string | null) =>
      issueKey({ organizationId: other.id, name, roleId: 'viewer', environment: 'production', createdBy: null, tokenPrefix: 'kw_', rotationDays: {}, now: new Date(), idempotencyKey }).record;
    await store.createOrganization(other, mintFor('globex admin', null), audit());
    const theirs = mintFor('theirs', 'uid-1234/rotation-1');
    await store.insertKey(theirs, { activeLimit: null, now: Date.now() }, audit());
    expect(await store.findKeyById(theirs.id)).toMatchObject({ organizationId: other.id, idempotencyKey: 'uid-1234/rotation-1' });
    await store.close();
  });

  it('rotates in one step: successor in, old key expiring, old key cannot be rotated twice', async () => {
    const { store, org, mint, audit } = await freshStore();
    const old = mint('svc');
    await store.insertKey(old, { activeLimit: null, now: Date.now() }, audit());
    const successor = mint('svc v2');
    const expires = new Date(Date.now() + 60_000).toISOString();
    const result = await store.rotateKey({ organizationId: org.id, keyId: old.id, successor, previousExpiresAt: expires, activeLimit: null, now: Date.now(), retirement: AFTER_GRACE }, audit());
    expect(result.previous).toMatchObject({ rotatedToId: successor.id, expiresAt: expires });
    const again = await store.rotateKey({ organizationId: org.id, keyId: old.id, successor: mint('svc v2b'), previousExpiresAt: expires, activeLimit: null, now: Date.now(), retirement: AFTER_GRACE }, audit()).catch((e: unknown) => e);
    expect((again as KeywardError).code).toBe('KEY_ALREADY_ROTATED');
    await store.close();
  });
});
