/**
 * The change-feed follower's retry schedule, against a stub key service (no
 * control plane): a failing page is retried after 100 ms, doubling up to 5 s;
 * an answer starts the schedule over; stop ends a wait at once.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FeedFollower } from '../../src/operator/feed.ts';

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** Answers each GET /v1/events with the next of `answers` (a status; 200 is an empty page), then holds the request. */
async function stub(answers: number[]): Promise<{ url: string; seen: string[] }> {
  const seen: string[] = [];
  server = createServer((request, response) => {
    seen.push(request.url ?? '');
    const status = answers.shift();
    if (status === undefined) return; // a long poll that never answers
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(status === 200 ? { items: [], cursor: `c${seen.length}` } : { error: { code: 'UNAVAILABLE', message: 'down' } }));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

describe('FeedFollower', () => {
  it('retries a failing page with backoff from 100 ms, doubling, and starts over after an answer', async () => {
    const { url, seen } = await stub([503, 503, 503, 503, 200, 503, 503, 200]);
    const delays: number[] = [];
    const follower = new FeedFollower({ url, apiKey: 'kw_test', onEvent: () => {}, onError: (_error, retryInMs) => delays.push(retryInMs), waitSeconds: 1 });
    follower.start();
    await expect.poll(() => seen.length, { timeout: 5_000 }).toBe(9);
    const stopping = Date.now();
    server!.closeAllConnections();
    await follower.stop();
    expect(Date.now() - stopping).toBeLessThan(1_000);
    expect(delays).toEqual([100, 200, 400, 800, 100, 200]);
    expect(follower.cursor).toBe('c8');
    // The first page asks from now; the next ones resume from the cursor.
    expect(seen[0]).not.toMatch(/after=/);
    expect(seen.at(-1)).toMatch(/after=c8/);
  });

  it('caps the backoff at 5 s', async () => {
    const { url } = await stub(Array(8).fill(503));
    const delays: number[] = [];
    const follower = new FeedFollower({ url, apiKey: 'kw_test', onEvent: () => {}, onError: (_error, retryInMs) => delays.push(retryInMs) });
    follower.start();
    await expect.poll(() => delays.length, { timeout: 12_000, interval: 50 }).toBeGreaterThanOrEqual(7);
    await follower.stop();
    expect(delays.slice(0, 7)).toEqual([100, 200, 400, 800, 1600, 3200, 5000]);
  }, 20_000);
});
