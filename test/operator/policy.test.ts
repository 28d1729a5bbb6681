/** The pure "should we issue a key, and why" policies, with the clock as an input. */
import { describe, expect, it } from 'vitest';
import { effectiveSpec, validateApiKeySpec } from '../../src/core/apikey.ts';
import { canAcquire } from '../../src/operator/leader.ts';
import { idempotencyKeyFor, intentIsImplicit, requeueAfterMs, resumeStep, shouldIssue, shouldRestartConsumers, type PolicyInput } from '../../src/operator/policy.ts';
import type { ApiKeyStatus, ObservedSecret } from '../../src/operator/types.ts';

const DAY = 86_400_000;
const T0 = Date.parse('2026-01-01T00:00:00Z');

function spec(raw: Record<string, unknown>) {
  const parsed = validateApiKeySpec(raw);
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  return effectiveSpec(parsed.spec, { namespace: 'ns', name: 'app' });
}

const goodSecret: ObservedSecret = { exists: true, ownerUid: 'uid-1', keyId: 'key_a', sequence: 1, dataSha256: 'h', recordedSha256: 'h', hasSecretValue: true };
const issuedStatus: ApiKeyStatus = { keyId: 'key_a', sequence: 1, secretName: 'app', lastRotationTime: new Date(T0).toISOString(), observedRotationToken: 't1' };

const input = (overrides: Partial<PolicyInput>): PolicyInput => ({
  spec: spec({ role: 'viewer', rotation: { token: 't1' } }),
  status: issuedStatus,
  secret: goodSecret,
  key: { status: 'active' },
  now: T0 + DAY,
  ...overrides,
});

describe('shouldIssue', () => {
  it('does nothing when all is in order', () => {
    expect(shouldIssue(input({}))).toBeNull();
  });

  it('creates the first key', () => {
    expect(shouldIssue(input({ status: {}, secret: { exists: false, hasSecretValue: false }, key: undefined }))).toMatchObject({ operation: 'Create', reason: 'Created' });
  });

  it('replaces a key revoked, expired or deleted out of band with a new one', () => {
    for (const status of ['revoked', 'expired', 'missing'] as const) {
      expect(shouldIssue(input({ key: { status } }))).toMatchObject({ operation: 'Create', reason: 'KeyRevoked' });
    }
  });

  it('a key the change feed reported compromised is replaced as Compromised (a Create: no overlap), before any other reason', () => {
    const compromised = input({ key: { status: 'revoked', compromised: true }, secret: { exists: false, hasSecretValue: false } });
    expect(shouldIssue(compromised)).toMatchObject({ operation: 'Create', reason: 'Compromised' });
    // Still active (the report was judged notify): nothing to replace.
    expect(shouldIssue(input({ key: { status: 'active', compromised: true } }))).toBeNull();
  });

  it('re-issues on drift: Secret deleted, value missing, wrong key id, value changed', () => {
    expect(shouldIssue(input({ secret: { exists: false, hasSecretValue: false } }))).toMatchObject({ operation: 'Rotate', reason: 'Drift', message: expect.stringMatching(/missing/) });
    expect(shouldIssue(input({ secret: { ...goodSecret, hasSecretValue: false } }))).toMatchObject({ reason: 'Drift' });
    expect(shouldIssue(input({ secret: { ...goodSecret, keyId: 'key_other' } }))).toMatchObject({ reason: 'Drift', message: expect.stringMatching(/key_other/) });
    expect(shouldIssue(input({ secret: { ...goodSecret, dataSha256: 'tampered' } }))).toMatchObject({ reason: 'Drift', message: expect.stringMatching(/changed outside/) });
  });

  it('rotates once per token change', () => {
    expect(shouldIssue(input({ spec: spec({ role: 'viewer', rotation: { token: 't2' } }) }))).toMatchObject({ operation: 'Rotate', reason: 'Token' });
    expect(shouldIssue(input({ status: { ...issuedStatus, observedRotationToken: 't2' }, spec: spec({ role: 'viewer', rotation: { token: 't2' } }) }))).toBeNull();
  });

  it('rotates on schedule: 90 days in production, 180 in development, or the interval; never while suspended', () => {
    const prod = spec({ role: 'viewer' });
    const status = { ...issuedStatus, observedRotationToken: undefined };
    expect(shouldIssue(input({ spec: prod, status, now: T0 + 90 * DAY - 1 }))).toBeNull();
    expect(shouldIssue(input({ spec: prod, status, now: T0 + 90 * DAY }))).toMatchObject({ reason: 'Scheduled', message: expect.stringMatching(/90d/) });
    const dev = spec({ role: 'viewer', environment: 'development' });
    expect(shouldIssue(input({ spec: dev, status, now: T0 + 179 * DAY }))).toBeNull();
    expect(shouldIssue(input({ spec: dev, status, now: T0 + 180 * DAY }))).toMatchObject({ reason: 'Scheduled' });
    expect(shouldIssue(input({ spec: spec({ role: 'viewer', rotation: { interval: '1h' } }), status, now: T0 + 3_600_000 }))).toMatchObject({ reason: 'Scheduled' });
    expect(shouldIssue(input({ spec: spec({ role: 'viewer', rotation: { interval: '1h', suspend: true } }), status, now: T0 + 10 * DAY }))).toBeNull();
  });

  it('puts the policies in order: a revoked key wins over a token change', () => {
    expect(shouldIssue(input({ key: { status: 'revoked' }, spec: spec({ role: 'viewer', rotation: { token: 't9' } }) }))).toMatchObject({ reason: 'KeyRevoked' });
  });

  it('rotates into a new Secret when spec.secret.name changes', () => {
    const renamed = spec({ role: 'viewer', rotation: { token: 't1' }, secret: { name: 'renamed' } });
    // The new Secret does not exist yet: that is the rename, not drift.
    expect(shouldIssue(input({ spec: renamed, secret: { exists: false, hasSecretValue: false } }))).toMatchObject({ reason: 'SpecChange' });
  });
});

describe('crash recovery and follow-ups', () => {
  it('finishes the status when the Secret already holds the pending issue, else asks the service again', () => {
    const pending = { operation: 'Rotate' as const, sequence: 2, reason: 'Token' as const, startedAt: '' };
    expect(resumeStep(pending, { ...goodSecret, sequence: 2 }, 'uid-1')).toBe('FinishStatus');
    expect(resumeStep(pending, { ...goodSecret, sequence: 1 }, 'uid-1')).toBe('CallService');
    expect(resumeStep(pending, { exists: false, hasSecretValue: false }, 'uid-1')).toBe('CallService');
    // A Secret left by an earlier ApiKey of the same name (Retain orphans it) holds that ApiKey's key, whatever its sequence.
    expect(resumeStep(pending, { ...goodSecret, sequence: 2, ownerUid: undefined }, 'uid-1')).toBe('CallService');
    expect(resumeStep(pending, { ...goodSecret, sequence: 2, ownerUid: 'uid-0' }, 'uid-1')).toBe('CallService');
  });

  it('records no intent for a first key only (its issue is decided the same way on every attempt)', () => {
    const created = { operation: 'Create' as const, reason: 'Created' as const, message: '' };
    expect(intentIsImplicit(created, {})).toBe(true);
    expect(intentIsImplicit({ operation: 'Rotate', reason: 'Token', message: '' }, issuedStatus)).toBe(false);
    expect(intentIsImplicit({ operation: 'Create', reason: 'KeyRevoked', message: '' }, issuedStatus)).toBe(false);
    expect(intentIsImplicit({ operation: 'Rotate', reason: 'Drift', message: '' }, issuedStatus)).toBe(false);
  });

  it('derives one idempotency key per issue', () => {
    expect(idempotencyKeyFor('uid-1', 3)).toBe('apikey:uid-1:3');
    expect(idempotencyKeyFor('uid-1', 3)).not.toBe(idempotencyKeyFor('uid-1', 4));
  });

  it('restarts consumers once per key', () => {
    const withTargets = spec({ role: 'viewer', consumers: { restartTargets: [{ kind: 'Deployment', name: 'web' }] } });
    expect(shouldRestartConsumers(withTargets, issuedStatus)).toBe(true);
    expect(shouldRestartConsumers(withTargets, { ...issuedStatus, consumersRestartedFor: 'key_a' })).toBe(false);
    expect(shouldRestartConsumers(spec({ role: 'viewer' }), issuedStatus)).toBe(false);
  });

  it('looks again at the next rotation or the end of an overlap, whichever is first, unless the resync comes sooner', () => {
    const s = spec({ role: 'viewer', rotation: { interval: '1h' } });
    expect(requeueAfterMs(s, issuedStatus, T0, 600_000)).toBe(0);
    expect(requeueAfterMs(s, { ...issuedStatus, previousKeys: [{ keyId: 'key_old', expiresAt: new Date(T0 + 5_000).toISOString() }] }, T0, 600_000)).toBe(5_050);
    expect(requeueAfterMs(s, issuedStatus, T0 + 3_590_000, 600_000)).toBe(10_050);
  });
});

describe('leader election: may this replica take the lease?', () => {
  const lease = (holder: string, renewTime: string) => ({ spec: { holderIdentity: holder, leaseDurationSeconds: 15, renewTime: new Date(renewTime) } });
  it('takes a free lease, keeps its own, and waits out another holder', () => {
    expect(canAcquire(undefined, 'a', T0, 15_000, T0)).toBe(true);
    expect(canAcquire(lease('a', '2026-01-01T00:00:00Z'), 'a', T0, 15_000, T0)).toBe(true);
    expect(canAcquire(lease('b', '2026-01-01T00:00:00Z'), 'a', T0 + 15_000, 15_000, T0)).toBe(false);
    expect(canAcquire(lease('b', '2026-01-01T00:00:00Z'), 'a', T0 + 15_001, 15_000, T0)).toBe(true);
  });

  it('judges expiry by when it last saw the lease change, not by the holder\'s clock', () => {
    // The holder's clock runs an hour behind: its renewTime looks ancient, yet it renewed just now.
    const skewed = lease('b', new Date(T0 - 3_600_000).toISOString());
    expect(canAcquire(skewed, 'a', T0 + 1_000, 15_000, T0)).toBe(false);
  });
});
