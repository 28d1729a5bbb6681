/**
 * Sign-in through the organization's identity provider with openid-client:
 * authorization code with PKCE, state and nonce kept in a ceremony (store,
 * taken once). The answer comes back in the URL fragment (response_mode
 * fragment), so the code never reaches a server or proxy log; the dashboard
 * posts it. Accepted: a verified email (email_verified) of an allowed domain
 * that belongs to a member, or to the invitation being accepted. Each
 * organization signs in with its own provider, or the service-wide one
 * (oidc-providers.ts).
 */
import { KeywardError } from '../../core/errors.ts';
import { emailDomainAllowed, hashPeopleToken, newMemberId, newPeopleToken, normalizeEmail, type MemberRecord } from '../../core/people.ts';
import { displayNameFromClaim } from '../../core/schemas.ts';
import type { ServiceContext } from '../context.ts';
import { CEREMONY_COOKIE, CEREMONY_TTL_MS, type CookieJar } from './cookies.ts';
import { acceptedEmail, type Members } from './members.ts';
import { openid, type OidcProviders } from './oidc-providers.ts';
import type { SignInClient, Sessions } from './sessions.ts';
import type { SsoLookup } from './sso-lookup.ts';

/** What starts a sign-in: at most one of an invitation, an organization, a work email (OidcStartBody). */
type StartBody = { invitationToken?: string | undefined; organization?: string | undefined; email?: string | undefined };

/** Where the provider sends the browser back: the dashboard, which posts the fragment to /v1/auth/oidc/callback. */
export const oidcRedirectUri = (origin: string): string => `${origin}/`;

export class Oidc {
  readonly #ctx: ServiceContext;
  readonly #providers: OidcProviders;
  readonly #members: Members;
  readonly #sessions: Sessions;
  readonly #sso: SsoLookup;

  constructor(ctx: ServiceContext, providers: OidcProviders, members: Members, sessions: Sessions, sso: SsoLookup) {
    this.#ctx = ctx;
    this.#providers = providers;
    this.#members = members;
    this.#sessions = sessions;
    this.#sso = sso;
  }

  /**
   * The organization a sign-in is for: an invitation's own; else the one the
   * browser names, the one a work email finds, or the service's default.
   */
  async #organizationId(body: StartBody, ip: string | null): Promise<string> {
    const { organization, invitationToken, email } = body;
    // A link that cannot be accepted is refused before the round trip to the provider.
    if (invitationToken !== undefined) return (await this.#members.pending(invitationToken)).organizationId;
    if (email !== undefined) return this.#sso.organizationFor(email, ip);
    const organizationId = await this.#providers.organizationFor(organization);
    if (organizationId === undefined) {
      throw new KeywardError('VALIDATION_FAILED', 'organization: this service holds several organizations: name the one signing in (its id)', {
        details: [{ path: 'organization', message: 'required on a service with several organizations' }],
      });
    }
    return organizationId;
  }

  async start(jar: CookieJar, origin: string, ip: string | null, body: StartBody) {
    const organizationId = await this.#organizationId(body, ip);
    const provider = await this.#providers.require(organizationId);
    const config = await this.#providers.configuration(provider);
    const client = await openid();
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const redirectUri = oidcRedirectUri(origin);
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid email profile',
      response_mode: 'fragment',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      // The provider may fill in the account the person already typed (OIDC Core 3.1.2.1).
      ...(body.email !== undefined ? { login_hint: body.email } : {}),
    });
    const token = newPeopleToken();
    await this.#ctx.store.people.putCeremony({
      idHash: hashPeopleToken('ceremony', token),
      kind: 'oidc',
      expiresAt: new Date(this.#ctx.nowMs() + CEREMONY_TTL_MS).toISOString(),
      // The organization (so its provider) is fixed at the start: the answer is checked against the one the browser was sent to.
      data: { verifier, state, nonce, redirectUri, organizationId, issuer: provider.issuer, ...(body.invitationToken ? { invitationToken: body.invitationToken } : {}) },
    });
    jar.setCeremony(token);
    return { authorizationUrl: url.href };
  }

  async callback(jar: CookieJar, from: SignInClient, query: string) {
    const ctx = this.#ctx;
    const token = jar.get(CEREMONY_COOKIE);
    const ceremony = token === undefined ? undefined : await ctx.store.people.takeCeremony(hashPeopleToken('ceremony', token), ctx.nowMs());
    jar.clearCeremony();
    if (!ceremony || ceremony.kind !== 'oidc') throw new KeywardError('CEREMONY_EXPIRED', 'No sign-in with the identity provider is waiting in this browser (it expired or was used).');
    const data = ceremony.data;
    // A sign-in started before organizations had providers of their own names none: it starts again.
    if (data.organizationId === undefined) throw new KeywardError('CEREMONY_EXPIRED', 'This sign-in was started by an older version of the service: start again.');
    const provider = await this.#providers.require(data.organizationId);
    if (provider.issuer !== data.issuer) throw new KeywardError('CEREMONY_EXPIRED', "The organization's identity provider changed during this sign-in: start again.");
    const config = await this.#providers.configuration(provider);
    const client = await openid();
    let claims: Record<string, unknown> & { sub: string };
    try {
      const tokens = await client.authorizationCodeGrant(config, new URL(`${data.redirectUri}?${query.replace(/^[?#]/, '')}`), {
        pkceCodeVerifier: data.verifier,
        expectedState: data.state,
        expectedNonce: data.nonce,
        idTokenExpected: true,
      });
      const idToken = tokens.claims()!;
      // Providers that keep scope claims out of the ID token (OIDC Core 5.4) tell them at the userinfo endpoint, for this subject only.
      claims = typeof idToken.email === 'string' ? idToken : { ...(await client.fetchUserInfo(config, tokens.access_token, idToken.sub)), sub: idToken.sub };
    } catch (error) {
      throw new KeywardError('OIDC_FAILED', `The identity provider's answer did not verify: ${(error as Error).message}`);
    }
    if (typeof claims.email !== 'string') throw new KeywardError('EMAIL_NOT_VERIFIED', 'The identity provider did not tell an email address (scope email).');
    const email = normalizeEmail(claims.email);
    if (claims.email_verified !== true) throw new KeywardError('EMAIL_NOT_VERIFIED', `The identity provider does not vouch for ${email} (email_verified is not true).`);
    if (!emailDomainAllowed(email, provider.allowedDomains)) {
      throw new KeywardError('EMAIL_DOMAIN_NOT_ALLOWED', `${email} is not of an allowed domain (${provider.allowedDomains.join(', ')}).`);
    }
    const issuer = config.serverMetadata().issuer;
    const subject = `${issuer}|${claims.sub}`;
    if (data.invitationToken) return this.#accept(jar, from, data.invitationToken, email, subject, displayNameFromClaim(claims.name, email));
    // A member added directly (POST /v1/members) is bound to this subject here, at their first sign-in.
    const member = await ctx.store.people.findMemberByEmail(data.organizationId, email);
    if (!member || member.status !== 'active') throw new KeywardError('NOT_A_MEMBER', `${email} is not a member of this organization.`);
    // Bound to another account of this same provider: refused (its email was given to someone else there). Bound at a
    // provider the organization no longer uses: the one it chose since vouches for the email, and the member is bound to it.
    const boundHere = member.oidcSubject?.startsWith(`${issuer}|`) ?? false;
    if (boundHere && member.oidcSubject !== subject) throw new KeywardError('OIDC_FAILED', `${email} is linked to another account of the identity provider.`);
    return this.#sessions.start(jar, member, 'oidc', from, member.oidcSubject === subject ? {} : { oidcSubject: subject });
  }

  async #accept(jar: CookieJar, from: SignInClient, invitationToken: string, email: string, subject: string, displayName: string) {
    const ctx = this.#ctx;
    const invitation = await this.#members.pending(invitationToken);
    acceptedEmail(invitation, email);
    const now = ctx.clock().toISOString();
    const member: MemberRecord = {
      id: newMemberId(),
      organizationId: invitation.organizationId,
      email,
      displayName,
      roleId: invitation.roleId,
      status: 'active',
      oidcSubject: subject,
      createdAt: now,
      updatedAt: now,
      lastSignInAt: now,
    };
    const { record: session, token } = this.#sessions.mint(member, 'oidc', from);
    const audit = {
      ...ctx.audit(null, member.organizationId, 'invitation.accepted', 'invitation', invitation.id, { after: { memberId: member.id, email, role: member.roleId, method: 'oidc' } }),
      ip: from.ip,
      actor: { type: 'member' as const, id: member.id, email },
    };
    await ctx.store.people.acceptInvitation({ tokenHash: invitation.tokenHash, member, passkey: null, session, now: ctx.nowMs() }, audit);
    return this.#sessions.signedIn(jar, member, session, token);
  }
}
