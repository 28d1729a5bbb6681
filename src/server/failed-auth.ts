/**
 * Brute-force protection: failed authentications are counted per client
 * address (an IPv6 client per /64, the block one host or site usually holds)
 * and per key id, for the alert; an address that reaches the threshold within
 * the window is throttled for a while. Only failures are ever looked up here:
 * a valid key is never refused by the throttle.
 */
import { LRUCache } from 'lru-cache';
import { throttleBucket } from '../core/ip.ts';

export interface FailedAuthPolicy {
  threshold: number;
  windowMs: number;
  throttleMs: number;
}

export interface ThrottleEvent {
  /** The address, or an IPv6 /64 (2001:db8:1:2::/64). */
  ip: string;
  failures: number;
  windowMs: number;
  until: string;
  codes: Record<string, number>;
  keyIds: string[];
}

/** Pure: given the failure times in the window (oldest first), should the address be throttled now? */
export function shouldThrottle(failureTimes: readonly number[], now: number, policy: FailedAuthPolicy): boolean {
  const recent = failureTimes.filter((t) => now - t < policy.windowMs);
  return recent.length >= policy.threshold;
}

interface AddressState {
  times: number[];
  codes: Record<string, number>;
  keyIds: Set<string>;
  throttledUntil: number;
}

/**
 * Bound on tracked addresses, so a spray from many addresses cannot exhaust
 * memory; the least recently failing address goes first, so an address that
 * keeps failing stays counted however many others pass by.
 */
const MAX_TRACKED = 100_000;

export class FailedAuthMonitor {
  readonly #policy: FailedAuthPolicy;
  readonly #clock: () => number;
  readonly #onThrottle: (event: ThrottleEvent) => void;
  readonly #addresses: LRUCache<string, AddressState>;

  constructor(policy: FailedAuthPolicy, onThrottle: (event: ThrottleEvent) => void, clock: () => number = Date.now, maxTracked = MAX_TRACKED) {
    this.#policy = policy;
    this.#onThrottle = onThrottle;
    this.#clock = clock;
    this.#addresses = new LRUCache({ max: maxTracked });
  }

  /** What failures from this address are counted under: the address, or its /64 for IPv6. */
  bucketOf(ip: string): string {
    return throttleBucket(ip);
  }

  /** Seconds the address (its bucket) must wait, or 0. Asked only after a failed authentication. */
  retryAfterSeconds(ip: string | null): number {
    if (ip === null) return 0;
    const bucket = throttleBucket(ip);
    const state = this.#addresses.get(bucket);
    if (!state || state.throttledUntil === 0) return 0;
    const remaining = state.throttledUntil - this.#clock();
    if (remaining <= 0) {
      this.#addresses.delete(bucket);
      return 0;
    }
    return Math.ceil(remaining / 1000);
  }

  failure(address: string | null, code: string, keyId: string | null): void {
    if (address === null) return;
    const ip = throttleBucket(address);
    const now = this.#clock();
    let state = this.#addresses.get(ip);
    if (!state) {
      state = { times: [], codes: {}, keyIds: new Set(), throttledUntil: 0 };
      this.#addresses.set(ip, state);
    }
    if (state.throttledUntil > now) return;
    state.times.push(now);
    // Only the last `threshold` failures can matter.
    if (state.times.length > this.#policy.threshold) state.times.shift();
    state.codes[code] = (state.codes[code] ?? 0) + 1;
    if (keyId !== null && state.keyIds.size < 100) state.keyIds.add(keyId);
    if (shouldThrottle(state.times, now, this.#policy)) {
      state.throttledUntil = now + this.#policy.throttleMs;
      this.#onThrottle({
        ip,
        failures: state.times.length,
        windowMs: this.#policy.windowMs,
        until: new Date(state.throttledUntil).toISOString(),
        codes: state.codes,
        keyIds: [...state.keyIds],
      });
      state.times = [];
      state.codes = {};
      state.keyIds = new Set();
    }
  }
}
