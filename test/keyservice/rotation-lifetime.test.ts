/**
 * Rotation replaces a secret; it never extends a key's life. A successor
 * inherits its predecessor's absolute expiry, no rotation moves the old key's
 * expiry later, and the grace period is bounded by the organization's
 * maxGracePeriod (7 days unless the service operator set another).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeywardClient } from '../../src/client/index.ts';
import { failure, startTestService, type TestService } from '../support/keyservice.ts';

let service: TestService;
let admin: KeywardClient;

beforeAll(async () => {
  service = await startTestService();
  admin = service.client();
});
afterAll(async () => service.stop());

const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();
const HOUR = 3_600_000;

describe('rotation and expiry', () => {
  it('a successor inherits the absolute expiry of the key it replaces, and the old key never outlives it', async () => {
    const created = await admin.createKey({ name: 'Temp viewer', role: 'viewer', expiresAt: inMs(HOUR) });
    const deadline = created.key.expiresAt!;
    const rotated = await admin.rotateKey(created.key.id, { gracePeriod: '24h' });
    expect(rotated.key.expiresAt).toBe(deadline);
    // A grace longer than the key's remaining life does not move its expiry later.
    expect(rotated.previous.expiresAt).toBe(deadline);
    // The successor's successor too.
    const again = await admin.rotateKey(rotated.key.id, { gracePeriod: '1h' });
    expect(again.key.expiresAt).toBe(deadline);
    expect((await service.client(again.secret).whoami()).key.expiresAt).toBe(deadline);
  });

  it('rotating again after the successor was revoked keeps both deadlines (the hour-long viewer stays an hour-long viewer)', async () => {
    const created = await admin.createKey({ name: 'Short-lived viewer', role: 'viewer', expiresAt: inMs(HOUR) });
    const deadline = created.key.expiresAt!;
    const first = await admin.rotateKey(created.key.id, { gracePeriod: '30m' });
    const firstGraceEnd = first.previous.expiresAt!;
    expect(Date.parse(firstGraceEnd)).toBeLessThan(Date.parse(deadline));
    await admin.revokeKey(first.key.id);
    const second = await admin.rotateKey(created.key.id, { gracePeriod: '7d' });
    expect(second.previous.expiresAt).toBe(firstGraceEnd);
    expect(second.key.expiresAt).toBe(deadline);
    expect((await admin.getKey(created.key.id)).expiresAt).toBe(firstGraceEnd);
  });

  it('a key without expiry: its successor has none either, and a second rotation never restarts the grace period', async () => {
    const created = await admin.createKey({ name: 'Long-lived server', role: 'viewer' });
    const first = await admin.rotateKey(created.key.id, { gracePeriod: '1h' });
    expect(first.key.expiresAt).toBeNull();
    const firstGraceEnd = first.previous.expiresAt!;
    await admin.revokeKey(first.key.id);
    const second = await admin.rotateKey(created.key.id, { gracePeriod: '2h' });
    expect(second.previous.expiresAt).toBe(firstGraceEnd);
    expect(second.key.expiresAt).toBeNull();
    // A shorter grace does end it sooner.
    await admin.revokeKey(second.key.id);
    const third = await admin.rotateKey(created.key.id, { gracePeriod: '0' });
    expect(third.previous.status).toBe('expired');
    expect(Date.parse(third.previous.expiresAt!)).toBeLessThan(Date.parse(firstGraceEnd));
  });
});

describe('the grace period bound', () => {
  it('a grace period over the organization\'s maxGracePeriod (7d by default) is refused naming the bound, and changes nothing', async () => {
    const organization = await admin.getOrganization();
    expect(organization.maxGracePeriod).toBe('7d');
    const created = await admin.createKey({ name: 'Bounded', role: 'viewer' });
    for (const gracePeriod of ['8d', '168h1ms', '3650d']) {
      const refused = await failure(admin.rotateKey(created.key.id, { gracePeriod }));
      expect(refused.status, gracePeriod).toBe(400);
      expect(refused.code).toBe('VALIDATION_FAILED');
      expect(refused.message).toMatch(/gracePeriod: .*at most 7d/);
      expect(refused.message).toContain('maxGracePeriod');
    }
    const unchanged = await admin.getKey(created.key.id);
    expect(unchanged).toMatchObject({ rotatedToId: null, expiresAt: null, status: 'active' });
    const rotated = await admin.rotateKey(created.key.id, { gracePeriod: '7d' });
    expect(Date.parse(rotated.previous.expiresAt!) - Date.parse(rotated.key.createdAt)).toBe(7 * 24 * HOUR);
  });

  it('the organization cannot raise its own bound', async () => {
    const refused = await failure(admin.updateOrganization({ maxGracePeriod: '3650d' } as never /* outside the contract: refused */));
    expect(refused.status).toBe(403);
    expect(refused.code).toBe('SET_BY_OPERATOR');
    expect(refused.message).toContain('maxGracePeriod');
    expect(refused.hint).toContain('keyward org');
    expect((await admin.getOrganization()).maxGracePeriod).toBe('7d');
  });
});
