/**
 * The operator process: informers feed a rate-limited work queue, workers
 * reconcile while this replica leads, and a small HTTP server answers
 * /healthz, /readyz and /metrics.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type KubernetesListObject, type V1Secret } from '@kubernetes/client-node';
import { pino, type DestinationStream, type Logger } from 'pino';
import { API_GROUP, API_PLURAL, API_VERSION } from '../core/apikey.ts';
import { KeywardClient } from '../client/index.ts';
import { KubeApi } from './kube.ts';
import { pooled } from './kubeconfig.ts';
import { LeaderElector } from './leader.ts';
import { OperatorMetrics } from './metrics.ts';
import { WorkQueue } from './queue.ts';
import { ApiKeyReconciler, type ReconcilerOptions } from './reconciler.ts';
import { ANNOTATION_OWNER, MANAGED_BY, MANAGED_BY_LABEL, type ApiKeyResource } from './types.ts';
import { ResilientInformer } from './watch.ts';

export interface OperatorConfig {
  kubeConfig: KubeConfig;
  keyServiceUrl: string;
  keyServiceApiKey: string;
  /** Namespaces to watch; empty = all. */
  namespaces: string[];
  workers: number;
  resyncMs: number;
  leaderElection: { namespace: string; name: string; leaseDurationMs: number; retryPeriodMs: number } | null;
  /** host:port for /healthz, /readyz, /metrics; port 0 picks one. */
  metricsHost: string;
  metricsPort: number;
  deletionGiveUpMs: number;
  identity?: string;
  /** JSON lines on stdout at this level (default info), unless a logger is given. */
  logLevel?: string;
  logger?: Logger;
  crashPoint?: ReconcilerOptions['crashPoint'];
  /** The reconciler's clock (rotation schedule, overlap ends, deletion timeout); tests move it on instead of sleeping. */
  clock?: ReconcilerOptions['clock'];
}

const CONTROLLER = 'apikey';

/**
 * JSON lines, levels as words ("level":"warn"), as log shippers and
 * bench/operator.ts read them. Written synchronously to stdout: the operator
 * logs little, and a line must not be lost when the process is killed.
 */
export const operatorLogger = (level: string, destination: DestinationStream = pino.destination({ dest: 1, sync: true })): Logger =>
  pino({ name: 'keyward-operator', level, base: undefined, formatters: { level: (label) => ({ level: label }) } }, destination);

export class Operator {
  readonly config: OperatorConfig;
  readonly metrics = new OperatorMetrics();
  readonly identity: string;
  readonly #queue: WorkQueue;
  readonly #reconciler: ApiKeyReconciler;
  readonly #apiKeyInformers: ResilientInformer<ApiKeyResource>[] = [];
  readonly #secretInformers: ResilientInformer<V1Secret>[] = [];
  readonly logger: Logger;
  #elector: LeaderElector | undefined;
  #leading = false;
  #workers: Promise<void>[] = [];
  #server: Server | undefined;
  #stopped = false;
  metricsUrl = '';

  constructor(options: OperatorConfig) {
    const config = { ...options, kubeConfig: pooled(options.kubeConfig) };
    this.config = config;
    this.identity = config.identity ?? `${hostname()}-${process.pid}`;
    this.logger = config.logger ?? operatorLogger(config.logLevel ?? 'info');
    this.metrics.leader.set({ name: CONTROLLER }, 0);
    this.metrics.queueDepth.set({ name: CONTROLLER }, 0);
    this.#queue = new WorkQueue({ onDepth: (depth) => this.metrics.queueDepth.set({ name: CONTROLLER }, depth) });
    this.#reconciler = new ApiKeyReconciler({
      kube: new KubeApi(config.kubeConfig, this.logger),
      keys: new KeywardClient({ url: config.keyServiceUrl, apiKey: config.keyServiceApiKey }),
      metrics: this.metrics,
      logger: this.logger,
      resyncMs: config.resyncMs,
      deletionGiveUpMs: config.deletionGiveUpMs,
      ...(config.crashPoint ? { crashPoint: config.crashPoint } : {}),
      ...(config.clock ? { clock: config.clock } : {}),
    });
  }

  get leading(): boolean {
    return this.#leading;
  }

  get ready(): boolean {
    const all = [...this.#apiKeyInformers, ...this.#secretInformers];
    return all.length > 0 && all.every((i) => i.synced);
  }

  async start(): Promise<void> {
    await this.#startHttp();
    for (const namespace of this.config.namespaces.length > 0 ? this.config.namespaces : [undefined]) {
      this.#apiKeyInformers.push(this.#apiKeyInformer(namespace));
      this.#secretInformers.push(this.#secretInformer(namespace));
    }
    await Promise.all([...this.#apiKeyInformers, ...this.#secretInformers].map((informer) => informer.start()));
    if (this.config.leaderElection) {
      this.#elector = new LeaderElector({
        kubeConfig: this.config.kubeConfig,
        ...this.config.leaderElection,
        identity: this.identity,
        onStartedLeading: () => this.#startLeading(),
        onStoppedLeading: () => this.#stopLeading(),
        onError: (error) => this.logger.warn({ err: (error as Error).message }, 'leader election failed'),
      });
      this.#elector.start();
    } else {
      this.#startLeading();
    }
    this.logger.info({ identity: this.identity, namespaces: this.config.namespaces.length > 0 ? this.config.namespaces : 'all', metrics: this.metricsUrl }, 'keyward operator started');
  }

  #apiKeyInformer(namespace: string | undefined): ResilientInformer<ApiKeyResource> {
    const custom = this.config.kubeConfig.makeApiClient(CustomObjectsApi);
    const base = `/apis/${API_GROUP}/${API_VERSION}`;
    return new ResilientInformer<ApiKeyResource>({
      kubeConfig: this.config.kubeConfig,
      path: namespace ? `${base}/namespaces/${namespace}/${API_PLURAL}` : `${base}/${API_PLURAL}`,
      list: async () =>
        (namespace
          ? await custom.listNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace, plural: API_PLURAL })
          : await custom.listClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: API_PLURAL })) as KubernetesListObject<ApiKeyResource>,
      onChange: (object) => this.#queue.add(`${object.metadata.namespace}/${object.metadata.name}`),
      onError: (error, restartInMs) => this.logger.warn({ err: String((error as Error)?.message ?? error), restartInMs }, 'ApiKey watch failed; restarting'),
      resyncMs: this.config.resyncMs,
      silentMs: Math.max(60_000, this.config.resyncMs * 3),
    });
  }

  /** Secrets we manage: a change or deletion wakes their ApiKey (drift is repaired at once). */
  #secretInformer(namespace: string | undefined): ResilientInformer<V1Secret> {
    const core = this.config.kubeConfig.makeApiClient(CoreV1Api);
    const labelSelector = `${MANAGED_BY_LABEL}=${MANAGED_BY}`;
    return new ResilientInformer<V1Secret>({
      kubeConfig: this.config.kubeConfig,
      path: namespace ? `/api/v1/namespaces/${namespace}/secrets` : '/api/v1/secrets',
      labelSelector,
      list: async () => (namespace ? await core.listNamespacedSecret({ namespace, labelSelector }) : await core.listSecretForAllNamespaces({ labelSelector })),
      onChange: (secret, type) => {
        const owner = secret.metadata?.annotations?.[ANNOTATION_OWNER];
        if (owner && type !== 'resync') this.#queue.add(`${secret.metadata?.namespace}/${owner}`);
      },
      onError: (error, restartInMs) => this.logger.warn({ err: String((error as Error)?.message ?? error), restartInMs }, 'Secret watch failed; restarting'),
      resyncMs: this.config.resyncMs,
      silentMs: Math.max(60_000, this.config.resyncMs * 3),
    });
  }

  #startLeading(): void {
    if (this.#leading || this.#stopped) return;
    this.#leading = true;
    this.metrics.leader.set({ name: CONTROLLER }, 1);
    this.logger.info({ identity: this.identity }, 'became leader; reconciling');
    for (const informer of this.#apiKeyInformers) {
      for (const object of informer.list()) this.#queue.add(`${object.metadata.namespace}/${object.metadata.name}`);
    }
    this.#workers = Array.from({ length: this.config.workers }, () => this.#work());
  }

  #stopLeading(): void {
    if (!this.#leading) return;
    this.#leading = false;
    this.metrics.leader.set({ name: CONTROLLER }, 0);
    this.metrics.queueDepth.set({ name: CONTROLLER }, 0);
    this.logger.warn({ identity: this.identity }, 'lost leadership; stopped reconciling');
  }

  async #work(): Promise<void> {
    while (this.#leading && !this.#stopped) {
      const key = await this.#queue.get();
      if (key === undefined) return;
      if (!this.#leading) {
        this.#queue.done(key);
        this.#queue.add(key); // keep it for when we lead again
        return;
      }
      const [namespace, name] = key.split('/') as [string, string];
      const end = this.metrics.reconcileTime.startTimer({ controller: CONTROLLER });
      try {
        const result = await this.#reconciler.reconcile(namespace, name);
        this.#queue.forget(key);
        if (result.requeue) {
          // Progress, not failure: look again at once, without backoff.
          this.#queue.add(key);
          this.logger.debug({ apikey: key, why: result.why }, 'looking again');
        } else if (result.requeueAfterMs) this.#queue.addAfter(key, result.requeueAfterMs);
        this.metrics.reconcileTotal.inc({ controller: CONTROLLER, result: result.requeue ? 'requeue' : result.requeueAfterMs ? 'requeue_after' : 'success' });
      } catch (error) {
        const delay = this.#queue.addRateLimited(key);
        this.metrics.queueRetries.inc({ name: CONTROLLER });
        this.metrics.reconcileTotal.inc({ controller: CONTROLLER, result: 'error' });
        this.metrics.reconcileErrors.inc({ controller: CONTROLLER });
        const conflict = (error as { code?: number }).code === 409;
        this.logger[conflict ? 'info' : 'warn']({ apikey: key, err: (error as Error).message, retryInMs: delay }, conflict ? 'conflict; retrying' : 'reconcile failed');
      } finally {
        end();
        this.#queue.done(key);
      }
    }
  }

  async #startHttp(): Promise<void> {
    this.#server = createServer((req, res) => {
      if (req.url === '/healthz') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      if (req.url === '/readyz') return void res.writeHead(this.ready ? 200 : 503, { 'content-type': 'text/plain' }).end(this.ready ? 'ready' : 'informers not synced');
      if (req.url === '/metrics') {
        void this.metrics.registry.metrics().then((text) => res.writeHead(200, { 'content-type': this.metrics.registry.contentType }).end(text));
        return;
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => this.#server!.listen(this.config.metricsPort, this.config.metricsHost, resolve));
    const { port } = this.#server.address() as AddressInfo;
    this.metricsUrl = `http://${this.config.metricsHost.includes(':') ? `[${this.config.metricsHost}]` : this.config.metricsHost}:${port}`;
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    // Finish the reconciles under way before giving the lease to a standby.
    this.#leading = false;
    this.#queue.shutdown();
    await Promise.allSettled(this.#workers);
    await this.#elector?.stop();
    await Promise.all([...this.#apiKeyInformers, ...this.#secretInformers].map((informer) => informer.stop()));
    await new Promise((resolve) => (this.#server ? this.#server.close(resolve) : resolve(undefined)));
  }
}
