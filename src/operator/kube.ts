/**
 * The operator's Kubernetes requests, on @kubernetes/client-node 2.x: ApiKeys
 * (status and finalizers), their Secrets (server-side apply with a fixed field
 * manager), Events, and restart targets. Nothing here decides anything. Every
 * request waits for its turn in the --kube-api-qps/--kube-api-burst budget
 * and is counted; what a write returns is handed to the cache, so the next
 * read sees the operator's own write before its watch event arrives. The
 * reconciler reads through gather.ts; the two GETs here serve it where the
 * cache cannot (see there).
 */
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1DaemonSet,
  type V1Deployment,
  type V1ConfigMap,
  type V1Secret,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { API_GROUP, API_KIND, API_PLURAL, API_VERSION } from '../core/apikey.ts';
import type { OperatorMetrics } from './metrics.ts';
import { FIELD_MANAGER, type ApiKeyResource, type StatusPatch } from './types.ts';

export const isNotFound = (error: unknown): boolean => error instanceof ApiException && error.code === 404;
export const isConflict = (error: unknown): boolean => error instanceof ApiException && error.code === 409;

/**
 * A 404 about the ApiKey itself (the API server's Status names its kind and
 * name): it was deleted while a reconcile of it ran, which is not a failure.
 */
export function isApiKeyGone(error: unknown, name: string): boolean {
  if (!isNotFound(error)) return false;
  const body: unknown = (error as ApiException<unknown>).body;
  try {
    const status = (typeof body === 'string' ? JSON.parse(body) : body) as { details?: { kind?: string; name?: string } } | null;
    return status?.details?.kind === API_PLURAL && status.details.name === name;
  } catch {
    return false;
  }
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const applyPatch = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);

export interface SecretWrite {
  namespace: string;
  name: string;
  data: Record<string, string>;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  owner: ApiKeyResource | null;
}

/**
 * Told of each write before it is sent, and then of its answer (the object as
 * written, or undefined when it failed): the cache lays the answer over what
 * its watch has brought so far, and knows the write's own watch event when it
 * comes (often before the answer).
 */
export interface WriteObserver {
  writing(kind: 'ApiKey' | 'Secret', namespace: string, name: string): (answer: ApiKeyResource | V1Secret | undefined) => void;
}

export interface KubeApiOptions {
  /** Resolves when a request may go (a token bucket: --kube-api-qps, --kube-api-burst). */
  limit?: () => Promise<unknown>;
  written?: WriteObserver;
  metrics?: OperatorMetrics;
}

export class KubeApi {
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly custom: CustomObjectsApi;
  readonly #logger: Logger;
  readonly #limit: () => Promise<unknown>;
  readonly #written: WriteObserver | undefined;
  readonly #metrics: OperatorMetrics | undefined;
  #eventFailureLogged = false;

  constructor(kubeConfig: KubeConfig, logger: Logger, options: KubeApiOptions = {}) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.apps = kubeConfig.makeApiClient(AppsV1Api);
    this.custom = kubeConfig.makeApiClient(CustomObjectsApi);
    this.#logger = logger;
    this.#limit = options.limit ?? (() => Promise.resolve());
    this.#written = options.written;
    this.#metrics = options.metrics;
  }

  /** One request: its turn in the budget, then the call, counted by verb, resource and outcome. */
  /** One GET within the request budget; undefined when the object does not exist. */
  async #getIfExists<R>(resource: string, read: () => Promise<R>): Promise<R | undefined> {
    try {
      return await this.#request('GET', resource, read);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async #request<R>(verb: string, resource: string, call: () => Promise<R>): Promise<R> {
    await this.#limit();
    try {
      const result = await call();
      this.#metrics?.kubeRequests.inc({ verb, resource, code: '2xx' });
      return result;
    } catch (error) {
      this.#metrics?.kubeRequests.inc({ verb, resource, code: error instanceof ApiException ? String(error.code) : 'error' });
      throw error;
    }
  }

  /** A write of one object: the observer is told before it goes and of its answer. */
  async #write<R extends ApiKeyResource | V1Secret>(kind: 'ApiKey' | 'Secret', namespace: string, name: string, verb: string, resource: string, call: () => Promise<unknown>): Promise<R> {
    const answered = this.#written?.writing(kind, namespace, name);
    try {
      const object = (await this.#request(verb, resource, call)) as R;
      answered?.(object);
      return object;
    } catch (error) {
      answered?.(undefined);
      throw error;
    }
  }

  async getApiKey(namespace: string, name: string): Promise<ApiKeyResource | undefined> {
    return (await this.#getIfExists('apikeys', () => this.custom.getNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace, plural: API_PLURAL, name }))) as
      | ApiKeyResource
      | undefined;
  }

  /**
   * Merge-patches the status, guarded by the resourceVersion we read: a
   * conflict means someone else moved first and we must look again.
   */
  async patchStatus(resource: ApiKeyResource, status: StatusPatch): Promise<ApiKeyResource> {
    const { namespace, name } = resource.metadata;
    return this.#write<ApiKeyResource>('ApiKey', namespace, name, 'PATCH', 'apikeys/status', () =>
      this.custom.patchNamespacedCustomObjectStatus(
        {
          group: API_GROUP,
          version: API_VERSION,
          namespace: resource.metadata.namespace,
          plural: API_PLURAL,
          name: resource.metadata.name,
          body: { metadata: { resourceVersion: resource.metadata.resourceVersion }, status },
          fieldManager: FIELD_MANAGER,
        },
        mergePatch,
      ),
    );
  }

  async setFinalizers(resource: ApiKeyResource, finalizers: string[]): Promise<ApiKeyResource> {
    const { namespace, name } = resource.metadata;
    return this.#write<ApiKeyResource>('ApiKey', namespace, name, 'PATCH', 'apikeys', () =>
      this.custom.patchNamespacedCustomObject(
        {
          group: API_GROUP,
          version: API_VERSION,
          namespace: resource.metadata.namespace,
          plural: API_PLURAL,
          name: resource.metadata.name,
          body: { metadata: { resourceVersion: resource.metadata.resourceVersion, finalizers } },
          fieldManager: FIELD_MANAGER,
        },
        mergePatch,
      ),
    );
  }

  getSecret(namespace: string, name: string): Promise<V1Secret | undefined> {
    return this.#getIfExists('secrets', () => this.core.readNamespacedSecret({ namespace, name }));
  }

  /** Server-side apply: the operator owns exactly the fields it sets. */
  async applySecret(write: SecretWrite): Promise<V1Secret> {
    const ownerReferences = write.owner
      ? [
          {
            apiVersion: write.owner.apiVersion ?? `${API_GROUP}/${API_VERSION}`,
            kind: write.owner.kind ?? API_KIND,
            name: write.owner.metadata.name,
            uid: write.owner.metadata.uid,
            controller: true,
            blockOwnerDeletion: false,
          },
        ]
      : undefined;
    const body = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: { name: write.name, namespace: write.namespace, labels: write.labels, annotations: write.annotations, ...(ownerReferences ? { ownerReferences } : {}) },
      data: Object.fromEntries(Object.entries(write.data).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')])),
    };
    return this.#write<V1Secret>('Secret', write.namespace, write.name, 'APPLY', 'secrets', () =>
      this.core.patchNamespacedSecret({ namespace: write.namespace, name: write.name, body, fieldManager: FIELD_MANAGER, force: true }, applyPatch),
    );
  }

  /** One ConfigMap (the operator's published role ids), undefined when there is none. */
  getConfigMap(namespace: string, name: string): Promise<V1ConfigMap | undefined> {
    return this.#getIfExists('configmaps', () => this.core.readNamespacedConfigMap({ namespace, name }));
  }

  /** The operator's own ConfigMap (the published role ids, role-admission.ts), by server-side apply. */
  async applyConfigMap(body: { metadata: { name: string; namespace: string } }): Promise<void> {
    const { name, namespace } = body.metadata;
    await this.#request('APPLY', 'configmaps', () => this.core.patchNamespacedConfigMap({ namespace, name, body, fieldManager: FIELD_MANAGER, force: true }, applyPatch));
  }

  /** Takes entries out of a Secret (a previous secret whose overlap ended), without rewriting the others: the cache does not hold their values. */
  async removeSecretEntries(namespace: string, name: string, entries: readonly string[]): Promise<V1Secret> {
    const body = { data: Object.fromEntries(entries.map((entry) => [entry, null])) };
    return this.#write<V1Secret>('Secret', namespace, name, 'PATCH', 'secrets', () => this.core.patchNamespacedSecret({ namespace, name, body, fieldManager: FIELD_MANAGER }, mergePatch));
  }

  /** Retain policy: the Secret outlives its ApiKey, so it must not be garbage-collected with it. */
  async orphanSecret(namespace: string, name: string): Promise<void> {
    try {
      await this.#write('Secret', namespace, name, 'PATCH', 'secrets', () =>
        this.core.patchNamespacedSecret({ namespace, name, body: { metadata: { ownerReferences: null } }, fieldManager: FIELD_MANAGER }, mergePatch),
      );
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  async deleteSecret(namespace: string, name: string): Promise<void> {
    try {
      await this.#request('DELETE', 'secrets', () => this.core.deleteNamespacedSecret({ namespace, name }));
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  /** A restart target as it is now (its rollout status), undefined when it does not exist. */
  getWorkload(namespace: string, kind: 'Deployment' | 'StatefulSet' | 'DaemonSet', name: string): Promise<V1Deployment | V1StatefulSet | V1DaemonSet | undefined> {
    // Within the request budget, like every request of the reconciler (not cached: only WhenUnused transitions read workloads).
    const resource = `${kind.toLowerCase()}s`;
    if (kind === 'Deployment') return this.#getIfExists(resource, () => this.apps.readNamespacedDeployment({ namespace, name }));
    if (kind === 'StatefulSet') return this.#getIfExists(resource, () => this.apps.readNamespacedStatefulSet({ namespace, name }));
    return this.#getIfExists(resource, () => this.apps.readNamespacedDaemonSet({ namespace, name }));
  }

  async annotatePodTemplate(namespace: string, kind: 'Deployment' | 'StatefulSet' | 'DaemonSet', name: string, annotations: Record<string, string>): Promise<void> {
    const body = { spec: { template: { metadata: { annotations } } } };
    const param = { namespace, name, body, fieldManager: FIELD_MANAGER };
    await this.#request('PATCH', `${kind.toLowerCase()}s`, async () => {
      if (kind === 'Deployment') await this.apps.patchNamespacedDeployment(param, mergePatch);
      else if (kind === 'StatefulSet') await this.apps.patchNamespacedStatefulSet(param, mergePatch);
      else await this.apps.patchNamespacedDaemonSet(param, mergePatch);
    });
  }

  async event(resource: ApiKeyResource, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const now = new Date();
    try {
      await this.#request('POST', 'events', () =>
        this.core.createNamespacedEvent({
          namespace: resource.metadata.namespace,
          body: {
            metadata: { generateName: `${resource.metadata.name}.`, namespace: resource.metadata.namespace },
            involvedObject: {
              apiVersion: `${API_GROUP}/${API_VERSION}`,
              kind: API_KIND,
              name: resource.metadata.name,
              namespace: resource.metadata.namespace,
              uid: resource.metadata.uid,
              resourceVersion: resource.metadata.resourceVersion,
            },
            type,
            reason,
            message: message.slice(0, 1024),
            source: { component: 'keyward-operator' },
            firstTimestamp: now,
            lastTimestamp: now,
            count: 1,
          },
        }),
      );
    } catch (error) {
      // Events are best effort: never fail a reconcile for one, but say so once (e.g. RBAC lacks events).
      if (!this.#eventFailureLogged) {
        this.#eventFailureLogged = true;
        this.#logger.warn({ err: (error as Error).message }, 'could not record an Event; further failures are not logged');
      }
    }
  }
}
