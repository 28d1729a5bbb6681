/**
 * revokeOld WhenUnused, decided: a previous key is revoked once every
 * restart target's rollout has finished and the key service has seen no
 * accepted use of it for the quiet period (and the current key has been
 * used), the same rule the key service applies (core/retirement.ts); the
 * overlap stays the deadline, where it ends anyway with a Warning naming who
 * still used it. Pure functions of gathered facts and the clock: the
 * reconciler gathers the key service's views and the workloads, and carries
 * the plan out.
 *
 * Why the operator decides and the key service does not: it rotates with the
 * service's `afterGrace` (gracePeriod = overlap, the same hard deadline) and
 * ends the old key itself, because WhenUnused also waits for every restart
 * target's rollout, which the service cannot see. A Deployment whose new pods
 * are not Ready still runs old pods with the old Secret; an idle one among
 * them shows no use, and a service-side sweep would revoke the key under it.
 * Two deciders would race (the sweep needs no rollout), so only one decides.
 * What this costs nobody: the deadline is the service's own expiry, so an
 * operator that is down leaves the old key to end at the overlap, never
 * later; the revoke names why in the service's audit record (`unusedReason`,
 * the `reason` of DELETE /v1/keys/:id), as the sweep's own records do; and
 * the quiet period is read from the spec at each reconcile, so changing it
 * mid-transition takes effect. Do not switch the operator's rotate to
 * `whenUnused` without moving the rollout wait into the service.
 */
import { MAX_STATUS_CLIENTS, type EffectiveApiKeySpec, type PreviousKeyEnd, type RestartTarget } from '../core/apikey.ts';
import { retirementDecision, stragglers, type RecentClient } from '../core/retirement.ts';
import type { KeyView } from '../client/index.ts';
import type { ConditionUpdate } from './status.ts';
import type { HistoryEntry, PreviousKey } from './types.ts';

/** A restart target's rollout, as read from its status. */
export interface Rollout {
  target: RestartTarget;
  done: boolean;
  /** What it waits for, e.g. "1 of 3 replicas updated". */
  waitingFor: string;
}

interface WorkloadLike {
  metadata?: { generation?: number };
  spec?: object;
  status?: object;
}

/**
 * Whether a workload's rollout finished: its controller observed the current
 * generation and every desired replica is updated and ready (Deployment,
 * StatefulSet), or every scheduled daemon pod is (DaemonSet). A workload that
 * is gone holds nothing.
 */
export function rolloutOf(target: RestartTarget, workload: WorkloadLike | undefined): Rollout {
  if (!workload) return { target, done: true, waitingFor: '' };
  const status = (workload.status ?? {}) as Record<string, unknown>;
  const num = (field: string): number => (typeof status[field] === 'number' ? (status[field] as number) : 0);
  const generation = workload.metadata?.generation ?? 0;
  if (num('observedGeneration') < generation) return { target, done: false, waitingFor: 'its controller to observe the new pod template' };
  const [desired, updated, ready, total] =
    target.kind === 'DaemonSet'
      ? [num('desiredNumberScheduled'), num('updatedNumberScheduled'), num('numberReady'), num('currentNumberScheduled')]
      : [((workload.spec ?? {}) as { replicas?: number }).replicas ?? 1, num('updatedReplicas'), num('readyReplicas'), num('replicas')];
  if (updated < desired) return { target, done: false, waitingFor: `${updated} of ${desired} replicas updated` };
  if (ready < desired) return { target, done: false, waitingFor: `${ready} of ${desired} replicas ready` };
  if (total > desired) return { target, done: false, waitingFor: `${total - desired} old replica(s) to go` };
  return { target, done: true, waitingFor: '' };
}

/** "10.0.3.7 (reports/1.0) at 2026-12-01T10:00:00.000Z". */
export const describeClient = (client: RecentClient): string =>
  `${client.ip ?? 'an unknown address'}${client.userAgent ? ` (${client.userAgent})` : ''} at ${client.lastUsedAt}`;

export interface RetireFacts {
  spec: EffectiveApiKeySpec;
  previousKeys: readonly PreviousKey[];
  /** The key service's view of each previous key (absent: it no longer has it). */
  views: ReadonlyMap<string, KeyView>;
  /** The current key's view (the successor of every previous key). */
  current: KeyView | undefined;
  rollouts: readonly Rollout[];
  /** When the previous keys were rotated away from (the last rotation). */
  rotatedAt: string;
  now: number;
}

export interface RetirePlan {
  /** Revoke these now (unused for the quiet period, rollouts finished); `reason` goes to the key service's audit record. */
  revoke: { keyId: string; message: string; reason: string }[];
  /** Ended at the deadline: an Event each (Warning when someone still used it). */
  ended: { keyId: string; how: PreviousKeyEnd; stillUsedBy: string[]; message: string }[];
  /** The previous keys that stay, with their last use. */
  previousKeys: PreviousKey[];
  rotating: ConditionUpdate;
  /** Look again after this long (the earliest moment something can end). */
  wakeInMs: number | undefined;
}

const facts = (view: KeyView, quietPeriod: string, rotatedAt: string) => ({
  id: view.id,
  revokedAt: view.revokedAt,
  expiresAt: view.expiresAt,
  lastUsedAt: view.lastUsedAt,
  recentClients: view.recentClients,
  // The operator rotates with afterGrace and decides itself (it also waits for rollouts): the same rule, its own quiet period.
  retirement: { revokeOld: 'whenUnused' as const, quietPeriod, rotatedAt: view.transition?.rotatedAt ?? rotatedAt, endedAt: null, endedBy: null },
});

/** Why the operator revoked a previous key, as the key service's audit record keeps it (bounded: no names of targets). */
export const unusedReason = (quietPeriod: string, restartTargets: number, successorId: string): string =>
  `keyward operator, revokeOld WhenUnused: unused for ${quietPeriod} after ${
    restartTargets === 0 ? 'the rotation (no restart targets)' : `the rollout of its ${restartTargets === 1 ? 'restart target' : `${restartTargets} restart targets`} finished`
  }; successor ${successorId} in use`;

/** What to do about the previous keys of a WhenUnused ApiKey now. */
export function planRetirement({ spec, previousKeys, views, current, rollouts, rotatedAt, now }: RetireFacts): RetirePlan {
  const quietPeriod = spec.quietPeriod!;
  const plan: RetirePlan = { revoke: [], ended: [], previousKeys: [], rotating: ['False', 'Idle', 'No rotation under way.'], wakeInMs: undefined };
  const unfinished = rollouts.filter((rollout) => !rollout.done);
  const waits: string[] = [];
  let waitingForRollout = false;
  const wake = (at: number) => (plan.wakeInMs = Math.max(100, Math.min(plan.wakeInMs ?? Infinity, at - now + 50)));
  const successor = current && facts(current, quietPeriod, rotatedAt);
  for (const entry of previousKeys) {
    const view = views.get(entry.keyId);
    if (!view || view.status === 'revoked') {
      plan.ended.push({ keyId: entry.keyId, how: 'Revoked', stillUsedBy: [], message: `Previous key ${entry.keyId} was revoked outside the operator.` });
      continue;
    }
    const old = facts(view, quietPeriod, rotatedAt);
    const users = stragglers(old, now).slice(0, MAX_STATUS_CLIENTS).map(describeClient);
    const decision = retirementDecision(old, successor, now);
    if (Date.parse(entry.expiresAt) <= now || decision?.do === 'record-deadline') {
      const message = users.length
        ? `Previous key ${entry.keyId} ended at its deadline (${entry.expiresAt}) while still in use by ${users.join(', ')}.`
        : `Previous key ${entry.keyId} ended at its deadline (${entry.expiresAt}).`;
      plan.ended.push({ keyId: entry.keyId, how: 'Deadline', stillUsedBy: users, message });
      continue;
    }
    plan.previousKeys.push({ keyId: entry.keyId, expiresAt: entry.expiresAt, ...(view.lastUsedAt ? { lastUsedAt: view.lastUsedAt } : {}), ...(users.length ? { lastUsedBy: users } : {}) });
    wake(Date.parse(entry.expiresAt));
    if (unfinished.length > 0) {
      waitingForRollout = true;
      continue;
    }
    if (decision?.do === 'revoke') {
      plan.previousKeys.pop();
      plan.revoke.push({
        keyId: entry.keyId,
        message: `Revoked previous key ${entry.keyId}: every restart target has rolled out and nothing used it for ${quietPeriod}.`,
        reason: unusedReason(quietPeriod, rollouts.length, current!.id),
      });
      continue;
    }
    if (decision?.do === 'wait') {
      wake(decision.until);
      waits.push(
        decision.for === 'successor'
          ? `key ${current?.id ?? '(current)'} to be used before revoking ${entry.keyId}`
          : `${entry.keyId} to go unused for ${quietPeriod}${users.length ? `; still used by ${users.join(', ')}` : ''}`,
      );
    }
  }
  if (waitingForRollout) {
    plan.rotating = ['True', 'WaitingForRollout', `Waiting for the rollout of ${unfinished.map((r) => `${r.target.kind}/${r.target.name} (${r.waitingFor})`).join(', ')} before revoking ${plan.previousKeys.map((p) => p.keyId).join(', ')}.`];
  } else if (waits.length > 0) plan.rotating = ['True', 'WaitingForConsumers', `Waiting for ${waits.join('; ')}.`];
  else if (plan.previousKeys.length > 0) plan.rotating = ['True', 'Overlap', `Previous key(s) ${plan.previousKeys.map((p) => p.keyId).join(', ')} still valid.`];
  return plan;
}

/** The history with how each ended previous key ended, on the entry that rotated away from it. */
export function historyWithEnds(history: readonly HistoryEntry[] | undefined, ends: readonly { keyId: string; how: PreviousKeyEnd }[], now: number): HistoryEntry[] | undefined {
  // Nothing ended: the history stays as it is (no field in the patch).
  if (!history || ends.length === 0) return undefined;
  const at = new Date(now).toISOString();
  return history.map((entry) => {
    const end = ends.find((e) => e.keyId === entry.fromKeyId);
    return end && !entry.previousEnded ? { ...entry, previousEnded: end.how, previousEndedAt: at } : entry;
  });
}
