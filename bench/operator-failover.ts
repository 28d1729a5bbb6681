/**
 * Operator fail-over and outage recovery, the figures test/operator/leader.test.ts
 * and outage.test.ts no longer assert: `npx node bench/operator-failover.ts`
 * (~4 min on 2 cores) or `--quick` (~1.5 min; prints, writes nothing).
 *
 * A real control plane, the real key service (`keyward serve`, child process)
 * and `keyward operator --leader-elect` replicas (child processes):
 *
 *   1. SIGKILL of the leader, per lease duration (3 s and the default 15 s):
 *      kill -> the standby holds the Lease -> it reports leadership -> a token
 *      bump made at the kill is in the Secret. The baseline, in the same run:
 *      the lease duration itself (a standby must wait it out).
 *   2. SIGTERM of the leader: the same, released on the way out; the baseline
 *      is the standby's retry period (lease / 5), the longest it may wait.
 *   3. Key service outage of 10 s with an ApiKey created meanwhile: the
 *      retries' backoff (from the operator's log) and service back -> Ready.
 *
 * Results go to docs/benchmarks-operator.md between the failover markers.
 * Flags: --quick, --no-write, --rounds N.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { hostname, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CoordinationV1Api, CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../src/devcluster/controlplane.ts';
import { pooled } from '../src/operator/kubeconfig.ts';
import { api } from './load.ts';
import { metric, scrape } from './operator-load.ts';
import { fmt, fmtInt, freePort, HOST, log, machineInfo, machineTicks, requirePinnedNode, runNode, Samples, startNode, waitReady, writeGeneratedSection, type Child } from './util.ts';

const CLI = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const DOC = fileURLToPath(new URL('../docs/benchmarks-operator.md', import.meta.url));
const MARKERS = { start: '<!-- bench:operator-failover:start -->', end: '<!-- bench:operator-failover:end -->' };
const LEASE_NS = 'keyward-system';
const NS = 'bench-failover';
const GROUP = 'keyward.dev';
const VERSION = 'v1alpha1';

const { values: flags } = parseArgs({ options: { quick: { type: 'boolean', default: false }, 'no-write': { type: 'boolean', default: false }, rounds: { type: 'string' } } });
requirePinnedNode('npx node bench/operator-failover.ts');
const QUICK = flags.quick;
const ROUNDS = Number(flags.rounds ?? (QUICK ? 2 : 5));
const LEASES_S = QUICK ? [3] : [3, 15];
const OUTAGE_S = 10;
const POLL_MS = 20;

const hardLimit = setTimeout(() => {
  log('time limit of 15 min reached; giving up');
  process.exit(2);
}, 15 * 60_000);
hardLimit.unref();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

const now = (): number => performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined && value !== false) return value;
    if (now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(POLL_MS);
  }
}
const stats = (values: number[]) => {
  const s = new Samples();
  for (const v of values) s.add(v);
  const [p50, max] = s.percentiles(50, 100);
  return { p50: p50!, max: max!, min: Math.min(...values), n: values.length };
};

interface Replica {
  child: Child;
  identity: string;
  url: string;
}

interface Handover {
  leaseS: number;
  signal: 'SIGKILL' | 'SIGTERM';
  /** ms from the signal to: the standby holding the Lease, reporting leadership, the bumped key in the Secret. */
  lease: number[];
  gauge: number[];
  rotated: number[];
}

let cp: ControlPlane | undefined;

async function main() {
  const machine = machineInfo();
  const git = (() => {
    try {
      return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    } catch {
      return 'unknown';
    }
  })();
  const started = now();
  const ticks0 = machineTicks();
  const workDir = mkdtempSync(join(tmpdir(), 'keyward-bench-failover-'));
  log(`operator fail-over bench: ${ROUNDS} round(s) per case, lease durations ${LEASES_S.join(', ')} s; work dir ${workDir}`);
  cp = await startControlPlane({ log: (line) => log(`  control plane: ${line}`) });
  const kc = pooled(cp.kubeConfig);
  const leases = kc.makeApiClient(CoordinationV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  await core.createNamespace({ body: { metadata: { name: LEASE_NS } } });
  await core.createNamespace({ body: { metadata: { name: NS } } });

  // The key service on a fixed port, so phase 3 can stop and restart it in place.
  const storeFile = join(workDir, 'db.json');
  const boot = JSON.parse(await runNode([CLI, 'bootstrap', '--org', 'bench', '--output', 'json'], { KEYWARD_STORE: storeFile })) as { secret: string };
  const servicePort = await freePort();
  const serviceUrl = `http://${HOST}:${servicePort}`;
  const startService = async () => {
    const child = startNode('keyward-serve', [CLI, 'serve'], { KEYWARD_PORT: String(servicePort), KEYWARD_HOST: HOST, KEYWARD_STORE: storeFile, KEYWARD_LOG_LEVEL: 'warn' });
    await waitReady(child, `${serviceUrl}/healthz`, 60_000);
    return child;
  };
  let service = await startService();
  const operatorKey = (await api(serviceUrl, boot.secret, 'POST', '/v1/keys', { name: 'operator (bench)', role: 'key-manager' })).json.secret as string;

  const secretKeyId = async (name: string) => {
    const s = await core.readNamespacedSecret({ namespace: NS, name }).catch(() => undefined);
    const raw = s?.data?.API_KEY_ID;
    return raw === undefined ? undefined : Buffer.from(raw, 'base64').toString('utf8');
  };
  const apiKey = (name: string, spec: Record<string, unknown>) =>
    custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'apikeys', body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'ApiKey', metadata: { name, namespace: NS }, spec } });
  const bump = (name: string, token: string) =>
    custom.patchNamespacedCustomObject(
      { group: GROUP, version: VERSION, namespace: NS, plural: 'apikeys', name, body: { spec: { rotation: { token } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );

  async function replica(leaseName: string, leaseS: number): Promise<Replica> {
    const port = await freePort();
    const child = startNode(`operator-${leaseName}`, [CLI, 'operator', '--leader-elect', '--lease-namespace', LEASE_NS, '--lease-name', leaseName, '--lease-duration', `${leaseS}s`, '--metrics-bind-address', `${HOST}:${port}`, '--resync', '30s'], {
      KUBECONFIG: cp!.kubeconfigPath,
      KEYWARD_URL: serviceUrl,
      KEYWARD_API_KEY: operatorKey,
    });
    const url = `http://${HOST}:${port}`;
    await waitReady(child, `${url}/readyz`, 60_000);
    return { child, identity: `${hostname()}-${child.pid}`, url };
  }
  const holder = async (leaseName: string) => (await leases.readNamespacedLease({ namespace: LEASE_NS, name: leaseName }).catch(() => undefined))?.spec?.holderIdentity ?? undefined;
  const leads = async (r: Replica) => metric(await scrape(r.url), 'leader_election_master_status') === 1;

  // -------- 1 and 2: hand-overs
  const handovers: Handover[] = [];
  for (const leaseS of LEASES_S) {
    const leaseName = `bench-${leaseS}s`;
    const limit = 10 * leaseS * 1000;
    const pair = [await replica(leaseName, leaseS), await replica(leaseName, leaseS)];
    const first = await until('a leader', () => holder(leaseName), limit);
    let leader = pair.find((r) => r.identity === first)!;
    let standby = pair.find((r) => r !== leader)!;
    const name = `failover-${leaseS}s`;
    await apiKey(name, { role: 'viewer', rotation: { token: 'r-0', overlap: '1h' } });
    let keyId = await until('the first key', () => secretKeyId(name), 60_000);
    let token = 0;
    for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
      const row: Handover = { leaseS, signal, lease: [], gauge: [], rotated: [] };
      for (let round = 0; round < ROUNDS; round++) {
        // Both replicas settled: the standby has seen the leader renew at least twice.
        await sleep(2 * (leaseS * 1000) / 5 + 200);
        const t0 = now();
        leader.child.process.kill(signal);
        void bump(name, `r-${++token}`);
        await until('the standby to hold the Lease', async () => (await holder(leaseName)) === standby.identity, limit);
        row.lease.push(now() - t0);
        await until('the standby to report leadership', () => leads(standby), limit);
        row.gauge.push(now() - t0);
        const previous = keyId;
        keyId = await until('the bumped key in the Secret', async () => {
          const current = await secretKeyId(name);
          return current !== previous ? current : undefined;
        }, limit);
        row.rotated.push(now() - t0);
        await leader.child.stop();
        log(`  lease ${leaseS} s, ${signal} round ${round + 1}: Lease after ${fmtInt(row.lease.at(-1)!)} ms, leading after ${fmtInt(row.gauge.at(-1)!)} ms, rotated after ${fmtInt(row.rotated.at(-1)!)} ms`);
        leader = standby;
        standby = await replica(leaseName, leaseS);
      }
      handovers.push(row);
    }
    await Promise.all([leader.child.stop(), standby.child.stop()]);
  }

  // -------- 3: key service outage
  log(`3/3 outage: the key service down for ${OUTAGE_S} s, an ApiKey created meanwhile`);
  const port = await freePort();
  const operator = startNode('operator-outage', [CLI, 'operator', '--metrics-bind-address', `${HOST}:${port}`, '--resync', '30s'], {
    KUBECONFIG: cp.kubeconfigPath,
    KEYWARD_URL: serviceUrl,
    KEYWARD_API_KEY: operatorKey,
  });
  await waitReady(operator, `http://${HOST}:${port}/readyz`, 60_000);
  await service.stop();
  const down = now();
  await apiKey('during-outage', { role: 'viewer' });
  await sleep(OUTAGE_S * 1000);
  service = await startService();
  const back = now();
  await until('the ApiKey created during the outage to get its key', () => secretKeyId('during-outage'), 120_000);
  const recoveredMs = now() - back;
  const retries = operator
    .output()
    .split('\n')
    .filter((line) => line.includes('"msg":"reconcile failed"') && line.includes(`"apikey":"${NS}/during-outage"`))
    .map((line) => (JSON.parse(line) as { retryInMs: number }).retryInMs);
  log(`  retries scheduled ${retries.join(', ')} ms; service back -> Secret written ${fmtInt(recoveredMs)} ms`);
  await operator.stop();
  await service.stop();

  const ticks1 = machineTicks();
  const busyCores = ((ticks1.busy - ticks0.busy) / (ticks1.total - ticks0.total)) * machine.cores;
  return { machine, git, durationS: (now() - started) / 1000, busyCores, load1: loadavg()[0]!, handovers, outage: { outageS: OUTAGE_S, retries, recoveredMs, downForMs: back - down } };
}

function render(r: Awaited<ReturnType<typeof main>>): string {
  const m = r.machine;
  const row = (h: Handover) => {
    const [l, g, k] = [stats(h.lease), stats(h.gauge), stats(h.rotated)];
    const baseline = h.signal === 'SIGKILL' ? h.leaseS * 1000 : (h.leaseS * 1000) / 5;
    return `| ${h.leaseS} s | ${h.signal} | ${fmtInt(baseline)} ms (${h.signal === 'SIGKILL' ? 'lease duration' : 'retry period'}) | ${fmtInt(l.p50)} / ${fmtInt(l.min)}–${fmtInt(l.max)} | ${fmtInt(l.p50 - baseline)} | ${fmtInt(g.p50)} | **${fmtInt(k.p50)}** / ${fmtInt(k.max)} | ${l.n} |`;
  };
  return [
    MARKERS.start,
    '<!-- generated by bench/operator-failover.ts; edit the prose outside these markers, not the tables -->',
    '',
    '| CPU | cores | memory | Node | OS | date | code | duration | machine busy (cores, whole run) | load (1 min, end) |',
    '|---|---|---|---|---|---|---|---|---:|---:|',
    `| ${m.cpuModel} | ${m.cores} | ${m.memoryGiB} GiB | ${m.node} | ${m.platform} | ${m.date.slice(0, 16).replace('T', ' ')} UTC | ${r.git} | ${fmt(r.durationS / 60)} min | ${fmt(r.busyCores)} | ${fmt(r.load1)} |`,
    '',
    'Hand-overs between two `keyward operator --leader-elect` processes (ms from the signal; p50, and min–max where given; the Lease polled every 20 ms). *Over baseline* is the p50 time to the Lease minus the baseline.',
    '',
    '| lease | signal | baseline | → standby holds the Lease (p50 / range) | over baseline | → reports leadership (p50) | → token bump made at the signal is in the Secret (p50 / max) | rounds |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
    ...r.handovers.map(row),
    '',
    `Key service down for ${r.outage.outageS} s (${fmtInt(r.outage.downForMs)} ms measured) with an ApiKey created meanwhile: retries of it scheduled after ${r.outage.retries.map(fmtInt).join(', ')} ms (exponential backoff); key service back → its Secret written **${fmtInt(r.outage.recoveredMs)} ms**.`,
    MARKERS.end,
  ].join('\n');
}

try {
  const results = await main();
  const text = render(results);
  process.stdout.write(`\n${text}\n`);
  if (!QUICK && !flags['no-write']) {
    writeGeneratedSection(DOC, text, MARKERS, (generated) => `# Operator benchmarks\n\n${generated}\n`);
    log(`wrote ${DOC}`);
  }
} catch (error) {
  log(`failed: ${(error as Error).stack ?? String(error)}`);
  process.exitCode = 1;
} finally {
  await cp?.stop();
}
process.exit();
