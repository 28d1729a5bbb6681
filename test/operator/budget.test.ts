/**
 * The request budgets (--kube-api-qps/--kube-api-burst and the key service's):
 * a burst goes at once, then requests go at the sustained rate, never sooner;
 * on vitest's fake clock (Date, timers and performance.now stand in).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { budgetedFetch, requestBudget } from '../../src/operator/budget.ts';

describe('request budgets', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'] }));
  afterEach(() => vi.useRealTimers());

  it('lets a burst go at once, then one request per 1/qps seconds', async () => {
    const budget = requestBudget({ qps: 10, burst: 3 });
    const went: number[] = [];
    for (let i = 0; i < 6; i++) void budget().then(() => went.push(i));
    await vi.advanceTimersByTimeAsync(0);
    expect(went, 'the burst').toEqual([0, 1, 2]);
    await vi.advanceTimersByTimeAsync(99);
    expect(went, 'nothing before 100 ms').toEqual([0, 1, 2]);
    await vi.advanceTimersByTimeAsync(1);
    expect(went).toEqual([0, 1, 2, 3]);
    await vi.advanceTimersByTimeAsync(200);
    expect(went).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('a budgeted fetch waits for its turn before it asks', async () => {
    const asked: string[] = [];
    const fetch = budgetedFetch(requestBudget({ qps: 1, burst: 1 }), async (input) => (asked.push(String(input)), new Response('{}')));
    void fetch('http://127.0.0.1/a');
    void fetch('http://127.0.0.1/b');
    await vi.advanceTimersByTimeAsync(0);
    expect(asked).toEqual(['http://127.0.0.1/a']);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(asked).toEqual(['http://127.0.0.1/a', 'http://127.0.0.1/b']);
  });
});
