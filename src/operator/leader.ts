/**
 * Leader election on a coordination.k8s.io Lease, as client-go does it: the
 * holder renews the lease; others take it over once it has not been renewed
 * for leaseDuration. Writes carry the resourceVersion read, so two candidates
 * never both win.
 */
import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { isConflict, isNotFound } from './kube.ts';

export interface LeaderElectionOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  retryPeriodMs: number;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  onError?: (error: unknown) => void;
}

/**
 * Pure: may `identity` take or keep the lease? Expiry is judged by when this
 * replica last SAW the lease change (its own clock), not by the holder's
 * renewTime, so clock skew between nodes cannot cause an early takeover.
 */
export function canAcquire(lease: V1Lease | undefined, identity: string, now: number, leaseDurationMs: number, lastChangeSeenAt: number): boolean {
  const spec = lease?.spec;
  if (!spec?.holderIdentity) return true;
  if (spec.holderIdentity === identity) return true;
  const duration = spec.leaseDurationSeconds ? spec.leaseDurationSeconds * 1000 : leaseDurationMs;
  return now - lastChangeSeenAt > duration;
}

const leaseRecord = (lease: V1Lease | undefined): string => `${lease?.spec?.holderIdentity ?? ''}|${String(lease?.spec?.renewTime ?? '')}`;

/** Rejects when a request to the API server hangs, so a partitioned leader notices in time. */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`lease request took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export class LeaderElector {
  readonly #options: LeaderElectionOptions;
  readonly #api: CoordinationV1Api;
  #leading = false;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #lastRenew = 0;
  #observed = { record: '', at: 0 };
  #deadline: NodeJS.Timeout | undefined;

  constructor(options: LeaderElectionOptions) {
    this.#options = options;
    this.#api = options.kubeConfig.makeApiClient(CoordinationV1Api);
  }

  get leading(): boolean {
    return this.#leading;
  }

  start(): void {
    void this.#tick();
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    try {
      await this.#tryAcquireOrRenew();
    } catch (error) {
      this.#options.onError?.(error);
    }
    // A leader that could not renew within the renew deadline must stop acting.
    if (this.#leading && Date.now() - this.#lastRenew > this.#renewDeadlineMs) this.#setLeading(false);
    if (!this.#stopped) {
      this.#timer = setTimeout(() => void this.#tick(), this.#options.retryPeriodMs);
      this.#timer.unref();
    }
  }

  /** client-go's default ratio: a leader gives up after 2/3 of the lease without a successful renew. */
  get #renewDeadlineMs(): number {
    return Math.floor((this.#options.leaseDurationMs * 2) / 3);
  }

  async #tryAcquireOrRenew(): Promise<void> {
    const { namespace, name, identity, leaseDurationMs } = this.#options;
    const timeoutMs = Math.max(500, this.#options.retryPeriodMs);
    // Lease times are MicroTime on the wire: a plain Date is serialized without microseconds and refused.
    const now = new V1MicroTime();
    let lease: V1Lease | undefined;
    try {
      lease = await within(this.#api.readNamespacedLease({ namespace, name }), timeoutMs);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    const record = leaseRecord(lease);
    if (record !== this.#observed.record) this.#observed = { record, at: Date.now() };
    if (!canAcquire(lease, identity, Date.now(), leaseDurationMs, this.#observed.at)) {
      if (this.#leading) this.#setLeading(false);
      return;
    }
    const takingOver = lease?.spec?.holderIdentity !== identity;
    const spec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
      renewTime: now,
      acquireTime: takingOver ? now : (lease?.spec?.acquireTime ?? now),
      leaseTransitions: (lease?.spec?.leaseTransitions ?? 0) + (takingOver && lease ? 1 : 0),
    };
    try {
      if (!lease) await within(this.#api.createNamespacedLease({ namespace, body: { metadata: { name, namespace }, spec } }), timeoutMs);
      else await within(this.#api.replaceNamespacedLease({ namespace, name, body: { metadata: { ...lease.metadata, name, namespace }, spec } }), timeoutMs);
    } catch (error) {
      if (isConflict(error)) return; // someone else wrote first; look again next tick
      throw error;
    }
    this.#lastRenew = now.getTime();
    if (!this.#leading) this.#setLeading(true);
    // Even if the next tick hangs, leadership ends at the renew deadline.
    if (this.#deadline) clearTimeout(this.#deadline);
    this.#deadline = setTimeout(() => {
      if (this.#leading && Date.now() - this.#lastRenew >= this.#renewDeadlineMs) this.#setLeading(false);
    }, this.#renewDeadlineMs + 10);
    this.#deadline.unref();
  }

  #setLeading(leading: boolean): void {
    this.#leading = leading;
    if (leading) this.#options.onStartedLeading();
    else this.#options.onStoppedLeading();
  }

  /** Stops campaigning; a leader gives the lease up so a standby takes over at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#deadline) clearTimeout(this.#deadline);
    if (!this.#leading) return;
    this.#setLeading(false);
    const { namespace, name, identity } = this.#options;
    try {
      const lease = await this.#api.readNamespacedLease({ namespace, name });
      if (lease.spec?.holderIdentity === identity) {
        await this.#api.replaceNamespacedLease({ namespace, name, body: { ...lease, spec: { ...lease.spec, holderIdentity: undefined, renewTime: undefined } } });
      }
    } catch {
      // best effort: the lease expires anyway
    }
  }
}
