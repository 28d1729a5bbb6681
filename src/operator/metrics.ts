/** Operator metrics, named as controller-runtime names them so existing dashboards and alerts fit. */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileErrors: Counter<'controller'>;
  readonly reconcileTime: Histogram<'controller'>;
  readonly queueDepth: Gauge<'name'>;
  readonly queueRetries: Counter<'name'>;
  readonly leader: Gauge<'name'>;
  readonly rotations: Counter<'reason'>;
  readonly keyServiceUp: Gauge;
  readonly queueAdds: Counter<'name'>;
  readonly resyncs: Counter;
  readonly kubeRequests: Counter<'verb' | 'resource' | 'code'>;
  readonly keyServiceRequests: Counter<'operation'>;
  readonly cacheObjects: Gauge<'kind'>;
  readonly cacheBytes: Gauge<'kind'>;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'keyward_operator_' });
    this.reconcileTotal = new Counter({ name: 'controller_runtime_reconcile_total', help: 'Reconciliations per controller and result', labelNames: ['controller', 'result'], registers });
    this.reconcileErrors = new Counter({ name: 'controller_runtime_reconcile_errors_total', help: 'Reconciliation errors per controller', labelNames: ['controller'], registers });
    this.reconcileTime = new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Time per reconciliation',
      labelNames: ['controller'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.queueDepth = new Gauge({ name: 'workqueue_depth', help: 'Current depth of the work queue', labelNames: ['name'], registers });
    this.queueRetries = new Counter({ name: 'workqueue_retries_total', help: 'Retries handled by the work queue', labelNames: ['name'], registers });
    this.leader = new Gauge({ name: 'leader_election_master_status', help: '1 while this replica is the leader', labelNames: ['name'], registers });
    this.rotations = new Counter({ name: 'keyward_operator_keys_issued_total', help: 'Keys issued by reason (Created, Token, Scheduled, Drift…)', labelNames: ['reason'], registers });
    this.keyServiceUp = new Gauge({ name: 'keyward_operator_key_service_up', help: '1 when the last call to the key service succeeded', registers });
    this.queueAdds = new Counter({ name: 'workqueue_adds_total', help: 'Keys added to the work queue (a key already waiting is not added again)', labelNames: ['name'], registers });
    this.resyncs = new Counter({ name: 'keyward_operator_resyncs_total', help: 'Periodic resyncs (every ApiKey looked at, the key service asked in batches)', registers });
    this.kubeRequests = new Counter({
      name: 'keyward_operator_kube_requests_total',
      help: 'Requests the reconciler made to the Kubernetes API server, by verb, resource and outcome (informer lists and watches not included)',
      labelNames: ['verb', 'resource', 'code'],
      registers,
    });
    this.keyServiceRequests = new Counter({
      name: 'keyward_operator_key_service_requests_total',
      help: 'Requests the operator made to the key service, by operation (batch-get answers for many keys at once)',
      labelNames: ['operation'],
      registers,
    });
    this.cacheObjects = new Gauge({ name: 'keyward_operator_cache_objects', help: 'Objects in the informer caches, by kind', labelNames: ['kind'], registers });
    this.cacheBytes = new Gauge({
      name: 'keyward_operator_cache_bytes',
      help: 'What the informer caches hold, by kind: bytes of the cached objects as JSON (Secrets are kept as hashes, without managedFields)',
      labelNames: ['kind'],
      registers,
    });
  }
}
