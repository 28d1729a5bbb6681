/**
 * Issuing a key, crash-safe: the intent is recorded in the status first, the
 * key service is asked idempotently (one idempotency key per issue), the
 * Secret is written, then the status records the result: three writes. A
 * restarted operator resumes from whichever step it reached; a key issued
 * but never delivered is revoked and issued anew. An ApiKey's first key
 * records no intent (policy.ts, intentIsImplicit): its first write is the
 * finalizer, and the issue is three writes all the same.
 */
import type { EffectiveApiKeySpec } from '../core/apikey.ts';
import { REVOKE_REASON_MAX_LENGTH } from '../core/schemas.ts';
import { KeywardApiError, type KeywardClient, type KeyView } from '../client/index.ts';
import { generationOf, refOf, type ReconcileContext } from './context.ts';
import { idempotencyKeyFor, intentIsImplicit, resumeStep, type IssueDecision } from './policy.ts';
import { reportRefusal, reportUnreachable } from './report.ts';
import { lookAgainNow, type ReconcileResult } from './result.ts';
import { secretWrite, sha256 } from './secret.ts';
import { createInstead, intentStatus, issuedStatus, nextAttempt, pendingIssue } from './status.ts';
import type { ApiKeyResource, PendingIssue } from './types.ts';

/**
 * Revokes a key; one already revoked or gone is fine. `reason` says why in the
 * key service's audit record (without it the record says only that the
 * operator's key revoked it): cut to the API's bound, never refused for length.
 */
export async function revokeQuietly(keys: KeywardClient, keyId: string, reason: string): Promise<void> {
  try {
    await keys.revokeKey(keyId, { reason: reason.slice(0, REVOKE_REASON_MAX_LENGTH).trimEnd() });
  } catch (error) {
    if (error instanceof KeywardApiError && ['KEY_ALREADY_REVOKED', 'KEY_NOT_FOUND'].includes(error.code)) return;
    throw error;
  }
}

export class KeyIssuer {
  readonly #ctx: ReconcileContext;

  constructor(ctx: ReconcileContext) {
    this.#ctx = ctx;
  }

  /** Step 1: record the intent (a write of its own, so a crash after it is resumed), then carry it out. */
  async start(resource: ApiKeyResource, spec: EffectiveApiKeySpec, decision: IssueDecision): Promise<ReconcileResult> {
    const { kube, logger, clock, crashPoint } = this.#ctx;
    const status = resource.status ?? {};
    const pending = pendingIssue(status, spec, decision, clock());
    logger.info({ apikey: refOf(resource), reason: decision.reason, sequence: pending.sequence }, decision.message);
    const recorded = intentIsImplicit(decision, status) ? resource : await kube.patchStatus(resource, intentStatus(status, pending, decision, generationOf(resource), clock()));
    crashPoint?.('intent-recorded');
    return this.continue(recorded, spec, pending);
  }

  /** Steps 2-4: ask the key service (idempotently), write the Secret, record the result. */
  async continue(resource: ApiKeyResource, spec: EffectiveApiKeySpec, pending: PendingIssue): Promise<ReconcileResult> {
    const { kube, metrics, gather, crashPoint } = this.#ctx;
    const { observed } = gather.secret(resource, spec);
    if (resumeStep(pending, observed, resource.metadata.uid) === 'FinishStatus') {
      await this.#finish(resource, spec, pending, observed.keyId!, undefined);
      return lookAgainNow('issue finished');
    }

    let issued: { key: KeyView; secret: string; previous?: KeyView };
    try {
      issued = await this.#issue(resource, spec, pending);
      metrics.keyServiceUp.set(1);
    } catch (error) {
      if (error instanceof KeywardApiError && error.code === 'IDEMPOTENCY_KEY_REUSED') return this.#revokeUndelivered(resource, pending, error);
      if (error instanceof KeywardApiError && pending.operation === 'Rotate' && ['KEY_NOT_ACTIVE', 'KEY_NOT_FOUND'].includes(error.code)) {
        await kube.patchStatus(resource, createInstead(pending));
        return lookAgainNow(`key ${pending.fromKeyId} is no longer active; creating a new key instead`);
      }
      await reportUnreachable(this.#ctx, resource, error);
      await reportRefusal(this.#ctx, resource, error, 'issue a key');
      await kube.event(resource, 'Warning', 'RotationFailed', `Issuing a key failed: ${(error as Error).message}`);
      throw error;
    }
    crashPoint?.('key-issued');

    const data: Record<string, string> = { [spec.dataKeys.secret]: issued.secret, [spec.dataKeys.keyId]: issued.key.id };
    if (spec.dataKeys.previous && pending.operation === 'Rotate' && pending.fromKeyId && observed.keyId === pending.fromKeyId) {
      const previousValue = await gather.currentSecretValue(resource, spec, pending.fromKeyId);
      if (previousValue) data[spec.dataKeys.previous] = previousValue;
    }
    await kube.applySecret(secretWrite(resource, spec, data, { keyId: issued.key.id, sequence: String(pending.sequence), secretSha256: sha256(issued.secret) }));
    crashPoint?.('secret-written');
    await this.#finish(resource, spec, pending, issued.key.id, issued.previous);
    return lookAgainNow('issue finished');
  }

  #issue(resource: ApiKeyResource, spec: EffectiveApiKeySpec, pending: PendingIssue) {
    const { keys } = this.#ctx;
    const idempotencyKey = idempotencyKeyFor(resource.metadata.uid, pending.sequence);
    if (pending.operation === 'Rotate' && pending.fromKeyId) {
      return keys.rotateKey(pending.fromKeyId, { gracePeriod: `${spec.overlapMs}ms`, name: spec.displayName, idempotencyKey });
    }
    return keys.createKey({
      name: spec.displayName,
      role: spec.role,
      environment: spec.environment,
      ipAllowlist: spec.ipAllowlist,
      metadata: { 'k8s/namespace': resource.metadata.namespace, 'k8s/name': resource.metadata.name, 'k8s/uid': resource.metadata.uid },
      idempotencyKey,
    });
  }

  /** An earlier attempt issued a key whose secret never reached the Secret (a crash): revoke it and issue anew. */
  async #revokeUndelivered(resource: ApiKeyResource, pending: PendingIssue, error: KeywardApiError): Promise<ReconcileResult> {
    const { kube, keys, logger } = this.#ctx;
    const orphan = (error.details as { keyId?: string } | undefined)?.keyId;
    if (orphan) {
      await revokeQuietly(keys, orphan, 'keyward operator: issued, but the operator stopped before its secret reached the Secret; issuing another');
      const message = `Key ${orphan} was issued but its secret was never delivered (the operator stopped in between); revoked it and issuing another.`;
      logger.warn({ apikey: refOf(resource) }, message);
      await kube.event(resource, 'Warning', 'Undelivered', message);
    }
    await kube.patchStatus(resource, nextAttempt(pending));
    return lookAgainNow('retrying the issue with a new idempotency key');
  }

  async #finish(resource: ApiKeyResource, spec: EffectiveApiKeySpec, pending: PendingIssue, keyId: string, previous: KeyView | undefined): Promise<void> {
    const { kube, metrics, logger, clock, crashPoint } = this.#ctx;
    const status = resource.status ?? {};
    const previousExpiresAt =
      pending.operation === 'Rotate' && pending.fromKeyId ? (previous?.expiresAt ?? (await this.#ctx.gather.keyExpiry(pending.fromKeyId))) : undefined;
    const { patch, verb, message } = issuedStatus({ status, spec, pending, keyId, previousExpiresAt: previousExpiresAt ?? undefined, generation: generationOf(resource), now: clock() });
    await kube.patchStatus(resource, patch);
    crashPoint?.('status-recorded');
    this.#ctx.gather.issued(resource);
    metrics.rotations.inc({ reason: pending.reason });
    // A renamed Secret leaves the old one behind: remove it (it held the previous key only).
    if (status.secretName && status.secretName !== spec.secretName) await kube.deleteSecret(resource.metadata.namespace, status.secretName);
    await kube.event(resource, 'Normal', verb, message);
    logger.info({ apikey: refOf(resource) }, message);
  }
}
