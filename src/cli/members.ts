/** `keyward members …`: the people of the organization (they sign in to the dashboard), and their invitations. */
import { Command, Option } from 'commander';
import type { Result } from '../client/index.ts';
import { DEFAULT_INVITATION_EXPIRY } from '../core/api-defaults.ts';
import { BUILTIN_ROLE_IDS } from '../core/permissions.ts';
import { clientFor } from './client.ts';
import { CliUsageError } from './errors.ts';
import { apiCommand, yesOption, type ApiFlags } from './command.ts';
import { examples, summaryOf } from './commands.ts';
import { confirm } from './confirm.ts';
import { age, printIds, printList, printOne, printResult, tabular, type View } from './output.ts';

type Flags<T = object> = T & ApiFlags;
type Member = Result<'getMember'>;
type Invitation = Result<'revokeInvitation'>;

export const MEMBER_VIEW: View<Member> = {
  kind: 'member',
  plural: 'members',
  id: (m) => m.id,
  columns: [
    { header: 'EMAIL', value: (m) => m.email },
    { header: 'MEMBER ID', value: (m) => m.id },
    { header: 'NAME', value: (m) => m.displayName },
    { header: 'ROLE', value: (m) => m.role },
    { header: 'STATUS', value: (m) => m.status },
    { header: 'LAST SIGN-IN', value: (m, now) => (m.lastSignInAt ? age(m.lastSignInAt, now) : '<never>') },
    { header: 'AGE', value: (m, now) => age(m.createdAt, now) },
    { header: 'OIDC', value: (m) => (m.oidcLinked ? 'yes' : 'no'), wide: true },
    { header: 'UPDATED', value: (m, now) => age(m.updatedAt, now), wide: true },
  ],
};

export const INVITATION_VIEW: View<Invitation> = {
  kind: 'invitation',
  plural: 'invitations',
  id: (i) => i.id,
  columns: [
    // The first-admin invitation has no address: anyone holding its link may accept it.
    { header: 'EMAIL', value: (i) => i.email || '<anyone: first admin>' },
    { header: 'INVITATION ID', value: (i) => i.id },
    { header: 'ROLE', value: (i) => i.role },
    { header: 'STATUS', value: (i) => i.status },
    { header: 'EXPIRES', value: (i) => i.expiresAt },
    { header: 'AGE', value: (i, now) => age(i.createdAt, now) },
    { header: 'INVITED BY', value: (i) => i.invitedBy, wide: true },
    { header: 'MEMBER', value: (i) => i.memberId, wide: true },
  ],
};

export function membersCommand(): Command {
  const members = new Command('members').description(summaryOf('members'));

  const list = apiCommand(members, 'list', 'list members', { quiet: 'print the member ids alone' }).action(async (o: Flags) => {
    const { items } = await (await clientFor(o, ['listMembers'])).listMembers();
    if (o.quiet) return printIds(items);
    await printList(items, MEMBER_VIEW, o.output);
  });
  examples(list, ['keyward members list', 'keyward members list -o wide', "keyward members list -o jsonpath='{[*].email}'"]);

  const get = apiCommand(members, 'get <memberId>', 'show one member as a table row').action(async (memberId: string, o: Flags) =>
    printOne(await (await clientFor(o, ['getMember'])).getMember(memberId), MEMBER_VIEW, o.output),
  );
  examples(get, ['keyward members get mem_…', 'keyward members get mem_… -o yaml']);

  const invite = apiCommand(members, 'invite', 'invite a person: prints the one-time link once (and mails it when the service has SMTP)', {
    quiet: 'print the link alone (for $(…) in scripts)',
  })
    .requiredOption('--email <email>', 'their email address')
    .requiredOption('--role <role>', `role id (${BUILTIN_ROLE_IDS.join(', ')} or custom)`)
    .option('--expires-in <duration>', `how long the link works (default ${DEFAULT_INVITATION_EXPIRY})`)
    .action(async (o: Flags<{ email: string; role: string; expiresIn?: string }>) => {
      const created = await (await clientFor(o, ['createInvitation'])).createInvitation({ email: o.email, role: o.role, ...(o.expiresIn ? { expiresIn: o.expiresIn } : {}) });
      if (o.quiet) return void process.stdout.write(`${created.link}\n`);
      if (!tabular(o.output)) return printResult(created, o.output, `invitation/${created.invitation.id}`);
      await printOne(created.invitation, INVITATION_VIEW, o.output);
      process.stderr.write(
        `\n${created.mailed ? `Mailed to ${created.invitation.email}. ` : ''}The link works once, until ${created.invitation.expiresAt}; it is shown only now:\n`,
      );
      process.stdout.write(`${created.link}\n`);
    });
  examples(invite, ['keyward members invite --email ada@example.com --role key-manager', 'link=$(keyward members invite -q --email ada@example.com --role viewer)']);

  const add = apiCommand(members, 'add', 'add a member directly, who signs in through the identity provider with this email (bound at their first sign-in)')
    .requiredOption('--email <email>', 'their email address (of a domain the provider may sign in)')
    .requiredOption('--role <role>', `role id (${BUILTIN_ROLE_IDS.join(', ')} or custom)`)
    .option('--display-name <name>', 'display name (default: the email)')
    .action(async (o: Flags<{ email: string; role: string; displayName?: string }>) => {
      const added = await (await clientFor(o, ['createMember'])).createMember({ email: o.email, role: o.role, ...(o.displayName !== undefined ? { displayName: o.displayName } : {}) });
      await printOne(added, MEMBER_VIEW, o.output);
    });
  examples(add, ['keyward members add --email ada@example.com --role key-manager', 'keyward members add --email ada@example.com --role viewer --display-name "Ada Lovelace" -o json']);

  const update = apiCommand(members, 'update <memberId>', "change a member's role, display name or status (a lower role or a suspension signs them out)")
    .option('--role <role>', 'new role')
    .option('--display-name <name>', 'new display name')
    .addOption(new Option('--status <status>', 'active or suspended').choices(['active', 'suspended']))
    .action(async (memberId: string, o: Flags<{ role?: string; displayName?: string; status?: 'active' | 'suspended' }>) => {
      if (o.role === undefined && o.displayName === undefined && o.status === undefined) throw new CliUsageError('give --role, --display-name and/or --status');
      await printOne(await (await clientFor(o, ['updateMember'])).updateMember(memberId, { role: o.role, displayName: o.displayName, status: o.status }), MEMBER_VIEW, o.output);
    });
  examples(update, ['keyward members update mem_… --role viewer', 'keyward members update mem_… --status suspended -o yaml']);

  const remove = apiCommand(members, 'remove <memberId>', 'remove a member: their sessions end at once', { quiet: 'print nothing on success' })
    .addOption(yesOption())
    .action(async (memberId: string, o: Flags) => {
      const client = await clientFor(o, ['removeMember']);
      await confirm(`Remove member ${memberId}? Their sessions end at once.`, o.yes);
      const removed = await client.removeMember(memberId);
      if (o.quiet) return;
      if (tabular(o.output)) process.stdout.write(`member ${removed.email} (${removed.id}) removed\n`);
      else await printOne(removed, MEMBER_VIEW, o.output);
    });
  examples(remove, ['keyward members remove mem_…', 'keyward members remove mem_… --yes']);

  const invitations = members.command('invitations').description('invitations: list and revoke');
  const invitationList = apiCommand(invitations, 'list', 'list invitations (never their links)', { quiet: 'print the invitation ids alone' }).action(async (o: Flags) => {
    const { items } = await (await clientFor(o, ['listInvitations'])).listInvitations();
    if (o.quiet) return printIds(items);
    await printList(items, INVITATION_VIEW, o.output);
  });
  examples(invitationList, ['keyward members invitations list', 'keyward members invitations list -o name']);
  const invitationRevoke = apiCommand(invitations, 'revoke <invitationId>', 'revoke an invitation: its link stops working', { quiet: 'print nothing on success' }).action(
    async (invitationId: string, o: Flags) => {
      const revoked = await (await clientFor(o, ['revokeInvitation'])).revokeInvitation(invitationId);
      if (!o.quiet) await printOne(revoked, INVITATION_VIEW, o.output);
    },
  );
  examples(invitationRevoke, ['keyward members invitations revoke inv_…']);
  return members;
}
