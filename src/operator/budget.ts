/**
 * Request budgets, as client-go's QPS and burst: a token bucket that starts
 * full (`burst` requests may go at once) and refills at `qps` per second.
 * One toward the Kubernetes API server (--kube-api-qps, --kube-api-burst),
 * one toward the key service (--key-service-qps, --key-service-burst), so a
 * fleet of ApiKeys resyncing or created at once does not flood either.
 */
import { TokenBucket } from 'limiter';

export interface Rate {
  qps: number;
  burst: number;
}

/** Resolves when the next request may go. */
export type Budget = () => Promise<unknown>;

export function requestBudget({ qps, burst }: Rate): Budget {
  const bucket = new TokenBucket({ bucketSize: burst, tokensPerInterval: qps, interval: 'second' });
  bucket.content = burst;
  return () => bucket.removeTokens(1);
}

/** A fetch that waits for its turn in `budget` first (the key service client takes a fetch). */
export const budgetedFetch =
  (budget: Budget, base: typeof fetch = fetch): typeof fetch =>
  async (input, init) => {
    await budget();
    return base(input, init);
  };
