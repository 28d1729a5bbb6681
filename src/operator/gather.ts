/**
 * Every read the reconciler makes, in one place: the ApiKey, its Secret, and
 * the key service's view of its key when that is due. Nothing here writes or
 * decides; the facts go to the pure policies (policy.ts, status.ts,
 * steady.ts). Reads that could come from informer caches, or be batched,
 * change here only.
 */
import type { V1Secret } from '@kubernetes/client-node';
import type { EffectiveApiKeySpec } from '../core/apikey.ts';
import { KeywardApiError, type KeywardClient, type KeyView } from '../client/index.ts';
import type { KubeApi } from './kube.ts';
import type { OperatorMetrics } from './metrics.ts';
import { keyCheckDue } from './policy.ts';
import { observeSecret } from './secret.ts';
import type { ApiKeyResource, ObservedKey, ObservedSecret } from './types.ts';

export interface SecretFacts {
  secret: V1Secret | undefined;
  observed: ObservedSecret;
}

export interface KeyFacts extends ObservedKey {
  /** Absent when the key service no longer has the key. */
  view?: KeyView;
}

export interface GathererOptions {
  kube: KubeApi;
  keys: KeywardClient;
  metrics: OperatorMetrics;
  resyncMs: number;
  clock: () => number;
}

export class Gatherer {
  readonly #kube: KubeApi;
  readonly #keys: KeywardClient;
  readonly #metrics: OperatorMetrics;
  readonly #resyncMs: number;
  readonly #clock: () => number;
  /** When the key service was last asked about each ApiKey's key (by uid). */
  readonly #keyCheckedAt = new Map<string, number>();

  constructor(options: GathererOptions) {
    this.#kube = options.kube;
    this.#keys = options.keys;
    this.#metrics = options.metrics;
    this.#resyncMs = options.resyncMs;
    this.#clock = options.clock;
  }

  apiKey(namespace: string, name: string): Promise<ApiKeyResource | undefined> {
    return this.#kube.getApiKey(namespace, name);
  }

  async secret(resource: ApiKeyResource, spec: EffectiveApiKeySpec): Promise<SecretFacts> {
    const secret = await this.#kube.getSecret(resource.metadata.namespace, spec.secretName);
    return { secret, observed: observeSecret(secret, spec) };
  }

  /**
   * The key service's view of the ApiKey's current key, when a check is due
   * (undefined otherwise). A key it no longer has is `missing`; any other
   * failure is thrown, for the caller to report and back off.
   */
  async keyIfDue(resource: ApiKeyResource): Promise<KeyFacts | undefined> {
    const keyId = resource.status?.keyId;
    if (!keyId) return undefined;
    const now = this.#clock();
    const specChanged = resource.status?.observedGeneration !== resource.metadata.generation;
    if (!keyCheckDue(this.#keyCheckedAt.get(resource.metadata.uid), now, this.#resyncMs, specChanged)) return undefined;
    this.#keyCheckedAt.set(resource.metadata.uid, now);
    try {
      const view = await this.#keys.getKey(keyId);
      this.#metrics.keyServiceUp.set(1);
      return { status: view.status, view };
    } catch (error) {
      if (error instanceof KeywardApiError && error.code === 'KEY_NOT_FOUND') return { status: 'missing' };
      throw error;
    }
  }

  /** When a key stops working (a rotated-from key's end of overlap); undefined when the key service cannot say. */
  async keyExpiry(keyId: string): Promise<string | undefined> {
    return (await this.#keys.getKey(keyId).catch(() => undefined))?.expiresAt ?? undefined;
  }

  /** The ApiKey is gone: forget what was remembered of it. */
  forget(resource: ApiKeyResource): void {
    this.#keyCheckedAt.delete(resource.metadata.uid);
  }
}
