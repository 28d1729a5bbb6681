/**
 * The operator process: informers (cache.ts) feed a work queue, workers
 * reconcile while this replica leads, and a small HTTP server answers
 * /healthz, /readyz and /metrics. Requests toward the API server and the key
 * service each wait for their turn in a budget (budget.ts).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import { pino, type DestinationStream, type Logger } from 'pino';
import { KeywardClient, type KeyEvent } from '../client/index.ts';
import { OPERATOR_METADATA } from '../core/model.ts';
import { budgetedFetch, requestBudget, type Rate } from './budget.ts';
import { ClusterCache } from './cache.ts';
import { isApiKeyGone, isConflict, KubeApi } from './kube.ts';
import { FeedFollower } from './feed.ts';
import { pooled } from './kubeconfig.ts';
import { LeaderElector } from './leader.ts';
import { OperatorMetrics } from './metrics.ts';
import { WorkQueue } from './queue.ts';
import { ApiKeyReconciler, type ReconcilerOptions } from './reconciler.ts';
import { RolePublisher } from './roles.ts';
import type { ApiKeyResource } from './types.ts';

export interface OperatorConfig {
  kubeConfig: KubeConfig;
  keyServiceUrl: string;
  keyServiceApiKey: string;
  /** Namespaces to watch; empty = all. */
  namespaces: string[];
  workers: number;
  /** Request budgets: toward the Kubernetes API server (the reconciler's requests; informers' lists and watches not counted) and toward the key service. */
  kubeApiRate: Rate;
  keyServiceRate: Rate;
  resyncMs: number;
  leaderElection: { namespace: string; name: string; leaseDurationMs: number; retryPeriodMs: number } | null;
  /** host:port for /healthz, /readyz, /metrics; port 0 picks one. */
  metricsHost: string;
  metricsPort: number;
  deletionGiveUpMs: number;
  /** Publish the organization's role ids in ConfigMap keyward-roles in this namespace (the operator's own), for the admission policy (role-admission.ts); unset: not published. */
  rolesNamespace?: string;
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
  readonly cache: ClusterCache;
  readonly logger: Logger;
  #elector: LeaderElector | undefined;
  #leading = false;
  #workers: Promise<void>[] = [];
  #server: Server | undefined;
  readonly #feed: FeedFollower;
  readonly #roles: RolePublisher | undefined;
  #stopped = false;
  #started = false;
  metricsUrl = '';

  constructor(options: OperatorConfig) {
    const config = { ...options, kubeConfig: pooled(options.kubeConfig) };
    this.config = config;
    this.identity = config.identity ?? `${hostname()}-${process.pid}`;
    this.logger = config.logger ?? operatorLogger(config.logLevel ?? 'info');
    this.metrics.leader.set({ name: CONTROLLER }, 0);
    this.metrics.queueDepth.set({ name: CONTROLLER }, 0);
    this.#queue = new WorkQueue({
      onDepth: (depth) => this.metrics.queueDepth.set({ name: CONTROLLER }, depth),
      onAdd: () => this.metrics.queueAdds.inc({ name: CONTROLLER }),
    });
    this.cache = new ClusterCache({
      kubeConfig: config.kubeConfig,
      namespaces: config.namespaces,
      resyncMs: config.resyncMs,
      onApiKey: (ref) => this.#queue.add(ref),
      onSecret: (ownerRef) => this.#queue.add(ownerRef),
      onResync: (apiKeys) => this.#resync(apiKeys),
      onError: (kind, error, restartInMs) => this.logger.warn({ err: String((error as Error)?.message ?? error), restartInMs }, `${kind} watch failed; restarting`),
    });
    const kube = new KubeApi(config.kubeConfig, this.logger, { limit: requestBudget(config.kubeApiRate), written: this.cache, metrics: this.metrics });
    const keys = new KeywardClient({ url: config.keyServiceUrl, apiKey: config.keyServiceApiKey, fetch: budgetedFetch(requestBudget(config.keyServiceRate)) });
    this.#roles = config.rolesNamespace ? new RolePublisher({ keys, kube, namespace: config.rolesNamespace, logger: this.logger }) : undefined;
    this.#reconciler = new ApiKeyReconciler({
      kube,
      keys,
      cache: this.cache,
      metrics: this.metrics,
      logger: this.logger,
      resyncMs: config.resyncMs,
      deletionGiveUpMs: config.deletionGiveUpMs,
      ...(config.crashPoint ? { crashPoint: config.crashPoint } : {}),
      ...(config.clock ? { clock: config.clock } : {}),
    });
    this.#feed = new FeedFollower({
      url: config.keyServiceUrl,
      apiKey: config.keyServiceApiKey,
      onEvent: (event) => this.#onKeyEvent(event),
      onError: (error, retryInMs) => this.logger.warn({ err: (error as Error).message, retryInMs }, 'key service change feed failed; resuming from its cursor'),
    });
  }

  /** A key of an ApiKey was revoked or compromised outside the operator: reconcile it now, not at the next resync. */
  #onKeyEvent(event: KeyEvent): void {
    if (event.action !== 'key.compromised' && event.action !== 'key.revoked') return;
    const namespace = event.metadata[OPERATOR_METADATA.namespace];
    const name = event.metadata[OPERATOR_METADATA.name];
    const uid = event.metadata[OPERATOR_METADATA.uid];
    if (typeof namespace !== 'string' || typeof name !== 'string' || typeof uid !== 'string') return;
    if (this.config.namespaces.length > 0 && !this.config.namespaces.includes(namespace)) return;
    this.#reconciler.keyChanged(uid, event.keyId, event.action === 'key.compromised');
    this.logger.info({ apikey: `${namespace}/${name}`, keyId: event.keyId, action: event.action }, 'key changed in the key service');
    this.#queue.add(`${namespace}/${name}`);
  }

  get leading(): boolean {
    return this.#leading;
  }

  /** Started (its start line logged) and every informer synced. */
  get ready(): boolean {
    return this.#started && this.cache.synced;
  }

  /** Nothing queued and no reconcile under way (for tests that wait for the operator to settle). */
  get idle(): boolean {
    return this.#queue.idle;
  }

  async start(): Promise<void> {
    await this.#startHttp();
    await this.cache.start();
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
    this.#started = true;
  }

  /** Every ApiKey, after the key service was asked about their keys in batches; behind any change in the queue. */
  #resync(apiKeys: readonly ApiKeyResource[]): void {
    this.metrics.resyncs.inc();
    if (this.#leading) {
      this.#reconciler.prefetch(apiKeys);
      void this.#roles?.refresh();
    }
    for (const object of apiKeys) this.#queue.add(`${object.metadata.namespace}/${object.metadata.name}`, 'resync');
  }

  #startLeading(): void {
    if (this.#leading || this.#stopped) return;
    this.#leading = true;
    this.metrics.leader.set({ name: CONTROLLER }, 1);
    this.logger.info({ identity: this.identity }, 'became leader; reconciling');
    this.#resync(this.cache.apiKeys()); // also publishes the organization's roles
    this.#workers = Array.from({ length: this.config.workers }, () => this.#work());
    this.#feed.start();
  }

  #stopLeading(): void {
    if (!this.#leading) return;
    this.#leading = false;
    this.metrics.leader.set({ name: CONTROLLER }, 0);
    this.metrics.queueDepth.set({ name: CONTROLLER }, 0);
    void this.#feed.stop();
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
        const conflict = isConflict(error);
        const gone = !conflict && isApiKeyGone(error, name);
        // The cache is behind whoever wrote (or deleted) meanwhile: the retry reads this ApiKey from the API server.
        if (conflict || gone) this.#reconciler.conflicted(namespace, name);
        const message = conflict ? 'conflict; retrying' : gone ? 'the ApiKey went away meanwhile; looking again' : 'reconcile failed';
        this.logger[conflict || gone ? 'info' : 'warn']({ apikey: key, err: (error as Error).message, retryInMs: delay }, message);
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
        this.cache.report(this.metrics);
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
    await Promise.allSettled([...this.#workers, this.#feed.stop()]);
    await this.#elector?.stop();
    await this.cache.stop();
    await new Promise((resolve) => (this.#server ? this.#server.close(resolve) : resolve(undefined)));
  }
}
