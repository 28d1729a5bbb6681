/**
 * What the operator asks of the API server, counted by the API server itself
 * (apiserver_request_total on its /metrics, by verb and resource), with the
 * real operator, key service and control plane: an issue (a first key, a
 * rotation) is three writes (and its Event) and no reads, and the Secret
 * cache holds only the Secrets the operator manages; an operator started
 * over ApiKeys that are all Ready writes nothing, reads only its lists and
 * asks the key service in one batch; a steady resync of many ApiKeys writes
 * nothing and reads nothing (the caches answer), and asks the key service in
 * batches; a watch restart lists again but queues only what changed. The test
 * itself reads through the operator's cache while it counts, so the counts
 * are the operator's (and the controller manager's, which leaves these
 * resources alone).
 */
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Operator } from '../../src/operator/operator.ts';
import type { ApiKeyResource } from '../../src/operator/types.ts';
import { describeControlPlane, startApiServerProxy, type ApiServerProxy } from '../support/controlplane.ts';
import { startTestService, type TestService } from '../support/keyservice.ts';
import {
  apiKeyManifest,
  apiServerRequests,
  capturedLogger,
  countOf,
  kubeHelpers,
  operatorKey,
  READ_VERBS,
  requestsBetween,
  settled,
  startOperator,
  until,
  WRITE_VERBS,
} from '../support/operator.ts';

const RESOURCES = ['apikeys', 'apikeys/status', 'secrets', 'events'];
const isReady = (resource: ApiKeyResource | undefined): boolean =>
  !!resource?.status?.keyId && !resource.status.pending && resource.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

describeControlPlane('what the operator asks of the API server', (cp) => {
  let service: TestService;
  let apiKey: string;
  let k: ReturnType<typeof kubeHelpers>;
  let custom: CustomObjectsApi;

  beforeAll(async () => {
    service = await startTestService();
    apiKey = await operatorKey(service);
    k = kubeHelpers(cp());
    custom = cp().kubeConfig.makeApiClient(CustomObjectsApi);
    for (const ns of ['issue', 'rotate', 'steady', 'started', 'restart']) await cp().kubectl(['create', 'namespace', ns]);
  }, 60_000);
  afterAll(async () => {
    await service?.stop();
  });

  const create = (ns: string, name: string) =>
    custom.createNamespacedCustomObject({ group: 'keyward.dev', version: 'v1alpha1', namespace: ns, plural: 'apikeys', body: apiKeyManifest(ns, name, { role: 'viewer' }) });
  /** Waits, reading the operator's cache only (no request to the API server), until these ApiKeys are Ready and the operator has settled. */
  const allReady = async (operator: Operator, ns: string, names: readonly string[]) => {
    await until(`${names.length} ApiKeys in ${ns} to be Ready`, async () => names.every((name) => isReady(operator.cache.apiKey(ns, name))), 120_000, 50);
    await settled(operator);
  };
  /** One metric's samples from a Prometheus text exposition, summed by the key `by` makes of their labels. */
  const sumBy = (text: string, metric: string, by: (labels: Record<string, string>) => string | undefined): Map<string, number> => {
    const sums = new Map<string, number>();
    for (const [, labelText, value] of text.matchAll(new RegExp(`^${metric}\\{([^}]*)\\} (\\S+)$`, 'gm'))) {
      const key = by(Object.fromEntries([...labelText!.matchAll(/(\w+)="([^"]*)"/g)].map(([, name, v]) => [name!, v!])));
      if (key !== undefined) sums.set(key, (sums.get(key) ?? 0) + Number(value));
    }
    return sums;
  };
  /** Counts from the key service's own metrics: requests by route. */
  const keyServiceRequests = async (): Promise<Map<string, number>> => {
    const text = await (await fetch(`${service.url}/metrics`, { headers: { authorization: `Bearer ${service.adminSecret}` } })).text();
    return sumBy(text, 'keyward_http_requests_total', (l) => `${l.method} ${l.route}`);
  };
  /** From the operator's own /metrics: its requests to the API server (verb and resource, answered 2xx), its caches' objects and bytes by kind. */
  const operatorMetrics = async (operator: Operator) => {
    const text = await (await fetch(`${operator.metricsUrl}/metrics`)).text();
    const byKind = (l: Record<string, string>) => l.kind;
    return {
      kubeRequests: Object.fromEntries(sumBy(text, 'keyward_operator_kube_requests_total', (l) => (l.code === '2xx' ? `${l.verb} ${l.resource}` : undefined))),
      cacheObjects: Object.fromEntries(sumBy(text, 'keyward_operator_cache_objects', byKind)),
      cacheBytes: Object.fromEntries(sumBy(text, 'keyward_operator_cache_bytes', byKind)),
    };
  };
  const delta = (before: Map<string, number>, after: Map<string, number>, key: string) => (after.get(key) ?? 0) - (before.get(key) ?? 0);

  it('issuing a first key: three writes (finalizer, Secret, status) and its Event; no reads', async () => {
    // A Secret the operator does not manage (no managed-by label): its Secret cache must not hold it.
    await cp().kubectl(['create', 'secret', 'generic', 'not-ours', '-n', 'issue', '--from-literal=password=not-for-the-operator']);
    const operator = await startOperator(cp(), service, apiKey, { namespaces: ['issue'], resyncMs: 600_000 });
    try {
      const before = await apiServerRequests(cp());
      await create('issue', 'one');
      await allReady(operator, 'issue', ['one']);
      const served = requestsBetween(before, await apiServerRequests(cp()), RESOURCES);
      expect(served).toEqual({
        'POST apikeys': 1, // the test's create
        'PATCH apikeys': 1, // the finalizer
        'APPLY secrets': 1,
        'PATCH apikeys/status': 1, // the result: Ready
        'POST events': 1, // Created
      });
      expect(countOf(served, READ_VERBS), 'the ApiKey and its Secret come from the caches').toBe(0);

      // What the operator reports on its own /metrics: the same requests as the API server counted (all but the
      // test's create), and what its caches hold.
      const reported = await operatorMetrics(operator);
      const { 'POST apikeys': _created, ...operatorsOwn } = served;
      expect(reported.kubeRequests).toEqual(operatorsOwn);
      expect(reported.cacheObjects, 'the Secret it wrote, not the one it does not manage').toEqual({ ApiKey: 1, Secret: 1 });
      expect(reported.cacheBytes.ApiKey).toBeGreaterThan(0);
      expect(reported.cacheBytes.Secret).toBeGreaterThan(0);
    } finally {
      await operator.stop();
    }
  });

  it('a rotation (a token bump): three writes (intent, Secret, status) and its Event; no reads', async () => {
    const operator = await startOperator(cp(), service, apiKey, { namespaces: ['rotate'], resyncMs: 600_000 });
    try {
      await create('rotate', 'bumped');
      await allReady(operator, 'rotate', ['bumped']);
      const first = operator.cache.apiKey('rotate', 'bumped')!.status!.keyId;

      const before = await apiServerRequests(cp());
      // Through the API (one PATCH), not kubectl, which reads the object before it patches.
      await custom.patchNamespacedCustomObject(
        { group: 'keyward.dev', version: 'v1alpha1', namespace: 'rotate', plural: 'apikeys', name: 'bumped', body: { spec: { rotation: { token: 't-2' } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      await until('the rotation to a new key', async () => {
        const resource = operator.cache.apiKey('rotate', 'bumped');
        return isReady(resource) && resource!.status!.keyId !== first && resource!.status!.observedRotationToken === 't-2';
      });
      await settled(operator);
      const served = requestsBetween(before, await apiServerRequests(cp()), RESOURCES);
      expect(served).toEqual({
        'PATCH apikeys': 1, // the test's token bump
        'PATCH apikeys/status': 2, // the intent (crash safety), then the result
        'APPLY secrets': 1,
        'POST events': 1, // Rotated
      });
    } finally {
      await operator.stop();
    }
  });

  it('an operator started over ApiKeys that are all Ready writes nothing, reads only its two lists, and asks the key service in one batch', async () => {
    const names = Array.from({ length: 30 }, (_, i) => `started-${i}`);
    const first = await startOperator(cp(), service, apiKey, { namespaces: ['started'], resyncMs: 600_000 });
    try {
      for (const name of names) await create('started', name);
      await allReady(first, 'started', names);
    } finally {
      await first.stop();
    }

    const before = await apiServerRequests(cp());
    const serviceBefore = await keyServiceRequests();
    // As after a roll-out or a fail-over: a fresh operator, empty caches, every ApiKey looked at once.
    const operator = await startOperator(cp(), service, apiKey, { namespaces: ['started'], resyncMs: 600_000 });
    try {
      const reconciles = async () => (await operator.metrics.reconcileTotal.get()).values.reduce((sum, v) => sum + v.value, 0);
      await until(`all ${names.length} ApiKeys reconciled`, async () => (await reconciles()) >= names.length, 60_000, 50);
      await settled(operator);
      const served = requestsBetween(before, await apiServerRequests(cp()), RESOURCES);
      const serviceAfter = await keyServiceRequests();

      expect(countOf(served, WRITE_VERBS), JSON.stringify(served)).toBe(0);
      expect(
        Object.fromEntries(Object.entries(served).filter(([key]) => READ_VERBS.some((verb) => key.startsWith(`${verb} `)))),
        'reads: the informers\' lists, nothing per ApiKey',
      ).toEqual({ 'LIST apikeys': 1, 'LIST secrets': 1 });
      expect(delta(serviceBefore, serviceAfter, 'POST /v1/keys/batch-get'), 'one batch for all 30 keys').toBe(1);
      expect(delta(serviceBefore, serviceAfter, 'GET /v1/keys/:id'), 'one key at a time').toBe(0);
    } finally {
      await operator.stop();
    }
  });

  it('a steady resync of many ApiKeys writes nothing, reads nothing, and asks the key service in batches', async () => {
    const names = Array.from({ length: 40 }, (_, i) => `steady-${i}`);
    // Resync every second; the key service is asked about each key once per resync.
    const operator = await startOperator(cp(), service, apiKey, { namespaces: ['steady'], resyncMs: 1_000 });
    try {
      for (const name of names) await create('steady', name);
      await allReady(operator, 'steady', names);

      const resyncs = () => operator.metrics.resyncs.get().then((m) => m.values[0]?.value ?? 0);
      const before = await apiServerRequests(cp());
      const serviceBefore = await keyServiceRequests();
      const start = await resyncs();
      await until('three resyncs', async () => (await resyncs()) >= start + 3, 30_000, 50);
      await settled(operator);
      const served = requestsBetween(before, await apiServerRequests(cp()), RESOURCES);
      const serviceAfter = await keyServiceRequests();
      const passes = (await resyncs()) - start;

      expect(countOf(served, WRITE_VERBS), JSON.stringify(served)).toBe(0);
      expect(countOf(served, READ_VERBS), `reads: ${JSON.stringify(served)}`).toBe(0);
      // One batch per resync (40 keys fit in one), never one request per key.
      const batches = delta(serviceBefore, serviceAfter, 'POST /v1/keys/batch-get');
      expect(batches).toBeGreaterThanOrEqual(passes - 1);
      expect(batches).toBeLessThanOrEqual(passes + 1);
      expect(delta(serviceBefore, serviceAfter, 'GET /v1/keys/:id'), 'one key at a time').toBe(0);
    } finally {
      await operator.stop();
    }
  });

  it('a watch restart lists again and queues only the ApiKey that changed', async () => {
    let proxy: ApiServerProxy | undefined;
    let operator: Operator | undefined;
    const names = Array.from({ length: 20 }, (_, i) => `restart-${i}`);
    try {
      proxy = await startApiServerProxy(cp());
      const { logger, lines } = capturedLogger();
      operator = await startOperator(cp(), service, apiKey, { kubeConfig: proxy.kubeConfig, namespaces: ['restart'], resyncMs: 600_000, logger });
      for (const name of names) await create('restart', name);
      await allReady(operator, 'restart', names);

      const adds = () => operator!.metrics.queueAdds.get().then((m) => m.values[0]?.value ?? 0);
      const addsBefore = await adds();
      const listsBefore = operator.cache.informerStats.lists;
      const before = await apiServerRequests(cp());

      // Break every connection of the operator; change one ApiKey while its watches are down.
      expect(proxy.reset()).toBeGreaterThan(0);
      await cp().kubectl(['patch', 'apikey', 'restart-7', '-n', 'restart', '--type=merge', '-p', JSON.stringify({ spec: { displayName: 'changed while the watch was down' } })]);
      await until('both watches to fail and be restarted', async () => lines.filter((l) => / watch failed; restarting$/.test(l.message)).length >= 2);
      await until('the informers to list again', async () => operator!.cache.informerStats.lists >= listsBefore + 2);
      await until('the changed ApiKey (its generation 2) to be reconciled', async () => {
        const changed = operator!.cache.apiKey('restart', 'restart-7');
        return changed?.metadata.generation === 2 && changed.status?.observedGeneration === 2;
      });
      await settled(operator);

      expect((await adds()) - addsBefore, 'ApiKeys queued after the restart').toBe(1);
      const served = requestsBetween(before, await apiServerRequests(cp()), RESOURCES);
      expect(served['LIST apikeys'], 'the ApiKey watch listed again').toBeGreaterThanOrEqual(1);
      expect(served['LIST secrets'], 'the Secret watch listed again').toBeGreaterThanOrEqual(1);
      // The writes: the test's patch, and the operator's for that one change (its observed generation, and the
      // Event for the key renamed at the key service). Nothing for the 19 that did not change.
      const writes = Object.fromEntries(Object.entries(served).filter(([key]) => WRITE_VERBS.some((verb) => key.startsWith(`${verb} `))));
      expect(writes).toEqual({ 'PATCH apikeys': 1, 'PATCH apikeys/status': 1, 'POST events': 1 });
    } finally {
      await operator?.stop();
      await proxy?.close();
    }
  });
});
