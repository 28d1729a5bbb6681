/**
 * Deleting an ApiKey: per deletionPolicy, revoke its keys (Revoke) or keep
 * key and Secret, orphaning the Secret so garbage collection spares it
 * (Retain); then release the finalizer. An unreachable key service holds the
 * deletion for at most deletionGiveUpMs, never for ever.
 */
import { DEFAULT_DELETION_POLICY, effectiveSpec, validateApiKeySpec } from '../core/apikey.ts';
import { refOf, type ReconcileContext } from './context.ts';
import { revokeQuietly } from './issue.ts';
import { done, type ReconcileResult } from './result.ts';
import { FINALIZER, type ApiKeyResource } from './types.ts';

export class Finalizer {
  readonly #ctx: ReconcileContext;
  readonly #giveUpMs: number;
  /** First failed revoke per ApiKey uid during deletion (bounded retries). */
  readonly #failingSince = new Map<string, number>();

  constructor(ctx: ReconcileContext, deletionGiveUpMs: number) {
    this.#ctx = ctx;
    this.#giveUpMs = deletionGiveUpMs;
  }

  async finalize(resource: ApiKeyResource): Promise<ReconcileResult> {
    const { kube, keys, logger, clock } = this.#ctx;
    this.#ctx.gather.forget(resource);
    if (!(resource.metadata.finalizers ?? []).includes(FINALIZER)) return done();
    const validation = validateApiKeySpec(resource.spec);
    // A spec that cannot be read is treated as the default: revoke, so no key outlives its ApiKey unnoticed.
    const policy = validation.ok ? validation.spec.deletionPolicy : DEFAULT_DELETION_POLICY;
    const status = resource.status ?? {};
    const uid = resource.metadata.uid;
    if (policy === 'Revoke') {
      const keyIds = [...new Set([status.keyId, ...(status.previousKeys ?? []).map((p) => p.keyId)].filter((id): id is string => !!id))];
      try {
        const reason = `keyward operator: its ApiKey was deleted (deletionPolicy Revoke)`;
        for (const keyId of keyIds) await revokeQuietly(keys, keyId, keyId === status.keyId ? reason : `${reason}; a previous key in its overlap`);
        this.#failingSince.delete(uid);
        if (keyIds.length > 0) await kube.event(resource, 'Normal', 'Revoked', `Revoked key(s) ${keyIds.join(', ')}.`);
      } catch (error) {
        const since = this.#failingSince.get(uid) ?? clock();
        this.#failingSince.set(uid, since);
        if (clock() - since < this.#giveUpMs) throw error;
        // Documented choice: never block deletion forever. The key id is in the Event and the log to revoke by hand.
        const message = `Could not revoke key(s) ${keyIds.join(', ')} for ${Math.round((clock() - since) / 1000)} s (${(error as Error).message}); releasing the finalizer. Revoke them by hand: keyward keys revoke <id>.`;
        logger.error({ apikey: refOf(resource) }, message);
        await kube.event(resource, 'Warning', 'RevokeFailed', message);
        this.#failingSince.delete(uid);
      }
    } else if (validation.ok) {
      await kube.orphanSecret(resource.metadata.namespace, effectiveSpec(validation.spec, resource.metadata).secretName);
      await kube.event(resource, 'Normal', 'Retained', `Kept key ${status.keyId ?? '(none)'} and its Secret (deletionPolicy: Retain).`);
    }
    await kube.setFinalizers(resource, (resource.metadata.finalizers ?? []).filter((f) => f !== FINALIZER));
    return done();
  }
}
