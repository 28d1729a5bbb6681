/** Audit log tab: who did what, from where, when; newest first, paged by cursor. */
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { AuditEvent } from './api.ts';
import type { Ctx } from './context.ts';
import { describeChanges, formatDateTime } from './format.ts';
import { ErrorBox, LoadError, Loading } from './ui.ts';

export function AuditTab({ ctx }: { ctx: Ctx }) {
  const [items, setItems] = useState<AuditEvent[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [moreError, setMoreError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    let live = true;
    setError(null);
    ctx.api.listAuditLog({ limit: 50 }).then(
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
  }, [tick]);

  const more = async () => {
    setMoreError(null);
    try {
      const page = await ctx.api.listAuditLog({ limit: 50, ...(cursor ? { cursor } : {}) });
      setItems((list) => [...(list ?? []), ...page.items]);
      setCursor(page.nextCursor);
    } catch (e) {
      setMoreError(e);
    }
  };

  return h(
    'section',
    { 'aria-labelledby': 'tab-title' },
    h('div', { class: 'page-head' }, h('h1', { id: 'tab-title', tabIndex: -1 }, 'Audit log'), h('button', { type: 'button', class: 'button', onClick: () => setTick((t) => t + 1) }, 'Refresh')),
    h('p', { class: 'summary' }, 'Every change to keys, roles and settings: who (which key), from where, when. Secrets are never recorded.'),
    error ? h(LoadError, { error, feature: 'The audit log', operation: 'listAuditLog' }) : null,
    items === null && !error ? h(Loading, { what: 'the audit log' }) : null,
    items
      ? h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { class: 'audit-table' },
            h('caption', { class: 'visually-hidden' }, 'Audit log, newest first'),
            h('thead', null, h('tr', null, ['When', 'Action', 'Actor key', 'IP', 'Target', 'Changes'].map((c) => h('th', { key: c, scope: 'col' }, c)))),
            h(
              'tbody',
              null,
              items.length === 0
                ? h('tr', null, h('td', { colSpan: 6, class: 'empty' }, 'No events yet.'))
                : items.map((event) =>
                    h(
                      'tr',
                      { key: event.id },
                      h('td', { 'data-label': 'When' }, h('time', { dateTime: event.at }, formatDateTime(event.at))),
                      h('td', { 'data-label': 'Action' }, h('code', null, event.action)),
                      h('td', { 'data-label': 'Actor key' }, event.actorKeyId ? h('code', null, event.actorKeyId) : h('span', { class: 'muted' }, 'system')),
                      h('td', { 'data-label': 'IP' }, event.ip ?? '—'),
                      h('td', { 'data-label': 'Target' }, h('span', null, `${event.targetType} `, h('code', null, event.targetId))),
                      h(
                        'td',
                        { 'data-label': 'Changes' },
                        (() => {
                          const lines = describeChanges(event.changes);
                          return lines.length === 0 ? h('span', { class: 'muted' }, '—') : h('ul', { class: 'changes' }, lines.map((l) => h('li', { key: l }, l)));
                        })(),
                      ),
                    ),
                  ),
            ),
          ),
        )
      : null,
    cursor ? h('button', { type: 'button', class: 'button', onClick: more }, 'Load more') : null,
    h(ErrorBox, { error: moreError }),
  );
}
