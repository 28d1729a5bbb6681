/** What a reconcile asks of the work queue next, as controller-runtime's Result does. Failures are thrown (and back off). */
export interface ReconcileResult {
  /** Look again at once, without backoff: progress was made (a key issued, an intent changed). */
  requeue?: true;
  /** Look again after this long: the next rotation or the end of an overlap comes before the resync. */
  requeueAfterMs?: number;
  /** Why (for debug logs). */
  why?: string;
}

export const done = (): ReconcileResult => ({});
export const lookAgainNow = (why: string): ReconcileResult => ({ requeue: true, why });
export const lookAgainAfter = (ms: number): ReconcileResult => (ms > 0 ? { requeueAfterMs: ms } : {});
