/** `keyward keys …`: the key lifecycle against a running service. */
import { Command, Option } from 'commander';
import type { BodyInput, KeyView, ListKeysQuery } from '../client/index.ts';
import { DEFAULT_ENVIRONMENT, DEFAULT_ROTATION_OVERLAP, ENVIRONMENTS } from '../core/rotation.ts';
import { KeyStatusFilter } from '../core/schemas.ts';
import { clientFor, clientSettings } from './client.ts';
import { age, printJson, printTable, warnSecretOnce, type OutputFormat } from './output.ts';
import { CliUsageError } from './errors.ts';

type Flags<T = object> = T & { output: OutputFormat };

export const outputOption = () =>
  new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table');

/** A client subcommand (`keys …`, `members …`): the client settings (--url, KEYWARD_API_KEY) and -o. */
export const subcommand = (parent: Command, name: string, description: string): Command =>
  clientSettings(parent.command(name).description(description)).addOption(outputOption());

function printKeys(keys: KeyView[], output: OutputFormat): void {
  if (output === 'json') return printJson(keys);
  printTable(
    ['NAME', 'KEY ID', 'ROLE', 'ENVIRONMENT', 'STATUS', 'LAST USED', 'AGE'],
    keys.map((k) => [k.name, k.id, k.role, k.environment, k.status, k.lastUsedAt ? age(k.lastUsedAt) : '<never>', age(k.createdAt)]),
  );
}

export function keysCommand(): Command {
  const keys = new Command('keys').description('create, list, edit, rotate, revoke and report compromised API keys');

  subcommand(keys, 'create', 'create a key; prints its secret once')
    .requiredOption('--name <name>', 'descriptive name, e.g. "Production Server"')
    .requiredOption('--role <role>', 'role id (least privilege: pick the smallest that works)')
    .addOption(new Option('--environment <env>', 'environment').choices(ENVIRONMENTS).default(DEFAULT_ENVIRONMENT))
    .option('--expires-at <iso>', 'expiry date-time')
    .action(async (o: Flags<Pick<BodyInput<'createKey'>, 'name' | 'role' | 'environment' | 'expiresAt'>>) => {
      const created = await clientFor(o, ['createKey']).createKey({
        name: o.name,
        role: o.role,
        environment: o.environment,
        ...(o.expiresAt ? { expiresAt: o.expiresAt } : {}),
      });
      if (o.output === 'json') return printJson(created);
      printKeys([created.key], 'table');
      warnSecretOnce(created.secret, created.key.id);
    });

  subcommand(keys, 'list', 'list keys (active by default)')
    .addOption(new Option('--status <status>', 'which keys (default: active)').choices(KeyStatusFilter.options))
    .option('--role <role>', 'only this role')
    .addOption(new Option('--environment <env>', 'only this environment').choices(ENVIRONMENTS))
    .option('--unused-for <duration>', 'only keys not used for this long, e.g. 30d (review and revoke unused keys)')
    .option('--rotation-due', 'only keys whose rotation is due')
    .action(async (o: Flags<Pick<ListKeysQuery, 'status' | 'role' | 'environment' | 'unusedFor'> & { rotationDue?: boolean }>) => {
      const items: KeyView[] = [];
      const query = { status: o.status, role: o.role, environment: o.environment, unusedFor: o.unusedFor, rotationDue: o.rotationDue ? ('true' as const) : undefined };
      for await (const key of clientFor(o, ['listKeys']).allKeys(query)) items.push(key);
      printKeys(items, o.output);
    });

  subcommand(keys, 'get <keyId>', 'show one key (never its secret)').action(async (keyId: string, o: Flags) =>
    printKeys([await clientFor(o, ['getKey']).getKey(keyId)], o.output),
  );

  subcommand(keys, 'update <keyId>', 'change the name and/or role of a key')
    .option('--name <name>', 'new name')
    .option('--role <role>', 'new role')
    .action(async (keyId: string, o: Flags<Pick<BodyInput<'updateKey'>, 'name' | 'role'>>) => {
      if (o.name === undefined && o.role === undefined) throw new CliUsageError('give --name and/or --role');
      printKeys([await clientFor(o, ['updateKey']).updateKey(keyId, { name: o.name, role: o.role })], o.output);
    });

  subcommand(keys, 'revoke <keyId>', 'revoke a key: applications using it stop working; cannot be undone').action(async (keyId: string, o: Flags) => {
    const revoked = await clientFor(o, ['revokeKey']).revokeKey(keyId);
    if (o.output === 'json') return printJson(revoked);
    process.stdout.write(`key ${revoked.id} revoked\n`);
  });

  subcommand(keys, 'rotate <keyId>', 'issue a successor (same role and settings); the old key works until the grace period ends')
    .option('--grace-period <duration>', 'how long the old key keeps working, e.g. 24h, 0 for now', DEFAULT_ROTATION_OVERLAP)
    .option('--name <name>', 'successor name (default "<old name> v2")')
    .action(async (keyId: string, o: Flags<{ gracePeriod: string; name?: string }>) => {
      const rotated = await clientFor(o, ['rotateKey']).rotateKey(keyId, { gracePeriod: o.gracePeriod, ...(o.name ? { name: o.name } : {}) });
      if (o.output === 'json') return printJson(rotated);
      printKeys([rotated.key, rotated.previous], 'table');
      process.stderr.write(`\nOld key ${rotated.previous.id} keeps working until ${rotated.previous.expiresAt}.\n`);
      warnSecretOnce(rotated.secret, rotated.key.id);
    });

  subcommand(keys, 'compromise <keyId>', 'a key leaked: revoke it now, issue a replacement (secret printed once), open an incident, notify')
    .requiredOption('--reason <text>', 'why the key is believed compromised (never the secret itself)')
    .option('--no-replace', 'revoke only: no replacement')
    .option('--no-notify', 'no notification to the alert webhook')
    .action(async (keyId: string, o: Flags<{ reason: string; replace: boolean; notify: boolean }>) => {
      const result = await clientFor(o, ['compromiseKey']).compromiseKey(keyId, { reason: o.reason, replace: o.replace, notify: o.notify });
      if (o.output === 'json') return printJson(result);
      printKeys(result.replacement ? [result.replacement.key, result.revoked] : [result.revoked], 'table');
      process.stderr.write(`\nKey ${result.revoked.id} revoked. Incident ${result.incident.id}:\n`);
      for (const action of result.incident.actions) process.stderr.write(`  ${action.at}  ${action.action}: ${action.detail}\n`);
      if (result.replacement) warnSecretOnce(result.replacement.secret, result.replacement.key.id);
    });

  return keys;
}
