/**
 * The operator's work queue on an injected clock (vitest's fake timers stand
 * in for Date.now and setTimeout): a failing key comes back after 200 ms,
 * 400 ms, 800 ms … up to the cap, never sooner; a success resets that; one
 * worker per key at a time.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WorkQueue } from '../../src/operator/queue.ts';

describe('WorkQueue', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  /** Resolves when `get()` hands out a key, and says whether it has. */
  const take = (queue: WorkQueue) => {
    const taken = { key: undefined as string | undefined, done: false };
    void queue.get().then((key) => Object.assign(taken, { key, done: true }));
    return taken;
  };

  /** Moves the clock to just before `delayMs` (the key must still wait), then to it (the key must be there). */
  async function expectBackInExactly(queue: WorkQueue, delayMs: number): Promise<void> {
    const taken = take(queue);
    await vi.advanceTimersByTimeAsync(delayMs - 1);
    expect(taken.done, `the key came back before ${delayMs} ms`).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(taken).toEqual({ key: 'ns/a', done: true });
  }

  it('retries a failing key with exponential backoff up to the cap, never sooner', async () => {
    const queue = new WorkQueue({ baseDelayMs: 200, maxDelayMs: 3_000 });
    queue.add('ns/a');
    const first = take(queue);
    await vi.advanceTimersByTimeAsync(0);
    expect(first).toEqual({ key: 'ns/a', done: true });

    const delays: number[] = [];
    for (let attempt = 0; attempt < 6; attempt++) {
      // The worker fails: back off, then let go of the key.
      const delay = queue.addRateLimited('ns/a');
      queue.done('ns/a');
      delays.push(delay);
      await expectBackInExactly(queue, delay);
    }
    expect(delays).toEqual([200, 400, 800, 1_600, 3_000, 3_000]);
    expect(queue.failures('ns/a')).toBe(6);
  });

  it('a success forgets the failures: the next failure starts at the base delay again', async () => {
    const queue = new WorkQueue({ baseDelayMs: 200 });
    queue.add('ns/a');
    await queue.get();
    for (const expected of [200, 400, 800]) {
      expect(queue.addRateLimited('ns/a')).toBe(expected);
      queue.done('ns/a');
      await expectBackInExactly(queue, expected);
    }
    queue.forget('ns/a');
    expect(queue.addRateLimited('ns/a')).toBe(200);
  });

  it('backs off each key on its own', async () => {
    const queue = new WorkQueue({ baseDelayMs: 100 });
    queue.add('ns/a');
    queue.add('ns/b');
    await queue.get();
    await queue.get();
    expect([queue.addRateLimited('ns/a'), queue.addRateLimited('ns/a'), queue.addRateLimited('ns/b')]).toEqual([100, 200, 100]);
  });

  it('hands a key to one worker at a time; an add while it is processed runs it once more afterwards', async () => {
    const queue = new WorkQueue();
    queue.add('ns/a');
    expect(await queue.get()).toBe('ns/a');
    queue.add('ns/a');
    queue.add('ns/a');
    const second = take(queue);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(second.done, 'handed out while still being processed').toBe(false);
    queue.done('ns/a');
    await vi.advanceTimersByTimeAsync(0);
    expect(second).toEqual({ key: 'ns/a', done: true });
    queue.done('ns/a');
    const third = take(queue);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(third.done, 'two adds during processing ran it twice').toBe(false);
    queue.shutdown();
    await vi.advanceTimersByTimeAsync(0);
    expect(third).toEqual({ key: undefined, done: true });
  });

  it('addAfter: the earlier of two schedules wins', async () => {
    const queue = new WorkQueue();
    queue.addAfter('ns/a', 5_000);
    queue.addAfter('ns/a', 1_000);
    queue.addAfter('ns/a', 3_000);
    const taken = take(queue);
    await vi.advanceTimersByTimeAsync(999);
    expect(taken.done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(taken).toEqual({ key: 'ns/a', done: true });
  });

  it("serves changes before the resync's keys; a waiting resync key that changes moves up; each key is counted once", async () => {
    let adds = 0;
    const queue = new WorkQueue({ onAdd: () => adds++ });
    for (const key of ['ns/r1', 'ns/r2', 'ns/r3']) queue.add(key, 'resync');
    queue.add('ns/token-bumped');
    queue.add('ns/r3');
    queue.add('ns/r2', 'resync');
    expect(queue.depth).toBe(4);
    const order: (string | undefined)[] = [];
    for (let i = 0; i < 4; i++) {
      const key = await queue.get();
      order.push(key);
      queue.done(key!);
    }
    expect(order).toEqual(['ns/token-bumped', 'ns/r3', 'ns/r1', 'ns/r2']);
    expect(adds).toBe(4);
    expect(queue.idle).toBe(true);
  });
});
