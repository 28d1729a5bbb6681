/**
 * People in tests: a member and a session made through the store's own
 * operations (the sign-in itself, passkeys and the identity provider, is
 * shown in Chromium by test/people/), and raw requests carrying the session
 * cookie, the CSRF token and an Origin.
 */
import { csrfTokenFor, newMemberId, type MemberRecord } from '../../src/core/people.ts';
import { SESSION_COOKIE } from '../../src/server/people/cookies.ts';
import { raw, type TestService } from './keyservice.ts';

export interface TestSession {
  member: MemberRecord;
  token: string;
  csrf: string;
}

/** The token of an invitation link (it is in the fragment). */
export const invitationToken = (link: string): string => new URLSearchParams(new URL(link).hash.slice(1)).get('invitation')!;

/** Invites `email` with `role` (by the admin key) and accepts it in the store: a member with a first session. */
export async function memberWithSession(service: TestService, email: string, role: string): Promise<TestSession> {
  const { link } = await service.client().createInvitation({ email, role });
  const keyService = service.server.service;
  const invitation = await keyService.people.members.pending(invitationToken(link));
  const now = keyService.now();
  const member: MemberRecord = {
    id: newMemberId(),
    organizationId: invitation.organizationId,
    email: invitation.email,
    displayName: email,
    roleId: invitation.roleId,
    status: 'active',
    oidcSubject: null,
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    lastSignInAt: now.toISOString(),
  };
  const { record, token } = keyService.people.sessions.mint(member, 'invitation', { ip: null, userAgent: null });
  const audit = keyService.context.audit(null, member.organizationId, 'invitation.accepted', 'invitation', invitation.id);
  await keyService.store.people.acceptInvitation({ tokenHash: invitation.tokenHash, member, passkey: null, session: record, now: now.getTime() }, audit);
  return { member, token, csrf: csrfTokenFor(token) };
}

/** Another session of the same member (a second browser). */
export async function anotherSession(service: TestService, member: MemberRecord): Promise<TestSession> {
  const keyService = service.server.service;
  const { record, token } = keyService.people.sessions.mint(member, 'passkey', { ip: null, userAgent: null });
  await keyService.store.people.insertSession(record, { lastSignInAt: record.createdAt }, keyService.context.audit(null, member.organizationId, 'member.signed-in', 'member', member.id));
  return { member, token, csrf: csrfTokenFor(token) };
}

/** A request with the session cookie; changes also send the CSRF token and the service's Origin unless told otherwise. */
export function asMember(
  service: TestService,
  session: TestSession,
  path: string,
  init: { method?: string; body?: unknown; csrf?: string | null; origin?: string | null } = {},
) {
  const headers: Record<string, string> = { cookie: `${SESSION_COOKIE}=${session.token}` };
  const csrf = init.csrf === undefined ? session.csrf : init.csrf;
  const origin = init.origin === undefined ? service.url : init.origin;
  if (csrf !== null) headers['x-csrf-token'] = csrf;
  if (origin !== null) headers.origin = origin;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  return raw(service.url, path, { method: init.method ?? 'GET', headers, ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}) });
}
