/** `keyward usage`: requests per key, UTC day and outcome (VALID or the error code). */
import { Command } from 'commander';
import type { UsageView } from '../client/index.ts';
import { isDuration, parseDuration } from '../core/duration.ts';
import { withApi, type ApiFlags } from './command.ts';
import { clientFor } from './client.ts';
import { examples, summaryOf } from './commands.ts';
import { CliUsageError } from './errors.ts';
import { printList, tabular, type View } from './output.ts';

type UsageRow = UsageView['items'][number];

export const USAGE_VIEW: View<UsageRow> = {
  kind: 'usage',
  plural: 'usage records',
  id: (row) => `${row.keyId}/${row.day}/${row.outcome}`,
  columns: [
    { header: 'DAY', value: (row) => row.day },
    { header: 'KEY ID', value: (row) => row.keyId },
    { header: 'OUTCOME', value: (row) => row.outcome },
    { header: 'REQUESTS', value: (row) => String(row.count) },
  ],
};

/** --since 7d: the first UTC day of the window (today counts as one of the days). */
export function sinceDay(since: string, now = Date.now()): string {
  if (!isDuration(since)) throw new CliUsageError(`--since "${since}" is not a duration such as 7d or 4w`);
  return new Date(now - parseDuration(since)).toISOString().slice(0, 10);
}

export function usageCommand(): Command {
  const command = withApi(new Command('usage').description(summaryOf('usage')))
    .option('--key <keyId>', 'only this key')
    .option('--since <duration>', 'from this long ago, e.g. 7d (default: the last 30 days)')
    .option('--from <day>', 'first day, YYYY-MM-DD (UTC)')
    .option('--to <day>', 'last day, YYYY-MM-DD (UTC; default today)')
    .action(async (o: ApiFlags & { key?: string; since?: string; from?: string; to?: string }) => {
      if (o.since && o.from) throw new CliUsageError('give --since or --from, not both');
      const from = o.since ? sinceDay(o.since) : o.from;
      const usage = await (await clientFor(o, ['getUsage'])).getUsage({ ...(o.key ? { keyId: o.key } : {}), ...(from ? { from } : {}), ...(o.to ? { to: o.to } : {}) });
      const rows = [...usage.items].sort((a, b) => a.day.localeCompare(b.day) || a.keyId.localeCompare(b.keyId) || a.outcome.localeCompare(b.outcome));
      await printList(rows, USAGE_VIEW, o.output);
      if (tabular(o.output)) process.stderr.write(`${usage.from} to ${usage.to}: ${rows.reduce((sum, row) => sum + row.count, 0)} requests\n`);
    });
  return examples(command, ['keyward usage --since 7d', 'keyward usage --key key_… --from 2026-11-01 --to 2026-11-30 -o json']);
}
