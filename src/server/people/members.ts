/**
 * Members and invitations: the same roles and no-escalation rule as keys (a
 * caller never grants, nor changes the holder of, a role with more than it
 * holds), the last-admin guard in the store, and one-time invitation links
 * whose tokens exist in the clear only in the creation's answer (and mail).
 */
import { KeywardError } from '../../core/errors.ts';
import { BOOTSTRAP_INVITATION_MS } from '../../core/api-defaults.ts';
import { parseDuration } from '../../core/duration.ts';
import { ADMIN_ROLE_ID, holds, requireCanGrant } from '../../core/permissions.ts';
import {
  actorRef,
  emailDomainAllowed,
  hashPeopleToken,
  newInvitationId,
  newMemberId,
  newPeopleToken,
  toInvitationView,
  toMemberView,
  type InvitationRecord,
  type MemberRecord,
} from '../../core/people.ts';
import type * as schemas from '../../core/schemas.ts';
import type { z } from 'zod';
import { invitationRoleDeleted, invitationUnusable, memberNotFound } from '../../store/people-rules.ts';
import { actorOf, type Principal } from '../auth.ts';
import type { ServiceContext } from '../context.ts';
import type { Logger } from '../logger.ts';
import { signInAddress } from '../../core/sign-in-address.ts';
import type { Mailer } from './mailer.ts';
import type { OidcProviders } from './oidc-providers.ts';

type Parsed<S extends z.ZodType> = z.output<S>;


/** The email an accepted invitation makes the member's: the invitation's, or for an open one (bootstrap) the one given. */
export function acceptedEmail(invitation: Pick<InvitationRecord, 'email'>, given: string | undefined): string {
  if (invitation.email === '') {
    if (given === undefined) {
      throw new KeywardError('VALIDATION_FAILED', 'email: this invitation names no email address: send yours', { details: [{ path: 'email', message: 'required for this invitation' }] });
    }
    return given;
  }
  if (given !== undefined && given !== invitation.email) {
    throw new KeywardError('INVITATION_EMAIL_MISMATCH', `The invitation is for ${invitation.email}, not for ${given}.`);
  }
  return invitation.email;
}

/** The invitation link: the token in the fragment, so no server or proxy log ever holds it. */
export const invitationLink = (origin: string, token: string): string => `${origin}/#invitation=${token}`;

export class Members {
  readonly #ctx: ServiceContext;
  readonly #providers: OidcProviders;
  readonly #mailer: Mailer | undefined;
  readonly #logger: Logger | undefined;

  constructor(ctx: ServiceContext, providers: OidcProviders, mailer: Mailer | undefined, logger: Logger | undefined) {
    this.#ctx = ctx;
    this.#providers = providers;
    this.#mailer = mailer;
    this.#logger = logger;
  }

  async list(principal: Principal) {
    const members = await this.#ctx.store.people.listMembers(principal.organization.id);
    return { items: members.map(toMemberView) };
  }

  async #require(principal: Principal, memberId: string): Promise<MemberRecord> {
    const member = await this.#ctx.store.people.getMember(principal.organization.id, memberId);
    if (!member) throw memberNotFound(memberId);
    return member;
  }

  async get(principal: Principal, memberId: string) {
    return toMemberView(await this.#require(principal, memberId));
  }

  /**
   * Adds a member directly, for an organization that signs in through an
   * identity provider (pre-provisioning): the person signs in there with this
   * email and is bound to their account then. The same no-escalation rule as
   * invitations. Without a provider there is nothing they could sign in
   * with: an invitation (which registers a passkey) is the way in.
   */
  async add(principal: Principal, body: Parsed<typeof schemas.CreateMemberBody>) {
    const ctx = this.#ctx;
    const role = await ctx.roleResolver.require(principal.organization.id, body.role);
    requireCanGrant(principal.permissions, role);
    const provider = await this.#providers.forOrganization(principal.organization.id);
    if (!provider) {
      throw new KeywardError('INVITATION_REQUIRED', 'This organization has no identity provider to sign in with: invite the person instead (POST /v1/invitations).');
    }
    if (!emailDomainAllowed(body.email, provider.allowedDomains)) {
      throw new KeywardError('EMAIL_DOMAIN_NOT_ALLOWED', `${body.email} is not of a domain the identity provider may sign in (${provider.allowedDomains.join(', ')}).`);
    }
    const now = ctx.clock().toISOString();
    const member: MemberRecord = {
      id: newMemberId(),
      organizationId: principal.organization.id,
      email: body.email,
      displayName: body.displayName ?? body.email,
      roleId: role.id,
      status: 'active',
      oidcSubject: null,
      createdAt: now,
      updatedAt: now,
      lastSignInAt: null,
    };
    const audit = ctx.audit(principal, principal.organization.id, 'member.added', 'member', member.id, { after: { email: member.email, role: member.roleId, signsInWith: provider.issuer } });
    await ctx.store.people.insertMember(member, audit);
    return toMemberView(member);
  }

  async update(principal: Principal, memberId: string, body: Parsed<typeof schemas.UpdateMemberBody>) {
    const ctx = this.#ctx;
    const member = await this.#require(principal, memberId);
    const current = await ctx.roleResolver.find(principal.organization.id, member.roleId);
    if (current) requireCanGrant(principal.permissions, current);
    let lowers = body.status === 'suspended';
    if (body.role !== undefined) {
      const next = await ctx.roleResolver.require(principal.organization.id, body.role);
      requireCanGrant(principal.permissions, next);
      // A role that takes any permission away ends the member's sessions: they sign in again with what is left.
      lowers ||= (current?.permissions ?? []).some((p) => !holds(next.permissions, p));
    }
    const patch = { roleId: body.role, displayName: body.displayName, status: body.status };
    const audit = ctx.audit(principal, principal.organization.id, 'member.updated', 'member', memberId);
    const before = await ctx.store.people.updateMember(principal.organization.id, memberId, patch, ctx.clock().toISOString(), lowers, audit);
    return toMemberView({ ...before, ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)), updatedAt: ctx.clock().toISOString() });
  }

  async remove(principal: Principal, memberId: string) {
    const ctx = this.#ctx;
    const member = await this.#require(principal, memberId);
    const role = await ctx.roleResolver.find(principal.organization.id, member.roleId);
    if (role) requireCanGrant(principal.permissions, role);
    const audit = ctx.audit(principal, principal.organization.id, 'member.removed', 'member', memberId, { before: { email: member.email, role: member.roleId } });
    return toMemberView(await ctx.store.people.removeMember(principal.organization.id, memberId, audit));
  }

  async invite(principal: Principal, body: Parsed<typeof schemas.CreateInvitationBody>, origin: string) {
    const ctx = this.#ctx;
    const role = await ctx.roleResolver.require(principal.organization.id, body.role);
    requireCanGrant(principal.permissions, role);
    const now = ctx.clock();
    const token = newPeopleToken();
    const invitation: InvitationRecord = {
      id: newInvitationId(),
      organizationId: principal.organization.id,
      email: body.email,
      roleId: role.id,
      tokenHash: hashPeopleToken('invitation', token),
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + parseDuration(body.expiresIn)).toISOString(),
      invitedBy: actorRef(actorOf(principal)),
      acceptedAt: null,
      revokedAt: null,
      memberId: null,
    };
    const audit = ctx.audit(principal, principal.organization.id, 'invitation.created', 'invitation', invitation.id, {
      after: { email: invitation.email, role: invitation.roleId, expiresAt: invitation.expiresAt },
    });
    await ctx.store.people.insertInvitation(invitation, audit);
    const link = invitationLink(origin, token);
    return { invitation: toInvitationView(invitation, now.getTime()), link, mailed: await this.#mail(invitation, principal.organization.name, link, signInAddress(origin, invitation.organizationId)) };
  }

  /** Mails the link when SMTP is configured; a failed delivery is logged (without the link) and reported as not mailed. */
  async #mail(invitation: InvitationRecord, organizationName: string, link: string, signIn: string): Promise<boolean> {
    if (!this.#mailer) return false;
    try {
      await this.#mailer.sendInvitation({ to: invitation.email, organizationName, role: invitation.roleId, link, expiresAt: invitation.expiresAt, signInAddress: signIn });
      return true;
    } catch (error) {
      this.#logger?.warn({ invitationId: invitation.id, err: { message: (error as Error).message } }, 'could not mail an invitation');
      return false;
    }
  }

  /**
   * At bootstrap: a one-time admin invitation that names no email (the first
   * person gives theirs when accepting), so nobody pastes a key into a browser.
   */
  async bootstrapInvitation(organizationId: string): Promise<string> {
    const now = this.#ctx.clock();
    const token = newPeopleToken();
    const invitation: InvitationRecord = {
      id: newInvitationId(),
      organizationId,
      email: '',
      roleId: ADMIN_ROLE_ID,
      tokenHash: hashPeopleToken('invitation', token),
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + BOOTSTRAP_INVITATION_MS).toISOString(),
      invitedBy: null,
      acceptedAt: null,
      revokedAt: null,
      memberId: null,
    };
    const audit = this.#ctx.audit(null, organizationId, 'invitation.created', 'invitation', invitation.id, { after: { role: ADMIN_ROLE_ID, bootstrap: true, expiresAt: invitation.expiresAt } });
    await this.#ctx.store.people.insertInvitation(invitation, audit);
    return token;
  }

  async listInvitations(principal: Principal) {
    const now = this.#ctx.nowMs();
    const invitations = await this.#ctx.store.people.listInvitations(principal.organization.id);
    return { items: invitations.map((i) => toInvitationView(i, now)) };
  }

  async revokeInvitation(principal: Principal, invitationId: string) {
    const ctx = this.#ctx;
    const audit = ctx.audit(principal, principal.organization.id, 'invitation.revoked', 'invitation', invitationId);
    const revoked = await ctx.store.people.revokeInvitation(principal.organization.id, invitationId, ctx.clock().toISOString(), audit);
    return toInvitationView(revoked, ctx.nowMs());
  }

  /** The pending invitation behind a token, or the code that says why it cannot be used. */
  async pending(token: string): Promise<InvitationRecord> {
    const invitation = await this.#ctx.store.people.findInvitationByHash(hashPeopleToken('invitation', token));
    const unusable = invitationUnusable(invitation, this.#ctx.nowMs());
    if (unusable) throw unusable;
    // Its custom role may have been deleted before pending invitations held their role (ROLE_IN_USE): it cannot make a member.
    if (!(await this.#ctx.roleResolver.find(invitation!.organizationId, invitation!.roleId))) throw invitationRoleDeleted(invitation!);
    return invitation!;
  }

  async preview(token: string) {
    const invitation = await this.pending(token);
    const organization = await this.#ctx.store.reads.organization(invitation.organizationId);
    if (!organization) throw new KeywardError('INVITATION_NOT_FOUND', 'The organization of this invitation no longer exists.');
    return { email: invitation.email, role: invitation.roleId, organization: { id: organization.id, name: organization.name }, expiresAt: invitation.expiresAt };
  }
}
