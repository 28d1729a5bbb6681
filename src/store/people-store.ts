/**
 * The people half of the store contract (members, invitations, sessions,
 * passkeys, sign-in ceremonies), implemented by both adapters
 * (lowdb-people.ts, postgres/people.ts). As for keys, each operation is
 * atomic and enforces the invariant it names; tokens are looked up by hash.
 */
import type { CeremonyRecord, InvitationRecord, MemberRecord, OidcProviderRecord, PasskeyRecord, SessionRecord } from '../core/people.ts';
import type { Audit } from './store.ts';

export type MemberPatch = Partial<Pick<MemberRecord, 'displayName' | 'roleId' | 'status'>>;

/** What a sign-in writes about the member besides the session. */
export type SignInPatch = Pick<MemberRecord, 'lastSignInAt'> & Partial<Pick<MemberRecord, 'oidcSubject'>>;

export interface AcceptInvitationInput {
  tokenHash: string;
  member: MemberRecord;
  /** The passkey registered at acceptance (none when the person signs in through the identity provider). */
  passkey: PasskeyRecord | null;
  session: SessionRecord;
  now: number;
}

export interface PeopleStore {
  listMembers(organizationId: string): Promise<MemberRecord[]>;
  getMember(organizationId: string, memberId: string): Promise<MemberRecord | undefined>;
  findMemberByEmail(organizationId: string, email: string): Promise<MemberRecord | undefined>;
  /**
   * Throws MEMBER_NOT_FOUND, or LAST_ADMIN_MEMBER when it would leave the
   * organization without an active all-granting member. With `endSessions`
   * (a lower role, a suspension) the member's sessions end in the same step.
   * Returns the member as it was.
   */
  updateMember(organizationId: string, memberId: string, patch: MemberPatch, now: string, endSessions: boolean, audit: Audit): Promise<MemberRecord>;
  /** Throws MEMBER_NOT_FOUND or LAST_ADMIN_MEMBER; the member's sessions and passkeys go with it. */
  removeMember(organizationId: string, memberId: string, audit: Audit): Promise<MemberRecord>;

  /** A member added directly (pre-provisioned for the identity provider); throws MEMBER_EXISTS when one already has the email. */
  insertMember(member: MemberRecord, audit: Audit): Promise<void>;

  /** Throws MEMBER_EXISTS when a member already has the invitation's email. */
  insertInvitation(invitation: InvitationRecord, audit: Audit): Promise<void>;
  listInvitations(organizationId: string): Promise<InvitationRecord[]>;
  findInvitationByHash(tokenHash: string): Promise<InvitationRecord | undefined>;
  /** Throws INVITATION_NOT_FOUND, INVITATION_USED or INVITATION_REVOKED. */
  revokeInvitation(organizationId: string, invitationId: string, at: string, audit: Audit): Promise<InvitationRecord>;
  /**
   * In one step: the invitation is still pending (else INVITATION_NOT_FOUND,
   * INVITATION_USED, INVITATION_REVOKED, INVITATION_EXPIRED), nobody in the
   * organization has its email (MEMBER_EXISTS); it is marked accepted, the
   * member, its passkey and its first session are inserted.
   */
  acceptInvitation(input: AcceptInvitationInput, audit: Audit): Promise<InvitationRecord>;

  /** A new session for a member who proved who they are; throws MEMBER_NOT_FOUND if they were removed meanwhile. */
  insertSession(session: SessionRecord, member: SignInPatch, audit: Audit): Promise<void>;
  findSessionByHash(tokenHash: string): Promise<SessionRecord | undefined>;
  touchSession(sessionId: string, at: string): Promise<void>;
  /** Ends one session (sign-out, or one found timed out); audit null for a timed-out one. */
  deleteSession(sessionId: string, audit: Audit | null): Promise<void>;
  /** "Sign out everywhere": returns how many ended. */
  deleteMemberSessions(organizationId: string, memberId: string, audit: Audit): Promise<number>;
  listMemberSessions(organizationId: string, memberId: string): Promise<SessionRecord[]>;

  listPasskeys(organizationId: string, memberId: string): Promise<PasskeyRecord[]>;
  findPasskey(credentialId: string): Promise<PasskeyRecord | undefined>;
  insertPasskey(passkey: PasskeyRecord, audit: Audit): Promise<void>;
  recordPasskeyUse(credentialId: string, counter: number, at: string): Promise<void>;
  /** Throws PASSKEY_NOT_FOUND, or LAST_PASSKEY when it is the member's last way to sign in. */
  deletePasskey(organizationId: string, memberId: string, credentialId: string, audit: Audit): Promise<void>;

  /** The organization's own identity provider (client secret included: only the sign-in code reads it). */
  getOidcProvider(organizationId: string): Promise<OidcProviderRecord | undefined>;
  /** Sets (or replaces) it; returns the one replaced. */
  putOidcProvider(provider: OidcProviderRecord, audit: Audit): Promise<OidcProviderRecord | undefined>;
  /** Throws OIDC_NOT_CONFIGURED when the organization has none; returns the one removed. */
  deleteOidcProvider(organizationId: string, audit: Audit): Promise<OidcProviderRecord>;
  /**
   * Organizations with a provider of their own (at most `limit`, in no
   * particular order), only those allowing `domain` when it is given: what
   * signing in by a work email looks for (limit 2 tells one from several).
   */
  oidcProviderOrganizations(query: { domain?: string; limit: number }): Promise<string[]>;

  putCeremony(ceremony: CeremonyRecord): Promise<void>;
  /** Removes and returns it when it exists and has not expired: each ceremony is used at most once. */
  takeCeremony(idHash: string, now: number): Promise<CeremonyRecord | undefined>;
}
