/**
 * A key's own page (`#/keys/<Key ID>`): what it is (Key ID, the secret's
 * hint, role and what it grants, environment, dates, last use and from
 * where), its own IP allowlist (editable), metadata, a rotated key's
 * transition (who still uses it, refreshed while open), its rotation lineage,
 * its usage over 30 days and its audit trail. The same dialogs as the table.
 */
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ALL_PERMISSIONS } from '../core/permissions.ts';
import type { AuditPage, KeyView } from './api.ts';
import { AllowlistEditor, allowlistProblems } from './allowlist-editor.ts';
import { AuditTable, KeyName, useKeyNames } from './audit.ts';
import { summarizeUsage } from './chart.ts';
import type { Ctx } from './context.ts';
import { fieldErrors, FormError, rowErrors } from './fields.ts';
import { lastDays } from './format.ts';
import { KeyDialogs, type KeyDialog } from './key-dialogs.ts';
import { StatusBadges } from './key-status.ts';
import { href } from './router.ts';
import { TransitionPanel } from './transition.ts';
import { CopyButton, LoadError, Loading, useAction, useAsync, When } from './ui.ts';
import { UsageView } from './usage.ts';

const USAGE_DAYS = 30;

function Facts({ ctx, apiKey, names, now }: { ctx: Ctx; apiKey: KeyView; names: ReadonlyMap<string, string>; now: number }) {
  const role = ctx.roles?.find((r) => r.id === apiKey.role);
  const grants = role ? (role.permissions.includes(ALL_PERMISSIONS) ? ['every permission (*)'] : role.permissions) : null;
  const fact = (term: string, ...value: preact.ComponentChildren[]) => [h('dt', { key: `${term}-t` }, term), h('dd', { key: `${term}-d` }, ...value)];
  return h(
    'dl',
    { class: 'facts key-facts', 'data-testid': 'key-facts' },
    fact('Key ID', h('code', { class: 'key-id' }, apiKey.id), ' ', h(CopyButton, { text: apiKey.id, label: 'Copy Key ID' })),
    fact('Secret', h('code', { 'data-testid': 'key-hint' }, apiKey.hint), h('span', { class: 'help' }, ' Only its start and last four characters are kept to recognise it; the secret itself was shown once.')),
    fact(
      'Role',
      h('strong', null, role?.name ?? apiKey.role),
      role && role.name.toLowerCase() !== role.id ? h('code', { class: 'muted' }, ` ${role.id}`) : null,
      grants ? h('ul', { class: 'chips', 'aria-label': 'Permissions of this role' }, grants.map((p) => h('li', { key: p }, h('code', null, p)))) : null,
    ),
    fact('Environment', apiKey.environment),
    fact('Created', h(When, { iso: apiKey.createdAt, now, empty: '' }), apiKey.createdBy ? [' by ', h(KeyName, { id: apiKey.createdBy, names })] : ' when the organization was set up'),
    fact('Expires', h(When, { iso: apiKey.expiresAt, now, empty: 'Never' })),
    apiKey.revokedAt ? fact('Revoked', h(When, { iso: apiKey.revokedAt, now, empty: '' })) : null,
    fact('Rotation due', h(When, { iso: apiKey.rotationDueAt, now, empty: '' })),
    fact('Last used', h(When, { iso: apiKey.lastUsedAt, now, empty: 'Never' }), apiKey.lastUsedIp ? [' from ', h('code', { 'data-testid': 'last-used-ip' }, apiKey.lastUsedIp)] : null),
  );
}

function Lineage({ apiKey, names }: { apiKey: KeyView; names: ReadonlyMap<string, string> }) {
  if (!apiKey.rotatedFromId && !apiKey.rotatedToId) return h('p', { class: 'muted' }, 'Not rotated yet: this key has no predecessor or successor.');
  const link = (id: string) => h('a', { href: href('keys', [id]) }, names.get(id) ?? id, ' ', h('code', { class: 'muted' }, id));
  return h(
    'ol',
    { class: 'lineage', 'aria-label': 'Rotation lineage, oldest first' },
    apiKey.rotatedFromId ? h('li', null, h('span', { class: 'lineage-role' }, 'Predecessor: '), link(apiKey.rotatedFromId)) : null,
    h('li', { 'aria-current': 'page' }, h('span', { class: 'lineage-role' }, 'This key: '), h('strong', null, apiKey.name)),
    apiKey.rotatedToId ? h('li', null, h('span', { class: 'lineage-role' }, 'Successor: '), link(apiKey.rotatedToId)) : null,
  );
}

/** The key's own allowlist, saved with PATCH /v1/keys/:id. */
function KeyAllowlist({ ctx, apiKey, onSaved }: { ctx: Ctx; apiKey: KeyView; onSaved: (key: KeyView) => void }) {
  const [entries, setEntries] = useState(apiKey.ipAllowlist);
  const { busy, error, setError, run } = useAction();
  useEffect(() => setEntries(apiKey.ipAllowlist), [apiKey.ipAllowlist.join(',')]);
  const editable = apiKey.status === 'active' && ctx.mayCall('updateKey');
  const dirty = entries.join('\n') !== apiKey.ipAllowlist.join('\n');
  const invalid = allowlistProblems(entries).size > 0;
  const save = () =>
    run(async () => {
      const key = await ctx.api.updateKey(apiKey.id, { ipAllowlist: entries.map((e) => e.trim()) });
      ctx.announce(key.ipAllowlist.length === 0 ? `Key "${key.name}" works from any address again.` : `IP allowlist of "${key.name}" saved: ${key.ipAllowlist.length} entries.`);
      onSaved(key);
    });
  return h(
    'div',
    null,
    h('p', { class: 'help' }, 'When it has entries, this key works only from these addresses, on top of the organization’s allowlist.'),
    h(AllowlistEditor, { id: 'key-allowlist', label: 'Addresses this key may be used from', empty: 'Any address.', entries, onChange: setEntries, readOnly: !editable, serverErrors: rowErrors(fieldErrors(error), 'ipAllowlist') }),
    h(FormError, { error, title: 'The allowlist was not saved', shown: ['ipAllowlist'] }),
    editable
      ? h(
          'div',
          { class: 'form-actions' },
          h('button', { type: 'button', class: 'button primary', onClick: save, disabled: busy || !dirty || invalid }, busy ? 'Saving…' : 'Save key allowlist'),
          dirty ? h('button', { type: 'button', class: 'button', onClick: () => (setEntries(apiKey.ipAllowlist), setError(null)) }, 'Discard changes') : null,
        )
      : null,
  );
}

function Metadata({ metadata }: { metadata: KeyView['metadata'] }) {
  const entries = Object.entries(metadata);
  if (entries.length === 0) return h('p', { class: 'muted' }, 'No metadata.');
  return h(
    'dl',
    { class: 'facts', 'data-testid': 'key-metadata' },
    entries.flatMap(([name, value]) => [h('dt', { key: `${name}-t` }, h('code', null, name)), h('dd', { key: `${name}-d` }, String(value))]),
  );
}

function KeyUsage({ ctx, apiKey }: { ctx: Ctx; apiKey: KeyView }) {
  const days = lastDays(USAGE_DAYS, Date.now());
  const usage = useAsync(() => ctx.api.getUsage({ keyId: apiKey.id, from: days[0]!, to: days[days.length - 1]! }).then((u) => u.items), [apiKey.id, days[0]]);
  if (usage.error) return h(LoadError, { error: usage.error, feature: 'Usage', operation: 'getUsage' });
  if (!usage.data) return h(Loading, { what: 'usage' });
  return h(UsageView, { summary: summarizeUsage(usage.data, days), label: () => apiKey.name, idPrefix: 'key-' });
}

function KeyAudit({ ctx, apiKey, names }: { ctx: Ctx; apiKey: KeyView; names: ReadonlyMap<string, string> }) {
  const trail = useAsync<AuditPage>(() => ctx.api.listAuditLog({ targetId: apiKey.id, limit: 50 }), [apiKey.id, apiKey.name, apiKey.role, apiKey.status]);
  if (trail.error) return h(LoadError, { error: trail.error, feature: 'The audit log', operation: 'listAuditLog' });
  if (!trail.data) return h(Loading, { what: 'the audit trail' });
  return h(
    'div',
    null,
    h(AuditTable, { items: trail.data.items, names, caption: `Audit trail of ${apiKey.name}, newest first` }),
    trail.data.nextCursor ? h('p', null, h('a', { href: href('audit', [], { target: apiKey.id }) }, 'The whole trail in the audit log')) : null,
  );
}

export function KeyPage({ ctx, keyId }: { ctx: Ctx; keyId: string }) {
  const loaded = useAsync(() => ctx.api.getKey(keyId), [keyId]);
  const names = useKeyNames(ctx);
  const [dialog, setDialog] = useState<KeyDialog>(null);
  const apiKey = loaded.data;
  const now = Date.now();
  const back = h('p', { class: 'breadcrumb' }, h('a', { href: href('keys') }, '← API Keys'));
  if (loaded.error) return h('section', null, back, h('h1', { tabIndex: -1 }, 'Key not found'), h(LoadError, { error: loaded.error, feature: 'This key', operation: 'getKey' }));
  if (!apiKey) return h('section', null, back, h(Loading, { what: 'the key' }));

  const active = apiKey.status === 'active';
  const actions = [
    active && ctx.mayCall('updateKey') ? h('button', { key: 'e', type: 'button', class: 'button', onClick: () => setDialog({ kind: 'edit', key: apiKey }) }, 'Edit') : null,
    active && ctx.mayCall('rotateKey') && !apiKey.rotatedToId ? h('button', { key: 'r', type: 'button', class: 'button', onClick: () => setDialog({ kind: 'rotate', key: apiKey }) }, 'Rotate') : null,
    active && ctx.mayCall('revokeKey') ? h('button', { key: 'x', type: 'button', class: 'button danger', onClick: () => setDialog({ kind: 'revoke', key: apiKey }) }, 'Revoke') : null,
  ].filter(Boolean);
  const part = (id: string, title: string, ...children: preact.ComponentChildren[]) =>
    h('section', { class: 'key-part', 'aria-labelledby': id }, h('h2', { id }, title), ...children);

  return h(
    'section',
    { class: 'key-page', 'aria-labelledby': 'tab-title' },
    back,
    h(
      'div',
      { class: 'page-head' },
      h('h1', { id: 'tab-title', tabIndex: -1 }, apiKey.name, apiKey.id === ctx.me.key?.id ? h('span', { class: 'you' }, ' (this session)') : null),
      actions.length > 0 ? h('div', { class: 'actions' }, actions) : null,
    ),
    h('p', null, h(StatusBadges, { apiKey, now })),
    h(Facts, { ctx, apiKey, names, now }),
    part('key-allowlist-title', 'IP allowlist', h(KeyAllowlist, { ctx, apiKey, onSaved: loaded.setData })),
    part('key-metadata-title', 'Metadata', h(Metadata, { metadata: apiKey.metadata })),
    apiKey.transition ? part('key-transition-title', 'Transition to the successor', h(TransitionPanel, { ctx, apiKey, onLoaded: loaded.setData })) : null,
    part('key-lineage-title', 'Rotation lineage', h(Lineage, { apiKey, names })),
    ctx.mayCall('getUsage') ? part('key-usage-title', `Usage, last ${USAGE_DAYS} days`, h(KeyUsage, { ctx, apiKey })) : null,
    ctx.mayCall('listAuditLog') ? part('key-audit-title', 'Audit trail', h(KeyAudit, { ctx, apiKey, names })) : null,
    h(KeyDialogs, { ctx, dialog, close: () => setDialog(null), changed: loaded.reload }),
  );
}
