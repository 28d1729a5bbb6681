/**
 * `keyward incidents …`: compromise and leak reports (`keys compromise`,
 * GitHub secret scanning) and the investigation view of one: what was done,
 * who used the key from where before the report, and its audit trail.
 */
import { Command } from 'commander';
import type { Incident, QueryInput, Result } from '../client/index.ts';
import { actorLabel } from '../core/actor.ts';
import { PAGE_LIMITS } from '../core/api-defaults.ts';
import { apiCommand, integer, type ApiFlags } from './command.ts';
import { clientFor } from './client.ts';
import { examples, summaryOf } from './commands.ts';
import { age, printIds, printList, printOne, renderDescribe, tabular, when, type View } from './output.ts';

type IncidentRow = Result<'listIncidents'>['items'][number];

const reporter = (incident: IncidentRow): string => {
  const by = incident.reportedBy;
  if (by.via === 'github-secret-scanning') return `GitHub secret scanning${by.url ? ` (${by.url})` : ''}`;
  return by.memberEmail ?? by.keyId ?? '<unknown>';
};

export const INCIDENT_VIEW: View<IncidentRow> = {
  kind: 'incident',
  plural: 'incidents',
  id: (incident) => incident.id,
  columns: [
    { header: 'ID', value: (incident) => incident.id },
    { header: 'KEY ID', value: (incident) => incident.keyId },
    { header: 'KEY NAME', value: (incident) => incident.keyName },
    { header: 'RESPONSE', value: (incident) => incident.response },
    { header: 'STATE', value: (incident) => incident.state },
    { header: 'REPORTED BY', value: reporter },
    { header: 'AGE', value: (incident, now) => age(incident.reportedAt, now) },
    { header: 'REPLACEMENT', value: (incident) => incident.replacementKeyId, wide: true },
    { header: 'REASON', value: (incident) => incident.reason, wide: true },
  ],
};

/** The `incidents describe` view, like `kubectl describe`. Pure: data in, text out. */
export function describeIncident(incident: Incident, now = Date.now()): string {
  const { investigation: inv } = incident;
  return renderDescribe([
    ['ID', incident.id],
    ['Key', `${incident.keyId} (${incident.keyName})`],
    ['Reason', incident.reason],
    ['Reported', `${when(incident.reportedAt, now)} by ${reporter(incident)}${incident.reportedBy.ip ? ` from ${incident.reportedBy.ip}` : ''}`],
    ['Response', incident.response],
    ['State', incident.state],
    ['Replacement', incident.replacementKeyId ?? '<none>'],
    ['Actions', incident.actions.map((a) => `${a.at}  ${a.action}: ${a.detail}`)],
    ['Notifications', incident.notifications.map((n) => `${n.at}  attempt ${n.attempt}: ${n.outcome}${n.httpStatus === null ? '' : ` (HTTP ${n.httpStatus})`}`)],
    ['Window', `${inv.window.from} to ${inv.window.to}`],
    ['Last used', inv.lastUsedAt ? `${when(inv.lastUsedAt, now)}${inv.lastUsedIp ? ` from ${inv.lastUsedIp}` : ''}` : '<never>'],
    ['Uses', inv.uses.map((u) => `${u.day}  ${u.outcome}  ${u.count}`)],
    [
      'Addresses',
      inv.addresses.map(
        (a) => `${a.ip ?? '<unknown address>'}  ${a.outcome}${a.permission ? ` (${a.permission})` : ''}  ${a.count}×, ${a.firstSeen} to ${a.lastSeen}${a.onlyThisKey ? ', used no other key' : ''}`,
      ),
    ],
    ...(inv.unitemizedUses > 0 ? [['Unitemized uses', String(inv.unitemizedUses)] as [string, string]] : []),
    ['Audit trail', inv.auditTrail.map((e) => `${e.at}  ${e.action} by ${actorLabel(e, '<service>')}`)],
  ]);
}

export function incidentsCommand(): Command {
  const incidents = new Command('incidents').description(summaryOf('incidents'));

  const list = apiCommand(incidents, 'list', 'list compromise and leak reports, newest first', { quiet: 'print the incident ids alone' })
    .option('--key <keyId>', 'only incidents about this key')
    .option('--limit <n>', 'at most this many incidents', integer, PAGE_LIMITS.default);
  list.action(async (o: ApiFlags & { key?: string; limit: number }) => {
    const client = await clientFor(o, ['listIncidents']);
    const items: IncidentRow[] = [];
    const query: NonNullable<QueryInput<'listIncidents'>> = { limit: Math.min(o.limit, PAGE_LIMITS.incidents), ...(o.key ? { keyId: o.key } : {}) };
    let cursor: string | undefined;
    do {
      const page = await client.listIncidents({ ...query, ...(cursor ? { cursor } : {}) });
      items.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor && items.length < o.limit);
    const shown = items.slice(0, o.limit);
    if (o.quiet) return printIds(shown);
    await printList(shown, INCIDENT_VIEW, o.output);
  });
  examples(list, ['keyward incidents list', 'keyward incidents list --key key_… -o wide']);

  const get = apiCommand(incidents, 'get <incidentId>', 'show one incident as a table row; -o json or yaml for everything, its investigation too').action(async (id: string, o: ApiFlags) =>
    printOne(await (await clientFor(o, ['getIncident'])).getIncident(id), INCIDENT_VIEW, o.output),
  );
  examples(get, ['keyward incidents get inc_… -o json']);

  const describe = apiCommand(incidents, 'describe <incidentId>', "show an incident and its investigation: what was done, the key's uses by address, its audit trail").action(
    async (id: string, o: ApiFlags) => {
      const incident = await (await clientFor(o, ['getIncident'])).getIncident(id);
      if (tabular(o.output)) process.stdout.write(describeIncident(incident));
      else await printOne(incident, INCIDENT_VIEW, o.output);
    },
  );
  examples(describe, ['keyward incidents describe inc_…']);

  return incidents;
}
