/**
 * `keyward allowlist …`: the organization's IP allowlist. set, add and remove
 * replace the list through the API, which refuses a list that locks out the
 * caller's address (SELF_LOCKOUT) unless --force. Each change asks for
 * confirmation (--yes without a terminal); --dry-run shows the list it would
 * save and whether it would lock this address out, and saves nothing.
 */
import { Command } from 'commander';
import type { IpAllowlistView } from '../client/index.ts';
import { addressAllowed, canonicalEntry, isAllowlistEntry } from '../core/ip.ts';
import { apiCommand, yesOption, type ApiFlags } from './command.ts';
import { clientFor } from './client.ts';
import { examples, summaryOf } from './commands.ts';
import { confirm } from './confirm.ts';
import { CliUsageError } from './errors.ts';
import { printResult, renderDescribe, tabular } from './output.ts';

type ChangeFlags = ApiFlags & { force?: boolean };

/** What a change does to the list: the new list, pure. */
export function changedList(current: readonly string[], change: { set?: string[]; add?: string[]; remove?: string[] }): string[] {
  const canonical = (entries: string[] = []) =>
    entries.map((entry) => {
      if (!isAllowlistEntry(entry)) throw new CliUsageError(`"${entry}" is not an IP address or CIDR range (e.g. 203.0.113.7 or 10.0.0.0/8)`);
      return canonicalEntry(entry);
    });
  if (change.set) return [...new Set(canonical(change.set))];
  const removed = new Set(canonical(change.remove));
  const missing = [...removed].filter((entry) => !current.includes(entry));
  if (missing.length > 0) throw new CliUsageError(`not on the allowlist: ${missing.join(', ')}`);
  return [...new Set([...current, ...canonical(change.add)])].filter((entry) => !removed.has(entry));
}

function printAllowlist(view: IpAllowlistView, o: ApiFlags): Promise<void> | void {
  if (!tabular(o.output)) return printResult(view, o.output, 'allowlist');
  process.stdout.write(
    renderDescribe([
      ['Entries', view.entries.length === 0 ? 'none (every address may call)' : view.entries],
      ['Your address', view.callerIp],
    ]),
  );
}

async function change(o: ChangeFlags, what: { set?: string[]; add?: string[]; remove?: string[] }): Promise<void> {
  const client = await clientFor(o, o.dryRun ? ['getIpAllowlist'] : ['getIpAllowlist', 'putIpAllowlist']);
  const current = await client.getIpAllowlist();
  const entries = changedList(current.entries, what);
  const locksOut = entries.length > 0 && !addressAllowed(current.callerIp, entries);
  if (o.dryRun) {
    await printAllowlist({ entries, callerIp: current.callerIp }, o);
    process.stderr.write(`${locksOut ? `would lock out your address ${current.callerIp} (the service refuses without --force)\n` : ''}dry run: nothing changed\n`);
    return;
  }
  const summary = entries.length === 0 ? 'clear the IP allowlist (every address may call)' : `set the IP allowlist to ${entries.join(', ')}`;
  await confirm(`${summary[0]!.toUpperCase()}${summary.slice(1)}${locksOut ? `, locking out your address ${current.callerIp}` : ''}?`, o.yes);
  await printAllowlist(await client.putIpAllowlist({ entries, force: o.force === true }), o);
}

const changeCommand = (allowlist: Command, nameAndArgs: string, description: string) =>
  apiCommand(allowlist, nameAndArgs, description)
    .addOption(yesOption())
    .option('--force', 'save even if the list locks out the address of this call')
    .option('--dry-run', 'show the list that would be saved; change nothing');

export function allowlistCommand(): Command {
  const allowlist = new Command('allowlist').description(summaryOf('allowlist'));
  const get = apiCommand(allowlist, 'get', 'show the allowlist and the address this call came from').action(async (o: ApiFlags) =>
    printAllowlist(await (await clientFor(o, ['getIpAllowlist'])).getIpAllowlist(), o),
  );
  examples(get, ['keyward allowlist get', "keyward allowlist get -o jsonpath='{.callerIp}'"]);
  const set = changeCommand(allowlist, 'set [entries...]', 'replace the allowlist (no entries: any address may call)').action((entries: string[], o: ChangeFlags) =>
    change(o, { set: entries }),
  );
  examples(set, ['keyward allowlist set 10.0.0.0/8 203.0.113.7', 'keyward allowlist set --yes        # clear it', 'keyward allowlist set 10.0.0.0/8 --dry-run']);
  const add = changeCommand(allowlist, 'add <entries...>', 'add addresses or ranges').action((entries: string[], o: ChangeFlags) => change(o, { add: entries }));
  examples(add, ['keyward allowlist add 198.51.100.0/24']);
  const remove = changeCommand(allowlist, 'remove <entries...>', 'remove addresses or ranges').action((entries: string[], o: ChangeFlags) => change(o, { remove: entries }));
  examples(remove, ['keyward allowlist remove 198.51.100.0/24 --yes']);
  return allowlist;
}
