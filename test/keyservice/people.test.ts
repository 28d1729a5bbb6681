/**
 * People through the API, on both stores: invitations (one-time, expiring,
 * revocable, each refusal its own code; no escalation), members (role
 * changes and removal end their sessions; the last admin member stays),
 * sessions (cookie + CSRF token + own Origin for changes, idle and absolute
 * timeouts, sign out everywhere), audit records naming the member, and no
 * invitation token or session token in logs, listings, audit or errors.
 * Sign-in itself (passkeys, the identity provider) is shown in Chromium by
 * test/people/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeywardApiError } from '../../src/client/index.ts';
import { hashPeopleToken, newInvitationId, newMemberId, newPeopleToken } from '../../src/core/people.ts';
import { failure, raw, startTestService, TestClock, type TestService } from '../support/keyservice.ts';
import { anotherSession, asMember, invitationToken, memberWithSession } from '../support/people.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

let service: TestService;
const clock = new TestClock();
/** Every token a test saw in the clear: none may be in logs, the audit log or any listing. */
const tokens: string[] = [];

beforeAll(async () => {
  service = await startTestService({ usageFlushMs: 600_000 }, { clock });
  const admin = service.client();
  // Invites, but may grant only what a key manager holds.
  await admin.createRole({ id: 'people-manager', name: 'People manager', permissions: ['member.view', 'member.manage', 'api.key.view', 'api.key.create', 'role.view', 'usage.view', 'org.view'] });
});
afterAll(async () => service?.stop());

const preview = (token: string) => raw(service.url, '/v1/auth/invitation', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });

describe('invitations', () => {
  it('a link shown once, pending until accepted; listed without its token', async () => {
    const admin = service.client();
    const created = await admin.createInvitation({ email: 'Grace@Example.com', role: 'viewer' });
    const token = invitationToken(created.link);
    tokens.push(token);
    expect(created.invitation).toMatchObject({ email: 'grace@example.com', role: 'viewer', status: 'pending' });
    expect(created.link).toBe(`${service.url}/#invitation=${token}`);
    expect(created.mailed).toBe(false);
    const shown = await preview(token);
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({ email: 'grace@example.com', role: 'viewer', organization: { id: service.organizationId } });
    const listed = JSON.stringify(await admin.listInvitations());
    expect(listed).toContain(created.invitation.id);
    expect(listed).not.toContain(token);
    expect(listed).not.toContain(hashPeopleToken('invitation', token));
  });

  it('expired, reused, revoked and unknown links are each refused with their own code', async () => {
    const admin = service.client();
    const expiring = invitationToken((await admin.createInvitation({ email: 'late@example.com', role: 'viewer', expiresIn: '1h' })).link);
    clock.advance(HOUR + 1);
    expect((await preview(expiring)).body.error.code).toBe('INVITATION_EXPIRED');

    const revokedInvitation = await admin.createInvitation({ email: 'revoked@example.com', role: 'viewer' });
    await admin.revokeInvitation(revokedInvitation.invitation.id);
    expect((await preview(invitationToken(revokedInvitation.link))).body.error.code).toBe('INVITATION_REVOKED');
    expect((await failure(admin.revokeInvitation(revokedInvitation.invitation.id))).code).toBe('INVITATION_REVOKED');

    expect((await preview('A'.repeat(32))).body.error.code).toBe('INVITATION_NOT_FOUND');
    // Accepting is refused the same way, before anything else is looked at.
    const accept = (token: string) =>
      raw(service.url, '/v1/auth/invitation/accept', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token, displayName: 'X', credential: {} }),
      });
    expect((await accept(expiring)).body.error.code).toBe('INVITATION_EXPIRED');
    expect((await accept(invitationToken(revokedInvitation.link))).body.error.code).toBe('INVITATION_REVOKED');
  });

  it('a reused link is refused: INVITATION_USED', async () => {
    const admin = service.client();
    const created = await admin.createInvitation({ email: 'twice@example.com', role: 'viewer' });
    const token = invitationToken(created.link);
    const member = await memberWithSessionFromToken(token);
    expect((await preview(token)).body.error.code).toBe('INVITATION_USED');
    const used = (await admin.listInvitations()).items.find((i) => i.id === created.invitation.id)!;
    expect(used).toMatchObject({ status: 'accepted', memberId: member.id });
    expect((await failure(admin.revokeInvitation(used.id))).code).toBe('INVITATION_USED');
  });

  it('escalation through an invitation is refused, and nothing changes', async () => {
    const manager = service.client((await service.client().createKey({ name: 'people manager', role: 'people-manager' })).secret);
    const before = await service.store.snapshot();
    const refused = await failure(manager.createInvitation({ email: 'boss@example.com', role: 'admin' }));
    expect(refused.code).toBe('PRIVILEGE_ESCALATION');
    expect(await service.store.snapshot()).toBe(before);
    const allowed = await manager.createInvitation({ email: 'peer@example.com', role: 'viewer' });
    expect(allowed.invitation.status).toBe('pending');
  });

  it('an existing member is not invited again', async () => {
    await memberWithSession(service, 'member@example.com', 'viewer');
    expect((await failure(service.client().createInvitation({ email: 'member@example.com', role: 'viewer' }))).code).toBe('MEMBER_EXISTS');
  });

  it('a pending invitation holds its custom role: deleting the role is ROLE_IN_USE naming it; revoked and expired ones hold nothing', async () => {
    const admin = service.client();
    await admin.createRole({ id: 'contractor', name: 'Contractor', permissions: ['api.key.view'] });
    const pending = await admin.createInvitation({ email: 'contractor@example.com', role: 'contractor' });
    const refused = await failure(admin.deleteRole('contractor'));
    expect([refused.status, refused.code]).toEqual([409, 'ROLE_IN_USE']);
    expect(refused.details).toEqual({ invitationIds: [pending.invitation.id] });
    expect((await preview(invitationToken(pending.link))).body.role).toBe('contractor');
    await admin.revokeInvitation(pending.invitation.id);
    await admin.createInvitation({ email: 'short@example.com', role: 'contractor', expiresIn: '1h' });
    clock.advance(HOUR + 1);
    await admin.deleteRole('contractor');
    expect((await admin.listRoles()).items.map((r) => r.id)).not.toContain('contractor');
  });

  it('an invitation whose custom role is gone (made before pending invitations held their role) is refused at every step with INVITATION_ROLE_DELETED, in the store too', async () => {
    const keyService = service.server.service;
    const token = newPeopleToken();
    const now = keyService.now();
    const invitation = {
      id: newInvitationId(),
      organizationId: service.organizationId,
      email: 'orphan@example.com',
      roleId: 'retired-role',
      tokenHash: hashPeopleToken('invitation', token),
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + HOUR).toISOString(),
      invitedBy: null,
      acceptedAt: null,
      revokedAt: null,
      memberId: null,
    };
    await keyService.store.people.insertInvitation(invitation, keyService.context.audit(null, service.organizationId, 'invitation.created', 'invitation', invitation.id));
    const post = (path: string, body: unknown) => raw(service.url, path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    for (const answer of [
      await preview(token),
      await post('/v1/auth/invitation/passkey-options', { token }),
      await post('/v1/auth/invitation/accept', { token, displayName: 'Orphan', credential: {} }),
      await post('/v1/auth/oidc/start', { invitationToken: token }),
    ]) {
      expect([answer.status, answer.body.error.code]).toEqual([409, 'INVITATION_ROLE_DELETED']);
    }
    // The store refuses it by itself too (a deletion that raced the acceptance).
    const member = { id: newMemberId(), organizationId: service.organizationId, email: invitation.email, displayName: 'Orphan', roleId: 'retired-role', status: 'active' as const, oidcSubject: null, createdAt: now.toISOString(), updatedAt: now.toISOString(), lastSignInAt: now.toISOString() };
    const { record } = keyService.people.sessions.mint(member, 'invitation', { ip: null, userAgent: null });
    const accepted = keyService.store.people.acceptInvitation(
      { tokenHash: invitation.tokenHash, member, passkey: null, session: record, now: now.getTime() },
      keyService.context.audit(null, service.organizationId, 'invitation.accepted', 'invitation', invitation.id),
    );
    await expect(accepted).rejects.toMatchObject({ code: 'INVITATION_ROLE_DELETED' });
    expect((await service.client().listMembers()).items.map((m) => m.email)).not.toContain('orphan@example.com');
  });
});

/** Accepts an invitation whose token the test holds (a second acceptance must then fail). */
async function memberWithSessionFromToken(token: string) {
  const keyService = service.server.service;
  const invitation = await keyService.people.members.pending(token);
  const now = keyService.now().toISOString();
  const member = { id: 'mem_' + 'T'.repeat(20), organizationId: invitation.organizationId, email: invitation.email, displayName: 'T', roleId: invitation.roleId, status: 'active' as const, oidcSubject: null, createdAt: now, updatedAt: now, lastSignInAt: now };
  const { record } = keyService.people.sessions.mint(member, 'invitation', { ip: null, userAgent: null });
  await keyService.store.people.acceptInvitation(
    { tokenHash: invitation.tokenHash, member, passkey: null, session: record, now: keyService.now().getTime() },
    keyService.context.audit(null, member.organizationId, 'invitation.accepted', 'invitation', invitation.id),
  );
  return member;
}

describe('sessions', () => {
  it('the cookie authenticates a member; GET /v1/session gives the CSRF token; a change with it and our Origin works and is audited with the email', async () => {
    const session = await memberWithSession(service, 'ada@example.com', 'key-manager');
    tokens.push(session.token);
    const me = await asMember(service, session, '/v1/session');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ member: { email: 'ada@example.com', role: 'key-manager' }, csrfToken: session.csrf });
    expect(me.body.permissions).toContain('api.key.create');
    const created = await asMember(service, session, '/v1/keys', { method: 'POST', body: { name: 'made by ada', role: 'viewer' } });
    expect(created.status).toBe(201);
    expect(created.body.key.createdBy).toBe(session.member.id);
    const audit = await service.client().listAuditLog({ targetId: created.body.key.id });
    expect(audit.items[0]).toMatchObject({ action: 'key.created', actorKeyId: null, actor: { type: 'member', id: session.member.id, email: 'ada@example.com' } });
    // And a key's action names the key with its name.
    const byKey = await service.client().listAuditLog({ action: 'invitation.created', limit: 1 });
    expect(byKey.items[0]!.actor).toMatchObject({ type: 'key', id: service.adminKeyId, name: 'acme admin' });
  });

  it('a cookie-authenticated change without the CSRF token, with a wrong one, or from a foreign Origin is refused, and changes nothing', async () => {
    const session = await memberWithSession(service, 'csrf@example.com', 'key-manager');
    tokens.push(session.token);
    const before = await service.store.snapshot();
    const body = { name: 'forged', role: 'viewer' };
    const missing = await asMember(service, session, '/v1/keys', { method: 'POST', body, csrf: null });
    expect([missing.status, missing.body.error.code]).toEqual([403, 'CSRF_TOKEN_MISSING']);
    const wrong = await asMember(service, session, '/v1/keys', { method: 'POST', body, csrf: 'x'.repeat(43) });
    expect([wrong.status, wrong.body.error.code]).toEqual([403, 'CSRF_TOKEN_MISSING']);
    const foreign = await asMember(service, session, '/v1/keys', { method: 'POST', body, origin: 'https://evil.example' });
    expect([foreign.status, foreign.body.error.code]).toEqual([403, 'FOREIGN_ORIGIN']);
    const noOrigin = await asMember(service, session, '/v1/keys', { method: 'POST', body, origin: null });
    expect([noOrigin.status, noOrigin.body.error.code]).toEqual([403, 'FOREIGN_ORIGIN']);
    expect(await service.store.snapshot()).toBe(before);
    // A sign-in step from another origin is refused too (login CSRF).
    const foreignSignIn = await raw(service.url, '/v1/auth/passkey/options', { method: 'POST', headers: { origin: 'https://evil.example' } });
    expect(foreignSignIn.body.error.code).toBe('FOREIGN_ORIGIN');
  });

  it('idle timeout: a session unused for longer than KEYWARD_SESSION_IDLE_TIMEOUT ends; use keeps it alive', async () => {
    const session = await memberWithSession(service, 'idle@example.com', 'viewer');
    clock.advance(50 * MINUTE);
    expect((await asMember(service, session, '/v1/session')).status).toBe(200);
    clock.advance(50 * MINUTE); // 100 minutes after sign-in, 50 after the last request
    expect((await asMember(service, session, '/v1/session')).status).toBe(200);
    clock.advance(HOUR + 1);
    const expired = await asMember(service, session, '/v1/session');
    expect([expired.status, expired.body.error.code]).toEqual([401, 'SESSION_EXPIRED']);
    expect(expired.headers.get('set-cookie')).toMatch(/^keyward_session=;.*Max-Age=0/);
    expect((await asMember(service, session, '/v1/session')).body.error.code).toBe('UNKNOWN_SESSION');
  });

  it('absolute timeout: a session ends KEYWARD_SESSION_MAX_AGE after sign-in however busy', async () => {
    const session = await memberWithSession(service, 'busy@example.com', 'viewer');
    for (let elapsed = 0; elapsed < 12 * HOUR - 50 * MINUTE; elapsed += 50 * MINUTE) {
      clock.advance(50 * MINUTE);
      expect((await asMember(service, session, '/v1/session')).status).toBe(200);
    }
    clock.advance(50 * MINUTE);
    expect((await asMember(service, session, '/v1/session')).body.error.code).toBe('SESSION_EXPIRED');
  });

  it('sign out ends this session; sign out everywhere ends every session of the member', async () => {
    const first = await memberWithSession(service, 'everywhere@example.com', 'viewer');
    const second = await anotherSession(service, first.member);
    const third = await anotherSession(service, first.member);
    const listed = await asMember(service, first, '/v1/me/sessions');
    expect(listed.body.items).toHaveLength(3);
    expect(JSON.stringify(listed.body)).not.toContain(first.token);
    const out = await asMember(service, third, '/v1/session', { method: 'DELETE' });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/Max-Age=0/);
    expect((await asMember(service, third, '/v1/session')).body.error.code).toBe('UNKNOWN_SESSION');
    expect((await asMember(service, first, '/v1/session')).status).toBe(200);
    expect((await asMember(service, first, '/v1/me/sessions', { method: 'DELETE' })).status).toBe(204);
    for (const s of [first, second]) expect((await asMember(service, s, '/v1/session')).body.error.code).toBe('UNKNOWN_SESSION');
  });

  it("each session keeps the browser it was started from (the sign-in's User-Agent, bounded, without control characters)", async () => {
    const first = await memberWithSession(service, 'browsers@example.com', 'viewer');
    const keyService = service.server.service;
    const userAgent = `Mozilla/5.0 (X11; Linux x86_64)\u0000\n${'A'.repeat(300)}`;
    const { record } = keyService.people.sessions.mint(first.member, 'passkey', { ip: '192.0.2.7', userAgent });
    await keyService.store.people.insertSession(record, { lastSignInAt: record.createdAt }, keyService.context.audit(null, first.member.organizationId, 'member.signed-in', 'member', first.member.id));
    const listed = (await asMember(service, first, '/v1/me/sessions')).body.items as { id: string; ip: string | null; userAgent: string | null }[];
    const stored = `Mozilla/5.0 (X11; Linux x86_64)${'A'.repeat(300)}`.slice(0, 200);
    expect(listed.find((s) => s.id === record.id)).toMatchObject({ ip: '192.0.2.7', userAgent: stored });
    // A sign-in that sent none has none.
    expect(listed.find((s) => s.id !== record.id)!.userAgent).toBeNull();
  });

  it('session routes refuse keys, and keys-only routes are not served to a session', async () => {
    const session = await memberWithSession(service, 'routes@example.com', 'viewer');
    const byKey = await raw(service.url, '/v1/session', { headers: { authorization: `Bearer ${service.adminSecret}` } });
    expect(byKey.body.error.code).toBe('SESSION_REQUIRED');
    expect((await asMember(service, session, '/v1/whoami')).body.error.code).toBe('MISSING_AUTHORIZATION');
    const denied = await asMember(service, session, '/v1/roles', { method: 'POST', body: { id: 'x', name: 'x', permissions: ['api.key.view'] } });
    expect([denied.status, denied.body.error.code]).toEqual([403, 'INSUFFICIENT_PERMISSIONS']);
  });
});

describe('members', () => {
  it('lists members; a lower role ends their sessions at once; removal too', async () => {
    const admin = service.client();
    const session = await memberWithSession(service, 'demote@example.com', 'key-manager');
    const listed = await admin.listMembers();
    expect(listed.items.map((m) => m.email)).toContain('demote@example.com');
    expect((await asMember(service, session, '/v1/session')).status).toBe(200);
    const updated = await admin.updateMember(session.member.id, { role: 'viewer' });
    expect(updated.role).toBe('viewer');
    expect((await asMember(service, session, '/v1/session')).body.error.code).toBe('UNKNOWN_SESSION');

    // A rename or a higher role keeps them signed in.
    const again = await anotherSession(service, { ...session.member, roleId: 'viewer' });
    await admin.updateMember(session.member.id, { displayName: 'Demoted', role: 'key-manager' });
    expect((await asMember(service, again, '/v1/session')).body.member).toMatchObject({ displayName: 'Demoted', role: 'key-manager' });

    const removed = await admin.removeMember(session.member.id);
    expect(removed.email).toBe('demote@example.com');
    const after = await asMember(service, again, '/v1/keys');
    expect([after.status, after.body.error.code]).toEqual([401, 'UNKNOWN_SESSION']);
    expect((await failure(admin.getMember(session.member.id))).code).toBe('MEMBER_NOT_FOUND');
  });

  it('escalation through a role change is refused (to a role, or of a member, with more than the caller holds), and nothing changes', async () => {
    const managerSession = await memberWithSession(service, 'manager@example.com', 'people-manager');
    const target = await memberWithSession(service, 'target@example.com', 'viewer');
    const boss = await memberWithSession(service, 'boss2@example.com', 'admin');
    const before = await service.store.snapshot();
    const promote = await asMember(service, managerSession, `/v1/members/${target.member.id}`, { method: 'PATCH', body: { role: 'admin' } });
    expect([promote.status, promote.body.error.code]).toEqual([403, 'PRIVILEGE_ESCALATION']);
    const demoteBoss = await asMember(service, managerSession, `/v1/members/${boss.member.id}`, { method: 'PATCH', body: { role: 'viewer' } });
    expect(demoteBoss.body.error.code).toBe('PRIVILEGE_ESCALATION');
    const removeBoss = await asMember(service, managerSession, `/v1/members/${boss.member.id}`, { method: 'DELETE' });
    expect(removeBoss.body.error.code).toBe('PRIVILEGE_ESCALATION');
    const invite = await asMember(service, managerSession, '/v1/invitations', { method: 'POST', body: { email: 'x@example.com', role: 'admin' } });
    expect(invite.body.error.code).toBe('PRIVILEGE_ESCALATION');
    expect(await service.store.snapshot()).toBe(before);
  });

  it('a custom role a member holds cannot be deleted (ROLE_IN_USE names the members)', async () => {
    const admin = service.client();
    await admin.createRole({ id: 'auditor', name: 'Auditor', permissions: ['audit.view'] });
    const { member } = await memberWithSession(service, 'auditor@example.com', 'auditor');
    const refused = await failure(admin.deleteRole('auditor'));
    expect(refused.code).toBe('ROLE_IN_USE');
    expect(refused.details).toEqual({ memberIds: [member.id] });
    await admin.removeMember(member.id);
    await admin.deleteRole('auditor');
  });

  it('the last active admin member cannot be demoted, suspended or removed', async () => {
    const admin = service.client();
    // Down to one admin member: the others go; only the last one's refusal (the rule under test) is expected.
    for (const member of (await admin.listMembers()).items) {
      if (member.role !== 'admin') continue;
      await admin.removeMember(member.id).catch((error: unknown) => {
        if (!(error instanceof KeywardApiError && error.code === 'LAST_ADMIN_MEMBER')) throw error;
      });
    }
    const last = (await admin.listMembers()).items.filter((m) => m.role === 'admin');
    const only = last.length === 1 ? last[0]! : (await memberWithSession(service, 'onlyadmin@example.com', 'admin')).member;
    const before = await service.store.snapshot();
    expect((await failure(admin.updateMember(only.id, { role: 'viewer' }))).code).toBe('LAST_ADMIN_MEMBER');
    expect((await failure(admin.updateMember(only.id, { status: 'suspended' }))).code).toBe('LAST_ADMIN_MEMBER');
    expect((await failure(admin.removeMember(only.id))).code).toBe('LAST_ADMIN_MEMBER');
    expect(await service.store.snapshot()).toBe(before);
    const second = await memberWithSession(service, 'secondadmin@example.com', 'admin');
    expect((await admin.updateMember(only.id, { role: 'viewer' })).role).toBe('viewer');
    expect((await failure(admin.removeMember(second.member.id))).code).toBe('LAST_ADMIN_MEMBER');
  });
});

describe('no token in the clear', () => {
  it('no invitation token or session token in logs, the audit log, listings or the store', async () => {
    expect(tokens.length).toBeGreaterThan(2);
    const audit = JSON.stringify(await service.client().listAuditLog({ limit: 1000 }));
    const listings = JSON.stringify([await service.client().listMembers(), await service.client().listInvitations()]);
    const store = await service.store.snapshot();
    for (const token of tokens) {
      expect(service.logs.join('\n')).not.toContain(token);
      expect(audit).not.toContain(token);
      expect(listings).not.toContain(token);
      expect(store).not.toContain(token);
    }
  });
});
