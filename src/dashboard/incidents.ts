/** Incidents tab: compromise and leak reports (#/incidents), and one incident with its investigation view (#/incidents/<id>). */
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { Incident, IncidentSummary } from './api.ts';
import { actorLabel, actorShown } from '../core/actor.ts';
import type { Ctx } from './context.ts';
import { describeChanges, formatDateTime } from './format.ts';
import { Badge, LoadError, Loading } from './ui.ts';

/** The incident id in the URL (#/incidents/inc_…), if any. */
const incidentInHash = (): string | undefined => /^#\/incidents\/(inc_[0-9A-Za-z]+)$/.exec(location.hash)?.[1];

function reporter({ reportedBy: by }: IncidentSummary): string {
  if (by.via === 'github-secret-scanning') return `GitHub secret scanning${by.url ? ` (${by.url})` : ''}`;
  const who = by.memberEmail ?? (by.keyId ? `key ${by.keyId}` : 'a member');
  return `${who}${by.ip ? ` from ${by.ip}` : ''}`;
}

export function IncidentsTab({ ctx }: { ctx: Ctx }) {
  const [id, setId] = useState(incidentInHash());
  useEffect(() => {
    const onHash = () => setId(incidentInHash());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  return id ? h(IncidentPage, { ctx, id }) : h(IncidentList, { ctx });
}

function IncidentList({ ctx }: { ctx: Ctx }) {
  const [items, setItems] = useState<IncidentSummary[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let live = true;
    ctx.api.listIncidents({ limit: 100 }).then(
      (page) => live && setItems(page.items),
      (e: unknown) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, []);
  return h(
    'section',
    { 'aria-labelledby': 'tab-title' },
    h('div', { class: 'page-head' }, h('h1', { id: 'tab-title', tabIndex: -1 }, 'Incidents')),
    h('p', { class: 'summary' }, 'Keys reported compromised or leaked: what was done and when. Newest first.'),
    error ? h(LoadError, { error, feature: 'Incidents', operation: 'listIncidents' }) : null,
    items === null && !error ? h(Loading, { what: 'the incidents' }) : null,
    items && items.length === 0 ? h('p', null, 'No incidents.') : null,
    items && items.length > 0
      ? h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            null,
            h('caption', { class: 'visually-hidden' }, 'Incidents, newest first'),
            h('thead', null, h('tr', null, ['Reported', 'Key', 'Reason', 'Reported by', 'State'].map((c) => h('th', { key: c, scope: 'col' }, c)))),
            h(
              'tbody',
              null,
              items.map((incident) =>
                h(
                  'tr',
                  { key: incident.id },
                  h('td', null, h('a', { href: `#/incidents/${incident.id}` }, formatDateTime(incident.reportedAt))),
                  h('th', { scope: 'row' }, incident.keyName, ' ', h('code', null, incident.keyId)),
                  h('td', null, incident.reason),
                  h('td', null, reporter(incident)),
                  h('td', null, h(Badge, { tone: incident.state === 'handled' ? 'success' : 'warning' }, incident.state === 'handled' ? 'Handled' : 'Pending')),
                ),
              ),
            ),
          ),
        )
      : null,
  );
}

function IncidentPage({ ctx, id }: { ctx: Ctx; id: string }) {
  const [incident, setIncident] = useState<Incident | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let live = true;
    setIncident(null);
    setError(null);
    ctx.api.getIncident(id).then(
      (found) => live && setIncident(found),
      (e: unknown) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, [id]);
  return h(
    'section',
    { 'aria-labelledby': 'tab-title' },
    h('p', null, h('a', { href: '#/incidents' }, '← All incidents')),
    error ? h(LoadError, { error, feature: 'This incident', operation: 'getIncident' }) : null,
    incident === null && !error ? h(Loading, { what: 'the incident' }) : null,
    incident
      ? h(
          'div',
          null,
          h('div', { class: 'page-head' }, h('h1', { id: 'tab-title', tabIndex: -1 }, `Incident: ${incident.keyName}`)),
          h(
            'dl',
            { class: 'secret-fields' },
            h('dt', null, 'Key'),
            h('dd', null, h('code', null, incident.keyId)),
            h('dt', null, 'Reason'),
            h('dd', null, incident.reason),
            h('dt', null, 'Reported'),
            h('dd', null, `${formatDateTime(incident.reportedAt)} by ${reporter(incident)}`),
            h('dt', null, 'Replacement'),
            h('dd', null, incident.replacementKeyId ? h('code', null, incident.replacementKeyId) : 'none issued here'),
          ),
          h('h2', null, 'What was done'),
          h('ol', { class: 'incident-actions' }, incident.actions.map((a, i) => h('li', { key: i }, h('strong', null, a.action), ` ${formatDateTime(a.at)}: ${a.detail}`))),
          h('h2', null, 'Notifications'),
          incident.notifications.length === 0
            ? h('p', null, 'None sent.')
            : h('ul', null, incident.notifications.map((n, i) => h('li', { key: i }, `${formatDateTime(n.at)}: attempt ${n.attempt}, ${n.outcome}${n.httpStatus ? ` (HTTP ${n.httpStatus})` : ''}`))),
          h('h2', null, 'Investigation'),
          h(
            'p',
            null,
            `Uses from ${incident.investigation.window.from} to ${incident.investigation.window.to}. Last used ${incident.investigation.lastUsedAt ? `${formatDateTime(incident.investigation.lastUsedAt)} from ${incident.investigation.lastUsedIp ?? 'an unknown address'}` : 'never'}.`,
          ),
          incident.investigation.uses.length > 0
            ? h(
                'div',
                { class: 'table-wrap' },
                h(
                  'table',
                  null,
                  h('caption', null, 'Uses per day and outcome'),
                  h('thead', null, h('tr', null, ['Day', 'Outcome', 'Requests'].map((c) => h('th', { key: c, scope: 'col' }, c)))),
                  h('tbody', null, incident.investigation.uses.map((u) => h('tr', { key: `${u.day}|${u.outcome}` }, h('td', null, u.day), h('td', null, u.outcome), h('td', null, String(u.count))))),
                ),
              )
            : h('p', null, 'No uses in that window.'),
          h(AddressTable, { investigation: incident.investigation }),
          h('h3', null, 'Audit trail of the key'),
          h('ul', null, incident.investigation.auditTrail.map((e) => h('li', { key: e.id }, `${formatDateTime(e.at)} ${e.action}${actorShown(e) ? ` by ${actorLabel(e, '')}` : ''}${describeChanges(e.changes).length > 0 ? `: ${describeChanges(e.changes).join('; ')}` : ''}`))),
        )
      : null,
  );
}

/** The key's uses by client address, outcome and requested permission; addresses that used no other key of the organization stand out. */
function AddressTable({ investigation }: { investigation: Incident['investigation'] }) {
  const { addresses, unitemizedUses } = investigation;
  const unitemized = unitemizedUses > 0 ? h('p', { class: 'summary' }, `${unitemizedUses} more uses are counted above but not by address (past the addresses kept per key and day).`) : null;
  if (addresses.length === 0) return h('div', null, h('p', null, 'No uses by address in that window.'), unitemized);
  return h(
    'div',
    null,
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { 'data-testid': 'incident-addresses' },
        h('caption', null, 'Uses by client address, outcome and permission'),
        h('thead', null, h('tr', null, ['Address', 'Outcome', 'Permission', 'Requests', 'First seen', 'Last seen', 'Other keys'].map((c) => h('th', { key: c, scope: 'col' }, c)))),
        h(
          'tbody',
          null,
          addresses.map((a) =>
            h(
              'tr',
              { key: `${a.ip ?? ''}|${a.outcome}|${a.permission ?? ''}` },
              h('th', { scope: 'row' }, a.ip === null ? 'unknown' : h('code', null, a.ip)),
              h('td', null, a.outcome),
              h('td', null, a.permission === null ? '—' : h('code', null, a.permission)),
              h('td', null, String(a.count)),
              h('td', null, formatDateTime(a.firstSeen)),
              h('td', null, formatDateTime(a.lastSeen)),
              h('td', null, a.onlyThisKey === null ? '—' : a.onlyThisKey ? h(Badge, { tone: 'warning' }, 'None: only this key') : 'Used others too'),
            ),
          ),
        ),
      ),
    ),
    unitemized,
  );
}
