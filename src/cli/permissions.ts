/** `keyward permissions …`: the catalog roles draw from; define your APIs' own. */
import { Command } from 'commander';
import type { PermissionView } from '../client/index.ts';
import { apiCommand, type ApiFlags } from './command.ts';
import { clientFor } from './client.ts';
import { examples, summaryOf } from './commands.ts';
import { printList, printOne, type View } from './output.ts';

export const PERMISSION_VIEW: View<PermissionView> = {
  kind: 'permission',
  plural: 'permissions',
  id: (p) => p.name,
  columns: [
    { header: 'NAME', value: (p) => p.name },
    { header: 'BUILTIN', value: (p) => (p.builtin ? 'yes' : 'no') },
    { header: 'DESCRIPTION', value: (p) => p.description },
  ],
};

export function permissionsCommand(): Command {
  const permissions = new Command('permissions').description(summaryOf('permissions'));
  const list = apiCommand(permissions, 'list', "list keyward's permissions and the organization's own").action(async (o: ApiFlags) =>
    printList((await (await clientFor(o, ['listPermissions'])).listPermissions()).items, PERMISSION_VIEW, o.output),
  );
  examples(list, ['keyward permissions list', 'keyward permissions list -o name']);
  const create = apiCommand(permissions, 'create <name>', 'define a permission for your own API (your API asks verify for it)')
    .option('--description <text>', 'what it allows')
    .action(async (name: string, o: ApiFlags & { description?: string }) =>
      printOne(await (await clientFor(o, ['createPermission'])).createPermission({ name, ...(o.description !== undefined ? { description: o.description } : {}) }), PERMISSION_VIEW, o.output),
    );
  examples(create, ['keyward permissions create geo.read --description "read geodata"']);
  return permissions;
}
