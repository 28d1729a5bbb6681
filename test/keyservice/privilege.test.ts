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
    expect(await verifier.verify({ key: key.secret, permission: 'geo.read' })).toMatchObject({ valid: true, role: 'geo-reader', permissions: ['geo.read'] });
    expect(await verifier.verify({ key: key.secret, permission: 'geo.write' })).toMatchObject({ valid: false, code: 'INSUFFICIENT_PERMISSIONS' });

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
    expect(await service.client(ours.secret).verify({ key: theirs.secret })).toMatchObject({ valid: false, code: 'UNKNOWN_KEY' });
    // Custom roles are per organization too.
    await acme.createRole({ id: 'acme-only', name: 'Acme only', permissions: ['api.key.view'] });
    expect((await failure(globex.createKey({ name: 'x', role: 'acme-only' }))).code).toBe('UNKNOWN_ROLE');
    expect((await globex.getKey(theirs.key.id)).name).toBe('Globex server');
  });
});
