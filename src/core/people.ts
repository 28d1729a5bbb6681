/**
 * People, not pasted keys: the members of an organization, the invitations
 * that make them, their sign-in sessions and passkeys, and the short-lived
 * ceremonies (WebAuthn challenges, OIDC transactions) between two requests.
 * Records as stored and the pure decisions on them; tokens (invitation,
 * session, ceremony) exist in the clear only on the wire: records hold their
 * SHA-256.
 */
import { createHash } from 'node:crypto';
import { randomBase62 } from './token.ts';

export type MemberStatus = 'active' | 'suspended';

export interface MemberRecord {
  id: string;
  organizationId: string;
  /** Lowercased; one member per email per organization. */
  email: string;
  displayName: string;
  roleId: string;
  status: MemberStatus;
  /** The identity provider's subject bound at the first OIDC sign-in ("issuer|sub"); null until then. */
  oidcSubject: string | null;
  createdAt: string;
  updatedAt: string;
  lastSignInAt: string | null;
}

export interface InvitationRecord {
  id: string;
  organizationId: string;
  email: string;
  roleId: string;
  tokenHash: string;
  createdAt: string;
  expiresAt: string;
  /** Who invited: "key:<id>" or "member:<id>" (for the listing; the audit names them fully). */
  invitedBy: string | null;
  acceptedAt: string | null;
  revokedAt: string | null;
  memberId: string | null;
}

export interface SessionRecord {
  id: string;
  organizationId: string;
  memberId: string;
  tokenHash: string;
  createdAt: string;
  /** Last request seen (written at most once per SESSION_TOUCH_MS): the idle timeout counts from it. */
  lastSeenAt: string;
  /** createdAt + the absolute timeout: never extended. */
  expiresAt: string;
  method: SignInMethod;
  ip: string | null;
  /** The browser's User-Agent at sign-in (storedUserAgent: bounded, no control characters); null when none was sent, or for sessions started before it was recorded. */
  userAgent: string | null;
}

export type SignInMethod = 'passkey' | 'oidc' | 'invitation';

export interface PasskeyRecord {
  /** The WebAuthn credential id (base64url). */
  id: string;
  organizationId: string;
  memberId: string;
  name: string;
  /** COSE public key, base64url. */
  publicKey: string;
  counter: number;
  transports: string[];
  createdAt: string;
  lastUsedAt: string | null;
}

export type CeremonyKind = 'passkey-registration' | 'passkey-authentication' | 'oidc';

/** State kept between the two requests of a sign-in step, keyed by the hash of a token in the browser's cookie; taken once. */
export interface CeremonyRecord {
  idHash: string;
  kind: CeremonyKind;
  expiresAt: string;
  data: Record<string, string>;
}

export const INVITATION_STATUSES = ['pending', 'accepted', 'expired', 'revoked'] as const;
export type InvitationStatus = (typeof INVITATION_STATUSES)[number];

export function invitationStatus(invitation: Pick<InvitationRecord, 'acceptedAt' | 'revokedAt' | 'expiresAt'>, now: number): InvitationStatus {
  if (invitation.acceptedAt !== null) return 'accepted';
  if (invitation.revokedAt !== null) return 'revoked';
  if (Date.parse(invitation.expiresAt) <= now) return 'expired';
  return 'pending';
}

/** Session lifetimes (ms). */
export interface SessionTimeouts {
  idleMs: number;
  absoluteMs: number;
}

/** How stale lastSeenAt may get before a request writes it again (a write per request would cost the store). */
export const SESSION_TOUCH_MS = 60_000;

export type SessionState = 'active' | 'idle-expired' | 'expired';

/** Pure: whether a session still works at `now`. */
export function sessionState(session: Pick<SessionRecord, 'lastSeenAt' | 'expiresAt'>, idleMs: number, now: number): SessionState {
  if (Date.parse(session.expiresAt) <= now) return 'expired';
  if (Date.parse(session.lastSeenAt) + idleMs <= now) return 'idle-expired';
  return 'active';
}

export const needsTouch = (session: Pick<SessionRecord, 'lastSeenAt'>, now: number): boolean => Date.parse(session.lastSeenAt) + SESSION_TOUCH_MS <= now;

/** A bearer token of the people side: 32 random base62 characters (190 bits). */
export const newPeopleToken = (): string => randomBase62(32);

/** What records keep of a token; a domain tag keeps the hashes of different token kinds apart. */
export const hashPeopleToken = (kind: 'invitation' | 'session' | 'ceremony', token: string): string =>
  createHash('sha256').update(`keyward-${kind}\u0000${token}`).digest('hex');

/**
 * The CSRF token of a session: derived from the session token (never stored,
 * never the stored hash), so the server recomputes it from the cookie and
 * only a page that could read GET /v1/session's answer knows it.
 */
export const csrfTokenFor = (sessionToken: string): string => createHash('sha256').update(`keyward-csrf\u0000${sessionToken}`).digest('base64url');

export const newMemberId = (): string => `mem_${randomBase62(20)}`;
export const newInvitationId = (): string => `inv_${randomBase62(20)}`;
export const newSessionId = (): string => `ses_${randomBase62(20)}`;

export const normalizeEmail = (email: string): string => email.trim().toLowerCase();

export const emailDomain = (email: string): string => email.slice(email.lastIndexOf('@') + 1).toLowerCase();

/** Pure: whether an email's domain is allowed (an empty list allows any). */
export const emailDomainAllowed = (email: string, allowed: readonly string[]): boolean =>
  allowed.length === 0 || allowed.map((d) => d.toLowerCase()).includes(emailDomain(email));

/** Who did something, as audit records name them. */
export type Actor = { type: 'key'; id: string; name: string } | { type: 'member'; id: string; email: string };

export const actorRef = (actor: Actor | null): string | null => (actor ? `${actor.type}:${actor.id}` : null);


export interface MemberView {
  id: string;
  organizationId: string;
  email: string;
  displayName: string;
  role: string;
  status: MemberStatus;
  oidcLinked: boolean;
  createdAt: string;
  updatedAt: string;
  lastSignInAt: string | null;
}

export const toMemberView = (member: MemberRecord): MemberView => ({
  id: member.id,
  organizationId: member.organizationId,
  email: member.email,
  displayName: member.displayName,
  role: member.roleId,
  status: member.status,
  oidcLinked: member.oidcSubject !== null,
  createdAt: member.createdAt,
  updatedAt: member.updatedAt,
  lastSignInAt: member.lastSignInAt,
});

/** An invitation as listed: never its token or its hash. */
export const toInvitationView = (invitation: InvitationRecord, now: number) => ({
  id: invitation.id,
  organizationId: invitation.organizationId,
  email: invitation.email,
  role: invitation.roleId,
  status: invitationStatus(invitation, now),
  createdAt: invitation.createdAt,
  expiresAt: invitation.expiresAt,
  invitedBy: invitation.invitedBy,
  acceptedAt: invitation.acceptedAt,
  revokedAt: invitation.revokedAt,
  memberId: invitation.memberId,
});

/** A session as listed: its public id, never its token or hash. */
export const toSessionView = (session: SessionRecord, current: boolean) => ({
  id: session.id,
  createdAt: session.createdAt,
  lastSeenAt: session.lastSeenAt,
  expiresAt: session.expiresAt,
  method: session.method,
  ip: session.ip,
  // Sessions stored before the User-Agent was recorded have none.
  userAgent: session.userAgent ?? null,
  current,
});

export const toPasskeyView = (passkey: PasskeyRecord) => ({
  id: passkey.id,
  name: passkey.name,
  createdAt: passkey.createdAt,
  lastUsedAt: passkey.lastUsedAt,
});

/**
 * An organization's own identity provider (PUT /v1/organization/oidc). The
 * client secret is kept as given, not hashed: it is presented to the
 * provider at every code exchange, so the service must be able to read it
 * (as Cognito, Auth0 or Vault's OIDC auth method keep theirs). It lives only
 * in the store, which holds no other secret in the clear: whoever can read
 * the store's file or database can read it. It is never answered, logged or
 * audited (the audit records only that it changed).
 */
export interface OidcProviderRecord {
  organizationId: string;
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Shown on the sign-in button ("Sign in with <name>"). */
  name: string;
  /** Email domains allowed to sign in (lowercased, at least one). */
  allowedDomains: string[];
  updatedAt: string;
}

/** Where the identity provider an organization signs in with is set. */
export type OidcProviderSource = 'organization' | 'service';

/** The provider as answered: never its client secret. */
export const toOidcProviderView = (provider: Pick<OidcProviderRecord, 'issuer' | 'clientId' | 'name'> & { allowedDomains: readonly string[]; updatedAt: string | null }, source: OidcProviderSource) => ({
  source,
  issuer: provider.issuer,
  clientId: provider.clientId,
  name: provider.name,
  allowedDomains: [...provider.allowedDomains],
  updatedAt: provider.updatedAt,
});
