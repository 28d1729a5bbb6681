/**
 * The ApiKey status the operator wants, as pure functions of what it
 * observed and the clock: conditions (Kubernetes conventions: one entry per
 * type, lastTransitionTime moves only when the status does), the status
 * after an issue, the steady-state status, and the merge patch from the
 * current status to a wanted one (null when they agree, so an unchanged
 * ApiKey costs no write).
 */
import { isDeepStrictEqual } from 'node:util';
import { CONDITION_MESSAGE_MAX_LENGTH, CONDITION_TYPES, MAX_HISTORY, type EffectiveApiKeySpec } from '../core/apikey.ts';
import { livePreviousKeys, nextRotationTime, type IssueDecision } from './policy.ts';
import type { ApiKeyStatus, Condition, ConditionType, PendingIssue, PreviousKey, StatusPatch } from './types.ts';

export type ConditionUpdate = [status: Condition['status'], reason: string, message: string];
export type ConditionUpdates = Partial<Record<ConditionType, ConditionUpdate>>;

export const KEY_SERVICE_ANSWERED: ConditionUpdate = ['True', 'Reachable', 'The key service answered.'];

/** The conditions after `updates`, in a fixed order; each updated one records the generation it was set for. */
export function withConditions(existing: readonly Condition[] | undefined, updates: ConditionUpdates, generation: number, now: number): Condition[] {
  const merged = new Map((existing ?? []).map((c) => [c.type, c]));
  for (const type of CONDITION_TYPES) {
    const update = updates[type];
    if (!update) continue;
    const [status, reason, message] = update;
    const before = merged.get(type);
    merged.set(type, {
      type,
      status,
      reason,
      message: message.slice(0, CONDITION_MESSAGE_MAX_LENGTH),
      lastTransitionTime: before && before.status === status ? before.lastTransitionTime : new Date(now).toISOString(),
      observedGeneration: generation,
    });
  }
  return CONDITION_TYPES.filter((type) => merged.has(type)).map((type) => merged.get(type)!);
}

/** The Rotating condition: true while previous keys are still valid (the overlap). */
export function rotatingCondition(previous: readonly PreviousKey[]): ConditionUpdate {
  return previous.length > 0
    ? ['True', 'Overlap', `Previous key(s) ${previous.map((p) => p.keyId).join(', ')} still valid.`]
    : ['False', 'Idle', 'No rotation under way.'];
}

/** The Ready condition of an ApiKey whose key is delivered: one wording, so unchanged state writes nothing. */
export function readyCondition(status: Pick<ApiKeyStatus, 'keyId' | 'lastRotationReason'>, secretName: string): ConditionUpdate {
  return ['True', status.lastRotationReason === 'Created' ? 'Created' : 'Rotated', `Key ${status.keyId} is in Secret ${secretName}.`];
}

/**
 * The merge patch that takes `current` to `wanted`: only the fields that
 * differ (deep comparison: the API server returns objects with their keys
 * sorted), null for a field wanted absent (undefined). Null when nothing
 * differs. Fields `wanted` does not name are left alone.
 */
export function statusChanges(current: ApiKeyStatus, wanted: { [K in keyof ApiKeyStatus]?: ApiKeyStatus[K] }): StatusPatch | null {
  const patch: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(wanted)) {
    const before = current[field as keyof ApiKeyStatus];
    if (value === undefined) {
      if (before !== undefined) patch[field] = null;
    } else if (!isDeepStrictEqual(before, value)) patch[field] = value;
  }
  return Object.keys(patch).length > 0 ? (patch as StatusPatch) : null;
}

/** Only conditions change (a failure, a refusal): null when they already say so. */
export function conditionsChange(status: ApiKeyStatus, updates: ConditionUpdates, generation: number, now: number): StatusPatch | null {
  return statusChanges(status, { conditions: withConditions(status.conditions, updates, generation, now) });
}

/** A spec the schema refuses: Ready=False with every problem, for this generation. */
export function invalidSpecStatus(status: ApiKeyStatus, problems: readonly string[], generation: number, now: number): StatusPatch | null {
  const message = `Invalid spec: ${problems.join('; ')}`;
  return statusChanges(status, { observedGeneration: generation, conditions: withConditions(status.conditions, { Ready: ['False', 'InvalidSpec', message] }, generation, now) });
}

/** The intent of an issue, recorded before anything is issued. */
export function pendingIssue(status: ApiKeyStatus, spec: EffectiveApiKeySpec, decision: IssueDecision, now: number): PendingIssue {
  return {
    operation: decision.operation,
    sequence: (status.sequence ?? 0) + 1,
    reason: decision.reason,
    ...(decision.operation === 'Rotate' && status.keyId ? { fromKeyId: status.keyId } : {}),
    ...(spec.token !== null ? { rotationToken: spec.token } : {}),
    startedAt: new Date(now).toISOString(),
  };
}

export function intentStatus(status: ApiKeyStatus, pending: PendingIssue, decision: IssueDecision, generation: number, now: number): StatusPatch {
  return { pending, conditions: withConditions(status.conditions, { Rotating: ['True', decision.reason, decision.message] }, generation, now) };
}

/** The key to rotate died meanwhile: the same issue becomes a Create. */
export const createInstead = (pending: PendingIssue): StatusPatch => ({ pending: { ...pending, operation: 'Create', reason: 'KeyRevoked', fromKeyId: null } });

/** The idempotency key of this issue is spent (its key was revoked as undelivered): issue again under the next sequence. */
export const nextAttempt = (pending: PendingIssue): StatusPatch => ({ pending: { ...pending, sequence: pending.sequence + 1 }, sequence: pending.sequence });

export interface IssuedInput {
  status: ApiKeyStatus;
  spec: EffectiveApiKeySpec;
  pending: PendingIssue;
  /** The key now in the Secret. */
  keyId: string;
  /** When the rotated-from key stops working (Rotate), if the key service said. */
  previousExpiresAt: string | undefined;
  generation: number;
  now: number;
}

/** The status once an issue is delivered: pending cleared, the new key current, the old one in the overlap, one history entry. */
export function issuedStatus({ status, spec, pending, keyId, previousExpiresAt, generation, now }: IssuedInput): { patch: StatusPatch; verb: 'Created' | 'Rotated'; message: string } {
  const nowIso = new Date(now).toISOString();
  let previousKeys = livePreviousKeys(status.previousKeys, now).filter((p) => p.keyId !== keyId);
  if (pending.operation === 'Rotate' && pending.fromKeyId) {
    const from = pending.fromKeyId;
    if (previousExpiresAt && Date.parse(previousExpiresAt) > now) previousKeys = [...previousKeys.filter((p) => p.keyId !== from), { keyId: from, expiresAt: previousExpiresAt }];
  } else if (status.keyId && status.keyId !== keyId) {
    // A Create replaces a dead key: nothing of it stays valid.
    previousKeys = previousKeys.filter((p) => p.keyId !== status.keyId);
  }
  const verb = pending.operation === 'Create' && pending.reason === 'Created' ? 'Created' : 'Rotated';
  const message =
    verb === 'Created'
      ? `Created key ${keyId} and wrote it to Secret ${spec.secretName}.`
      : `Rotated to key ${keyId} (${pending.reason})${pending.fromKeyId ? `; ${pending.fromKeyId} stays valid until ${previousKeys.find((p) => p.keyId === pending.fromKeyId)?.expiresAt ?? 'now'}` : ''}.`;
  const patch: StatusPatch = {
    pending: null,
    keyId,
    secretName: spec.secretName,
    sequence: pending.sequence,
    observedRotationToken: pending.rotationToken ?? status.observedRotationToken ?? null,
    observedGeneration: generation,
    previousKeys,
    lastRotationTime: nowIso,
    lastRotationReason: pending.reason,
    nextRotationTime: nextRotationTime(spec, nowIso) ?? null,
    history: [{ time: nowIso, reason: pending.reason, keyId, ...(pending.operation === 'Rotate' && pending.fromKeyId ? { fromKeyId: pending.fromKeyId } : {}), message }, ...(status.history ?? [])].slice(0, MAX_HISTORY),
    conditions: withConditions(
      status.conditions,
      { Ready: readyCondition({ keyId, lastRotationReason: pending.reason }, spec.secretName), Rotating: rotatingCondition(previousKeys), KeyServiceReachable: KEY_SERVICE_ANSWERED },
      generation,
      now,
    ),
  };
  return { patch, verb, message };
}

export interface SteadyStatusInput {
  status: ApiKeyStatus;
  spec: EffectiveApiKeySpec;
  /** The key the restart targets are being restarted for now, if they are. */
  restartedFor: string | undefined;
  generation: number;
  now: number;
  /** WhenUnused (retire.ts): the previous keys that stay and the Rotating condition. */
  retirement?: { previousKeys: PreviousKey[]; rotating: ConditionUpdate } | undefined;
  /** The history with the ends of previous keys recorded, when some ended. */
  history?: ApiKeyStatus['history'];
}

/**
 * The status of an ApiKey whose key is delivered and needs no issue: this
 * generation observed, the next rotation, previous keys whose overlap ended
 * dropped, Ready, Rotating and KeyServiceReachable as they are now.
 */
export function steadyStatus({ status, spec, restartedFor, generation, now, retirement, history }: SteadyStatusInput): StatusPatch | null {
  const live = retirement?.previousKeys ?? livePreviousKeys(status.previousKeys, now);
  return statusChanges(status, {
    observedGeneration: generation,
    nextRotationTime: nextRotationTime(spec, status.lastRotationTime),
    previousKeys: live,
    consumersRestartedFor: restartedFor ?? status.consumersRestartedFor,
    ...(history ? { history } : {}),
    conditions: withConditions(
      status.conditions,
      { Ready: readyCondition(status, spec.secretName), Rotating: retirement?.rotating ?? rotatingCondition(live), KeyServiceReachable: KEY_SERVICE_ANSWERED },
      generation,
      now,
    ),
  });
}
