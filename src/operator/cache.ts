/**
 * What the operator knows of the cluster, kept by informers: the ApiKeys (of
 * the watched namespaces) and the Secrets it manages (only those: selected by
 * its managed-by label). Each is cached slim — an ApiKey without its
 * managedFields and last-applied annotation, a Secret as hashes (secret.ts,
 * CachedSecret) — and the operator's own writes are laid over the informers
 * until their watch events arrive, so a reconcile right after a write reads
 * what it wrote, not the version before (which would cost a conflict, or a
 * needless re-issue when the Secret looked stale). Reads go through
 * gather.ts; this module only keeps.
 */
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type KubernetesListObject, type V1Secret } from '@kubernetes/client-node';
import { API_GROUP, API_PLURAL, API_VERSION } from '../core/apikey.ts';
import type { WriteObserver } from './kube.ts';
import type { OperatorMetrics } from './metrics.ts';
import { cachedSecret, type CachedSecret } from './secret.ts';
import { ANNOTATION_OWNER, MANAGED_BY, MANAGED_BY_LABEL, type ApiKeyResource } from './types.ts';
import { ResilientInformer, type Cached, type ChangeType } from './watch.ts';

export type { CachedSecret } from './secret.ts';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** The informer's transform for ApiKeys: everything the reconciler reads, without managedFields and kubectl's copy of the spec. */
export function slimApiKey(object: ApiKeyResource): ApiKeyResource {
  const { managedFields: _managedFields, annotations, ...metadata } = object.metadata;
  const kept = annotations && LAST_APPLIED in annotations ? Object.fromEntries(Object.entries(annotations).filter(([name]) => name !== LAST_APPLIED)) : annotations;
  return {
    apiVersion: object.apiVersion,
    kind: object.kind,
    metadata: { ...metadata, ...(kept ? { annotations: kept } : {}) },
    spec: object.spec,
    ...(object.status ? { status: object.status } : {}),
  } as ApiKeyResource;
}

/**
 * The operator's writes not yet seen by the watch: per object, the latest
 * version it wrote and every version known to be older (what the cache
 * showed, and earlier writes). A cached version in that set is stale; any
 * other one is the write itself or someone's later change. The watch event
 * of a write often arrives before the write's own answer (another
 * connection): events that come while a write is in flight wait for its
 * answer, which says whether they were that write.
 */
export class OwnWrites<C extends Cached> {
  readonly #pending = new Map<string, { object: C; older: Set<string> }>();
  readonly #inFlight = new Map<string, { writes: number; arrived: { version: string; type: ChangeType; enqueue: () => void }[] }>();

  /** A write of this object is being sent. */
  begin(key: string): void {
    const flight = this.#inFlight.get(key) ?? { writes: 0, arrived: [] };
    flight.writes++;
    this.#inFlight.set(key, flight);
  }

  /**
   * Its answer: the object as written (undefined: the write failed), and what
   * the cache shows now. Events that arrived meanwhile and were not this write
   * (nor older) are queued now.
   */
  finish(key: string, current: C | undefined, object: C | undefined): void {
    const flight = this.#inFlight.get(key);
    if (flight && --flight.writes <= 0) this.#inFlight.delete(key);
    const arrived = flight?.arrived.splice(0) ?? [];
    // Versions that bring nothing new: this write's, and what the operator wrote or saw before it.
    const pending = this.#pending.get(key);
    const known = new Set([...(pending?.older ?? []), ...(pending ? [pending.object.metadata.resourceVersion ?? ''] : [])]);
    if (object) {
      known.add(object.metadata.resourceVersion ?? '');
      this.wrote(key, current, object);
    }
    for (const event of arrived) {
      if (!object || event.type === 'delete' || !known.has(event.version)) event.enqueue();
    }
  }

  /** `current` is what the cache shows now (undefined: nothing yet). */
  wrote(key: string, current: C | undefined, object: C): void {
    const version = object.metadata.resourceVersion ?? '';
    // The watch brought this very version already: the cache is up to date.
    if (current?.metadata.resourceVersion === version) {
      this.#pending.delete(key);
      return;
    }
    const before = this.#pending.get(key);
    const older = before?.older ?? new Set<string>();
    older.add(current?.metadata.resourceVersion ?? '');
    if (before) older.add(before.object.metadata.resourceVersion ?? '');
    older.delete(version);
    this.#pending.set(key, { object, older });
  }

  /** The freshest version the operator knows of: its own write while the cache still shows an older version. */
  read(key: string, cached: C | undefined): C | undefined {
    const pending = this.#pending.get(key);
    if (!pending) return cached;
    if (pending.older.has(cached?.metadata.resourceVersion ?? '')) return pending.object;
    this.#pending.delete(key);
    return cached;
  }

  /**
   * A watch event: `enqueue` is called unless it brings nothing the operator
   * does not know (its own write, or a version older than it); while a write
   * of the object is in flight, only once its answer says which.
   */
  observe(key: string, object: C, type: ChangeType, enqueue: () => void): void {
    const flight = this.#inFlight.get(key);
    if (flight) {
      flight.arrived.push({ version: object.metadata.resourceVersion ?? '', type, enqueue });
      return;
    }
    if (this.#foreign(key, object.metadata.resourceVersion ?? '', type)) enqueue();
  }

  #foreign(key: string, version: string, type: ChangeType): boolean {
    const pending = this.#pending.get(key);
    if (!pending) return true;
    if (type !== 'delete' && pending.older.has(version)) return false;
    this.#pending.delete(key);
    return type === 'delete' || version !== pending.object.metadata.resourceVersion;
  }

  /** Writes in flight, or answered but not yet brought by the watch. */
  get size(): number {
    return this.#pending.size + this.#inFlight.size;
  }
}

export interface ClusterCacheOptions {
  kubeConfig: KubeConfig;
  /** Namespaces to watch; empty = all. */
  namespaces: readonly string[];
  resyncMs: number;
  /** An ApiKey changed, appeared or went ("namespace/name"). */
  onApiKey: (ref: string) => void;
  /** A managed Secret changed or went: its owner's ref ("namespace/name"), so drift is repaired at once. */
  onSecret: (ownerRef: string) => void;
  /** Every resyncMs: all cached ApiKeys (time-based work and the key service's view are due). */
  onResync: (apiKeys: readonly ApiKeyResource[]) => void;
  onError: (kind: 'ApiKey' | 'Secret', error: unknown, restartInMs: number) => void;
}

const refOf = (object: Cached): string => `${object.metadata.namespace}/${object.metadata.name}`;

export class ClusterCache implements WriteObserver {
  readonly #apiKeys = new Map<string | undefined, ResilientInformer<ApiKeyResource>>();
  readonly #secrets = new Map<string | undefined, ResilientInformer<V1Secret, CachedSecret>>();
  readonly #ownApiKeys = new OwnWrites<ApiKeyResource>();
  readonly #ownSecrets = new OwnWrites<CachedSecret>();
  readonly #options: ClusterCacheOptions;

  constructor(options: ClusterCacheOptions) {
    this.#options = options;
    for (const namespace of options.namespaces.length > 0 ? options.namespaces : [undefined]) {
      this.#apiKeys.set(namespace, this.#apiKeyInformer(namespace));
      this.#secrets.set(namespace, this.#secretInformer(namespace));
    }
  }

  get #informers(): ResilientInformer<never, Cached>[] {
    return [...this.#apiKeys.values(), ...this.#secrets.values()] as unknown as ResilientInformer<never, Cached>[];
  }

  get synced(): boolean {
    return this.#informers.every((informer) => informer.synced);
  }

  /** Lists of each informer (the first included), restarts after failures. */
  get informerStats(): { lists: number; restarts: number } {
    return this.#informers.reduce((sum, informer) => ({ lists: sum.lists + informer.lists, restarts: sum.restarts + informer.restarts }), { lists: 0, restarts: 0 });
  }

  async start(): Promise<void> {
    await Promise.all(this.#informers.map((informer) => informer.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.#informers.map((informer) => informer.stop()));
  }

  #informerFor<T>(informers: Map<string | undefined, T>, namespace: string): T | undefined {
    return informers.get(namespace) ?? informers.get(undefined);
  }

  apiKey(namespace: string, name: string): ApiKeyResource | undefined {
    return this.#ownApiKeys.read(`${namespace}/${name}`, this.#informerApiKey(namespace, name));
  }

  secret(namespace: string, name: string): CachedSecret | undefined {
    return this.#ownSecrets.read(`${namespace}/${name}`, this.#informerSecret(namespace, name));
  }

  apiKeys(): ApiKeyResource[] {
    return [...this.#apiKeys.values()].flatMap((informer) => informer.list()).map((object) => this.apiKey(object.metadata.namespace, object.metadata.name) ?? object);
  }

  /** The operator's own writes that its watches have not brought back yet. */
  get unseenWrites(): number {
    return this.#ownApiKeys.size + this.#ownSecrets.size;
  }

  writing(kind: 'ApiKey' | 'Secret', namespace: string, name: string): (answer: ApiKeyResource | V1Secret | undefined) => void {
    const ref = `${namespace}/${name}`;
    if (kind === 'ApiKey') {
      this.#ownApiKeys.begin(ref);
      return (answer) => this.#ownApiKeys.finish(ref, this.#informerApiKey(namespace, name), answer ? slimApiKey(answer as ApiKeyResource) : undefined);
    }
    this.#ownSecrets.begin(ref);
    return (answer) => this.#ownSecrets.finish(ref, this.#informerSecret(namespace, name), answer ? cachedSecret(answer as V1Secret) : undefined);
  }

  /** An ApiKey read from the API server (after a conflict): fresher than the cache until the watch brings it. */
  apiKeyFetched(object: ApiKeyResource): void {
    const { namespace, name } = object.metadata;
    this.#ownApiKeys.wrote(`${namespace}/${name}`, this.apiKey(namespace, name), slimApiKey(object));
  }

  #informerApiKey(namespace: string, name: string): ApiKeyResource | undefined {
    return this.#informerFor(this.#apiKeys, namespace)?.get(namespace, name);
  }

  #informerSecret(namespace: string, name: string): CachedSecret | undefined {
    return this.#informerFor(this.#secrets, namespace)?.get(namespace, name);
  }

  /** Objects and bytes cached per kind, and the writes not yet seen by a watch. */
  report(metrics: OperatorMetrics): void {
    for (const [kind, informers] of [
      ['ApiKey', [...this.#apiKeys.values()]],
      ['Secret', [...this.#secrets.values()]],
    ] as const) {
      const stats = (informers as readonly { stats: { objects: number; bytes: number } }[]).reduce((sum, i) => ({ objects: sum.objects + i.stats.objects, bytes: sum.bytes + i.stats.bytes }), {
        objects: 0,
        bytes: 0,
      });
      metrics.cacheObjects.set({ kind }, stats.objects);
      metrics.cacheBytes.set({ kind }, stats.bytes);
    }
  }

  #apiKeyInformer(namespace: string | undefined): ResilientInformer<ApiKeyResource> {
    const custom = this.#options.kubeConfig.makeApiClient(CustomObjectsApi);
    const base = `/apis/${API_GROUP}/${API_VERSION}`;
    return new ResilientInformer<ApiKeyResource>({
      kubeConfig: this.#options.kubeConfig,
      path: namespace ? `${base}/namespaces/${namespace}/${API_PLURAL}` : `${base}/${API_PLURAL}`,
      list: async ({ limit, continue: token }) =>
        (namespace
          ? await custom.listNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace, plural: API_PLURAL, limit, _continue: token })
          : await custom.listClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: API_PLURAL, limit, _continue: token })) as KubernetesListObject<ApiKeyResource>,
      transform: slimApiKey,
      onChange: (object, type) => this.#ownApiKeys.observe(refOf(object), object, type, () => this.#options.onApiKey(refOf(object))),
      onError: (error, restartInMs) => this.#options.onError('ApiKey', error, restartInMs),
      resync: { everyMs: this.#options.resyncMs, onResync: () => this.#options.onResync(this.apiKeys()) },
      silentMs: Math.max(120_000, this.#options.resyncMs * 3),
    });
  }

  #secretInformer(namespace: string | undefined): ResilientInformer<V1Secret, CachedSecret> {
    const core = this.#options.kubeConfig.makeApiClient(CoreV1Api);
    const labelSelector = `${MANAGED_BY_LABEL}=${MANAGED_BY}`;
    return new ResilientInformer<V1Secret, CachedSecret>({
      kubeConfig: this.#options.kubeConfig,
      path: namespace ? `/api/v1/namespaces/${namespace}/secrets` : '/api/v1/secrets',
      labelSelector,
      list: async ({ limit, continue: token }) =>
        namespace ? await core.listNamespacedSecret({ namespace, labelSelector, limit, _continue: token }) : await core.listSecretForAllNamespaces({ labelSelector, limit, _continue: token }),
      transform: cachedSecret,
      onChange: (secret, type) =>
        this.#ownSecrets.observe(refOf(secret), secret, type, () => {
          const owner = secret.metadata.annotations[ANNOTATION_OWNER];
          if (owner) this.#options.onSecret(`${secret.metadata.namespace}/${owner}`);
        }),
      onError: (error, restartInMs) => this.#options.onError('Secret', error, restartInMs),
      silentMs: Math.max(120_000, this.#options.resyncMs * 3),
    });
  }
}
