/**
 * keyward benchmarks (issue 2). `npm run bench` (full, ~9 min on 2 cores: 8 verify rounds of fresh processes measured in
 * alternating slices, then the create sizes) or
 * `npm run bench -- --quick` (smoke run, ~1 min).
 *
 *   1. verify: POST /v1/verify at 64 connections against the real key service
 *      and, in the same run, against a bare node:http baseline
 *      (bench/baseline-server.ts) doing the unavoidable per-request work.
 *   2. create: POST /v1/keys latency and throughput with 1k / 10k / 100k keys
 *      already in the lowdb store, sequentially and with 64 concurrent clients.
 *
 * Every server runs in its own child process on 127.0.0.1; the load generator
 * (autocannon, programmatic) runs in this process. Results go to
 * docs/benchmarks.md (between the generated-results markers; the prose
 * around them is kept) and to a JSON file next to the temp stores.
 *
 * Flags: --quick, --only verify|create, --sizes 1000,10000, --out FILE,
 *        --no-write (print only), --profile (run keyward and the baseline with --cpu-prof),
 *        --rounds N (verify rounds, 8; each starts fresh server processes), --slices N (slices per server and round, 6 of 3 s),
 *        --keys N (keys to verify, 1,000),
 *        --pin (servers on the last CPU, the load generator on the others, with taskset).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { load, type LoadStats } from './load.ts';
import { measureInSlices } from './slices.ts';
import { renderResults, writeReport, type BenchResults, type CreateRow, type VerifyRun } from './report.ts';
import { seedStore } from './seed.ts';
import { prepareVerify, startBaseline } from './verify-setup.ts';
import { log, machineInfo, pinCpus, requirePinnedNode, rssMiB, runNode, startKeywardServer, fmt, fmtInt, type Child } from './util.ts';

const CLI = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const DOC = fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url));

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    sizes: { type: 'string' },
    out: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    pin: { type: 'boolean', default: false },
    slices: { type: 'string' },
    keys: { type: 'string' },
  },
});

requirePinnedNode('npm run bench');

const QUICK = flags.quick;
const PLAN = QUICK
  ? { verifyKeys: 200, rounds: 1, warmupS: 1, slices: 2, sliceS: 2, sizes: [1_000, 10_000], seq: 50, conc: 500, seqCapS: 10, concCapS: 10, warmCreates: 5, sizeVerifyS: 3 }
  : { verifyKeys: Number(flags.keys ?? 1_000), rounds: Number(flags.rounds ?? 8), warmupS: 4, slices: Number(flags.slices ?? 6), sliceS: 3, sizes: [1_000, 10_000, 100_000], seq: 300, conc: 3_000, seqCapS: 40, concCapS: 60, warmCreates: 20, sizeVerifyS: 10 };
const sizes = flags.sizes ? flags.sizes.split(',').map((s) => Number(s.trim())) : PLAN.sizes;
const CONNECTIONS = 64;

// --pin: servers on one CPU, this process (the load generator) on the rest; by default both are left to the scheduler.
const PIN = flags.pin ? pinCpus() : null;
const workDir = mkdtempSync(join(tmpdir(), 'keyward-bench-'));
const profileDir = join(workDir, 'profiles');
log(`mode ${QUICK ? 'quick' : 'full'}; node ${process.version}; ${PIN ? `servers on CPU ${PIN.server}, load generator on CPU ${PIN.load}` : 'not pinned to CPUs'}; work dir ${workDir}`);

// ---------------------------------------------------------------- helpers

const startKeyward = (name: string, storeFile: string) =>
  startKeywardServer(CLI, name, storeFile, flags.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}.cpuprofile`] : [], PIN?.server);

const describe = (r: LoadStats): string =>
  `${fmtInt(r.ok)} ok in ${fmt(r.seconds, 2)} s = ${fmtInt(r.perSecond)}/s, p50 ${fmt(r.p50, 2)} ms, p99 ${fmt(r.p99, 2)} ms` +
  `${r.other || r.errors || r.timeouts ? `, NON-2XX ${r.other} errors ${r.errors} timeouts ${r.timeouts}` : ''}` +
  `, server CPU ${fmt(r.serverCpu * 100, 0)}% (${fmtInt(r.serverUsPerRequest)} µs/req), load-gen CPU ${fmt(r.clientCpu * 100, 0)}%, other processes ${fmt(r.otherCpu * 100, 0)}%${r.stoppedEarly ? ' (time cap hit)' : ''}`;

// ---------------------------------------------------------------- 1. verify

async function benchVerify(): Promise<BenchResults['verify']> {
  log(`verify: bootstrapping a store and starting keyward`);
  const storeFile = join(workDir, 'verify', 'db.json');
  const boot = JSON.parse(await runNode([CLI, 'bootstrap', '--org', 'bench', '--output', 'json'], { KEYWARD_STORE: storeFile })) as {
    organizationId: string;
    secret: string;
  };
  const setup = await startKeyward('keyward-verify-setup', storeFile);
  log(`verify: creating ${PLAN.verifyKeys} viewer keys via POST /v1/keys, checking every one verifies (valid:true) and recording keyward's answers for the baseline`);
  const fixture = await prepareVerify(setup.url, boot.secret, PLAN.verifyKeys);
  await setup.child.stop();
  const { requests, responseBytes } = fixture;
  // A fresh process of each server per round: a process settles at its own CPU per request (JIT and memory-layout luck),
  // so the rounds sample that scatter instead of repeating one draw of it.
  const start = async (server: VerifyRun['server'], round: number): Promise<{ url: string; child: Child }> => {
    const profile = (name: string) => (flags.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}-${round}.cpuprofile`] : []);
    return server === 'keyward'
      ? startKeywardServer(CLI, `keyward-verify-${round}`, storeFile, profile('keyward-verify'), PIN?.server)
      : startBaseline(fixture, boot.organizationId, join(workDir, 'verify', 'baseline.json'), profile('baseline-verify'), PIN?.server);
  };
  const runs: VerifyRun[] = [];
  const plan = { connections: CONNECTIONS, warmupS: PLAN.warmupS, slices: PLAN.slices, sliceS: PLAN.sliceS, requests };
  for (let round = 1; round <= PLAN.rounds; round++) {
    // Alternate who goes first so drift (thermal, noisy neighbours) hits both.
    const order: VerifyRun['server'][] = round % 2 === 1 ? ['keyward', 'baseline'] : ['baseline', 'keyward'];
    // Both processes run for the whole round; the slices alternate between them, and the idle one waits.
    const targets = new Map<VerifyRun['server'], { url: string; child: Child }>();
    try {
      for (const server of order) targets.set(server, await start(server, round));
      const results = await measureInSlices(order, targets, plan, (server) =>
        log(`verify: round ${round}/${PLAN.rounds} ${server}: warm-up ${PLAN.warmupS} s at ${CONNECTIONS} connections`),
      );
      for (const server of order) {
        const { served: _served, ...r } = results.get(server)!;
        log(`verify: round ${round}/${PLAN.rounds} ${server}: ${describe(r)}; slices ${r.slices.map(fmtInt).join(' ')}/s`);
        runs.push({ server, round, ...r });
      }
    } finally {
      for (const target of targets.values()) await target.child.stop();
    }
  }
  return { keys: PLAN.verifyKeys, connections: CONNECTIONS, slices: PLAN.slices, sliceS: PLAN.sliceS, responseBytes, pinning: PIN, runs };
}

// ---------------------------------------------------------------- 2. create

async function benchCreate(): Promise<CreateRow[]> {
  const rows: CreateRow[] = [];
  const body = JSON.stringify({ name: 'bench create', role: 'viewer', environment: 'production', metadata: { team: 'bench' } });
  for (const size of sizes) {
    const label = `${fmtInt(size)} keys`;
    log(`create @ ${label}: seeding the lowdb store`);
    const storeFile = join(workDir, `create-${size}`, 'db.json');
    const t0 = performance.now();
    const seeded = seedStore(storeFile, size - 1); // the admin key counts
    log(`create @ ${label}: seeded ${fmtInt(seeded.keys)} keys, ${fmt(seeded.bytes / 1e6)} MB in ${fmt((performance.now() - t0) / 1000, 1)} s; starting keyward`);
    const t1 = performance.now();
    const { child, url } = await startKeyward(`keyward-create-${size}`, storeFile);
    const startupS = (performance.now() - t1) / 1000;
    const base = {
      url,
      timeout: 120,
      requests: [{ method: 'POST', path: '/v1/keys', headers: { authorization: `Bearer ${seeded.adminSecret}`, 'content-type': 'application/json' }, body }],
    };
    log(`create @ ${label}: keyward up in ${fmt(startupS, 1)} s (RSS ${fmtInt(rssMiB(child.pid))} MiB); warm-up ${PLAN.warmCreates} creates`);
    await load({ ...base, connections: 1, amount: PLAN.warmCreates }, child.pid, 15);

    log(`create @ ${label}: sequential, ${PLAN.seq} creates on 1 connection (cap ${PLAN.seqCapS} s)`);
    const seq = await load({ ...base, connections: 1, amount: PLAN.seq }, child.pid, PLAN.seqCapS);
    log(`create @ ${label}:   sequential: ${describe(seq)}`);

    log(`create @ ${label}: concurrent, ${PLAN.conc} creates on ${CONNECTIONS} connections (cap ${PLAN.concCapS} s)`);
    const conc = await load({ ...base, connections: CONNECTIONS, amount: PLAN.conc }, child.pid, PLAN.concCapS);
    log(`create @ ${label}:   concurrent: ${describe(conc)}`);
    // Verify against this store too: the usage flush (every 5 s) rewrites the whole file.
    const caller = seeded.sample.find((k) => k.roleId === 'verifier')!;
    const verifyRequests = seeded.sample.map((k) => ({
      method: 'POST',
      path: '/v1/verify',
      headers: { authorization: `Bearer ${caller.secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ key: k.secret }),
    }));
    log(`create @ ${label}: verify at ${CONNECTIONS} connections for ${PLAN.sizeVerifyS} s (usage is flushed to the store every 5 s meanwhile)`);
    await load({ url, connections: CONNECTIONS, duration: PLAN.warmupS, requests: verifyRequests }, child.pid);
    const verify = await load({ url, connections: CONNECTIONS, duration: PLAN.sizeVerifyS, timeout: 30, requests: verifyRequests }, child.pid);
    log(`create @ ${label}:   verify: ${describe(verify)}`);
    const rss = rssMiB(child.pid);
    await child.stop();
    for (const r of [seq, conc, verify]) {
      if (r.other > 0 || r.errors > 0) throw new Error(`create @ ${label}: ${r.other} non-2xx answers, ${r.errors} errors; keyward's output:\n${child.output().slice(-4000)}`);
    }
    rows.push({ size, keysAtEnd: seeded.keys + PLAN.warmCreates + seq.ok + conc.ok, fileMB: seeded.bytes / 1e6, startupS, rssMiB: rss, sequential: seq, concurrent: conc, verify });
    if (!flags.keep) rmSync(join(workDir, `create-${size}`), { recursive: true, force: true });
  }
  return rows;
}

// ---------------------------------------------------------------- main

function gitState(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).trim();
    if (!dirty) return head;
    // Pin the exact code measured: a digest of every file under src/.
    const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '--', 'src'], { encoding: 'utf8' }).split('\n').filter(Boolean).sort();
    const digest = createHash('sha256');
    for (const f of files) if (existsSync(f)) digest.update(f).update('\0').update(readFileSync(f)).update('\0');
    return `${head} + uncommitted src/ (${files.length} files, sha256 ${digest.digest('hex').slice(0, 12)})`;
  } catch {
    return 'unknown';
  }
}

const started = performance.now();
const results: BenchResults = {
  machine: machineInfo(),
  mode: QUICK ? 'quick' : 'full',
  git: gitState(),
  command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
  verify: null,
  create: [],
  totalS: 0,
};
try {
  if (flags.only !== 'create') results.verify = await benchVerify();
  if (flags.only !== 'verify') results.create = await benchCreate();
} catch (error) {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
}
results.totalS = (performance.now() - started) / 1000;

const text = renderResults(results);
process.stdout.write(`\n${text}\n`);
const jsonFile = join(workDir, 'results.json');
writeFileSync(jsonFile, JSON.stringify(results, null, 2));
log(`raw results: ${jsonFile}`);
if (flags.profile) log(`CPU profiles: ${profileDir} (summarise with: npx node bench/profile-summary.ts <file>)`);

const out = flags.out ?? (QUICK || flags['no-write'] || flags.only || flags.sizes || flags.keys ? undefined : DOC);
if (out) {
  writeReport(out, text);
  log(`wrote ${out}`);
} else {
  log('not writing docs/benchmarks.md (quick/partial run; pass --out FILE to write one)');
}
if (!flags.keep && !flags.profile) rmSync(join(workDir, 'verify'), { recursive: true, force: true });
log(`done in ${fmt(results.totalS, 0)} s`);
