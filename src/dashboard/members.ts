/**
 * Members tab (#/members): the people of the organization and their roles,
 * inviting one (the one-time link is shown here once), changing a role,
 * suspending a member (their sessions end, they cannot sign in) and resuming
 * them, removing a member, and the pending invitations (revocable). The
 * service enforces no-escalation and the last-admin guard; its refusals are
 * shown. The organization's own sign-in address (its identity provider's
 * button, on a service of several organizations) is given to share.
 */
import { h } from 'preact';
import { useState } from 'preact/hooks';
import type { Result } from '../client/index.ts';
import type { Ctx } from './context.ts';
import { DEFAULT_INVITATION_ROLE_ID } from '../core/permissions.ts';
import { formatDateTime } from './format.ts';
import { RoleOptions } from './roles-select.ts';
import { signInAddress } from '../core/sign-in-address.ts';
import { Badge, ConfirmButton, CopyButton, ErrorBox, LoadError, Loading, useAsync } from './ui.ts';

type Invitation = Result<'listInvitations'>['items'][number];
type Member = Result<'listMembers'>['items'][number];

export function MembersTab({ ctx }: { ctx: Ctx }) {
  const members = useAsync(() => ctx.api.listMembers(), []);
  const invitations = useAsync(() => ctx.api.listInvitations(), []);
  const [error, setError] = useState<unknown>(null);
  const mayInvite = ctx.mayCall('createInvitation');
  const mayChange = ctx.mayCall('updateMember') && ctx.mayCall('removeMember');
  const mayRevoke = ctx.mayCall('revokeInvitation');
  const act = async (step: () => Promise<unknown>, done: string) => {
    setError(null);
    try {
      await step();
      ctx.announce(done);
    } catch (e) {
      setError(e);
    }
    members.reload();
    invitations.reload();
  };
  const pending = (invitations.data?.items ?? []).filter((i: Invitation) => i.status === 'pending');

  return h(
    'section',
    { 'aria-labelledby': 'tab-title' },
    h('div', { class: 'page-head' }, h('h1', { id: 'tab-title', tabIndex: -1 }, 'Members')),
    h('p', { class: 'summary' }, 'People who sign in to this dashboard. Keys are for machines; people are invited and sign in with a passkey.'),
    h(SignInAddress, { organizationId: ctx.me.organization.id }),
    mayInvite ? h(InviteForm, { ctx, onInvited: () => invitations.reload() }) : null,
    h(ErrorBox, { error, title: 'The change was refused' }),
    members.error ? h(LoadError, { error: members.error, feature: 'Members', operation: 'listMembers' }) : null,
    members.loading && !members.data ? h(Loading, { what: 'the members' }) : null,
    members.data
      ? h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { class: 'card-table' },
            h('caption', { class: 'visually-hidden' }, 'Members'),
            h('thead', null, h('tr', null, ['Email', 'Name', 'Role', 'Status', 'Last sign-in', 'Actions'].map((c) => h('th', { key: c, scope: 'col' }, c)))),
            h(
              'tbody',
              null,
              members.data.items.map((m) =>
                h(
                  'tr',
                  { key: m.id },
                  h('th', { scope: 'row', 'data-label': 'Email' }, m.email),
                  h('td', { 'data-label': 'Name' }, h('span', null, m.displayName, m.id === ctx.me.member?.id ? h('span', { class: 'you' }, ' (you)') : null)),
                  h(
                    'td',
                    { 'data-label': 'Role' },
                    mayChange
                      ? h(
                          'select',
                          {
                            'aria-label': `Role of ${m.email}`,
                            value: m.role,
                            onChange: (e: Event) => {
                              const role = (e.target as HTMLSelectElement).value;
                              void act(() => ctx.api.updateMember(m.id, { role }), `${m.email} is now ${role}.`);
                            },
                          },
                          h(RoleOptions, { ctx, current: m.role }),
                        )
                      : m.role,
                  ),
                  h('td', { 'data-label': 'Status' }, m.status === 'active' ? h(Badge, { tone: 'success' }, 'Active') : h(Badge, { tone: 'warning' }, 'Suspended')),
                  h('td', { 'data-label': 'Last sign-in' }, m.lastSignInAt ? formatDateTime(m.lastSignInAt) : 'never'),
                  h('td', { 'data-label': 'Actions' }, mayChange ? h(MemberActions, { ctx, member: m, act }) : h('span', { class: 'muted' }, '—')),
                ),
              ),
            ),
          ),
        )
      : null,
    h('h2', null, 'Pending invitations'),
    invitations.data && pending.length === 0 ? h('p', null, 'None.') : null,
    pending.length > 0
      ? h(
          'ul',
          { class: 'invitations' },
          pending.map((i) =>
            h(
              'li',
              { key: i.id },
              h('strong', null, i.email || '(first admin)'),
              ` as ${i.role}, until ${formatDateTime(i.expiresAt)} `,
              mayRevoke ? h('button', { type: 'button', class: 'button small', onClick: () => act(() => ctx.api.revokeInvitation(i.id), `The invitation for ${i.email} was revoked.`) }, `Revoke invitation for ${i.email}`) : null,
            ),
          ),
        )
      : null,
  );
}

/** Suspend (confirmed: their sessions end at once) or resume, and remove (confirmed). */
function MemberActions({ ctx, member, act }: { ctx: Ctx; member: Member; act: (step: () => Promise<unknown>, done: string) => Promise<void> }) {
  const { id, email } = member;
  return h(
    'span',
    { class: 'actions' },
    member.status === 'active'
      ? h(ConfirmButton, { label: 'Suspend', subject: email, onConfirm: () => void act(() => ctx.api.updateMember(id, { status: 'suspended' }), `${email} is suspended: their sessions ended and they cannot sign in.`) })
      : h('button', { type: 'button', class: 'button small', 'aria-label': `Resume ${email}`, onClick: () => void act(() => ctx.api.updateMember(id, { status: 'active' }), `${email} can sign in again.`) }, 'Resume'),
    h(ConfirmButton, { label: 'Remove', subject: email, onConfirm: () => void act(() => ctx.api.removeMember(id), `${email} was removed.`) }),
  );
}

/** The address that opens this organization's sign-in (its identity provider's button, no email to type): to share with its people. */
function SignInAddress({ organizationId }: { organizationId: string }) {
  const address = signInAddress(location.origin, organizationId);
  return h(
    'p',
    { class: 'sign-in-address' },
    'Your organization’s sign-in address: ',
    h('code', { 'data-testid': 'sign-in-address' }, address),
    ' ',
    h(CopyButton, { text: address, label: 'Copy the sign-in address' }),
  );
}

/** Invite by email with a role; the link is shown once (and mailed when the service has SMTP). */
function InviteForm({ ctx, onInvited }: { ctx: Ctx; onInvited: () => void }) {
  const [email, setEmail] = useState('');
  const [role, setRole] = useState(DEFAULT_INVITATION_ROLE_ID);
  const [error, setError] = useState<unknown>(null);
  const [made, setMade] = useState<Result<'createInvitation'> | null>(null);
  const submit = async (event: Event) => {
    event.preventDefault();
    setError(null);
    try {
      setMade(await ctx.api.createInvitation({ email, role }));
      setEmail('');
      onInvited();
    } catch (e) {
      setError(e);
    }
  };
  return h(
    'form',
    { class: 'card form invite-form', onSubmit: submit, 'aria-label': 'Invite a member' },
    h('h2', null, 'Invite a member'),
    h('label', { for: 'invite-member-email' }, 'Email'),
    h('input', { id: 'invite-member-email', type: 'email', required: true, value: email, onInput: (e: Event) => setEmail((e.target as HTMLInputElement).value) }),
    h('label', { for: 'invite-member-role' }, 'Role'),
    h('select', { id: 'invite-member-role', value: role, onChange: (e: Event) => setRole((e.target as HTMLSelectElement).value) }, h(RoleOptions, { ctx })),
    h(ErrorBox, { error, title: 'Could not invite' }),
    h('button', { type: 'submit', class: 'button primary' }, 'Invite'),
    made
      ? h(
          'div',
          { class: 'invitation-link', role: 'status' },
          h('p', null, `Invitation for ${made.invitation.email}${made.mailed ? ' (also sent by mail)' : ''}. This link is shown only now:`),
          h('code', { 'data-testid': 'invitation-link' }, made.link),
          h(CopyButton, { text: made.link, label: 'Copy invitation link' }),
          h('button', { type: 'button', class: 'button small', onClick: () => setMade(null) }, 'Done'),
        )
      : null,
  );
}
