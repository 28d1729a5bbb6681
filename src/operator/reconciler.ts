/**
 * Reconciles one ApiKey: gathers the observed state, asks the pure policies
 * what to do, and carries it out. Every key issue records its intent in the
 * status first, is idempotent at the key service, and revokes what could not
 * be delivered, so a crash between any two steps leaves no orphaned active key
 * and no Secret holding a dead key.
 */
import { createHash } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import { effectiveSpec, validateApiKeySpec, type EffectiveApiKeySpec } from '../core/apikey.ts';
import { KeywardApiError, KeywardUnreachableError, type KeywardClient, type KeyView } from '../client/index.ts';
import { isConflict, type KubeApi } from './kube.ts';
import type { OperatorMetrics } from './metrics.ts';
import {
  idempotencyKeyFor,
  livePreviousKeys,
  nextRotationTime,
  readyCondition,
  requeueAfterMs,
  rotatingCondition,
  resumeStep,
  shouldIssue,
  shouldRestartConsumers,
} from './policy.ts';
import {
  ANNOTATION_KEY_ID,
  ANNOTATION_OWNER,
  ANNOTATION_RESTARTED_FOR,
  ANNOTATION_SECRET_SHA256,
  ANNOTATION_SEQUENCE,
  FINALIZER,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  type ApiKeyResource,
  type Condition,
  type ObservedKey,
  type ObservedSecret,
  type PendingIssue,
} from './types.ts';

export interface ReconcileResult {
  /** Look again after this long (0: no timed requeue). */
  requeueAfterMs: number;
}

export interface ReconcilerOptions {
  kube: KubeApi;
  keys: KeywardClient;
  metrics: OperatorMetrics;
  log: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
  resyncMs: number;
  /** How long deletion keeps retrying an unreachable key service before releasing the finalizer anyway. */
  deletionGiveUpMs: number;
  clock?: () => number;
  /** Fault injection for crash tests: called at each step boundary of an issue. */
  crashPoint?: (point: 'intent-recorded' | 'key-issued' | 'secret-written' | 'status-recorded') => void;
}

/** Condition type -> [status, reason, message]. */
type ConditionUpdates = Partial<Record<Condition['type'], [Condition['status'], string, string]>>;

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
const decode = (secret: V1Secret | undefined, key: string): string | undefined => {
  const value = secret?.data?.[key];
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
};

class Requeue extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Requeue';
  }
}

export class ApiKeyReconciler {
  readonly #o: ReconcilerOptions;
  readonly #clock: () => number;
  /** First failed revoke per ApiKey uid during deletion (bounded retries). */
  readonly #deletionFailures = new Map<string, number>();
  /** When the key service was last asked about each ApiKey's key (by uid). */
  readonly #keyChecked = new Map<string, number>();

  constructor(options: ReconcilerOptions) {
    this.#o = options;
    this.#clock = options.clock ?? Date.now;
  }

  async reconcile(namespace: string, name: string): Promise<ReconcileResult> {
    let resource = await this.#o.kube.getApiKey(namespace, name);
    if (!resource) return { requeueAfterMs: 0 };
    if (resource.metadata.deletionTimestamp) return this.#finalize(resource);
    if (!(resource.metadata.finalizers ?? []).includes(FINALIZER)) {
      resource = await this.#o.kube.setFinalizers(resource, [...(resource.metadata.finalizers ?? []), FINALIZER]);
    }

    const validation = validateApiKeySpec(resource.spec);
    if (!validation.ok) {
      const message = `Invalid spec: ${validation.problems.join('; ')}`;
      await this.#setConditions(resource, { Ready: ['False', 'InvalidSpec', message] });
      await this.#o.kube.event(resource, 'Warning', 'InvalidSpec', message);
      return { requeueAfterMs: 0 };
    }
    const spec = effectiveSpec(validation.spec, resource.metadata);
    const status = resource.status ?? {};

    if (status.pending) {
      await this.#continueIssue(resource, spec, status.pending);
      return { requeueAfterMs: 1 };
    }

    const secret = await this.#o.kube.getSecret(namespace, spec.secretName);
    const observedSecret = this.#observeSecret(secret, spec);
    const key = status.keyId && this.#keyCheckDue(resource) ? await this.#observeKey(resource, status.keyId) : undefined;
    const decision = shouldIssue({ spec, status, secret: observedSecret, key: key ? { status: key.status } : undefined, now: this.#clock() });
    if (decision) {
      const pending: PendingIssue = {
        operation: decision.operation,
        sequence: (status.sequence ?? 0) + 1,
        reason: decision.reason,
        ...(decision.operation === 'Rotate' && status.keyId ? { fromKeyId: status.keyId } : {}),
        ...(spec.token !== null ? { rotationToken: spec.token } : {}),
        startedAt: new Date(this.#clock()).toISOString(),
      };
      this.#o.log('info', decision.message, { apikey: `${namespace}/${name}`, reason: decision.reason, sequence: pending.sequence });
      // Intent first: whatever happens next, a restarted operator knows what was under way.
      resource = await this.#o.kube.patchStatus(resource, {
        pending,
        conditions: this.#conditions(resource, { Rotating: ['True', decision.reason, decision.message] }),
      });
      this.#o.crashPoint?.('intent-recorded');
      await this.#continueIssue(resource, spec, pending);
      return { requeueAfterMs: 1 };
    }

    if (key?.view) await this.#syncKeySettings(resource, spec, key.view);
    resource = await this.#restartConsumersIfNeeded(resource, spec);
    resource = await this.#pruneExpiredPrevious(resource, spec, secret);
    resource = await this.#markReady(resource, spec);
    return { requeueAfterMs: requeueAfterMs(spec, resource.status ?? {}, this.#clock(), this.#o.resyncMs) };
  }

  #observeSecret(secret: V1Secret | undefined, spec: EffectiveApiKeySpec): ObservedSecret {
    if (!secret) return { exists: false, hasSecretValue: false };
    const value = decode(secret, spec.dataKeys.secret);
    const annotations = secret.metadata?.annotations ?? {};
    const sequence = Number.parseInt(annotations[ANNOTATION_SEQUENCE] ?? '', 10);
    return {
      exists: true,
      keyId: decode(secret, spec.dataKeys.keyId),
      sequence: Number.isInteger(sequence) ? sequence : undefined,
      dataSha256: value === undefined ? undefined : sha256(value),
      recordedSha256: annotations[ANNOTATION_SECRET_SHA256],
      hasSecretValue: value !== undefined && value.length > 0,
    };
  }

  /**
   * Asking the key service whether the key was revoked out of band costs a
   * call: do it once per resync period, and whenever the spec changed (its
   * settings may need syncing). Watch events in between need no such call.
   */
  #keyCheckDue(resource: ApiKeyResource): boolean {
    const now = this.#clock();
    const last = this.#keyChecked.get(resource.metadata.uid);
    const specChanged = resource.status?.observedGeneration !== resource.metadata.generation;
    if (!specChanged && last !== undefined && now - last < this.#o.resyncMs * 0.9) return false;
    this.#keyChecked.set(resource.metadata.uid, now);
    return true;
  }

  /** The key service's view of the current key; unreachable -> condition, and the error propagates for backoff. */
  async #observeKey(resource: ApiKeyResource, keyId: string): Promise<(ObservedKey & { view?: KeyView }) | undefined> {
    try {
      const view = await this.#o.keys.getKey(keyId);
      this.#o.metrics.keyServiceUp.set(1);
      return { status: view.status, view };
    } catch (error) {
      if (error instanceof KeywardApiError && error.code === 'KEY_NOT_FOUND') return { status: 'missing' };
      await this.#keyServiceFailed(resource, error);
      throw error;
    }
  }

  /**
   * The key service said no (e.g. PRIVILEGE_ESCALATION: a role above the
   * operator's own key's): Ready=False says why, where `kubectl wait` and
   * `get` look. observedGeneration stays, so the retry asks again.
   */
  async #keyServiceRefused(resource: ApiKeyResource, error: unknown, what: string): Promise<void> {
    if (!(error instanceof KeywardApiError) || error.status >= 500) return;
    const message = `The key service refused to ${what}: ${error.code}: ${error.message}${error.hint ? ` ${error.hint}` : ''}`;
    try {
      await this.#o.kube.patchStatus(resource, { conditions: this.#conditions(resource, { Ready: ['False', 'KeyServiceRefused', message] }) });
    } catch (patchError) {
      if (!isConflict(patchError)) throw patchError;
    }
  }

  async #keyServiceFailed(resource: ApiKeyResource, error: unknown): Promise<void> {
    if (!(error instanceof KeywardUnreachableError) && !(error instanceof KeywardApiError && error.status >= 500)) return;
    this.#o.metrics.keyServiceUp.set(0);
    try {
      const fresh = (await this.#o.kube.getApiKey(resource.metadata.namespace, resource.metadata.name)) ?? resource;
      const message = `Cannot reach the key service: ${(error as Error).message}. Retrying with backoff.`;
      await this.#setConditions(fresh, { KeyServiceReachable: ['False', 'Unreachable', message] });
    } catch {
      // the condition is best effort; the error itself drives the backoff
    }
  }

  /** Steps 2-4 of an issue: ask the key service (idempotently), write the Secret, record the result. */
  async #continueIssue(resource: ApiKeyResource, spec: EffectiveApiKeySpec, pending: PendingIssue): Promise<void> {
    const { namespace } = resource.metadata;
    const current = await this.#o.kube.getSecret(namespace, spec.secretName);
    const observed = this.#observeSecret(current, spec);
    if (resumeStep(pending, observed) === 'FinishStatus') {
      await this.#finishIssue(resource, spec, pending, observed.keyId!, undefined);
      return;
    }

    let issued: { key: KeyView; secret: string; previous?: KeyView };
    try {
      issued = await this.#issue(resource, spec, pending);
      this.#o.metrics.keyServiceUp.set(1);
    } catch (error) {
      if (error instanceof KeywardApiError && error.code === 'IDEMPOTENCY_KEY_REUSED') {
        await this.#revokeUndelivered(resource, pending, error);
        return;
      }
      if (error instanceof KeywardApiError && pending.operation === 'Rotate' && ['KEY_NOT_ACTIVE', 'KEY_NOT_FOUND'].includes(error.code)) {
        // The key to rotate died meanwhile: issue a fresh one instead.
        await this.#o.kube.patchStatus(resource, { pending: { ...pending, operation: 'Create', reason: 'KeyRevoked', fromKeyId: null } });
        throw new Requeue(`key ${pending.fromKeyId} is no longer active; creating a new key instead`);
      }
      await this.#keyServiceFailed(resource, error);
      await this.#keyServiceRefused(resource, error, 'issue a key');
      await this.#o.kube.event(resource, 'Warning', 'RotationFailed', `Issuing a key failed: ${(error as Error).message}`);
      throw error;
    }
    this.#o.crashPoint?.('key-issued');

    const data: Record<string, string> = { [spec.dataKeys.secret]: issued.secret, [spec.dataKeys.keyId]: issued.key.id };
    if (spec.dataKeys.previous && pending.operation === 'Rotate') {
      const previousValue = observed.keyId === pending.fromKeyId ? decode(current, spec.dataKeys.secret) : undefined;
      if (previousValue) data[spec.dataKeys.previous] = previousValue;
    }
    await this.#writeSecret(resource, spec, data, { keyId: issued.key.id, sequence: String(pending.sequence), secretSha256: sha256(issued.secret) });
    this.#o.crashPoint?.('secret-written');
    await this.#finishIssue(resource, spec, pending, issued.key.id, issued.previous);
  }

  #issue(resource: ApiKeyResource, spec: EffectiveApiKeySpec, pending: PendingIssue) {
    const idempotencyKey = idempotencyKeyFor(resource.metadata.uid, pending.sequence);
    if (pending.operation === 'Rotate' && pending.fromKeyId) {
      return this.#o.keys.rotateKey(pending.fromKeyId, { gracePeriod: `${spec.overlapMs}ms`, name: spec.displayName, idempotencyKey });
    }
    return this.#o.keys.createKey({
      name: spec.displayName,
      role: spec.role,
      environment: spec.environment,
      ipAllowlist: spec.ipAllowlist,
      metadata: { 'k8s/namespace': resource.metadata.namespace, 'k8s/name': resource.metadata.name, 'k8s/uid': resource.metadata.uid },
      idempotencyKey,
    });
  }

  /** An earlier attempt issued a key whose secret never reached the Secret (a crash): revoke it and issue anew. */
  async #revokeUndelivered(resource: ApiKeyResource, pending: PendingIssue, error: KeywardApiError): Promise<void> {
    const orphan = (error.details as { keyId?: string } | undefined)?.keyId;
    if (orphan) {
      await this.#revokeQuietly(orphan);
      const message = `Key ${orphan} was issued but its secret was never delivered (the operator stopped in between); revoked it and issuing another.`;
      this.#o.log('warn', message, { apikey: `${resource.metadata.namespace}/${resource.metadata.name}` });
      await this.#o.kube.event(resource, 'Warning', 'Undelivered', message);
    }
    await this.#o.kube.patchStatus(resource, { pending: { ...pending, sequence: pending.sequence + 1 }, sequence: pending.sequence });
    throw new Requeue('retrying the issue with a new idempotency key');
  }

  async #revokeQuietly(keyId: string): Promise<void> {
    try {
      await this.#o.keys.revokeKey(keyId);
    } catch (error) {
      if (error instanceof KeywardApiError && ['KEY_ALREADY_REVOKED', 'KEY_NOT_FOUND'].includes(error.code)) return;
      throw error;
    }
  }

  async #finishIssue(resource: ApiKeyResource, spec: EffectiveApiKeySpec, pending: PendingIssue, keyId: string, previous: KeyView | undefined): Promise<void> {
    const status = resource.status ?? {};
    const now = this.#clock();
    const nowIso = new Date(now).toISOString();
    let previousKeys = livePreviousKeys(status.previousKeys, now).filter((p) => p.keyId !== keyId);
    if (pending.operation === 'Rotate' && pending.fromKeyId) {
      const expiresAt = previous?.expiresAt ?? (await this.#o.keys.getKey(pending.fromKeyId).catch(() => undefined))?.expiresAt;
      if (expiresAt && Date.parse(expiresAt) > now) previousKeys = [...previousKeys.filter((p) => p.keyId !== pending.fromKeyId), { keyId: pending.fromKeyId, expiresAt }];
    } else if (status.keyId && status.keyId !== keyId) {
      // A Create replaces a dead key: nothing of it stays valid.
      previousKeys = previousKeys.filter((p) => p.keyId !== status.keyId);
    }
    const verb = pending.operation === 'Create' && pending.reason === 'Created' ? 'Created' : 'Rotated';
    const message =
      verb === 'Created'
        ? `Created key ${keyId} and wrote it to Secret ${spec.secretName}.`
        : `Rotated to key ${keyId} (${pending.reason})${pending.fromKeyId ? `; ${pending.fromKeyId} stays valid until ${previousKeys.find((p) => p.keyId === pending.fromKeyId)?.expiresAt ?? 'now'}` : ''}.`;
    const history = [{ time: nowIso, reason: pending.reason, keyId, message }, ...(status.history ?? [])].slice(0, 10);
    const conditions = this.#conditions(resource, {
      Ready: ['True', ...readyCondition({ keyId, lastRotationReason: pending.reason }, spec.secretName)],
      Rotating: rotatingCondition(previousKeys),
      KeyServiceReachable: ['True', 'Reachable', 'The key service answered.'],
    });
    await this.#o.kube.patchStatus(resource, {
      pending: null,
      keyId,
      secretName: spec.secretName,
      sequence: pending.sequence,
      observedRotationToken: pending.rotationToken ?? status.observedRotationToken ?? null,
      observedGeneration: resource.metadata.generation,
      previousKeys,
      lastRotationTime: nowIso,
      lastRotationReason: pending.reason,
      nextRotationTime: nextRotationTime(spec, nowIso) ?? null,
      history,
      conditions,
    });
    this.#o.crashPoint?.('status-recorded');
    this.#o.metrics.rotations.inc({ reason: pending.reason });
    // A renamed Secret leaves the old one behind: remove it (it held the previous key only).
    if (status.secretName && status.secretName !== spec.secretName) await this.#o.kube.deleteSecret(resource.metadata.namespace, status.secretName);
    await this.#o.kube.event(resource, 'Normal', verb, message);
    this.#o.log('info', message, { apikey: `${resource.metadata.namespace}/${resource.metadata.name}` });
  }

  /**
   * The one way the operator writes a Secret: the data, the template's labels
   * and annotations, and its own annotations saying which key and issue the
   * Secret holds (server-side apply takes ownership of exactly these fields).
   */
  #writeSecret(
    resource: ApiKeyResource,
    spec: EffectiveApiKeySpec,
    data: Record<string, string>,
    holds: { keyId: string; sequence: string; secretSha256: string },
  ) {
    return this.#o.kube.applySecret({
      namespace: resource.metadata.namespace,
      name: spec.secretName,
      data,
      labels: { ...spec.labels, [MANAGED_BY_LABEL]: MANAGED_BY },
      annotations: {
        ...spec.annotations,
        [ANNOTATION_OWNER]: resource.metadata.name,
        [ANNOTATION_KEY_ID]: holds.keyId,
        [ANNOTATION_SEQUENCE]: holds.sequence,
        [ANNOTATION_SECRET_SHA256]: holds.secretSha256,
      },
      owner: resource,
    });
  }

  /** Name, role and allowlist can change in place; no new key needed. */
  async #syncKeySettings(resource: ApiKeyResource, spec: EffectiveApiKeySpec, view: KeyView): Promise<void> {
    if (view.status !== 'active') return;
    const patch: { name?: string; role?: string; ipAllowlist?: string[] } = {};
    if (view.name !== spec.displayName) patch.name = spec.displayName;
    if (view.role !== spec.role) patch.role = spec.role;
    if (JSON.stringify(view.ipAllowlist) !== JSON.stringify(spec.ipAllowlist)) patch.ipAllowlist = spec.ipAllowlist;
    if (Object.keys(patch).length === 0) return;
    try {
      await this.#o.keys.updateKey(view.id, patch);
    } catch (error) {
      await this.#keyServiceRefused(resource, error, `update key ${view.id} (${Object.keys(patch).join(', ')})`);
      await this.#o.kube.event(resource, 'Warning', 'UpdateFailed', `Updating key ${view.id} failed: ${(error as Error).message}`);
      throw error;
    }
    await this.#o.kube.event(resource, 'Normal', 'Updated', `Updated key ${view.id}: ${Object.keys(patch).join(', ')}.`);
  }

  async #restartConsumersIfNeeded(resource: ApiKeyResource, spec: EffectiveApiKeySpec): Promise<ApiKeyResource> {
    const status = resource.status ?? {};
    if (!shouldRestartConsumers(spec, status)) return resource;
    const restarted: string[] = [];
    for (const target of spec.restartTargets) {
      try {
        await this.#o.kube.annotatePodTemplate(resource.metadata.namespace, target.kind, target.name, { [ANNOTATION_RESTARTED_FOR]: status.keyId! });
        restarted.push(`${target.kind}/${target.name}`);
      } catch (error) {
        await this.#o.kube.event(resource, 'Warning', 'ConsumerRestartFailed', `Could not restart ${target.kind}/${target.name}: ${(error as Error).message}`);
      }
    }
    const updated = await this.#o.kube.patchStatus(resource, { consumersRestartedFor: status.keyId });
    if (restarted.length > 0) await this.#o.kube.event(resource, 'Normal', 'ConsumersRestarted', `Restarted ${restarted.join(', ')} for key ${status.keyId}.`);
    return updated;
  }

  async #pruneExpiredPrevious(resource: ApiKeyResource, spec: EffectiveApiKeySpec, secret: V1Secret | undefined): Promise<ApiKeyResource> {
    const status = resource.status ?? {};
    const live = livePreviousKeys(status.previousKeys, this.#clock());
    if (live.length === (status.previousKeys ?? []).length) return resource;
    if (live.length === 0 && spec.dataKeys.previous && secret?.data?.[spec.dataKeys.previous] !== undefined) {
      // The previous secret no longer works: drop it from the Secret.
      const ours = secret.metadata?.annotations ?? {};
      await this.#writeSecret(
        resource,
        spec,
        { [spec.dataKeys.secret]: decode(secret, spec.dataKeys.secret)!, [spec.dataKeys.keyId]: decode(secret, spec.dataKeys.keyId)! },
        { keyId: ours[ANNOTATION_KEY_ID] ?? '', sequence: ours[ANNOTATION_SEQUENCE] ?? '', secretSha256: ours[ANNOTATION_SECRET_SHA256] ?? '' },
      );
    }
    return this.#o.kube.patchStatus(resource, {
      previousKeys: live,
      conditions: this.#conditions(resource, { Rotating: rotatingCondition(live) }),
    });
  }

  async #markReady(resource: ApiKeyResource, spec: EffectiveApiKeySpec): Promise<ApiKeyResource> {
    const status = resource.status ?? {};
    const next = nextRotationTime(spec, status.lastRotationTime);
    const wanted = this.#conditions(resource, {
      Ready: ['True', ...readyCondition(status, spec.secretName)],
      KeyServiceReachable: ['True', 'Reachable', 'The key service answered.'],
    });
    const unchanged =
      status.observedGeneration === resource.metadata.generation &&
      status.nextRotationTime === next &&
      JSON.stringify(status.conditions) === JSON.stringify(wanted);
    if (unchanged) return resource;
    return this.#o.kube.patchStatus(resource, { observedGeneration: resource.metadata.generation, nextRotationTime: next ?? null, conditions: wanted });
  }

  async #finalize(resource: ApiKeyResource): Promise<ReconcileResult> {
    this.#keyChecked.delete(resource.metadata.uid);
    if (!(resource.metadata.finalizers ?? []).includes(FINALIZER)) return { requeueAfterMs: 0 };
    const validation = validateApiKeySpec(resource.spec);
    const policy = validation.ok ? validation.spec.deletionPolicy : 'Revoke';
    const status = resource.status ?? {};
    const ref = `${resource.metadata.namespace}/${resource.metadata.name}`;
    if (policy === 'Revoke') {
      const keyIds = [...new Set([status.keyId, ...(status.previousKeys ?? []).map((p) => p.keyId)].filter((id): id is string => !!id))];
      try {
        for (const keyId of keyIds) await this.#revokeQuietly(keyId);
        this.#deletionFailures.delete(resource.metadata.uid);
        if (keyIds.length > 0) await this.#o.kube.event(resource, 'Normal', 'Revoked', `Revoked key(s) ${keyIds.join(', ')}.`);
      } catch (error) {
        const since = this.#deletionFailures.get(resource.metadata.uid) ?? this.#clock();
        this.#deletionFailures.set(resource.metadata.uid, since);
        if (this.#clock() - since < this.#o.deletionGiveUpMs) throw error;
        // Documented choice: never block deletion forever. The key id is in the Event and the log to revoke by hand.
        const message = `Could not revoke key(s) ${keyIds.join(', ')} for ${Math.round((this.#clock() - since) / 1000)} s (${(error as Error).message}); releasing the finalizer. Revoke them by hand: keyward keys revoke <id>.`;
        this.#o.log('error', message, { apikey: ref });
        await this.#o.kube.event(resource, 'Warning', 'RevokeFailed', message);
        this.#deletionFailures.delete(resource.metadata.uid);
      }
    } else if (validation.ok) {
      await this.#o.kube.orphanSecret(resource.metadata.namespace, effectiveSpec(validation.spec, resource.metadata).secretName);
      await this.#o.kube.event(resource, 'Normal', 'Retained', `Kept key ${status.keyId ?? '(none)'} and its Secret (deletionPolicy: Retain).`);
    }
    await this.#o.kube.setFinalizers(resource, (resource.metadata.finalizers ?? []).filter((f) => f !== FINALIZER));
    return { requeueAfterMs: 0 };
  }

  #conditions(resource: ApiKeyResource, updates: ConditionUpdates): Condition[] {
    const now = new Date(this.#clock()).toISOString();
    const existing = resource.status?.conditions ?? [];
    const merged = new Map(existing.map((c) => [c.type, c]));
    for (const [type, [status, reason, message]] of Object.entries(updates) as [Condition['type'], [Condition['status'], string, string]][]) {
      const before = merged.get(type);
      merged.set(type, {
        type,
        status,
        reason,
        message,
        lastTransitionTime: before && before.status === status ? before.lastTransitionTime : now,
        ...(resource.metadata.generation !== undefined ? { observedGeneration: resource.metadata.generation } : {}),
      });
    }
    const order: Condition['type'][] = ['Ready', 'Rotating', 'KeyServiceReachable'];
    return order.filter((type) => merged.has(type)).map((type) => merged.get(type)!);
  }

  async #setConditions(resource: ApiKeyResource, updates: ConditionUpdates): Promise<void> {
    try {
      await this.#o.kube.patchStatus(resource, { conditions: this.#conditions(resource, updates), observedGeneration: resource.metadata.generation });
    } catch (error) {
      if (!isConflict(error)) throw error;
    }
  }
}

export { Requeue };
