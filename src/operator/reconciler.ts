/**
 * Reconciles one ApiKey: gather (gather.ts) the ApiKey and its Secret (from
 * the informer caches) and, when due, the key service's view of its key (in
 * batches); decide with pure functions
 * (policy.ts: must a key be issued; steady.ts and status.ts: what else, and
 * the status; retire.ts: with revokeOld WhenUnused, when a previous key
 * ends); act. Issuing (issue.ts) records its intent first and is
 * crash-safe; deletion is finalize.ts. In the steady state the status is
 * written at most once per reconcile, and not at all when nothing changed.
 */
import type { Logger } from 'pino';
import { effectiveSpec, validateApiKeySpec, type EffectiveApiKeySpec, type RestartTarget } from '../core/apikey.ts';
import type { KeywardClient } from '../client/index.ts';
import type { ClusterCache } from './cache.ts';
import { generationOf, type CrashPoint, type ReconcileContext } from './context.ts';
import { Finalizer } from './finalize.ts';
import { Gatherer, type KeyFacts } from './gather.ts';
import { KeyIssuer, revokeQuietly } from './issue.ts';
import { KeyStates } from './keystates.ts';
import { planRetirement, type RetirePlan } from './retire.ts';
import { isConflict, type KubeApi } from './kube.ts';
import type { OperatorMetrics } from './metrics.ts';
import { shouldIssue, shouldRestartConsumers } from './policy.ts';
import { reportRefusal, reportUnreachable } from './report.ts';
import { done, lookAgainAfter, type ReconcileResult } from './result.ts';
import { invalidSpecStatus } from './status.ts';
import { planSteadyState, type SteadyPlan } from './steady.ts';
import { ANNOTATION_RESTARTED_FOR, FINALIZER, type ApiKeyResource } from './types.ts';

export type { ReconcileResult } from './result.ts';

export interface ReconcilerOptions {
  kube: KubeApi;
  keys: KeywardClient;
  /** Where ApiKeys and Secrets are read from (its informers started by the caller). */
  cache: ClusterCache;
  metrics: OperatorMetrics;
  logger: Logger;
  resyncMs: number;
  /** How long deletion keeps retrying an unreachable key service before releasing the finalizer anyway. */
  deletionGiveUpMs: number;
  clock?: () => number;
  /** Fault injection for crash tests: called at each step boundary of an issue. */
  crashPoint?: (point: CrashPoint) => void;
}

export class ApiKeyReconciler {
  readonly #ctx: ReconcileContext;
  readonly #resyncMs: number;
  readonly #issuer: KeyIssuer;
  readonly #finalizer: Finalizer;
  /** Verdicts on specs, by the cached spec object: each resync reads the same object again, and zod need not parse it again. */
  readonly #validated = new WeakMap<object, ReturnType<typeof validateApiKeySpec>>();

  constructor(options: ReconcilerOptions) {
    const clock = options.clock ?? Date.now;
    const { kube, keys, cache, metrics, logger, resyncMs } = options;
    const gather = new Gatherer({ kube, cache, keyStates: new KeyStates(keys, metrics), metrics, resyncMs, clock });
    this.#ctx = { kube, keys, metrics, logger, clock, gather, crashPoint: options.crashPoint };
    this.#resyncMs = resyncMs;
    this.#issuer = new KeyIssuer(this.#ctx);
    this.#finalizer = new Finalizer(this.#ctx, options.deletionGiveUpMs);
  }

  /** The change feed said this ApiKey's key changed: its next reconcile asks the key service (and knows a compromise). */
  keyChanged(uid: string, keyId: string, compromised: boolean): void {
    this.#ctx.gather.keyChanged(uid, keyId, compromised);
  }

  async reconcile(namespace: string, name: string): Promise<ReconcileResult> {
    const { kube, gather, clock } = this.#ctx;
    let resource = await gather.apiKey(namespace, name);
    if (!resource) return done();
    if (resource.metadata.deletionTimestamp) return this.#finalizer.finalize(resource);
    if (!(resource.metadata.finalizers ?? []).includes(FINALIZER)) {
      resource = await kube.setFinalizers(resource, [...(resource.metadata.finalizers ?? []), FINALIZER]);
    }

    const validation = this.#validate(resource);
    if (!validation.ok) return this.#refuseSpec(resource, validation.problems);
    const spec = effectiveSpec(validation.spec, resource.metadata);
    const status = resource.status ?? {};
    if (status.pending) return this.#issuer.continue(resource, spec, status.pending);

    const { secret, observed } = gather.secret(resource, spec);
    const key = await this.#keyIfDue(resource);
    const decision = shouldIssue({ spec, status, secret: observed, key: key ? { status: key.status, ...(key.compromised ? { compromised: true } : {}) } : undefined, now: clock() });
    if (decision) return this.#issuer.start(resource, spec, decision);

    const retire = await this.#retirement(resource, spec);
    const plan = planSteadyState({ spec, status, generation: generationOf(resource), secret, key: key?.view, now: clock(), resyncMs: this.#resyncMs, retire });
    await this.#carryOut(resource, spec, plan);
    return lookAgainAfter(plan.requeueAfterMs);
  }

  #validate(resource: ApiKeyResource): ReturnType<typeof validateApiKeySpec> {
    if (typeof resource.spec !== 'object' || resource.spec === null) return validateApiKeySpec(resource.spec);
    const known = this.#validated.get(resource.spec);
    if (known) return known;
    const validation = validateApiKeySpec(resource.spec);
    this.#validated.set(resource.spec, validation);
    return validation;
  }

  /** A resync is starting: ask the key service about all these ApiKeys' keys now, in batches. */
  prefetch(apiKeys: readonly ApiKeyResource[]): void {
    this.#ctx.gather.prefetchKeys(apiKeys);
  }

  /** A reconcile of this ApiKey met a conflict: the next one reads it fresh. */
  conflicted(namespace: string, name: string): void {
    this.#ctx.gather.conflicted(namespace, name);
  }

  async #keyIfDue(resource: ApiKeyResource): Promise<KeyFacts | undefined> {
    try {
      return await this.#ctx.gather.keyIfDue(resource);
    } catch (error) {
      await reportUnreachable(this.#ctx, resource, error);
      throw error;
    }
  }

  /** revokeOld WhenUnused with previous keys: gather their facts and decide (retire.ts); undefined otherwise. */
  async #retirement(resource: ApiKeyResource, spec: EffectiveApiKeySpec): Promise<RetirePlan | undefined> {
    const status = resource.status ?? {};
    const previousKeys = status.previousKeys ?? [];
    if (spec.revokeOld !== 'WhenUnused' || previousKeys.length === 0) return undefined;
    let gathered;
    try {
      gathered = await this.#ctx.gather.retirementFacts(resource, spec, previousKeys);
    } catch (error) {
      await reportUnreachable(this.#ctx, resource, error);
      throw error;
    }
    // Restarts still to be made this reconcile: their rollouts have not begun.
    if (shouldRestartConsumers(spec, status)) gathered.rollouts = gathered.rollouts.map((rollout) => ({ ...rollout, done: false, waitingFor: 'its restart' }));
    return planRetirement({ spec, previousKeys, ...gathered, rotatedAt: status.lastRotationTime ?? new Date(this.#ctx.clock()).toISOString(), now: this.#ctx.clock() });
  }

  /** WhenUnused: revoke the previous keys nothing uses any more, and say which ended at their deadline (Warning when still in use). */
  async #retire(resource: ApiKeyResource, retire: NonNullable<SteadyPlan['retire']>): Promise<void> {
    const { kube, keys, logger } = this.#ctx;
    for (const { keyId, message, reason } of retire.revoke) {
      await revokeQuietly(keys, keyId, reason);
      logger.info({ apikey: `${resource.metadata.namespace}/${resource.metadata.name}`, keyId }, message);
      await kube.event(resource, 'Normal', 'PreviousKeyRevoked', message);
    }
    for (const { how, stillUsedBy, message } of retire.ended) {
      if (how === 'Deadline' && stillUsedBy.length > 0) await kube.event(resource, 'Warning', 'PreviousKeyStillInUse', message);
      else await kube.event(resource, 'Normal', 'PreviousKeyEnded', message);
    }
  }

  /** Ready=False with the schema's problems; said once per change (status and Event), not on every resync. */
  async #refuseSpec(resource: ApiKeyResource, problems: string[]): Promise<ReconcileResult> {
    const { kube, clock } = this.#ctx;
    const patch = invalidSpecStatus(resource.status ?? {}, problems, generationOf(resource), clock());
    if (!patch) return done();
    try {
      await kube.patchStatus(resource, patch);
    } catch (error) {
      if (!isConflict(error)) throw error;
      // Someone changed it meanwhile; its watch event brings us back (reading it fresh).
      this.conflicted(resource.metadata.namespace, resource.metadata.name);
    }
    await kube.event(resource, 'Warning', 'InvalidSpec', `Invalid spec: ${problems.join('; ')}`);
    return done();
  }

  /** The steady-state plan, in order: key settings, restarts, Secret, then the one status patch. */
  async #carryOut(resource: ApiKeyResource, spec: EffectiveApiKeySpec, plan: SteadyPlan): Promise<void> {
    const { kube } = this.#ctx;
    if (plan.keyUpdate) await this.#updateKey(resource, plan.keyUpdate);
    if (plan.restart.length > 0) await this.#restart(resource, plan.restart);
    if (plan.retire) await this.#retire(resource, plan.retire);
    if (plan.secret) await kube.removeSecretEntries(resource.metadata.namespace, spec.secretName, plan.secret.remove);
    if (plan.status) await kube.patchStatus(resource, plan.status);
  }

  async #updateKey(resource: ApiKeyResource, { keyId, settings }: NonNullable<SteadyPlan['keyUpdate']>): Promise<void> {
    const { kube, keys } = this.#ctx;
    const fields = Object.keys(settings).join(', ');
    try {
      await keys.updateKey(keyId, settings);
    } catch (error) {
      await reportRefusal(this.#ctx, resource, error, `update key ${keyId} (${fields})`);
      await kube.event(resource, 'Warning', 'UpdateFailed', `Updating key ${keyId} failed: ${(error as Error).message}`);
      throw error;
    }
    await kube.event(resource, 'Normal', 'Updated', `Updated key ${keyId}: ${fields}.`);
  }

  /** Rolls each target once for the current key; one that cannot be rolled is an Event, not a failure. */
  async #restart(resource: ApiKeyResource, targets: readonly RestartTarget[]): Promise<void> {
    const { kube } = this.#ctx;
    const keyId = resource.status!.keyId!;
    const restarted: string[] = [];
    for (const target of targets) {
      try {
        await kube.annotatePodTemplate(resource.metadata.namespace, target.kind, target.name, { [ANNOTATION_RESTARTED_FOR]: keyId });
        restarted.push(`${target.kind}/${target.name}`);
      } catch (error) {
        await kube.event(resource, 'Warning', 'ConsumerRestartFailed', `Could not restart ${target.kind}/${target.name}: ${(error as Error).message}`);
      }
    }
    if (restarted.length > 0) await kube.event(resource, 'Normal', 'ConsumersRestarted', `Restarted ${restarted.join(', ')} for key ${keyId}.`);
  }
}
