/**
 * What one reconcile writes and reads, counted at the operator's Kubernetes
 * client (the real KubeApi against the real API server, every request
 * recorded on its way through; ApiKeys and Secrets read from the real
 * informer cache) with the real key service: an issue is three writes (a
 * first key: finalizer, Secret, result; a rotation: intent, Secret, result);
 * the steady state writes the status at most once, however much changed at
 * the same time; a reconcile with nothing to do writes nothing at all; and
 * the API server is read only for a secret value the cache does not hold.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ClusterCache } from '../../src/operator/cache.ts';
import { apiKeyCrd } from '../../src/operator/crd.ts';
import { KubeApi, type SecretWrite } from '../../src/operator/kube.ts';
import { OperatorMetrics } from '../../src/operator/metrics.ts';
import { operatorLogger } from '../../src/operator/operator.ts';
import { ApiKeyReconciler, type ReconcileResult } from '../../src/operator/reconciler.ts';
import type { ApiKeyResource, StatusPatch } from '../../src/operator/types.ts';
import { describeControlPlane } from '../support/controlplane.ts';
import { startTestService, type TestService } from '../support/keyservice.ts';
import { apiKeyManifest, deploymentManifest, kubeHelpers, operatorKey, until } from '../support/operator.ts';

/** The operator's KubeApi, recording each write it makes (status patches by the fields they set) and each read. */
class RecordingKubeApi extends KubeApi {
  writes: string[] = [];
  reads: string[] = [];
  override getApiKey(namespace: string, name: string) {
    this.reads.push(`apikey ${name}`);
    return super.getApiKey(namespace, name);
  }
  override getSecret(namespace: string, name: string) {
    this.reads.push(`secret ${name}`);
    return super.getSecret(namespace, name);
  }
  override removeSecretEntries(namespace: string, name: string, entries: readonly string[]) {
    this.writes.push(`secret -${entries.join(',-')}`);
    return super.removeSecretEntries(namespace, name, entries);
  }
  override patchStatus(resource: ApiKeyResource, status: StatusPatch) {
    this.writes.push(`status ${Object.keys(status).sort().join(',')}`);
    return super.patchStatus(resource, status);
  }
  override setFinalizers(resource: ApiKeyResource, finalizers: string[]) {
    this.writes.push('finalizers');
    return super.setFinalizers(resource, finalizers);
  }
  override applySecret(write: SecretWrite) {
    this.writes.push(`secret ${Object.keys(write.data).sort().join(',')}`);
    return super.applySecret(write);
  }
  override annotatePodTemplate(...args: Parameters<KubeApi['annotatePodTemplate']>) {
    this.writes.push(`restart ${args[1]}/${args[2]}`);
    return super.annotatePodTemplate(...args);
  }
  override deleteSecret(namespace: string, name: string) {
    this.writes.push(`delete secret ${name}`);
    return super.deleteSecret(namespace, name);
  }
  override orphanSecret(namespace: string, name: string) {
    this.writes.push(`orphan secret ${name}`);
    return super.orphanSecret(namespace, name);
  }
  override event(resource: ApiKeyResource, type: 'Normal' | 'Warning', reason: string, message: string) {
    this.writes.push(`event ${reason}`);
    return super.event(resource, type, reason, message);
  }
  take(): { writes: string[]; reads: string[] } {
    return { writes: this.writes.splice(0), reads: this.reads.splice(0) };
  }
}

describeControlPlane('what a reconcile writes', (cp) => {
  let service: TestService;
  let kube: RecordingKubeApi;
  let reconciler: ApiKeyReconciler;
  let cache: ClusterCache;
  let clockOffsetMs = 0;
  let k: ReturnType<typeof kubeHelpers>;
  const ns = 'writes';

  beforeAll(async () => {
    service = await startTestService();
    k = kubeHelpers(cp());
    await cp().kubectl(['create', 'namespace', ns]);
    await k.apply([deploymentManifest(ns, 'web')]);
    const logger = operatorLogger('silent');
    // The operator's informers, without its queue: this test reconciles by hand.
    cache = new ClusterCache({ kubeConfig: cp().kubeConfig, namespaces: [ns], resyncMs: 600_000, onApiKey: () => {}, onSecret: () => {}, onResync: () => {}, onError: () => {} });
    await cache.start();
    kube = new RecordingKubeApi(cp().kubeConfig, logger, { written: cache });
    reconciler = new ApiKeyReconciler({
      kube,
      cache,
      keys: service.client(await operatorKey(service)),
      metrics: new OperatorMetrics(),
      logger,
      // Long: the key service is asked only when the spec changed, so each step below is deterministic.
      resyncMs: 600_000,
      deletionGiveUpMs: 5_000,
      clock: () => Date.now() + clockOffsetMs,
    });
  }, 60_000);
  afterAll(async () => {
    await cache?.stop();
    await service?.stop();
  });

  const patch = (name: string, body: object) => cp().kubectl(['patch', 'apikey', name, '-n', ns, '--type=merge', '-p', JSON.stringify(body)]);
  /** Reconciles once the cache holds what the API server holds (a change made with kubectl arrives by the watch). */
  const reconcile = async (name: string): Promise<{ result: ReconcileResult; writes: string[]; reads: string[] }> => {
    const current = (await k.apiKey(ns, name))!.metadata.resourceVersion;
    await until(`the cache to hold ${name} at resourceVersion ${current}`, async () => cache.apiKey(ns, name)?.metadata.resourceVersion === current);
    const result = await reconciler.reconcile(ns, name);
    return { result, ...kube.take() };
  };

  it('creating: finalizer, Secret, result (a first key records no intent); then the steady tail in one status patch; then nothing', async () => {
    await k.apply([
      apiKeyManifest(ns, 'web-api', {
        role: 'viewer',
        secret: { keys: { previous: 'API_KEY_PREVIOUS' } },
        rotation: { token: 't-1', overlap: '1h' },
        consumers: { restartTargets: [{ kind: 'Deployment', name: 'web' }] },
      }),
    ]);
    const created = await reconcile('web-api');
    expect(created.result).toMatchObject({ requeue: true });
    expect(created.writes).toEqual([
      'finalizers',
      'secret API_KEY,API_KEY_ID',
      'status conditions,history,keyId,lastRotationReason,lastRotationTime,nextRotationTime,observedGeneration,observedRotationToken,pending,previousKeys,secretName,sequence',
      'event Created',
    ]);
    expect(created.reads, 'ApiKey and Secret come from the cache').toEqual([]);

    const tail = await reconcile('web-api');
    expect(tail.result.requeue).toBeUndefined();
    expect(tail.writes).toEqual(['restart Deployment/web', 'event ConsumersRestarted', 'status consumersRestartedFor']);

    expect((await reconcile('web-api')).writes, 'a reconcile with nothing to do').toEqual([]);
    expect((await reconcile('web-api')).writes, 'and again').toEqual([]);
  });

  it('rotating, then everything at once (new key to restart for, overlap ended, spec changed): still one status patch; then nothing', async () => {
    await patch('web-api', { spec: { rotation: { token: 't-2' } } });
    const rotated = await reconcile('web-api');
    expect(rotated.result).toMatchObject({ requeue: true });
    // The intent is its own write (crash safety), the result another.
    expect(rotated.writes.filter((w) => w.startsWith('status'))).toEqual([
      'status conditions,pending',
      expect.stringMatching(/^status conditions,history,keyId,.*previousKeys,/),
    ]);
    expect(rotated.writes).toContain('secret API_KEY,API_KEY_ID,API_KEY_PREVIOUS');
    expect(rotated.reads, 'the one read: the secret value that becomes the previous one (the cache holds hashes only)').toEqual(['secret web-api']);
    const { status } = (await k.apiKey(ns, 'web-api'))!;
    expect(status?.previousKeys).toHaveLength(1);

    // Before the tail runs: the overlap ends on the operator's clock and the spec changes (the key's name, synced in place).
    clockOffsetMs += 2 * 3_600_000;
    await patch('web-api', { spec: { displayName: 'web api (renamed)' } });
    const tail = await reconcile('web-api');
    expect(tail.writes).toEqual([
      'event Updated',
      'restart Deployment/web',
      'event ConsumersRestarted',
      // The previous secret leaves the Secret, then the one status patch says all of it (the history records how the previous key ended).
      'secret -API_KEY_PREVIOUS',
      'status conditions,consumersRestartedFor,history,observedGeneration,previousKeys',
    ]);
    const after = (await k.apiKey(ns, 'web-api'))!;
    expect(after.status!.history![0]).toMatchObject({ keyId: after.status!.keyId, fromKeyId: expect.any(String), previousEnded: 'Expired' });
    expect(after.status).toMatchObject({ previousKeys: [], consumersRestartedFor: after.status!.keyId, observedGeneration: after.metadata.generation });
    expect(after.status!.conditions!.find((c) => c.type === 'Rotating')).toMatchObject({ status: 'False', reason: 'Idle', observedGeneration: after.metadata.generation });
    expect((await service.client().getKey(after.status!.keyId!)).name).toBe('web api (renamed)');

    expect((await reconcile('web-api')).writes, 'a reconcile with nothing to do').toEqual([]);
  });

  it('an invalid spec is said once (status and Event), not on every reconcile', async () => {
    // The CRD refuses what zod refuses (crd.test.ts), so an invalid spec reaches the operator only as an object stored
    // before a rule existed: the API server does not check stored objects again when a CRD gains a rule. That upgrade,
    // here: the CRD without the interval's ten-year rule, the object, then the CRD as it is.
    const older = apiKeyCrd();
    type Node = { properties: Record<string, Node> } & Record<string, unknown>;
    const rotation = (older.spec.versions[0]!.schema.openAPIV3Schema as unknown as Node).properties.spec!.properties.rotation!;
    delete rotation.properties.interval!['x-kubernetes-validations'];
    const tooLong = apiKeyManifest(ns, 'too-long', { role: 'viewer', rotation: { interval: '100000d' } });
    await k.apply([older]);
    try {
      // A CRD's new schema takes effect a moment after the write.
      await until('the CRD without the rule to be in effect', async () => {
        try {
          await k.apply([tooLong]);
          return true;
        } catch {
          return false;
        }
      });
    } finally {
      await k.apply([apiKeyCrd()]);
    }
    const refused = await reconcile('too-long');
    expect(refused.writes).toEqual(['finalizers', 'status conditions,observedGeneration', 'event InvalidSpec']);
    expect((await k.apiKey(ns, 'too-long'))!.status!.conditions).toEqual([
      { type: 'Ready', status: 'False', reason: 'InvalidSpec', message: expect.stringContaining('rotation.interval'), lastTransitionTime: expect.any(String), observedGeneration: 1 },
    ]);
    expect((await reconcile('too-long')).writes).toEqual([]);
  });
});
