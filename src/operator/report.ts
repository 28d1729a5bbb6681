/**
 * Failures the key service causes, said where `kubectl get` and `kubectl
 * wait` look: KeyServiceReachable=False while it cannot be reached,
 * Ready=False (KeyServiceRefused) when it said no. Best effort: the error
 * itself still drives the backoff.
 */
import { KeywardApiError, KeywardUnreachableError } from '../client/index.ts';
import { generationOf, type ReconcileContext } from './context.ts';
import { isConflict } from './kube.ts';
import { conditionsChange } from './status.ts';
import type { ApiKeyResource } from './types.ts';

const unreachable = (error: unknown): boolean => error instanceof KeywardUnreachableError || (error instanceof KeywardApiError && error.status >= 500);

export async function reportUnreachable(ctx: ReconcileContext, resource: ApiKeyResource, error: unknown): Promise<void> {
  if (!unreachable(error)) return;
  ctx.metrics.keyServiceUp.set(0);
  try {
    const fresh = (await ctx.gather.apiKey(resource.metadata.namespace, resource.metadata.name)) ?? resource;
    const message = `Cannot reach the key service: ${(error as Error).message}. Retrying with backoff.`;
    const patch = conditionsChange(fresh.status ?? {}, { KeyServiceReachable: ['False', 'Unreachable', message] }, generationOf(fresh), ctx.clock());
    if (patch) await ctx.kube.patchStatus(fresh, patch);
  } catch {
    // the condition is best effort; the error itself drives the backoff
  }
}

/**
 * The key service said no (e.g. PRIVILEGE_ESCALATION: a role above the
 * operator's own key's). observedGeneration stays, so the retry asks again.
 */
export async function reportRefusal(ctx: ReconcileContext, resource: ApiKeyResource, error: unknown, what: string): Promise<void> {
  if (!(error instanceof KeywardApiError) || error.status >= 500) return;
  const message = `The key service refused to ${what}: ${error.code}: ${error.message}${error.hint ? ` ${error.hint}` : ''}`;
  const patch = conditionsChange(resource.status ?? {}, { Ready: ['False', 'KeyServiceRefused', message] }, generationOf(resource), ctx.clock());
  if (!patch) return;
  try {
    await ctx.kube.patchStatus(resource, patch);
  } catch (patchError) {
    if (!isConflict(patchError)) throw patchError;
  }
}
