/**
 * The brute-force monitor's memory bound: it tracks at most so many
 * addresses, and forgets the one that failed least recently, so an address
 * that keeps failing is throttled however many other addresses pass by.
 */
import { describe, expect, it } from 'vitest';
import { FailedAuthMonitor, type ThrottleEvent } from '../../src/server/failed-auth.ts';

describe('FailedAuthMonitor', () => {
  it('at its bound it forgets the least recently failing address, never one that keeps failing', () => {
    const throttled: ThrottleEvent[] = [];
    const now = 1_000_000;
    const monitor = new FailedAuthMonitor({ threshold: 3, windowMs: 60_000, throttleMs: 300_000 }, (event) => throttled.push(event), () => now, 2);
    // The attacker fails twice; between its attempts one other address fails, then another.
    monitor.failure('203.0.113.1', 'UNKNOWN_KEY', null);
    monitor.failure('198.51.100.1', 'UNKNOWN_KEY', null);
    monitor.failure('203.0.113.1', 'UNKNOWN_KEY', null);
    monitor.failure('198.51.100.2', 'UNKNOWN_KEY', null); // the bound is reached: 198.51.100.1 goes, not the attacker
    monitor.failure('203.0.113.1', 'UNKNOWN_KEY', null);
    expect(throttled.map((event) => [event.ip, event.failures])).toEqual([['203.0.113.1', 3]]);
    expect(monitor.retryAfterSeconds('203.0.113.1')).toBe(300);
    // The forgotten address starts from nothing: two more failures do not throttle it.
    monitor.failure('198.51.100.1', 'UNKNOWN_KEY', null);
    monitor.failure('198.51.100.1', 'UNKNOWN_KEY', null);
    expect(throttled).toHaveLength(1);
  });
});
