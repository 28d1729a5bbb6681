/**
 * Compromise in one step (revoke, replacement, incident, signed notification),
 * incidents with their investigation view, and the change feed (GET /v1/events):
 * the real service on loopback, on the store of the run (lowdb or PostgreSQL).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhook, SIGNATURE_HEADER } from '../../src/core/webhook-signature.ts';
import { KeywardClient } from '../../src/client/index.ts';
import { MAX_ADDRESS_ROWS_PER_KEY_DAY } from '../../src/core/model.ts';
import { resolveConfig } from '../../src/server/config.ts';
import { startServer } from '../../src/server/server.ts';
import { failure, raw, startTestService, type TestService } from '../support/keyservice.ts';
import { asMember, memberWithSession } from '../support/people.ts';
import { until, webhookReceiver } from '../support/webhook.ts';

const WEBHOOK_SECRET = 'whsec_test_0123456789abcdef';

describe('compromise in one step', () => {
  let service: TestService;
  let webhook: Awaited<ReturnType<typeof webhookReceiver>>;

  beforeAll(async () => {
    webhook = await webhookReceiver({ failFirst: 1 });
    service = await startTestService({ alertWebhookUrl: webhook.url, alertWebhookSecret: WEBHOOK_SECRET });
  });
  afterAll(async () => {
    await service.stop();
    await webhook.close();
  });

  it('revokes at once, issues a working replacement with the same settings, opens an incident, and the signed notification verifies', async () => {
    const admin = service.client();
    const created = await admin.createKey({ name: 'Payments', role: 'viewer', environment: 'staging', metadata: { team: 'pay' }, ipAllowlist: ['127.0.0.0/8'] });
    const old = service.client(created.secret);
    await old.whoami(); // a use the investigation shows

    const result = await admin.compromiseKey(created.key.id, { reason: 'pasted in a public channel' });
    expect(result.revoked.status).toBe('revoked');
    expect((await failure(old.whoami())).code).toBe('KEY_REVOKED');
    const replacement = result.replacement!;
    expect(replacement.key).toMatchObject({ role: 'viewer', environment: 'staging', metadata: { team: 'pay' }, ipAllowlist: ['127.0.0.0/8'], rotatedFromId: created.key.id, name: 'Payments v2' });
    expect((await service.client(replacement.secret).whoami()).key.id).toBe(replacement.key.id);

    const incident = result.incident;
    expect(incident).toMatchObject({ keyId: created.key.id, reason: 'pasted in a public channel', state: 'handled', response: 'compromise', replacementKeyId: replacement.key.id });
    expect(incident.reportedBy).toMatchObject({ via: 'api', keyId: service.adminKeyId });
    expect(incident.actions.map((a) => a.action)).toEqual(['revoked', 'replacement-issued']);

    // The first delivery is refused (503), the retry arrives; both attempts are on the incident.
    await until(() => webhook.received.length === 1);
    const delivery = webhook.received[0]!;
    expect(delivery.json).toMatchObject({ type: 'key.compromised', incident: { id: incident.id, keyId: created.key.id } });
    expect(verifyWebhook(WEBHOOK_SECRET, delivery.headers[SIGNATURE_HEADER] as string, delivery.body, Math.floor(Date.now() / 1000)).ok).toBe(true);
    expect(verifyWebhook('another secret, not ours', delivery.headers[SIGNATURE_HEADER] as string, delivery.body, Math.floor(Date.now() / 1000)).ok).toBe(false);
    expect(verifyWebhook(WEBHOOK_SECRET, delivery.headers[SIGNATURE_HEADER] as string, delivery.body.replace('pasted', 'posted'), Math.floor(Date.now() / 1000)).ok).toBe(false);
    // Replayed later than the window: refused.
    expect(verifyWebhook(WEBHOOK_SECRET, delivery.headers[SIGNATURE_HEADER] as string, delivery.body, Math.floor(Date.now() / 1000) + 3_600).ok).toBe(false);
    await until(async () => (await admin.getIncident(incident.id)).notifications.length === 2);

    const detail = await admin.getIncident(incident.id);
    expect(detail.notifications.map((n) => n.outcome)).toEqual(['refused', 'delivered']);
    expect(detail.investigation.uses.some((u) => u.outcome === 'VALID' && u.count >= 1)).toBe(true);
    expect(detail.investigation.lastUsedIp).toBe('127.0.0.1');
    expect(detail.investigation.auditTrail.map((e) => e.action)).toEqual(['key.compromised', 'key.created']);
    expect((await admin.listIncidents({})).items.map((i) => i.id)).toContain(incident.id);
    expect((await admin.listIncidents({ keyId: replacement.key.id })).items).toEqual([]);

    // Never a secret in the incident, the notification, the feed or the logs.
    const everything = JSON.stringify([detail, webhook.received.map((d) => d.body), await admin.listEvents({ after: '0' })]) + service.logs.join('\n');
    expect(everything).not.toContain(created.secret);
    expect(everything).not.toContain(replacement.secret);
  });

  it('an operator-managed key: no replacement here, the incident says the operator delivers it', async () => {
    const admin = service.client();
    const created = await admin.createKey({ name: 'payments/api', role: 'viewer', metadata: { 'k8s/namespace': 'payments', 'k8s/name': 'api', 'k8s/uid': 'u-1' } });
    const result = await admin.compromiseKey(created.key.id, { reason: 'leaked in a log', notify: false });
    expect(result.replacement).toBeNull();
    expect(result.incident.actions.map((a) => a.action)).toEqual(['revoked', 'replacement-by-operator']);
    expect(result.incident.actions[1]!.detail).toContain('payments/api');
  });

  it('bad input and refusals change nothing', async () => {
    const admin = service.client();
    const created = await admin.createKey({ name: 'Spare', role: 'viewer' });
    const manager = await admin.createKey({ name: 'Manager', role: 'key-manager' });
    const before = await service.store.snapshot();
    const post = (path: string, body: unknown, secret = service.adminSecret) =>
      raw(service.url, path, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post(`/v1/keys/${created.key.id}/compromise`, {})).body.error.code).toBe('VALIDATION_FAILED');
    expect((await post(`/v1/keys/${created.key.id}/compromise`, { reason: 'x', replace: 'yes' })).status).toBe(400);
    expect((await post(`/v1/keys/${created.key.id}/compromise`, { reason: 'a\u202eb' })).status).toBe(400);
    expect((await post(`/v1/keys/key_00000000000000000000/compromise`, { reason: 'x' })).body.error.code).toBe('KEY_NOT_FOUND');
    // A key-manager may not compromise (revoke) an admin key.
    const escalation = await post(`/v1/keys/${service.adminKeyId}/compromise`, { reason: 'x' }, manager.secret);
    expect(escalation.body.error.code).toBe('PRIVILEGE_ESCALATION');
    expect(await service.store.snapshot()).toBe(before);
    expect((await raw(service.url, '/v1/incidents/inc_nope', { headers: { authorization: `Bearer ${service.adminSecret}` } })).body.error.code).toBe('INCIDENT_NOT_FOUND');
    // Twice: the second is refused, one incident.
    await admin.compromiseKey(created.key.id, { reason: 'first', notify: false });
    expect((await failure(admin.compromiseKey(created.key.id, { reason: 'again', notify: false }))).code).toBe('KEY_ALREADY_REVOKED');
    expect((await admin.listIncidents({ keyId: created.key.id })).items).toHaveLength(1);
  });

  it('the last admin key without a replacement is refused; with one it is replaced', async () => {
    const other = await service.newOrganization('solo');
    const solo = service.client(other.secret);
    expect((await failure(solo.compromiseKey(other.keyId, { reason: 'x', replace: false, notify: false }))).code).toBe('LAST_ADMIN_KEY');
    const result = await solo.compromiseKey(other.keyId, { reason: 'x', notify: false });
    expect((await service.client(result.replacement!.secret).whoami()).key.role).toBe('admin');
  });
});

describe('the investigation view by client address', () => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService();
  });
  afterAll(async () => {
    await service.stop();
  });

  it("lists the key's uses by address, outcome and permission (first and last seen), and marks the addresses that used no other key", async () => {
    const admin = service.client();
    await admin.createPermission({ name: 'orders.read', description: 'Read orders' });
    await admin.createPermission({ name: 'orders.write', description: 'Write orders' });
    await admin.createRole({ id: 'orders-reader', name: 'Orders reader', permissions: ['orders.read'] });
    const leaked = await admin.createKey({ name: 'Orders', role: 'orders-reader' });
    const other = await admin.createKey({ name: 'Reporting', role: 'orders-reader' });
    const gateway = service.client((await admin.createKey({ name: 'Gateway', role: 'verifier' })).secret);
    const [a, b, c] = ['203.0.113.5', '198.51.100.7', '192.0.2.9'];
    const started = new Date().toISOString();
    for (let i = 0; i < 3; i++) expect((await gateway.verifyKey({ key: leaked.secret, ip: a, permission: 'orders.read' })).valid).toBe(true);
    await gateway.verifyKey({ key: leaked.secret, ip: b });
    for (let i = 0; i < 2; i++) await gateway.verifyKey({ key: leaked.secret, ip: c, permission: 'orders.read' });
    // b also used another key of the organization; c's refused use counts too.
    await gateway.verifyKey({ key: other.secret, ip: b, permission: 'orders.read' });
    expect((await gateway.verifyKey({ key: leaked.secret, ip: c, permission: 'orders.write' })).code).toBe('INSUFFICIENT_PERMISSIONS');
    const ended = new Date().toISOString();

    const { incident } = await admin.compromiseKey(leaked.key.id, { reason: 'found in a pastebin', notify: false });
    const { investigation } = await admin.getIncident(incident.id);
    const order = <T extends { ip: string | null; outcome: string }>(rows: T[]) => [...rows].sort((x, y) => `${x.ip}${x.outcome}`.localeCompare(`${y.ip}${y.outcome}`));
    expect(order(investigation.addresses.map(({ firstSeen: _f, lastSeen: _l, ...row }) => row))).toEqual(
      order([
        { ip: a, outcome: 'VALID', permission: 'orders.read', count: 3, onlyThisKey: true },
        { ip: b, outcome: 'VALID', permission: null, count: 1, onlyThisKey: false },
        { ip: c, outcome: 'VALID', permission: 'orders.read', count: 2, onlyThisKey: true },
        { ip: c, outcome: 'INSUFFICIENT_PERMISSIONS', permission: 'orders.write', count: 1, onlyThisKey: true },
      ]),
    );
    for (const row of investigation.addresses) {
      expect(row.firstSeen >= started && row.lastSeen <= ended && row.firstSeen <= row.lastSeen, JSON.stringify(row)).toBe(true);
    }
    const first = investigation.addresses.find((row) => row.ip === a)!;
    expect(first.firstSeen < first.lastSeen || first.count === 1).toBe(true);
    expect(investigation.unitemizedUses).toBe(0);
    // The other key's incident sees b as shared too, and the refused use nowhere else.
    const { incident: second } = await admin.compromiseKey(other.key.id, { reason: 'same pastebin', notify: false });
    expect((await admin.getIncident(second.id)).investigation.addresses).toMatchObject([{ ip: b, outcome: 'VALID', permission: 'orders.read', count: 1, onlyThisKey: false }]);
  });

  it(`keeps at most ${MAX_ADDRESS_ROWS_PER_KEY_DAY} address rows per key and day, across flushes; the uses past it are counted as not itemized`, async () => {
    const admin = service.client();
    const busy = await admin.createKey({ name: 'Busy', role: 'viewer' });
    const gateway = service.client((await admin.createKey({ name: 'Busy gateway', role: 'verifier' })).secret);
    const address = (i: number) => `10.9.${Math.floor(i / 250)}.${(i % 250) + 1}`;
    for (let i = 0; i <= MAX_ADDRESS_ROWS_PER_KEY_DAY; i++) await gateway.verifyKey({ key: busy.secret, ip: address(i) });
    await service.server.service.context.usage.flush();
    // A later flush: a row already kept adds up, a new address past the bound is not kept.
    await gateway.verifyKey({ key: busy.secret, ip: address(0) });
    await gateway.verifyKey({ key: busy.secret, ip: '10.99.0.1' });
    const { incident } = await admin.compromiseKey(busy.key.id, { reason: 'load test leaked it', notify: false });
    const { investigation } = await admin.getIncident(incident.id);
    expect(investigation.addresses).toHaveLength(MAX_ADDRESS_ROWS_PER_KEY_DAY);
    expect(investigation.addresses.find((row) => row.ip === address(0))!.count).toBe(2);
    expect(investigation.addresses.map((row) => row.ip)).not.toContain('10.99.0.1');
    expect(investigation.unitemizedUses).toBe(2);
  });

  it('a compromise reported by a signed-in member names the member (email) in the incident and the audit log', async () => {
    const admin = service.client();
    const session = await memberWithSession(service, 'grace@example.com', 'admin');
    const key = await admin.createKey({ name: 'Dashboard-reported', role: 'viewer' });
    const response = await asMember(service, session, `/v1/keys/${key.key.id}/compromise`, { method: 'POST', body: { reason: 'seen on a screen share', notify: false } });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    const { incident } = response.body;
    expect(incident.reportedBy).toEqual({ via: 'api', keyId: null, memberId: session.member.id, memberEmail: 'grace@example.com', ip: '127.0.0.1' });
    expect((await admin.getIncident(incident.id)).reportedBy).toMatchObject({ memberId: session.member.id, memberEmail: 'grace@example.com' });
    const audit = await admin.listAuditLog({ action: 'key.compromised' });
    const record = audit.items.find((e) => e.targetId === key.key.id)!;
    expect(record.actor).toEqual({ type: 'member', id: session.member.id, email: 'grace@example.com' });
    expect(record.actorKeyId).toBeNull();
    expect(record.changes?.after).toMatchObject({ incidentId: incident.id, reportedVia: 'api' });
    // Without the CSRF token the same request changes nothing.
    const other = await admin.createKey({ name: 'Not reported', role: 'viewer' });
    const before = await service.store.snapshot();
    const refused = await asMember(service, session, `/v1/keys/${other.key.id}/compromise`, { method: 'POST', body: { reason: 'x' }, csrf: null });
    expect(refused.body.error.code).toBe('CSRF_TOKEN_MISSING');
    expect(await service.store.snapshot()).toBe(before);
  });
});

describe('the change feed', () => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService();
  });
  afterAll(async () => {
    await service.stop();
  });

  it('starts now, resumes from its cursor, waits for a change, filters to operator-managed keys, and survives a restart of the service', async () => {
    const admin = service.client();
    const start = await admin.listEvents({});
    expect(start.items).toEqual([]);

    // A long poll answers as soon as a change commits.
    const waiting = admin.listEvents({ after: start.cursor, wait: '30s' });
    const created = await admin.createKey({ name: 'Fed', role: 'viewer' });
    const first = await waiting;
    expect(first.items.map((e) => [e.action, e.keyId])).toEqual([['key.created', created.key.id]]);

    const managed = await admin.createKey({ name: 'ns/a', role: 'viewer', metadata: { 'k8s/namespace': 'ns', 'k8s/name': 'a', 'k8s/uid': 'u-2' } });
    await admin.updateKey(created.key.id, { name: 'Fed 2' });
    await admin.compromiseKey(managed.key.id, { reason: 'test', notify: false });
    const all = await admin.listEvents({ after: first.cursor });
    expect(all.items.map((e) => [e.action, e.keyId])).toEqual([
      ['key.created', managed.key.id],
      ['key.updated', created.key.id],
      ['key.compromised', managed.key.id],
    ]);
    const operator = await admin.listEvents({ after: first.cursor, managed: 'operator' });
    expect(operator.items.map((e) => e.action)).toEqual(['key.created', 'key.compromised']);
    expect(operator.items[1]!.metadata).toMatchObject({ 'k8s/namespace': 'ns', 'k8s/name': 'a' });
    // Pages: a small limit, then the rest from its cursor, nothing skipped or repeated.
    const page1 = await admin.listEvents({ after: first.cursor, limit: 2 });
    const page2 = await admin.listEvents({ after: page1.cursor });
    expect([...page1.items, ...page2.items].map((e) => e.cursor)).toEqual(all.items.map((e) => e.cursor));

    // A wait with nothing new answers with the same cursor.
    const idle = await admin.listEvents({ after: all.cursor, wait: '200ms' });
    expect(idle).toEqual({ items: [], cursor: all.cursor });

    // Bad input.
    const get = (query: string) => raw(service.url, `/v1/events?${query}`, { headers: { authorization: `Bearer ${service.adminSecret}` } });
    expect((await get('after=abc')).status).toBe(400);
    expect((await get('after=1&wait=10m')).body.error.code).toBe('VALIDATION_FAILED');
    expect((await get('after=1&managed=some')).status).toBe(400);
    const verifier = await admin.createKey({ name: 'gw', role: 'verifier' });
    expect((await raw(service.url, '/v1/events', { headers: { authorization: `Bearer ${verifier.secret}` } })).body.error.code).toBe('INSUFFICIENT_PERMISSIONS');

    // A follower holding a cursor across a restart of the service (a waiting call answers at shutdown) misses nothing.
    const held = all.cursor;
    const pending = admin.listEvents({ after: held, wait: '30s' });
    const beforeRestart = await admin.createKey({ name: 'Before restart', role: 'viewer' });
    await pending;
    const hanging = admin.listEvents({ after: String(Number.MAX_SAFE_INTEGER).slice(0, 15), wait: '30s' });
    await until(() => service.server.service.feed.waiting > 0);
    await service.server.close();
    expect((await hanging).items).toEqual([]);
    const restarted = await startServer(resolveConfig({ port: 0, host: '127.0.0.1', ...service.store.config, logLevel: 'silent' }));
    try {
      const client = new KeywardClient({ url: restarted.url, apiKey: service.adminSecret });
      const afterRestart = await client.createKey({ name: 'After restart', role: 'viewer' });
      const resumed = await client.listEvents({ after: held });
      expect(resumed.items.map((e) => e.keyId)).toEqual([verifier.key.id, beforeRestart.key.id, afterRestart.key.id]);
    } finally {
      await restarted.close();
    }
  });
});
