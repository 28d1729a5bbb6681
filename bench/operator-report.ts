/** Renders the operator benchmark results as Markdown and splices them into docs/benchmarks-operator.md. */
import { fmt, fmtInt, writeGeneratedSection, type MachineInfo } from './util.ts';

export interface Reconciles {
  total: number;
  success: number;
  requeueAfter: number;
  requeue: number;
  error: number;
  meanMs: number;
  issued: number;
}

export interface MachineLoad {
  busyCores: number;
  otherCores: number;
  load1: number;
}

/** One "N ApiKeys at once" phase. */
export interface ScaleResult {
  n: number;
  concurrency: number;
  createSeconds: number;
  createErrors: number;
  allReady: boolean;
  readyCount: number;
  allReadySeconds: number | null;
  lastReadySeconds: number;
  halfReadySeconds: number;
  p90ReadySeconds: number;
  perSecond: number;
  objectP50Ms: number;
  objectP95Ms: number;
  objectMaxMs: number;
  operatorRssIdle: number;
  operatorRssBefore: number;
  operatorPeakRss: number;
  operatorHwm: number;
  keyServicePeakRss: number;
  keyServiceHwm: number;
  apiserverPeakRss: number;
  etcdPeakRss: number;
  operatorCpu: number;
  keyServiceCpu: number;
  apiserverCpu: number;
  operatorCpuMsPerKey: number;
  activeKeys: number;
  secrets: number;
  sampleVerified: number;
  sampleSize: number;
  /** The API server's own count over the phase, by "VERB resource" (everyone's requests). */
  requests: Record<string, number>;
  /** The operator's own count of its requests. */
  operatorRequests: Record<string, number>;
  objectWritesPerKey: number;
  eventsPerKey: number;
  keyServiceRequests: Record<string, number>;
  cache: { apiKeyBytes: number; secretBytes: number };
  reconciles: Reconciles;
  machine: MachineLoad;
}

export interface SteadyResult {
  apiKeys: number;
  resyncs: number;
  seconds: number;
  requests: Record<string, number>;
  writes: number;
  reads: number;
  watches: number;
  operatorRequests: Record<string, number>;
  keyServiceRequests: Record<string, number>;
  operatorCpu: number;
  apiserverCpu: number;
  keyServiceCpu: number;
  operatorPeakRss: number;
  apiserverPeakRss: number;
  cache: { apiKeyBytes: number; secretBytes: number };
  reconciles: Reconciles;
  machine: MachineLoad;
}

interface Slice {
  n: number;
  failed: number;
  codes: Record<string, number>;
}

export interface OperatorBenchResults {
  machine: MachineInfo;
  mode: 'quick' | 'full';
  git: string;
  command: string;
  plan: { warmApplies: number; applies: number; keys: number; fleet: number; resyncs: number; createConcurrency: number; scaleDeadlineS: number; rate: number; overlapS: number; loadBeforeBumpS: number; loadAfterExpiryS: number };
  targets: { applyP50Ms: number; scaleSeconds: number; fleetSeconds: number; writesPerKey: number; operatorRssMiB: number };
  operatorFlags: string[];
  operatorNodeOptions: string[];
  setup: { controlPlaneMs: number; keyServiceStartMs: number; operatorReadyMs: number };
  latency: {
    n: number;
    warm: number;
    p50: number;
    p95: number;
    max: number;
    mean: number;
    kubectlP50: number;
    kubectlP95: number;
    apiToReadyP50: number;
    apiToReadyP95: number;
    apiToReadyMax: number;
    verified: number;
    total: number;
    secretMismatches: number;
    reconciles: Reconciles;
    machine: MachineLoad;
  };
  scale: ScaleResult;
  fleet: ScaleResult | null;
  rotation: {
    rate: number;
    achievedRate: number;
    overlapS: number;
    sent: number;
    dropped: number;
    beforeBump: Slice;
    overlap: Slice;
    boundary: { n: number; valid: number };
    afterExpiry: { n: number; valid: number; expired: number; codes: Record<string, number> };
    firstFailureAfterExpiryMs: number;
    lastValidBeforeExpiryMs: number;
    latencyP50: number;
    latencyP99: number;
    latencyMax: number;
    patchMs: number;
    newApiKeyReadyMs: number;
    bumpToSecretMs: number;
    bumpToReadyMs: number;
    expiresAfterBumpS: number;
    previousInSecret: boolean;
    newVerifies: boolean;
    newVerifiesAtEnd: boolean;
    oldAtEnd: string;
    previousRemovedAfterExpiryMs: number;
    operatorPeakRss: number;
    keyServicePeakRss: number;
    keyServiceCpu: number;
    operatorCpu: number;
    reconciles: Reconciles;
    machine: MachineLoad;
  };
  steady: SteadyResult;
  operatorAtEnd: { rss: number; hwm: number; cpuSeconds: number; reconcileErrors: number; warnings: Record<string, number> };
  totalS: number;
}

export const START = '<!-- bench:operator:start -->';
export const END = '<!-- bench:operator:end -->';

const pct = (x: number) => `${fmt(x * 100, 0)}%`;
const codes = (c: Record<string, number>) =>
  Object.keys(c).length === 0
    ? '—'
    : Object.entries(c)
        .map(([k, v]) => `${k} × ${fmtInt(v)}`)
        .join(', ');
const WRITES = ['POST', 'PUT', 'PATCH', 'APPLY', 'DELETE'];
const READS = ['GET', 'LIST'];
/** The sum of "VERB resource" counts over these verbs. */
const sumOf = (counts: Record<string, number>, verbs: readonly string[]) => Object.entries(counts).reduce((sum, [key, n]) => (verbs.includes(key.split(' ')[0]!) ? sum + n : sum), 0);
const met = (ok: boolean) => (ok ? '**met**' : '**NOT met**');
const n0 = (x: number) => fmtInt(Number.isNaN(x) ? 0 : x);
const recRow = (phase: string, r: Reconciles, ml: MachineLoad) =>
  `| ${phase} | ${n0(r.total)} | ${n0(r.success)} | ${n0(r.requeueAfter)} | ${n0(r.requeue)} | ${n0(r.error)} | ${fmt(r.meanMs)} | ${n0(r.issued)} | ${fmt(ml.busyCores)} | ${fmt(ml.otherCores)} | ${fmt(ml.load1)} |`;

export function renderOperatorResults(r: OperatorBenchResults): string {
  const m = r.machine;
  const l = r.latency;
  const s = r.scale;
  const o = r.rotation;
  const f = r.fleet;
  const st = r.steady;
  const scaleOk = s.allReady && s.allReadySeconds !== null && s.allReadySeconds < r.targets.scaleSeconds;
  const fleetOk = !!f && f.allReady && f.allReadySeconds !== null && f.allReadySeconds < r.targets.fleetSeconds;
  const big = f ?? s;
  const phases = f ? [s, f] : [s];
  const rotationOk = o.beforeBump.failed === 0 && o.overlap.failed === 0 && o.dropped === 0;
  const expiryOk = o.afterExpiry.n > 0 && o.afterExpiry.valid === 0 && o.afterExpiry.expired === o.afterExpiry.n;
  const lines = [
    START,
    '<!-- generated by bench/operator.ts; edit the prose outside these markers, not the tables -->',
    '',
    '### Machine and run',
    '',
    '| CPU | cores | memory | Node | OS | date | code | command | duration |',
    '|---|---|---|---|---|---|---|---|---|',
    `| ${m.cpuModel} | ${m.cores} | ${fmt(m.memoryGiB)} GiB | ${m.node} | ${m.platform} | ${m.date.slice(0, 16).replace('T', ' ')} UTC | ${r.git} | \`${r.command}\` (${r.mode}) | ${fmt(r.totalS / 60)} min |`,
    '',
    `Set-up: control plane ${fmt(r.setup.controlPlaneMs / 1000)} s, key service ${fmt(r.setup.keyServiceStartMs / 1000)} s, operator ready (informers synced) ${fmt(r.setup.operatorReadyMs / 1000)} s.`,
    '',
    '### Targets',
    '',
    '| target | result | |',
    '|---|---|---|',
    `| \`kubectl apply\` → Secret ready, p50 < ${r.targets.applyP50Ms} ms | p50 ${fmtInt(l.p50)} ms, p95 ${fmtInt(l.p95)} ms (${l.n} applies) | ${met(l.p50 < r.targets.applyP50Ms)} |`,
    `| ${fmtInt(s.n)} ApiKeys at once → all Ready < ${r.targets.scaleSeconds} s | ${s.allReady ? `${fmt(s.allReadySeconds!)} s` : `only ${fmtInt(s.readyCount)} Ready after ${fmt(s.lastReadySeconds)} s`} | ${met(scaleOk)}${s.n < 1_000 ? ' (fewer keys than the target names)' : ''} |`,
    ...(f
      ? [
          `| ${fmtInt(f.n)} ApiKeys at once → all Ready < ${r.targets.fleetSeconds} s | ${f.allReady ? `${fmt(f.allReadySeconds!)} s` : `only ${fmtInt(f.readyCount)} Ready after ${fmt(f.lastReadySeconds)} s`} | ${met(fleetOk)}${f.n < 10_000 ? ' (fewer keys than the target names)' : ''} |`,
        ]
      : []),
    `| ≤ ${r.targets.writesPerKey} API-server writes per issued key (ApiKey and Secret) | ${phases.map((p) => `${fmt(p.objectWritesPerKey, 2)} (${fmtInt(p.n)} at once)`).join(', ')}; plus ${fmt(big.eventsPerKey, 2)} Event each | ${met(phases.every((p) => p.objectWritesPerKey <= r.targets.writesPerKey))} |`,
    `| operator RSS < ${r.targets.operatorRssMiB} MiB with ${fmtInt(big.n + (f ? s.n : 0))} ApiKeys | peak ${fmtInt(big.operatorPeakRss)} MiB (VmHWM ${fmtInt(big.operatorHwm)})${r.operatorNodeOptions.length ? ` on \`node ${r.operatorNodeOptions.join(' ')}\`` : ''} | ${met(big.operatorPeakRss < r.targets.operatorRssMiB)} |`,
    `| a steady hour compressed (${st.resyncs} resyncs of ${fmtInt(st.apiKeys)} ApiKeys): no writes | ${fmtInt(st.writes)} writes, ${fmtInt(st.reads)} reads (the operator's own: ${fmtInt(sumOf(st.operatorRequests, WRITES))} writes, ${fmtInt(sumOf(st.operatorRequests, READS))} reads) | ${met(st.writes === 0)} |`,
    `| token bump under ${o.rate} verify/s through the old key: zero failed requests during the overlap | ${fmtInt(o.overlap.failed)} of ${fmtInt(o.overlap.n)} failed (and ${fmtInt(o.beforeBump.failed)} of ${fmtInt(o.beforeBump.n)} before the bump) | ${met(rotationOk)} |`,
    `| … and the old key fails once the overlap ends | ${fmtInt(o.afterExpiry.expired)} of ${fmtInt(o.afterExpiry.n)} requests sent after expiry answered \`valid:false, KEY_EXPIRED\`; ${fmtInt(o.afterExpiry.valid)} valid | ${expiryOk ? 'as expected' : '**unexpected**'} |`,
    '',
    `### 1. \`kubectl apply\` → Secret ready (${l.n} sequential applies, after ${l.warm} warm-up)`,
    '',
    'One `ApiKey` (`role: viewer`) per `kubectl apply -f -`, the next only after the previous is Ready. *Total* runs from spawning kubectl to the watch event showing `Ready=True` with a key id (set only after the Secret is written); *kubectl* is the kubectl process alone (start, discovery, apply, exit); *API → Ready* starts when the benchmark\'s watch sees the object created.',
    '',
    '| | p50 ms | p95 ms | max ms | mean ms |',
    '|---|---:|---:|---:|---:|',
    `| total: kubectl apply → Ready | **${fmtInt(l.p50)}** | ${fmtInt(l.p95)} | ${fmtInt(l.max)} | ${fmtInt(l.mean)} |`,
    `| kubectl process alone | ${fmtInt(l.kubectlP50)} | ${fmtInt(l.kubectlP95)} | | |`,
    `| API create → Ready (operator + key service) | ${fmtInt(l.apiToReadyP50)} | ${fmtInt(l.apiToReadyP95)} | ${fmtInt(l.apiToReadyMax)} | |`,
    '',
    `Every Secret named its ApiKey's key id (${l.secretMismatches} mismatches) and ${l.verified} of ${l.total} secrets verified \`valid: true\` at the key service.`,
    '',
    `### 2. ${phases.map((p) => fmtInt(p.n)).join(' and ')} ApiKeys created at once`,
    '',
    `Created through the API (\`POST …/apikeys\`), ${s.concurrency} at a time, each phase in a fresh namespace (the earlier ApiKeys stay); time from the first create to each ApiKey's \`Ready=True\`. Peak RSS is the highest VmRSS sampled every 200 ms during the phase; VmHWM is the process's lifetime peak. CPU is CPU-seconds per wall-second over the phase (100% = one core). The operator runs with \`${r.operatorFlags.join(' ')}\`${r.operatorNodeOptions.length ? `, on \`node ${r.operatorNodeOptions.join(' ')}\`` : ' (Node\'s own defaults: its heap sized from this machine\'s memory)'}.`,
    '',
    `| | ${phases.map((p) => `${fmtInt(p.n)} ApiKeys`).join(' | ')} |`,
    `|---|${phases.map(() => '---:').join('|')}|`,
    ...(
      [
        ['creates sent (API)', (p) => `${fmt(p.createSeconds)} s${p.createErrors ? ` (${p.createErrors} retried)` : ''}`],
        ['50% Ready', (p) => `${fmt(p.halfReadySeconds)} s`],
        ['90% Ready', (p) => `${fmt(p.p90ReadySeconds)} s`],
        ['**all Ready**', (p) => `**${p.allReady ? `${fmt(p.allReadySeconds!)} s` : `not within the deadline (${fmtInt(p.readyCount)} of ${fmtInt(p.n)})`}**`],
        ['throughput', (p) => `${fmt(p.perSecond)} ApiKeys/s`],
        ['per object, created → Ready', (p) => `p50 ${fmt(p.objectP50Ms / 1000)} s, p95 ${fmt(p.objectP95Ms / 1000)} s, max ${fmt(p.objectMaxMs / 1000)} s`],
        ['operator RSS: before / **peak** / VmHWM', (p) => `${fmtInt(p.operatorRssBefore)} / **${fmtInt(p.operatorPeakRss)}** / ${fmtInt(p.operatorHwm)} MiB`],
        ["operator's caches: ApiKeys / Secrets (JSON bytes, all phases so far)", (p) => `${fmt(p.cache.apiKeyBytes / 2 ** 20)} / ${fmt(p.cache.secretBytes / 2 ** 20)} MiB`],
        ['key service RSS: peak / VmHWM', (p) => `${fmtInt(p.keyServicePeakRss)} / ${fmtInt(p.keyServiceHwm)} MiB`],
        ['kube-apiserver / etcd peak RSS', (p) => `${fmtInt(p.apiserverPeakRss)} / ${fmtInt(p.etcdPeakRss)} MiB`],
        ['CPU: operator / key service / kube-apiserver', (p) => `${pct(p.operatorCpu)} / ${pct(p.keyServiceCpu)} / ${pct(p.apiserverCpu)}`],
        ['operator CPU per ApiKey', (p) => `${fmt(p.operatorCpuMsPerKey)} ms`],
        ['active keys in the key service / managed Secrets (expected one each)', (p) => `${fmtInt(p.activeKeys)} / ${fmtInt(p.secrets)}`],
        ['sampled Secrets that verify', (p) => `${p.sampleVerified} of ${p.sampleSize}`],
      ] as [string, (p: ScaleResult) => string][]
    ).map(([label, cell]) => `| ${label} | ${phases.map(cell).join(' | ')} |`),
    '',
    `Operator RSS when idle, before the first phase: ${fmtInt(s.operatorRssIdle)} MiB.`,
    '',
    '#### Requests to the API server per ApiKey',
    '',
    "From the API server's own \`apiserver_request_total\` over each phase, by verb and resource (ApiKeys, their status, Secrets, Events): everyone's requests. The benchmark's are the \`POST apikeys\` (its creates) and one \`LIST apikeys\` (its tracker; the controller manager lists nothing here); the rest are the operator's, which counts its own too (*operator's count*; informer lists and watches are not in it).",
    '',
    `| request | ${phases.map((p) => `${fmtInt(p.n)}: count | per ApiKey | operator's count`).join(' | ')} |`,
    `|---|${phases.map(() => '---:|---:|---:').join('|')}|`,
    ...[...new Set(phases.flatMap((p) => [...Object.keys(p.requests), ...Object.keys(p.operatorRequests)]))]
      .sort()
      .map((key) => `| \`${key}\` | ${phases.map((p) => `${n0(p.requests[key] ?? 0)} | ${fmt((p.requests[key] ?? 0) / p.n, 2)} | ${n0(p.operatorRequests[key] ?? 0)}`).join(' | ')} |`),
    `| **operator's writes to ApiKeys and Secrets, per ApiKey** | ${phases.map((p) => `| **${fmt(p.objectWritesPerKey, 2)}** |`).join(' | ')} |`,
    `| operator's Events, per ApiKey | ${phases.map((p) => `| ${fmt(p.eventsPerKey, 2)} |`).join(' | ')} |`,
    '',
    "#### The key service's load",
    '',
    'Requests by route from its own \`keyward_http_requests_total\` (the benchmark\'s own checks after each phase are not counted: they come after the reading).',
    '',
    `| route | ${phases.map((p) => `${fmtInt(p.n)} ApiKeys`).join(' | ')} |`,
    `|---|${phases.map(() => '---:').join('|')}|`,
    ...[...new Set(phases.flatMap((p) => Object.keys(p.keyServiceRequests)))].sort().map((key) => `| \`${key}\` | ${phases.map((p) => n0(p.keyServiceRequests[key] ?? 0)).join(' | ')} |`),
    `| CPU / peak RSS | ${phases.map((p) => `${pct(p.keyServiceCpu)} / ${fmtInt(p.keyServicePeakRss)} MiB`).join(' | ')} |`,
    '',
    `### 3. Token bump under ${o.rate} verify requests/s through the old key`,
    '',
    `With the ${fmtInt(s.n + (f?.n ?? 0))} ApiKeys above still present (and resyncing), one more ApiKey (\`rotation: {token: t-1, overlap: ${o.overlapS}s}\`, \`secret.keys.previous\` set) is made Ready; then an open-loop generator in the benchmark process sends \`POST /v1/verify {"key": <old secret>}\` as a \`verifier\` key at a steady ${o.rate}/s (${fmt(o.achievedRate)}/s achieved, ${fmtInt(o.sent)} requests, keep-alive), ${r.plan.loadBeforeBumpS} s before the bump (a merge patch of \`spec.rotation.token\` to \`t-2\` through the API) and until ${r.plan.loadAfterExpiryS} s after the old key's \`expiresAt\`. A request fails if the answer is not \`200\` with \`valid: true\`. Requests are split by when they were sent and answered relative to the bump and to \`expiresAt\` (server clock = this machine's clock).`,
    '',
    '| requests | count | valid | not valid | not valid, by answer |',
    '|---|---:|---:|---:|---|',
    `| sent before the bump | ${fmtInt(o.beforeBump.n)} | ${fmtInt(o.beforeBump.n - o.beforeBump.failed)} | ${fmtInt(o.beforeBump.failed)} | ${codes(o.beforeBump.codes)} |`,
    `| **sent after the bump, answered before expiry (the overlap)** | ${fmtInt(o.overlap.n)} | ${fmtInt(o.overlap.n - o.overlap.failed)} | **${fmtInt(o.overlap.failed)}** | ${codes(o.overlap.codes)} |`,
    `| in flight at expiry (either answer is right) | ${fmtInt(o.boundary.n)} | ${fmtInt(o.boundary.valid)} | ${fmtInt(o.boundary.n - o.boundary.valid)} | |`,
    `| sent after expiry | ${fmtInt(o.afterExpiry.n)} | ${fmtInt(o.afterExpiry.valid)} | ${fmtInt(o.afterExpiry.n - o.afterExpiry.valid)} | ${codes(o.afterExpiry.codes)} |`,
    '',
    '| rotation timeline | value |',
    '|---|---:|',
    `| (before the load) the rotated ApiKey, created after the ${fmtInt(s.n + (f?.n ?? 0))}, → Ready | ${fmtInt(o.newApiKeyReadyMs)} ms |`,
    `| token patch accepted by the API server | ${fmtInt(o.patchMs)} ms |`,
    `| **bump → Secret holds the new key** | **${fmtInt(o.bumpToSecretMs)} ms** |`,
    `| bump → ApiKey Ready again on the new key | ${fmtInt(o.bumpToReadyMs)} ms |`,
    `| bump → old key's \`expiresAt\` | ${fmt(o.expiresAfterBumpS)} s (overlap ${o.overlapS} s) |`,
    `| last valid answer for the old key, relative to \`expiresAt\` | ${fmtInt(o.lastValidBeforeExpiryMs)} ms |`,
    `| first failed request (sent), relative to \`expiresAt\` | ${fmtInt(o.firstFailureAfterExpiryMs)} ms |`,
    `| \`expiresAt\` → previous secret removed from the Secret | ${fmtInt(o.previousRemovedAfterExpiryMs)} ms |`,
    `| verify latency before expiry (p50 / p99 / max) | ${fmt(o.latencyP50, 2)} / ${fmt(o.latencyP99, 2)} / ${fmt(o.latencyMax)} ms |`,
    `| CPU during the phase: operator / key service | ${pct(o.operatorCpu)} / ${pct(o.keyServiceCpu)} |`,
    '',
    `New key verifies right after the Secret changed: ${o.newVerifies ? 'yes' : '**no**'}, and at the end: ${o.newVerifiesAtEnd ? 'yes' : '**no**'}. The Secret's \`API_KEY_PREVIOUS\` held the old secret during the overlap: ${o.previousInSecret ? 'yes' : '**no**'}. The old key at the end: \`${o.oldAtEnd}\`.`,
    '',
    `### 4. A steady hour, compressed: ${st.resyncs} resyncs of ${fmtInt(st.apiKeys)} ApiKeys`,
    '',
    `Nothing changes; the operator (\`--resync ${r.operatorFlags[r.operatorFlags.indexOf('--resync') + 1]}\`) looks at every ApiKey at each resync and asks the key service about their keys in batches. Six resyncs are an hour at the default \`--resync 10m\`. Counted from the API server's and the key service's own metrics over ${fmt(st.seconds)} s; *the operator's* from its own count (\`keyward_operator_kube_requests_total\`); the rest are the controller manager's (its garbage collector reads ApiKeys that own Secrets).`,
    '',
    '| | value |',
    '|---|---:|',
    `| reconciles | ${fmtInt(st.reconciles.total)} (${fmt(st.reconciles.total / Math.max(1, st.resyncs) / st.apiKeys, 2)} per ApiKey per resync), mean ${fmt(st.reconciles.meanMs, 2)} ms |`,
    `| **API-server writes** (ApiKeys, status, Secrets, Events), everyone's / the operator's | **${fmtInt(st.writes)}** / **${fmtInt(sumOf(st.operatorRequests, WRITES))}** |`,
    `| API-server reads (GET, LIST), everyone's / the operator's | ${fmtInt(st.reads)} / ${fmtInt(sumOf(st.operatorRequests, READS))} |`,
    `| watches (re)opened | ${fmtInt(st.watches)} |`,
    `| API-server requests, all, by verb and resource | ${Object.keys(st.requests).length === 0 ? 'none' : codes(st.requests)} |`,
    `| key-service requests | ${Object.keys(st.keyServiceRequests).length === 0 ? 'none' : codes(st.keyServiceRequests)} |`,
    `| CPU: operator / kube-apiserver / key service | ${pct(st.operatorCpu)} / ${pct(st.apiserverCpu)} / ${pct(st.keyServiceCpu)} |`,
    `| operator / kube-apiserver peak RSS | ${fmtInt(st.operatorPeakRss)} / ${fmtInt(st.apiserverPeakRss)} MiB |`,
    `| operator's caches: ApiKeys / Secrets (JSON bytes) | ${fmt(st.cache.apiKeyBytes / 2 ** 20)} / ${fmt(st.cache.secretBytes / 2 ** 20)} MiB |`,
    '',
    '### Operator work per phase (from its `/metrics`)',
    '',
    `Reconcile results as the operator counts them (\`controller_runtime_reconcile_total\`; *requeue_after* = finished and scheduled to look again), mean reconcile time, keys issued. *Machine busy* is the whole machine's CPU use in cores (of ${m.cores}); *other jobs* is what processes outside this benchmark (its control plane, key service, operator and itself) used meanwhile; *load* is the 1-minute load average at the end of the phase.`,
    '',
    '| phase | reconciles | success | requeue_after | requeue | error | mean ms | keys issued | machine busy | other jobs | load |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    recRow('1. latency', l.reconciles, l.machine),
    recRow(`2. ${fmtInt(s.n)} at once`, s.reconciles, s.machine),
    ...(f ? [recRow(`2. ${fmtInt(f.n)} at once`, f.reconciles, f.machine)] : []),
    recRow('3. rotation under load', o.reconciles, o.machine),
    recRow('4. steady', st.reconciles, st.machine),
    '',
    `Operator at the end: RSS ${fmtInt(r.operatorAtEnd.rss)} MiB, VmHWM ${fmtInt(r.operatorAtEnd.hwm)} MiB, ${fmt(r.operatorAtEnd.cpuSeconds)} CPU-seconds in all, ${n0(r.operatorAtEnd.reconcileErrors)} reconcile errors. Warnings logged: ${codes(r.operatorAtEnd.warnings)}.`,
    '',
    END,
  ];
  return lines.join('\n');
}

const TEMPLATE = (generated: string) => `# Operator benchmarks\n\n${generated}\n`;

export function writeOperatorReport(file: string, generated: string): void {
  writeGeneratedSection(file, generated, { start: START, end: END }, TEMPLATE);
}
