/**
 * The key service goes away for a while: the ApiKey says so in a condition,
 * the operator backs off, and once the service is back it converges without
 * issuing duplicate keys.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { KeywardClient, type KeyView } from '../../src/client/index.ts';
import type { Operator } from '../../src/operator/operator.ts';
import { resolveConfig } from '../../src/server/config.ts';
import { createLogger } from '../../src/server/logger.ts';
import { startServer, type RunningServer } from '../../src/server/server.ts';
import { freePort } from '../support/cli-process.ts';
import { describeControlPlane } from '../support/controlplane.ts';
import { apiKeyManifest, kubeHelpers, startOperator, until, verifies } from '../support/operator.ts';

describeControlPlane('operator and a key service outage', (cp) => {
  let dir: string;
  let port: number;
  let server: RunningServer | undefined;
  let admin: string;
  let operator: Operator;
  let k: ReturnType<typeof kubeHelpers>;
  const ns = 'outage';

  const start = async () => {
    let bootstrapped: string | undefined;
    server = await startServer(resolveConfig({ port, host: '127.0.0.1', storeFile: join(dir, 'db.json'), bootstrapOrganization: 'outage', logLevel: 'silent' }), {
      logger: createLogger('silent'),
      onBootstrap: (result) => (bootstrapped = result.secret),
    });
    if (bootstrapped) admin = bootstrapped;
  };
  const client = (secret = admin) => new KeywardClient({ url: `http://127.0.0.1:${port}`, apiKey: secret });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keyward-outage-'));
    port = await freePort();
    await start();
    const operatorSecret = (await client().createKey({ name: 'operator', role: 'key-manager' })).secret;
    k = kubeHelpers(cp());
    await cp().kubectl(['create', 'namespace', ns]);
    operator = await startOperator(cp(), { url: `http://127.0.0.1:${port}` }, operatorSecret, { resyncMs: 1_000 });
  }, 60_000);
  afterAll(async () => {
    await operator?.stop();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports the outage, backs off, and recovers without duplicate keys', async () => {
    await k.apply([apiKeyManifest(ns, 'steady', { role: 'viewer' })]);
    const steady = await until('the first key', async () => (await k.apiKey(ns, 'steady'))?.status?.keyId);

    await server!.close();
    server = undefined;
    await k.apply([apiKeyManifest(ns, 'during-outage', { role: 'viewer' })]);
    const condition = await until('the outage to show', async () => {
      const conditions = (await k.apiKey(ns, 'steady'))?.status?.conditions ?? [];
      return conditions.find((c) => c.type === 'KeyServiceReachable' && c.status === 'False');
    }, 20_000);
    expect(condition.message).toMatch(/Cannot reach the key service/);
    const metrics = await (await fetch(`${operator.metricsUrl}/metrics`)).text();
    expect(metrics).toMatch(/keyward_operator_key_service_up 0/);
    expect(metrics).toMatch(/controller_runtime_reconcile_errors_total\{controller="apikey"\} [1-9]/);
    // Stay down a while: several failed attempts, each backed off.
    await new Promise((r) => setTimeout(r, 3_000));

    await start();
    const recovered = await until('the ApiKey created during the outage', async () => {
      const r = await k.apiKey(ns, 'during-outage');
      return r?.status?.keyId && !r.status.pending ? r : undefined;
    }, 60_000);
    await until('reachability to come back', async () =>
      (await k.apiKey(ns, 'steady'))?.status?.conditions?.some((c) => c.type === 'KeyServiceReachable' && c.status === 'True'),
    );

    const keys: KeyView[] = [];
    for await (const key of client().allKeys({ status: 'all' })) keys.push(key);
    const forOutage = keys.filter((key) => key.metadata['k8s/uid'] === recovered.metadata.uid);
    expect(forOutage.map((key) => key.status)).toEqual(['active']);
    expect(keys.filter((key) => key.metadata['k8s/name'] === 'steady').map((key) => key.id)).toEqual([steady]);
    const verifier = client((await client().createKey({ name: 'gw', role: 'verifier' })).secret);
    expect(await verifies(verifier, k.value(await k.secret(ns, 'during-outage'), 'API_KEY'))).toBe('VALID');
  });
});
