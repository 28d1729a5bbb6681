/**
 * The operator's Kubernetes I/O, on @kubernetes/client-node 2.x: ApiKeys
 * (status and finalizers), their Secrets (server-side apply with a fixed field
 * manager), Events, and restart targets. Nothing here decides anything.
 */
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Secret,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { API_GROUP, API_KIND, API_PLURAL, API_VERSION } from '../core/apikey.ts';
import { FIELD_MANAGER, type ApiKeyResource, type StatusPatch } from './types.ts';

export const isNotFound = (error: unknown): boolean => error instanceof ApiException && error.code === 404;
export const isConflict = (error: unknown): boolean => error instanceof ApiException && error.code === 409;

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

export class KubeApi {
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly custom: CustomObjectsApi;
  readonly #logger: Logger;
  #eventFailureLogged = false;

  constructor(kubeConfig: KubeConfig, logger: Logger) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.apps = kubeConfig.makeApiClient(AppsV1Api);
    this.custom = kubeConfig.makeApiClient(CustomObjectsApi);
    this.#logger = logger;
  }

  async getApiKey(namespace: string, name: string): Promise<ApiKeyResource | undefined> {
    try {
      return (await this.custom.getNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace, plural: API_PLURAL, name })) as ApiKeyResource;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /**
   * Merge-patches the status, guarded by the resourceVersion we read: a
   * conflict means someone else moved first and we must look again.
   */
  async patchStatus(resource: ApiKeyResource, status: StatusPatch): Promise<ApiKeyResource> {
    return (await this.custom.patchNamespacedCustomObjectStatus(
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
    )) as ApiKeyResource;
  }

  async setFinalizers(resource: ApiKeyResource, finalizers: string[]): Promise<ApiKeyResource> {
    return (await this.custom.patchNamespacedCustomObject(
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
    )) as ApiKeyResource;
  }

  async getSecret(namespace: string, name: string): Promise<V1Secret | undefined> {
    try {
      return await this.core.readNamespacedSecret({ namespace, name });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
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
    return this.core.patchNamespacedSecret(
      { namespace: write.namespace, name: write.name, body, fieldManager: FIELD_MANAGER, force: true },
      applyPatch,
    );
  }

  /** Retain policy: the Secret outlives its ApiKey, so it must not be garbage-collected with it. */
  async orphanSecret(namespace: string, name: string): Promise<void> {
    try {
      await this.core.patchNamespacedSecret({ namespace, name, body: { metadata: { ownerReferences: null } }, fieldManager: FIELD_MANAGER }, mergePatch);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  async deleteSecret(namespace: string, name: string): Promise<void> {
    try {
      await this.core.deleteNamespacedSecret({ namespace, name });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  /** Rolls a workload by changing an annotation of its pod template (what `kubectl rollout restart` does). */
  async annotatePodTemplate(namespace: string, kind: 'Deployment' | 'StatefulSet' | 'DaemonSet', name: string, annotations: Record<string, string>): Promise<void> {
    const body = { spec: { template: { metadata: { annotations } } } };
    const param = { namespace, name, body, fieldManager: FIELD_MANAGER };
    if (kind === 'Deployment') await this.apps.patchNamespacedDeployment(param, mergePatch);
    else if (kind === 'StatefulSet') await this.apps.patchNamespacedStatefulSet(param, mergePatch);
    else await this.apps.patchNamespacedDaemonSet(param, mergePatch);
  }

  async event(resource: ApiKeyResource, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const now = new Date();
    try {
      await this.core.createNamespacedEvent({
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
      });
    } catch (error) {
      // Events are best effort: never fail a reconcile for one, but say so once (e.g. RBAC lacks events).
      if (!this.#eventFailureLogged) {
        this.#eventFailureLogged = true;
        this.#logger.warn({ err: (error as Error).message }, 'could not record an Event; further failures are not logged');
      }
    }
  }
}
