/**
 * `keyward events`: the change feed of keys (created, edited, rotated,
 * revoked, compromised), the one the operator follows. Without --after the
 * feed starts now and only its cursor is known; with --after CURSOR it lists
 * what followed it; --watch keeps following with long polls (as
 * `kubectl get -w`), printing each change as it is committed, until stopped.
 */
import { Command, Option } from 'commander';
import type { KeyEvent, QueryInput } from '../client/index.ts';
import { MAX_EVENTS_WAIT } from '../core/schemas.ts';
import { withApi, type ApiFlags } from './command.ts';
import { clientFor } from './client.ts';
import { examples, summaryOf } from './commands.ts';
import { CliUsageError } from './errors.ts';
import { printList, tabular, type OutputFormat, type View } from './output.ts';

/** The most the API returns in one call: a full page means there may be more. */
const PAGE = 1000;

const changed = (event: KeyEvent): string => Object.keys(event.changes?.after ?? {}).join(',');

export const EVENT_VIEW: View<KeyEvent> = {
  kind: 'event',
  plural: 'key events',
  id: (event) => event.cursor,
  columns: [
    { header: 'CURSOR', value: (event) => event.cursor },
    { header: 'AT', value: (event) => event.at },
    { header: 'ACTION', value: (event) => event.action },
    { header: 'KEY ID', value: (event) => event.keyId },
    { header: 'CHANGED', value: changed },
    { header: 'METADATA', value: (event) => Object.entries(event.metadata).map(([k, v]) => `${k}=${v}`).join(','), wide: true },
  ],
};

/** Column widths for rows printed one batch at a time (a watch): wide enough for every cursor, time, key action and Key ID. */
const STREAM_WIDTHS: Record<string, number> = { CURSOR: 8, AT: 24, ACTION: 17, 'KEY ID': 24, CHANGED: 24 };

/** One row of a watched table (pure): cells padded to fixed widths, so rows of later batches line up with the first. */
export function streamRow(cells: string[], headers: string[]): string {
  return `${cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(Math.max(STREAM_WIDTHS[headers[i]!] ?? 0, cell.length) + 3))).join('')}\n`;
}

/** Prints events as they arrive: table rows, one JSON object a line, YAML documents, names or a template per event. */
async function printStreamed(events: KeyEvent[], format: OutputFormat): Promise<void> {
  if (format === 'json') return void process.stdout.write(events.map((event) => `${JSON.stringify(event)}\n`).join(''));
  if (format === 'yaml') {
    const { stringify } = await import('yaml');
    return void process.stdout.write(events.map((event) => `---\n${stringify(event)}`).join(''));
  }
  if (tabular(format)) {
    const columns = EVENT_VIEW.columns.filter((c) => format === 'wide' || !c.wide);
    const headers = columns.map((c) => c.header);
    const now = Date.now();
    return void process.stdout.write(events.map((event) => streamRow(columns.map((c) => c.value(event, now) || '<none>'), headers)).join(''));
  }
  for (const event of events) await printList([event], EVENT_VIEW, format);
}

type EventsFlags = ApiFlags & { after?: string; watch?: boolean; managed: 'operator' | 'all' };

export function eventsCommand(): Command {
  const command = withApi(new Command('events').description(summaryOf('events')), { quiet: 'print only the cursor to resume from (pass it to --after next time)' })
    .option('--after <cursor>', 'the changes after this cursor (one printed by an earlier run); default: from now')
    .option('-w, --watch', `keep following: wait for each change (long polls of up to ${MAX_EVENTS_WAIT}) and print it as it comes, until stopped (Ctrl-C)`)
    .addOption(new Option('--managed <which>', 'operator: only keys the Kubernetes operator manages (their metadata names an ApiKey)').choices(['operator', 'all']).default('all'));
  command.action(async (o: EventsFlags) => {
    if (o.watch && o.quiet) throw new CliUsageError('--quiet prints the cursor to resume from, which a watch never reaches: use --watch -o name for one line per change');
    const client = await clientFor(o, ['listEvents']);
    const query = (after: string | undefined, wait = '0'): NonNullable<QueryInput<'listEvents'>> => ({ managed: o.managed, limit: PAGE, wait, ...(after === undefined ? {} : { after }) });
    // What followed --after, page by page (a full page may have more behind it); without it, only where the feed is now.
    const events: KeyEvent[] = [];
    let page = await client.listEvents(query(o.after));
    events.push(...page.items);
    while (o.after !== undefined && page.items.length === PAGE) {
      page = await client.listEvents(query(page.cursor));
      events.push(...page.items);
    }
    let cursor = page.cursor;

    if (!o.watch) {
      if (o.quiet) return void process.stdout.write(`${cursor}\n`);
      await printList(events, EVENT_VIEW, o.output);
      process.stderr.write(`cursor ${cursor}: continue with --after ${cursor}\n`);
      return;
    }
    if (tabular(o.output)) {
      const headers = EVENT_VIEW.columns.filter((c) => o.output === 'wide' || !c.wide).map((c) => c.header);
      process.stdout.write(streamRow(headers, headers));
    }
    await printStreamed(events, o.output);
    process.stderr.write(`watching key events after cursor ${cursor} (Ctrl-C to stop)\n`);
    for (;;) {
      const next = await client.listEvents(query(cursor, MAX_EVENTS_WAIT));
      await printStreamed(next.items, o.output);
      cursor = next.cursor;
    }
  });
  return examples(command, [
    'keyward events -q > cursor.txt                      # where the feed is now',
    'keyward events --after "$(cat cursor.txt)"          # what changed since',
    'keyward events --watch                              # follow changes as they happen',
    'keyward events --watch --managed operator -o json   # one JSON object a line',
  ]);
}
