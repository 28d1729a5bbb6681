/** `keyward members …`: the people of the organization (they sign in to the dashboard), and their invitations. */
import { Command, Option } from 'commander';
import type { Result } from '../client/index.ts';
import { BUILTIN_ROLE_IDS } from '../core/permissions.ts';
import { clientFor } from './client.ts';
import { CliUsageError } from './errors.ts';
import { apiCommand, yesOption } from './command.ts';
import { examples, summaryOf } from './commands.ts';
import { confirm } from './confirm.ts';
import { age, printJson, printTable, type OutputFormat } from './output.ts';

type Flags<T = object> = T & { output: OutputFormat; yes?: boolean };
type MemberView = Result<'getMember'>;
type InvitationView = Result<'revokeInvitation'>;

function printMembers(members: MemberView[], output: OutputFormat): void {
  if (output === 'json') return printJson(members);
  printTable(
    ['EMAIL', 'MEMBER ID', 'NAME', 'ROLE', 'STATUS', 'LAST SIGN-IN', 'AGE'],
    members.map((m) => [m.email, m.id, m.displayName, m.role, m.status, m.lastSignInAt ? age(m.lastSignInAt) : '<never>', age(m.createdAt)]),
  );
}

function printInvitations(invitations: InvitationView[], output: OutputFormat): void {
  if (output === 'json') return printJson(invitations);
  printTable(
    ['EMAIL', 'INVITATION ID', 'ROLE', 'STATUS', 'EXPIRES', 'AGE'],
    invitations.map((i) => [i.email || '<anyone: first admin>', i.id, i.role, i.status, i.expiresAt, age(i.createdAt)]),
  );
}

export function membersCommand(): Command {
  const members = new Command('members').description(summaryOf('members'));

  const list = apiCommand(members, 'list', 'list members').action(async (o: Flags) => printMembers((await (await clientFor(o, ['listMembers'])).listMembers()).items, o.output));
  examples(list, ['keyward members list']);

  const invite = apiCommand(members, 'invite', 'invite a person: prints the one-time link once (and mails it when the service has SMTP)')
    .requiredOption('--email <email>', 'their email address')
    .requiredOption('--role <role>', `role id (${BUILTIN_ROLE_IDS.join(', ')} or custom)`)
    .option('--expires-in <duration>', 'how long the link works, e.g. 7d', '7d')
    .action(async (o: Flags<{ email: string; role: string; expiresIn: string }>) => {
      const created = await (await clientFor(o, ['createInvitation'])).createInvitation({ email: o.email, role: o.role, expiresIn: o.expiresIn });
      if (o.output === 'json') return printJson(created);
      printInvitations([created.invitation], 'table');
      process.stderr.write(
        `\n${created.mailed ? `Mailed to ${created.invitation.email}. ` : ''}The link works once, until ${created.invitation.expiresAt}; it is shown only now:\n`,
      );
      process.stdout.write(`${created.link}\n`);
    });
  examples(invite, ['keyward members invite --email ada@example.com --role key-manager']);

  const update = apiCommand(members, 'update <memberId>', "change a member's role, display name or status (a lower role or a suspension signs them out)")
    .option('--role <role>', 'new role')
    .option('--display-name <name>', 'new display name')
    .addOption(new Option('--status <status>', 'active or suspended').choices(['active', 'suspended']))
    .action(async (memberId: string, o: Flags<{ role?: string; displayName?: string; status?: 'active' | 'suspended' }>) => {
      if (o.role === undefined && o.displayName === undefined && o.status === undefined) throw new CliUsageError('give --role, --display-name and/or --status');
      printMembers([await (await clientFor(o, ['updateMember'])).updateMember(memberId, { role: o.role, displayName: o.displayName, status: o.status })], o.output);
    });
  examples(update, ['keyward members update mem_… --role viewer', 'keyward members update mem_… --status suspended']);

  const remove = apiCommand(members, 'remove <memberId>', 'remove a member: their sessions end at once').addOption(yesOption()).action(async (memberId: string, o: Flags) => {
    const client = await clientFor(o, ['removeMember']);
    await confirm(`Remove member ${memberId}? Their sessions end at once.`, o.yes);
    const removed = await client.removeMember(memberId);
    if (o.output === 'json') return printJson(removed);
    process.stdout.write(`member ${removed.email} (${removed.id}) removed\n`);
  });
  examples(remove, ['keyward members remove mem_…', 'keyward members remove mem_… --yes']);

  const invitations = members.command('invitations').description('invitations: list and revoke');
  const invitationList = apiCommand(invitations, 'list', 'list invitations (never their links)').action(async (o: Flags) =>
    printInvitations((await (await clientFor(o, ['listInvitations'])).listInvitations()).items, o.output),
  );
  examples(invitationList, ['keyward members invitations list']);
  const invitationRevoke = apiCommand(invitations, 'revoke <invitationId>', 'revoke an invitation: its link stops working').action(async (invitationId: string, o: Flags) =>
    printInvitations([await (await clientFor(o, ['revokeInvitation'])).revokeInvitation(invitationId)], o.output),
  );
  examples(invitationRevoke, ['keyward members invitations revoke inv_…']);
  return members;
}
