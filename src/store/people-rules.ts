/** The people rules both store adapters enforce, and their wording. */
import { KeywardError } from '../core/errors.ts';
import { invitationStatus, type InvitationRecord, type MemberRecord } from '../core/people.ts';
import { grantsEverything } from '../core/permissions.ts';
import type { MemberPatch } from './people-store.ts';

export const isActiveAdminMember = (member: Pick<MemberRecord, 'roleId' | 'status'>): boolean => member.status === 'active' && grantsEverything(member.roleId);

/** Whether the change (a patch, or removal when undefined) takes an active admin member away. */
export function removesAdminMember(member: MemberRecord, patch?: MemberPatch): boolean {
  if (!isActiveAdminMember(member)) return false;
  if (patch === undefined) return true;
  return !isActiveAdminMember({ roleId: patch.roleId ?? member.roleId, status: patch.status ?? member.status });
}

export const lastAdminMemberError = (member: MemberRecord, change: 'remove' | 'update'): KeywardError =>
  new KeywardError(
    'LAST_ADMIN_MEMBER',
    `${member.email} is the organization's last active admin member and cannot be ${change === 'remove' ? 'removed' : 'demoted or suspended'}.`,
    { details: { memberId: member.id } },
  );

export const memberNotFound = (memberId: string): KeywardError => new KeywardError('MEMBER_NOT_FOUND', `No member ${memberId} in this organization.`);

export const memberExists = (email: string): KeywardError => new KeywardError('MEMBER_EXISTS', `${email} is already a member of this organization.`);

export const invitationNotFound = (): KeywardError => new KeywardError('INVITATION_NOT_FOUND', 'No invitation matches this link.');

/** Why an invitation can no longer be accepted (or revoked), if it cannot: each cause its own code. */
export function invitationUnusable(invitation: InvitationRecord | undefined, now: number): KeywardError | undefined {
  if (!invitation) return invitationNotFound();
  switch (invitationStatus(invitation, now)) {
    case 'accepted':
      return new KeywardError('INVITATION_USED', `The invitation for ${invitation.email} was already accepted.`, { details: { invitationId: invitation.id } });
    case 'revoked':
      return new KeywardError('INVITATION_REVOKED', `The invitation for ${invitation.email} was revoked.`, { details: { invitationId: invitation.id } });
    case 'expired':
      return new KeywardError('INVITATION_EXPIRED', `The invitation for ${invitation.email} expired at ${invitation.expiresAt}.`, {
        details: { invitationId: invitation.id },
      });
    case 'pending':
      return undefined;
  }
}

export const passkeyNotFound = (): KeywardError => new KeywardError('PASSKEY_NOT_FOUND', 'No such passkey of yours.');

export const lastPasskeyError = (): KeywardError =>
  new KeywardError('LAST_PASSKEY', 'This is your last passkey and your account is not linked to an identity provider.');

export const memberRoleInUse = (roleId: string, memberIds: string[]): KeywardError =>
  new KeywardError('ROLE_IN_USE', `Role "${roleId}" is still held by ${memberIds.length} member(s).`, { details: { memberIds } });

/**
 * A pending invitation holds its role as a member does: deleting the role
 * would leave a link that can no longer be accepted, or (were the id made
 * again) one that grants what the inviter never chose. Revoke them first.
 */
export const invitationRoleInUse = (roleId: string, invitationIds: string[]): KeywardError =>
  new KeywardError('ROLE_IN_USE', `Role "${roleId}" is given by ${invitationIds.length} pending invitation(s): revoke them first.`, { details: { invitationIds } });

/** An invitation whose custom role is gone (deleted before pending invitations held their role). */
export const invitationRoleDeleted = (invitation: Pick<InvitationRecord, 'id' | 'roleId'>): KeywardError =>
  new KeywardError('INVITATION_ROLE_DELETED', `The role "${invitation.roleId}" this invitation gives no longer exists.`, { details: { invitationId: invitation.id } });

export const oidcNotConfigured = (): KeywardError => new KeywardError('OIDC_NOT_CONFIGURED', 'This organization has no identity provider of its own.');
