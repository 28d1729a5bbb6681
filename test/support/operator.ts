/**
 * The operator under test: the real key service (in-process, loopback) and the
 * real operator (in-process or as a `keyward operator` child process) against
 * the real control plane.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, type V1Secret } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import type { KeywardClient } from '../../src/client/index.ts';
import { Operator, type OperatorConfig } from '../../src/operator/operator.ts';
import type { ApiKeyResource } from '../../src/operator/types.ts';
import type { ControlPlane } from './controlplane.ts';
import type { TestService } from './keyservice.ts';

export async function operatorKey(service: TestService): Promise<string> {
  return (await service.client().createKey({ name: 'keyward operator', role: 'key-manager' })).secret;
}

export async function startOperator(cp: ControlPlane, service: Pick<TestService, 'url'>, apiKey: string, overrides: Partial<OperatorConfig> = {}): Promise<Operator> {
  const operator = new Operator({
    kubeConfig: cp.kubeConfig,
    keyServiceUrl: service.url,
    keyServiceApiKey: apiKey,
    namespaces: [],
    workers: 4,
    resyncMs: 2_000,
    leaderElection: null,
    metricsHost: '127.0.0.1',
    metricsPort: 0,
    deletionGiveUpMs: 5_000,
    log: () => {},
    ...overrides,
  });
  await operator.start();
  return operator;
}

export async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function kubeHelpers(cp: ControlPlane) {
  const core = cp.kubeConfig.makeApiClient(CoreV1Api);
  const custom = cp.kubeConfig.makeApiClient(CustomObjectsApi);
  return {
    core,
    async apply(objects: object[]): Promise<void> {
      const file = join(cp.dir, `apply-${Date.now()}-${Math.random().toString(36).slice(2)}.yaml`);
      writeFileSync(file, objects.map((o) => stringify(o)).join('---\n'));
      await cp.kubectl(['apply', '-f', file]);
    },
    async apiKey(namespace: string, name: string): Promise<ApiKeyResource | undefined> {
      try {
        return (await custom.getNamespacedCustomObject({ group: 'keyward.dev', version: 'v1alpha1', namespace, plural: 'apikeys', name })) as ApiKeyResource;
      } catch {
        return undefined;
      }
    },
    async secret(namespace: string, name: string): Promise<V1Secret | undefined> {
      try {
        return await core.readNamespacedSecret({ namespace, name });
      } catch {
        return undefined;
      }
    },
    value(secret: V1Secret | undefined, key: string): string | undefined {
      const raw = secret?.data?.[key];
      return raw === undefined ? undefined : Buffer.from(raw, 'base64').toString('utf8');
    },
    async events(namespace: string, name: string): Promise<{ reason: string; message: string; type: string }[]> {
      const list = await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` });
      return list.items.map((e) => ({ reason: e.reason ?? '', message: e.message ?? '', type: e.type ?? '' }));
    },
  };
}

export const apiKeyManifest = (namespace: string, name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'keyward.dev/v1alpha1',
  kind: 'ApiKey',
  metadata: { name, namespace },
  spec,
});

export async function verifies(client: KeywardClient, secret: string | undefined): Promise<string> {
  if (!secret) return 'NO_SECRET';
  return (await client.verify({ key: secret })).code;
}
