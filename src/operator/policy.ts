/**
 * Pure decisions, in the manner of cert-manager's trigger policies: the
 * observed state is gathered into one input, an ordered chain of small named
 * policies each says whether a new key must be issued and why, and the first
 * that fires decides. Its reason becomes the status reason and the Event.
 * The clock is an input, so time-based policies are tested without sleeping.
 */
import type { EffectiveApiKeySpec } from '../core/apikey.ts';
import { formatDuration } from '../core/duration.ts';
import type { ApiKeyStatus, ObservedKey, ObservedSecret, PendingIssue, PreviousKey, RotationReason } from './types.ts';

export interface PolicyInput {
  spec: EffectiveApiKeySpec;
  status: ApiKeyStatus;
  secret: ObservedSecret;
  /** The key service's view of status.keyId; undefined if it was not asked. */
  key: ObservedKey | undefined;
  now: number;
}

export interface IssueDecision {
  operation: 'Create' | 'Rotate';
  reason: RotationReason;
  message: string;
}

type Policy = (input: PolicyInput) => IssueDecision | null;

const noKeyYet: Policy = ({ status }) =>
  status.keyId ? null : { operation: 'Create', reason: 'Created', message: 'No key has been issued for this ApiKey yet.' };

/** Compromised (the change feed said so): replaced at once, with no overlap (the old key is revoked already). */
const keyCompromised: Policy = ({ status, key }) =>
  key?.compromised && key.status !== 'active'
    ? { operation: 'Create', reason: 'Compromised', message: `Key ${status.keyId} was reported compromised and revoked; issuing its replacement now, with no overlap.` }
    : null;

const keyRevokedOrExpired: Policy = ({ status, key }) => {
  if (!key || key.status === 'active') return null;
  const what = key.status === 'missing' ? 'no longer exists in the key service' : `was ${key.status} outside the operator`;
  return { operation: 'Create', reason: 'KeyRevoked', message: `Key ${status.keyId} ${what}; issuing a new key.` };
};

const secretMissing: Policy = ({ secret, spec }) =>
  secret.exists ? null : { operation: 'Rotate', reason: 'Drift', message: `Secret ${spec.secretName} is missing; re-issuing its key.` };

const secretTampered: Policy = ({ secret, status, spec }) => {
  if (!secret.hasSecretValue) return { operation: 'Rotate', reason: 'Drift', message: `Secret ${spec.secretName} has no "${spec.dataKeys.secret}" entry; re-issuing.` };
  if (secret.keyId !== status.keyId) {
    return { operation: 'Rotate', reason: 'Drift', message: `Secret ${spec.secretName} names key ${secret.keyId ?? '(none)'} instead of ${status.keyId}; re-issuing.` };
  }
  if (secret.recordedSha256 === undefined || secret.dataSha256 !== secret.recordedSha256) {
    return { operation: 'Rotate', reason: 'Drift', message: `The secret value in Secret ${spec.secretName} was changed outside the operator; re-issuing.` };
  }
  return null;
};

const secretRenamed: Policy = ({ status, spec }) =>
  status.secretName !== undefined && status.secretName !== spec.secretName
    ? { operation: 'Rotate', reason: 'SpecChange', message: `spec.secret.name changed from ${status.secretName} to ${spec.secretName}.` }
    : null;

const tokenChanged: Policy = ({ status, spec }) =>
  spec.token !== null && spec.token !== (status.observedRotationToken ?? null)
    ? { operation: 'Rotate', reason: 'Token', message: `spec.rotation.token changed to "${spec.token}".` }
    : null;

const intervalElapsed: Policy = ({ status, spec, now }) => {
  if (spec.suspend || !status.lastRotationTime) return null;
  const due = Date.parse(status.lastRotationTime) + spec.intervalMs;
  return now >= due
    ? { operation: 'Rotate', reason: 'Scheduled', message: `The key is older than the rotation interval (${formatDuration(spec.intervalMs)}).` }
    : null;
};

/** Order matters: the first policy that fires decides. */
export const ISSUE_POLICIES: readonly [name: string, policy: Policy][] = [
  ['NoKeyYet', noKeyYet],
  ['KeyCompromised', keyCompromised],
  ['KeyRevokedOrExpired', keyRevokedOrExpired],
  ['SecretRenamed', secretRenamed],
  ['SecretMissing', secretMissing],
  ['SecretTampered', secretTampered],
  ['TokenChanged', tokenChanged],
  ['IntervalElapsed', intervalElapsed],
];

export function shouldIssue(input: PolicyInput): IssueDecision | null {
  for (const [, policy] of ISSUE_POLICIES) {
    const decision = policy(input);
    if (decision) return decision;
  }
  return null;
}

/**
 * After a crash with an issue under way: was the Secret already written for
 * this issue (finish the status), or must the service be asked again? Only a
 * Secret this ApiKey controls counts: one left by an earlier ApiKey of the
 * same name (deletionPolicy Retain orphans it) holds that ApiKey's key.
 */
export function resumeStep(pending: PendingIssue, secret: ObservedSecret, uid: string): 'FinishStatus' | 'CallService' {
  return secret.exists && secret.ownerUid === uid && secret.sequence === pending.sequence && secret.keyId !== undefined ? 'FinishStatus' : 'CallService';
}

/**
 * An ApiKey's first key needs no intent recorded before the key service is
 * asked: until its result is written, every attempt (after a crash too)
 * decides the same Create under the same sequence, so the same idempotency
 * key, from a status nobody else writes. (A rotation's intent is recorded:
 * its reason may be gone after a crash, e.g. a token reverted, and the key
 * it issued would be left undelivered.)
 */
export const intentIsImplicit = (decision: IssueDecision, status: ApiKeyStatus): boolean => decision.reason === 'Created' && !status.keyId && !status.pending;

/** Idempotency key of one issue: stable across retries and operator restarts, new for each issue. */
export const idempotencyKeyFor = (uid: string, sequence: number): string => `apikey:${uid}:${sequence}`;

export const nextRotationTime = (spec: EffectiveApiKeySpec, lastRotationTime: string | undefined): string | undefined =>
  spec.suspend || !lastRotationTime ? undefined : new Date(Date.parse(lastRotationTime) + spec.intervalMs).toISOString();

export const livePreviousKeys = (previous: readonly PreviousKey[] | undefined, now: number): PreviousKey[] =>
  (previous ?? []).filter((p) => Date.parse(p.expiresAt) > now);

/**
 * Asking the key service whether the key was revoked out of band costs a
 * call: ask once per resync period, and whenever the spec changed (its
 * settings may need syncing). Watch events in between need no such call.
 */
export function keyCheckDue(lastCheckedAt: number | undefined, now: number, resyncMs: number, specChanged: boolean): boolean {
  return specChanged || lastCheckedAt === undefined || now - lastCheckedAt >= resyncMs * 0.9;
}

export function shouldRestartConsumers(spec: EffectiveApiKeySpec, status: ApiKeyStatus): boolean {
  return spec.restartTargets.length > 0 && status.keyId !== undefined && !status.pending && status.consumersRestartedFor !== status.keyId;
}

/**
 * When to look again on a timer: at the next rotation or the end of an overlap,
 * if that comes before the periodic resync (0: the resync will do). One
 * periodic source only, so a large fleet does not queue every key twice.
 */
export function requeueAfterMs(spec: EffectiveApiKeySpec, status: ApiKeyStatus, now: number, resyncMs: number): number {
  const times: number[] = [];
  const next = nextRotationTime(spec, status.lastRotationTime);
  if (next) times.push(Date.parse(next) - now);
  for (const previous of status.previousKeys ?? []) times.push(Date.parse(previous.expiresAt) - now);
  const soonest = Math.min(...times);
  return soonest < resyncMs ? Math.max(100, soonest + 50) : 0;
}
