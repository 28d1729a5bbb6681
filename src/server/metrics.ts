/** Prometheus metrics (prom-client), one registry per server so several can run in one process. */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type LabelValues } from 'prom-client';
import { API } from '../core/api.ts';
import type { Store } from '../store/store.ts';

/**
 * Counts for the verify fast path, by one key (a status, a code), added to a
 * prom-client counter when it is collected (scraped): counter.inc() hashes and
 * validates its labels on every call, which cost ~10% of verify throughput.
 */
export class Tally<L extends string, K extends string | number> {
  readonly #cells = new Map<K, { labels: LabelValues<L>; n: number }>();
  readonly #labelsOf: (key: K) => LabelValues<L>;
  /** The cell counted last: a run of one status (or code) is the common case, counted without a Map lookup. */
  #lastKey: K | undefined;
  #last: { labels: LabelValues<L>; n: number } | undefined;

  constructor(labelsOf: (key: K) => LabelValues<L>) {
    this.#labelsOf = labelsOf;
  }

  count(key: K): void {
    if (key === this.#lastKey) {
      this.#last!.n++;
      return;
    }
    let cell = this.#cells.get(key);
    if (!cell) this.#cells.set(key, (cell = { labels: this.#labelsOf(key), n: 0 }));
    cell.n++;
    this.#lastKey = key;
    this.#last = cell;
  }

  addTo(counter: Counter<L>): void {
    for (const cell of this.#cells.values()) {
      if (cell.n === 0) continue;
      counter.inc(cell.labels, cell.n);
      cell.n = 0;
    }
  }
}

export class Metrics {
  readonly registry = new Registry();
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly verifications: Counter<'code'>;
  readonly failedAuth: Counter<'code'>;
  readonly throttled: Counter;
  readonly storeWriteSeconds: Histogram;
  readonly storeWriteBatch: Histogram;
  /** The verify fast path's share of `requests` (by status) and `verifications` (by code). */
  readonly verifyRequests = new Tally<'method' | 'route' | 'status', number>((status) => ({ method: API.verifyKey.method, route: API.verifyKey.path, status: String(status) }));
  readonly verifyOutcomes = new Tally<'code', string>((code) => ({ code }));

  constructor(store: Store, now: () => number, options: { organizationLabels?: boolean } = {}) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'keyward_' });
    // prom-client's defaults name three gauges *_total (active handles, requests, resources), which
    // Prometheus reads as counters; the same counts by type remain (…_active_handles{type} and so on).
    for (const metric of this.registry.getMetricsAsArray()) {
      if (metric.name.endsWith('_total') && (metric as unknown as { type: string }).type !== 'counter') this.registry.removeSingleMetric(metric.name);
    }
    const { verifyRequests, verifyOutcomes } = this;
    this.requests = new Counter({
      name: 'keyward_http_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['method', 'route', 'status'],
      registers,
      collect() {
        verifyRequests.addTo(this);
      },
    });
    this.verifications = new Counter({
      name: 'keyward_verify_total',
      help: 'POST /v1/verify outcomes by code (VALID or the error code)',
      labelNames: ['code'],
      registers,
      collect() {
        verifyOutcomes.addTo(this);
      },
    });
    this.failedAuth = new Counter({ name: 'keyward_failed_auth_total', help: 'Failed authentications by error code', labelNames: ['code'], registers });
    this.throttled = new Counter({ name: 'keyward_auth_throttled_total', help: 'Client addresses throttled after repeated failed authentication', registers });
    this.storeWriteSeconds = new Histogram({
      name: 'keyward_store_write_seconds',
      help: 'Store write (group commit) latency',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    this.storeWriteBatch = new Histogram({
      name: 'keyward_store_write_batch_size',
      help: 'Mutations carried by one store write',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers,
    });
    const organizationLabels = options.organizationLabels ?? false;
    new Gauge({
      name: 'keyward_active_keys',
      help: organizationLabels ? 'Active keys (counted against the plan) per organization' : 'Active keys (counted against the plan), all organizations',
      labelNames: organizationLabels ? ['organization'] : [],
      registers,
      async collect() {
        this.reset();
        let total = 0;
        for (const org of await store.listOrganizations()) {
          const active = await store.countActiveKeys(org.id, now());
          if (organizationLabels) this.set({ organization: org.id }, active);
          total += active;
        }
        if (!organizationLabels) this.set(total);
      },
    });
  }

  observeWrite(mutations: number, ms: number): void {
    this.storeWriteBatch.observe(mutations);
    this.storeWriteSeconds.observe(ms / 1000);
  }
}
