/**
 * revokeOld: WhenUnused under load (issue 21). `npx node bench/when-unused.ts`
 * (about 3 minutes on 2 cores).
 *
 * A real control plane (src/devcluster), the real key service (loopback HTTP,
 * temp lowdb store) and the real operator, in this process; N ApiKeys
 * (default 50) with revokeOld WhenUnused, two consumers each verifying their
 * key through an API key at 2 requests/s (200 verify/s for 50 keys), each
 * with its own address and user agent. All ApiKeys rotate at once (a token
 * bump each); every consumer moves to its new key at a random moment within
 * the spread (default 60 s). Measured: failed verifications (must be 0), and
 * per ApiKey the time from its last consumer moving to its old key's
 * revocation (revokedAt in the key service), p50/p99/max, against the quiet
 * period plus one resync.
 *
 * Flags: --keys N, --spread SECONDS, --quiet SECONDS, --resync SECONDS.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { KeywardClient } from '../src/client/index.ts';
import { startControlPlane } from '../src/devcluster/controlplane.ts';
import { OperatorSettings } from '../src/operator/config.ts';
import { Operator, operatorLogger } from '../src/operator/operator.ts';
import type { ApiKeyResource } from '../src/operator/types.ts';
import { resolveConfig } from '../src/server/config.ts';
import { createLogger } from '../src/server/logger.ts';
import { startServer } from '../src/server/server.ts';
import { log, machineInfo } from './util.ts';

const { values: flags } = parseArgs({
  options: {
    keys: { type: 'string', default: '50' },
    spread: { type: 'string', default: '60' },
    quiet: { type: 'string', default: '10' },
    resync: { type: 'string', default: '10' },
  },
});
const KEYS = Number(flags.keys);
const SPREAD_MS = Number(flags.spread) * 1000;
const QUIET_S = Number(flags.quiet);
const RESYNC_MS = Number(flags.resync) * 1000;
const NS = 'bench';
const GROUP = { group: 'keyward.dev', version: 'v1alpha1', namespace: NS, plural: 'apikeys' };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 300_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}
const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-bench-when-unused-'));
  log(`control plane, key service, operator; ${KEYS} ApiKeys, quiet ${QUIET_S}s, resync ${RESYNC_MS / 1000}s, consumers move over ${SPREAD_MS / 1000}s`);
  const cp = await startControlPlane({ log: (line) => log(`  control plane: ${line}`) });
  let bootstrap: { secret: string } | undefined;
  const server = await startServer(resolveConfig({ port: 0, host: '127.0.0.1', storeFile: join(dir, 'db.json'), bootstrapOrganization: 'bench', usageFlushMs: 1_000 }), {
    logger: createLogger('silent'),
    onBootstrap: (result) => (bootstrap = result),
  });
  const admin = new KeywardClient({ url: server.url, apiKey: bootstrap!.secret });
  const api = new KeywardClient({ url: server.url, apiKey: (await admin.createKey({ name: 'API', role: 'verifier' })).secret });
  const defaults = OperatorSettings.parse({});
  const operator = new Operator({
    kubeConfig: cp.kubeConfig,
    keyServiceUrl: server.url,
    keyServiceApiKey: (await admin.createKey({ name: 'operator', role: 'key-manager' })).secret,
    namespaces: [NS],
    workers: 4,
    kubeApiRate: { qps: defaults.kubeApiQps, burst: defaults.kubeApiBurst },
    keyServiceRate: { qps: defaults.keyServiceQps, burst: defaults.keyServiceBurst },
    resyncMs: RESYNC_MS,
    leaderElection: null,
    metricsHost: '127.0.0.1',
    metricsPort: 0,
    deletionGiveUpMs: 10_000,
    logger: operatorLogger('silent'),
  });
  await operator.start();
  const core = cp.kubeConfig.makeApiClient(CoreV1Api);
  const custom = cp.kubeConfig.makeApiClient(CustomObjectsApi);
  await core.createNamespace({ body: { metadata: { name: NS } } });
  const names = Array.from({ length: KEYS }, (_, i) => `key-${String(i).padStart(3, '0')}`);
  const apiKey = async (name: string) => (await custom.getNamespacedCustomObject({ ...GROUP, name })) as ApiKeyResource;
  const secretOf = async (name: string) => Buffer.from((await core.readNamespacedSecret({ namespace: NS, name })).data!.API_KEY!, 'base64').toString('utf8');

  for (const name of names) {
    await custom.createNamespacedCustomObject({
      ...GROUP,
      body: { apiVersion: 'keyward.dev/v1alpha1', kind: 'ApiKey', metadata: { name, namespace: NS }, spec: { role: 'viewer', rotation: { token: 't-1', overlap: '10m', revokeOld: 'WhenUnused', quietPeriod: `${QUIET_S}s` } } },
    });
  }
  const first = new Map<string, { keyId: string; secret: string }>();
  for (const name of names) {
    const keyId = await until(`${name} ready`, async () => ((await apiKey(name)).status?.sequence === 1 ? (await apiKey(name)).status!.keyId : undefined));
    first.set(name, { keyId: keyId!, secret: await secretOf(name) });
  }
  log(`${KEYS} ApiKeys ready; starting ${KEYS * 2} consumers at 2 verify/s each`);

  interface Consumer { name: string; key: string; movedAt: number; requests: number; failures: number; running: boolean }
  const consumers: Consumer[] = names.flatMap((name) => [0, 1].map(() => ({ name, key: first.get(name)!.secret, movedAt: 0, requests: 0, failures: 0, running: true })));
  const loops = consumers.map(async (consumer, i) => {
    await sleep(Math.random() * 500);
    while (consumer.running) {
      const started = Date.now();
      const result = await api.verifyKey({ key: consumer.key, ip: `10.1.${Math.floor(i / 250)}.${i % 250}`, userAgent: `consumer/${i}` }).catch(() => ({ valid: false }));
      consumer.requests++;
      if (!result.valid) consumer.failures++;
      await sleep(Math.max(0, 500 - (Date.now() - started)));
    }
  });
  await sleep(5_000);

  const rotatedAt = Date.now();
  await Promise.all(names.map((name) => custom.patchNamespacedCustomObject({ ...GROUP, name, body: { spec: { rotation: { token: 't-2' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))));
  const second = new Map<string, string>();
  for (const name of names) {
    await until(`${name} rotated`, async () => ((await apiKey(name)).status?.sequence === 2 && !(await apiKey(name)).status?.pending ? true : undefined));
    second.set(name, await secretOf(name));
  }
  log(`all rotated in ${((Date.now() - rotatedAt) / 1000).toFixed(1)} s; consumers move over the next ${SPREAD_MS / 1000} s`);
  const moves = consumers.map(async (consumer) => {
    await sleep(Math.random() * SPREAD_MS);
    consumer.key = second.get(consumer.name)!;
    consumer.movedAt = Date.now();
  });
  await Promise.all(moves);

  const revokedAt = new Map<string, number>();
  await until('every old key revoked', async () => {
    const pending = names.filter((name) => !revokedAt.has(name));
    const views = await admin.batchGetKeys({ ids: pending.map((name) => first.get(name)!.keyId) });
    for (const view of views.items) if (view.revokedAt) revokedAt.set(names.find((n) => first.get(n)!.keyId === view.id)!, Date.parse(view.revokedAt));
    return revokedAt.size === names.length ? true : undefined;
  }, 600_000, 1_000);
  for (const consumer of consumers) consumer.running = false;
  await Promise.all(loops);

  const latencies = names
    .map((name) => revokedAt.get(name)! - Math.max(...consumers.filter((c) => c.name === name).map((c) => c.movedAt)))
    .sort((a, b) => a - b);
  const requests = consumers.reduce((sum, c) => sum + c.requests, 0);
  const failures = consumers.reduce((sum, c) => sum + c.failures, 0);
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const machine = machineInfo();
  process.stdout.write(
    [
      '',
      `| ApiKeys | consumers | verify requests | failed | last consumer moved → old key revoked: p50 | p99 | max | quiet period + one resync |`,
      '|---:|---:|---:|---:|---:|---:|---:|---:|',
      `| ${KEYS} | ${consumers.length} | ${requests} | ${failures} | ${s(percentile(latencies, 50))} | ${s(percentile(latencies, 99))} | ${s(latencies.at(-1)!)} | ${s(QUIET_S * 1000 + RESYNC_MS)} |`,
      '',
      `machine: ${JSON.stringify(machine)}`,
      '',
    ].join('\n'),
  );
  await operator.stop();
  await server.close();
  await cp.stop();
  rmSync(dir, { recursive: true, force: true });
}

await main();
