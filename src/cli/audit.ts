/** `keyward audit …`: the audit log: `list` (a table, newest first) and `export` (JSON lines, for archives and SIEMs). */
import { Command } from 'commander';
import type { AuditEvent, AuditQuery } from '../client/index.ts';
import { actorLabel } from '../core/actor.ts';
import { PAGE_LIMITS } from '../core/api-defaults.ts';
import { apiCommand, integer, type ApiFlags } from './command.ts';
import { clientFor } from './client.ts';
import { examples, summaryOf } from './commands.ts';
import { age, printList, progress, type View } from './output.ts';

type FilterFlags = ApiFlags & { action?: AuditQuery['action']; actor?: string; target?: string; from?: string; to?: string; limit?: number };

export const AUDIT_VIEW: View<AuditEvent> = {
  kind: 'event',
  plural: 'audit events',
  id: (event) => event.id,
  columns: [
    { header: 'AT', value: (event) => event.at },
    { header: 'ACTION', value: (event) => event.action },
    { header: 'ACTOR', value: (event) => actorLabel(event, '<service>') },
    { header: 'TARGET', value: (event) => `${event.targetType}/${event.targetId}` },
    { header: 'IP', value: (event) => event.ip },
    { header: 'AGE', value: (event, now) => age(event.at, now), wide: true },
    { header: 'ID', value: (event) => event.id, wide: true },
  ],
};

/** The API's filters, as flags of both subcommands. */
const filters = (command: Command): Command =>
  command
    .option('--action <action>', 'only this action, e.g. key.revoked')
    .option('--actor <keyId>', 'only events by this key')
    .option('--target <id>', 'only events about this key, role or address')
    .option('--from <iso>', 'only events at or after this time')
    .option('--to <iso>', 'only events at or before this time');

const queryOf = (o: FilterFlags) => ({ action: o.action, actorKeyId: o.actor, targetId: o.target, from: o.from, to: o.to });

export function auditCommand(): Command {
  const audit = new Command('audit').description(summaryOf('audit'));

  const list = filters(apiCommand(audit, 'list', 'list audit events, newest first')).option('--limit <n>', 'at most this many events', integer, PAGE_LIMITS.default);
  list.action(async (o: FilterFlags) => {
    const items: AuditEvent[] = [];
    for await (const event of (await clientFor(o, ['listAuditLog'])).allAuditEvents({ ...queryOf(o), limit: Math.min(o.limit!, PAGE_LIMITS.auditEvents) })) {
      items.push(event);
      if (items.length >= o.limit!) break;
    }
    await printList(items, AUDIT_VIEW, o.output);
  });
  examples(list, ['keyward audit list --action key.revoked', 'keyward audit list --actor key_… --from 2026-11-01T00:00:00Z -o wide']);

  const exported = filters(apiCommand(audit, 'export', 'print every audit event as one JSON object per line, newest first', { output: false }));
  exported.action(async (o: FilterFlags) => {
    let count = 0;
    const shown = progress();
    for await (const event of (await clientFor(o, ['listAuditLog'])).allAuditEvents(queryOf(o))) {
      process.stdout.write(`${JSON.stringify(event)}\n`);
      if (++count % 1000 === 0) shown.update(`exported ${count} audit events…`);
    }
    shown.done();
    process.stderr.write(`exported ${count} audit events\n`);
  });
  examples(exported, ['keyward audit export > audit.jsonl', 'keyward audit export --action key.created --from 2026-01-01T00:00:00Z | jq .targetId']);
  return audit;
}
