/**
 * The watch watchdog (src/operator/watch.ts) against the real API server,
 * through a TCP proxy the test breaks: a watch whose connection is reset is
 * restarted and the operator reconciles what was created meanwhile; a watch
 * whose connection stays open but falls silent is restarted once it has been
 * quiet for `silentMs`, and what changed meanwhile is reported; a restarted
 * informer lists again (in pages) and reports only the differences.
 */
import { CoreV1Api, PatchStrategy, setHeaderOptions, type V1ConfigMap } from '@kubernetes/client-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Operator } from '../../src/operator/operator.ts';
import { ResilientInformer } from '../../src/operator/watch.ts';
import { describeControlPlane, startApiServerProxy, type ApiServerProxy } from '../support/controlplane.ts';
import { startTestService, type TestService } from '../support/keyservice.ts';
import { apiKeyManifest, capturedLogger, kubeHelpers, operatorKey, startOperator, until, verifies } from '../support/operator.ts';

describeControlPlane('watches that fail or fall silent', (cp) => {
  let proxy: ApiServerProxy;
  let service: TestService;
  let k: ReturnType<typeof kubeHelpers>;

  beforeAll(async () => {
    proxy = await startApiServerProxy(cp());
    service = await startTestService();
    k = kubeHelpers(cp());
    await cp().kubectl(['create', 'namespace', 'watched']);
    await cp().kubectl(['create', 'namespace', 'quiet']);
  }, 60_000);
  afterAll(async () => {
    await proxy?.close();
    await service?.stop();
  });

  it('a watch whose connection is reset is restarted: an ApiKey created afterwards is reconciled', async () => {
    const { logger, lines: logged } = capturedLogger();
    let operator: Operator | undefined;
    try {
      operator = await startOperator(cp(), service, await operatorKey(service), {
        kubeConfig: proxy.kubeConfig,
        namespaces: ['watched'],
        resyncMs: 60_000,
        logger,
      });
      await k.apply([apiKeyManifest('watched', 'before', { role: 'viewer' })]);
      await until('the first ApiKey to get its key', async () => (await k.apiKey('watched', 'before'))?.status?.keyId);

      expect(proxy.reset(), 'connections of the operator through the proxy').toBeGreaterThan(0);
      const restart = await until('the ApiKey watch to be restarted', async () => logged.find((l) => l.message === 'ApiKey watch failed; restarting'));
      expect(restart.fields?.restartInMs).toEqual(expect.any(Number));

      // Only a running watch (or a relist) brings news of it: the resync walks the cache alone, and is a minute away.
      await k.apply([apiKeyManifest('watched', 'after', { role: 'viewer' })]);
      const after = await until('the ApiKey created after the reset to get its key', async () => (await k.apiKey('watched', 'after'))?.status?.keyId);
      const gateway = service.client((await service.client().createKey({ name: 'gateway', role: 'verifier' })).secret);
      expect(await verifies(gateway, k.value(await k.secret('watched', 'after'), 'API_KEY'))).toBe('VALID');
      expect(k.value(await k.secret('watched', 'after'), 'API_KEY_ID')).toBe(after);
    } finally {
      await operator?.stop();
    }
  }, 60_000);

  it('a watch that falls silent (connection open, nothing arrives) is restarted by the watchdog, and a change made meanwhile is reported', async () => {
    const core = proxy.kubeConfig.makeApiClient(CoreV1Api);
    const admin = cp().kubeConfig.makeApiClient(CoreV1Api);
    /** What the informer did, in order. */
    const trail: string[] = [];
    const informer = new ResilientInformer<V1ConfigMap>({
      kubeConfig: proxy.kubeConfig,
      path: '/api/v1/namespaces/quiet/configmaps',
      list: () => core.listNamespacedConfigMap({ namespace: 'quiet' }),
      onChange: (object, type) => void trail.push(`${type} ${object.metadata?.name}`),
      onError: (error) => void trail.push(`restart: ${(error as Error).message}`),
      silentMs: 2_000,
    });
    await informer.start();
    try {
      await admin.createNamespacedConfigMap({ namespace: 'quiet', body: { metadata: { name: 'before' } } });
      await until('the watch to report the first ConfigMap', async () => trail.includes('add before'));

      expect(proxy.freeze(), 'the watch connection').toBeGreaterThan(0);
      const frozenAt = trail.length;
      await admin.createNamespacedConfigMap({ namespace: 'quiet', body: { metadata: { name: 'during' } } });
      // client-node's own inactivity timeout is 30 s: the watchdog must come first.
      await until('the ConfigMap created while the watch was silent', async () => trail.includes('add during'), 20_000);
      const since = trail.slice(frozenAt);
      expect(since.indexOf('restart: watch silent'), since.join('\n')).toBeGreaterThanOrEqual(0);
      expect(since.indexOf('restart: watch silent')).toBeLessThan(since.indexOf('add during'));
      expect(informer.restarts).toBeGreaterThanOrEqual(1);
    } finally {
      await informer.stop();
    }
  });

  it('after a failure the informer lists again and reports only what changed meanwhile: one update, one delete, one add', async () => {
    const core = proxy.kubeConfig.makeApiClient(CoreV1Api);
    const admin = cp().kubeConfig.makeApiClient(CoreV1Api);
    await cp().kubectl(['create', 'namespace', 'relisted']);
    for (let i = 0; i < 10; i++) await admin.createNamespacedConfigMap({ namespace: 'relisted', body: { metadata: { name: `cm-${i}` }, data: { v: '1' } } });
    const trail: string[] = [];
    const informer = new ResilientInformer<V1ConfigMap>({
      kubeConfig: proxy.kubeConfig,
      path: '/api/v1/namespaces/relisted/configmaps',
      // Pages of 3: the relist takes four requests and must still be one snapshot.
      pageSize: 3,
      list: ({ limit, continue: token }) => core.listNamespacedConfigMap({ namespace: 'relisted', limit, _continue: token }),
      onChange: (object, type) => void trail.push(`${type} ${object.metadata?.name}`),
      onError: (error) => void trail.push(`restart: ${(error as Error).message}`),
      silentMs: 600_000,
    });
    await informer.start();
    try {
      expect(trail.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `add cm-${i}`).sort());
      expect(informer.lists).toBe(1);
      trail.length = 0;

      // The watch fails (its connection reset); while it is down, one ConfigMap changes, one goes, one comes.
      expect(proxy.reset()).toBeGreaterThan(0);
      await admin.patchNamespacedConfigMap({ namespace: 'relisted', name: 'cm-3', body: { data: { v: '2' } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
      await admin.deleteNamespacedConfigMap({ namespace: 'relisted', name: 'cm-5' });
      await admin.createNamespacedConfigMap({ namespace: 'relisted', body: { metadata: { name: 'cm-new' } } });
      await until('the three changes to be reported', async () => ['update cm-3', 'delete cm-5', 'add cm-new'].every((line) => trail.includes(line)));
      expect(informer.lists, 'it listed again').toBe(2);
      expect(trail.filter((line) => !line.startsWith('restart:')).sort()).toEqual(['add cm-new', 'delete cm-5', 'update cm-3']);
      expect(informer.list().map((o) => o.metadata?.name).sort()).toEqual(['cm-0', 'cm-1', 'cm-2', 'cm-3', 'cm-4', 'cm-6', 'cm-7', 'cm-8', 'cm-9', 'cm-new']);
    } finally {
      await informer.stop();
    }
  });
});
