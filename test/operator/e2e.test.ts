/**
 * The operator end to end on a real control plane with the real key service:
 * apply -> Secret with a working key; token bump -> exactly one rotation with
 * overlap and one consumer restart; interval rotation; drift repaired; out-of-
 * band revocation re-issued; deletion per policy.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { KeywardClient } from '../../src/client/index.ts';
import type { Operator } from '../../src/operator/operator.ts';
import { describeControlPlane } from '../support/controlplane.ts';
import { startTestService, type TestService } from '../support/keyservice.ts';
import { apiKeyManifest, kubeHelpers, operatorKey, startOperator, until, verifies } from '../support/operator.ts';

describeControlPlane('the operator', (cp) => {
  let service: TestService;
  let operator: Operator;
  let gateway: KeywardClient;
  let k: ReturnType<typeof kubeHelpers>;
  const ns = 'payments';

  beforeAll(async () => {
    service = await startTestService();
    gateway = service.client((await service.client().createKey({ name: 'gateway', role: 'verifier' })).secret);
    k = kubeHelpers(cp());
    await cp().kubectl(['create', 'namespace', ns]);
    await k.apply([
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'payments', namespace: ns },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'payments' } },
          template: { metadata: { labels: { app: 'payments' } }, spec: { containers: [{ name: 'app', image: 'example.invalid/payments:1' }] } },
        },
      },
    ]);
    operator = await startOperator(cp(), service, await operatorKey(service));
  }, 120_000);
  afterAll(async () => {
    await operator?.stop();
    await service?.stop();
  });

  const status = async (name: string) => (await k.apiKey(ns, name))?.status ?? {};

  it('kubectl apply -> a Secret holding a key that verifies; kubectl wait and get show it', async () => {
    await k.apply([
      apiKeyManifest(ns, 'payments-api', {
        displayName: 'payments-api (prod)',
        role: 'viewer',
        environment: 'production',
        secret: { name: 'payments-api-key', keys: { previous: 'API_KEY_PREVIOUS' }, template: { labels: { team: 'payments' } } },
        rotation: { token: 't-1', overlap: '4s' },
        consumers: { restartTargets: [{ kind: 'Deployment', name: 'payments' }] },
      }),
    ]);
    await cp().kubectl(['wait', '--for=condition=Ready', 'apikey/payments-api', '-n', ns, '--timeout=60s']);
    const st = await status('payments-api');
    expect(st).toMatchObject({ lastRotationReason: 'Created', sequence: 1, observedRotationToken: 't-1', secretName: 'payments-api-key' });
    const secret = await k.secret(ns, 'payments-api-key');
    expect(k.value(secret, 'API_KEY_ID')).toBe(st.keyId);
    expect(secret?.metadata?.labels).toMatchObject({ team: 'payments', 'app.kubernetes.io/managed-by': 'keyward' });
    expect(secret?.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'ApiKey', name: 'payments-api', controller: true });
    expect(await verifies(gateway, k.value(secret, 'API_KEY'))).toBe('VALID');
    const key = await service.client().getKey(st.keyId!);
    expect(key).toMatchObject({ name: 'payments-api (prod)', role: 'viewer', environment: 'production', metadata: { 'k8s/namespace': ns, 'k8s/name': 'payments-api' } });

    const table = await cp().kubectl(['get', 'apikeys', '-n', ns]);
    expect(table.stdout).toMatch(new RegExp(`payments-api\\s+${st.keyId}\\s+viewer\\s+True`));
    const events = await k.events(ns, 'payments-api');
    expect(events.map((e) => e.reason)).toContain('Created');
    // The restart target was rolled for the first key.
    await until('the consumer restart', async () => (await status('payments-api')).consumersRestartedFor === st.keyId);
  });

  it('a token bump rotates exactly once: both keys work during the overlap, then the old one fails; the consumer restarts once', async () => {
    const before = await status('payments-api');
    const oldSecret = k.value(await k.secret(ns, 'payments-api-key'), 'API_KEY');
    const replicaSetsBefore = (await cp().kubectl(['get', 'rs', '-n', ns, '-o', 'name'])).stdout.trim().split('\n').length;
    await cp().kubectl(['patch', 'apikey', 'payments-api', '-n', ns, '--type=merge', '-p', '{"spec":{"rotation":{"token":"t-2"}}}']);
    const after = await until('the rotation', async () => {
      const st = await status('payments-api');
      return st.keyId !== before.keyId && !st.pending ? st : undefined;
    });
    expect(after).toMatchObject({ lastRotationReason: 'Token', sequence: 2, observedRotationToken: 't-2' });
    expect(after.previousKeys).toEqual([{ keyId: before.keyId, expiresAt: expect.any(String) }]);
    const secret = await k.secret(ns, 'payments-api-key');
    const newSecret = k.value(secret, 'API_KEY');
    expect(k.value(secret, 'API_KEY_ID')).toBe(after.keyId);
    expect(k.value(secret, 'API_KEY_PREVIOUS')).toBe(oldSecret);
    expect(await verifies(gateway, newSecret)).toBe('VALID');
    expect(await verifies(gateway, oldSecret)).toBe('VALID');

    // The consumer is restarted once for the new key: one more ReplicaSet.
    await until('the consumer restart', async () => (await status('payments-api')).consumersRestartedFor === after.keyId);
    const template = JSON.parse((await cp().kubectl(['get', 'deployment', 'payments', '-n', ns, '-o', 'json'])).stdout).spec.template.metadata.annotations;
    expect(template['keyward.dev/restarted-for-key']).toBe(after.keyId);
    await until('the new ReplicaSet', async () => (await cp().kubectl(['get', 'rs', '-n', ns, '-o', 'name'])).stdout.trim().split('\n').length === replicaSetsBefore + 1);

    // The overlap ends on the server; the operator then drops the previous key from status and Secret.
    await until('the end of the overlap', async () => (await verifies(gateway, oldSecret)) === 'KEY_EXPIRED', 15_000);
    await until('the previous key to leave the Secret', async () => k.value(await k.secret(ns, 'payments-api-key'), 'API_KEY_PREVIOUS') === undefined, 15_000);
    expect((await status('payments-api')).previousKeys).toEqual([]);
    expect(await verifies(gateway, newSecret)).toBe('VALID');

    // Applying the same token again changes nothing.
    await cp().kubectl(['patch', 'apikey', 'payments-api', '-n', ns, '--type=merge', '-p', '{"spec":{"rotation":{"token":"t-2"}}}']);
    await new Promise((r) => setTimeout(r, 2_500));
    expect((await status('payments-api')).sequence).toBe(2);
    expect((await cp().kubectl(['get', 'rs', '-n', ns, '-o', 'name'])).stdout.trim().split('\n').length).toBe(replicaSetsBefore + 1);
    const rotated = (await k.events(ns, 'payments-api')).filter((e) => e.reason === 'Rotated');
    expect(rotated).toHaveLength(1);
    expect((await k.events(ns, 'payments-api')).map((e) => e.reason)).toContain('ConsumersRestarted');
  });

  it('rotates on schedule when the interval elapses, unless suspended', async () => {
    await k.apply([apiKeyManifest(ns, 'short-lived', { role: 'viewer', rotation: { interval: '3s', overlap: '1s' } })]);
    await until('the first key', async () => (await status('short-lived')).sequence === 1);
    const scheduled = await until('a scheduled rotation', async () => {
      const st = await status('short-lived');
      return (st.sequence ?? 0) >= 2 ? st : undefined;
    }, 20_000);
    expect(scheduled.lastRotationReason).toBe('Scheduled');
    expect(await verifies(gateway, k.value(await k.secret(ns, 'short-lived'), 'API_KEY'))).toBe('VALID');
    await cp().kubectl(['patch', 'apikey', 'short-lived', '-n', ns, '--type=merge', '-p', '{"spec":{"rotation":{"suspend":true}}}']);
    await new Promise((r) => setTimeout(r, 1_000));
    const suspendedAt = (await status('short-lived')).sequence!;
    await new Promise((r) => setTimeout(r, 5_000));
    expect((await status('short-lived')).sequence).toBe(suspendedAt);
    expect((await status('short-lived')).nextRotationTime).toBeUndefined();
  });

  it('repairs drift: a deleted Secret and a tampered Secret are re-issued; a key revoked out of band is replaced', async () => {
    await k.apply([apiKeyManifest(ns, 'drifty', { role: 'viewer', rotation: { overlap: '0' } })]);
    const first = await until('the first key', async () => {
      const st = await status('drifty');
      return st.sequence === 1 ? st : undefined;
    });

    await k.core.deleteNamespacedSecret({ namespace: ns, name: 'drifty' });
    const afterDelete = await until('re-issue after deletion', async () => {
      const st = await status('drifty');
      return st.sequence === 2 && !st.pending ? st : undefined;
    });
    expect(afterDelete.lastRotationReason).toBe('Drift');
    expect(await verifies(gateway, k.value(await k.secret(ns, 'drifty'), 'API_KEY'))).toBe('VALID');
    expect(await verifies(gateway, undefined)).toBe('NO_SECRET');

    await cp().kubectl(['patch', 'secret', 'drifty', '-n', ns, '--type=merge', '-p', JSON.stringify({ data: { API_KEY: Buffer.from('kw_tampered').toString('base64') } })]);
    const afterTamper = await until('repair after tampering', async () => {
      const st = await status('drifty');
      return st.sequence === 3 && !st.pending ? st : undefined;
    });
    expect(afterTamper.lastRotationReason).toBe('Drift');
    expect(await verifies(gateway, k.value(await k.secret(ns, 'drifty'), 'API_KEY'))).toBe('VALID');

    await service.client().revokeKey(afterTamper.keyId!);
    const afterRevoke = await until('replacement after revocation', async () => {
      const st = await status('drifty');
      return st.sequence === 4 && !st.pending ? st : undefined;
    }, 20_000);
    expect(afterRevoke.lastRotationReason).toBe('KeyRevoked');
    expect(await verifies(gateway, k.value(await k.secret(ns, 'drifty'), 'API_KEY'))).toBe('VALID');
    expect(first.keyId).not.toBe(afterRevoke.keyId);
  });

  it('syncs name, role and allowlist changes to the key without rotating', async () => {
    await k.apply([apiKeyManifest(ns, 'editable', { role: 'viewer' })]);
    const st = await until('the key', async () => {
      const s = await status('editable');
      return s.sequence === 1 ? s : undefined;
    });
    await cp().kubectl(['patch', 'apikey', 'editable', '-n', ns, '--type=merge', '-p', '{"spec":{"displayName":"Editable (EU)","ipAllowlist":["10.0.0.0/8"]}}']);
    await until('the key to follow', async () => {
      const key = await service.client().getKey(st.keyId!);
      return key.name === 'Editable (EU)' && key.ipAllowlist[0] === '10.0.0.0/8';
    });
    expect((await status('editable')).sequence).toBe(1);
  });

  it('deletion revokes the key (Revoke) or keeps key and Secret (Retain)', async () => {
    await k.apply([apiKeyManifest(ns, 'doomed', { role: 'viewer' }), apiKeyManifest(ns, 'kept', { role: 'viewer', deletionPolicy: 'Retain' })]);
    const doomed = await until('doomed', async () => (await status('doomed')).keyId);
    const kept = await until('kept', async () => (await status('kept')).keyId);
    const doomedSecret = k.value(await k.secret(ns, 'doomed'), 'API_KEY');
    const keptSecret = k.value(await k.secret(ns, 'kept'), 'API_KEY');

    await cp().kubectl(['delete', 'apikey', 'doomed', 'kept', '-n', ns, '--wait=true', '--timeout=60s']);
    expect((await service.client().getKey(doomed)).status).toBe('revoked');
    expect(await verifies(gateway, doomedSecret)).toBe('KEY_REVOKED');
    await until('the garbage collector to remove the Secret', async () => (await k.secret(ns, 'doomed')) === undefined);

    expect((await service.client().getKey(kept)).status).toBe('active');
    expect(await verifies(gateway, keptSecret)).toBe('VALID');
    await new Promise((r) => setTimeout(r, 1_500));
    const retained = await k.secret(ns, 'kept');
    expect(retained).toBeDefined();
    expect(retained?.metadata?.ownerReferences ?? []).toEqual([]);
  });

  it('serves controller-runtime style metrics', async () => {
    const text = await (await fetch(`${operator.metricsUrl}/metrics`)).text();
    expect(text).toMatch(/controller_runtime_reconcile_total\{controller="apikey",result="(success|requeue_after)"\} \d+/);
    expect(text).toMatch(/controller_runtime_reconcile_time_seconds_bucket/);
    expect(text).toMatch(/workqueue_depth\{name="apikey"\} \d+/);
    expect(text).toMatch(/keyward_operator_keys_issued_total\{reason="Token"\} 1/);
    expect((await fetch(`${operator.metricsUrl}/readyz`)).status).toBe(200);
  });
});
