/**
 * The operator end to end on a real control plane with the real key service:
 * apply -> Secret with a working key; token bump -> exactly one rotation with
 * overlap (Rotating True, then False) and one consumer restart; scheduled
 * rotation and suspend on the operator's own clock; drift repaired; out-of-
 * band revocation re-issued; name, role and allowlist changed in place and
 * enforced by the key service; roles above the operator's own refused;
 * status.history bounded; deletion per policy, also during an overlap.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { KeywardClient } from '../../src/client/index.ts';
import type { Operator } from '../../src/operator/operator.ts';
import type { ApiKeyStatus, Condition } from '../../src/operator/types.ts';
import { describeControlPlane } from '../support/controlplane.ts';
import { startTestService, type TestService } from '../support/keyservice.ts';
import { apiKeyManifest, deploymentManifest, keysOf, kubeHelpers, operatorKey, startOperator, until, verifies } from '../support/operator.ts';

const HOUR = 3_600_000;

describeControlPlane('the operator', (cp) => {
  let service: TestService;
  let operator: Operator;
  /** A second operator, for the namespace `schedule` only, whose clock the test moves on. */
  let scheduler: Operator;
  let clockOffsetMs = 0;
  let gateway: KeywardClient;
  let k: ReturnType<typeof kubeHelpers>;
  const ns = 'payments';
  const scheduleNs = 'schedule';
  /** Token bumps made by the tests below: what the operator's metrics must count. */
  let tokenRotations = 0;

  beforeAll(async () => {
    service = await startTestService();
    gateway = service.client((await service.client().createKey({ name: 'gateway', role: 'verifier' })).secret);
    k = kubeHelpers(cp());
    await cp().kubectl(['create', 'namespace', ns]);
    await cp().kubectl(['create', 'namespace', scheduleNs]);
    await k.apply([deploymentManifest(ns, 'payments')]);
    const secret = await operatorKey(service);
    operator = await startOperator(cp(), service, secret, { namespaces: [ns] });
    scheduler = await startOperator(cp(), service, secret, { namespaces: [scheduleNs], clock: () => Date.now() + clockOffsetMs });
  }, 120_000);
  afterAll(async () => {
    await operator?.stop();
    await scheduler?.stop();
    await service?.stop();
  });

  const status = async (name: string, namespace = ns): Promise<ApiKeyStatus> => (await k.apiKey(namespace, name))?.status ?? {};
  const condition = (st: ApiKeyStatus, type: Condition['type']) => st.conditions?.find((c) => c.type === type);
  /** The status once the operator has finished the issue with this sequence number. */
  const atSequence = (name: string, sequence: number, namespace = ns) =>
    until(`${namespace}/${name} at sequence ${sequence}`, async () => {
      const st = await status(name, namespace);
      return st.sequence === sequence && !st.pending ? st : undefined;
    });
  /** The status once the operator has reconciled the ApiKey's current generation. */
  const observed = (name: string, namespace = ns) =>
    until(`the operator to reconcile the current generation of ${namespace}/${name}`, async () => {
      const resource = await k.apiKey(namespace, name);
      return resource?.status && !resource.status.pending && resource.status.observedGeneration === resource.metadata.generation ? resource.status : undefined;
    });
  const readyFalse = (name: string) =>
    until(`Ready=False on ${name}`, async () => {
      const ready = condition(await status(name), 'Ready');
      return ready?.status === 'False' ? ready : undefined;
    });
  const event = (name: string, reason: string, namespace = ns) =>
    until(`the ${reason} event of ${name}`, async () => (await k.events(namespace, name)).find((e) => e.reason === reason));
  const patch = (name: string, body: object, namespace = ns) => cp().kubectl(['patch', 'apikey', name, '-n', namespace, '--type=merge', '-p', JSON.stringify(body)]);
  const replicaSets = async () => (await cp().kubectl(['get', 'rs', '-n', ns, '-o', 'name'])).stdout.trim().split('\n').length;

  it('kubectl apply -> a Secret holding a key that verifies; kubectl wait and get show it', async () => {
    await k.apply([
      apiKeyManifest(ns, 'payments-api', {
        displayName: 'payments-api (prod)',
        role: 'viewer',
        environment: 'production',
        secret: { name: 'payments-api-key', keys: { previous: 'API_KEY_PREVIOUS' }, template: { labels: { team: 'payments' } } },
        rotation: { token: 't-1', overlap: '8s' },
        consumers: { restartTargets: [{ kind: 'Deployment', name: 'payments' }] },
      }),
    ]);
    await cp().kubectl(['wait', '--for=condition=Ready', 'apikey/payments-api', '-n', ns, '--timeout=60s']);
    const st = await status('payments-api');
    expect(st).toMatchObject({ lastRotationReason: 'Created', sequence: 1, observedRotationToken: 't-1', secretName: 'payments-api-key' });
    expect(condition(st, 'Rotating')).toMatchObject({ status: 'False', reason: 'Idle' });
    expect(st.history).toEqual([{ time: st.lastRotationTime, reason: 'Created', keyId: st.keyId, message: expect.stringContaining(st.keyId!) }]);
    const secret = await k.secret(ns, 'payments-api-key');
    expect(k.value(secret, 'API_KEY_ID')).toBe(st.keyId);
    expect(secret?.metadata?.labels).toMatchObject({ team: 'payments', 'app.kubernetes.io/managed-by': 'keyward' });
    expect(secret?.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'ApiKey', name: 'payments-api', controller: true });
    expect(await verifies(gateway, k.value(secret, 'API_KEY'))).toBe('VALID');
    const key = await service.client().getKey(st.keyId!);
    expect(key).toMatchObject({ name: 'payments-api (prod)', role: 'viewer', environment: 'production', metadata: { 'k8s/namespace': ns, 'k8s/name': 'payments-api' } });

    const table = await cp().kubectl(['get', 'apikeys', '-n', ns]);
    expect(table.stdout).toMatch(new RegExp(`payments-api\\s+${st.keyId}\\s+viewer\\s+True`));
    expect((await event('payments-api', 'Created')).message).toContain(st.keyId);
    // The restart target was rolled for the first key.
    await until('the consumer restart', async () => (await status('payments-api')).consumersRestartedFor === st.keyId);
  });

  it('a token bump rotates exactly once: both keys work during the overlap (Rotating=True), then the old one fails (Rotating=False); the consumer restarts once', async () => {
    const before = await status('payments-api');
    const oldSecret = k.value(await k.secret(ns, 'payments-api-key'), 'API_KEY');
    const replicaSetsBefore = await replicaSets();
    await patch('payments-api', { spec: { rotation: { token: 't-2' } } });
    const after = await atSequence('payments-api', 2);
    tokenRotations++;
    expect(after).toMatchObject({ lastRotationReason: 'Token', observedRotationToken: 't-2' });
    expect(after.keyId).not.toBe(before.keyId);
    expect(after.previousKeys).toEqual([{ keyId: before.keyId, expiresAt: expect.any(String) }]);
    // Written with previousKeys in one status update: Rotating is True exactly while a previous key is valid.
    expect(condition(after, 'Rotating')).toMatchObject({ status: 'True', reason: 'Overlap', message: expect.stringContaining(before.keyId!) });
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
    await until('the new ReplicaSet', async () => (await replicaSets()) === replicaSetsBefore + 1);

    // The overlap ends on the server; the operator then drops the previous key from the Secret, then from the status.
    await until('the end of the overlap', async () => (await verifies(gateway, oldSecret)) === 'KEY_EXPIRED');
    const ended = await until('the previous key to leave the status', async () => {
      const st = await status('payments-api');
      return st.previousKeys?.length === 0 ? st : undefined;
    });
    expect(condition(ended, 'Rotating')).toMatchObject({ status: 'False', reason: 'Idle' });
    expect(k.value(await k.secret(ns, 'payments-api-key'), 'API_KEY_PREVIOUS')).toBeUndefined();
    expect(await verifies(gateway, newSecret)).toBe('VALID');

    // The same token again, with another change: the operator reconciles that generation and rotates nothing.
    await patch('payments-api', { spec: { displayName: 'payments-api (prod, EU)', rotation: { token: 't-2' } } });
    expect(await observed('payments-api')).toMatchObject({ sequence: 2, keyId: after.keyId });
    expect((await service.client().getKey(after.keyId!)).name).toBe('payments-api (prod, EU)');
    expect(await replicaSets()).toBe(replicaSetsBefore + 1);
    const events = await k.events(ns, 'payments-api');
    expect(events.filter((e) => e.reason === 'Rotated')).toHaveLength(1);
    expect(events.map((e) => e.reason)).toContain('ConsumersRestarted');
  }, 90_000);

  it("rotates on schedule once the interval has passed on the operator's clock, never while suspended, and at once when resumed", async () => {
    await k.apply([apiKeyManifest(scheduleNs, 'hourly', { role: 'viewer', rotation: { interval: '1h', overlap: '0' } })]);
    const first = await atSequence('hourly', 1, scheduleNs);
    expect(Date.parse(first.nextRotationTime!) - Date.parse(first.lastRotationTime!)).toBe(HOUR);

    clockOffsetMs += HOUR + 60_000;
    // Its next look (the periodic resync) is past nextRotationTime.
    const scheduled = await atSequence('hourly', 2, scheduleNs);
    expect(scheduled.lastRotationReason).toBe('Scheduled');
    expect(scheduled.keyId).not.toBe(first.keyId);
    expect(await verifies(gateway, k.value(await k.secret(scheduleNs, 'hourly'), 'API_KEY'))).toBe('VALID');
    expect((await event('hourly', 'Rotated', scheduleNs)).message).toMatch(/\(Scheduled\)/);

    await patch('hourly', { spec: { rotation: { suspend: true } } }, scheduleNs);
    expect((await observed('hourly', scheduleNs)).nextRotationTime).toBeUndefined();
    clockOffsetMs += 10 * HOUR;
    // Ten intervals later on its clock, the operator looks again and issues nothing.
    expect(await k.reconciledAgain(scheduleNs, 'hourly')).toMatchObject({ sequence: 2, keyId: scheduled.keyId });

    await patch('hourly', { spec: { rotation: { suspend: false } } }, scheduleNs);
    const resumed = await atSequence('hourly', 3, scheduleNs);
    expect(resumed.lastRotationReason).toBe('Scheduled');
    expect(Date.parse(resumed.nextRotationTime!) - Date.parse(resumed.lastRotationTime!)).toBe(HOUR);
  }, 60_000);

  it('repairs drift: a deleted Secret and a tampered Secret are re-issued; a key revoked out of band is replaced', async () => {
    await k.apply([apiKeyManifest(ns, 'drifty', { role: 'viewer', rotation: { overlap: '0' } })]);
    const first = await atSequence('drifty', 1);

    await k.core.deleteNamespacedSecret({ namespace: ns, name: 'drifty' });
    const afterDelete = await atSequence('drifty', 2);
    expect(afterDelete.lastRotationReason).toBe('Drift');
    expect(await verifies(gateway, k.value(await k.secret(ns, 'drifty'), 'API_KEY'))).toBe('VALID');

    await cp().kubectl(['patch', 'secret', 'drifty', '-n', ns, '--type=merge', '-p', JSON.stringify({ data: { API_KEY: Buffer.from('kw_tampered').toString('base64') } })]);
    const afterTamper = await atSequence('drifty', 3);
    expect(afterTamper.lastRotationReason).toBe('Drift');
    expect(await verifies(gateway, k.value(await k.secret(ns, 'drifty'), 'API_KEY'))).toBe('VALID');

    await service.client().revokeKey(afterTamper.keyId!);
    const afterRevoke = await atSequence('drifty', 4);
    expect(afterRevoke.lastRotationReason).toBe('KeyRevoked');
    expect(await verifies(gateway, k.value(await k.secret(ns, 'drifty'), 'API_KEY'))).toBe('VALID');
    expect(first.keyId).not.toBe(afterRevoke.keyId);
  }, 60_000);

  it('changes name, role and allowlist of the key in place (same key, same Secret), and the key service enforces the new role and allowlist', async () => {
    await k.apply([apiKeyManifest(ns, 'editable', { role: 'viewer' })]);
    const st = await atSequence('editable', 1);
    const secret = k.value(await k.secret(ns, 'editable'), 'API_KEY');
    // Before: usable from any address, and a viewer key does not hold api.key.create.
    expect(await verifies(gateway, secret, { ip: '192.0.2.10' })).toBe('VALID');
    expect(await verifies(gateway, secret, { permission: 'api.key.create' })).toBe('INSUFFICIENT_PERMISSIONS');

    // key-manager: a role the operator's own key may grant (it is one).
    await patch('editable', { spec: { displayName: 'Editable (EU)', role: 'key-manager', ipAllowlist: ['10.0.0.0/8'] } });
    await until('the key to follow', async () => {
      const key = await service.client().getKey(st.keyId!);
      return key.name === 'Editable (EU)' && key.role === 'key-manager' && key.ipAllowlist.join() === '10.0.0.0/8';
    });
    expect(await verifies(gateway, secret, { ip: '192.0.2.10' })).toBe('IP_NOT_ALLOWED');
    expect(await verifies(gateway, secret)).toBe('IP_NOT_ALLOWED');
    expect(await verifies(gateway, secret, { ip: '10.1.2.3', permission: 'api.key.create' })).toBe('VALID');

    expect(await observed('editable')).toMatchObject({ sequence: 1, keyId: st.keyId });
    expect(k.value(await k.secret(ns, 'editable'), 'API_KEY')).toBe(secret);
    expect(await keysOf(service.client(), (await k.apiKey(ns, 'editable'))!.metadata.uid)).toHaveLength(1);
    expect((await event('editable', 'Updated')).message).toMatch(/name, role, ipAllowlist/);
  });

  it("keys never exceed the operator's own role (key-manager): admin is refused with Ready=False and a RotationFailed event, no key is issued, and raising a role in place is refused too", async () => {
    await k.apply([apiKeyManifest(ns, 'mighty', { role: 'admin' })]);
    expect(await readyFalse('mighty')).toMatchObject({ reason: 'KeyServiceRefused', message: expect.stringMatching(/PRIVILEGE_ESCALATION: Role "admin" grants/) });
    expect(await event('mighty', 'RotationFailed')).toMatchObject({ type: 'Warning', message: expect.stringMatching(/which this key does not hold/) });
    const refused = (await k.apiKey(ns, 'mighty'))!;
    expect(refused.status?.keyId).toBeUndefined();
    expect(await k.secret(ns, 'mighty')).toBeUndefined();
    expect(await keysOf(service.client(), refused.metadata.uid)).toEqual([]);

    // Within its role, the same ApiKey gets its key.
    await patch('mighty', { spec: { role: 'viewer' } });
    const granted = await until('the key within the operator\'s role', async () => {
      const st = await status('mighty');
      return st.keyId && !st.pending && condition(st, 'Ready')?.status === 'True' ? st : undefined;
    });
    expect((await service.client().getKey(granted.keyId!)).role).toBe('viewer');

    // Raising it in place is refused the same way; the key keeps its role.
    await patch('mighty', { spec: { role: 'admin' } });
    expect(await readyFalse('mighty')).toMatchObject({ reason: 'KeyServiceRefused', message: expect.stringMatching(/PRIVILEGE_ESCALATION/) });
    expect(await event('mighty', 'UpdateFailed')).toMatchObject({ type: 'Warning', message: expect.stringContaining(granted.keyId!) });
    expect((await service.client().getKey(granted.keyId!)).role).toBe('viewer');
    expect(await status('mighty')).toMatchObject({ keyId: granted.keyId, sequence: granted.sequence });
    expect((await keysOf(service.client(), refused.metadata.uid)).map((key) => key.id)).toEqual([granted.keyId]);
  }, 60_000);

  it('status.history keeps the last 10 issues, newest first', async () => {
    await k.apply([apiKeyManifest(ns, 'chronicle', { role: 'viewer', rotation: { token: 'h-0', overlap: '0' } })]);
    const issued = [(await atSequence('chronicle', 1)).keyId!];
    for (let i = 1; i <= 11; i++) {
      await patch('chronicle', { spec: { rotation: { token: `h-${i}` } } });
      issued.push((await atSequence('chronicle', i + 1)).keyId!);
      tokenRotations++;
    }
    const st = await status('chronicle');
    expect(st.history?.map((h) => h.keyId)).toEqual(issued.slice(-10).reverse());
    expect(st.history?.map((h) => h.reason)).toEqual(Array(10).fill('Token'));
    const times = st.history!.map((h) => Date.parse(h.time));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(st.history![0]).toMatchObject({ keyId: st.keyId, time: st.lastRotationTime });
  }, 90_000);

  it('deletion revokes the key (Revoke, Event Revoked) or keeps key and Secret (Retain, Event Retained)', async () => {
    await k.apply([apiKeyManifest(ns, 'doomed', { role: 'viewer' }), apiKeyManifest(ns, 'kept', { role: 'viewer', deletionPolicy: 'Retain' })]);
    const doomed = (await atSequence('doomed', 1)).keyId!;
    const kept = (await atSequence('kept', 1)).keyId!;
    const doomedSecret = k.value(await k.secret(ns, 'doomed'), 'API_KEY');
    const keptSecret = k.value(await k.secret(ns, 'kept'), 'API_KEY');

    await cp().kubectl(['delete', 'apikey', 'doomed', 'kept', '-n', ns, '--wait=true', '--timeout=60s']);
    expect((await service.client().getKey(doomed)).status).toBe('revoked');
    expect(await verifies(gateway, doomedSecret)).toBe('KEY_REVOKED');
    expect((await event('doomed', 'Revoked')).message).toBe(`Revoked key(s) ${doomed}.`);
    await until('the garbage collector to remove the Secret', async () => (await k.secret(ns, 'doomed')) === undefined);

    expect((await service.client().getKey(kept)).status).toBe('active');
    expect(await verifies(gateway, keptSecret)).toBe('VALID');
    expect((await event('kept', 'Retained')).message).toContain(kept);
    // Orphaned before the finalizer was released: the garbage collector, which has just removed the other Secret, has no owner to follow.
    const retained = await k.secret(ns, 'kept');
    expect(retained).toBeDefined();
    expect(retained?.metadata?.ownerReferences ?? []).toEqual([]);
  }, 60_000);

  it('deleting an ApiKey during an overlap revokes the current key and the previous one', async () => {
    await k.apply([apiKeyManifest(ns, 'overlapping', { role: 'viewer', rotation: { token: 'o-1', overlap: '1h' } })]);
    const first = await atSequence('overlapping', 1);
    const oldSecret = k.value(await k.secret(ns, 'overlapping'), 'API_KEY');
    await patch('overlapping', { spec: { rotation: { token: 'o-2' } } });
    const rotated = await atSequence('overlapping', 2);
    tokenRotations++;
    expect(rotated.previousKeys?.map((p) => p.keyId)).toEqual([first.keyId]);
    const newSecret = k.value(await k.secret(ns, 'overlapping'), 'API_KEY');
    expect(await verifies(gateway, oldSecret)).toBe('VALID');
    expect(await verifies(gateway, newSecret)).toBe('VALID');

    await cp().kubectl(['delete', 'apikey', 'overlapping', '-n', ns, '--wait=true', '--timeout=60s']);
    expect((await service.client().getKey(first.keyId!)).status).toBe('revoked');
    expect((await service.client().getKey(rotated.keyId!)).status).toBe('revoked');
    expect(await verifies(gateway, oldSecret)).toBe('KEY_REVOKED');
    expect(await verifies(gateway, newSecret)).toBe('KEY_REVOKED');
    const revoked = await event('overlapping', 'Revoked');
    expect(revoked.message).toContain(first.keyId);
    expect(revoked.message).toContain(rotated.keyId);
  });

  it('serves controller-runtime style metrics', async () => {
    const text = await (await fetch(`${operator.metricsUrl}/metrics`)).text();
    expect(text).toMatch(/controller_runtime_reconcile_total\{controller="apikey",result="(success|requeue_after)"\} \d+/);
    expect(text).toMatch(/controller_runtime_reconcile_time_seconds_bucket/);
    expect(text).toMatch(/workqueue_depth\{name="apikey"\} \d+/);
    expect(text).toContain(`keyward_operator_keys_issued_total{reason="Token"} ${tokenRotations}\n`);
    expect(await (await fetch(`${scheduler.metricsUrl}/metrics`)).text()).toContain('keyward_operator_keys_issued_total{reason="Scheduled"} 2\n');
    expect((await fetch(`${operator.metricsUrl}/readyz`)).status).toBe(200);
  });
});
