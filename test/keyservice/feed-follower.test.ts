/**
 * The operator's follower of the change feed against the real key service:
 * it resumes from its cursor after the service restarts and after its
 * connection is cut mid-wait, and misses nothing (both stores).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeywardClient, type KeyEvent } from '../../src/client/index.ts';
import { resolveConfig } from '../../src/server/config.ts';
import { startServer, type RunningServer } from '../../src/server/server.ts';
import { FeedFollower } from '../../src/operator/feed.ts';
import { startTestService, type TestService } from '../support/keyservice.ts';
import { until } from '../support/webhook.ts';

/** A TCP relay in front of the service whose connections the test can cut. */
async function relay(target: () => number) {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target(), '127.0.0.1');
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    cut: () => {
      for (const socket of sockets) socket.destroy();
    },
    get open() {
      return sockets.size;
    },
    close: () => new Promise((r) => server.close(r)),
  };
}

describe('following the change feed', () => {
  let service: TestService;
  let current: RunningServer;
  let proxy: Awaited<ReturnType<typeof relay>>;
  let follower: FeedFollower;
  const seen: KeyEvent[] = [];
  const errors: unknown[] = [];

  beforeAll(async () => {
    service = await startTestService();
    current = service.server;
    proxy = await relay(() => current.port);
    const secret = (await service.client().createKey({ name: 'operator', role: 'key-manager' })).secret;
    follower = new FeedFollower({
      url: proxy.url,
      apiKey: secret,
      onEvent: (event) => seen.push(event),
      onError: (error) => errors.push(error),
      waitSeconds: 20,
    });
    follower.start();
    await until(() => follower.cursor !== undefined);
  });
  afterAll(async () => {
    await follower.stop();
    if (current !== service.server) await current.close();
    await service.stop();
    await proxy.close();
  });

  const managed = (client: KeywardClient, name: string) =>
    client.createKey({ name, role: 'viewer', metadata: { 'k8s/namespace': 'ns', 'k8s/name': name, 'k8s/uid': `uid-${name}` } });

  it('sees operator-managed changes as they commit, and none of the others', async () => {
    const admin = service.client();
    const a = await managed(admin, 'a');
    await admin.createKey({ name: 'not managed', role: 'viewer' });
    await admin.revokeKey(a.key.id);
    await until(() => seen.length === 2);
    expect(seen.map((e) => [e.action, e.keyId])).toEqual([
      ['key.created', a.key.id],
      ['key.revoked', a.key.id],
    ]);
  });

  it('a connection cut mid-wait: resumes from its cursor, nothing missed or repeated', async () => {
    const admin = service.client();
    await until(() => proxy.open > 0);
    proxy.cut();
    const b = await managed(admin, 'b');
    const c = await managed(admin, 'c');
    await until(() => seen.length === 4);
    expect(seen.slice(2).map((e) => e.keyId)).toEqual([b.key.id, c.key.id]);
    expect(errors.length).toBeGreaterThan(0);
  });

  it('the key service restarts (changes made before and while it was down to the follower): all seen once, in order', async () => {
    const errorsBefore = errors.length;
    const d = await managed(service.client(), 'd');
    await current.close();
    const port = current.port;
    current = await startServer(resolveConfig({ port, host: '127.0.0.1', ...service.store.config, logLevel: 'silent' }));
    const admin = new KeywardClient({ url: current.url, apiKey: service.adminSecret });
    const e = await managed(admin, 'e');
    await admin.compromiseKey(e.key.id, { reason: 'test', notify: false });
    await until(() => seen.length === 7);
    expect(seen.slice(4).map((event) => [event.action, event.keyId])).toEqual([
      ['key.created', d.key.id],
      ['key.created', e.key.id],
      ['key.compromised', e.key.id],
    ]);
    expect(new Set(seen.map((event) => event.cursor)).size).toBe(seen.length);
    expect(errors.length).toBeGreaterThanOrEqual(errorsBefore);
  });
});
