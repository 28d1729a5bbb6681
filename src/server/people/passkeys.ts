/**
 * Passkeys (WebAuthn) through SimpleWebAuthn: registration when an invitation
 * is accepted (and later, more passkeys), sign-in with discoverable
 * credentials. Each ceremony's challenge is kept in the store under the hash
 * of a cookie's token and taken once, so any replica can finish it and no
 * challenge answers twice.
 */
import type { AuthenticationResponseJSON, AuthenticatorTransportFuture, RegistrationResponseJSON } from '@simplewebauthn/server';
import { KeywardError } from '../../core/errors.ts';
import {
  hashPeopleToken,
  newMemberId,
  newPeopleToken,
  toPasskeyView,
  type CeremonyKind,
  type CeremonyRecord,
  type MemberRecord,
  type PasskeyRecord,
} from '../../core/people.ts';
import { memberNotFound } from '../../store/people-rules.ts';
import type { MemberPrincipal } from '../auth.ts';
import type { ServiceContext } from '../context.ts';
import { CEREMONY_COOKIE, CEREMONY_TTL_MS, type CookieJar } from './cookies.ts';
import { acceptedEmail, type Members } from './members.ts';
import type { SignInClient, Sessions } from './sessions.ts';

/** Where the browser is: the origin WebAuthn responses must name, and the relying party id (its host name). */
export interface RelyingParty {
  origin: string;
  rpId: string;
  name: string;
}

export const relyingParty = (origin: string): RelyingParty => ({ origin, rpId: new URL(origin).hostname, name: 'keyward' });

const rejected = (why: string): KeywardError => new KeywardError('PASSKEY_REJECTED', `The passkey did not verify: ${why}.`);

/** SimpleWebAuthn, loaded at the first ceremony: it is most of a cold start's module loading, and a key service for machines never needs it. */
let library: Promise<typeof import('@simplewebauthn/server')> | undefined;
const webauthn = () => (library ??= import('@simplewebauthn/server'));

const bytes = (base64url: string): Uint8Array<ArrayBuffer> => new Uint8Array(Buffer.from(base64url, 'base64url'));

export class Passkeys {
  readonly #ctx: ServiceContext;
  readonly #members: Members;
  readonly #sessions: Sessions;

  constructor(ctx: ServiceContext, members: Members, sessions: Sessions) {
    this.#ctx = ctx;
    this.#members = members;
    this.#sessions = sessions;
  }

  async #begin(jar: CookieJar, kind: CeremonyKind, data: Record<string, string>): Promise<void> {
    const token = newPeopleToken();
    const ceremony: CeremonyRecord = { idHash: hashPeopleToken('ceremony', token), kind, expiresAt: new Date(this.#ctx.nowMs() + CEREMONY_TTL_MS).toISOString(), data };
    await this.#ctx.store.people.putCeremony(ceremony);
    jar.setCeremony(token);
  }

  /** The ceremony this browser started, taken (used up) now. */
  async #finish(jar: CookieJar, kind: CeremonyKind): Promise<Record<string, string>> {
    const token = jar.get(CEREMONY_COOKIE);
    const ceremony = token === undefined ? undefined : await this.#ctx.store.people.takeCeremony(hashPeopleToken('ceremony', token), this.#ctx.nowMs());
    jar.clearCeremony();
    if (!ceremony || ceremony.kind !== kind) throw new KeywardError('CEREMONY_EXPIRED', 'No sign-in step of this browser is waiting for this answer (it expired or was used).');
    return ceremony.data;
  }

  async #registrationOptions(rp: RelyingParty, member: Pick<MemberRecord, 'id' | 'email' | 'displayName'>, exclude: PasskeyRecord[]) {
    return (await webauthn()).generateRegistrationOptions({
      rpName: rp.name,
      rpID: rp.rpId,
      userName: member.email,
      userDisplayName: member.displayName,
      userID: new TextEncoder().encode(member.id),
      attestationType: 'none',
      excludeCredentials: exclude.map((p) => ({ id: p.id, transports: p.transports as AuthenticatorTransportFuture[] })),
      authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
    });
  }

  async #verifyRegistration(rp: RelyingParty, challenge: string, credential: Record<string, unknown>) {
    let result;
    try {
      result = await (await webauthn()).verifyRegistrationResponse({
        response: credential as unknown as RegistrationResponseJSON,
        expectedChallenge: challenge,
        expectedOrigin: rp.origin,
        expectedRPID: rp.rpId,
        requireUserVerification: false,
      });
    } catch (error) {
      throw rejected((error as Error).message);
    }
    if (!result.verified) throw rejected('the registration was not verified');
    return result.registrationInfo.credential;
  }

  #record(member: Pick<MemberRecord, 'id' | 'organizationId'>, name: string, credential: { id: string; publicKey: Uint8Array; counter: number; transports?: string[] | undefined }): PasskeyRecord {
    return {
      id: credential.id,
      organizationId: member.organizationId,
      memberId: member.id,
      name,
      publicKey: Buffer.from(credential.publicKey).toString('base64url'),
      counter: credential.counter,
      transports: credential.transports ?? [],
      createdAt: this.#ctx.clock().toISOString(),
      lastUsedAt: null,
    };
  }

  /** Creation options for the passkey that accepts an invitation; the member id is fixed now (it is the passkey's user handle). */
  async invitationOptions(jar: CookieJar, rp: RelyingParty, token: string) {
    const invitation = await this.#members.pending(token);
    const memberId = newMemberId();
    const userName = invitation.email || invitation.roleId;
    const options = await this.#registrationOptions(rp, { id: memberId, email: userName, displayName: userName }, []);
    await this.#begin(jar, 'passkey-registration', { challenge: options.challenge, memberId, invitationId: invitation.id });
    return { options: options as unknown as Record<string, unknown> };
  }

  /** Accepts an invitation with the passkey just registered: member, passkey and session in one step. */
  async acceptInvitation(
    jar: CookieJar,
    rp: RelyingParty,
    client: SignInClient,
    body: { token: string; email?: string | undefined; displayName: string; credential: Record<string, unknown>; passkeyName: string },
  ) {
    const ctx = this.#ctx;
    // The invitation first: a used, revoked or expired link is refused with its own code, whatever the ceremony.
    const invitation = await this.#members.pending(body.token);
    const email = acceptedEmail(invitation, body.email);
    const data = await this.#finish(jar, 'passkey-registration');
    if (data.invitationId !== invitation.id) throw new KeywardError('CEREMONY_EXPIRED', 'This passkey was registered for another invitation.');
    const credential = await this.#verifyRegistration(rp, data.challenge!, body.credential);
    const now = ctx.clock().toISOString();
    const member: MemberRecord = {
      id: data.memberId!,
      organizationId: invitation.organizationId,
      email,
      displayName: body.displayName,
      roleId: invitation.roleId,
      status: 'active',
      oidcSubject: null,
      createdAt: now,
      updatedAt: now,
      lastSignInAt: now,
    };
    const passkey = this.#record(member, body.passkeyName, credential);
    const { record: session, token } = this.#sessions.mint(member, 'invitation', client);
    const audit = {
      ...ctx.audit(null, member.organizationId, 'invitation.accepted', 'invitation', invitation.id, { after: { memberId: member.id, email: member.email, role: member.roleId } }),
      ip: client.ip,
      actor: { type: 'member' as const, id: member.id, email: member.email },
    };
    await ctx.store.people.acceptInvitation({ tokenHash: invitation.tokenHash, member, passkey, session, now: ctx.nowMs() }, audit);
    return this.#sessions.signedIn(jar, member, session, token);
  }

  async signInOptions(jar: CookieJar, rp: RelyingParty) {
    const options = await (await webauthn()).generateAuthenticationOptions({ rpID: rp.rpId, userVerification: 'preferred' });
    await this.#begin(jar, 'passkey-authentication', { challenge: options.challenge });
    return { options: options as unknown as Record<string, unknown> };
  }

  async signIn(jar: CookieJar, rp: RelyingParty, client: SignInClient, credential: Record<string, unknown>) {
    const ctx = this.#ctx;
    const data = await this.#finish(jar, 'passkey-authentication');
    const response = credential as unknown as AuthenticationResponseJSON;
    const passkey = typeof response.id === 'string' ? await ctx.store.people.findPasskey(response.id) : undefined;
    if (!passkey) throw rejected('this passkey is not registered here');
    let result;
    try {
      result = await (await webauthn()).verifyAuthenticationResponse({
        response,
        expectedChallenge: data.challenge!,
        expectedOrigin: rp.origin,
        expectedRPID: rp.rpId,
        credential: { id: passkey.id, publicKey: bytes(passkey.publicKey), counter: passkey.counter, transports: passkey.transports as AuthenticatorTransportFuture[] },
        requireUserVerification: false,
      });
    } catch (error) {
      throw rejected((error as Error).message);
    }
    if (!result.verified) throw rejected('the assertion was not verified');
    const member = await ctx.store.people.getMember(passkey.organizationId, passkey.memberId);
    if (!member || member.status !== 'active') throw rejected('its member was removed or suspended');
    await ctx.store.people.recordPasskeyUse(passkey.id, result.authenticationInfo.newCounter, ctx.clock().toISOString());
    return this.#sessions.start(jar, member, 'passkey', client);
  }

  async list(principal: MemberPrincipal) {
    return { items: (await this.#ctx.store.people.listPasskeys(principal.organization.id, principal.member.id)).map(toPasskeyView) };
  }

  async addOptions(principal: MemberPrincipal, jar: CookieJar, rp: RelyingParty) {
    const existing = await this.#ctx.store.people.listPasskeys(principal.organization.id, principal.member.id);
    const options = await this.#registrationOptions(rp, principal.member, existing);
    await this.#begin(jar, 'passkey-registration', { challenge: options.challenge, memberId: principal.member.id });
    return { options: options as unknown as Record<string, unknown> };
  }

  async add(principal: MemberPrincipal, jar: CookieJar, rp: RelyingParty, body: { credential: Record<string, unknown>; name: string }) {
    const data = await this.#finish(jar, 'passkey-registration');
    if (data.memberId !== principal.member.id || data.invitationId !== undefined) throw new KeywardError('CEREMONY_EXPIRED', 'This registration was started for someone else.');
    const credential = await this.#verifyRegistration(rp, data.challenge!, body.credential);
    const passkey = this.#record(principal.member, body.name, credential);
    const audit = this.#ctx.audit(principal, principal.organization.id, 'passkey.added', 'passkey', passkey.id, { after: { name: passkey.name } });
    await this.#ctx.store.people.insertPasskey(passkey, audit);
    return toPasskeyView(passkey);
  }

  async remove(principal: MemberPrincipal, credentialId: string): Promise<void> {
    const member = await this.#ctx.store.people.getMember(principal.organization.id, principal.member.id);
    if (!member) throw memberNotFound(principal.member.id);
    const audit = this.#ctx.audit(principal, principal.organization.id, 'passkey.removed', 'passkey', credentialId);
    await this.#ctx.store.people.deletePasskey(principal.organization.id, principal.member.id, credentialId, audit);
  }
}
