/**
 * DELETE /v1/keys/:id?reason=…: why a key was revoked, kept in its audit
 * record (the operator names why it ends a rotated-away key; a person may say
 * why too, with `keyward keys revoke --reason`). A bad reason is a 400 naming
 * `reason` that changes nothing. Runs on both stores (the lowdb and postgres
 * vitest projects).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeywardApiError } from '../../src/client/index.ts';
import { REVOKE_REASON_MAX_LENGTH } from '../../src/core/schemas.ts';
import { run } from '../support/cli-process.ts';
import { failure, raw, startTestService, type TestService } from '../support/keyservice.ts';

let service: TestService;

beforeAll(async () => {
  service = await startTestService();
});
afterAll(async () => service?.stop());

const admin = () => service.client();
const revokedRecord = async (keyId: string) => (await admin().listAuditLog({ action: 'key.revoked', targetId: keyId })).items;

describe('revoke with a reason', () => {
  it('keeps the reason in the audit record; without one the record is as before', async () => {
    const [withReason, without] = await Promise.all([admin().createKey({ name: 'Offboarded', role: 'viewer' }), admin().createKey({ name: 'Plain', role: 'viewer' })]);
    const reason = 'contractor offboarded — ticket SEC-142';
    expect(await admin().revokeKey(withReason.key.id, { reason })).toMatchObject({ status: 'revoked' });
    await admin().revokeKey(without.key.id);
    const [record] = await revokedRecord(withReason.key.id);
    expect(record).toMatchObject({ actorKeyId: service.adminKeyId, changes: { before: { status: 'active', name: 'Offboarded' }, after: { status: 'revoked', reason } } });
    const [plain] = await revokedRecord(without.key.id);
    expect(plain!.changes).toEqual({ before: { status: 'active', name: 'Plain' } });
    // The longest allowed reason is kept whole.
    const longest = await admin().createKey({ name: 'Longest', role: 'viewer' });
    await admin().revokeKey(longest.key.id, { reason: 'r'.repeat(REVOKE_REASON_MAX_LENGTH) });
    expect((await revokedRecord(longest.key.id))[0]!.changes?.after?.reason).toBe('r'.repeat(REVOKE_REASON_MAX_LENGTH));
  });

  it('a bad reason is a 400 naming reason, and nothing changes', async () => {
    const key = await admin().createKey({ name: 'Untouched', role: 'viewer' });
    const before = await service.store.snapshot();
    const cases: [string, string, string][] = [
      // [query string, code, what the message says]
      [`reason=${'r'.repeat(REVOKE_REASON_MAX_LENGTH + 1)}`, 'VALIDATION_FAILED', `at most ${REVOKE_REASON_MAX_LENGTH} characters`],
      ['reason=', 'VALIDATION_FAILED', 'must not be empty'],
      ['reason=%20leading', 'VALIDATION_FAILED', 'must not start or end with whitespace'],
      ['reason=line%0Abreak', 'VALIDATION_FAILED', 'control characters'],
      ['reason=spoof%E2%80%AEtxt', 'VALIDATION_FAILED', 'bidi'],
      ['reason=a&reason=b', 'VALIDATION_FAILED', 'reason'],
      ['why=unused', 'VALIDATION_FAILED', 'why'],
      // A secret pasted as the reason never reaches the audit log: the URL is refused before anything else.
      [`reason=${encodeURIComponent(`leaked ${service.adminSecret}`)}`, 'KEY_IN_URL', 'looks like a secret'],
    ];
    for (const [query, code, says] of cases) {
      const response = await raw(service.url, `/v1/keys/${key.key.id}?${query}`, { method: 'DELETE', headers: { authorization: `Bearer ${service.adminSecret}` } });
      expect(response.status, query).toBe(400);
      expect(response.body.error.code, query).toBe(code);
      expect(response.body.error.message, query).toContain(says);
      // An unknown parameter is named in the message, at the query as a whole (as for every query schema).
      const path = query.startsWith('why') ? 'query' : expect.stringContaining('reason');
      if (code === 'VALIDATION_FAILED') expect(response.body.error.details, query).toEqual([expect.objectContaining({ path })]);
      expect(response.text, query).not.toContain(service.adminSecret);
    }
    expect(await service.store.snapshot()).toBe(before);
    expect((await admin().getKey(key.key.id)).status).toBe('active');
  });

  it('the typed client refuses the same way (KeywardApiError, the service\'s words)', async () => {
    const key = await admin().createKey({ name: 'Client side', role: 'viewer' });
    const error = await failure(admin().revokeKey(key.key.id, { reason: 'x'.repeat(REVOKE_REASON_MAX_LENGTH + 1) }));
    expect(error).toBeInstanceOf(KeywardApiError);
    expect(error).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    expect((await admin().getKey(key.key.id)).status).toBe('active');
  });

  it('keyward keys revoke --reason passes it; a bad one exits 1 with the service\'s words and revokes nothing', { timeout: 60_000 }, async () => {
    const env = service.adminEnv;
    const [kept, refusedKey] = await Promise.all([admin().createKey({ name: 'Via CLI', role: 'viewer' }), admin().createKey({ name: 'Via CLI, refused', role: 'viewer' })]);
    const [ok, refused] = await Promise.all([
      run(['keys', 'revoke', kept.key.id, '--yes', '--reason', 'rotated by hand after the incident'], env),
      run(['keys', 'revoke', refusedKey.key.id, '--yes', '--reason', 'r'.repeat(REVOKE_REASON_MAX_LENGTH + 1)], env),
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe(`key ${kept.key.id} revoked\n`);
    expect((await revokedRecord(kept.key.id))[0]!.changes?.after).toEqual({ status: 'revoked', reason: 'rotated by hand after the incident' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('reason');
    expect(refused.stderr).toContain(`at most ${REVOKE_REASON_MAX_LENGTH} characters`);
    expect((await admin().getKey(refusedKey.key.id)).status).toBe('active');
  });
});
