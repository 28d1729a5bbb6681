/** The pure status functions and the steady-state plan, with the clock as an input. */
import { describe, expect, it } from 'vitest';
import type { KeyView } from '../../src/client/index.ts';
import { effectiveSpec, validateApiKeySpec } from '../../src/core/apikey.ts';
import { shouldIssue } from '../../src/operator/policy.ts';
import {
  createInstead,
  intentStatus,
  invalidSpecStatus,
  issuedStatus,
  nextAttempt,
  pendingIssue,
  statusChanges,
  steadyStatus,
  withConditions,
} from '../../src/operator/status.ts';
import { cachedSecret, type CachedSecret } from '../../src/operator/secret.ts';
import { keySettingsToSync, planSteadyState } from '../../src/operator/steady.ts';
import type { ApiKeyStatus, Condition } from '../../src/operator/types.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.parse('2026-01-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

function spec(raw: Record<string, unknown>) {
  const parsed = validateApiKeySpec(raw);
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  return effectiveSpec(parsed.spec, { namespace: 'ns', name: 'app' });
}

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const secretWith = (data: Record<string, string>): CachedSecret =>
  cachedSecret({
    metadata: { name: 'app', namespace: 'ns', annotations: { 'keyward.dev/key-id': 'key_b', 'keyward.dev/sequence': '2', 'keyward.dev/secret-sha256': 'h' } },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
  });

/** A delivered key as the steady state sees it after finishing a Create at T0. */
function delivered(raw: Record<string, unknown> = { role: 'viewer' }) {
  const s = spec(raw);
  const pending = pendingIssue({}, s, { operation: 'Create', reason: 'Created', message: 'No key yet.' }, T0);
  const { patch } = issuedStatus({ status: {}, spec: s, pending, keyId: 'key_a', previousExpiresAt: undefined, generation: 1, now: T0 });
  return { spec: s, status: patch as ApiKeyStatus };
}

describe('conditions', () => {
  it('one per type, in a fixed order, each with the generation it was set for', () => {
    const conditions = withConditions(undefined, { KeyServiceReachable: ['True', 'Reachable', 'ok'], Ready: ['False', 'InvalidSpec', 'bad'] }, 3, T0);
    expect(conditions).toEqual([
      { type: 'Ready', status: 'False', reason: 'InvalidSpec', message: 'bad', lastTransitionTime: iso(T0), observedGeneration: 3 },
      { type: 'KeyServiceReachable', status: 'True', reason: 'Reachable', message: 'ok', lastTransitionTime: iso(T0), observedGeneration: 3 },
    ]);
  });

  it('lastTransitionTime moves when the status changes, not when only reason or message do', () => {
    const first = withConditions(undefined, { Ready: ['True', 'Created', 'in Secret a'] }, 1, T0);
    const reworded = withConditions(first, { Ready: ['True', 'Rotated', 'in Secret b'] }, 2, T0 + HOUR);
    expect(reworded[0]).toMatchObject({ reason: 'Rotated', message: 'in Secret b', lastTransitionTime: iso(T0), observedGeneration: 2 });
    const flipped = withConditions(reworded, { Ready: ['False', 'KeyServiceRefused', 'no'] }, 2, T0 + 2 * HOUR);
    expect(flipped[0]).toMatchObject({ status: 'False', lastTransitionTime: iso(T0 + 2 * HOUR) });
  });

  it('keeps a message within what the CRD accepts', () => {
    const [ready] = withConditions(undefined, { Ready: ['False', 'InvalidSpec', 'x'.repeat(40_000)] }, 1, T0);
    expect(ready!.message).toHaveLength(32_768);
  });
});

describe('statusChanges: the merge patch from the status to the one wanted', () => {
  const condition: Condition = { type: 'Ready', status: 'True', reason: 'Created', message: 'm', lastTransitionTime: iso(T0), observedGeneration: 1 };
  it('is null when they agree, whatever the order of keys (the API server returns them sorted)', () => {
    const sorted = Object.fromEntries(Object.entries(condition).sort(([a], [b]) => a.localeCompare(b))) as Condition;
    expect(statusChanges({ conditions: [sorted], observedGeneration: 1 }, { conditions: [condition], observedGeneration: 1 })).toBeNull();
  });

  it('holds only what differs, null for what must go, and leaves fields it was not given alone', () => {
    expect(statusChanges({ observedGeneration: 1, nextRotationTime: iso(T0), keyId: 'key_a' }, { observedGeneration: 2, nextRotationTime: undefined })).toEqual({
      observedGeneration: 2,
      nextRotationTime: null,
    });
  });
});

describe('the status of an issue', () => {
  it('records the intent first: the next sequence, the rotated-from key, the token; Rotating=True', () => {
    const { status } = delivered({ role: 'viewer', rotation: { token: 't-1' } });
    const s = spec({ role: 'viewer', rotation: { token: 't-2' } });
    const decision = shouldIssue({ spec: s, status, secret: { exists: true, keyId: 'key_a', hasSecretValue: true, dataSha256: 'h', recordedSha256: 'h' }, key: undefined, now: T0 + HOUR })!;
    expect(decision).toMatchObject({ operation: 'Rotate', reason: 'Token' });
    const pending = pendingIssue(status, s, decision, T0 + HOUR);
    expect(pending).toEqual({ operation: 'Rotate', sequence: 2, reason: 'Token', fromKeyId: 'key_a', rotationToken: 't-2', startedAt: iso(T0 + HOUR) });
    expect(intentStatus(status, pending, decision, 2, T0 + HOUR).conditions!.find((c) => c?.type === 'Rotating')).toMatchObject({ status: 'True', reason: 'Token' });
  });

  it('a Create: the key current, pending cleared, Ready, one history entry, the next rotation from the interval', () => {
    const { status } = delivered();
    expect(status).toMatchObject({
      pending: null,
      keyId: 'key_a',
      sequence: 1,
      secretName: 'app',
      lastRotationReason: 'Created',
      lastRotationTime: iso(T0),
      nextRotationTime: iso(T0 + 90 * DAY),
      previousKeys: [],
      history: [{ time: iso(T0), reason: 'Created', keyId: 'key_a', message: 'Created key key_a and wrote it to Secret app.' }],
    });
    expect(status.conditions!.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Ready', 'True', 'Created'],
      ['Rotating', 'False', 'Idle'],
      ['KeyServiceReachable', 'True', 'Reachable'],
    ]);
  });

  it('a Rotate keeps the old key in the overlap until it expires (Rotating=True); one already expired is not kept', () => {
    const { spec: s, status } = delivered();
    const pending = { operation: 'Rotate' as const, sequence: 2, reason: 'Token' as const, fromKeyId: 'key_a', startedAt: iso(T0 + DAY) };
    const rotated = issuedStatus({ status, spec: s, pending, keyId: 'key_b', previousExpiresAt: iso(T0 + 2 * DAY), generation: 1, now: T0 + DAY });
    expect(rotated.verb).toBe('Rotated');
    expect(rotated.message).toBe(`Rotated to key key_b (Token); key_a stays valid until ${iso(T0 + 2 * DAY)}.`);
    expect(rotated.patch.previousKeys).toEqual([{ keyId: 'key_a', expiresAt: iso(T0 + 2 * DAY) }]);
    expect(rotated.patch.conditions!.find((c) => c?.type === 'Rotating')).toMatchObject({ status: 'True', reason: 'Overlap' });
    const immediate = issuedStatus({ status, spec: s, pending, keyId: 'key_b', previousExpiresAt: iso(T0 + DAY), generation: 1, now: T0 + DAY });
    expect(immediate.patch.previousKeys).toEqual([]);
  });

  it('a Create that replaces a dead key keeps nothing of it; history stays at 10, newest first', () => {
    const { spec: s } = delivered();
    const history = Array.from({ length: 10 }, (_, i) => ({ time: iso(T0 - i * DAY), reason: 'Token' as const, keyId: `key_${i}`, message: 'm' }));
    const status: ApiKeyStatus = { keyId: 'key_dead', sequence: 4, previousKeys: [{ keyId: 'key_dead', expiresAt: iso(T0 + DAY) }], history };
    const pending = { operation: 'Create' as const, sequence: 5, reason: 'KeyRevoked' as const, startedAt: iso(T0) };
    const { patch, verb } = issuedStatus({ status, spec: s, pending, keyId: 'key_new', previousExpiresAt: undefined, generation: 1, now: T0 });
    expect(verb).toBe('Rotated');
    expect(patch.previousKeys).toEqual([]);
    expect(patch.history).toHaveLength(10);
    expect(patch.history![0]).toMatchObject({ keyId: 'key_new', reason: 'KeyRevoked' });
    expect(patch.history![9]).toMatchObject({ keyId: 'key_8' });
  });

  it('turns a Rotate of a dead key into a Create (fromKeyId removed), and moves a spent issue to the next sequence', () => {
    const pending = { operation: 'Rotate' as const, sequence: 3, reason: 'Token' as const, fromKeyId: 'key_a', startedAt: iso(T0) };
    expect(createInstead(pending)).toEqual({ pending: { ...pending, operation: 'Create', reason: 'KeyRevoked', fromKeyId: null } });
    expect(nextAttempt(pending)).toEqual({ pending: { ...pending, sequence: 4 }, sequence: 3 });
  });

  it('an invalid spec: Ready=False naming every problem, for this generation; null once it already says so', () => {
    const patch = invalidSpecStatus({}, ['role: bad', 'rotation.interval: bad'], 2, T0)!;
    expect(patch.observedGeneration).toBe(2);
    expect(patch.conditions).toEqual([expect.objectContaining({ type: 'Ready', status: 'False', reason: 'InvalidSpec', message: 'Invalid spec: role: bad; rotation.interval: bad' })]);
    expect(invalidSpecStatus(patch as ApiKeyStatus, ['role: bad', 'rotation.interval: bad'], 2, T0 + HOUR)).toBeNull();
  });
});

describe('the steady state', () => {
  it('wants nothing written once the status says it all', () => {
    const { spec: s, status } = delivered();
    const settled = { ...status, ...steadyStatus({ status, spec: s, restartedFor: undefined, generation: 1, now: T0 + HOUR }) } as ApiKeyStatus;
    expect(steadyStatus({ status: settled, spec: s, restartedFor: undefined, generation: 1, now: T0 + 2 * HOUR })).toBeNull();
  });

  it('a new generation, a suspended schedule and an ended overlap are one patch', () => {
    const { spec: s, status } = delivered();
    const inOverlap: ApiKeyStatus = { ...status, previousKeys: [{ keyId: 'key_old', expiresAt: iso(T0 + HOUR) }] };
    const suspended = spec({ role: 'viewer', rotation: { suspend: true } });
    const patch = steadyStatus({ status: inOverlap, spec: suspended, restartedFor: undefined, generation: 2, now: T0 + 2 * HOUR })!;
    expect(Object.keys(patch).sort()).toEqual(['conditions', 'nextRotationTime', 'observedGeneration', 'previousKeys']);
    expect(patch).toMatchObject({ observedGeneration: 2, nextRotationTime: null, previousKeys: [] });
    expect(patch.conditions!.find((c) => c?.type === 'Rotating')).toMatchObject({ status: 'False', reason: 'Idle', observedGeneration: 2 });
  });

  it('plans restarts once per key, key settings to sync, and the Secret rewrite when the overlap ends', () => {
    const raw = { role: 'viewer', displayName: 'app v2', secret: { keys: { previous: 'API_KEY_PREVIOUS' } }, consumers: { restartTargets: [{ kind: 'Deployment', name: 'web' }] } };
    const { spec: s, status } = delivered(raw);
    const inOverlap: ApiKeyStatus = { ...status, previousKeys: [{ keyId: 'key_old', expiresAt: iso(T0 + HOUR) }] };
    const secret = secretWith({ API_KEY: 'kw_new', API_KEY_ID: 'key_a', API_KEY_PREVIOUS: 'kw_old' });
    const view = { id: 'key_a', status: 'active', name: 'app', role: 'viewer', ipAllowlist: [] } as unknown as KeyView;

    const during = planSteadyState({ spec: s, status: inOverlap, generation: 1, secret, key: view, now: T0 + HOUR / 2, resyncMs: DAY });
    expect(during.keyUpdate).toEqual({ keyId: 'key_a', settings: { name: 'app v2' } });
    expect(during.restart).toEqual([{ kind: 'Deployment', name: 'web' }]);
    expect(during.secret, 'the previous secret still works').toBeNull();
    expect(during.status).toMatchObject({ consumersRestartedFor: 'key_a' });
    expect(during.requeueAfterMs, 'look again when the overlap ends').toBe(HOUR / 2 + 50);

    const after = planSteadyState({ spec: s, status: { ...inOverlap, consumersRestartedFor: 'key_a' }, generation: 1, secret, key: undefined, now: T0 + 2 * HOUR, resyncMs: 600_000 });
    expect(after.restart).toEqual([]);
    expect(after.keyUpdate).toBeNull();
    expect(after.secret, 'only the previous secret leaves: the others are not rewritten (the cache holds no values)').toEqual({ remove: ['API_KEY_PREVIOUS'] });
    expect(after.status).toMatchObject({ previousKeys: [] });
  });

  it('syncs name, role and allowlist of an active key only', () => {
    const s = spec({ role: 'key-manager', displayName: 'n', ipAllowlist: ['10.0.0.0/8'] });
    const view = { id: 'key_a', status: 'active', name: 'n', role: 'viewer', ipAllowlist: [] } as unknown as KeyView;
    expect(keySettingsToSync(view, s)).toEqual({ role: 'key-manager', ipAllowlist: ['10.0.0.0/8'] });
    expect(keySettingsToSync({ ...view, status: 'revoked' } as KeyView, s)).toBeNull();
    expect(keySettingsToSync({ ...view, role: 'key-manager', ipAllowlist: ['10.0.0.0/8'] } as KeyView, s)).toBeNull();
  });
});
