/**
 * Sessions of people: started when someone proved who they are (a passkey,
 * the identity provider, an accepted invitation), found again by the hash of
 * the cookie's token on every request, ended by sign-out, timeouts, removal
 * or a lower role. Sign-in always makes a new token (session rotation): a
 * token planted before sign-in is never promoted.
 */
import { KeywardError } from '../../core/errors.ts';
import {
  csrfTokenFor,
  hashPeopleToken,
  needsTouch,
  newPeopleToken,
  newSessionId,
  sessionState,
  toMemberView,
  toSessionView,
  type MemberRecord,
  type SessionRecord,
  type SignInMethod,
} from '../../core/people.ts';
import type { Organization } from '../../core/model.ts';
import { storedUserAgent } from '../../core/retirement.ts';
import type { MemberPrincipal } from '../auth.ts';
import type { ServiceContext } from '../context.ts';
import { SESSION_COOKIE, type CookieJar } from './cookies.ts';
import type { PeopleSettings } from './settings.ts';

/** Who signs in from where: the address and the User-Agent header of the sign-in request (both shown in the member's list of sessions). */
export interface SignInClient {
  ip: string | null;
  userAgent: string | null;
}

export class Sessions {
  readonly #ctx: ServiceContext;
  readonly #settings: PeopleSettings;

  constructor(ctx: ServiceContext, settings: PeopleSettings) {
    this.#ctx = ctx;
    this.#settings = settings;
  }

  /** A new session record and its token (the token only ever goes into the cookie). */
  mint(member: MemberRecord, method: SignInMethod, client: SignInClient): { record: SessionRecord; token: string } {
    const now = this.#ctx.nowMs();
    const token = newPeopleToken();
    const record: SessionRecord = {
      id: newSessionId(),
      organizationId: member.organizationId,
      memberId: member.id,
      tokenHash: hashPeopleToken('session', token),
      createdAt: new Date(now).toISOString(),
      lastSeenAt: new Date(now).toISOString(),
      expiresAt: new Date(now + this.#settings.sessionAbsoluteMs).toISOString(),
      method,
      ip: client.ip,
      userAgent: storedUserAgent(client.userAgent),
    };
    return { record, token };
  }

  /** Sets the cookie of a session just stored, and answers what GET /v1/session answers. */
  async signedIn(jar: CookieJar, member: MemberRecord, session: SessionRecord, token: string) {
    jar.setSession(token, Math.floor(this.#settings.sessionAbsoluteMs / 1000));
    jar.clearCeremony();
    return this.view(member, session, token);
  }

  /** Starts a session for a member who proved who they are (passkey, identity provider). */
  async start(jar: CookieJar, member: MemberRecord, method: SignInMethod, client: SignInClient, changes: { oidcSubject?: string } = {}) {
    const { record, token } = this.mint(member, method, client);
    const signedIn = { ...member, ...changes, lastSignInAt: record.createdAt };
    const audit = this.#ctx.audit(null, member.organizationId, 'member.signed-in', 'member', member.id, { after: { method } });
    await this.#ctx.store.people.insertSession(record, { lastSignInAt: record.createdAt, ...changes }, {
      ...audit,
      ip: client.ip,
      actor: { type: 'member', id: member.id, email: member.email },
    });
    return this.signedIn(jar, signedIn, record, token);
  }

  async view(member: MemberRecord, session: SessionRecord, token: string) {
    const organization = await this.#organization(member.organizationId);
    return {
      member: toMemberView(member),
      organization: { id: organization.id, name: organization.name, plan: organization.plan },
      permissions: [...((await this.#ctx.roleResolver.find(member.organizationId, member.roleId))?.permissions ?? [])],
      csrfToken: csrfTokenFor(token),
      expiresAt: session.expiresAt,
    };
  }

  async #organization(id: string): Promise<Organization> {
    const organization = await this.#ctx.store.reads.organization(id);
    if (!organization) throw new KeywardError('UNKNOWN_SESSION', 'The organization of this session no longer exists.');
    return organization;
  }

  /** The member behind a session token, or why there is none. Timed-out sessions are deleted as they are found. */
  async authenticate(token: string, ip: string | null): Promise<MemberPrincipal> {
    const people = this.#ctx.store.people;
    const session = await people.findSessionByHash(hashPeopleToken('session', token));
    if (!session) throw new KeywardError('UNKNOWN_SESSION', 'This session does not exist (any more).');
    const now = this.#ctx.nowMs();
    const state = sessionState(session, this.#settings.sessionIdleMs, now);
    if (state !== 'active') {
      await people.deleteSession(session.id, null);
      throw new KeywardError('SESSION_EXPIRED', state === 'expired' ? 'The session reached its maximum age.' : 'The session was idle too long.');
    }
    const member = await people.getMember(session.organizationId, session.memberId);
    if (!member || member.status !== 'active') throw new KeywardError('UNKNOWN_SESSION', 'The member of this session was removed or suspended.');
    const organization = await this.#organization(member.organizationId);
    const permissions = (await this.#ctx.roleResolver.find(member.organizationId, member.roleId))?.permissions ?? [];
    return { member, session, organization, permissions, ip, at: now };
  }

  /** Moves the idle timeout on, once a request was let through (at most one write per SESSION_TOUCH_MS). */
  async touch(principal: MemberPrincipal): Promise<void> {
    const now = this.#ctx.nowMs();
    if (needsTouch(principal.session, now)) await this.#ctx.store.people.touchSession(principal.session.id, new Date(now).toISOString());
  }

  async current(principal: MemberPrincipal, jar: CookieJar) {
    return this.view(principal.member, principal.session, jar.get(SESSION_COOKIE)!);
  }

  async signOut(principal: MemberPrincipal, jar: CookieJar): Promise<void> {
    const audit = this.#ctx.audit(principal, principal.organization.id, 'member.signed-out', 'session', principal.session.id);
    await this.#ctx.store.people.deleteSession(principal.session.id, audit);
    jar.clearSession();
  }

  async signOutEverywhere(principal: MemberPrincipal, jar: CookieJar): Promise<void> {
    const audit = this.#ctx.audit(principal, principal.organization.id, 'member.signed-out', 'member', principal.member.id);
    await this.#ctx.store.people.deleteMemberSessions(principal.organization.id, principal.member.id, audit);
    jar.clearSession();
  }

  async list(principal: MemberPrincipal) {
    const sessions = await this.#ctx.store.people.listMemberSessions(principal.organization.id, principal.member.id);
    return { items: sessions.map((s) => toSessionView(s, s.id === principal.session.id)) };
  }
}
