/**
 * Leader election on a coordination.k8s.io Lease, as client-go does it: the
 * holder renews the lease; others take it over once it has not been renewed
 * for leaseDuration. Writes carry the resourceVersion read, so two candidates
 * never both win.
 */
import { CoordinationV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
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

/** Pure: may `identity` take or keep the lease as observed at `now`? */
export function canAcquire(lease: V1Lease | undefined, identity: string, now: number, leaseDurationMs: number): boolean {
  const spec = lease?.spec;
  if (!spec?.holderIdentity) return true;
  if (spec.holderIdentity === identity) return true;
  const renewed = spec.renewTime ? new Date(spec.renewTime).getTime() : 0;
  return now - renewed > (spec.leaseDurationSeconds ? spec.leaseDurationSeconds * 1000 : leaseDurationMs);
}

export class LeaderElector {
  readonly #options: LeaderElectionOptions;
  readonly #api: CoordinationV1Api;
  #leading = false;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #lastRenew = 0;

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
    // A leader that could not renew within the lease duration must stop acting.
    if (this.#leading && Date.now() - this.#lastRenew > this.#options.leaseDurationMs) this.#setLeading(false);
    if (!this.#stopped) {
      this.#timer = setTimeout(() => void this.#tick(), this.#options.retryPeriodMs);
      this.#timer.unref();
    }
  }

  async #tryAcquireOrRenew(): Promise<void> {
    const { namespace, name, identity, leaseDurationMs } = this.#options;
    const now = new Date();
    let lease: V1Lease | undefined;
    try {
      lease = await this.#api.readNamespacedLease({ namespace, name });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    if (!canAcquire(lease, identity, now.getTime(), leaseDurationMs)) {
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
      if (!lease) await this.#api.createNamespacedLease({ namespace, body: { metadata: { name, namespace }, spec } });
      else await this.#api.replaceNamespacedLease({ namespace, name, body: { metadata: { ...lease.metadata, name, namespace }, spec } });
    } catch (error) {
      if (isConflict(error)) return; // someone else wrote first; look again next tick
      throw error;
    }
    this.#lastRenew = now.getTime();
    if (!this.#leading) this.#setLeading(true);
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
