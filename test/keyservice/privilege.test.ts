/** Least privilege, custom roles and organization isolation. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeywardApiError, type KeywardClient } from '../../src/client/index.ts';
import { failure, startTestService, type TestService } from '../support/keyservice.ts';

let service: TestService;
let manager: KeywardClient;

beforeAll(async () => {
  service = await startTestService();
  manager = service.client((await service.client().createKey({ name: 'Deployer', role: 'key-manager' })).secret);
});
afterAll(async () => service.stop());


describe('least privilege', () => {
  it('a key-manager cannot create, rotate into or promote to a role it does not hold', async () => {
    const escalation = await failure(manager.createKey({ name: 'sneaky', role: 'admin' }));
    expect(escalation.status).toBe(403);
    expect(escalation.code).toBe('PRIVILEGE_ESCALATION');
    expect(escalation.message).toContain('"*"');

    const viewer = await manager.createKey({ name: 'ok', role: 'viewer' });
    expect((await failure(manager.updateKey(viewer.key.id, { role: 'admin' }))).code).toBe('PRIVILEGE_ESCALATION');
    // It may not touch the role of a key that holds more than it does, either.
    const adminKey = await service.client().createKey({ name: 'Another admin', role: 'admin' });
    expect((await failure(manager.updateKey(adminKey.key.id, { role: 'viewer' }))).code).toBe('PRIVILEGE_ESCALATION');
    expect((await failure(manager.rotateKey(adminKey.key.id))).code).toBe('PRIVILEGE_ESCALATION');
    // Nothing changed.
    expect((await service.client().getKey(viewer.key.id)).role).toBe('viewer');
    expect((await service.client().getKey(adminKey.key.id)).role).toBe('admin');
  });

  it('a key-manager cannot define roles at all, and an admin-made role cannot exceed its maker', async () => {
    const denied = await failure(manager.createRole({ id: 'superuser', name: 'Superuser', permissions: ['api.key.create'] }));
    expect(denied.code).toBe('INSUFFICIENT_PERMISSIONS');

    // A custom role manager holding role.manage but not api.key.delete cannot mint a role with it.
    const admin = service.client();
    await admin.createRole({ id: 'role-admin', name: 'Role admin', permissions: ['role.manage', 'role.view', 'api.key.create', 'api.key.view'] });
    const roleAdmin = service.client((await admin.createKey({ name: 'Role admin', role: 'role-admin' })).secret);
    const over = await failure(roleAdmin.createRole({ id: 'deleter', name: 'Deleter', permissions: ['api.key.delete'] }));
    expect(over.code).toBe('PRIVILEGE_ESCALATION');
    expect(over.message).toContain('api.key.delete');
    const fine = await roleAdmin.createRole({ id: 'creator', name: 'Creator', permissions: ['api.key.view'] });
    expect(fine).toMatchObject({ id: 'creator', builtin: false });
    expect((await failure(roleAdmin.updateRole('creator', { permissions: ['api.key.view', 'audit.view'] }))).code).toBe('PRIVILEGE_ESCALATION');
  });
});

describe('custom roles and permissions', () => {
  it('defines organization permissions and roles, assigns them, and refuses to delete a role in use', async () => {
    const admin = service.client();
    await admin.createPermission({ name: 'geo.read', description: 'Read geodata' });
    expect((await failure(admin.createPermission({ name: 'geo.read' }))).code).toBe('PERMISSION_EXISTS');
    expect((await failure(admin.createPermission({ name: 'api.key.nuke' }))).code).toBe('VALIDATION_FAILED');
    expect((await admin.listPermissions()).items.map((p) => p.name)).toEqual(expect.arrayContaining(['api.key.create', 'api.key.update', 'api.key.delete', 'api.key.view', 'api.key.verify', 'geo.read']));

    expect((await failure(admin.createRole({ id: 'geo', name: 'Geo', permissions: ['geo.write'] }))).code).toBe('UNKNOWN_PERMISSION');
    const role = await admin.createRole({ id: 'geo-reader', name: 'Geo reader', description: 'Maps team', permissions: ['geo.read'] });
    expect(role.permissions).toEqual(['geo.read']);
    expect((await failure(admin.createRole({ id: 'geo-reader', name: 'again', permissions: ['geo.read'] }))).code).toBe('ROLE_EXISTS');
    expect((await failure(admin.createRole({ id: 'admin', name: 'again', permissions: ['geo.read'] }))).code).toBe('ROLE_EXISTS');
    expect((await failure(admin.updateRole('admin', { name: 'x' }))).code).toBe('BUILTIN_ROLE');

    const key = await admin.createKey({ name: 'Maps frontend', role: 'geo-reader' });
    const verifier = service.client((await admin.createKey({ name: 'Maps gateway', role: 'verifier' })).secret);
    expect(await verifier.verifyKey({ key: key.secret, permission: 'geo.read' })).toMatchObject({ valid: true, role: 'geo-reader', permissions: ['geo.read'] });
    expect(await verifier.verifyKey({ key: key.secret, permission: 'geo.write' })).toMatchObject({ valid: false, code: 'INSUFFICIENT_PERMISSIONS' });

    const inUse = await failure(admin.deleteRole('geo-reader'));
    expect(inUse.status).toBe(409);
    expect(inUse.code).toBe('ROLE_IN_USE');
    await admin.revokeKey(key.key.id);
    await admin.deleteRole('geo-reader');
    expect((await failure(admin.deleteRole('geo-reader'))).code).toBe('ROLE_NOT_FOUND');
    expect((await admin.listRoles()).items.map((r) => r.id)).toEqual(expect.arrayContaining(['admin', 'key-manager', 'viewer', 'verifier']));
  });

  it('unknown roles are the client\'s mistake', async () => {
    const error = await failure(service.client().createKey({ name: 'x', role: 'does-not-exist' }));
    expect(error.status).toBe(400);
    expect(error.code).toBe('UNKNOWN_ROLE');
  });
});

describe('organization isolation', () => {
  it("org A's key sees nothing of org B", async () => {
    const other = await service.newOrganization('globex');
    const globex = service.client(other.secret);
    const theirs = await globex.createKey({ name: 'Globex server', role: 'viewer' });
    const acme = service.client();
    const ours = await acme.createKey({ name: 'Acme gateway', role: 'verifier' });

    // Each attempt is handled as it is made (awaiting them one by one would leave a later rejection unhandled).
    const attempts = [acme.getKey(theirs.key.id), acme.revokeKey(theirs.key.id), acme.updateKey(theirs.key.id, { name: 'pwned' }), acme.rotateKey(theirs.key.id)].map(failure);
    for (const error of await Promise.all(attempts)) {
      expect(error.status).toBe(404);
      expect(error.code).toBe('KEY_NOT_FOUND');
    }
    expect((await acme.listKeys({ status: 'all', limit: 500 })).items.map((k) => k.id)).not.toContain(theirs.key.id);
    // A gateway of org A cannot validate org B's keys.
    expect(await service.client(ours.secret).verifyKey({ key: theirs.secret })).toMatchObject({ valid: false, code: 'UNKNOWN_KEY' });
    // Custom roles are per organization too.
    await acme.createRole({ id: 'acme-only', name: 'Acme only', permissions: ['api.key.view'] });
    expect((await failure(globex.createKey({ name: 'x', role: 'acme-only' }))).code).toBe('UNKNOWN_ROLE');
    expect((await globex.getKey(theirs.key.id)).name).toBe('Globex server');
  });
});

describe('revocation needs the rights edit and rotate need', () => {
  it('a key-manager cannot revoke a key that holds more than it does; what it holds itself it may revoke', async () => {
    const admin = service.client();
    const adminKey = await admin.createKey({ name: 'Break-glass admin', role: 'admin' });
    const refused = await failure(manager.revokeKey(adminKey.key.id));
    expect(refused.status).toBe(403);
    expect(refused.code).toBe('PRIVILEGE_ESCALATION');
    expect(refused.message).toContain('"*"');
    expect((await admin.getKey(adminKey.key.id)).status).toBe('active');
    const viewer = await manager.createKey({ name: 'Temporary viewer', role: 'viewer' });
    expect((await manager.revokeKey(viewer.key.id)).status).toBe('revoked');
  });
});

describe('the last admin key', () => {
  /** An organization of its own, whose only admin key is its bootstrap key. */
  async function organization(name: string) {
    const org = await service.newOrganization(name);
    return { ...org, admin: service.client(org.secret) };
  }

  it('cannot be revoked or demoted (409 LAST_ADMIN_KEY with a hint); with a second admin key it can', async () => {
    const { admin, keyId } = await organization('lonely');
    const revoke = await failure(admin.revokeKey(keyId));
    expect(revoke.status).toBe(409);
    expect(revoke.code).toBe('LAST_ADMIN_KEY');
    expect(revoke.message).toContain(keyId);
    expect(revoke.hint).toMatch(/another admin key/i);
    const demote = await failure(admin.updateKey(keyId, { role: 'viewer' }));
    expect(demote.code).toBe('LAST_ADMIN_KEY');
    expect((await admin.getKey(keyId)).role).toBe('admin');
    // Renaming is not demoting.
    expect((await admin.updateKey(keyId, { name: 'Still the admin' })).name).toBe('Still the admin');

    // An expired admin key does not count: rotate a second admin key with no grace, and revoke its successor.
    const second = await admin.createKey({ name: 'Second admin', role: 'admin' });
    const rotated = await admin.rotateKey(second.key.id, { gracePeriod: '0' });
    expect(rotated.previous.status).toBe('expired');
    await admin.revokeKey(rotated.key.id);
    expect((await failure(admin.revokeKey(keyId))).code).toBe('LAST_ADMIN_KEY');

    const third = await admin.createKey({ name: 'Third admin', role: 'admin' });
    expect((await admin.updateKey(keyId, { role: 'viewer' })).role).toBe('viewer');
    const asThird = service.client(third.secret);
    expect((await failure(asThird.revokeKey(third.key.id))).code).toBe('LAST_ADMIN_KEY');
    expect((await asThird.whoami()).key.id).toBe(third.key.id);
  });

  it('an admin key that expires sooner cannot be the one that remains (rotating the only admin key, then revoking its successor, locked the organization out when the grace ended)', async () => {
    const { admin, keyId } = await organization('grace-lockout');
    const rotated = await admin.rotateKey(keyId, { gracePeriod: '1h' });
    expect(rotated.previous).toMatchObject({ status: 'active', expiresAt: expect.any(String) });
    const successor = service.client(rotated.secret);
    const before = await service.store.snapshot();
    const revoke = await failure(successor.revokeKey(rotated.key.id));
    expect(revoke.status).toBe(409);
    expect(revoke.code).toBe('LAST_ADMIN_KEY');
    expect(revoke.message).toContain(`${rotated.key.id} is the last active admin key of this organization without an expiry`);
    expect(revoke.hint).toMatch(/without an expiry/);
    expect((await failure(successor.updateKey(rotated.key.id, { role: 'viewer' }))).code).toBe('LAST_ADMIN_KEY');
    expect(await service.store.snapshot()).toBe(before);
    // A compromise without a replacement is the same revocation.
    expect((await failure(successor.compromiseKey(rotated.key.id, { reason: 'test', replace: false, notify: false }))).code).toBe('LAST_ADMIN_KEY');

    // An admin key created with an expiry does not let the lasting one go either…
    const temporary = await successor.createKey({ name: 'Temporary admin', role: 'admin', expiresAt: new Date(Date.now() + 86_400_000).toISOString() });
    expect((await failure(successor.revokeKey(rotated.key.id))).code).toBe('LAST_ADMIN_KEY');
    // …while the keys that end sooner may go: the lasting one outlasts them.
    expect((await successor.revokeKey(keyId)).status).toBe('revoked');
    expect((await successor.revokeKey(temporary.key.id)).status).toBe('revoked');
    // Another admin key without an expiry does.
    await successor.createKey({ name: 'Lasting admin', role: 'admin' });
    expect((await successor.revokeKey(rotated.key.id)).status).toBe('revoked');
  });

  it('concurrent revocations of every admin key leave exactly one (atomic in the store)', async () => {
    for (let round = 0; round < 3; round++) {
      const { admin, keyId } = await organization(`contended-admins-${round}`);
      const others = await Promise.all(Array.from({ length: 5 }, (_, i) => admin.createKey({ name: `admin ${i}`, role: 'admin' })));
      const targets = [keyId, ...others.map((o) => o.key.id)];
      // Each admin key revokes itself, all at once.
      const callers = [admin, ...others.map((o) => service.client(o.secret))];
      const results = await Promise.allSettled(targets.map((id, i) => callers[i]!.revokeKey(id)));
      const codes = results.map((r) => (r.status === 'fulfilled' ? 'REVOKED' : (r.reason as KeywardApiError).code));
      expect(codes.filter((c) => c === 'REVOKED'), codes.join(' ')).toHaveLength(5);
      expect(codes.filter((c) => c !== 'REVOKED')).toEqual(['LAST_ADMIN_KEY']);
      const survivor = targets[codes.indexOf('LAST_ADMIN_KEY')]!;
      const survivorClient = callers[codes.indexOf('LAST_ADMIN_KEY')]!;
      const active = (await survivorClient.listKeys({ role: 'admin' })).items;
      expect(active.map((k) => k.id)).toEqual([survivor]);
    }
  });
});

describe('verify across organizations', () => {
  it("another organization's key is UNKNOWN_KEY whatever its state, and nothing of it is named", async () => {
    const other = await service.newOrganization('initech');
    const initech = service.client(other.secret);
    const revoked = await initech.createKey({ name: 'Revoked one', role: 'viewer' });
    await initech.revokeKey(revoked.key.id);
    const old = await initech.createKey({ name: 'Rotated one', role: 'viewer' });
    const rotated = await initech.rotateKey(old.key.id, { gracePeriod: '0' });
    const gateway = service.client((await service.client().createKey({ name: 'Acme gateway 2', role: 'verifier' })).secret);
    for (const secret of [revoked.secret, old.secret, rotated.secret]) {
      const answer = await gateway.verifyKey({ key: secret });
      expect(answer).toMatchObject({ valid: false, code: 'UNKNOWN_KEY' });
      const text = JSON.stringify(answer);
      for (const id of [revoked.key.id, old.key.id, rotated.key.id, other.organizationId]) expect(text).not.toContain(id);
    }
    // Their own gateway still learns the cause.
    const theirs = service.client((await initech.createKey({ name: 'Initech gateway', role: 'verifier' })).secret);
    expect(await theirs.verifyKey({ key: revoked.secret })).toMatchObject({ valid: false, code: 'KEY_REVOKED' });
    expect(await theirs.verifyKey({ key: old.secret })).toMatchObject({ valid: false, code: 'KEY_EXPIRED' });
  });
});
