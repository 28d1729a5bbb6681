/**
 * Sign-in through the organization's identity provider with openid-client:
 * authorization code with PKCE, state and nonce kept in a ceremony (store,
 * taken once). The answer comes back in the URL fragment (response_mode
 * fragment), so the code never reaches a server or proxy log; the dashboard
 * posts it. Accepted: a verified email (email_verified) of an allowed domain
 * that belongs to a member, or to the invitation being accepted.
 */
import type * as OpenIdClient from 'openid-client';
import { KeywardError } from '../../core/errors.ts';
import { emailDomainAllowed, hashPeopleToken, newMemberId, newPeopleToken, normalizeEmail, type MemberRecord } from '../../core/people.ts';
import type { ServiceContext } from '../context.ts';
import { CEREMONY_COOKIE, CEREMONY_TTL_MS, type CookieJar } from './cookies.ts';
import { acceptedEmail, type Members } from './members.ts';
import type { Sessions } from './sessions.ts';
import type { OidcSettings } from './settings.ts';

/** openid-client, loaded when the service has an identity provider and someone signs in with it. */
let library: Promise<typeof OpenIdClient> | undefined;
const openid = () => (library ??= import('openid-client'));

/** Where the provider sends the browser back: the dashboard, which posts the fragment to /v1/auth/oidc/callback. */
export const oidcRedirectUri = (origin: string): string => `${origin}/`;

export class Oidc {
  readonly #ctx: ServiceContext;
  readonly #settings: OidcSettings;
  readonly #members: Members;
  readonly #sessions: Sessions;
  #config: Promise<OpenIdClient.Configuration> | undefined;

  constructor(ctx: ServiceContext, settings: OidcSettings, members: Members, sessions: Sessions) {
    this.#ctx = ctx;
    this.#settings = settings;
    this.#members = members;
    this.#sessions = sessions;
  }

  get name(): string {
    return this.#settings.name;
  }

  /** The provider's metadata, discovered once (again after a failure). */
  #configuration(): Promise<OpenIdClient.Configuration> {
    this.#config ??= (async () => {
      const client = await openid();
      const issuer = new URL(this.#settings.issuer);
      // Plain http only for a provider on this machine (tests, local development).
      const loopback = issuer.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(issuer.hostname);
      return client.discovery(issuer, this.#settings.clientId, this.#settings.clientSecret, undefined, loopback ? { execute: [client.allowInsecureRequests] } : undefined);
    })().catch((error: unknown) => {
      this.#config = undefined;
      throw new KeywardError('OIDC_FAILED', `The identity provider could not be reached: ${(error as Error).message}`);
    });
    return this.#config;
  }

  async #organizationId(): Promise<string> {
    if (this.#settings.organizationId) return this.#settings.organizationId;
    const organizations = await this.#ctx.store.listOrganizations();
    if (organizations.length !== 1) {
      throw new KeywardError('OIDC_NOT_CONFIGURED', 'This service holds several organizations: set KEYWARD_OIDC_ORGANIZATION to the one the identity provider signs in to.');
    }
    return organizations[0]!.id;
  }

  async start(jar: CookieJar, origin: string, invitationToken: string | undefined) {
    // A link that cannot be accepted is refused before the round trip to the provider.
    if (invitationToken !== undefined) await this.#members.pending(invitationToken);
    const config = await this.#configuration();
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
    });
    const token = newPeopleToken();
    await this.#ctx.store.people.putCeremony({
      idHash: hashPeopleToken('ceremony', token),
      kind: 'oidc',
      expiresAt: new Date(this.#ctx.nowMs() + CEREMONY_TTL_MS).toISOString(),
      data: { verifier, state, nonce, redirectUri, ...(invitationToken ? { invitationToken } : {}) },
    });
    jar.setCeremony(token);
    return { authorizationUrl: url.href };
  }

  async callback(jar: CookieJar, ip: string | null, query: string) {
    const ctx = this.#ctx;
    const token = jar.get(CEREMONY_COOKIE);
    const ceremony = token === undefined ? undefined : await ctx.store.people.takeCeremony(hashPeopleToken('ceremony', token), ctx.nowMs());
    jar.clearCeremony();
    if (!ceremony || ceremony.kind !== 'oidc') throw new KeywardError('CEREMONY_EXPIRED', 'No sign-in with the identity provider is waiting in this browser (it expired or was used).');
    const data = ceremony.data;
    const config = await this.#configuration();
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
    if (!emailDomainAllowed(email, this.#settings.allowedDomains)) {
      throw new KeywardError('EMAIL_DOMAIN_NOT_ALLOWED', `${email} is not of an allowed domain (${this.#settings.allowedDomains.join(', ')}).`);
    }
    const subject = `${config.serverMetadata().issuer}|${claims.sub}`;
    if (data.invitationToken) return this.#accept(jar, ip, data.invitationToken, email, subject, typeof claims.name === 'string' ? claims.name : email);
    const organizationId = await this.#organizationId();
    const member = await ctx.store.people.findMemberByEmail(organizationId, email);
    if (!member || member.status !== 'active') throw new KeywardError('NOT_A_MEMBER', `${email} is not a member of this organization.`);
    if (member.oidcSubject !== null && member.oidcSubject !== subject) throw new KeywardError('OIDC_FAILED', `${email} is linked to another account of the identity provider.`);
    return this.#sessions.start(jar, member, 'oidc', ip, member.oidcSubject === null ? { oidcSubject: subject } : {});
  }

  async #accept(jar: CookieJar, ip: string | null, invitationToken: string, email: string, subject: string, displayName: string) {
    const ctx = this.#ctx;
    const invitation = await this.#members.pending(invitationToken);
    acceptedEmail(invitation, email);
    const now = ctx.clock().toISOString();
    const member: MemberRecord = {
      id: newMemberId(),
      organizationId: invitation.organizationId,
      email,
      displayName: displayName.slice(0, 100),
      roleId: invitation.roleId,
      status: 'active',
      oidcSubject: subject,
      createdAt: now,
      updatedAt: now,
      lastSignInAt: now,
    };
    const { record: session, token } = this.#sessions.mint(member, 'oidc', ip);
    const audit = {
      ...ctx.audit(null, member.organizationId, 'invitation.accepted', 'invitation', invitation.id, { after: { memberId: member.id, email, role: member.roleId, method: 'oidc' } }),
      ip,
      actor: { type: 'member' as const, id: member.id, email },
    };
    await ctx.store.people.acceptInvitation({ tokenHash: invitation.tokenHash, member, passkey: null, session, now: ctx.nowMs() }, audit);
    return this.#sessions.signedIn(jar, member, session, token);
  }
}
