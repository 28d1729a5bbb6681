/**
 * keyward operator benchmarks (issues 5 and 24). `npx node bench/operator.ts`
 * (full, ~10 min on 2 cores) or `npx node bench/operator.ts --quick` (~4 min).
 *
 * A real control plane (etcd + kube-apiserver + kube-controller-manager on
 * loopback, src/devcluster), the real key service (`keyward serve`, child
 * process, temp lowdb store) and the real operator (`keyward operator`, child
 * process, flags in OPERATOR_FLAGS, kubeconfig with admin credentials):
 *
 *   1. latency: `kubectl apply -f -` of one ApiKey -> Ready=True (its Secret
 *      written), sequentially, p50/p95;
 *   2. scale: N ApiKeys created through the API at once (bounded concurrency)
 *      -> all Ready; then, in the same run, the fleet (10,000) the same way;
 *      for each: time, the API server's own request counts per ApiKey (by
 *      verb and resource), CPU and peak RSS of the operator, the API server
 *      and the key service, and the key service's requests by route;
 *   3. rotation: with all of those still there, one spec.rotation.token bump
 *      under 200 verify requests/s through the OLD key: no failure during the
 *      overlap, the old key fails after it; bump -> new key in the Secret;
 *   4. steady: an hour at the default --resync 10m (6 resyncs) compressed into
 *      6 resyncs at the benchmark's --resync, every ApiKey looked at each
 *      time: the writes (expected none), reads and key-service requests.
 *
 * Results go to docs/benchmarks-operator.md (between the generated-results
 * markers; prose around them is kept) and results.json in the temp work dir.
 *
 * Flags: --quick, --no-write, --out FILE, --profile (operator and key service
 *        run with --cpu-prof), --keys N, --fleet N (0: skip), --applies N,
 *        --overlap SECONDS, --resyncs N, --keep, --operator-node-options=
 *        "--max-old-space-size=256 …" (Node flags for the operator process, as
 *        a Deployment would set in NODE_OPTIONS; default POD_HEAP, the heap of
 *        a pod under the manifests' 512 Mi; empty for Node's own sizing;
 *        recorded in the report).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubernetesListObject } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { startControlPlane, type ControlPlane } from '../src/devcluster/controlplane.ts';
import { pooled } from '../src/operator/kubeconfig.ts';
import type { ApiKeyResource } from '../src/operator/types.ts';
import { apiServerRequests, requestsBetween, type RequestCounts } from '../test/support/operator.ts';
import { api } from './load.ts';
import { findPids, memory, metric, ReadyTracker, RssSampler, scrape, steadyLoad, type Metrics, type Sample } from './operator-load.ts';
import { renderOperatorResults, writeOperatorReport, type OperatorBenchResults } from './operator-report.ts';
import { parseDuration as parseDurationMs } from '../src/core/duration.ts';
import { cpuSeconds, fmt, fmtInt, freePort, HOST, log, machineInfo, machineTicks, pool, requirePinnedNode, runNode, Samples, startNode, waitReady, type Child } from './util.ts';

const CLI = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const DOC = fileURLToPath(new URL('../docs/benchmarks-operator.md', import.meta.url));
const GROUP = 'keyward.dev';
const VERSION = 'v1alpha1';
const PLURAL = 'apikeys';

/**
 * The heap the operator gets in its pod: deploy/ and the chart limit it to 512 Mi and Node sizes its heap from
 * that limit (259 MiB measured, docs/benchmarks-operator.md, Notes). The benchmark's operator runs outside any
 * limit, where Node would size it from this machine's memory (4 GiB on 24 GiB) and RSS would follow.
 */
const POD_HEAP = ['--max-old-space-size=256', '--max-semi-space-size=16'];

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    out: { type: 'string' },
    profile: { type: 'boolean', default: false },
    keys: { type: 'string' },
    fleet: { type: 'string' },
    resyncs: { type: 'string' },
    applies: { type: 'string' },
    overlap: { type: 'string' },
    keep: { type: 'boolean', default: false },
    'operator-node-options': { type: 'string', default: POD_HEAP.join(' ') },
  },
});

requirePinnedNode('npx node bench/operator.ts');

const QUICK = flags.quick;
const PLAN = {
  warmApplies: QUICK ? 2 : 3,
  applies: Number(flags.applies ?? (QUICK ? 15 : 50)),
  keys: Number(flags.keys ?? (QUICK ? 200 : 1_000)),
  fleet: Number(flags.fleet ?? (QUICK ? 1_000 : 10_000)),
  createConcurrency: 32,
  scaleDeadlineS: QUICK ? 180 : 600,
  resyncs: Number(flags.resyncs ?? (QUICK ? 2 : 6)),
  rate: 200,
  overlapS: Number(flags.overlap ?? (QUICK ? 10 : 20)),
  loadBeforeBumpS: QUICK ? 3 : 5,
  loadAfterExpiryS: QUICK ? 4 : 6,
  totalLimitS: QUICK ? 15 * 60 : 40 * 60,
};
const TARGETS = { applyP50Ms: 500, scaleSeconds: 60, fleetSeconds: 120, writesPerKey: 3, operatorRssMiB: 512 };
/**
 * The operator as the benchmark runs it. Resync every 30 s: the steady phase's
 * six resyncs stand for an hour at the default 10m. Budgets above the defaults
 * (50 requests/s toward each): a fleet created at once on a machine this size.
 */
const RESYNC = '30s';
const OPERATOR_FLAGS = ['--resync', RESYNC, '--workers', '16', '--kube-api-qps', '1000', '--kube-api-burst', '1000', '--key-service-qps', '1000', '--key-service-burst', '1000'];
/** Node's own flags for the operator process (default POD_HEAP; `--operator-node-options=` for none: Node sizes its heap from this machine's memory). */
const OPERATOR_NODE_OPTIONS = flags['operator-node-options'].split(' ').filter(Boolean);
/** What the API server counts for the operator's resources. */
const RESOURCES = ['apikeys', 'apikeys/status', 'secrets', 'events'];

const workDir = mkdtempSync(join(tmpdir(), 'keyward-bench-operator-'));
const profileDir = join(workDir, 'profiles');
const startedAt = Date.now();
const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
log(`operator bench, mode ${QUICK ? 'quick' : 'full'}; node ${process.version}; work dir ${workDir}`);
log(
  `plan: ${PLAN.applies} sequential applies (+${PLAN.warmApplies} warm-up), ${PLAN.keys} then ${PLAN.fleet} ApiKeys at once, rotation with ${PLAN.overlapS} s overlap under ${PLAN.rate} verify/s, ${PLAN.resyncs} steady resyncs`,
);

// Everything is bounded: past this, exit (exit hooks kill the children and the control plane).
const hardLimit = setTimeout(() => {
  log(`time limit of ${PLAN.totalLimitS} s reached; giving up`);
  process.exit(2);
}, PLAN.totalLimitS * 1000);
hardLimit.unref();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

// ---------------------------------------------------------------- helpers

const profileArgs = (name: string): string[] => (flags.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}.cpuprofile`] : []);

function percentiles(values: number[], ...ps: number[]): number[] {
  const s = new Samples();
  for (const v of values) s.add(v);
  return s.percentiles(...ps);
}

/** Counts the operator's warn/error log lines by message (its stdout is JSON lines). */
function watchLogs(child: Child): Map<string, number> {
  const counts = new Map<string, number>();
  let partial = '';
  child.process.stdout!.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.includes('"level":"warn"') && !line.includes('"level":"error"')) continue;
      try {
        const entry = JSON.parse(line) as { level: string; msg: string };
        const key = `${entry.level}: ${entry.msg}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      } catch {
        // not JSON
      }
    }
  });
  return counts;
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

// ---------------------------------------------------------------- main

let cp: ControlPlane | undefined;
const children: Child[] = [];

async function main(): Promise<OperatorBenchResults> {
  const machine = machineInfo();
  let git = 'unknown';
  try {
    git = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    if (execFileSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).trim()) git += ' (src/ modified)';
  } catch {
    // not a checkout
  }

  // -------- setup
  let t = now();
  log('starting the control plane (etcd, kube-apiserver, kube-controller-manager)');
  cp = await startControlPlane({ log: (line) => log(`  control plane: ${line}`) });
  const controlPlaneMs = now() - t;
  // One connection pool, as the operator has (client-node builds a new TLS connection per request otherwise).
  const kc = pooled(cp.kubeConfig);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);

  t = now();
  const storeFile = join(workDir, 'keyward', 'db.json');
  log('key service: keyward bootstrap --org bench, then keyward serve');
  const boot = JSON.parse(await runNode([CLI, 'bootstrap', '--org', 'bench', '--output', 'json'], { KEYWARD_STORE: storeFile })) as { secret: string };
  const servicePort = await freePort();
  const service = startNode('keyward-serve', [...profileArgs('keyward-serve'), CLI, 'serve'], {
    KEYWARD_PORT: String(servicePort),
    KEYWARD_HOST: HOST,
    KEYWARD_STORE: storeFile,
    KEYWARD_LOG_LEVEL: 'warn',
  });
  children.push(service);
  const serviceUrl = `http://${HOST}:${servicePort}`;
  await waitReady(service, `${serviceUrl}/healthz`, 120_000);
  const keyServiceStartMs = now() - t;
  const operatorKey = await api(serviceUrl, boot.secret, 'POST', '/v1/keys', { name: 'keyward operator (bench)', role: 'key-manager' });
  if (operatorKey.status !== 201) throw new Error(`creating the operator key failed: ${JSON.stringify(operatorKey.json)}`);
  const verifierKey = await api(serviceUrl, boot.secret, 'POST', '/v1/keys', { name: 'bench verifier', role: 'verifier' });
  if (verifierKey.status !== 201) throw new Error(`creating the verifier key failed: ${JSON.stringify(verifierKey.json)}`);
  const verifier = verifierKey.json.secret as string;
  const verify = async (secret: string | undefined) => (secret ? (await api(serviceUrl, verifier, 'POST', '/v1/verify', { key: secret })).json : { valid: false, code: 'NO_SECRET' });

  t = now();
  const metricsPort = await freePort();
  const metricsUrl = `http://${HOST}:${metricsPort}`;
  log(`operator: keyward operator ${OPERATOR_FLAGS.join(' ')} (own process${OPERATOR_NODE_OPTIONS.length ? `, node ${OPERATOR_NODE_OPTIONS.join(' ')}` : ''})`);
  const operator = startNode(
    'keyward-operator',
    [...OPERATOR_NODE_OPTIONS, ...profileArgs('keyward-operator'), CLI, 'operator', '--metrics-bind-address', `${HOST}:${metricsPort}`, ...OPERATOR_FLAGS],
    { KUBECONFIG: cp.kubeconfigPath, KEYWARD_URL: serviceUrl, KEYWARD_API_KEY: operatorKey.json.secret as string },
  );
  children.push(operator);
  const operatorLogs = watchLogs(operator);
  await waitReady(operator, `${metricsUrl}/readyz`, 60_000);
  const operatorReadyMs = now() - t;
  log(`set up: control plane ${fmt(controlPlaneMs / 1000)} s, key service ${fmt(keyServiceStartMs / 1000)} s, operator ready ${fmt(operatorReadyMs / 1000)} s`);

  const apiserverPid = findPids('kube-apiserver', cp.dir)[0];
  const etcdPid = findPids('etcd', cp.dir)[0];
  const sampler = new RssSampler({ operator: operator.pid, keyService: service.pid, apiserver: apiserverPid, etcd: etcdPid });
  const operatorRssIdle = memory(operator.pid).rss;

  const namespace = async (name: string) => {
    await core.createNamespace({ body: { metadata: { name } } });
  };
  const tracker = async (ns: string) => {
    const tr = new ReadyTracker(kc, ns, async () => (await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL })) as KubernetesListObject<ApiKeyResource>);
    await tr.start();
    return tr;
  };
  const secretValue = async (ns: string, name: string, key: string): Promise<string | undefined> => {
    try {
      const s = await core.readNamespacedSecret({ namespace: ns, name });
      const raw = s.data?.[key];
      return raw === undefined ? undefined : Buffer.from(raw, 'base64').toString('utf8');
    } catch {
      return undefined;
    }
  };
  const manifest = (ns: string, name: string, spec: Record<string, unknown>) => ({ apiVersion: `${GROUP}/${VERSION}`, kind: 'ApiKey', metadata: { name, namespace: ns }, spec });
  const ours = () => {
    const self = process.cpuUsage();
    const pids: (number | undefined)[] = [operator.pid, service.pid, apiserverPid, etcdPid];
    return pids.reduce<number>((sum, pid) => sum + (pid ? cpuSeconds(pid) || 0 : 0), 0) + (self.user + self.system) / 1e6;
  };
  const phaseCounters = async () => ({
    m: await scrape(metricsUrl),
    cpuOperator: cpuSeconds(operator.pid),
    cpuService: cpuSeconds(service.pid),
    cpuApiserver: apiserverPid ? cpuSeconds(apiserverPid) : Number.NaN,
    cpuOurs: ours(),
    machine: machineTicks(),
    at: now(),
  });
  type Counters = Awaited<ReturnType<typeof phaseCounters>>;
  /** Machine CPU over a phase, in cores: all busy, and busy outside this benchmark's processes (other jobs on a shared machine). */
  const machineLoad = (a: Counters, b: Counters) => {
    const wall = (b.at - a.at) / 1000;
    const busy = (b.machine.busy - a.machine.busy) / wall;
    return { busyCores: busy, otherCores: Math.max(0, busy - (b.cpuOurs - a.cpuOurs) / wall), load1: loadavg()[0]! };
  };
  const reconcileDelta = (a: Metrics, b: Metrics) => {
    const d = (name: string, ...labels: string[]) => metric(b, name, ...labels) - (metric(a, name, ...labels) || 0);
    return {
      total: d('controller_runtime_reconcile_total'),
      success: d('controller_runtime_reconcile_total', 'result="success"'),
      requeueAfter: d('controller_runtime_reconcile_total', 'result="requeue_after"'),
      requeue: d('controller_runtime_reconcile_total', 'result="requeue"'),
      error: d('controller_runtime_reconcile_total', 'result="error"'),
      meanMs: (d('controller_runtime_reconcile_time_seconds_sum') / d('controller_runtime_reconcile_time_seconds_count')) * 1000,
      issued: d('keyward_operator_keys_issued_total'),
    };
  };

  // -------- 1. apply -> Ready latency
  log(`1/4 latency: ${PLAN.warmApplies} warm-up + ${PLAN.applies} sequential \`kubectl apply -f -\` of one ApiKey, each until Ready=True`);
  const nsLatency = 'bench-latency';
  await namespace(nsLatency);
  const tr1 = await tracker(nsLatency);
  const before1 = await phaseCounters();
  const rows: { total: number; kubectl: number; apiToReady: number }[] = [];
  let mismatched = 0;
  for (let i = 0; i < PLAN.warmApplies + PLAN.applies; i++) {
    const name = `latency-${String(i).padStart(3, '0')}`;
    const yaml = stringify(manifest(nsLatency, name, { role: 'viewer', environment: 'production' }));
    const t0 = now();
    await cp.kubectl(['apply', '-f', '-'], { input: yaml, timeoutMs: 30_000 });
    const tApplied = now();
    await tr1.waitReady(name, 30_000);
    const tReady = tr1.readyAt.get(name)!;
    const tAdded = Math.min(tr1.addedAt.get(name)!, tApplied);
    if (i >= PLAN.warmApplies) rows.push({ total: tReady - t0, kubectl: tApplied - t0, apiToReady: tReady - tAdded });
    const keyId = tr1.latest.get(name)?.status?.keyId;
    if ((await secretValue(nsLatency, name, 'API_KEY_ID')) !== keyId) mismatched++;
    if ((i + 1 - PLAN.warmApplies) % 10 === 0 && i >= PLAN.warmApplies) {
      const [p50] = percentiles(rows.map((r) => r.total), 50);
      log(`  ${rows.length}/${PLAN.applies} applied and Ready; p50 so far ${fmtInt(p50!)} ms`);
    }
  }
  let verified1 = 0;
  for (let i = 0; i < PLAN.warmApplies + PLAN.applies; i++) {
    if ((await verify(await secretValue(nsLatency, `latency-${String(i).padStart(3, '0')}`, 'API_KEY'))).valid === true) verified1++;
  }
  tr1.stop();
  const after1 = await phaseCounters();
  const [tp50, tp95, tmax] = percentiles(rows.map((r) => r.total), 50, 95, 100);
  const [kp50, kp95] = percentiles(rows.map((r) => r.kubectl), 50, 95);
  const [ap50, ap95, amax] = percentiles(rows.map((r) => r.apiToReady), 50, 95, 100);
  const latency = {
    n: rows.length,
    warm: PLAN.warmApplies,
    p50: tp50!,
    p95: tp95!,
    max: tmax!,
    mean: rows.reduce((s, r) => s + r.total, 0) / rows.length,
    kubectlP50: kp50!,
    kubectlP95: kp95!,
    apiToReadyP50: ap50!,
    apiToReadyP95: ap95!,
    apiToReadyMax: amax!,
    verified: verified1,
    total: PLAN.warmApplies + PLAN.applies,
    secretMismatches: mismatched,
    reconciles: reconcileDelta(before1.m, after1.m),
    machine: machineLoad(before1, after1),
  };
  log(`  apply -> Ready: p50 ${fmtInt(latency.p50)} ms, p95 ${fmtInt(latency.p95)} ms (kubectl itself p50 ${fmtInt(latency.kubectlP50)} ms; API create -> Ready p50 ${fmtInt(latency.apiToReadyP50)} ms); ${verified1}/${latency.total} Secrets verify`);

  /** The key service's own count of requests, by "METHOD route". */
  const keyServiceRequests = async (): Promise<Map<string, number>> => {
    const counts = new Map<string, number>();
    const text = await (await fetch(`${serviceUrl}/metrics`, { headers: { authorization: `Bearer ${boot.secret}` } })).text();
    for (const [, method, route, n] of text.matchAll(/^keyward_http_requests_total\{method="(\w+)",route="([^"]+)",status="\d+"\} (\d+)$/gm)) {
      counts.set(`${method} ${route}`, (counts.get(`${method} ${route}`) ?? 0) + Number(n));
    }
    return counts;
  };
  const countsBetween = (a: Map<string, number>, b: Map<string, number>): Record<string, number> =>
    Object.fromEntries([...b].map(([key, n]) => [key, n - (a.get(key) ?? 0)] as const).filter(([, n]) => n > 0));
  /** The operator's own count of its requests to the API server (keyward_operator_kube_requests_total), by "VERB resource". */
  const operatorRequests = (m: Metrics): RequestCounts => {
    const counts: RequestCounts = new Map();
    for (const [key, n] of m) {
      const match = /^keyward_operator_kube_requests_total\{verb="(\w+)",resource="([^"]+)",code="[^"]+"\}$/.exec(key);
      if (match) counts.set(`${match[1]} ${match[2]}`, (counts.get(`${match[1]} ${match[2]}`) ?? 0) + n);
    }
    return counts;
  };

  /** N ApiKeys created through the API at once in a fresh namespace -> all Ready, with what it cost whom. */
  async function scalePhase(label: string, n: number, nsScale: string) {
    log(`${label}: ${fmtInt(n)} ApiKeys created through the API (${PLAN.createConcurrency} at a time) -> all Ready`);
    await namespace(nsScale);
    const tr2 = await tracker(nsScale);
    const before2 = await phaseCounters();
    const requestsBefore = await apiServerRequests(cp!);
    const serviceBefore = await keyServiceRequests();
    sampler.reset();
    const operatorRssBefore = memory(operator.pid).rss;
    const names = Array.from({ length: n }, (_, i) => `scale-${String(i).padStart(5, '0')}`);
    const t2 = now();
    let created = 0;
    let createErrors = 0;
    let last: Metrics = new Map();
    const progress = setInterval(() => {
      void scrape(metricsUrl).then((m) => (last = m));
      const heap = (name: string) => fmtInt(metric(last, `keyward_operator_nodejs_heap_size_${name}_bytes`) / 2 ** 20);
      log(
        `  ${fmt((now() - t2) / 1000)} s: created ${fmtInt(created)}/${fmtInt(n)}, Ready ${fmtInt(tr2.readyAt.size)}/${fmtInt(n)}, queue depth ${fmtInt(metric(last, 'workqueue_depth'))}, ` +
          `operator RSS ${fmtInt(memory(operator.pid).rss)} MiB (heap ${heap('used')} of ${heap('total')}), key service RSS ${fmtInt(memory(service.pid).rss)} MiB, load ${fmt(loadavg()[0]!)}`,
      );
    }, 5_000);
    await pool(names, PLAN.createConcurrency, async (name) => {
      for (let attempt = 0; ; attempt++) {
        try {
          await custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: nsScale, plural: PLURAL, body: manifest(nsScale, name, { role: 'viewer', environment: 'production' }) });
          created++;
          return;
        } catch (error) {
          createErrors++;
          if (attempt >= 3) throw error;
          await sleep(200);
        }
      }
    });
    const createSeconds = (now() - t2) / 1000;
    const deadline = t2 + PLAN.scaleDeadlineS * 1000;
    while (tr2.readyAt.size < n && now() < deadline) await sleep(50);
    clearInterval(progress);
    const allReady = tr2.readyAt.size === n;
    const lastReady = Math.max(...tr2.readyAt.values());
    const allReadySeconds = allReady ? (lastReady - t2) / 1000 : null;
    sampler.sample();
    const after2 = await phaseCounters();
    const requestsAfter = await apiServerRequests(cp!);
    const serviceAfter = await keyServiceRequests();
    const perObject = [...tr2.readyAt].map(([name, at]) => at - tr2.addedAt.get(name)!);
    const [o50, o95, omax] = percentiles(perObject, 50, 95, 100);
    const readyAtSeconds = [...tr2.readyAt.values()].map((at) => (at - t2) / 1000).sort((a, b) => a - b);
    const quantileReady = (q: number) => readyAtSeconds[Math.min(readyAtSeconds.length - 1, Math.ceil(q * n) - 1)] ?? Number.NaN;
    log(`  ${allReady ? 'all' : `ONLY ${fmtInt(tr2.readyAt.size)} of`} ${fmtInt(n)} Ready after ${fmt((lastReady - t2) / 1000)} s (creates took ${fmt(createSeconds)} s)`);
    // No duplicates: the key service holds exactly one active key per ApiKey, and there is one Secret each.
    let activeForScale = 0;
    for (let cursor: string | null = null, first = true; first || cursor; first = false) {
      const page: { status: number; json: any } = await api(serviceUrl, boot.secret, 'GET', `/v1/keys?status=active&limit=500${cursor ? `&cursor=${cursor}` : ''}`);
      activeForScale += (page.json.items as { metadata?: Record<string, string> }[]).filter((k) => k.metadata?.['k8s/namespace'] === nsScale).length;
      cursor = page.json.nextCursor as string | null;
    }
    const secrets = (await core.listNamespacedSecret({ namespace: nsScale, labelSelector: 'app.kubernetes.io/managed-by=keyward' })).items.length;
    let sampleVerified = 0;
    const sampleNames = names.filter((_, i) => i % Math.max(1, Math.floor(n / 20)) === 0);
    for (const name of sampleNames) if ((await verify(await secretValue(nsScale, name, 'API_KEY'))).valid === true) sampleVerified++;
    tr2.stop();
    const wall2 = (after2.at - before2.at) / 1000;
    const served = requestsBetween(requestsBefore, requestsAfter, RESOURCES);
    const byOperator = requestsBetween(operatorRequests(before2.m), operatorRequests(after2.m), RESOURCES);
    const objectWrites = Object.entries(byOperator).filter(([key]) => !key.endsWith(' events') && !key.startsWith('GET ')).reduce((sum, [, count]) => sum + count, 0);
    const result = {
      n,
      concurrency: PLAN.createConcurrency,
      createSeconds,
      createErrors,
      allReady,
      readyCount: tr2.readyAt.size,
      allReadySeconds,
      lastReadySeconds: (lastReady - t2) / 1000,
      halfReadySeconds: quantileReady(0.5),
      p90ReadySeconds: quantileReady(0.9),
      perSecond: tr2.readyAt.size / ((lastReady - t2) / 1000),
      objectP50Ms: o50!,
      objectP95Ms: o95!,
      objectMaxMs: omax!,
      operatorRssIdle,
      operatorRssBefore,
      operatorPeakRss: sampler.peak.get('operator') ?? Number.NaN,
      operatorHwm: memory(operator.pid).hwm,
      keyServicePeakRss: sampler.peak.get('keyService') ?? Number.NaN,
      keyServiceHwm: memory(service.pid).hwm,
      apiserverPeakRss: sampler.peak.get('apiserver') ?? Number.NaN,
      etcdPeakRss: sampler.peak.get('etcd') ?? Number.NaN,
      operatorCpu: (after2.cpuOperator - before2.cpuOperator) / wall2,
      keyServiceCpu: (after2.cpuService - before2.cpuService) / wall2,
      apiserverCpu: (after2.cpuApiserver - before2.cpuApiserver) / wall2,
      operatorCpuMsPerKey: ((after2.cpuOperator - before2.cpuOperator) * 1000) / n,
      activeKeys: activeForScale,
      secrets,
      sampleVerified,
      sampleSize: sampleNames.length,
      /** The API server's count (everyone: the benchmark's creates and watch, the operator, the controller manager). */
      requests: served,
      /** The operator's own count of its requests. */
      operatorRequests: byOperator,
      /** Writes to ApiKeys and Secrets by the operator, per ApiKey (Events apart). */
      objectWritesPerKey: objectWrites / n,
      eventsPerKey: (byOperator['POST events'] ?? 0) / n,
      keyServiceRequests: countsBetween(serviceBefore, serviceAfter),
      cache: { apiKeyBytes: metric(after2.m, 'keyward_operator_cache_bytes', 'kind="ApiKey"'), secretBytes: metric(after2.m, 'keyward_operator_cache_bytes', 'kind="Secret"') },
      reconciles: reconcileDelta(before2.m, after2.m),
      machine: machineLoad(before2, after2),
    };
    log(
      `  operator peak RSS ${fmtInt(result.operatorPeakRss)} MiB (VmHWM ${fmtInt(result.operatorHwm)}), key service ${fmtInt(result.keyServicePeakRss)} MiB, kube-apiserver ${fmtInt(result.apiserverPeakRss)} MiB; ` +
        `${fmtInt(activeForScale)} active keys and ${fmtInt(secrets)} Secrets for ${fmtInt(n)} ApiKeys; ${sampleVerified}/${sampleNames.length} sampled Secrets verify`,
    );
    log(`  API server requests: ${JSON.stringify(served)}; operator's writes to ApiKeys and Secrets per ApiKey ${fmt(result.objectWritesPerKey, 2)}, Events ${fmt(result.eventsPerKey, 2)}`);
    return result;
  }

  // -------- 2. N at once, then the fleet
  const scale = await scalePhase('2/4 scale', PLAN.keys, 'bench-scale');
  const fleet = PLAN.fleet > 0 ? await scalePhase('2/4 fleet', PLAN.fleet, 'bench-fleet') : null;
  const present = PLAN.keys + PLAN.fleet;

  // -------- 3. rotation under load
  log(`3/4 rotation: token bump (overlap ${PLAN.overlapS} s) under ${PLAN.rate} verify/s through the old key, with ${fmtInt(present)} other ApiKeys present`);
  const nsRotate = 'bench-rotate';
  const rotName = 'rotate-me';
  await namespace(nsRotate);
  const tr3 = await tracker(nsRotate);
  await custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: nsRotate,
    plural: PLURAL,
    body: manifest(nsRotate, rotName, { role: 'viewer', rotation: { token: 't-1', overlap: `${PLAN.overlapS}s` }, secret: { keys: { previous: 'API_KEY_PREVIOUS' } } }),
  });
  const tRotCreate = now();
  await tr3.waitReady(rotName, 240_000);
  const newApiKeyReadyMs = tr3.readyAt.get(rotName)! - tRotCreate;
  log(`  a new ApiKey created now is Ready after ${fmtInt(newApiKeyReadyMs)} ms`);
  tr3.stop();
  const oldSecret = (await secretValue(nsRotate, rotName, 'API_KEY'))!;
  const oldKeyId = (await secretValue(nsRotate, rotName, 'API_KEY_ID'))!;
  const pre = await verify(oldSecret);
  if (pre.valid !== true) throw new Error(`the old key does not verify before the bump: ${JSON.stringify(pre)}`);
  const before3 = await phaseCounters();
  sampler.reset();
  const load = steadyLoad({ url: serviceUrl, path: '/v1/verify', headers: { authorization: `Bearer ${verifier}` }, body: JSON.stringify({ key: oldSecret }), rate: PLAN.rate });
  const loadProgress = setInterval(() => {
    const s = load.samples;
    const done = s.filter((x) => x.doneAt > 0);
    const ok = done.filter((x) => x.status === 200 && x.valid === true).length;
    log(`  load: ${s.length} sent, ${ok} valid, ${done.length - ok} not valid, ${load.inFlight} in flight`);
  }, 2_000);
  await sleep(PLAN.loadBeforeBumpS * 1000);

  const tBumpSent = now();
  await custom.patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: nsRotate, plural: PLURAL, name: rotName, body: { spec: { rotation: { token: 't-2' } } } }, mergePatch);
  const tBump = now();
  log(`  bumped spec.rotation.token t-1 -> t-2 (API merge patch, ${fmtInt(tBump - tBumpSent)} ms)`);
  let tSecret = Number.NaN;
  let newKeyId: string | undefined;
  for (const limit = now() + 180_000; now() < limit; await sleep(20)) {
    const id = await secretValue(nsRotate, rotName, 'API_KEY_ID');
    if (id && id !== oldKeyId) {
      tSecret = now();
      newKeyId = id;
      break;
    }
  }
  if (!newKeyId) throw new Error('the Secret never got the new key after the token bump');
  const newSecret = await secretValue(nsRotate, rotName, 'API_KEY');
  const previousInSecret = await secretValue(nsRotate, rotName, 'API_KEY_PREVIOUS');
  const newVerifies = (await verify(newSecret)).valid === true;
  const oldView = await api(serviceUrl, boot.secret, 'GET', `/v1/keys/${oldKeyId}`);
  const expiresAt = Date.parse(oldView.json.expiresAt as string);
  log(`  Secret holds new key ${newKeyId} ${fmtInt(tSecret - tBump)} ms after the bump (verifies: ${newVerifies}); old key ${oldKeyId} expires ${fmt((expiresAt - tBump) / 1000)} s after the bump`);
  // Ready again (reason Rotated) and, after the overlap, the previous secret gone from the Secret.
  let loadStopped = false;
  async function stopLoad(): Promise<void> {
    if (loadStopped) return;
    loadStopped = true;
    clearInterval(loadProgress);
    await load.stop();
  }
  let tReadyRotated = Number.NaN;
  let tPreviousRemoved = Number.NaN;
  const stopLoadAt = expiresAt + PLAN.loadAfterExpiryS * 1000;
  while (now() < stopLoadAt + 8_000 && (Number.isNaN(tReadyRotated) || Number.isNaN(tPreviousRemoved))) {
    if (Number.isNaN(tReadyRotated)) {
      const o = (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: nsRotate, plural: PLURAL, name: rotName })) as ApiKeyResource;
      if (o.status?.keyId === newKeyId && !o.status.pending && o.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) tReadyRotated = now();
    }
    if (Number.isNaN(tPreviousRemoved) && now() > expiresAt && (await secretValue(nsRotate, rotName, 'API_KEY_PREVIOUS')) === undefined) tPreviousRemoved = now();
    if (now() >= stopLoadAt && load.samples.length > 0) await stopLoad();
    await sleep(Number.isNaN(tReadyRotated) ? 20 : 100);
  }
  while (now() < stopLoadAt) await sleep(50);
  await stopLoad();
  const after3 = await phaseCounters();

  const ok = (s: Sample) => s.status === 200 && s.valid === true;
  const beforeBump = load.samples.filter((s) => s.sentAt < tBumpSent);
  const overlap = load.samples.filter((s) => s.sentAt >= tBumpSent && s.doneAt < expiresAt);
  const boundary = load.samples.filter((s) => s.sentAt < expiresAt && s.doneAt >= expiresAt);
  const afterExpiry = load.samples.filter((s) => s.sentAt >= expiresAt);
  const expiredCode = afterExpiry.filter((s) => s.status === 200 && s.valid === false && s.code === 'KEY_EXPIRED').length;
  const codes = (list: Sample[]) => {
    const m = new Map<string, number>();
    for (const s of list.filter((x) => !ok(x))) m.set(`${s.status} ${s.code ?? ''}`.trim(), (m.get(`${s.status} ${s.code ?? ''}`.trim()) ?? 0) + 1);
    return Object.fromEntries(m);
  };
  const firstFailure = load.samples.filter((s) => !ok(s)).sort((a, b) => a.sentAt - b.sentAt)[0];
  const lastValid = load.samples.filter(ok).sort((a, b) => b.doneAt - a.doneAt)[0];
  const beforeExpiry = load.samples.filter((s) => s.doneAt < expiresAt && s.doneAt > 0);
  const [l50, l99, lmax] = percentiles(beforeExpiry.map((s) => s.doneAt - s.sentAt), 50, 99, 100);
  const loadSeconds = (load.samples.at(-1)!.sentAt - load.samples[0]!.sentAt) / 1000;
  const rotation = {
    rate: PLAN.rate,
    achievedRate: load.samples.length / loadSeconds,
    overlapS: PLAN.overlapS,
    sent: load.samples.length,
    dropped: load.dropped,
    beforeBump: { n: beforeBump.length, failed: beforeBump.filter((s) => !ok(s)).length, codes: codes(beforeBump) },
    overlap: { n: overlap.length, failed: overlap.filter((s) => !ok(s)).length, codes: codes(overlap) },
    boundary: { n: boundary.length, valid: boundary.filter(ok).length },
    afterExpiry: { n: afterExpiry.length, valid: afterExpiry.filter(ok).length, expired: expiredCode, codes: codes(afterExpiry) },
    firstFailureAfterExpiryMs: firstFailure ? firstFailure.sentAt - expiresAt : Number.NaN,
    lastValidBeforeExpiryMs: lastValid ? lastValid.doneAt - expiresAt : Number.NaN,
    latencyP50: l50!,
    latencyP99: l99!,
    latencyMax: lmax!,
    patchMs: tBump - tBumpSent,
    newApiKeyReadyMs,
    bumpToSecretMs: tSecret - tBump,
    bumpToReadyMs: tReadyRotated - tBump,
    expiresAfterBumpS: (expiresAt - tBump) / 1000,
    previousInSecret: previousInSecret === oldSecret,
    newVerifies,
    newVerifiesAtEnd: (await verify(newSecret)).valid === true,
    oldAtEnd: (await verify(oldSecret)).code as string,
    previousRemovedAfterExpiryMs: tPreviousRemoved - expiresAt,
    operatorPeakRss: sampler.peak.get('operator') ?? Number.NaN,
    keyServicePeakRss: sampler.peak.get('keyService') ?? Number.NaN,
    keyServiceCpu: (after3.cpuService - before3.cpuService) / ((after3.at - before3.at) / 1000),
    operatorCpu: (after3.cpuOperator - before3.cpuOperator) / ((after3.at - before3.at) / 1000),
    reconciles: reconcileDelta(before3.m, after3.m),
    machine: machineLoad(before3, after3),
  };
  log(
    `  ${rotation.sent} verify requests (${fmt(rotation.achievedRate, 0)}/s): before the bump ${rotation.beforeBump.failed}/${rotation.beforeBump.n} failed, ` +
      `during the overlap ${rotation.overlap.failed}/${rotation.overlap.n} failed, after it ${rotation.afterExpiry.expired}/${rotation.afterExpiry.n} KEY_EXPIRED ` +
      `(${rotation.afterExpiry.valid} still valid); verify p50 ${fmt(rotation.latencyP50, 2)} ms, p99 ${fmt(rotation.latencyP99, 2)} ms`,
  );
  log(`  bump -> Secret ${fmtInt(rotation.bumpToSecretMs)} ms, -> Ready again ${fmtInt(rotation.bumpToReadyMs)} ms; previous secret removed from the Secret ${fmtInt(rotation.previousRemovedAfterExpiryMs)} ms after expiry`);

  // -------- 4. steady: an hour compressed
  const apiKeyCount = PLAN.warmApplies + PLAN.applies + present + 1;
  log(`4/4 steady: ${PLAN.resyncs} resyncs at --resync ${RESYNC} (an hour at the default 10m: 6) with ${fmtInt(apiKeyCount)} ApiKeys and nothing changing`);
  const depth = async () => metric(await scrape(metricsUrl), 'workqueue_depth');
  for (const limit = now() + 120_000; now() < limit && (await depth()) !== 0; ) await sleep(200);
  const before4 = await phaseCounters();
  const requestsBefore4 = await apiServerRequests(cp);
  const serviceBefore4 = await keyServiceRequests();
  sampler.reset();
  const resyncsAt = (m: Metrics) => metric(m, 'keyward_operator_resyncs_total');
  let m4 = before4.m;
  const steadyDeadline = now() + (PLAN.resyncs + 2) * parseDurationMs(RESYNC) + 120_000;
  // Each resync looks at every ApiKey: done when that many resyncs began and their reconciles are all through.
  while (now() < steadyDeadline) {
    await sleep(1_000);
    m4 = await scrape(metricsUrl);
    const passes = resyncsAt(m4) - resyncsAt(before4.m);
    const reconciled = metric(m4, 'controller_runtime_reconcile_total') - metric(before4.m, 'controller_runtime_reconcile_total');
    if (passes >= PLAN.resyncs && reconciled >= PLAN.resyncs * apiKeyCount && metric(m4, 'workqueue_depth') === 0) break;
  }
  sampler.sample();
  const after4 = await phaseCounters();
  const served4 = requestsBetween(requestsBefore4, await apiServerRequests(cp), RESOURCES);
  const sum = (counts: Record<string, number>, verbs: string[]) => Object.entries(counts).reduce((total, [key, count]) => (verbs.includes(key.split(' ')[0]!) ? total + count : total), 0);
  const wall4 = (after4.at - before4.at) / 1000;
  const steady = {
    apiKeys: apiKeyCount,
    resyncs: resyncsAt(after4.m) - resyncsAt(before4.m),
    seconds: wall4,
    requests: served4,
    writes: sum(served4, ['POST', 'PUT', 'PATCH', 'APPLY', 'DELETE']),
    reads: sum(served4, ['GET', 'LIST']),
    watches: sum(served4, ['WATCH']),
    operatorRequests: requestsBetween(operatorRequests(before4.m), operatorRequests(after4.m), RESOURCES),
    keyServiceRequests: countsBetween(serviceBefore4, await keyServiceRequests()),
    operatorCpu: (after4.cpuOperator - before4.cpuOperator) / wall4,
    apiserverCpu: (after4.cpuApiserver - before4.cpuApiserver) / wall4,
    keyServiceCpu: (after4.cpuService - before4.cpuService) / wall4,
    operatorPeakRss: sampler.peak.get('operator') ?? Number.NaN,
    apiserverPeakRss: sampler.peak.get('apiserver') ?? Number.NaN,
    cache: { apiKeyBytes: metric(after4.m, 'keyward_operator_cache_bytes', 'kind="ApiKey"'), secretBytes: metric(after4.m, 'keyward_operator_cache_bytes', 'kind="Secret"') },
    reconciles: reconcileDelta(before4.m, after4.m),
    machine: machineLoad(before4, after4),
  };
  log(
    `  ${steady.resyncs} resyncs in ${fmt(wall4)} s: ${fmtInt(steady.reconciles.total)} reconciles, API server writes ${steady.writes}, reads ${steady.reads}, watches ${steady.watches}; ` +
      `key service ${JSON.stringify(steady.keyServiceRequests)}; operator CPU ${fmt(steady.operatorCpu * 100, 0)}%`,
  );

  sampler.stop();
  const end = await scrape(metricsUrl);
  return {
    machine,
    mode: QUICK ? 'quick' : 'full',
    git,
    operatorFlags: OPERATOR_FLAGS,
    operatorNodeOptions: OPERATOR_NODE_OPTIONS,
    command: `npx node bench/operator.ts${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}`,
    plan: PLAN,
    targets: TARGETS,
    setup: { controlPlaneMs, keyServiceStartMs, operatorReadyMs },
    latency,
    scale,
    fleet,
    rotation,
    steady,
    operatorAtEnd: { ...memory(operator.pid), cpuSeconds: cpuSeconds(operator.pid), reconcileErrors: metric(end, 'controller_runtime_reconcile_errors_total'), warnings: Object.fromEntries(operatorLogs) },
    totalS: (Date.now() - startedAt) / 1000,
  };
}

let exitCode = 0;
try {
  const results = await main();
  const markdown = renderOperatorResults(results);
  writeFileSync(join(workDir, 'results.json'), JSON.stringify(results, null, 2));
  process.stdout.write(`\n${markdown}\n`);
  const out = flags.out ?? (QUICK ? undefined : DOC);
  if (out && !flags['no-write']) {
    writeOperatorReport(out, markdown);
    log(`wrote ${out}`);
  } else log(`not writing a report (${QUICK ? 'quick run; pass --out FILE to write one' : '--no-write'})`);
  log(`raw results: ${join(workDir, 'results.json')}`);
} catch (error) {
  exitCode = 1;
  process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
  for (const child of children) process.stderr.write(`\n--- ${child.name} (last output) ---\n${child.output().slice(-4_000)}\n`);
} finally {
  for (const child of [...children].reverse()) await child.stop();
  await cp?.stop();
  if (flags.profile) {
    try {
      for (const f of readdirSync(profileDir)) log(`profile: ${join(profileDir, f)}  (npx node bench/profile-summary.ts <file>)`);
    } catch {
      log('no profiles written');
    }
  }
  if (!flags.keep && !flags.profile) rmSync(join(workDir, 'keyward'), { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });
  clearTimeout(hardLimit);
}
process.exit(exitCode);
