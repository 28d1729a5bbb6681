/** Usage counts, failed-auth throttling with a webhook alert, the audit log and /metrics. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ListKeysQuery } from '../../src/client/index.ts';
import { newSecret } from '../../src/core/token.ts';
import { raw, requestFrom, startTestService, TestClock, type TestService } from '../support/keyservice.ts';
import { until, webhookReceiver } from '../support/webhook.ts';

const DAY = 86_400_000;

describe('brute-force protection', () => {
  let service: TestService;
  let webhook: Awaited<ReturnType<typeof webhookReceiver>>;

  beforeAll(async () => {
    // The first delivery fails: the alert must still arrive (retried with backoff).
    webhook = await webhookReceiver({ failFirst: 1 });
    service = await startTestService({ failedAuthThreshold: 20, failedAuthWindow: '1m', throttleDuration: '5m', alertWebhookUrl: webhook.url });
  });
  afterAll(async () => {
    await service.stop();
    await webhook.close();
  });

  it('1,000 bad keys from one address: throttled after the threshold, one alert, other addresses unaffected', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 1_000; i++) {
      const response = await requestFrom('127.0.0.2', `${service.url}/v1/keys`, { headers: { authorization: `Bearer ${newSecret()}` } });
      statuses.push(response.status);
      if (i === 999) {
        expect(response.body.error.code).toBe('RATE_LIMITED');
        expect(Number(response.headers['retry-after'])).toBeGreaterThan(200);
      }
    }
    expect(statuses.slice(0, 19).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(20).every((s) => s === 429)).toBe(true);
    // A good key is never refused by the throttle (only failed attempts are), on the Express routes and the fast verify path…
    expect((await requestFrom('127.0.0.2', `${service.url}/v1/whoami`, { headers: { authorization: `Bearer ${service.adminSecret}` } })).status).toBe(200);
    const gateway = (await service.client().createKey({ name: 'Gateway behind the NAT', role: 'verifier' })).secret;
    const verified = await requestFrom('127.0.0.2', `${service.url}/v1/verify`, { method: 'POST', headers: { authorization: `Bearer ${gateway}` }, body: JSON.stringify({ key: gateway }) });
    expect(verified.status).toBe(200);
    expect(verified.body).toMatchObject({ valid: true });
    // …while bad ones stay throttled there too.
    expect((await requestFrom('127.0.0.2', `${service.url}/v1/verify`, { method: 'POST', headers: { authorization: `Bearer ${newSecret()}` }, body: '{}' })).status).toBe(429);
    // …while other addresses carry on.
    expect((await requestFrom('127.0.0.3', `${service.url}/v1/whoami`, { headers: { authorization: `Bearer ${service.adminSecret}` } })).status).toBe(200);
    expect((await requestFrom('127.0.0.3', `${service.url}/v1/keys`, { headers: { authorization: `Bearer ${newSecret()}` } })).status).toBe(401);

    // One alert: the service raised it once (send() runs when the threshold is crossed, so all
    // 1,000 requests are answered by now), and the webhook got it once, despite the refused first delivery.
    const raised = () => service.logs.filter((line) => line.includes('"alert: auth.throttled"') && line.includes('127.0.0.2'));
    expect(raised()).toHaveLength(1);
    await until(() => webhook.received.length === 1);
    expect(webhook.received).toHaveLength(1);
    expect(webhook.received[0]!.json).toMatchObject({ type: 'auth.throttled', ip: '127.0.0.2', failures: 20, codes: { UNKNOWN_KEY: 20 } });
    expect(webhook.received[0]!.body).not.toMatch(/kw_[0-9A-Za-z]{10}/);

    const metrics = (await raw(service.url, '/metrics', { headers: { authorization: `Bearer ${service.adminSecret}` } })).text;
    expect(metrics).toMatch(/keyward_failed_auth_total\{code="UNKNOWN_KEY"\} 21/);
    expect(metrics).toMatch(/keyward_auth_throttled_total 1/);
  });

  it('a throttling caused by a known (revoked) key is recorded in its organization\'s audit log', async () => {
    const admin = service.client();
    const doomed = await admin.createKey({ name: 'Leaked', role: 'viewer' });
    await admin.revokeKey(doomed.key.id);
    for (let i = 0; i < 20; i++) {
      await requestFrom('127.0.0.4', `${service.url}/v1/keys`, { headers: { authorization: `Bearer ${doomed.secret}` } });
    }
    expect((await requestFrom('127.0.0.4', `${service.url}/v1/keys`, { headers: { authorization: `Bearer ${doomed.secret}` } })).status).toBe(429);
    await until(() => webhook.received.length === 2);
    // The audit event is written in the background (a store round trip on PostgreSQL): wait for it.
    let audit = await admin.listAuditLog({ action: 'auth.throttled' });
    for (const deadline = Date.now() + 10_000; audit.items.length === 0 && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 25));
      audit = await admin.listAuditLog({ action: 'auth.throttled' });
    }
    expect(audit.items).toHaveLength(1);
    expect(audit.items[0]).toMatchObject({ targetType: 'address', targetId: '127.0.0.4', changes: { after: { keyIds: [doomed.key.id], codes: { KEY_REVOKED: 20 } } } });
  });
});

describe('what the throttle counts', () => {
  let service: TestService;
  beforeAll(async () => {
    // A trusted loopback proxy tells the client address (IPv6 clients on loopback are only ::1).
    service = await startTestService({ failedAuthThreshold: 5, failedAuthWindow: '1m', throttleDuration: '5m', trustProxy: 'loopback' });
  });
  afterAll(async () => service.stop());

  const from = (ip: string, secret: string) =>
    requestFrom('127.0.0.1', `${service.url}/v1/whoami`, { headers: { authorization: `Bearer ${secret}`, 'x-forwarded-for': ip } });

  it('IP_NOT_ALLOWED is not a failed authentication: one misconfigured client does not lock out its NAT', async () => {
    const officeOnly = await service.client().createKey({ name: 'Office only', role: 'viewer', ipAllowlist: ['10.0.0.0/8'] });
    for (let i = 0; i < 20; i++) {
      const response = await from('198.51.100.20', officeOnly.secret);
      expect(response.status).toBe(403);
      expect(response.body.error.code).toBe('IP_NOT_ALLOWED');
    }
    expect((await from('198.51.100.20', newSecret())).status).toBe(401);
    expect((await from('198.51.100.20', service.adminSecret)).status).toBe(200);
  });

  it('IPv6 clients are counted per /64', async () => {
    for (let i = 1; i <= 5; i++) expect((await from(`2001:db8:1:2::${i}`, newSecret())).status).toBe(401);
    // Another address of the same /64 is throttled with them…
    const sameNetwork = await from('2001:db8:1:2:ffff:ffff:ffff:ffff', newSecret());
    expect(sameNetwork.status).toBe(429);
    expect(sameNetwork.body.error.message).toContain('2001:db8:1:2::/64');
    // …a neighbouring /64 is not, and a valid key from the throttled one still works.
    expect((await from('2001:db8:1:3::1', newSecret())).status).toBe(401);
    expect((await from('2001:db8:1:2::9', service.adminSecret)).status).toBe(200);
    // IPv4 addresses are counted one by one.
    for (let i = 1; i <= 5; i++) expect((await from(`198.51.100.${i}`, newSecret())).status).toBe(401);
    expect((await from('198.51.100.6', newSecret())).status).toBe(401);
  });
});

describe('usage and the audit log', () => {
  let service: TestService;
  // The service's clock: keys age by moving it, not by waiting.
  const clock = new TestClock();
  beforeAll(async () => {
    service = await startTestService({}, { clock });
  });
  afterAll(async () => service.stop());

  it('counts requests per key per day and outcome; finds unused keys and keys due for rotation', async () => {
    const admin = service.client();
    const gatewayKey = await admin.createKey({ name: 'Gateway', role: 'verifier' });
    const gateway = service.client(gatewayKey.secret);
    const app = await admin.createKey({ name: 'App', role: 'viewer' });
    const idle = await admin.createKey({ name: 'Idle', role: 'viewer' });
    const devIdle = await admin.createKey({ name: 'Idle (development)', role: 'viewer', environment: 'development' });
    const ids = (items: { id: string }[]) => items.map((k) => k.id).sort();
    const list = async (query: ListKeysQuery) => ids((await admin.listKeys(query)).items);
    // Nothing is unused for 30 days or due yet: every key is new.
    expect(await list({ unusedFor: '30d' })).toEqual([]);
    expect(await list({ rotationDue: 'true' })).toEqual([]);

    // 40 days later the app is used (through the gateway); the idle keys are not.
    clock.advance(40 * DAY);
    for (let i = 0; i < 5; i++) await gateway.verifyKey({ key: app.secret });
    await gateway.verifyKey({ key: app.secret, permission: 'api.key.create' });
    const usage = await admin.getUsage({ keyId: app.key.id });
    const today = clock.now().toISOString().slice(0, 10);
    expect(usage.items).toEqual([
      { keyId: app.key.id, day: today, outcome: 'INSUFFICIENT_PERMISSIONS', count: 1 },
      { keyId: app.key.id, day: today, outcome: 'VALID', count: 5 },
    ]);
    expect((await admin.getKey(app.key.id)).lastUsedAt).toBe(clock.now().toISOString());
    // Unused for 30 days: exactly the two idle keys (the admin and the gateway called just now).
    expect(await list({ unusedFor: '30d' })).toEqual(ids([idle.key, devIdle.key]));
    expect(await list({ unusedFor: '41d' })).toEqual([]);
    expect(await list({ rotationDue: 'true' })).toEqual([]);

    // 100 days after creation: production keys (90 days) are due, the development key (180) is not.
    clock.advance(60 * DAY);
    expect(await list({ rotationDue: 'true' })).toEqual(ids([{ id: service.adminKeyId }, gatewayKey.key, app.key, idle.key]));
    expect(await list({ rotationDue: 'true', environment: 'development' })).toEqual([]);
  });

  it('records every action with its actor and address, newest first, never a secret', async () => {
    const admin = service.client();
    const manager = await admin.createKey({ name: 'Manager', role: 'key-manager' });
    const asManager = service.client(manager.secret);
    const created = await asManager.createKey({ name: 'Worker', role: 'viewer' });
    await asManager.updateKey(created.key.id, { name: 'Worker (EU)' });
    const rotated = await asManager.rotateKey(created.key.id, { gracePeriod: '1h' });
    await asManager.revokeKey(rotated.key.id);
    await admin.createPermission({ name: 'geo.read' });
    await admin.createRole({ id: 'geo', name: 'Geo', permissions: ['geo.read'] });
    await admin.putIpAllowlist({ entries: ['127.0.0.0/8'] });

    const log = await admin.listAuditLog({ limit: 200 });
    const actions = log.items.map((e) => e.action);
    expect(actions.slice(0, 8)).toEqual([
      'ip-allowlist.updated',
      'role.created',
      'permission.created',
      'key.revoked',
      'key.rotated',
      'key.updated',
      'key.created',
      'key.created',
    ]);
    const byManager = log.items.filter((e) => e.actorKeyId === manager.key.id).map((e) => e.action);
    expect(byManager).toEqual(['key.revoked', 'key.rotated', 'key.updated', 'key.created']);
    const update = log.items.find((e) => e.action === 'key.updated');
    expect(update).toMatchObject({ targetId: created.key.id, ip: '127.0.0.1', changes: { before: { name: 'Worker' }, after: { name: 'Worker (EU)' } } });
    expect(log.items.find((e) => e.action === 'key.rotated')!.changes!.after).toMatchObject({ successorId: rotated.key.id, gracePeriod: '1h' });
    expect(log.items.at(-1)!.action).toBe('organization.created');

    // Filters and pagination.
    const filtered = await admin.listAuditLog({ targetId: created.key.id });
    expect(filtered.items.map((e) => e.action)).toEqual(['key.rotated', 'key.updated', 'key.created']);
    const page1 = await admin.listAuditLog({ limit: 3 });
    const page2 = await admin.listAuditLog({ limit: 3, cursor: page1.nextCursor! });
    expect([...page1.items, ...page2.items].map((e) => e.id)).toEqual(log.items.slice(0, 6).map((e) => e.id));

    // Only with audit.view; and no secret anywhere in it.
    expect((await raw(service.url, '/v1/audit-log', { headers: { authorization: `Bearer ${manager.secret}` } })).body.error.code).toBe('INSUFFICIENT_PERMISSIONS');
    const text = JSON.stringify(log);
    for (const secret of [service.adminSecret, manager.secret, created.secret, rotated.secret]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(secret.slice(3, 25));
    }
  });

  it('exposes Prometheus metrics: requests by route and status, verify outcomes, active keys, store writes', async () => {
    const metrics = (await raw(service.url, '/metrics', { headers: { authorization: `Bearer ${service.adminSecret}` } })).text;
    expect(metrics).toMatch(/keyward_http_requests_total\{method="POST",route="\/v1\/keys",status="201"\} \d+/);
    expect(metrics).toMatch(/keyward_http_requests_total\{method="POST",route="\/v1\/verify",status="200"\} 6/);
    expect(metrics).toMatch(/keyward_verify_total\{code="VALID"\} 5/);
    expect(metrics).toMatch(/keyward_verify_total\{code="INSUFFICIENT_PERMISSIONS"\} 1/);
    // Service-wide by default: no organization ids (per-organization labels are opt-in, see metrics.test.ts).
    expect(metrics).toMatch(/\nkeyward_active_keys \d+\n/);
    expect(metrics).not.toContain(service.organizationId);
    expect(metrics).toMatch(/keyward_store_write_batch_size_count \d+/);
    expect(metrics).toMatch(/keyward_store_write_seconds_bucket/);
    expect(metrics).not.toMatch(/kw_[0-9A-Za-z]{20}/);

    // The verify path's counts are added up at each scrape: nothing counted twice, nothing lost.
    const admin = service.client();
    const gateway = service.client((await admin.createKey({ name: 'Gateway 2', role: 'verifier' })).secret);
    const app = await admin.createKey({ name: 'App 2', role: 'viewer' });
    // (The organization's allowlist, set above, needs the client address.)
    await gateway.verifyKey({ key: app.secret, ip: '127.0.0.9' });
    await gateway.verifyKey({ key: app.secret, ip: '127.0.0.9' });
    await gateway.verifyKey({ key: `${app.secret}x`, ip: '127.0.0.9' });
    const again = (await raw(service.url, '/metrics', { headers: { authorization: `Bearer ${service.adminSecret}` } })).text;
    expect(again).toMatch(/keyward_http_requests_total\{method="POST",route="\/v1\/verify",status="200"\} 9\n/);
    expect(again).toMatch(/keyward_verify_total\{code="VALID"\} 7\n/);
    expect(again).toMatch(/keyward_verify_total\{code="MALFORMED_KEY"\} 1\n/);
    expect(again).toMatch(/keyward_verify_total\{code="INSUFFICIENT_PERMISSIONS"\} 1\n/);
  });
});
