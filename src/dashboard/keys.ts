/**
 * API Keys tab: the table of keys (active by default; a status filter shows
 * expired and revoked ones), search and filters, and the dialogs. A key's own
 * page is `#/keys/<Key ID>` (key-page.ts).
 */
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { KeywardApiError, type KeyView } from './api.ts';
import { ENVIRONMENTS } from '../core/rotation.ts';
import { rotationHint, type Ctx } from './context.ts';
import { filterKeys, formatDate, formatDateTime, relativeTime, type Attention, type KeyQuery, type KeyStatusFilter } from './format.ts';
import { KeyDialogs, type KeyDialog } from './key-dialogs.ts';
import { KeyPage } from './key-page.ts';
import { StatusBadges } from './key-status.ts';
import { href, replaceRoute, type Route } from './router.ts';
import { CopyButton, ErrorBox, Loading } from './ui.ts';

function KeyRow({ ctx, apiKey, now, open }: { ctx: Ctx; apiKey: KeyView; now: number; open: (d: KeyDialog) => void }) {
  const own = apiKey.id === ctx.me.key?.id;
  const roleName = ctx.roles?.find((r) => r.id === apiKey.role)?.name ?? apiKey.role;
  const actions = [];
  const active = apiKey.status === 'active';
  if (active && ctx.mayCall('updateKey')) actions.push(h('button', { key: 'e', type: 'button', class: 'button small', 'aria-label': `Edit ${apiKey.name}`, onClick: () => open({ kind: 'edit', key: apiKey }) }, 'Edit'));
  if (active && ctx.mayCall('rotateKey') && !apiKey.rotatedToId)
    actions.push(h('button', { key: 'r', type: 'button', class: 'button small', 'aria-label': `Rotate ${apiKey.name}`, onClick: () => open({ kind: 'rotate', key: apiKey }) }, 'Rotate'));
  if (active && ctx.mayCall('revokeKey'))
    actions.push(h('button', { key: 'x', type: 'button', class: 'button small danger', 'aria-label': `Revoke ${apiKey.name}`, onClick: () => open({ kind: 'revoke', key: apiKey }) }, 'Revoke'));
  return h(
    'tr',
    { 'data-key-id': apiKey.id },
    h('th', { scope: 'row', 'data-label': 'Name' }, h('a', { href: href('keys', [apiKey.id]) }, apiKey.name, own ? h('span', { class: 'you' }, ' (this session)') : null)),
    h('td', { 'data-label': 'Key ID' }, h('span', { class: 'nowrap' }, h('code', { class: 'key-id' }, apiKey.id), ' ', h(CopyButton, { text: apiKey.id, label: `Copy Key ID of ${apiKey.name}` }))),
    h('td', { 'data-label': 'Role' }, roleName),
    h('td', { 'data-label': 'Environment' }, apiKey.environment),
    h('td', { 'data-label': 'Created' }, h('time', { dateTime: apiKey.createdAt, title: formatDateTime(apiKey.createdAt) }, formatDate(apiKey.createdAt))),
    h(
      'td',
      { 'data-label': 'Last used' },
      apiKey.lastUsedAt ? h('time', { dateTime: apiKey.lastUsedAt, title: formatDateTime(apiKey.lastUsedAt) }, relativeTime(apiKey.lastUsedAt, now)) : 'Never',
    ),
    h('td', { 'data-label': 'Status' }, h(StatusBadges, { apiKey, now })),
    h('td', { 'data-label': 'Actions' }, actions.length > 0 ? h('span', { class: 'actions' }, actions) : h('span', { class: 'muted' }, '—')),
  );
}

const STATUS_FILTERS: [KeyStatusFilter, string][] = [
  ['active', 'Active'],
  ['expired', 'Expired'],
  ['revoked', 'Revoked'],
  ['all', 'All statuses'],
];

/** The filters from the address (`#/keys?status=revoked&q=…`), so a filtered table can be linked. */
function queryOf(route: Route): KeyQuery {
  const q = route.query;
  const status = STATUS_FILTERS.find(([value]) => value === q.get('status'))?.[0] ?? 'active';
  const attention = (['rotation-due', 'unused'] as const).find((a) => a === q.get('show')) ?? 'all';
  return { search: q.get('q') ?? '', role: q.get('role') ?? '', environment: q.get('environment') ?? '', attention, status };
}

const linkOf = (query: KeyQuery): string =>
  href('keys', [], {
    q: query.search,
    role: query.role,
    environment: query.environment,
    show: query.attention === 'all' ? undefined : query.attention,
    status: query.status === 'active' ? undefined : query.status,
  });

/** The Keys section: a key's page when the address names one, else the table. */
export function KeysTab({ ctx, route }: { ctx: Ctx; route: Route }) {
  return route.rest[0] ? h(KeyPage, { key: route.rest[0], ctx, keyId: route.rest[0] }) : h(KeysTable, { ctx, route });
}

function KeysTable({ ctx, route }: { ctx: Ctx; route: Route }) {
  const [keys, setKeys] = useState<KeyView[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  // The address is the filters' one copy: a link, Back or a reload shows what it says.
  const query = queryOf(route);
  const [serverFiltered, setServerFiltered] = useState(false);
  const [dialog, setDialog] = useState<KeyDialog>(null);
  const [tick, setTick] = useState(0);
  const reload = () => setTick((t) => t + 1);

  useEffect(() => {
    let live = true;
    const load = async () => {
      const attention = query.attention === 'rotation-due' ? { rotationDue: 'true' as const } : query.attention === 'unused' ? { unusedFor: '30d' } : {};
      const status = { status: query.status };
      try {
        const list = await ctx.api.keysUpTo({ ...status, ...attention });
        if (live) {
          setKeys(list);
          setServerFiltered(query.attention !== 'all');
          setError(null);
        }
      } catch (e) {
        // An older service without the attention filters: filter here instead.
        if (query.attention !== 'all' && e instanceof KeywardApiError && e.code === 'VALIDATION_FAILED') {
          const list = await ctx.api.keysUpTo(status);
          if (live) {
            setKeys(list);
            setServerFiltered(false);
            setError(null);
          }
          return;
        }
        if (live) setError(e);
      }
    };
    load().catch((e: unknown) => live && setError(e));
    return () => {
      live = false;
    };
  }, [tick, query.attention, query.status]);

  const now = Date.now();
  const visible = keys ? filterKeys(keys, serverFiltered ? { ...query, attention: 'all' } : query, now) : [];
  const org = ctx.org && ctx.org !== 'unavailable' ? ctx.org : null;
  const set = (patch: Partial<KeyQuery>) => replaceRoute(linkOf({ ...query, ...patch }));
  const statusLabel = STATUS_FILTERS.find(([value]) => value === query.status)![1].toLowerCase();
  const hint = rotationHint(ctx.org);

  return h(
    'section',
    { 'aria-labelledby': 'tab-title' },
    h(
      'div',
      { class: 'page-head' },
      h('h1', { id: 'tab-title', tabIndex: -1 }, 'API Keys'),
      ctx.mayCall('createKey') ? h('button', { type: 'button', class: 'button primary', onClick: () => setDialog({ kind: 'create' }) }, '+ Create New Key') : null,
    ),
    org
      ? h(
          'p',
          { class: 'summary', 'data-testid': 'key-limit' },
          org.activeKeyLimit === null
            ? `${org.plan} plan: no limit on active keys (${org.activeKeys} counted).`
            : `${org.plan} plan: ${org.activeKeys} of ${org.activeKeyLimit} active keys used.${org.activeKeys >= org.activeKeyLimit ? ' Revoke unused keys or upgrade the plan to create more.' : ''}`,
        )
      : null,
    h(
      'div',
      { class: 'toolbar', role: 'search' },
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'key-search' }, 'Search'),
        h('input', { id: 'key-search', type: 'search', placeholder: 'Name or Key ID', value: query.search, onInput: (e: Event) => set({ search: (e.target as HTMLInputElement).value }) }),
      ),
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'key-role-filter' }, 'Role'),
        h(
          'select',
          { id: 'key-role-filter', value: query.role, onChange: (e: Event) => set({ role: (e.target as HTMLSelectElement).value }) },
          h('option', { value: '' }, 'All roles'),
          [...new Set([...(ctx.roles?.map((r) => r.id) ?? []), ...(keys?.map((k) => k.role) ?? [])])].map((id) => h('option', { key: id, value: id }, id)),
        ),
      ),
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'key-env-filter' }, 'Environment'),
        h(
          'select',
          { id: 'key-env-filter', value: query.environment, onChange: (e: Event) => set({ environment: (e.target as HTMLSelectElement).value }) },
          h('option', { value: '' }, 'All environments'),
          ENVIRONMENTS.map((env) => h('option', { key: env, value: env }, env)),
        ),
      ),
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'key-attention-filter' }, 'Show'),
        h(
          'select',
          { id: 'key-attention-filter', value: query.attention, onChange: (e: Event) => set({ attention: (e.target as HTMLSelectElement).value as Attention }) },
          h('option', { value: 'all' }, 'All'),
          h('option', { value: 'rotation-due' }, 'Rotation due'),
          h('option', { value: 'unused' }, 'Unused 30+ days'),
        ),
      ),
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'key-status-filter' }, 'Status'),
        h(
          'select',
          { id: 'key-status-filter', value: query.status, onChange: (e: Event) => set({ status: (e.target as HTMLSelectElement).value as KeyStatusFilter }) },
          STATUS_FILTERS.map(([value, label]) => h('option', { key: value, value }, label)),
        ),
      ),
      h('button', { type: 'button', class: 'button', onClick: () => (reload(), ctx.reloadOrg()) }, 'Refresh'),
    ),
    h(ErrorBox, { error, title: 'Could not load the keys' }),
    keys === null && !error
      ? h(Loading, { what: 'keys' })
      : keys
        ? h(
            'div',
            { class: 'table-wrap' },
            h(
              'table',
              { class: 'keys-table' },
              h('caption', { class: 'visually-hidden' }, `API keys: ${visible.length} shown of ${keys.length}`),
              h(
                'thead',
                null,
                h('tr', null, ['Name', 'Key ID', 'Role', 'Environment', 'Created', 'Last used', 'Status', 'Actions'].map((c) => h('th', { key: c, scope: 'col' }, c))),
              ),
              h(
                'tbody',
                null,
                visible.length === 0
                  ? h('tr', null, h('td', { colSpan: 8, class: 'empty' }, keys.length === 0 && query.attention === 'all' ? `No ${statusLabel === 'all statuses' ? '' : `${statusLabel} `}keys.` : 'No key matches these filters.'))
                  : visible.map((key) => h(KeyRow, { key: key.id, ctx, apiKey: key, now, open: setDialog })),
              ),
            ),
          )
        : null,
    h('p', { class: 'help', 'data-testid': 'rotation-hint' }, `Revoked and expired keys are listed with the status filter, and stay in the audit log.${hint ? ` ${hint}` : ''}`),
    h(KeyDialogs, { ctx, dialog, close: () => setDialog(null), changed: reload }),
  );
}
