/** `keyward roles …`: built-in and custom roles. */
import { Command } from 'commander';
import type { Role } from '../client/index.ts';
import { apiCommand, collect, yesOption, type ApiFlags } from './command.ts';
import { clientFor } from './client.ts';
import { examples, summaryOf } from './commands.ts';
import { confirm } from './confirm.ts';
import { CliUsageError } from './errors.ts';
import { printList, printOne, renderDescribe, tabular, type View } from './output.ts';

export const ROLE_VIEW: View<Role> = {
  kind: 'role',
  plural: 'roles',
  id: (role) => role.id,
  columns: [
    { header: 'ID', value: (role) => role.id },
    { header: 'NAME', value: (role) => role.name },
    { header: 'BUILTIN', value: (role) => (role.builtin ? 'yes' : 'no') },
    { header: 'PERMISSIONS', value: (role) => String(role.permissions.length) },
    { header: 'DESCRIPTION', value: (role) => role.description, wide: true },
    { header: 'GRANTS', value: (role) => role.permissions.join(','), wide: true },
  ],
};

type RoleFlags = ApiFlags & { name?: string; description?: string; permissions?: string[] };

export function rolesCommand(): Command {
  const roles = new Command('roles').description(summaryOf('roles'));

  const list = apiCommand(roles, 'list', 'list the built-in and custom roles').action(async (o: ApiFlags) =>
    printList((await (await clientFor(o, ['listRoles'])).listRoles()).items, ROLE_VIEW, o.output),
  );
  examples(list, ['keyward roles list', 'keyward roles list -o wide']);

  const get = apiCommand(roles, 'get <roleId>', 'show one role as a table row').action(async (id: string, o: ApiFlags) =>
    printOne(await (await clientFor(o, ['getRole'])).getRole(id), ROLE_VIEW, o.output),
  );
  examples(get, ['keyward roles get viewer -o yaml']);

  const describe = apiCommand(roles, 'describe <roleId>', 'show a role and every permission it grants').action(async (id: string, o: ApiFlags) => {
    const role = await (await clientFor(o, ['getRole'])).getRole(id);
    if (!tabular(o.output)) return printOne(role, ROLE_VIEW, o.output);
    process.stdout.write(
      renderDescribe([
        ['ID', role.id],
        ['Name', role.name],
        ['Built-in', role.builtin ? 'yes' : 'no'],
        ['Description', role.description],
        ['Permissions', role.permissions],
      ]),
    );
  });
  examples(describe, ['keyward roles describe key-manager']);

  const create = apiCommand(roles, 'create <roleId>', 'define a custom role (only with permissions your key holds)')
    .requiredOption('--name <name>', 'display name')
    .option('--description <text>', 'what the role is for')
    .requiredOption('--permissions <names>', 'permissions it grants (comma-separated or repeated; `keyward permissions list`)', collect)
    .action(async (id: string, o: RoleFlags) => {
      const role = await (await clientFor(o, ['createRole'])).createRole({ id, name: o.name!, permissions: o.permissions!, ...(o.description !== undefined ? { description: o.description } : {}) });
      await printOne(role, ROLE_VIEW, o.output);
    });
  examples(create, ['keyward roles create geo-reader --name "Geo reader" --permissions geo.read,api.key.verify']);

  const update = apiCommand(roles, 'update <roleId>', 'change a custom role; keys holding it get the new permissions at once')
    .option('--name <name>', 'new display name')
    .option('--description <text>', 'new description')
    .option('--permissions <names>', 'replace what it grants (comma-separated or repeated)', collect)
    .action(async (id: string, o: RoleFlags) => {
      if (o.name === undefined && o.description === undefined && o.permissions === undefined) throw new CliUsageError('give --name, --description and/or --permissions');
      const body = { ...(o.name !== undefined ? { name: o.name } : {}), ...(o.description !== undefined ? { description: o.description } : {}), ...(o.permissions ? { permissions: o.permissions } : {}) };
      await printOne(await (await clientFor(o, ['updateRole'])).updateRole(id, body), ROLE_VIEW, o.output);
    });
  examples(update, ['keyward roles update geo-reader --permissions geo.read,geo.write']);

  const remove = apiCommand(roles, 'delete <roleId>', 'delete a custom role that no key holds', { output: false, quiet: 'print nothing on success' })
    .addOption(yesOption())
    .action(async (id: string, o: ApiFlags) => {
      const client = await clientFor(o, ['deleteRole']);
      await confirm(`Delete role ${id}?`, o.yes);
      await client.deleteRole(id);
      if (!o.quiet) process.stdout.write(`role ${id} deleted\n`);
    });
  examples(remove, ['keyward roles delete geo-reader', 'keyward roles delete geo-reader --yes']);

  return roles;
}
