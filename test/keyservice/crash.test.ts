/**
 * Crash safety of the lowdb store: `keyward serve` runs as a child process,
 * is killed with SIGKILL in the middle of 500 concurrent creates, and is
 * restarted on the same store file. Every create that was answered 201 must
 * survive (a 201 promises the key is durable), the file must still be JSON,
 * the stale lock must not block the restart, and a second live process on the
 * same file must be refused.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, killAll, startKeyward as keyward, serve, waitReady, type Child } from '../support/cli-process.ts';

const TOTAL_CREATES = 500;
const IN_FLIGHT = 64;
/** Kill once this many 201s have arrived: well before the end of the load. */
const KILL_AFTER = 250;

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

async function post(url: string, path: string, secret: string, body: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/** Runs `task` for 0..count-1 with at most `limit` in flight; stops taking new work once `stop()` is true. */
async function pool(count: number, limit: number, task: (i: number) => Promise<void>, stop: () => boolean = () => false) {
  let next = 0;
  const worker = async () => {
    while (next < count && !stop()) await task(next++);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

let dir: string;
let storeFile: string;
let lockFile: string;
let port: number;
let url: string;
let adminSecret: string;
let verifierSecret: string;
let verifierId: string;
let first: Child;
let restarted: Child | undefined;

/** Creates answered 201, in arrival order. */
const acknowledged: { index: number; keyId: string; secret: string }[] = [];
const failed: { index: number; reason: string }[] = [];
let attempted = 0;
let firstExit: { code: number | null; signal: NodeJS.Signals | null };
let lockAfterKill = '';
let journalAfterKill = '';
let storeAfterKill = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'keyward-crash-'));
  storeFile = join(dir, 'db.json');
  lockFile = `${storeFile}.lock`;
  port = await freePort();
  url = `http://127.0.0.1:${port}`;

  const bootstrap = keyward(['bootstrap', '--org', 'crash', '--output', 'json'], { KEYWARD_STORE: storeFile });
  expect((await bootstrap.exited).code).toBe(0);
  adminSecret = JSON.parse(bootstrap.stdout).secret;

  first = await serve(storeFile, port);
  const verifier = await post(url, '/v1/keys', adminSecret, { name: 'Gateway', role: 'verifier' });
  expect(verifier.status).toBe(201);
  verifierSecret = verifier.body.secret;
  verifierId = verifier.body.key.id;
});

afterAll(async () => {
  await killAll();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('lowdb store: one process per file, kill -9 safe', () => {
  it('a second server on the same store file fails at start with a lock message', async () => {
    const secondPort = await freePort();
    const second = keyward(['serve'], { KEYWARD_STORE: storeFile, KEYWARD_PORT: String(secondPort) });
    // Either it exits, or (the bug this guards against) it comes up serving the same file.
    const outcome = await Promise.race([
      second.exited.then((exit) => ({ exit })),
      waitReady(second, `http://127.0.0.1:${secondPort}`).then(
        () => ({ exit: 'second server is serving the same store file' as const }),
        () => new Promise<never>(() => {}), // it exited: the other branch settles
      ),
    ]);
    expect(outcome.exit).not.toBe('second server is serving the same store file');
    const exit = await second.exited;
    expect(exit.code).toBe(1);
    expect(second.stderr).toContain('in use by another keyward process');
    expect(second.stderr).toContain(`pid ${first.process.pid}`);
    // The refused process did not take the lock away, nor print a bootstrap secret.
    expect(second.stderr).not.toContain('KEYWARD_API_KEY=');
    expect(readFileSync(lockFile, 'utf8')).toBe(String(first.process.pid));
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
  });

  it('kill -9 during 500 concurrent creates, after some hundreds of 201s', async () => {
    let killed = false;
    await pool(
      TOTAL_CREATES,
      IN_FLIGHT,
      async (index) => {
        attempted++;
        try {
          const response = await post(url, '/v1/keys', adminSecret, { name: `load ${index}`, role: 'viewer' });
          if (response.status !== 201) {
            failed.push({ index, reason: `HTTP ${response.status} ${JSON.stringify(response.body)}` });
            return;
          }
          acknowledged.push({ index, keyId: response.body.key.id, secret: response.body.secret });
          if (acknowledged.length === KILL_AFTER && !killed) {
            killed = true;
            first.process.kill('SIGKILL');
          }
        } catch (error) {
          failed.push({ index, reason: String((error as Error).cause ?? error) });
        }
      },
      () => killed,
    );
    firstExit = await first.exited;
    lockAfterKill = existsSync(lockFile) ? readFileSync(lockFile, 'utf8') : '';
    storeAfterKill = readFileSync(storeFile, 'utf8');
    journalAfterKill = existsSync(`${storeFile}.journal`) ? readFileSync(`${storeFile}.journal`, 'utf8') : '';

    expect(killed).toBe(true);
    expect(firstExit.signal).toBe('SIGKILL');
    // Killed in the middle: some creates never got their answer.
    expect(acknowledged.length).toBeGreaterThanOrEqual(KILL_AFTER);
    expect(acknowledged.length).toBeLessThan(TOTAL_CREATES);
    expect(attempted).toBeLessThan(TOTAL_CREATES);
    // Before the kill every create succeeded: failures are only the ones the kill cut off.
    expect(failed.every((f) => !f.reason.startsWith('HTTP'))).toBe(true);
  });

  it('after kill -9 the snapshot is valid JSON and snapshot + journal hold every acknowledged key (by hash)', () => {
    type StoredKey = { id: string; secretHash: string };
    const data = JSON.parse(storeAfterKill) as { schemaVersion: number; journalSeq: number; keys: StoredKey[] };
    expect(data.schemaVersion).toBe(1);
    const byId = new Map(data.keys.map((key) => [key.id, key]));
    // The write-ahead journal: one JSON line per group commit; only a torn last line may fail to parse.
    const lines = journalAfterKill.split('\n');
    const complete = lines.slice(0, -1);
    for (const line of complete) {
      const entry = JSON.parse(line) as { seq: number; ops: { t: string; v: StoredKey }[] };
      if (entry.seq <= data.journalSeq) continue;
      for (const op of entry.ops) if (op.t === 'key') byId.set(op.v.id, op.v);
    }
    const missing = acknowledged.filter((key) => byId.get(key.keyId)?.secretHash !== sha256(key.secret)).map((key) => key.keyId);
    expect(missing, 'keys answered 201 but in neither the snapshot nor the journal').toEqual([]);
    expect(byId.has(verifierId)).toBe(true);
    expect(storeAfterKill + journalAfterKill).not.toContain(adminSecret);
  });

  it('the stale lock of the killed process does not block the restart', async () => {
    // kill -9 left the lock behind, naming the dead process.
    expect(lockAfterKill).toBe(String(first.process.pid));
    restarted = await serve(storeFile, port);
    expect(readFileSync(lockFile, 'utf8')).toBe(String(restarted.process.pid));
    // A non-empty store is not bootstrapped again.
    expect(restarted.stderr).not.toContain('KEYWARD_API_KEY=');
  });

  it('after the restart every key whose create got a 201 verifies', async () => {
    expect(restarted).toBeDefined();
    const results = new Map<string, { status: number; body: any }>();
    await pool(acknowledged.length, 32, async (i) => {
      const key = acknowledged[i]!;
      results.set(key.keyId, await post(url, '/v1/verify', verifierSecret, { key: key.secret }));
    });
    const invalid = acknowledged
      .filter((key) => results.get(key.keyId)?.body?.valid !== true || results.get(key.keyId)?.body?.keyId !== key.keyId)
      .map((key) => ({ keyId: key.keyId, result: results.get(key.keyId)?.body }));
    expect(invalid, 'keys answered 201 that no longer verify').toEqual([]);

    // And the secrets authenticate directly (first and last acknowledged).
    for (const key of [...acknowledged.slice(0, 3), ...acknowledged.slice(-3)]) {
      const response = await fetch(`${url}/v1/whoami`, { headers: { authorization: `Bearer ${key.secret}` } });
      expect(response.status).toBe(200);
      expect(((await response.json()) as { key: { id: string; role: string } }).key).toMatchObject({ id: key.keyId, role: 'viewer' });
    }

    // The restarted service keeps working on the recovered store.
    const created = await post(url, '/v1/keys', adminSecret, { name: 'after restart', role: 'viewer' });
    expect(created.status).toBe(201);
    expect((await post(url, '/v1/verify', verifierSecret, { key: created.body.secret })).body).toMatchObject({ valid: true });
  });

  it('a clean SIGTERM shutdown exits 0 and releases the lock', async () => {
    expect(restarted).toBeDefined();
    restarted!.process.kill('SIGTERM');
    const exit = await restarted!.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(existsSync(lockFile)).toBe(false);
    const data = JSON.parse(readFileSync(storeFile, 'utf8')) as { keys: { id: string }[] };
    const ids = new Set(data.keys.map((key) => key.id));
    expect(acknowledged.filter((key) => !ids.has(key.keyId))).toEqual([]);
  });
});
