/**
 * Failures under load, PostgreSQL's counterpart of crash.test.ts. On a
 * cluster of its own (it is restarted here, which the shared one must not be):
 *
 * - PostgreSQL crashes and restarts (pg_ctl stop -m immediate, start) in the
 *   middle of concurrent creates and verifies: requests fail only around the
 *   outage and then with 503 SERVICE_UNAVAILABLE, no create answered 201 is
 *   lost, and both replicas recover by themselves (pool and LISTEN connection),
 *   so a revocation through one is again refused by the other.
 * - A replica is killed with SIGKILL in the middle of creates: the other
 *   replica keeps serving, every acknowledged key verifies there, and the
 *   killed replica comes back on the same database.
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
          outcomes.push({ at: performance.now(), ok: created.status === 201, status: created.status, code: created.body?.error?.code });
          if (created.status === 201) acknowledged.push({ keyId: created.body.key.id, secret: created.body.secret });
        } else {
          const key = acknowledged[i % acknowledged.length]!;
          const verdict = await call(url(), 'POST', '/v1/verify', gateway, { key: key.secret });
          outcomes.push({ at: performance.now(), ok: verdict.status === 200 && verdict.body.valid === true, status: verdict.status, code: verdict.body?.error?.code ?? verdict.body?.code });
        }
      } catch {
        outcomes.push({ at: performance.now(), ok: false, status: 'network' });
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
}

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
    await new Promise((r) => setTimeout(r, 1_500));
    const before = acknowledged.length;
    const down = performance.now();
    await cluster.restart('immediate');
    const up = performance.now();
    // Keep the load on until well after recovery.
    const deadline = Date.now() + 20_000;
    while (acknowledged.length < before + 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 1_000));
    stop = true;
    await running;

    const failures = outcomes.filter((o) => !o.ok);
    const lastFailure = Math.max(...failures.map((o) => o.at), down);
    process.stdout.write(
      `\nPostgreSQL crash-restart under load: down for ${(up - down).toFixed(0)} ms (stop -m immediate + start + recovery); ` +
        `${outcomes.length} requests, ${failures.length} failed (${[...new Set(failures.map((f) => `${f.status}${f.code ? ` ${f.code}` : ''}`))].join(', ') || 'none'}), ` +
        `last failure ${(lastFailure - up).toFixed(0)} ms after the server was back; ${acknowledged.length - before} creates acknowledged after it went down\n`,
    );
    expect(before).toBeGreaterThan(10);
    // Failures happen only from the crash until shortly after PostgreSQL is back, and say "unavailable".
    for (const failure of failures) {
      expect(failure.at).toBeGreaterThanOrEqual(down);
      expect(failure.at).toBeLessThan(up + 3_000);
      expect(failure.status).toBe(503);
      expect(failure.code).toBe('SERVICE_UNAVAILABLE');
    }
    expect(acknowledged.length).toBeGreaterThan(before + 100);
    // Nothing acknowledged was lost: every key answered 201 verifies, on both replicas.
    for (const replica of replicas) expect(await everyKeyVerifies(replica.url, acknowledged), replica.url).toEqual([]);
    // Both replicas listen again: a key revoked through one is refused by the other.
    for (const [from, to] of [[0, 1], [1, 0]] as const) {
      const created = await call(replicas[from]!.url, 'POST', '/v1/keys', admin, { name: 'after restart', role: 'viewer' });
      expect((await call(replicas[to]!.url, 'POST', '/v1/verify', gateway, { key: created.body.secret })).body.valid).toBe(true);
      expect((await call(replicas[from]!.url, 'DELETE', `/v1/keys/${created.body.key.id}`, admin)).status).toBe(200);
      const started = performance.now();
      while ((await call(replicas[to]!.url, 'POST', '/v1/verify', gateway, { key: created.body.secret })).body.valid !== false) {
        if (performance.now() - started > 5_000) throw new Error('revocation did not reach the other replica after the restart');
      }
    }
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
    while (acknowledged.length < 150) await new Promise((r) => setTimeout(r, 10));
    victim.child.process.kill('SIGKILL');
    killed = true;
    const killedAt = performance.now();
    await victim.child.exited;
    await onVictim;
    await new Promise((r) => setTimeout(r, 1_000));
    stop = true;
    await onSurvivor;

    // The survivor never failed.
    expect(survivorOutcomes.filter((o) => !o.ok)).toEqual([]);
    expect(survivorOutcomes.filter((o) => o.at > killedAt).length).toBeGreaterThan(10);
    // Every create the killed replica acknowledged is in the database: it verifies on the survivor.
    expect(await everyKeyVerifies(survivor.url, acknowledged)).toEqual([]);
    // The killed replica restarts on the same port and database, no bootstrap, and serves the same keys.
    const restarted = await startReplica(victim.port);
    expect(restarted.child.stderr).not.toContain('KEYWARD_API_KEY=');
    expect(await everyKeyVerifies(restarted.url, [...acknowledged.slice(0, 20), ...survivorKeys.slice(-20)])).toEqual([]);
    expect((await call(restarted.url, 'POST', '/v1/keys', admin, { name: 'after kill', role: 'viewer' })).status).toBe(201);
  });
});
