/**
 * Failures under load, PostgreSQL's counterpart of crash.test.ts. On a
 * cluster of its own (it is restarted here, which the shared one must not be):
 *
 * - PostgreSQL crashes and restarts (pg_ctl stop -m immediate, start) in the
 *   middle of concurrent creates and verifies: creates fail (there must be
 *   failures, or the crash missed the load), only from the crash on and only
 *   with 503 SERVICE_UNAVAILABLE, no create answered 201 is lost, and both
 *   replicas recover by themselves (pool and LISTEN connection), so a
 *   revocation through one is again refused by the other.
 * - PostgreSQL stays down: keys a replica has already seen keep verifying
 *   there, a key it has not seen and every write answer 503, and all is back
 *   once PostgreSQL is.
 * - A replica is killed with SIGKILL in the middle of creates: the other
 *   replica keeps serving, every acknowledged key verifies there, and the
 *   killed replica comes back on the same database.
 *
 * How long recovery takes is measured by bench/replicas.ts, not asserted here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, killAll, run, serve, type Child } from '../support/cli-process.ts';
import { createDatabase, startPostgresCluster, type PostgresCluster } from '../support/postgres.ts';

let cluster: PostgresCluster;
let databaseUrl: string;
let admin: string;
let gateway: string;
const replicas: { url: string; child: Child; port: number }[] = [];
const env = () => ({ KEYWARD_DATABASE_URL: databaseUrl, KEYWARD_USAGE_FLUSH_MS: '200' });

async function call(url: string, method: string, path: string, secret: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${secret}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  return { status: response.status, body: await response.json() };
}

async function startReplica(port?: number) {
  const p = port ?? (await freePort());
  const child = await serve('/nonexistent/unused.json', p, env());
  return { url: `http://127.0.0.1:${p}`, child, port: p };
}

interface Outcome {
  at: number;
  kind: 'create' | 'verify';
  ok: boolean;
  status: number | 'network';
  code?: string;
}

/** Runs creates (and verifies of created keys) with `inFlight` workers until stop() is true. */
async function load(url: () => string, inFlight: number, stop: () => boolean, acknowledged: { keyId: string; secret: string }[], outcomes: Outcome[]) {
  let n = 0;
  const worker = async () => {
    while (!stop()) {
      const i = n++;
      try {
        if (i % 2 === 0 || acknowledged.length === 0) {
          const created = await call(url(), 'POST', '/v1/keys', admin, { name: `load ${i}`, role: 'viewer' });
          outcomes.push({ at: performance.now(), kind: 'create', ok: created.status === 201, status: created.status, code: created.body?.error?.code });
          if (created.status === 201) acknowledged.push({ keyId: created.body.key.id, secret: created.body.secret });
        } else {
          const key = acknowledged[i % acknowledged.length]!;
          const verdict = await call(url(), 'POST', '/v1/verify', gateway, { key: key.secret });
          outcomes.push({ at: performance.now(), kind: 'verify', ok: verdict.status === 200 && verdict.body.valid === true, status: verdict.status, code: verdict.body?.error?.code ?? verdict.body?.code });
        }
      } catch {
        outcomes.push({ at: performance.now(), kind: i % 2 === 0 ? 'create' : 'verify', ok: false, status: 'network' });
        await new Promise((r) => setTimeout(r, 20)); // the load generator's backoff, not a wait for anything
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
}

/** Waits for a condition; the deadline only keeps a hung replica from hanging the run. */
async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Successful creates after the last failed request: the replicas have recovered once there are enough. */
const createsSinceLastFailure = (outcomes: Outcome[]): number => {
  let count = 0;
  for (let i = outcomes.length - 1; i >= 0 && outcomes[i]!.ok; i--) if (outcomes[i]!.kind === 'create') count++;
  return count;
};

beforeAll(async () => {
  cluster = await startPostgresCluster();
  databaseUrl = await createDatabase(cluster.url);
  const bootstrap = await run(['bootstrap', '--org', 'outage', '--output', 'json'], { KEYWARD_DATABASE_URL: databaseUrl });
  expect(bootstrap.stderr).toBe('');
  admin = JSON.parse(bootstrap.stdout).secret;
  replicas.push(await startReplica(), await startReplica());
  gateway = (await call(replicas[0]!.url, 'POST', '/v1/keys', admin, { name: 'Gateway', role: 'verifier' })).body.secret;
});

afterAll(async () => {
  await killAll();
  await cluster?.stop();
});

async function everyKeyVerifies(url: string, keys: { keyId: string; secret: string }[]) {
  const invalid: unknown[] = [];
  for (let i = 0; i < keys.length; i += 32) {
    const batch = keys.slice(i, i + 32);
    const results = await Promise.all(batch.map((key) => call(url, 'POST', '/v1/verify', gateway, { key: key.secret })));
    results.forEach((result, j) => {
      if (result.body.valid !== true || result.body.keyId !== batch[j]!.keyId) invalid.push({ keyId: batch[j]!.keyId, result: result.body });
    });
  }
  return invalid;
}

describe('PostgreSQL outages and replica crashes under load', () => {
  it('PostgreSQL crashes and restarts mid-load: errors only around the outage (503), no acknowledged create lost, replicas reconnect by themselves', async () => {
    const acknowledged: { keyId: string; secret: string }[] = [];
    const outcomes: Outcome[] = [];
    let stop = false;
    let turn = 0;
    const running = load(() => replicas[turn++ % 2]!.url, 8, () => stop, acknowledged, outcomes);
    await until('creates under load before the crash', () => acknowledged.length >= 30);
    const before = acknowledged.length;
    const down = performance.now();
    await cluster.restart('immediate');
    // Keep the load on until the replicas have recovered: 100 creates in a row since the last failure.
    await until('100 creates in a row after the restart', () => createsSinceLastFailure(outcomes) >= 100);
    stop = true;
    await running;

    const failures = outcomes.filter((o) => !o.ok);
    // The crash hit the load: some creates failed, and said "unavailable" (never a 500, never a hang).
    expect(failures.filter((f) => f.kind === 'create').length, 'creates that failed during the outage').toBeGreaterThan(0);
    for (const failure of failures) {
      expect(failure.at).toBeGreaterThanOrEqual(down);
      expect(failure.status).toBe(503);
      expect(failure.code).toBe('SERVICE_UNAVAILABLE');
    }
    expect(before).toBeGreaterThanOrEqual(30);
    expect(acknowledged.length).toBeGreaterThan(before + 100);
    // Nothing acknowledged was lost: every key answered 201 verifies, on both replicas.
    for (const replica of replicas) expect(await everyKeyVerifies(replica.url, acknowledged), replica.url).toEqual([]);
    // Both replicas listen again: a key revoked through one is refused by the other.
    for (const [from, to] of [[0, 1], [1, 0]] as const) {
      const created = await call(replicas[from]!.url, 'POST', '/v1/keys', admin, { name: 'after restart', role: 'viewer' });
      expect((await call(replicas[to]!.url, 'POST', '/v1/verify', gateway, { key: created.body.secret })).body.valid).toBe(true);
      expect((await call(replicas[from]!.url, 'DELETE', `/v1/keys/${created.body.key.id}`, admin)).status).toBe(200);
      await until('the revocation to reach the other replica', async () => (await call(replicas[to]!.url, 'POST', '/v1/verify', gateway, { key: created.body.secret })).body.code === 'KEY_REVOKED');
    }
  });

  it('PostgreSQL down: keys a replica has seen keep verifying there; unseen keys and writes answer 503; all is back after it restarts', async () => {
    const [a, b] = [replicas[0]!.url, replicas[1]!.url];
    const seen: { key: { id: string }; secret: string }[] = [];
    for (let i = 0; i < 5; i++) seen.push((await call(a, 'POST', '/v1/keys', admin, { name: `seen ${i}`, role: 'viewer' })).body);
    // Both replicas see them (and the gateway, and the organization).
    for (const url of [a, b]) for (const key of seen) expect((await call(url, 'POST', '/v1/verify', gateway, { key: key.secret })).body).toMatchObject({ valid: true, keyId: key.key.id });
    // A key B has never been asked about.
    const unseen = (await call(a, 'POST', '/v1/keys', admin, { name: 'unseen', role: 'viewer' })).body as { secret: string };

    await cluster.stopServer('immediate');
    try {
      await until('B to notice the database is gone (a write answers 503)', async () => (await call(b, 'POST', '/v1/keys', admin, { name: 'while down', role: 'viewer' })).status === 503);
      for (const url of [a, b]) {
        for (const key of seen) expect((await call(url, 'POST', '/v1/verify', gateway, { key: key.secret })).body, url).toMatchObject({ valid: true, keyId: key.key.id });
        const write = await call(url, 'POST', '/v1/keys', admin, { name: 'while down', role: 'viewer' });
        expect(write).toMatchObject({ status: 503, body: { error: { code: 'SERVICE_UNAVAILABLE' } } });
      }
      const unknown = await call(b, 'POST', '/v1/verify', gateway, { key: unseen.secret });
      expect(unknown).toMatchObject({ status: 503, body: { error: { code: 'SERVICE_UNAVAILABLE' } } });
    } finally {
      await cluster.startServer();
    }
    await until('writes to work again', async () => (await call(b, 'POST', '/v1/keys', admin, { name: 'back', role: 'viewer' })).status === 201);
    expect((await call(b, 'POST', '/v1/verify', gateway, { key: unseen.secret })).body.valid).toBe(true);
    // Revocation reaches the other replica again (its LISTEN connection is back).
    expect((await call(a, 'DELETE', `/v1/keys/${seen[0]!.key.id}`, admin)).status).toBe(200);
    await until('the revocation to reach B', async () => (await call(b, 'POST', '/v1/verify', gateway, { key: seen[0]!.secret })).body.code === 'KEY_REVOKED');
  });

  it('a replica killed with SIGKILL mid-load: the other keeps serving, every acknowledged key is there, the killed one comes back', async () => {
    const [victim, survivor] = [replicas[0]!, replicas[1]!];
    const acknowledged: { keyId: string; secret: string }[] = [];
    const outcomes: Outcome[] = [];
    let killed = false;
    let stop = false;
    const onVictim = load(() => victim.url, 8, () => stop || killed, acknowledged, outcomes);
    const survivorOutcomes: Outcome[] = [];
    const survivorKeys: { keyId: string; secret: string }[] = [];
    const onSurvivor = load(() => survivor.url, 4, () => stop, survivorKeys, survivorOutcomes);
    await until('150 creates on the victim', () => acknowledged.length >= 150);
    victim.child.process.kill('SIGKILL');
    killed = true;
    const killedAt = performance.now();
    await victim.child.exited;
    await onVictim;
    // The survivor carries on after the kill.
    await until('50 requests on the survivor after the kill', () => survivorOutcomes.filter((o) => o.at > killedAt).length >= 50);
    stop = true;
    await onSurvivor;

    // The survivor never failed.
    expect(survivorOutcomes.filter((o) => !o.ok)).toEqual([]);
    // Every create the killed replica acknowledged is in the database: it verifies on the survivor.
    expect(await everyKeyVerifies(survivor.url, acknowledged)).toEqual([]);
    // The killed replica restarts on the same port and database, no bootstrap, and serves the same keys.
    const restarted = await startReplica(victim.port);
    expect(restarted.child.stderr).not.toContain('KEYWARD_API_KEY=');
    expect(await everyKeyVerifies(restarted.url, [...acknowledged.slice(0, 20), ...survivorKeys.slice(-20)])).toEqual([]);
    expect((await call(restarted.url, 'POST', '/v1/keys', admin, { name: 'after kill', role: 'viewer' })).status).toBe(201);
  });
});
