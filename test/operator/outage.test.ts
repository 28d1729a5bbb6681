/**
 * The key service goes away for a while: the ApiKey says so in a condition
 * and a RotationFailed event, the operator retries with exponential backoff,
 * and once the service is back it converges without issuing duplicate keys.
 * An ApiKey deleted while the service stays down is released after
 * --deletion-timeout with a RevokeFailed event naming the key to revoke.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { KeyView } from '../../src/client/index.ts';
import type { Operator } from '../../src/operator/operator.ts';
import { describeControlPlane } from '../support/controlplane.ts';
import { startTestService, type TestService } from '../support/keyservice.ts';
import { apiKeyManifest, capturedLogger, kubeHelpers, startOperator, until, verifies } from '../support/operator.ts';


describeControlPlane('operator and a key service outage', (cp) => {
  let service: TestService;
  let operator: Operator;
  let k: ReturnType<typeof kubeHelpers>;
  const captured = capturedLogger();
  const logged = captured.lines;
  const ns = 'outage';
  const DELETION_TIMEOUT_MS = 600_000; // the default --deletion-timeout (10m); the test moves the operator's clock past it
  let clockOffsetMs = 0;

  const client = (secret?: string) => service.client(secret);
  /** The operator's log lines about one ApiKey, in order. */
  const about = (name: string) => logged.filter((l) => l.fields.apikey === `${ns}/${name}`);

  beforeAll(async () => {
    service = await startTestService();
    const operatorSecret = (await client().createKey({ name: 'operator', role: 'key-manager' })).secret;
    k = kubeHelpers(cp());
    await cp().kubectl(['create', 'namespace', ns]);
    operator = await startOperator(cp(), { url: service.url }, operatorSecret, {
      resyncMs: 1_000,
      deletionGiveUpMs: DELETION_TIMEOUT_MS,
      clock: () => Date.now() + clockOffsetMs,
      logger: captured.logger,
    });
  }, 60_000);
  afterAll(async () => {
    await operator?.stop();
    await service?.stop();
  });

  it('reports the outage, backs off exponentially, and recovers without duplicate keys', async () => {
    await k.apply([apiKeyManifest(ns, 'steady', { role: 'viewer' })]);
    const steady = await until('the first key', async () => (await k.apiKey(ns, 'steady'))?.status?.keyId);

    // Down (the same store, address and config once back) while the operator keeps trying.
    await service.restart(async () => {
      await k.apply([apiKeyManifest(ns, 'during-outage', { role: 'viewer' })]);
      const condition = await until('the outage to show', async () => {
        const conditions = (await k.apiKey(ns, 'steady'))?.status?.conditions ?? [];
        return conditions.find((c) => c.type === 'KeyServiceReachable' && c.status === 'False');
      }, 20_000);
      expect(condition.message).toMatch(/Cannot reach the key service/);
      const failed = await until('the RotationFailed event', async () => (await k.events(ns, 'during-outage')).find((e) => e.reason === 'RotationFailed'));
      expect(failed).toMatchObject({ type: 'Warning', message: expect.stringMatching(/^Issuing a key failed: cannot reach the keyward service/) });
      const metrics = await (await fetch(`${operator.metricsUrl}/metrics`)).text();
      expect(metrics).toMatch(/keyward_operator_key_service_up 0/);
      expect(metrics).toMatch(/controller_runtime_reconcile_errors_total\{controller="apikey"\} [1-9]/);

      // Stay down for four failed attempts: each retry of the same key is scheduled twice as far out as the one before.
      const retries = await until('four failed attempts', async () => {
        const delays = about('during-outage').filter((l) => l.message === 'reconcile failed').map((l) => l.fields.retryInMs as number);
        return delays.length >= 4 ? delays : undefined;
      }, 30_000);
      expect(retries.slice(0, 4)).toEqual([200, 400, 800, 1_600]);
    });
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
  }, 120_000);

  it('deleting an ApiKey while the key service stays down: retries, then after --deletion-timeout releases the finalizer with a RevokeFailed event naming the key, which stays active', async () => {
    await k.apply([apiKeyManifest(ns, 'stranded', { role: 'viewer' })]);
    const keyId = await until('its key', async () => (await k.apiKey(ns, 'stranded'))?.status?.keyId);

    await service.restart(async () => {
      await cp().kubectl(['delete', 'apikey', 'stranded', '-n', ns, '--wait=false']);
      // First it keeps trying: the ApiKey stays, held by the finalizer, while revoking fails.
      const failures = await until('three failed revokes', async () => {
        const failed = about('stranded').filter((l) => l.message === 'reconcile failed');
        return failed.length >= 3 ? failed : undefined;
      }, 30_000);
      expect(failures[0]!.fields.err).toMatch(/cannot reach the keyward service/);
      const held = await k.apiKey(ns, 'stranded');
      expect(held?.metadata.deletionTimestamp).toBeDefined();
      expect(held?.metadata.finalizers).toContain('keyward.dev/revoke-key');
      expect((await k.events(ns, 'stranded')).map((e) => e.reason)).not.toContain('RevokeFailed');

      // Past --deletion-timeout on its clock it gives up: the finalizer is released, and the Event and the log say which key to revoke by hand.
      clockOffsetMs += DELETION_TIMEOUT_MS;
      await until('the ApiKey to be gone', async () => (await k.apiKey(ns, 'stranded')) === undefined, 30_000);
      const revokeFailed = (await k.events(ns, 'stranded')).find((e) => e.reason === 'RevokeFailed');
      expect(revokeFailed).toMatchObject({ type: 'Warning', message: expect.stringMatching(new RegExp(`^Could not revoke key\\(s\\) ${keyId} for 6\\d\\d s `)) });
      expect(revokeFailed!.message).toContain('releasing the finalizer. Revoke them by hand: keyward keys revoke <id>.');
      const lines = about('stranded');
      const gaveUp = lines.findIndex((l) => l.level === 'error' && /releasing the finalizer/.test(l.message));
      expect(gaveUp, 'the give-up is logged as an error, after the retries').toBeGreaterThan(lines.indexOf(failures[2]!));
    });
    expect((await client().getKey(keyId)).status, 'nothing was revoked; the Event says so').toBe('active');
  }, 90_000);
});
