/**
 * What an ApiKey needs when no key must be issued, as one pure plan: key
 * settings to sync in place, restart targets to roll, the previous secret to
 * take out of the Secret once its overlap ended, and the one status patch
 * (null when nothing changed). The reconciler carries it out in that order.
 */
import type { EffectiveApiKeySpec, PreviousKeyEnd, RestartTarget } from '../core/apikey.ts';
import type { KeyView } from '../client/index.ts';
import { livePreviousKeys, requeueAfterMs, shouldRestartConsumers } from './policy.ts';
import type { CachedSecret } from './secret.ts';
import { historyWithEnds, type RetirePlan } from './retire.ts';
import { steadyStatus } from './status.ts';
import type { ApiKeyStatus, PreviousKey, StatusPatch } from './types.ts';

/** Name, role and allowlist change in place: no new key needed. */
export type KeySettings = Partial<Pick<KeyView, 'name' | 'role' | 'ipAllowlist'>>;

export interface SteadyFacts {
  spec: EffectiveApiKeySpec;
  status: ApiKeyStatus;
  generation: number;
  secret: CachedSecret | undefined;
  /** The key service's view of status.keyId, when it was asked this time. */
  key: KeyView | undefined;
  now: number;
  resyncMs: number;
  /** WhenUnused with previous keys: what retire.ts decided about them. */
  retire?: RetirePlan | undefined;
}

export interface SteadyPlan {
  keyUpdate: { keyId: string; settings: KeySettings } | null;
  /** Roll these for status.keyId. */
  restart: RestartTarget[];
  /** Take these entries out of the Secret (the previous secret, its overlap over). */
  secret: { remove: string[] } | null;
  status: StatusPatch | null;
  /** Look again on a timer after this long (0: the resync will do). */
  requeueAfterMs: number;
  /** WhenUnused: previous keys to revoke now, and previous keys that ended (an Event each), before the status is written. */
  retire: Pick<RetirePlan, 'revoke' | 'ended'> | null;
}

/** The previous keys that end in this plan, and how: revoked once unused or at the deadline (retire.ts), else at the end of the overlap. */
function endsOf(status: ApiKeyStatus, live: readonly PreviousKey[], retire: RetirePlan | undefined): { keyId: string; how: PreviousKeyEnd }[] {
  if (retire) return [...retire.ended, ...retire.revoke.map((r) => ({ keyId: r.keyId, how: 'Unused' as const }))];
  return (status.previousKeys ?? []).filter((p) => !live.some((l) => l.keyId === p.keyId)).map((p) => ({ keyId: p.keyId, how: 'Expired' as const }));
}

/** The sooner of two wake-ups (0: none before the resync). */
const soonest = (a: number, b: number | undefined, resyncMs: number): number => {
  if (b === undefined || b >= resyncMs) return a;
  return a === 0 ? b : Math.min(a, b);
};

export function keySettingsToSync(view: KeyView, spec: EffectiveApiKeySpec): KeySettings | null {
  if (view.status !== 'active') return null;
  const settings: KeySettings = {};
  if (view.name !== spec.displayName) settings.name = spec.displayName;
  if (view.role !== spec.role) settings.role = spec.role;
  if (JSON.stringify(view.ipAllowlist) !== JSON.stringify(spec.ipAllowlist)) settings.ipAllowlist = spec.ipAllowlist;
  return Object.keys(settings).length > 0 ? settings : null;
}

export function planSteadyState({ spec, status, generation, secret, key, now, resyncMs, retire }: SteadyFacts): SteadyPlan {
  const settings = key ? keySettingsToSync(key, spec) : null;
  const restart = shouldRestartConsumers(spec, status) ? spec.restartTargets : [];
  const live = retire?.previousKeys ?? livePreviousKeys(status.previousKeys, now);
  const overlapEnded = live.length !== (status.previousKeys ?? []).length;
  const previous = spec.dataKeys.previous;
  const dropPrevious = overlapEnded && live.length === 0 && previous !== null && secret?.entries[previous] !== undefined;
  return {
    keyUpdate: key && settings ? { keyId: key.id, settings } : null,
    restart,
    secret: dropPrevious ? { remove: [previous] } : null,
    status: steadyStatus({
      status,
      spec,
      restartedFor: restart.length > 0 ? status.keyId : undefined,
      generation,
      now,
      retirement: retire && { previousKeys: live, rotating: retire.rotating },
      history: historyWithEnds(status.history, endsOf(status, live, retire), now),
    }),
    requeueAfterMs: soonest(requeueAfterMs(spec, { ...status, previousKeys: live }, now, resyncMs), retire?.wakeInMs, resyncMs),
    retire: retire && (retire.revoke.length > 0 || retire.ended.length > 0) ? { revoke: retire.revoke, ended: retire.ended } : null,
  };
}
