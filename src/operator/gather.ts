/**
 * Every read the reconciler makes, in one place: the ApiKey and its Secret
 * from the informer caches (cache.ts), and the key service's view of its key
 * when that is due, asked in batches (keystates.ts). Nothing here writes or
 * decides; the facts go to the pure policies (policy.ts, status.ts,
 * steady.ts). The API server is asked directly in two cases only, each said
 * where it happens: after a conflict, and for a secret value the cache does
 * not hold.
 */
import type { EffectiveApiKeySpec } from '../core/apikey.ts';
import type { KeyView } from '../client/index.ts';
import type { ClusterCache } from './cache.ts';
import type { KeyStates } from './keystates.ts';
import type { KubeApi } from './kube.ts';
import type { OperatorMetrics } from './metrics.ts';
import { keyCheckDue } from './policy.ts';
import { decode, observeSecret, type CachedSecret } from './secret.ts';
import type { ApiKeyResource, ObservedKey, ObservedSecret, PreviousKey } from './types.ts';
import { rolloutOf, type RetireFacts } from './retire.ts';

export interface SecretFacts {
  secret: CachedSecret | undefined;
  observed: ObservedSecret;
}

export interface KeyFacts extends ObservedKey {
  /** Absent when the key service no longer has the key. */
  view?: KeyView;
}

export interface GathererOptions {
  kube: KubeApi;
  cache: ClusterCache;
  keyStates: KeyStates;
  metrics: OperatorMetrics;
  resyncMs: number;
  clock: () => number;
}

const refOf = (namespace: string, name: string): string => `${namespace}/${name}`;

export class Gatherer {
  readonly #kube: KubeApi;
  readonly #cache: ClusterCache;
  readonly #keyStates: KeyStates;
  readonly #metrics: OperatorMetrics;
  readonly #resyncMs: number;
  readonly #clock: () => number;
  /** When the key service was last asked about each ApiKey's key (by uid). */
  readonly #keyCheckedAt = new Map<string, number>();
  /** ApiKeys whose last write met a conflict: the cache is behind another writer. */
  readonly #behind = new Set<string>();
  /** Keys the change feed said changed (revoked, compromised): their next check asks the key service afresh. */
  readonly #changed = new Set<string>();
  /** Keys the change feed reported compromised (bounded: only until their ApiKey has replaced them). */
  readonly #compromised = new Set<string>();

  constructor(options: GathererOptions) {
    this.#kube = options.kube;
    this.#cache = options.cache;
    this.#keyStates = options.keyStates;
    this.#metrics = options.metrics;
    this.#resyncMs = options.resyncMs;
    this.#clock = options.clock;
  }

  async apiKey(namespace: string, name: string): Promise<ApiKeyResource | undefined> {
    const ref = refOf(namespace, name);
    if (this.#behind.delete(ref)) {
      // Freshness required: a write of ours met a conflict, so someone changed the ApiKey after the version
      // the cache holds, and its watch event may not be here yet. Acting on the cache would conflict again.
      const fresh = await this.#kube.getApiKey(namespace, name);
      if (fresh) this.#cache.apiKeyFetched(fresh);
      return fresh ? this.#cache.apiKey(namespace, name) : undefined;
    }
    return this.#cache.apiKey(namespace, name);
  }

  /** A write to this ApiKey met a conflict: read it from the API server next time. */
  conflicted(namespace: string, name: string): void {
    this.#behind.add(refOf(namespace, name));
  }

  secret(resource: ApiKeyResource, spec: EffectiveApiKeySpec): SecretFacts {
    const secret = this.#cache.secret(resource.metadata.namespace, spec.secretName);
    return { secret, observed: observeSecret(secret, spec) };
  }

  /**
   * The secret value the Secret holds now, if it still holds `keyId` (a
   * rotation keeps it as the previous secret). From the API server: the cache
   * keeps hashes only, never a secret value. One GET per such rotation.
   */
  async currentSecretValue(resource: ApiKeyResource, spec: EffectiveApiKeySpec, keyId: string): Promise<string | undefined> {
    const secret = await this.#kube.getSecret(resource.metadata.namespace, spec.secretName);
    return decode(secret, spec.dataKeys.keyId) === keyId ? decode(secret, spec.dataKeys.secret) : undefined;
  }

  /**
   * The key service's view of the ApiKey's current key, when a check is due
   * (undefined otherwise). A key it no longer has is `missing`; any other
   * failure is thrown, for the caller to report and back off.
   */
  async keyIfDue(resource: ApiKeyResource): Promise<KeyFacts | undefined> {
    const keyId = resource.status?.keyId;
    // Due: once per resync period (the resync asked about every key at once), or when the spec changed.
    if (!keyId || !(this.#keyStates.prefetched(keyId) || this.#checkDue(resource))) return undefined;
    this.#keyCheckedAt.set(resource.metadata.uid, this.#clock());
    // A changed spec may need the key's settings synced, and a key the feed said changed its state: an answer from before will not do.
    const changed = this.#changed.delete(keyId);
    const view = await this.#keyStates.view(keyId, { fresh: changed || this.#specChanged(resource) });
    this.#metrics.keyServiceUp.set(1);
    if (!view) return { status: 'missing' };
    const compromised = this.#compromised.has(keyId);
    if (compromised && view.status === 'active') this.#compromised.delete(keyId);
    return { status: view.status, view, ...(compromised && view.status !== 'active' ? { compromised: true } : {}) };
  }

  /**
   * At a resync: ask the key service about every ApiKey's key at once (in
   * batches), before the reconciles that follow would ask one by one; each of
   * them takes its answer from there (even one issued just before, whose
   * check would only be due before the next resync).
   */
  prefetchKeys(resources: readonly ApiKeyResource[]): void {
    const keyIds = resources.filter((resource) => resource.status?.keyId && !resource.metadata.deletionTimestamp).map((resource) => resource.status!.keyId!);
    this.#keyStates.prefetch(keyIds);
  }

  /** A key was just issued for this ApiKey: the key service's answer counts as this period's check. */
  issued(resource: ApiKeyResource): void {
    this.#keyCheckedAt.set(resource.metadata.uid, this.#clock());
  }

  /**
   * For revokeOld WhenUnused with previous keys: the key service's view of
   * each previous key and of the current one, and each restart target's
   * rollout. One call per key and one read per target, only while a
   * transition is under way.
   */
  async retirementFacts(resource: ApiKeyResource, spec: EffectiveApiKeySpec, previousKeys: readonly PreviousKey[]): Promise<Omit<RetireFacts, 'spec' | 'previousKeys' | 'rotatedAt' | 'now'>> {
    // Fresh answers (their last uses move), asked in one batch.
    const view = async (keyId: string) => (await this.#keyStates.view(keyId, { fresh: true })) ?? undefined;
    const keyId = resource.status?.keyId;
    const [current, ...previous] = await Promise.all([keyId ? view(keyId) : undefined, ...previousKeys.map((p) => view(p.keyId))]);
    this.#metrics.keyServiceUp.set(1);
    const views = new Map(previous.filter((v): v is KeyView => v !== undefined).map((v) => [v.id, v]));
    const rollouts = await Promise.all(
      spec.restartTargets.map(async (target) => rolloutOf(target, await this.#kube.getWorkload(resource.metadata.namespace, target.kind, target.name))),
    );
    return { current, views, rollouts };
  }

  /** When a key stops working (a rotated-from key's end of overlap); undefined when the key service cannot say. */
  async keyExpiry(keyId: string): Promise<string | undefined> {
    return (await this.#keyStates.view(keyId, { fresh: true }).catch(() => undefined))?.expiresAt ?? undefined;
  }

  /**
   * The change feed said an ApiKey's key changed (revoked, compromised): ask
   * the key service about it at the next reconcile instead of at the next
   * resync.
   */
  keyChanged(uid: string, keyId: string, compromised: boolean): void {
    this.#keyCheckedAt.delete(uid);
    this.#changed.add(keyId);
    if (compromised) this.#compromised.add(keyId);
  }

  /** The ApiKey is gone: forget what was remembered of it. */
  forget(resource: ApiKeyResource): void {
    this.#keyCheckedAt.delete(resource.metadata.uid);
    if (resource.status?.keyId) {
      this.#keyStates.forget(resource.status.keyId);
      this.#compromised.delete(resource.status.keyId);
      this.#changed.delete(resource.status.keyId);
    }
  }

  #specChanged(resource: ApiKeyResource): boolean {
    return resource.status?.observedGeneration !== resource.metadata.generation;
  }

  #checkDue(resource: ApiKeyResource): boolean {
    return keyCheckDue(this.#keyCheckedAt.get(resource.metadata.uid), this.#clock(), this.#resyncMs, this.#specChanged(resource));
  }
}
