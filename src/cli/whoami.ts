/** `keyward whoami`: the key this CLI calls with, like `kubectl auth whoami` and `gh auth status`. */
import { Command } from 'commander';
import { withApi, type ApiFlags } from './command.ts';
import { resolveConnection } from './client.ts';
import { clientFor } from './client.ts';
import { examples, summaryOf } from './commands.ts';
import { keyStatus } from './key-views.ts';
import { printResult, renderDescribe, tabular } from './output.ts';

export function whoamiCommand(): Command {
  const command = withApi(new Command('whoami').description(summaryOf('whoami')));
  command.action(async (o: ApiFlags) => {
    const connection = await resolveConnection(o);
    const me = await (await clientFor(o, ['whoami'])).whoami();
    if (!tabular(o.output)) return printResult(me, o.output, `key/${me.key.id}`);
    process.stdout.write(
      renderDescribe([
        ['Service', connection.url],
        ['Context', connection.context ?? '<none>'],
        ['Key', `${me.key.id} (${me.key.name})`],
        ['Status', keyStatus(me.key)],
        ['Role', me.key.role],
        ['Organization', `${me.organization.id} (${me.organization.name}, plan ${me.organization.plan})`],
        ['Permissions', me.permissions],
      ]),
    );
  });
  return examples(command, ['keyward whoami', 'keyward whoami --context prod -o json']);
}
