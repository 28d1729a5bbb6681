/** `keyward keys …`: the key lifecycle against a running service. */
import { Command, Option } from 'commander';
import type { BodyInput, KeyView, ListKeysQuery } from '../client/index.ts';
import { PAGE_LIMITS } from '../core/api-defaults.ts';
import { isDuration, parseDuration } from '../core/duration.ts';
import { DEFAULT_ENVIRONMENT, DEFAULT_ROTATION_OVERLAP, ENVIRONMENTS } from '../core/rotation.ts';
import { DEFAULT_QUIET_PERIOD, type RevokeOld } from '../core/retirement.ts';
import { BATCH_GET_MAX_IDS } from '../core/schemas.ts';
import { clientFor } from './client.ts';
import { apiCommand, collect, collectPairs, yesOption, type ApiFlags } from './command.ts';
import { examples, summaryOf } from './commands.ts';
import { confirm } from './confirm.ts';
import { CliUsageError, EXIT } from './errors.ts';
import { describeKey, KEY_VIEW } from './key-views.ts';
import { printIds, printList, printOne, printResult, printSecretOnce, progress, tabular } from './output.ts';

/** The CLI's spelling of the API's revokeOld modes (kebab-case, as flags are). */
const REVOKE_OLD_FLAGS = { 'after-grace': 'afterGrace', 'when-unused': 'whenUnused' } as const satisfies Record<string, RevokeOld>;

type CreateFlags = ApiFlags & Pick<BodyInput<'createKey'>, 'name' | 'role' | 'environment' | 'expiresAt' | 'idempotencyKey'> & {
  expiresIn?: string;
  ipAllowlist?: string[];
  metadata?: Record<string, string>;
};

type MetadataEdits = { set: Record<string, string>; remove: string[] };

/** `team=payments` sets an entry, `legacy-` removes one. */
function metadataEdits(items: string[]): MetadataEdits {
  const edits: MetadataEdits = { set: {}, remove: [] };
  for (const item of items) {
    const at = item.indexOf('=');
    if (at > 0) edits.set[item.slice(0, at)] = item.slice(at + 1);
    else if (item.endsWith('-') && item.length > 1) edits.remove.push(item.slice(0, -1));
    else throw new CliUsageError(`--metadata "${item}": give key=value to set an entry or key- to remove one`);
  }
  return edits;
}

export function applyMetadataEdits(current: Record<string, string | number | boolean>, edits: MetadataEdits): Record<string, string | number | boolean> {
  const missing = edits.remove.filter((key) => !(key in current));
  if (missing.length > 0) throw new CliUsageError(`--metadata: the key has no entry ${missing.join(', ')} to remove`);
  const next = { ...current, ...edits.set };
  for (const key of edits.remove) delete next[key];
  return next;
}

/** --expires-in 30d or --expires-at <iso>: the key's expiry as the API takes it. */
function expiryOf(flags: CreateFlags, now = Date.now()): string | undefined {
  if (flags.expiresIn !== undefined && flags.expiresAt !== undefined) throw new CliUsageError('give --expires-in or --expires-at, not both');
  if (flags.expiresIn === undefined) return flags.expiresAt;
  if (!isDuration(flags.expiresIn)) throw new CliUsageError(`--expires-in "${flags.expiresIn}" is not a duration such as 12h, 30d or 52w`);
  // A key that expires as it is made would be refused by everything it is given to.
  if (parseDuration(flags.expiresIn) === 0) throw new CliUsageError(`--expires-in ${flags.expiresIn} would expire the key as it is created; give a lifetime such as 12h, 30d or 52w`);
  return new Date(now + parseDuration(flags.expiresIn)).toISOString();
}

export function keysCommand(): Command {
  const keys = new Command('keys').description(summaryOf('keys'));

  const create = apiCommand(keys, 'create', 'create a key; prints its secret once', { quiet: 'print the secret alone (for $(…) in scripts)' })
    .requiredOption('--name <name>', 'descriptive name, e.g. "Production Server"')
    .requiredOption('--role <role>', 'role id (least privilege: pick the smallest that works; `keyward roles list`)')
    .addOption(new Option('--environment <env>', 'environment (decides the rotation interval)').choices(ENVIRONMENTS).default(DEFAULT_ENVIRONMENT))
    .option('--expires-in <duration>', 'expire after this long, e.g. 90d')
    .option('--expires-at <iso>', 'expire at this date-time, e.g. 2027-01-01T00:00:00Z')
    .option('--ip-allowlist <entries>', 'addresses or CIDR ranges the key works from (comma-separated or repeated)', collect)
    .option('--metadata <key=value>', 'metadata returned by verify, e.g. team=payments (repeatable)', collectPairs)
    .option('--idempotency-key <value>', 'makes the create safe to retry: a second create with it is refused instead of issuing another key')
    .action(async (o: CreateFlags) => {
      const expiresAt = expiryOf(o);
      const created = await (await clientFor(o, ['createKey'])).createKey({
        name: o.name,
        role: o.role,
        environment: o.environment,
        ...(expiresAt ? { expiresAt } : {}),
        ...(o.ipAllowlist ? { ipAllowlist: o.ipAllowlist } : {}),
        ...(o.metadata ? { metadata: o.metadata } : {}),
        ...(o.idempotencyKey ? { idempotencyKey: o.idempotencyKey } : {}),
      });
      if (o.quiet) return printSecretOnce(created.secret, created.key.id, true);
      if (!tabular(o.output)) return printResult(created, o.output, `key/${created.key.id}`);
      await printOne(created.key, KEY_VIEW, o.output);
      printSecretOnce(created.secret, created.key.id);
    });
  examples(create, [
    'keyward keys create --name "Production Server" --role key-manager --environment production',
    'keyward keys create --name "Partner Acme" --role viewer --expires-in 90d --ip-allowlist 203.0.113.0/24 --metadata partner=acme',
    'export API_KEY=$(keyward keys create --name ci --role verifier -q)',
  ]);

  const list = apiCommand(keys, 'list', 'list keys (active by default), with when each expires and is due for rotation', { quiet: 'print the Key IDs alone' })
    .addOption(new Option('--status <status>', 'which keys (default: active)').choices(['active', 'expired', 'revoked', 'all']))
    .option('--role <role>', 'only this role')
    .addOption(new Option('--environment <env>', 'only this environment').choices(ENVIRONMENTS))
    .option('--unused-for <duration>', 'only keys not used for this long, e.g. 30d (review and revoke unused keys)')
    .option('--rotation-due', 'only keys whose rotation is due')
    .action(async (o: ApiFlags & Pick<ListKeysQuery, 'status' | 'role' | 'environment' | 'unusedFor'> & { rotationDue?: boolean }) => {
      const items: KeyView[] = [];
      const query = { status: o.status, role: o.role, environment: o.environment, unusedFor: o.unusedFor, rotationDue: o.rotationDue ? ('true' as const) : undefined };
      const client = await clientFor(o, ['listKeys']);
      // Page by page, saying how far it got on a terminal: a large organization takes a while.
      const shown = progress();
      let cursor: string | undefined;
      do {
        const page = await client.listKeys({ ...query, limit: PAGE_LIMITS.keys, ...(cursor ? { cursor } : {}) });
        items.push(...page.items);
        cursor = page.nextCursor ?? undefined;
        if (cursor) shown.update(`fetched ${items.length} keys…`);
      } while (cursor);
      shown.done();
      if (o.quiet) return printIds(items);
      await printList(items, KEY_VIEW, o.output);
    });
  examples(list, ['keyward keys list', 'keyward keys list --status all -o wide', 'keyward keys list --unused-for 30d -q', "keyward keys list -o jsonpath='{[*].id}'"]);

  const get = apiCommand(keys, 'get <keyIds...>', 'show keys by Key ID as table rows (never their secrets); several in one request').action(async (keyIds: string[], o: ApiFlags) => {
    if (keyIds.length === 1) return printOne(await (await clientFor(o, ['getKey'])).getKey(keyIds[0]!), KEY_VIEW, o.output);
    if (keyIds.length > BATCH_GET_MAX_IDS) throw new CliUsageError(`at most ${BATCH_GET_MAX_IDS} Key IDs at once (got ${keyIds.length})`);
    const batch = await (await clientFor(o, ['batchGetKeys'])).batchGetKeys({ ids: keyIds });
    await printList(batch.items, KEY_VIEW, o.output);
    // As kubectl get with names: what was found is printed, each missing one is an error, and the exit code says so.
    for (const id of batch.missing) process.stderr.write(`error: key ${id} not found (KEY_NOT_FOUND)\n`);
    if (batch.missing.length > 0) process.exitCode = EXIT.FAILED;
  });
  examples(get, ['keyward keys get key_…', 'keyward keys get key_… -o yaml', 'keyward keys get key_A… key_B… key_C…']);

  const describe = apiCommand(keys, 'describe <keyId>', 'show everything about one key, like kubectl describe').action(async (keyId: string, o: ApiFlags) => {
    const key = await (await clientFor(o, ['getKey'])).getKey(keyId);
    if (tabular(o.output)) process.stdout.write(describeKey(key));
    else await printOne(key, KEY_VIEW, o.output);
  });
  examples(describe, ['keyward keys describe key_…']);

  const update = apiCommand(keys, 'update <keyId>', "change a key's name, role, IP allowlist or metadata (everything else is fixed; rotate for a new secret)")
    .option('--name <name>', 'new name')
    .option('--role <role>', 'new role')
    .option('--ip-allowlist <entries>', "replace the key's IP allowlist (comma-separated or repeated)", collect)
    .option('--clear-ip-allowlist', "remove the key's IP allowlist (any address the organization allows)")
    .option('--metadata <key=value|key->', 'set a metadata entry, or remove it with key- (repeatable; the others stay)', collect)
    .action(async (keyId: string, o: ApiFlags & Pick<BodyInput<'updateKey'>, 'name' | 'role'> & { ipAllowlist?: string[]; clearIpAllowlist?: boolean; metadata?: string[] }) => {
      if (o.ipAllowlist && o.clearIpAllowlist) throw new CliUsageError('give --ip-allowlist or --clear-ip-allowlist, not both');
      const ipAllowlist = o.clearIpAllowlist ? [] : o.ipAllowlist;
      if (o.name === undefined && o.role === undefined && ipAllowlist === undefined && o.metadata === undefined) {
        throw new CliUsageError('give --name and/or --role (or --ip-allowlist, --metadata)');
      }
      const edits = o.metadata ? metadataEdits(o.metadata) : undefined;
      const client = await clientFor(o, edits ? ['getKey', 'updateKey'] : ['updateKey']);
      // The API replaces metadata whole: the current entries, with these set and removed (kubectl label's k=v and k-).
      const metadata = edits ? applyMetadataEdits((await client.getKey(keyId)).metadata, edits) : undefined;
      const body = { ...(o.name !== undefined ? { name: o.name } : {}), ...(o.role !== undefined ? { role: o.role } : {}), ...(ipAllowlist ? { ipAllowlist } : {}), ...(metadata ? { metadata } : {}) };
      await printOne(await client.updateKey(keyId, body), KEY_VIEW, o.output);
    });
  examples(update, [
    'keyward keys update key_… --name "Production Server (eu)"',
    'keyward keys update key_… --role viewer',
    'keyward keys update key_… --ip-allowlist 10.0.0.0/8,192.168.1.7',
    'keyward keys update key_… --metadata team=payments --metadata legacy-',
  ]);

  const revoke = apiCommand(keys, 'revoke <keyId>', 'revoke a key: applications using it stop working at once; cannot be undone', { quiet: 'print nothing on success' })
    .addOption(yesOption())
    .option('--dry-run', 'show the key that would be revoked and when it was last used; change nothing')
    .option('--reason <text>', 'why, kept in the audit record (short text; never a secret)')
    .action(async (keyId: string, o: ApiFlags & { reason?: string }) => {
      const client = await clientFor(o, o.dryRun ? ['getKey'] : ['revokeKey']);
      if (o.dryRun) {
        const key = await client.getKey(keyId);
        process.stdout.write(`would revoke key ${key.id} (${key.name}, role ${key.role}), last used ${key.lastUsedAt ?? 'never'}${key.lastUsedIp ? ` from ${key.lastUsedIp}` : ''} (dry run: nothing changed)\n`);
        return;
      }
      await confirm(`Revoke key ${keyId}? Applications using it stop working at once; this cannot be undone.`, o.yes);
      const revoked = await client.revokeKey(keyId, o.reason === undefined ? {} : { reason: o.reason });
      if (o.quiet) return;
      if (tabular(o.output)) process.stdout.write(`key ${revoked.id} revoked\n`);
      else await printOne(revoked, KEY_VIEW, o.output);
    });
  examples(revoke, ['keyward keys revoke key_…', 'keyward keys revoke key_… --yes     # in scripts and CI', 'keyward keys revoke key_… --reason "contractor offboarded"', 'keyward keys revoke key_… --dry-run']);

  const rotate = apiCommand(keys, 'rotate <keyId>', 'issue a successor (same role and settings); the old key works until the grace period ends', {
    quiet: 'print the new secret alone',
  })
    .option('--grace-period <duration>', 'how long the old key keeps working at most, e.g. 24h, 0 for now', DEFAULT_ROTATION_OVERLAP)
    .addOption(
      new Option('--revoke-old <mode>', 'after-grace: the old key expires with the grace period; when-unused: the service revokes it once unused for --quiet-period')
        .choices(Object.keys(REVOKE_OLD_FLAGS))
        .default('after-grace'),
    )
    .option('--quiet-period <duration>', `with --revoke-old when-unused: how long the old key must go unused (default ${DEFAULT_QUIET_PERIOD})`)
    .option('--name <name>', 'successor name (default "<old name> v2")')
    .action(async (keyId: string, o: ApiFlags & { gracePeriod: string; revokeOld: keyof typeof REVOKE_OLD_FLAGS; quietPeriod?: string; name?: string }) => {
      const revokeOld = REVOKE_OLD_FLAGS[o.revokeOld];
      const rotated = await (await clientFor(o, ['rotateKey'])).rotateKey(keyId, {
        gracePeriod: o.gracePeriod,
        revokeOld,
        ...(o.quietPeriod !== undefined ? { quietPeriod: o.quietPeriod } : {}),
        ...(o.name ? { name: o.name } : {}),
      });
      if (o.quiet) return printSecretOnce(rotated.secret, rotated.key.id, true);
      if (!tabular(o.output)) return printResult(rotated, o.output, `key/${rotated.key.id}`);
      await printList([rotated.key, rotated.previous], KEY_VIEW, o.output);
      const until = `until ${rotated.previous.expiresAt}`;
      process.stderr.write(
        revokeOld === 'whenUnused'
          ? `\nOld key ${rotated.previous.id} is revoked once nothing used it for ${rotated.previous.transition?.quietPeriod}, at the latest ${until}; watch it with: keyward keys describe ${rotated.previous.id}\n`
          : `\nOld key ${rotated.previous.id} keeps working ${until}.\n`,
      );
      printSecretOnce(rotated.secret, rotated.key.id);
    });
  examples(rotate, [
    'keyward keys rotate key_… --grace-period 24h',
    'keyward keys rotate key_… --grace-period 24h --revoke-old when-unused --quiet-period 10m',
    'keyward keys rotate key_… --grace-period 0   # a leaked key: the old one stops now',
  ]);

  // An emergency: no confirmation (the replacement is the point), like the API call it makes.
  const compromise = apiCommand(keys, 'compromise <keyId>', 'a key leaked: revoke it now, issue a replacement (secret printed once), open an incident, notify', {
    quiet: 'print the replacement secret alone',
  })
    .requiredOption('--reason <text>', 'why the key is believed compromised (never the secret itself)')
    .option('--no-replace', 'revoke only: no replacement')
    .option('--no-notify', 'no notification to the alert webhook')
    .action(async (keyId: string, o: ApiFlags & { reason: string; replace: boolean; notify: boolean }) => {
      const result = await (await clientFor(o, ['compromiseKey'])).compromiseKey(keyId, { reason: o.reason, replace: o.replace, notify: o.notify });
      if (o.quiet) return result.replacement ? printSecretOnce(result.replacement.secret, result.replacement.key.id, true) : undefined;
      if (!tabular(o.output)) return printResult(result, o.output, `key/${result.revoked.id}`);
      await printList(result.replacement ? [result.replacement.key, result.revoked] : [result.revoked], KEY_VIEW, o.output);
      process.stderr.write(`\nKey ${result.revoked.id} revoked. Incident ${result.incident.id}:\n`);
      for (const action of result.incident.actions) process.stderr.write(`  ${action.at}  ${action.action}: ${action.detail}\n`);
      if (result.replacement) printSecretOnce(result.replacement.secret, result.replacement.key.id);
    });
  examples(compromise, ['keyward keys compromise key_… --reason "pasted in chat"', 'keyward keys compromise key_… --reason "in a public repo" --no-replace']);

  return keys;
}
