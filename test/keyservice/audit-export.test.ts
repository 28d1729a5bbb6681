/** `keyward audit export` prints the audit log as JSON lines, filtered by action, actor, target and time. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { run } from '../support/cli-process.ts';
import { startTestService, TestClock, type TestService } from '../support/keyservice.ts';

const DAY = 86_400_000;
/** The service's clock: events a day apart, so --from/--to have something to tell apart. */
const clock = new TestClock(Date.parse('2026-06-01T12:00:00.000Z'));
let service: TestService;
beforeAll(async () => {
  service = await startTestService({}, { clock });
});
afterAll(async () => service.stop());

it('exports every event, newest first, one JSON object per line, filterable', async () => {
  const admin = service.client();
  const key = await admin.createKey({ name: 'Exported', role: 'viewer' });
  await admin.revokeKey(key.key.id);
  const env = service.adminEnv;

  const all = await run(['audit', 'export'], env);
  expect(all.code).toBe(0);
  const events = all.stdout.trim().split('\n').map((line) => JSON.parse(line));
  expect(events.map((e) => e.action)).toEqual(['key.revoked', 'key.created', 'organization.created']);
  expect(all.stderr).toContain('exported 3 audit events');
  expect(all.stdout).not.toContain(key.secret);

  const revoked = await run(['audit', 'export', '--action', 'key.revoked'], env);
  expect(revoked.stdout.trim().split('\n').map((line) => JSON.parse(line).targetId)).toEqual([key.key.id]);

  const bad = await run(['audit', 'export', '--action', 'key.exploded'], env);
  expect(bad.code).toBe(1);
  expect(bad.stderr).toContain('VALIDATION_FAILED');
});

it('filters by --actor, --target, --from and --to, alone and together; a bad filter exits 1 and prints nothing', async () => {
  const org = await service.newOrganization('audited');
  const admin = service.client(org.secret);
  const manager = await admin.createKey({ name: 'Manager', role: 'key-manager' }); // day 0
  clock.advance(DAY);
  const x = await service.client(manager.secret).createKey({ name: 'X', role: 'viewer' }); // day 1, by the manager
  clock.advance(DAY);
  const y = await admin.createKey({ name: 'Y', role: 'viewer' }); // day 2, by the admin
  clock.advance(DAY);
  await service.client(manager.secret).revokeKey(x.key.id); // day 3, by the manager
  const env = { KEYWARD_URL: service.url, KEYWARD_API_KEY: org.secret };
  const day = (n: number) => new Date(clock.ms - (3 - n) * DAY).toISOString();
  const exported = async (...args: string[]) => {
    const result = await run(['audit', 'export', ...args], env);
    expect(result.code, result.stderr).toBe(0);
    return result.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { action: string; actorKeyId: string | null; targetId: string; at: string });
  };
  const [byManager, aboutX, window, managerCreates, upToDay1] = await Promise.all([
    exported('--actor', manager.key.id),
    exported('--target', x.key.id),
    exported('--from', day(1.5), '--to', day(2.5)),
    exported('--actor', manager.key.id, '--action', 'key.created'),
    exported('--to', day(1)),
  ]);
  expect(byManager.map((e) => [e.action, e.targetId])).toEqual([
    ['key.revoked', x.key.id],
    ['key.created', x.key.id],
  ]);
  expect(aboutX.map((e) => [e.action, e.actorKeyId])).toEqual([
    ['key.revoked', manager.key.id],
    ['key.created', manager.key.id],
  ]);
  expect(window.map((e) => [e.action, e.targetId, e.at])).toEqual([['key.created', y.key.id, day(2)]]);
  expect(managerCreates.map((e) => e.targetId)).toEqual([x.key.id]);
  // --to is inclusive: the event at exactly day 1 is in; so are day 0's (the manager key, the organization).
  expect(upToDay1.map((e) => e.action)).toEqual(['key.created', 'key.created', 'organization.created']);
  expect(upToDay1[0]).toMatchObject({ targetId: x.key.id, at: day(1) });

  const bad = await run(['audit', 'export', '--from', 'last week'], env);
  expect(bad.code).toBe(1);
  expect(bad.stderr).toContain('VALIDATION_FAILED');
  expect(bad.stdout).toBe('');
}, 90_000);
