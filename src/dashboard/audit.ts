/**
 * Audit log tab: who did what, from where, when; newest first, paged by
 * cursor, filtered as the API filters (action, acting key, target, time
 * range; kept in the address: `#/audit?action=key.revoked&actor=key_…`).
 * Keys are shown by name with their Key ID. `AuditTable` is also a key's
 * trail on its page.
 */
import { h, type ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { AUDIT_ACTIONS } from '../core/model.ts';
import { actorShown } from '../core/actor.ts';
import type { AuditEvent, KeyView } from './api.ts';
import type { Ctx } from './context.ts';
import { describeChanges, formatDateTime } from './format.ts';
import { href, replaceRoute, type Route } from './router.ts';
import { ErrorBox, LoadError, Loading, useAsync } from './ui.ts';

type AuditFilters = { action: string; actor: string; target: string; from: string; to: string };
const FILTER_NAMES = ['action', 'actor', 'target', 'from', 'to'] as const;

const filtersOf = (route: Route): AuditFilters =>
  Object.fromEntries(FILTER_NAMES.map((name) => [name, route.query.get(name) ?? ''])) as AuditFilters;

/** datetime-local text (this browser's time zone) as the ISO instant the API takes; '' stays ''. */
const instant = (local: string): string => (local && !Number.isNaN(Date.parse(local)) ? new Date(local).toISOString() : local);

/** A key by name and Key ID (a link to its page when it is a key of this organization), or its id alone. */
/** The audit record's actor: a member's email, a key by name, or the service itself. */
export function Actor({ event, names }: { event: AuditEvent; names: ReadonlyMap<string, string> }) {
  const actor = actorShown(event);
  if (actor === null) return h('span', { class: 'muted' }, 'system');
  return 'member' in actor ? h('span', null, actor.member) : h(KeyName, { id: actor.key, names });
}

export function KeyName({ id, names }: { id: string; names: ReadonlyMap<string, string> }) {
  const name = names.get(id);
  return name === undefined
    ? h('code', null, id)
    : h('span', { class: 'key-ref' }, h('a', { href: href('keys', [id]) }, name), ' ', h('code', { class: 'muted' }, id));
}

/** Key names by id, for showing keys by name (every status; empty without api.key.view). */
export function useKeyNames(ctx: Ctx): ReadonlyMap<string, string> {
  const keys = useAsync<KeyView[]>(() => (ctx.mayCall('listKeys') ? ctx.api.keysUpTo({ status: 'all' }) : Promise.resolve([])), []);
  return new Map((keys.data ?? []).map((k) => [k.id, k.name]));
}

export function AuditTable({ items, names, caption }: { items: readonly AuditEvent[]; names: ReadonlyMap<string, string>; caption: string }) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'audit-table' },
      h('caption', { class: 'visually-hidden' }, caption),
      h('thead', null, h('tr', null, ['When', 'Action', 'Actor', 'IP', 'Target', 'Changes'].map((c) => h('th', { key: c, scope: 'col' }, c)))),
      h(
        'tbody',
        null,
        items.length === 0
          ? h('tr', null, h('td', { colSpan: 6, class: 'empty' }, 'No events.'))
          : items.map((event) => {
              const lines = describeChanges(event.changes);
              return h(
                'tr',
                { key: event.id },
                h('td', { 'data-label': 'When' }, h('time', { dateTime: event.at }, formatDateTime(event.at))),
                h('td', { 'data-label': 'Action' }, h('code', null, event.action)),
                h('td', { 'data-label': 'Actor' }, h(Actor, { event, names })),
                h('td', { 'data-label': 'IP' }, event.ip ?? '—'),
                h('td', { 'data-label': 'Target' }, h('span', null, `${event.targetType} `, event.targetType === 'key' ? h(KeyName, { id: event.targetId, names }) : h('code', null, event.targetId))),
                h('td', { 'data-label': 'Changes' }, lines.length === 0 ? h('span', { class: 'muted' }, '—') : h('ul', { class: 'changes' }, lines.map((l) => h('li', { key: l }, l)))),
              );
            }),
      ),
    ),
  );
}

function Filter({ id, label, children }: { id: string; label: string; children?: ComponentChildren }) {
  return h('div', { class: 'field' }, h('label', { for: id }, label), children);
}

export function AuditTab({ ctx, route }: { ctx: Ctx; route: Route }) {
  // The address is the filters' one copy: a link, Back or a reload shows what it says.
  const filters = filtersOf(route);
  const [items, setItems] = useState<AuditEvent[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [moreError, setMoreError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);
  const names = useKeyNames(ctx);
  const keyIds = [...names.keys()];

  const query = () => ({
    limit: 50,
    ...(filters.action ? { action: filters.action as (typeof AUDIT_ACTIONS)[number] } : {}),
    ...(filters.actor ? { actorKeyId: filters.actor } : {}),
    ...(filters.target ? { targetId: filters.target } : {}),
    ...(filters.from ? { from: instant(filters.from) } : {}),
    ...(filters.to ? { to: instant(filters.to) } : {}),
  });

  useEffect(() => {
    let live = true;
    setError(null);
    ctx.api.listAuditLog(query()).then(
      (page) => {
        if (!live) return;
        setItems(page.items);
        setCursor(page.nextCursor);
      },
      (e: unknown) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, [tick, JSON.stringify(filters)]);

  const more = async () => {
    setMoreError(null);
    try {
      const page = await ctx.api.listAuditLog({ ...query(), ...(cursor ? { cursor } : {}) });
      setItems((list) => [...(list ?? []), ...page.items]);
      setCursor(page.nextCursor);
    } catch (e) {
      setMoreError(e);
    }
  };
  const set = (name: keyof AuditFilters) => (e: Event) => replaceRoute(href('audit', [], { ...filters, [name]: (e.target as HTMLInputElement | HTMLSelectElement).value }));
  const keyOptions = (none: string) => [
    h('option', { key: '', value: '' }, none),
    ...keyIds.map((id) => h('option', { key: id, value: id }, `${names.get(id)} (${id})`)),
  ];
  const active = FILTER_NAMES.some((name) => filters[name] !== '');

  return h(
    'section',
    { 'aria-labelledby': 'tab-title' },
    h('div', { class: 'page-head' }, h('h1', { id: 'tab-title', tabIndex: -1 }, 'Audit log'), h('button', { type: 'button', class: 'button', onClick: () => setTick((t) => t + 1) }, 'Refresh')),
    h('p', { class: 'summary' }, 'Every change to keys, roles and settings: who (which key), from where, when. Secrets are never recorded.'),
    h(
      'div',
      { class: 'toolbar', role: 'search', 'aria-label': 'Filter the audit log' },
      h(Filter, { id: 'audit-action', label: 'Action' }, h('select', { id: 'audit-action', value: filters.action, onChange: set('action') }, h('option', { value: '' }, 'All actions'), AUDIT_ACTIONS.map((a) => h('option', { key: a, value: a }, a)))),
      h(Filter, { id: 'audit-actor', label: 'Actor key' }, h('select', { id: 'audit-actor', value: filters.actor, onChange: set('actor') }, keyOptions('Any actor'))),
      h(Filter, { id: 'audit-target', label: 'Target key' }, h('select', { id: 'audit-target', value: filters.target, onChange: set('target') }, keyOptions('Any target'))),
      h(Filter, { id: 'audit-from', label: 'From' }, h('input', { id: 'audit-from', type: 'datetime-local', value: filters.from, onChange: set('from') })),
      h(Filter, { id: 'audit-to', label: 'To' }, h('input', { id: 'audit-to', type: 'datetime-local', value: filters.to, onChange: set('to') })),
      active ? h('button', { type: 'button', class: 'button', onClick: () => replaceRoute(href('audit')) }, 'Clear filters') : null,
    ),
    error ? h(LoadError, { error, feature: 'The audit log', operation: 'listAuditLog' }) : null,
    items === null && !error ? h(Loading, { what: 'the audit log' }) : null,
    items && !error ? h(AuditTable, { items, names, caption: 'Audit log, newest first' }) : null,
    cursor ? h('button', { type: 'button', class: 'button', onClick: more }, 'Load more') : null,
    h(ErrorBox, { error: moreError }),
  );
}
