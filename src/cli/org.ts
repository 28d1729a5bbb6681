/**
 * `keyward org …`. `get` and `update` call the API with the organization's
 * own key (its name, plan, limits, rotation intervals). The others are what
 * only whoever runs the service sets for an
 * organization (its plan, the longest grace period its rotations may give),
 * straight in the store like `keyward bootstrap`. The API refuses to change
 * either (SET_BY_OPERATOR). With the lowdb store, stop the service first (one
 * process owns the file); with PostgreSQL, running replicas pick the change
 * up at once.
 */
import { Command } from 'commander';
import type { OrganizationView as ApiOrganization } from '../client/index.ts';
import { isDuration } from '../core/duration.ts';
import { ENVIRONMENTS, type RotationDays } from '../core/rotation.ts';
import { clientFor } from './client.ts';
import { apiCommand, collectPairs, type ApiFlags } from './command.ts';
import { examples, summaryOf } from './commands.ts';
import { CliUsageError } from './errors.ts';
import { age, outputOption, printJson, printResult, renderDescribe, renderTable, tabular, type OutputFormat } from './output.ts';
import { orgOidcCommands } from './org-oidc.ts';
import { storeOptions, withStoreService, type StoreFlags } from './serve.ts';

type Flags = StoreFlags & { output: OutputFormat; org: string };
/** What `org list`, `set-plan` and `set-max-grace-period` print: the API's organization view, as the service's operator settings return it. */
type OrganizationView = ApiOrganization;

const keys = (org: OrganizationView) => `${org.activeKeys}/${org.activeKeyLimit ?? 'unlimited'}`;

function printOrganizations(organizations: OrganizationView[], output: OutputFormat): void {
  if (!tabular(output)) return void printResult(organizations, output, organizations.map((org) => `organization/${org.id}`).join('\n'));
  process.stdout.write(renderTable(
    ['ID', 'NAME', 'PLAN', 'ACTIVE KEYS', 'MAX GRACE PERIOD', 'CREATED'],
    organizations.map((org) => [org.id, org.name, org.plan, keys(org), org.maxGracePeriod, age(org.createdAt)]),
  ));
}

function printChanged(org: OrganizationView, output: OutputFormat, what: string): void {
  if (output === 'json') return printJson(org);
  if (!tabular(output)) return void printResult(org, output, `organization/${org.id}`);
  process.stdout.write(`organization ${org.id} (${org.name}): ${what}; active keys ${keys(org)}, max grace period ${org.maxGracePeriod}\n`);
}

/** The organization as `org get` shows it. */
function describeOrganization(org: ApiOrganization): string {
  return renderDescribe([
    ['ID', org.id],
    ['Name', org.name],
    ['Plan', org.plan],
    ['Active keys', keys(org)],
    ['Max grace period', org.maxGracePeriod],
    ['Rotation days', Object.fromEntries(Object.entries(org.rotationDays).map(([env, days]) => [env, `${days}d`]))],
    ['IP allowlist', org.ipAllowlist],
    ['Created', org.createdAt],
  ]);
}

/** --rotation-days production=30 --rotation-days staging=60. */
function rotationDaysOf(pairs: Record<string, string>): RotationDays {
  const days: RotationDays = {};
  for (const [env, text] of Object.entries(pairs)) {
    if (!(ENVIRONMENTS as readonly string[]).includes(env)) throw new CliUsageError(`--rotation-days: "${env}" is not an environment (${ENVIRONMENTS.join(', ')})`);
    if (!/^\d+$/.test(text)) throw new CliUsageError(`--rotation-days ${env}=${text}: give a whole number of days`);
    days[env as keyof RotationDays] = Number(text);
  }
  return days;
}

/** `org get` and `org update`: over the API, with the organization's own key. */
function apiOrgCommands(org: Command): void {
  const get = apiCommand(org, 'get', "show the organization of this CLI's key: plan, active keys against its limit, rotation intervals").action(async (o: ApiFlags) => {
    const view = await (await clientFor(o, ['getOrganization'])).getOrganization();
    if (tabular(o.output)) process.stdout.write(describeOrganization(view));
    else await printResult(view, o.output, `organization/${view.id}`);
  });
  examples(get, ['keyward org get', "keyward org get -o jsonpath='{.plan}'"]);
  const update = apiCommand(org, 'update', 'rename the organization or set rotation intervals per environment (the plan is the service operator\'s: set-plan)')
    .option('--name <name>', 'new name')
    .option('--rotation-days <env=days>', 'rotation interval for new keys of an environment, e.g. production=30 (repeatable)', collectPairs)
    .action(async (o: ApiFlags & { name?: string; rotationDays?: Record<string, string> }) => {
      if (o.name === undefined && o.rotationDays === undefined) throw new CliUsageError('give --name and/or --rotation-days');
      const body = { ...(o.name !== undefined ? { name: o.name } : {}), ...(o.rotationDays ? { rotationDays: rotationDaysOf(o.rotationDays) } : {}) };
      const view = await (await clientFor(o, ['updateOrganization'])).updateOrganization(body);
      if (tabular(o.output)) process.stdout.write(describeOrganization(view));
      else await printResult(view, o.output, `organization/${view.id}`);
    });
  examples(update, ['keyward org update --name "Acme Corp"', 'keyward org update --rotation-days production=30 --rotation-days staging=60']);
}

export function orgCommand(): Command {
  const org = new Command('org').description(summaryOf('org'));
  apiOrgCommands(org);
  orgOidcCommands(org);
  const list = storeOptions(org.command('list').description('list every organization with its plan, active keys and max grace period (in the store)').addOption(outputOption())).action(
    async (flags: Flags) => printOrganizations(await withStoreService(flags, (service) => service.operator.list()), flags.output),
  );
  examples(list, ['keyward org list --store ./.keyward/db.json', 'keyward org list --database-url "$KEYWARD_DATABASE_URL" -o json']);
  const setPlan = storeOptions(
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
  examples(setPlan, ['keyward org set-plan --org org_… team']);
  const setGrace = storeOptions(
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
  examples(setGrace, ['keyward org set-max-grace-period --org org_… 30d']);
  return org;
}
