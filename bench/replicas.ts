/**
 * PostgreSQL replicas: how fast a revocation through replica A reaches
 * replica B, and how fast replicas recover from a PostgreSQL crash. The tests
 * (test/postgres/replicas.test.ts, outage.test.ts) assert order and outcome
 * only; the figures are measured here. `npx node bench/replicas.ts` from the
 * repository (pinned Node 24); `--revocations 200`, `--no-write` to print only.
 *
 * A throwaway PostgreSQL 15 cluster (fsync on) with two `keyward serve`
 * children on one database, and in the same run:
 *
 * 1. Baseline: one verify round trip on B (what "B answers" costs at all).
 * 2. Propagation over HTTP: a key created on A and verified on B (so B caches
 *    it) is revoked through A; B is asked until it answers KEY_REVOKED. Time
 *    from A's response to B's refusal, and from sending the revocation.
 * 3. Propagation inside the store: two PostgresStore instances in this
 *    process, no HTTP; time from A's commit until B's cache entry is gone.
 * 4. Recovery: PostgreSQL stopped with `pg_ctl -m immediate` and started
 *    again under a light create load; time from `pg_ctl start` returning until
 *    each replica answers a create with 201 again.
 *
 * Results go to docs/benchmarks-postgres.md between the replicas markers.
 */
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { issueKey, newAuditEvent, newOrganization } from '../src/core/issue.ts';
import { PostgresStore } from '../src/store/postgres/postgres-store.ts';
import { createDatabase, startPostgresCluster } from '../test/support/postgres.ts';
import { api } from './load.ts';
import { fmt, freePort, HOST, log, machineInfo, requirePinnedNode, runNode, Samples, startNode, waitReady, writeGeneratedSection, type Child } from './util.ts';

const CLI = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const DOC = fileURLToPath(new URL('../docs/benchmarks-postgres.md', import.meta.url));
const MARKERS = { start: '<!-- bench:replicas:start -->', end: '<!-- bench:replicas:end -->' };

const { values: flags } = parseArgs({ options: { revocations: { type: 'string', default: '200' }, recoveries: { type: 'string', default: '5' }, 'no-write': { type: 'boolean', default: false } } });
requirePinnedNode('npx node bench/replicas.ts');
const REVOCATIONS = Number(flags.revocations);
const RECOVERIES = Number(flags.recoveries);

/** One API call; the same argument order as the tests' helpers. */
const call = async (url: string, method: string, path: string, secret: string, body?: unknown) => {
  const { status, json } = await api(url, secret, method, path, body, 15_000);
  return { status, body: json };
};

const row = (label: string, samples: Samples, extra = '') => {
  const [p50, p95, p99, max] = samples.percentiles(50, 95, 99, 100);
  return `| ${label} | ${samples.count} | ${fmt(p50!, 2)} | ${fmt(p95!, 2)} | ${fmt(p99!, 2)} | ${fmt(max!, 2)} | ${extra} |`;
};

const started = performance.now();
const loadAtStart = loadavg()[0]!;
const cluster = await startPostgresCluster({ settings: { fsync: 'on', synchronous_commit: 'on' } });
const children: Child[] = [];
const lines: string[] = [];
try {
  const databaseUrl = await createDatabase(cluster.url, 'keyward_bench');
  const env = { KEYWARD_DATABASE_URL: databaseUrl, KEYWARD_LOG_LEVEL: 'warn' };
  const admin = JSON.parse(await runNode([CLI, 'bootstrap', '--org', 'bench', '--output', 'json'], env)).secret as string;
  const urls: string[] = [];
  for (const name of ['a', 'b']) {
    const port = await freePort();
    const child = startNode(`keyward-${name}`, [CLI, 'serve'], { ...env, KEYWARD_PORT: String(port), KEYWARD_HOST: HOST });
    children.push(child);
    urls.push(`http://${HOST}:${port}`);
    await waitReady(child, `http://${HOST}:${port}/readyz`);
  }
  const [a, b] = urls as [string, string];
  const gateway = (await call(a, 'POST', '/v1/keys', admin, { name: 'Gateway', role: 'verifier' })).body.secret as string;

  // 1 and 2: baseline verify round trip on B, and propagation A -> B.
  log(`propagation over HTTP: ${REVOCATIONS} revocations`);
  const baseline = new Samples();
  const afterAck = new Samples();
  const fromSend = new Samples();
  let firstVerifyRefused = 0;
  for (let i = 0; i < REVOCATIONS; i++) {
    const created = (await call(a, 'POST', '/v1/keys', admin, { name: `r${i}`, role: 'viewer' })).body;
    const t0 = performance.now();
    const ok = (await call(b, 'POST', '/v1/verify', gateway, { key: created.secret })).body;
    baseline.add(performance.now() - t0);
    if (ok.valid !== true) throw new Error(`B did not verify a fresh key: ${JSON.stringify(ok)}`);
    const sent = performance.now();
    if ((await call(a, 'DELETE', `/v1/keys/${created.key.id}`, admin)).status !== 200) throw new Error('revoke failed');
    const acknowledged = performance.now();
    let attempts = 0;
    for (;;) {
      attempts++;
      const verdict = (await call(b, 'POST', '/v1/verify', gateway, { key: created.secret })).body;
      if (verdict.valid === false) {
        if (verdict.code !== 'KEY_REVOKED') throw new Error(`unexpected ${verdict.code}`);
        break;
      }
      if (performance.now() - acknowledged > 10_000) throw new Error(`${created.key.id} still verifies on B after 10 s`);
    }
    const seen = performance.now();
    if (attempts === 1) firstVerifyRefused++;
    afterAck.add(seen - acknowledged);
    fromSend.add(seen - sent);
  }

  // 3: the same inside the store, no HTTP.
  log('propagation inside the store: two PostgresStore instances');
  const storeA = await PostgresStore.open(databaseUrl);
  const storeB = await PostgresStore.open(databaseUrl, { refreshMs: 3_600_000 });
  const inStore = new Samples();
  try {
    const org = newOrganization('store-bench', new Date(), 'enterprise');
    const mint = (name: string) => issueKey({ organizationId: org.id, name, roleId: 'viewer', environment: 'production', createdBy: null, tokenPrefix: 'kw_', rotationDays: {}, now: new Date() }).record;
    const audit = () => newAuditEvent({ organizationId: org.id, action: 'key.created', actorKeyId: null, ip: null, targetType: 'key', targetId: 'x' }, new Date());
    await storeA.createOrganization(org, mint('admin'), audit());
    for (let i = 0; i < REVOCATIONS; i++) {
      const key = mint(`s${i}`);
      await storeA.insertKey(key, { activeLimit: null, now: Date.now() }, audit());
      await storeB.reads.keyByHash(key.secretHash);
      await storeA.revokeKey(org.id, key.id, new Date().toISOString(), audit());
      const committed = performance.now();
      while (storeB.cache.keyByHash(key.secretHash)) await new Promise((r) => setImmediate(r));
      inStore.add(performance.now() - committed);
    }
  } finally {
    await storeA.close();
    await storeB.close();
  }

  // 4: recovery after a crash-restart of PostgreSQL.
  log(`recovery: ${RECOVERIES} crash-restarts`);
  const restart = new Samples();
  const recovery: Samples[] = [new Samples(), new Samples()];
  for (let round = 0; round < RECOVERIES; round++) {
    const t0 = performance.now();
    await cluster.stopServer('immediate');
    await cluster.startServer();
    const up = performance.now();
    restart.add(up - t0);
    await Promise.all(
      urls.map(async (url, i) => {
        for (;;) {
          const created = await call(url, 'POST', '/v1/keys', admin, { name: `after restart ${round}`, role: 'viewer' }).catch(() => ({ status: 0 }));
          if (created.status === 201) break;
          if (performance.now() - up > 60_000) throw new Error(`${url} did not recover within 60 s`);
          await new Promise((r) => setTimeout(r, 5));
        }
        recovery[i]!.add(performance.now() - up);
      }),
    );
  }

  const machine = machineInfo();
  lines.push(MARKERS.start, '<!-- generated by bench/replicas.ts; edit the prose outside these markers -->', '');
  lines.push('| CPU | cores | memory | Node | OS | date | load average (1 min) at start / end | command | duration |', '|---|---|---|---|---|---|---|---|---|');
  lines.push(`| ${machine.cpuModel} | ${machine.cores} | ${machine.memoryGiB} GiB | ${machine.node} | ${machine.platform} | ${machine.date.slice(0, 16).replace('T', ' ')} UTC | ${fmt(loadAtStart, 1)} / ${fmt(loadavg()[0]!, 1)} | \`npx node bench/replicas.ts\` | ${fmt((performance.now() - started) / 60_000, 1)} min |`, '');
  lines.push('| measured (ms) | samples | p50 | p95 | p99 | max | note |', '|---|---:|---:|---:|---:|---:|---|');
  lines.push(row('baseline: one verify round trip on B', baseline, 'the floor: B answering at all'));
  lines.push(row('revocation A → B, from A\'s response', afterAck, `B refused on its first verify after the response: ${firstVerifyRefused}/${REVOCATIONS}`));
  lines.push(row('revocation A → B, from sending the revocation', fromSend, 'includes the revocation\'s own round trip'));
  lines.push(row('revocation inside the store (commit → B\'s cache entry gone)', inStore, 'two PostgresStore instances, no HTTP'));
  lines.push(row('PostgreSQL crash-restart (`pg_ctl stop -m immediate` + `start`)', restart, 'recovery from the WAL included'));
  lines.push(row('replica A: restart done → first create answered 201', recovery[0]!, 'pool reconnects on demand'));
  lines.push(row('replica B: restart done → first create answered 201', recovery[1]!, ''));
  lines.push('', MARKERS.end);
} finally {
  for (const child of children) await child.stop();
  await cluster.stop();
}
const generated = lines.join('\n');
process.stdout.write(`\n${generated}\n`);
if (!flags['no-write']) {
  writeGeneratedSection(DOC, generated, MARKERS, (g) => `# PostgreSQL benchmarks\n\n${g}\n`);
  log(`wrote ${DOC}`);
}
