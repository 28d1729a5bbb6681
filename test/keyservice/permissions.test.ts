/**
 * The route table's permissions are what the service enforces: for every
 * operation in src/core/api.ts, a key whose role grants everything but the
 * declared permission is refused with INSUFFICIENT_PERMISSIONS naming exactly
 * it (and nothing changes), and a key whose role grants only that permission
 * is not refused for want of a permission. Operations open to any valid key
 * declare `permission: null` and are listed here by name, as are those signed
 * by a third party (GitHub secret scanning), which no key authenticates.
 * The one endpoint outside the table that takes a key, /metrics (Prometheus'
 * text format, not a JSON operation), declares its permission beside the
 * table (METRICS_ENDPOINT) and is held to it the same way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, METRICS_ENDPOINT, OPERATION_IDS, pathParamNames, type OperationId, type RouteSpec } from '../../src/core/api.ts';
import { BUILTIN_PERMISSIONS, isBuiltinPermission, type Permission } from '../../src/core/permissions.ts';
import { raw, startTestService, type TestService } from '../support/keyservice.ts';

/** The operations any authenticated key may call. A new one with `permission: null` fails below until it is added here. */
const OPEN_TO_ANY_KEY: readonly OperationId[] = ['whoami'];
/** The sign-in steps: nobody is authenticated (auth: 'public'). */
const PUBLIC: readonly OperationId[] = [
  'signInMethods',
  'previewInvitation',
  'invitationPasskeyOptions',
  'acceptInvitation',
  'passkeyOptions',
  'passkeySignIn',
  'oidcStart',
  'oidcCallback',
];
/** A signed-in member's own session, sessions and passkeys (auth: 'session'): keys are refused. */
/** Signed by a third party (auth: 'signature'): no key or session; a key, even an admin key, is not what lets it in. */
const SIGNED: readonly OperationId[] = ['githubSecretScanning'];
const SESSION_ONLY: readonly OperationId[] = ['getSession', 'signOut', 'listMySessions', 'signOutEverywhere', 'listMyPasskeys', 'myPasskeyOptions', 'addMyPasskey', 'removeMyPasskey'];

const PERMISSIONS = Object.keys(BUILTIN_PERMISSIONS) as Permission[];
const roleId = (prefix: string, permission: string) => `${prefix}-${permission.replaceAll('.', '-')}`;

let service: TestService;
/** Secrets by role id: `without-<permission>` (every built-in permission but that one) and `only-<permission>`. */
const secrets = new Map<string, string>();

/** One call of an operation as the table describes it: placeholder path parameters and an empty body. */
async function call(operationId: OperationId, secret: string) {
  const route = API[operationId];
  const path = pathParamNames(route.path).reduce<string>((p, name) => p.replace(`:${name}`, 'key_00000000000000000000'), route.path);
  return raw(service.url, path, {
    method: route.method,
    headers: { authorization: `Bearer ${secret}`, ...('body' in route ? { 'content-type': 'application/json' } : {}) },
    ...('body' in route ? { body: '{}' } : {}),
  });
}

beforeAll(async () => {
  // No usage flush during the test: a refused call must leave the store exactly as it was.
  service = await startTestService({ usageFlushMs: 600_000 });
  const admin = service.client();
  await admin.createPermission({ name: 'test.nothing', description: 'Grants nothing of keyward' });
  const roles: [string, string[]][] = [['nothing', ['test.nothing']]];
  for (const permission of PERMISSIONS) {
    roles.push([roleId('without', permission), PERMISSIONS.filter((p) => p !== permission)]);
    roles.push([roleId('only', permission), [permission]]);
  }
  for (const [id, permissions] of roles) {
    await admin.createRole({ id, name: id, permissions });
    secrets.set(id, (await admin.createKey({ name: id, role: id })).secret);
  }
});
afterAll(async () => service?.stop());

describe('every route declares its permission', () => {
  it.each(OPERATION_IDS)('%s: a built-in permission, or null and listed as open to any key, public, session-only or signed', (operationId) => {
    const route: RouteSpec = API[operationId];
    const { permission } = route;
    expect(PUBLIC.includes(operationId), `${operationId}: auth 'public' iff listed in PUBLIC`).toBe(route.auth === 'public');
    expect(SESSION_ONLY.includes(operationId), `${operationId}: auth 'session' iff listed in SESSION_ONLY`).toBe(route.auth === 'session');
    expect(SIGNED.includes(operationId), `${operationId}: auth 'signature' iff listed in SIGNED`).toBe(route.auth === 'signature');
    if (route.auth === 'signature') expect(permission, `${operationId}: a signed route holds no key's permission`).toBeNull();
    if (permission === null) {
      expect([...OPEN_TO_ANY_KEY, ...PUBLIC, ...SESSION_ONLY, ...SIGNED], `${operationId} declares no permission: list it in OPEN_TO_ANY_KEY if any key may call it`).toContain(operationId);
    } else expect(isBuiltinPermission(permission), `${operationId}: "${permission}" is not in the permission catalog`).toBe(true);
  });
});

describe('the executor enforces the declared permission', () => {
  const guarded = OPERATION_IDS.filter((id) => API[id].permission !== null);

  it.each(guarded)('%s: refused without exactly its permission (nothing changes), not refused with only it', async (operationId) => {
    const permission = API[operationId].permission!;
    const before = await service.store.snapshot();
    const denied = await call(operationId, secrets.get(roleId('without', permission))!);
    expect(denied.status).toBe(403);
    expect(denied.body.error).toMatchObject({ code: 'INSUFFICIENT_PERMISSIONS', details: { required: permission } });
    expect(await service.store.snapshot()).toBe(before);

    const allowed = await call(operationId, secrets.get(roleId('only', permission))!);
    expect(allowed.body?.error?.code, `${operationId} with only ${permission}: HTTP ${allowed.status}`).not.toBe('INSUFFICIENT_PERMISSIONS');
    expect(allowed.status).toBeLessThan(500);
  });

  it(`${METRICS_ENDPOINT.path} (outside /v1, declared beside the table): refused without exactly its permission, answered with only it`, async () => {
    const { path, permission } = METRICS_ENDPOINT;
    expect(isBuiltinPermission(permission)).toBe(true);
    const denied = await raw(service.url, path, { headers: { authorization: `Bearer ${secrets.get(roleId('without', permission))!}` } });
    expect(denied.status).toBe(403);
    expect(denied.body.error).toMatchObject({ code: 'INSUFFICIENT_PERMISSIONS', details: { required: permission } });
    const allowed = await raw(service.url, path, { headers: { authorization: `Bearer ${secrets.get(roleId('only', permission))!}` } });
    expect(allowed.status).toBe(200);
  });

  it.each(OPEN_TO_ANY_KEY)('%s: answered for a key whose role grants none of keyward\'s permissions', async (operationId) => {
    const response = await call(operationId, secrets.get('nothing')!);
    expect(response.status).toBe(API[operationId].success.status);
  });

  it.each(SESSION_ONLY)('%s: refused for a key, even an admin key (SESSION_REQUIRED); nothing changes', async (operationId) => {
    const before = await service.store.snapshot();
    const response = await call(operationId, service.adminSecret);
    expect(response.status).toBe(401);
    expect(response.body.error.code).toBe('SESSION_REQUIRED');
    expect(await service.store.snapshot()).toBe(before);
  });

  it.each(SIGNED)('%s: a key, even an admin key, does not authenticate it: SIGNATURE_INVALID without the signature; nothing changes', async (operationId) => {
    const before = await service.store.snapshot();
    const response = await call(operationId, service.adminSecret);
    expect(response.status).toBe(401);
    expect(response.body.error.code).toBe('SIGNATURE_INVALID');
    expect(await service.store.snapshot()).toBe(before);
  });

  it.each(PUBLIC)('%s: needs no authentication (a sign-in step)', async (operationId) => {
    const route = API[operationId];
    const path = route.path;
    const response = await raw(service.url, path, { method: route.method, ...('body' in route ? { headers: { 'content-type': 'application/json' }, body: '{}' } : {}) });
    expect(response.status, JSON.stringify(response.body)).not.toBe(401);
    expect(response.status).toBeLessThan(500);
  });
});
