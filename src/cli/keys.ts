/** `keyward keys …`: the key lifecycle against a running service. */
import { Command, Option } from 'commander';
import type { BodyInput, KeyView, ListKeysQuery } from '../client/index.ts';
import { DEFAULT_ENVIRONMENT, DEFAULT_ROTATION_OVERLAP, ENVIRONMENTS } from '../core/rotation.ts';
import { DEFAULT_QUIET_PERIOD, type RecentClient, type RevokeOld } from '../core/retirement.ts';
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

/** The CLI's spelling of the API's revokeOld modes (kebab-case, as flags are). */
const REVOKE_OLD_FLAGS = { 'after-grace': 'afterGrace', 'when-unused': 'whenUnused' } as const satisfies Record<string, RevokeOld>;

const client = (c: RecentClient, now: number): string => `${c.ip ?? '<unknown address>'}${c.userAgent ? ` (${c.userAgent})` : ''}, ${age(c.lastUsedAt, now)} ago`;

/** `keys describe` as text, kubectl describe-like: fields, then the transition and the clients. */
export function describeKey(key: KeyView, now: number): string {
  const lines = [
    `Name:          ${key.name}`,
    `Key ID:        ${key.id}`,
    `Role:          ${key.role}`,
    `Environment:   ${key.environment}`,
    `Status:        ${key.status}`,
    `Created:       ${key.createdAt}`,
    `Expires:       ${key.expiresAt ?? '<never>'}`,
    `Last used:     ${key.lastUsedAt ? `${key.lastUsedAt} from ${key.lastUsedIp ?? '<unknown address>'}` : '<never>'}`,
  ];
  if (key.rotatedFromId) lines.push(`Rotated from:  ${key.rotatedFromId}`);
  if (key.rotatedToId) lines.push(`Rotated to:    ${key.rotatedToId}`);
  const t = key.transition;
  if (t) {
    lines.push('Transition:');
    lines.push(`  Revoke old:  ${t.revokeOld}${t.quietPeriod ? ` (quiet period ${t.quietPeriod})` : ''}`);
    lines.push(`  Rotated at:  ${t.rotatedAt}`);
    lines.push(`  Deadline:    ${t.deadline ?? '<none>'}`);
    lines.push(`  Ended:       ${t.endedBy ? `${t.endedBy} at ${t.endedAt}` : '<in transition>'}`);
    lines.push(`  Stragglers:  ${t.stragglers.length === 0 ? '<none>' : ''}`);
    for (const straggler of t.stragglers) lines.push(`    ${client(straggler, now)}`);
  }
  lines.push(`Recent clients:${key.recentClients.length === 0 ? ' <none>' : ''}`);
  for (const recent of key.recentClients) lines.push(`  ${client(recent, now)}`);
  return `${lines.join('\n')}\n`;
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

  subcommand(keys, 'rotate <keyId>', 'issue a successor (same role and settings); the old key works until the grace period ends, or until unused')
    .option('--grace-period <duration>', 'how long the old key keeps working at most, e.g. 24h, 0 for now', DEFAULT_ROTATION_OVERLAP)
    .addOption(
      new Option('--revoke-old <mode>', 'after-grace: the old key expires with the grace period; when-unused: the service revokes it once unused for --quiet-period')
        .choices(Object.keys(REVOKE_OLD_FLAGS))
        .default('after-grace'),
    )
    .option('--quiet-period <duration>', `with --revoke-old when-unused: how long the old key must go unused (default ${DEFAULT_QUIET_PERIOD})`)
    .option('--name <name>', 'successor name (default "<old name> v2")')
    .action(async (keyId: string, o: Flags<{ gracePeriod: string; revokeOld: keyof typeof REVOKE_OLD_FLAGS; quietPeriod?: string; name?: string }>) => {
      const revokeOld = REVOKE_OLD_FLAGS[o.revokeOld];
      const rotated = await clientFor(o, ['rotateKey']).rotateKey(keyId, {
        gracePeriod: o.gracePeriod,
        revokeOld,
        ...(o.quietPeriod !== undefined ? { quietPeriod: o.quietPeriod } : {}),
        ...(o.name ? { name: o.name } : {}),
      });
      if (o.output === 'json') return printJson(rotated);
      printKeys([rotated.key, rotated.previous], 'table');
      const until = `until ${rotated.previous.expiresAt}`;
      process.stderr.write(
        revokeOld === 'whenUnused'
          ? `\nOld key ${rotated.previous.id} is revoked once nothing used it for ${rotated.previous.transition?.quietPeriod}, at the latest ${until}; watch it with: keyward keys describe ${rotated.previous.id}\n`
          : `\nOld key ${rotated.previous.id} keeps working ${until}.\n`,
      );
      warnSecretOnce(rotated.secret, rotated.key.id);
    });

  subcommand(keys, 'describe <keyId>', 'one key in full: its recent clients and, once rotated, how its transition ends and who still uses it').action(
    async (keyId: string, o: Flags) => {
      const key = await clientFor(o, ['getKey']).getKey(keyId);
      if (o.output === 'json') return printJson(key);
      process.stdout.write(describeKey(key, Date.now()));
    },
  );
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
