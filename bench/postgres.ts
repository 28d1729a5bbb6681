/**
 * PostgreSQL store benchmarks (issue 10): create and verify with 10k, 100k
 * and 1M keys in the database. `npx node bench/postgres.ts` from the
 * repository (pinned Node 24); `--quick` for 10k/100k only and shorter runs;
 * `--sizes 10000,1000000`; `--no-write` to print only.
 *
 * A throwaway PostgreSQL 15 cluster (fsync on, as in production) is started
 * with the machine's binaries (test/support/postgres.ts), or
 * KEYWARD_BENCH_DATABASE_URL names a server whose role may CREATE DATABASE.
 * Per size: a fresh database, schema by migration, one organization with its
 * admin key, 1,001 keys with known secrets (1,000 viewers to verify and one
 * verifier caller) inserted through the store, and the rest generated in SQL
 * (one INSERT … SELECT generate_series per 250k rows) spread over the past
 * year. Then `keyward serve` on it (child process, KEYWARD_DATABASE_URL) and
 * autocannon in this process, like bench/run.ts: creates on 1 connection
 * (sequential) and on 64 (concurrent), then verify at 64 connections.
 * Results go to docs/benchmarks-postgres.md (between the generated markers).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { issueKey, newAuditEvent, newOrganization } from '../src/core/issue.ts';
import { PostgresStore } from '../src/store/postgres/postgres-store.ts';
import { createDatabase, dropDatabase, startPostgresCluster, type PostgresCluster } from '../test/support/postgres.ts';
import { load, type LoadStats } from './load.ts';
import { fmt, fmtInt, freePort, HOST, log, machineInfo, requirePinnedNode, rssMiB, startNode, waitReady, writeGeneratedSection } from './util.ts';

const CLI = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const DOC = fileURLToPath(new URL('../docs/benchmarks-postgres.md', import.meta.url));

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    sizes: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
  },
});
requirePinnedNode('npx node bench/postgres.ts');
const QUICK = flags.quick;
const PLAN = QUICK
  ? { sizes: [10_000, 100_000], seq: 100, conc: 1_000, warm: 20, verifyS: 5, warmS: 2 }
  : { sizes: [10_000, 100_000, 1_000_000], seq: 300, conc: 3_000, warm: 20, verifyS: 10, warmS: 3 };
const sizes = flags.sizes ? flags.sizes.split(',').map((s) => Number(s.trim())) : PLAN.sizes;
const CONNECTIONS = 64;
const SAMPLE = 1_000;

const describe = (r: LoadStats) => `${fmtInt(r.ok)} ok (${r.other} non-2xx, ${r.errors} errors), ${fmtInt(r.perSecond)}/s, p50 ${fmt(r.p50, 2)} ms, p99 ${fmt(r.p99, 1)} ms, server CPU ${fmtInt(r.serverCpu * 100)}%`;

interface Seeded {
  adminSecret: string;
  verifierSecret: string;
  sample: string[];
  seconds: number;
  tableMB: number;
}

async function seed(url: string, size: number): Promise<Seeded> {
  const started = performance.now();
  const store = await PostgresStore.open(url);
  const now = new Date();
  const org = newOrganization('bench', now, 'enterprise');
  const mint = (name: string, roleId: string) => issueKey({ organizationId: org.id, name, roleId, environment: 'production', createdBy: null, tokenPrefix: 'kw_', rotationDays: {}, now: new Date() });
  const audit = () => newAuditEvent({ organizationId: org.id, action: 'key.created', actorKeyId: null, ip: null, targetType: 'key', targetId: 'seed' }, new Date());
  const admin = mint('bench admin', 'admin');
  await store.createOrganization(org, admin.record, audit());
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  // The bulk first (older keys), then the keys whose secrets we know.
  const bulk = Math.max(0, size - SAMPLE - 2);
  const CHUNK = 250_000;
  for (let from = 1; from <= bulk; from += CHUNK) {
    const to = Math.min(bulk, from + CHUNK - 1);
    await client.query(
      `INSERT INTO keys (id, organization_id, name, role_id, environment, secret_hash, secret_hint, metadata, ip_allowlist, created_at, rotation_due_at)
       SELECT 'key_s' || lpad(to_hex(i), 15, '0'), $1, 'seeded ' || i,
              (ARRAY['viewer', 'key-manager', 'verifier'])[1 + i % 3], (ARRAY['production', 'staging', 'development'])[1 + i % 3],
              encode(sha256(convert_to('seed ' || i || ' ' || $2, 'UTF8')), 'hex'), 'kw_…seed', '{"team":"seed"}', '{}',
              now() - interval '1 year' + (i * (interval '1 year' / $3)), now() + interval '90 days'
       FROM generate_series($4::int, $5::int) AS i`,
      [org.id, org.id, bulk, from, to],
    );
    log(`seed: ${fmtInt(to)} / ${fmtInt(bulk)} generated keys (${fmt((performance.now() - started) / 1000, 1)} s)`);
  }
  const verifier = mint('bench verifier', 'verifier');
  const sample = Array.from({ length: SAMPLE }, (_, i) => mint(`sample ${i}`, 'viewer'));
  for (const key of [verifier, ...sample]) await store.insertKey(key.record, { activeLimit: null, now: Date.now() }, audit());
  await client.query('ANALYZE');
  const { rows } = await client.query<{ mb: string }>("SELECT pg_total_relation_size('keys') / 1e6 AS mb");
  await client.end();
  await store.close();
  return { adminSecret: admin.secret, verifierSecret: verifier.secret, sample: sample.map((k) => k.secret), seconds: (performance.now() - started) / 1000, tableMB: Number(rows[0]!.mb) };
}

interface Row {
  size: number;
  seeded: Seeded;
  startupS: number;
  rss: number;
  sequential: LoadStats;
  concurrent: LoadStats;
  verify: LoadStats;
}

let cluster: PostgresCluster | undefined;
const server = process.env.KEYWARD_BENCH_DATABASE_URL ?? (cluster = await startPostgresCluster({ settings: { fsync: 'on', full_page_writes: 'on', synchronous_commit: 'on', shared_buffers: '256MB' } })).url;
log(`PostgreSQL at ${server.replace(/:[^:@/]*@/, ':***@')}${cluster ? ' (throwaway cluster, fsync on)' : ''}; sizes ${sizes.map(fmtInt).join(', ')}`);
const rows: Row[] = [];
const started = performance.now();
try {
  for (const size of sizes) {
    const label = `${fmtInt(size)} keys`;
    const url = await createDatabase(server, 'keyward_bench');
    try {
      log(`${label}: seeding`);
      const seeded = await seed(url, size);
      log(`${label}: seeded in ${fmt(seeded.seconds, 1)} s (keys table + indexes ${fmt(seeded.tableMB, 0)} MB); starting keyward serve`);
      const port = await freePort();
      const t0 = performance.now();
      const child = startNode(`keyward-pg-${size}`, [CLI, 'serve'], { KEYWARD_DATABASE_URL: url, KEYWARD_PORT: String(port), KEYWARD_HOST: HOST, KEYWARD_LOG_LEVEL: 'warn' });
      const base = `http://${HOST}:${port}`;
      await waitReady(child, `${base}/readyz`);
      const startupS = (performance.now() - t0) / 1000;
      const body = JSON.stringify({ name: 'bench create', role: 'viewer', environment: 'production', metadata: { team: 'bench' } });
      const create = { url: base, timeout: 60, requests: [{ method: 'POST' as const, path: '/v1/keys', headers: { authorization: `Bearer ${seeded.adminSecret}`, 'content-type': 'application/json' }, body }] };
      await load({ ...create, connections: 1, amount: PLAN.warm }, child.pid);
      const sequential = await load({ ...create, connections: 1, amount: PLAN.seq }, child.pid);
      log(`${label}: create, sequential: ${describe(sequential)}`);
      const concurrent = await load({ ...create, connections: CONNECTIONS, amount: PLAN.conc }, child.pid);
      log(`${label}: create, ${CONNECTIONS} concurrent: ${describe(concurrent)}`);
      const verifyRequests = seeded.sample.map((secret) => ({
        method: 'POST' as const,
        path: '/v1/verify',
        headers: { authorization: `Bearer ${seeded.verifierSecret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ key: secret }),
      }));
      await load({ url: base, connections: CONNECTIONS, duration: PLAN.warmS, requests: verifyRequests }, child.pid);
      const verify = await load({ url: base, connections: CONNECTIONS, duration: PLAN.verifyS, timeout: 30, requests: verifyRequests }, child.pid);
      log(`${label}: verify: ${describe(verify)}`);
      const rss = rssMiB(child.pid);
      await child.stop();
      for (const r of [sequential, concurrent, verify]) if (r.other > 0 || r.errors > 0) throw new Error(`${label}: ${r.other} non-2xx, ${r.errors} errors:\n${child.output().slice(-3000)}`);
      rows.push({ size, seeded, startupS, rss, sequential, concurrent, verify });
    } finally {
      await dropDatabase(server, url).catch(() => {});
    }
  }
} finally {
  await cluster?.stop();
}

// ---- report ----
const machine = machineInfo();
const lowdb = (() => {
  // lowdb's create p50 (sequential) and verify req/s per store size, from the issue-2 report, for the comparison.
  const doc = existsSync(fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url))) ? readFileSync(fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url)), 'utf8') : '';
  const create = new Map<number, { seqP50: string; concP50: string }>();
  for (const m of doc.matchAll(/^\| ([\d,]+) \| [\d.]+ MB \| (sequential|64 concurrent) \| [\d,]+ \| [\d,]+ \| ([\d.]+) \|/gm)) {
    const size = Number(m[1]!.replace(/,/g, ''));
    const entry = create.get(size) ?? { seqP50: 'n/a', concP50: 'n/a' };
    if (m[2] === 'sequential') entry.seqP50 = m[3]!;
    else entry.concP50 = m[3]!;
    create.set(size, entry);
  }
  return create;
})();

const lines: string[] = [];
lines.push('<!-- bench:postgres:start -->', '<!-- generated by bench/postgres.ts; edit the prose outside these markers -->', '');
lines.push('### Machine and run', '');
lines.push('| CPU | cores | memory | Node | OS | date | command | duration |', '|---|---|---|---|---|---|---|---|');
lines.push(`| ${machine.cpuModel} | ${machine.cores} | ${machine.memoryGiB} GiB | ${machine.node} | ${machine.platform} | ${machine.date.slice(0, 16).replace('T', ' ')} UTC | \`npx node bench/postgres.ts${QUICK ? ' --quick' : ''}\` | ${fmt((performance.now() - started) / 60_000, 1)} min |`, '');
lines.push('### Create: `POST /v1/keys`', '');
lines.push(`Sequential = ${PLAN.seq} creates on 1 connection; concurrent = ${fmtInt(PLAN.conc)} creates on ${CONNECTIONS} connections. Each create is one transaction (insert, audit event, NOTIFY; plus the organization's row lock and an active-key count when its plan has a limit, not the case here), committed with fsync.`, '');
lines.push('| keys in database | seed time | keys table + indexes | keyward start | mode | creates | creates/s | p50 ms | p99 ms | max ms | server CPU | other processes |', '|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  for (const [mode, s] of [['sequential', r.sequential], [`${CONNECTIONS} concurrent`, r.concurrent]] as const) {
    lines.push(`| ${fmtInt(r.size)} | ${fmt(r.seeded.seconds, 1)} s | ${fmt(r.seeded.tableMB, 0)} MB | ${fmt(r.startupS, 1)} s | ${mode} | ${fmtInt(s.ok)} | ${fmtInt(s.perSecond)} | ${fmt(s.p50, 2)} | ${fmt(s.p99, 1)} | ${fmt(s.max, 0)} | ${fmtInt(s.serverCpu * 100)}% | ${fmtInt(s.otherCpu * 100)}% |`);
  }
}
lines.push('', '### Verify: `POST /v1/verify`, 64 connections', '');
lines.push(`${fmtInt(SAMPLE)} keys cycled, ${PLAN.verifyS} s after a ${PLAN.warmS} s warm-up; verification is served from the replica's in-memory key cache.`, '');
lines.push('| keys in database | requests | req/s | p50 ms | p99 ms | max ms | server CPU | server µs/req | keyward RSS | other processes |', '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  const s = r.verify;
  lines.push(`| ${fmtInt(r.size)} | ${fmtInt(s.ok)} | ${fmtInt(s.perSecond)} | ${fmt(s.p50, 2)} | ${fmt(s.p99, 1)} | ${fmt(s.max, 0)} | ${fmtInt(s.serverCpu * 100)}% | ${fmtInt(s.serverUsPerRequest)} | ${fmtInt(r.rss)} MiB | ${fmtInt(s.otherCpu * 100)}% |`);
}
lines.push('', '### Create p50 against lowdb (sequential / 64 concurrent)', '');
lines.push('lowdb figures are read from docs/benchmarks.md (bench/run.ts, issue 2) as they stand when this runs; "—" where it has no such size.', '');
lines.push('| keys in store | lowdb p50 ms | PostgreSQL p50 ms |', '|---:|---:|---:|');
const allSizes = [...new Set([...lowdb.keys(), ...rows.map((r) => r.size)])].sort((a, b) => a - b);
for (const size of allSizes) {
  const l = lowdb.get(size);
  const p = rows.find((r) => r.size === size);
  lines.push(`| ${fmtInt(size)} | ${l ? `${l.seqP50} / ${l.concP50}` : '—'} | ${p ? `${fmt(p.sequential.p50, 2)} / ${fmt(p.concurrent.p50, 2)}` : '—'} |`);
}
lines.push('', '<!-- bench:postgres:end -->');
const generated = lines.join('\n');
process.stdout.write(`\n${generated}\n`);
if (!flags['no-write']) {
  writeGeneratedSection(DOC, generated, { start: '<!-- bench:postgres:start -->', end: '<!-- bench:postgres:end -->' }, (g) => `# PostgreSQL benchmarks\n\n${g}\n`);
  log(`wrote ${DOC}`);
}
