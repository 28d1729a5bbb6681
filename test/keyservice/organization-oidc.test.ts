/**
 * An organization's own identity provider through the API, on both stores,
 * against a real OpenID provider (oidc-provider) on loopback: a bad setting
 * is a 400 and a provider that cannot be discovered a 502, each changing
 * nothing; the client secret is write-only (never in an answer, the audit
 * log or the logs, which record only that it changed); only a caller
 * holding every permission sets it; the service-wide provider is the
 * fallback. Also POST /v1/members: members added directly for an
 * organization that signs in through a provider, refused without one.
 * (Signing in through these providers is shown in Chromium by
 * test/people/oidc-organizations.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failure, raw, startTestService, type TestService } from '../support/keyservice.ts';
import { deadIssuer, TestOidcProvider } from '../support/oidc-provider.ts';

const SECRET = 'acme-oidc-client-secret-4f9c2e7a1b';
const NEW_SECRET = 'acme-oidc-client-secret-rotated-8d3b';

let service: TestService;
let idp: TestOidcProvider;

beforeAll(async () => {
  service = await startTestService();
  idp = (await TestOidcProvider.listen()).serve({ clientId: 'keyward', clientSecret: SECRET, redirectUri: `${service.url}/` });
  const admin = service.client();
  // Holds org.manage and member.manage, but not everything.
  await admin.createRole({ id: 'org-manager', name: 'Organization manager', permissions: ['org.view', 'org.manage', 'member.view', 'member.manage', 'role.view'] });
});
afterAll(async () => {
  await service?.stop();
  await idp?.close();
});

const good = () => ({ issuer: idp.issuer, clientId: 'keyward', clientSecret: SECRET, name: 'Acme SSO', allowedDomains: ['Acme.test'] });
const put = (body: unknown, secret = service.adminSecret) =>
  raw(service.url, '/v1/organization/oidc', { method: 'PUT', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
const oidcAudit = async () => (await service.client().listAuditLog({ limit: 100 })).items.filter((e) => e.action.startsWith('organization.oidc'));

describe('the organization\'s identity provider', () => {
  it('none yet: GET is OIDC_NOT_CONFIGURED, and members cannot be added directly (INVITATION_REQUIRED)', async () => {
    const admin = service.client();
    expect((await failure(admin.getOrganizationOidc())).code).toBe('OIDC_NOT_CONFIGURED');
    const refused = await failure(admin.createMember({ email: 'early@acme.test', role: 'viewer' }));
    expect([refused.status, refused.code]).toEqual([409, 'INVITATION_REQUIRED']);
    expect(refused.message).toContain('POST /v1/invitations');
    expect((await admin.listMembers()).items).toHaveLength(0);
  });

  it('a bad setting is a 400 and an issuer that cannot be discovered a 502; neither changes anything', async () => {
    const cases: [unknown, number, string][] = [
      [{ ...good(), issuer: 'http://login.example.com' }, 400, 'VALIDATION_FAILED'],
      [{ ...good(), issuer: 'not a url' }, 400, 'VALIDATION_FAILED'],
      [{ ...good(), allowedDomains: [] }, 400, 'VALIDATION_FAILED'],
      [{ ...good(), allowedDomains: ['not a domain'] }, 400, 'VALIDATION_FAILED'],
      [{ ...good(), clientSecret: undefined }, 400, 'VALIDATION_FAILED'],
      [{ ...good(), clientId: '' }, 400, 'VALIDATION_FAILED'],
      [{ ...good(), extra: true }, 400, 'VALIDATION_FAILED'],
      [{ ...good(), issuer: await deadIssuer() }, 502, 'OIDC_PROVIDER_UNAVAILABLE'],
    ];
    for (const [body, status, code] of cases) {
      const answer = await put(body);
      expect([answer.status, answer.body.error?.code], JSON.stringify(body)).toEqual([status, code]);
      expect(JSON.stringify(answer.body)).not.toContain(SECRET);
    }
    expect((await failure(service.client().getOrganizationOidc())).code).toBe('OIDC_NOT_CONFIGURED');
    expect(await oidcAudit()).toEqual([]);
  });

  it('only a caller holding every permission sets it (it decides who signs in as any member)', async () => {
    const manager = await service.client().createKey({ name: 'org manager', role: 'org-manager' });
    const refused = await put(good(), manager.secret);
    expect([refused.status, refused.body.error.code]).toEqual([403, 'PRIVILEGE_ESCALATION']);
    const viewer = await service.client().createKey({ name: 'viewer', role: 'viewer' });
    expect((await put(good(), viewer.secret)).body.error.code).toBe('INSUFFICIENT_PERMISSIONS');
    expect((await failure(service.client().getOrganizationOidc())).code).toBe('OIDC_NOT_CONFIGURED');
  });

  it('set: answered without its secret; the audit records that the secret changed, never the secret; the sign-in page names it', async () => {
    const set = await put(good());
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body).toEqual({ source: 'organization', issuer: idp.issuer, clientId: 'keyward', name: 'Acme SSO', allowedDomains: ['acme.test'], updatedAt: expect.any(String) });
    expect(await service.client().getOrganizationOidc()).toEqual(set.body);
    const [updated] = await oidcAudit();
    expect(updated).toMatchObject({ action: 'organization.oidc-updated', changes: { after: { issuer: idp.issuer, clientSecretChanged: true } } });
    expect((await raw(service.url, '/v1/auth/methods')).body.oidc).toEqual({ name: 'Acme SSO' });
    const started = await raw(service.url, '/v1/auth/oidc/start', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ organization: service.organizationId }) });
    expect(started.status, JSON.stringify(started.body)).toBe(200);
    expect(started.body.authorizationUrl.startsWith(`${idp.issuer}/`)).toBe(true);
  });

  it('changed without a secret keeps the stored one; with a new one, the audit says it changed', async () => {
    const renamed = await put({ ...good(), clientSecret: undefined, name: 'Acme Login' });
    expect(renamed.status, JSON.stringify(renamed.body)).toBe(200);
    expect((await service.server.service.store.people.getOidcProvider(service.organizationId))!.clientSecret).toBe(SECRET);
    expect((await put({ ...good(), clientSecret: NEW_SECRET })).status).toBe(200);
    expect((await service.server.service.store.people.getOidcProvider(service.organizationId))!.clientSecret).toBe(NEW_SECRET);
    const changes = (await oidcAudit()).map((e) => e.changes?.after?.clientSecretChanged);
    // Newest first.
    expect(changes).toEqual([true, false, true]);
  });

  it('members added directly: one of an allowed domain, not bound until they sign in; no escalation, no second member per email', async () => {
    const admin = service.client();
    const added = await admin.createMember({ email: 'Dan@Acme.test', role: 'key-manager' });
    expect(added).toMatchObject({ email: 'dan@acme.test', displayName: 'dan@acme.test', role: 'key-manager', status: 'active', oidcLinked: false, lastSignInAt: null });
    expect((await admin.listMembers()).items.map((m) => m.id)).toContain(added.id);
    const [audit] = (await admin.listAuditLog({ action: 'member.added' })).items;
    expect(audit).toMatchObject({ targetId: added.id, actor: { type: 'key', id: service.adminKeyId } });

    expect((await failure(admin.createMember({ email: 'dan@acme.test', role: 'viewer' }))).code).toBe('MEMBER_EXISTS');
    expect((await failure(admin.createInvitation({ email: 'dan@acme.test', role: 'viewer' }))).code).toBe('MEMBER_EXISTS');
    expect((await failure(admin.createMember({ email: 'eve@elsewhere.test', role: 'viewer' }))).code).toBe('EMAIL_DOMAIN_NOT_ALLOWED');
    expect((await failure(admin.createMember({ email: 'fay@acme.test', role: 'no-such-role' }))).code).toBe('UNKNOWN_ROLE');
    const manager = await admin.createKey({ name: 'members only', role: 'org-manager' });
    const escalation = await failure(service.client(manager.secret).createMember({ email: 'gus@acme.test', role: 'admin' }));
    expect([escalation.status, escalation.code]).toEqual([403, 'PRIVILEGE_ESCALATION']);
    expect((await admin.listMembers()).items.map((m) => m.email)).toEqual(['dan@acme.test']);
  });

  it('removed: GET is OIDC_NOT_CONFIGURED again, and removing twice says so', async () => {
    const manager = await service.client().createKey({ name: 'cannot remove', role: 'org-manager' });
    expect((await failure(service.client(manager.secret).deleteOrganizationOidc())).code).toBe('PRIVILEGE_ESCALATION');
    await service.client().deleteOrganizationOidc();
    expect((await failure(service.client().getOrganizationOidc())).code).toBe('OIDC_NOT_CONFIGURED');
    expect((await failure(service.client().deleteOrganizationOidc())).code).toBe('OIDC_NOT_CONFIGURED');
    expect((await raw(service.url, '/v1/auth/methods')).body.oidc).toBeNull();
    expect((await oidcAudit())[0]).toMatchObject({ action: 'organization.oidc-removed' });
  });

  it('the client secret is in no log line and no audit record', async () => {
    const everything = [...service.logs, JSON.stringify(await service.client().listAuditLog({ limit: 500 }))].join('\n');
    expect(everything).toContain('organization.oidc-updated');
    expect(everything).not.toContain(SECRET);
    expect(everything).not.toContain(NEW_SECRET);
  });
});

describe('the service-wide provider', () => {
  it("is every organization's fallback; one that cannot be discovered is a 502 at sign-in, never a 500", async () => {
    const down = await startTestService({ oidcIssuer: await deadIssuer(), oidcClientId: 'keyward', oidcClientSecret: 'service-wide-client-secret-0123', oidcName: 'Corp SSO' });
    try {
      const view = await down.client().getOrganizationOidc();
      expect(view).toMatchObject({ source: 'service', name: 'Corp SSO', clientId: 'keyward', allowedDomains: [], updatedAt: null });
      expect(JSON.stringify(view)).not.toContain('service-wide-client-secret');
      const other = await down.newOrganization('second');
      expect((await down.client(other.secret).getOrganizationOidc()).source).toBe('service');
      const started = await raw(down.url, '/v1/auth/oidc/start', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ organization: other.organizationId }) });
      expect([started.status, started.body.error.code]).toEqual([502, 'OIDC_PROVIDER_UNAVAILABLE']);
      // Two organizations and none named: which provider is meant cannot be told.
      const unnamed = await raw(down.url, '/v1/auth/oidc/start', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect([unnamed.status, unnamed.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
      // Members may be added directly: the organization signs in through the service's provider.
      expect((await down.client().createMember({ email: 'ida@corp.test', role: 'viewer' })).email).toBe('ida@corp.test');
    } finally {
      await down.stop();
    }
  });
});
