/** `keyward audit export` prints the audit log as JSON lines. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { run } from '../support/cli-process.ts';
import { startTestService, type TestService } from '../support/keyservice.ts';

let service: TestService;
beforeAll(async () => {
  service = await startTestService();
});
afterAll(async () => service.stop());

it('exports every event, newest first, one JSON object per line, filterable', async () => {
  const admin = service.client();
  const key = await admin.createKey({ name: 'Exported', role: 'viewer' });
  await admin.revokeKey(key.key.id);
  const env = { KEYWARD_URL: service.url, KEYWARD_API_KEY: service.adminSecret };

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
