/** `keyward keys …`: the key lifecycle against a running service. */
import { Command, Option } from 'commander';
import { KeywardClient, type KeyView } from '../client/index.ts';
import { age, printJson, printTable, warnSecretOnce, type OutputFormat } from './output.ts';
import { CliUsageError } from './errors.ts';

interface ConnectionOptions {
  url: string;
  output: OutputFormat;
}

export const urlOption = () => new Option('--url <url>', 'key service URL').env('KEYWARD_URL').default('http://127.0.0.1:8080');
export const outputOption = () =>
  new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table');

export function clientFrom(options: { url: string }): KeywardClient {
  const apiKey = process.env.KEYWARD_API_KEY;
  if (!apiKey) throw new CliUsageError('set KEYWARD_API_KEY to a key secret (the admin key printed by `keyward bootstrap`)');
  return new KeywardClient({ url: options.url, apiKey });
}

function printKeys(keys: KeyView[], output: OutputFormat): void {
  if (output === 'json') return printJson(keys);
  printTable(
    ['NAME', 'KEY ID', 'ROLE', 'ENVIRONMENT', 'STATUS', 'LAST USED', 'AGE'],
    keys.map((k) => [k.name, k.id, k.role, k.environment, k.status, k.lastUsedAt ? age(k.lastUsedAt) : '<never>', age(k.createdAt)]),
  );
}

export function keysCommand(): Command {
  const keys = new Command('keys').description('create, list, edit, rotate and revoke API keys');

  keys
    .command('create')
    .description('create a key; prints its secret once')
    .requiredOption('--name <name>', 'descriptive name, e.g. "Production Server"')
    .requiredOption('--role <role>', 'role id (least privilege: pick the smallest that works)')
    .addOption(new Option('--environment <env>', 'environment').choices(['production', 'staging', 'development']).default('production'))
    .option('--expires-at <iso>', 'expiry date-time')
    .addOption(urlOption())
    .addOption(outputOption())
    .action(async (o: ConnectionOptions & { name: string; role: string; environment: 'production'; expiresAt?: string }) => {
      const created = await clientFrom(o).createKey({
        name: o.name,
        role: o.role,
        environment: o.environment,
        ...(o.expiresAt ? { expiresAt: o.expiresAt } : {}),
      });
      if (o.output === 'json') return printJson(created);
      printKeys([created.key], 'table');
      warnSecretOnce(created.secret, created.key.id);
    });

  keys
    .command('list')
    .description('list keys (active by default)')
    .addOption(new Option('--status <status>', 'which keys').choices(['active', 'expired', 'revoked', 'all']).default('active'))
    .option('--role <role>', 'only this role')
    .addOption(new Option('--environment <env>', 'only this environment').choices(['production', 'staging', 'development']))
    .option('--unused-for <duration>', 'only keys not used for this long, e.g. 30d (review and revoke unused keys)')
    .option('--rotation-due', 'only keys whose rotation is due')
    .addOption(urlOption())
    .addOption(outputOption())
    .action(async (o: ConnectionOptions & { status: 'active'; role?: string; environment?: 'production'; unusedFor?: string; rotationDue?: boolean }) => {
      const items: KeyView[] = [];
      const query = { status: o.status, role: o.role, environment: o.environment, unusedFor: o.unusedFor, rotationDue: o.rotationDue ? ('true' as const) : undefined };
      for await (const key of clientFrom(o).allKeys(query)) items.push(key);
      printKeys(items, o.output);
    });

  keys
    .command('get <keyId>')
    .description('show one key (never its secret)')
    .addOption(urlOption())
    .addOption(outputOption())
    .action(async (keyId: string, o: ConnectionOptions) => printKeys([await clientFrom(o).getKey(keyId)], o.output));

  keys
    .command('update <keyId>')
    .description('change the name and/or role of a key')
    .option('--name <name>', 'new name')
    .option('--role <role>', 'new role')
    .addOption(urlOption())
    .addOption(outputOption())
    .action(async (keyId: string, o: ConnectionOptions & { name?: string; role?: string }) => {
      if (o.name === undefined && o.role === undefined) throw new CliUsageError('give --name and/or --role');
      printKeys([await clientFrom(o).updateKey(keyId, { name: o.name, role: o.role })], o.output);
    });

  keys
    .command('revoke <keyId>')
    .description('revoke a key: applications using it stop working; cannot be undone')
    .addOption(urlOption())
    .addOption(outputOption())
    .action(async (keyId: string, o: ConnectionOptions) => {
      const revoked = await clientFrom(o).revokeKey(keyId);
      if (o.output === 'json') return printJson(revoked);
      process.stdout.write(`key ${revoked.id} revoked\n`);
    });

  keys
    .command('rotate <keyId>')
    .description('issue a successor (same role and settings); the old key works until the grace period ends')
    .option('--grace-period <duration>', 'how long the old key keeps working, e.g. 24h, 0 for now', '24h')
    .option('--name <name>', 'successor name (default "<old name> v2")')
    .addOption(urlOption())
    .addOption(outputOption())
    .action(async (keyId: string, o: ConnectionOptions & { gracePeriod: string; name?: string }) => {
      const rotated = await clientFrom(o).rotateKey(keyId, { gracePeriod: o.gracePeriod, ...(o.name ? { name: o.name } : {}) });
      if (o.output === 'json') return printJson(rotated);
      printKeys([rotated.key, rotated.previous], 'table');
      process.stderr.write(`\nOld key ${rotated.previous.id} keeps working until ${rotated.previous.expiresAt}.\n`);
      warnSecretOnce(rotated.secret, rotated.key.id);
    });

  return keys;
}
