/**
 * `keyward org …`: what only whoever runs the service sets for an
 * organization (its plan, the longest grace period its rotations may give),
 * straight in the store like `keyward bootstrap`. The API refuses to change
 * either (SET_BY_OPERATOR). With the lowdb store, stop the service first (one
 * process owns the file); with PostgreSQL, running replicas pick the change
 * up at once.
 */
import { Command, Option } from 'commander';
import { isDuration } from '../core/duration.ts';
import { CliUsageError } from './errors.ts';
import { age, printJson, printTable, type OutputFormat } from './output.ts';
import { storeOptions, withStoreService, type StoreFlags } from './serve.ts';

type Flags = StoreFlags & { output: OutputFormat; org: string };
type OrganizationView = { id: string; name: string; plan: string; activeKeys: number; activeKeyLimit: number | null; maxGracePeriod: string; createdAt: string };

const outputOption = () => new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table');
const keys = (org: OrganizationView) => `${org.activeKeys}/${org.activeKeyLimit ?? 'unlimited'}`;

function printOrganizations(organizations: OrganizationView[], output: OutputFormat): void {
  if (output === 'json') return printJson(organizations);
  printTable(
    ['ID', 'NAME', 'PLAN', 'ACTIVE KEYS', 'MAX GRACE PERIOD', 'CREATED'],
    organizations.map((org) => [org.id, org.name, org.plan, keys(org), org.maxGracePeriod, age(org.createdAt)]),
  );
}

function printChanged(org: OrganizationView, output: OutputFormat, what: string): void {
  if (output === 'json') return printJson(org);
  process.stdout.write(`organization ${org.id} (${org.name}): ${what}; active keys ${keys(org)}, max grace period ${org.maxGracePeriod}\n`);
}

export function orgCommand(): Command {
  const org = new Command('org').description("the service operator's settings of organizations (plan, max grace period), straight in the store");
  storeOptions(org.command('list').description('list every organization with its plan, active keys and max grace period').addOption(outputOption())).action(
    async (flags: Flags) => printOrganizations(await withStoreService(flags, (service) => service.operator.list()), flags.output),
  );
  storeOptions(
    org
      .command('set-plan')
      .description("set an organization's plan (one of KEYWARD_PLANS); audited with no actor key")
      .argument('<plan>', 'plan name, e.g. team')
      .requiredOption('--org <id>', 'organization id (org_…, see `keyward org list`)')
      .addOption(outputOption()),
  ).action(async (plan: string, flags: Flags) => {
    const updated = await withStoreService(flags, (service) => service.operator.setPlan(flags.org, plan));
    printChanged(updated, flags.output, `plan ${updated.plan}`);
  });
  storeOptions(
    org
      .command('set-max-grace-period')
      .description("set the longest grace period an organization's rotations may give (default 7d); audited with no actor key")
      .argument('<duration>', 'e.g. 24h, 7d, 30d')
      .requiredOption('--org <id>', 'organization id (org_…, see `keyward org list`)')
      .addOption(outputOption()),
  ).action(async (duration: string, flags: Flags) => {
    if (!isDuration(duration)) throw new CliUsageError(`"${duration}" is not a duration: use forms like 24h, 7d or 30d (at most ten years)`);
    const updated = await withStoreService(flags, (service) => service.operator.setMaxGracePeriod(flags.org, duration));
    printChanged(updated, flags.output, `max grace period ${updated.maxGracePeriod}`);
  });
  return org;
}
