/** API Keys tab: the table, search and filters, and the Create / Edit / Rotate / Revoke dialogs. */
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { KeywardApiError, type KeyView, type Role } from './api.ts';
import { BUILTIN_ROLE_IDS, missingPermissions } from '../core/permissions.ts';
import { DEFAULT_ENVIRONMENT, DEFAULT_ROTATION_OVERLAP, ENVIRONMENTS, successorName, type Environment } from '../core/rotation.ts';
import { rotationDaysIn, type Ctx } from './context.ts';
import { filterKeys, formatDate, formatDateTime, relativeTime, rotationDue, unusedFor30Days, type Attention, type KeyQuery } from './format.ts';
import { Badge, CopyButton, Dialog, ErrorBox, Loading, SecretReveal } from './ui.ts';

type DialogState =
  | { kind: 'create' }
  | { kind: 'edit'; key: KeyView }
  | { kind: 'rotate'; key: KeyView }
  | { kind: 'revoke'; key: KeyView }
  | null;

const GRACE_PERIODS: [string, string][] = [
  ['0', 'None: the old key stops now'],
  ['1h', '1 hour'],
  ['24h', '24 hours'],
  ['7d', '7 days'],
  ['30d', '30 days'],
];

/** Role choices for a select: every role, with those granting more than the signed-in key disabled. */
function RoleOptions({ ctx, current }: { ctx: Ctx; current?: string }) {
  const roles: Role[] =
    ctx.roles ??
    [...new Set([...BUILTIN_ROLE_IDS, ...(current ? [current] : [])])].map((id) => ({ id, name: id, description: '', permissions: [], builtin: true }));
  return roles.map((role) => {
    const missing = missingPermissions(ctx.me.permissions, role.permissions);
    const label = `${role.name}${role.name.toLowerCase() === role.id ? '' : ` (${role.id})`}${role.builtin ? '' : ' · custom'}`;
    return h(
      'option',
      { key: role.id, value: role.id, disabled: missing.length > 0 && role.id !== current },
      missing.length > 0 ? `${label} — grants more than your key` : label,
    );
  });
}

function roleDescription(ctx: Ctx, roleId: string): string {
  const role = ctx.roles?.find((r) => r.id === roleId);
  if (!role) return '';
  const perms = role.permissions.includes('*') ? 'every permission' : role.permissions.join(', ');
  return `${role.description ? `${role.description} ` : ''}Grants: ${perms}.`;
}

function CreateKeyDialog({ ctx, onClose, onCreated }: { ctx: Ctx; onClose: () => void; onCreated: (key: KeyView) => void }) {
  const [name, setName] = useState('');
  const [role, setRole] = useState('');
  const [environment, setEnvironment] = useState<Environment>(DEFAULT_ENVIRONMENT);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  // The secret lives here, and only until "I have copied it".
  const [created, setCreated] = useState<{ keyId: string; secret: string } | null>(null);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const result = await ctx.api.createKey({ name, role, environment });
      setCreated({ keyId: result.key.id, secret: result.secret });
      onCreated(result.key);
      ctx.reloadOrg();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const done = () => {
    setCreated(null);
    onClose();
  };

  if (created) {
    return h(Dialog, { title: 'Save your secret key', onClose: done, closable: false }, h(SecretReveal, { keyId: created.keyId, secret: created.secret, onDone: done }));
  }
  return h(
    Dialog,
    { title: 'Create New Key', onClose },
    h(
      'form',
      { onSubmit: submit, class: 'form' },
      h('label', { for: 'create-name' }, 'Name'),
      h('input', {
        id: 'create-name',
        value: name,
        required: true,
        maxLength: 100,
        autocomplete: 'off',
        placeholder: 'e.g. Production Server',
        'aria-describedby': 'create-name-help',
        onInput: (e: Event) => setName((e.target as HTMLInputElement).value),
      }),
      h('p', { id: 'create-name-help', class: 'help' }, 'Say where the key is used, so you know what breaks if it is revoked.'),
      h('label', { for: 'create-role' }, 'Role'),
      h(
        'select',
        { id: 'create-role', value: role, required: true, 'aria-describedby': 'create-role-help', onChange: (e: Event) => setRole((e.target as HTMLSelectElement).value) },
        h('option', { value: '' }, 'Choose a role…'),
        h(RoleOptions, { ctx }),
      ),
      h('p', { id: 'create-role-help', class: 'help' }, role ? roleDescription(ctx, role) : 'Pick the role with the fewest permissions that does the job.'),
      h('label', { for: 'create-environment' }, 'Environment'),
      h(
        'select',
        { id: 'create-environment', value: environment, 'aria-describedby': 'create-env-help', onChange: (e: Event) => setEnvironment((e.target as HTMLSelectElement).value as Environment) },
        ENVIRONMENTS.map((env) => h('option', { key: env, value: env }, env)),
      ),
      h('p', { id: 'create-env-help', class: 'help' }, `Use a separate key per environment. Rotation due every ${rotationDaysIn(ctx.org, environment)} days.`),
      h(ErrorBox, { error, title: 'The key was not created' }),
      h(
        'div',
        { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'button', onClick: onClose }, 'Cancel'),
        h('button', { type: 'submit', class: 'button primary', disabled: busy }, busy ? 'Creating…' : 'Create Key'),
      ),
    ),
  );
}

function EditKeyDialog({ ctx, apiKey, onClose, onSaved }: { ctx: Ctx; apiKey: KeyView; onClose: () => void; onSaved: (key: KeyView) => void }) {
  const [name, setName] = useState(apiKey.name);
  const [role, setRole] = useState(apiKey.role);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    const body: { name?: string; role?: string } = {};
    if (name !== apiKey.name) body.name = name;
    if (role !== apiKey.role) body.role = role;
    if (Object.keys(body).length === 0) {
      onClose();
      return;
    }
    setBusy(true);
    setError(null);
    try {
      onSaved(await ctx.api.updateKey(apiKey.id, body));
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  return h(
    Dialog,
    { title: 'Edit Key', onClose },
    h(
      'form',
      { onSubmit: submit, class: 'form' },
      h('label', { for: 'edit-key-id' }, 'Key ID'),
      h('input', { id: 'edit-key-id', value: apiKey.id, readOnly: true, class: 'mono', 'aria-describedby': 'edit-key-id-help' }),
      h('p', { id: 'edit-key-id-help', class: 'help' }, 'The Key ID and the secret never change. To get a new secret, rotate the key.'),
      h('label', { for: 'edit-name' }, 'Name'),
      h('input', { id: 'edit-name', value: name, required: true, maxLength: 100, autocomplete: 'off', onInput: (e: Event) => setName((e.target as HTMLInputElement).value) }),
      h('label', { for: 'edit-role' }, 'Role'),
      h(
        'select',
        { id: 'edit-role', value: role, 'aria-describedby': 'edit-role-help', onChange: (e: Event) => setRole((e.target as HTMLSelectElement).value) },
        h(RoleOptions, { ctx, current: apiKey.role }),
      ),
      h('p', { id: 'edit-role-help', class: 'help' }, roleDescription(ctx, role)),
      h(ErrorBox, { error, title: 'The key was not changed' }),
      h(
        'div',
        { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'button', onClick: onClose }, 'Cancel'),
        h('button', { type: 'submit', class: 'button primary', disabled: busy }, busy ? 'Saving…' : 'Save Changes'),
      ),
    ),
  );
}

function RevokeDialog({ ctx, apiKey, onClose, onRevoked }: { ctx: Ctx; apiKey: KeyView; onClose: () => void; onRevoked: (key: KeyView) => void }) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [reason, setReason] = useState('');
  const [replaced, setReplaced] = useState<{ keyId: string; secret: string; incidentId: string; revoked: KeyView } | null>(null);
  const own = apiKey.id === ctx.me.key.id;
  const mayReport = ctx.can('api.key.compromise');
  const run = async (act: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await act();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  const revoke = () => run(async () => onRevoked(await ctx.api.revokeKey(apiKey.id)));
  // Revoke now, replace, open an incident: the replacement's secret is shown once, then the incident page.
  const compromised = () =>
    run(async () => {
      const result = await ctx.api.compromiseKey(apiKey.id, { reason: reason.trim() || 'Reported compromised in the dashboard' });
      if (result.replacement) {
        setReplaced({ keyId: result.replacement.key.id, secret: result.replacement.secret, incidentId: result.incident.id, revoked: result.revoked });
        return;
      }
      onRevoked(result.revoked);
      location.hash = `#/incidents/${result.incident.id}`;
    });
  if (replaced) {
    const done = () => {
      onRevoked(replaced.revoked);
      location.hash = `#/incidents/${replaced.incidentId}`;
    };
    return h(
      Dialog,
      { title: 'Save the replacement key', onClose: done, closable: false },
      h('p', null, h('strong', null, apiKey.name), ' was revoked. Deploy its replacement; the incident page lists what was done and who used the old key.'),
      h(SecretReveal, { keyId: replaced.keyId, secret: replaced.secret, onDone: done }),
    );
  }
  return h(
    Dialog,
    { title: 'Revoke API key?', onClose, class: 'danger' },
    h('p', null, 'Revoke ', h('strong', null, apiKey.name), ' (', h('code', null, apiKey.id), ')?'),
    h('p', { class: 'warning' }, h('strong', null, 'Applications using this key will stop working'), ' immediately. Revoking cannot be undone.'),
    own ? h('p', { class: 'warning' }, 'This is the key you are signed in with: you will be signed out.') : null,
    mayReport
      ? h(
          'div',
          { class: 'form' },
          h('label', { for: 'compromise-reason' }, 'If it may be compromised: what happened?'),
          h('input', {
            id: 'compromise-reason',
            value: reason,
            maxLength: 500,
            autocomplete: 'off',
            placeholder: 'e.g. pasted in a public channel',
            'aria-describedby': 'compromise-help',
            onInput: (e: Event) => setReason((e.target as HTMLInputElement).value),
          }),
          h('p', { id: 'compromise-help', class: 'help' }, 'Compromised: the key is revoked now, a replacement with the same role and settings is issued (an operator-managed key gets it from the operator), and an incident records it. Never paste the secret here.'),
        )
      : null,
    h(ErrorBox, { error, title: 'The key was not revoked' }),
    h(
      'div',
      { class: 'dialog-actions' },
      h('button', { type: 'button', class: 'button', onClick: onClose, autofocus: true }, 'Cancel'),
      mayReport ? h('button', { type: 'button', class: 'button danger', onClick: compromised, disabled: busy }, busy ? 'Working…' : 'Compromised: revoke and replace') : null,
      h('button', { type: 'button', class: 'button danger', onClick: revoke, disabled: busy }, busy ? 'Revoking…' : 'Revoke Key'),
    ),
  );
}

function RotateDialog({ ctx, apiKey, onClose, onRotated }: { ctx: Ctx; apiKey: KeyView; onClose: () => void; onRotated: () => void }) {
  const [grace, setGrace] = useState(DEFAULT_ROTATION_OVERLAP);
  const [name, setName] = useState(successorName(apiKey.name).slice(0, 100));
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [rotated, setRotated] = useState<{ keyId: string; secret: string } | null>(null);
  const [previous, setPrevious] = useState<KeyView | null>(null);
  const [refreshError, setRefreshError] = useState<unknown>(null);
  const [now, setNow] = useState(Date.now());

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const result = await ctx.api.rotateKey(apiKey.id, { gracePeriod: grace, ...(name.trim() ? { name } : {}) });
      setRotated({ keyId: result.key.id, secret: result.secret });
      setPrevious(result.previous);
      setNow(Date.now());
      onRotated();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const refresh = async () => {
    setRefreshError(null);
    try {
      setPrevious(await ctx.api.getKey(apiKey.id));
      setNow(Date.now());
    } catch (e) {
      setRefreshError(e);
    }
  };
  const done = () => {
    setRotated(null);
    onClose();
  };

  if (rotated && previous) {
    return h(
      Dialog,
      { title: 'Key rotated: save the new secret', onClose: done, closable: false, class: 'wide' },
      h(
        'section',
        { class: 'old-key', 'aria-labelledby': 'old-key-title' },
        h('h3', { id: 'old-key-title' }, 'Watch the transition'),
        h(
          'dl',
          { class: 'facts' },
          h('dt', null, 'Old key'),
          h('dd', null, h('code', null, previous.id), ` (${previous.name})`),
          h('dt', null, 'Works until'),
          h(
            'dd',
            { 'data-testid': 'old-key-expiry' },
            previous.expiresAt
              ? h('time', { dateTime: previous.expiresAt }, `${formatDateTime(previous.expiresAt)} (${relativeTime(previous.expiresAt, now)})`)
              : 'no expiry',
            ' ',
            h(Badge, { tone: previous.status === 'active' ? 'warning' : 'neutral' }, previous.status),
          ),
          h('dt', null, 'Last used'),
          h(
            'dd',
            { 'data-testid': 'old-key-last-used' },
            previous.lastUsedAt ? h('time', { dateTime: previous.lastUsedAt }, `${relativeTime(previous.lastUsedAt, now)} (${formatDateTime(previous.lastUsedAt)})`) : 'never',
            previous.lastUsedIp ? ` from ${previous.lastUsedIp}` : '',
          ),
        ),
        h('p', { class: 'help' }, 'Deploy the new key, then refresh: when the old key is no longer used, revoke it (or let it expire).'),
        h('button', { type: 'button', class: 'button small', onClick: refresh }, 'Refresh old key'),
        h(ErrorBox, { error: refreshError }),
      ),
      h(SecretReveal, { keyId: rotated.keyId, secret: rotated.secret, onDone: done }),
    );
  }
  const own = apiKey.id === ctx.me.key.id;
  return h(
    Dialog,
    { title: 'Rotate Key', onClose },
    h(
      'form',
      { onSubmit: submit, class: 'form' },
      h('p', null, 'A new key with the same role and settings replaces ', h('strong', null, apiKey.name), ' (', h('code', null, apiKey.id), ').'),
      h(
        'ol',
        { class: 'steps' },
        h('li', null, 'Rotate: the new secret is shown once.'),
        h('li', null, 'Deploy it to your applications and test.'),
        h('li', null, 'Watch that the old key is no longer used and no authentication errors appear.'),
        h('li', null, 'The old key stops working when the grace period ends (or revoke it).'),
      ),
      h('label', { for: 'rotate-grace' }, 'Grace period'),
      h(
        'select',
        { id: 'rotate-grace', value: grace, 'aria-describedby': 'rotate-grace-help', onChange: (e: Event) => setGrace((e.target as HTMLSelectElement).value) },
        GRACE_PERIODS.map(([value, label]) => h('option', { key: value, value }, value === DEFAULT_ROTATION_OVERLAP ? `${label} (recommended)` : label)),
      ),
      h('p', { id: 'rotate-grace-help', class: 'help' }, 'How long the old key keeps working. Use none if the key was compromised.'),
      h('label', { for: 'rotate-name' }, 'Name of the new key'),
      h('input', { id: 'rotate-name', value: name, maxLength: 100, autocomplete: 'off', onInput: (e: Event) => setName((e.target as HTMLInputElement).value) }),
      own ? h('p', { class: 'warning' }, 'You are signed in with this key: sign in again with the new key before the grace period ends.') : null,
      h(ErrorBox, { error, title: 'The key was not rotated' }),
      h(
        'div',
        { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'button', onClick: onClose }, 'Cancel'),
        h('button', { type: 'submit', class: 'button primary', disabled: busy }, busy ? 'Rotating…' : 'Rotate Key'),
      ),
    ),
  );
}

function StatusBadges({ apiKey, now }: { apiKey: KeyView; now: number }) {
  const badges = [];
  if (apiKey.status === 'active') badges.push(h(Badge, { key: 's', tone: 'success' }, 'Active'));
  else badges.push(h(Badge, { key: 's', tone: 'neutral' }, apiKey.status === 'expired' ? 'Expired' : 'Revoked'));
  if (apiKey.status === 'active' && apiKey.expiresAt) {
    badges.push(h(Badge, { key: 'e', tone: 'warning', title: formatDateTime(apiKey.expiresAt) }, `Expires ${relativeTime(apiKey.expiresAt, now)}`));
  }
  if (rotationDue(apiKey, now) && !apiKey.rotatedToId) badges.push(h(Badge, { key: 'r', tone: 'danger', title: `Due since ${formatDate(apiKey.rotationDueAt)}` }, 'Rotation due'));
  if (unusedFor30Days(apiKey, now)) badges.push(h(Badge, { key: 'u', tone: 'info' }, 'Unused 30+ days'));
  return h('span', { class: 'badges' }, badges);
}

function KeyRow({ ctx, apiKey, now, open }: { ctx: Ctx; apiKey: KeyView; now: number; open: (d: DialogState) => void }) {
  const own = apiKey.id === ctx.me.key.id;
  const roleName = ctx.roles?.find((r) => r.id === apiKey.role)?.name ?? apiKey.role;
  const actions = [];
  if (ctx.can('api.key.update')) actions.push(h('button', { key: 'e', type: 'button', class: 'button small', 'aria-label': `Edit ${apiKey.name}`, onClick: () => open({ kind: 'edit', key: apiKey }) }, 'Edit'));
  if (ctx.can('api.key.rotate') && !apiKey.rotatedToId)
    actions.push(h('button', { key: 'r', type: 'button', class: 'button small', 'aria-label': `Rotate ${apiKey.name}`, onClick: () => open({ kind: 'rotate', key: apiKey }) }, 'Rotate'));
  if (ctx.can('api.key.delete'))
    actions.push(h('button', { key: 'x', type: 'button', class: 'button small danger', 'aria-label': `Revoke ${apiKey.name}`, onClick: () => open({ kind: 'revoke', key: apiKey }) }, 'Revoke'));
  return h(
    'tr',
    { 'data-key-id': apiKey.id },
    h('th', { scope: 'row', 'data-label': 'Name' }, h('span', null, apiKey.name, own ? h('span', { class: 'you' }, ' (this session)') : null)),
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

const EMPTY_QUERY: KeyQuery = { search: '', role: '', environment: '', attention: 'all' };

export function KeysTab({ ctx }: { ctx: Ctx }) {
  const [keys, setKeys] = useState<KeyView[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [query, setQuery] = useState<KeyQuery>(EMPTY_QUERY);
  const [serverFiltered, setServerFiltered] = useState(false);
  const [dialog, setDialog] = useState<DialogState>(null);
  const [tick, setTick] = useState(0);
  const reload = () => setTick((t) => t + 1);

  useEffect(() => {
    let live = true;
    const load = async () => {
      const filters = query.attention === 'rotation-due' ? { rotationDue: 'true' as const } : query.attention === 'unused' ? { unusedFor: '30d' } : {};
      try {
        const list = await ctx.api.keysUpTo(filters);
        if (live) {
          setKeys(list);
          setServerFiltered(query.attention !== 'all');
          setError(null);
        }
      } catch (e) {
        // An older service without the attention filters: filter here instead.
        if (query.attention !== 'all' && e instanceof KeywardApiError && e.code === 'VALIDATION_FAILED') {
          const list = await ctx.api.keysUpTo();
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
  }, [tick, query.attention]);

  const now = Date.now();
  const visible = keys ? filterKeys(keys, serverFiltered ? { ...query, attention: 'all' } : query, now) : [];
  const org = ctx.org && ctx.org !== 'unavailable' ? ctx.org : null;
  const set = (patch: Partial<KeyQuery>) => setQuery((q) => ({ ...q, ...patch }));
  const closeDialog = () => setDialog(null);

  return h(
    'section',
    { 'aria-labelledby': 'tab-title' },
    h(
      'div',
      { class: 'page-head' },
      h('h1', { id: 'tab-title', tabIndex: -1 }, 'API Keys'),
      ctx.can('api.key.create') ? h('button', { type: 'button', class: 'button primary', onClick: () => setDialog({ kind: 'create' }) }, '+ Create New Key') : null,
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
          h('option', { value: 'all' }, 'All active keys'),
          h('option', { value: 'rotation-due' }, 'Rotation due'),
          h('option', { value: 'unused' }, 'Unused 30+ days'),
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
                  ? h('tr', null, h('td', { colSpan: 8, class: 'empty' }, keys.length === 0 && query.attention === 'all' ? 'No active keys.' : 'No key matches these filters.'))
                  : visible.map((key) => h(KeyRow, { key: key.id, ctx, apiKey: key, now, open: setDialog })),
              ),
            ),
          )
        : null,
    h('p', { class: 'help' }, `Revoked and expired keys leave this table; they stay in the audit log. Rotate ${ENVIRONMENTS.map((env) => `${env} keys every ${rotationDaysIn(ctx.org, env)} days`).join(', ')}.`),
    dialog?.kind === 'create'
      ? h(CreateKeyDialog, {
          ctx,
          onClose: closeDialog,
          onCreated: (key) => {
            ctx.announce(`Key "${key.name}" created.`);
            reload();
          },
        })
      : null,
    dialog?.kind === 'edit'
      ? h(EditKeyDialog, {
          ctx,
          apiKey: dialog.key,
          onClose: closeDialog,
          onSaved: (key) => {
            setDialog(null);
            ctx.announce(`Key "${key.name}" saved.`);
            if (key.id === ctx.me.key.id) ctx.refreshMe();
            reload();
          },
        })
      : null,
    dialog?.kind === 'rotate'
      ? h(RotateDialog, {
          ctx,
          apiKey: dialog.key,
          onClose: closeDialog,
          onRotated: () => {
            ctx.announce(`Key "${dialog.key.name}" rotated.`);
            reload();
          },
        })
      : null,
    dialog?.kind === 'revoke'
      ? h(RevokeDialog, {
          ctx,
          apiKey: dialog.key,
          onClose: closeDialog,
          onRevoked: (key) => {
            setDialog(null);
            setKeys((list) => list?.filter((k) => k.id !== key.id) ?? null);
            ctx.announce(`Key "${key.name}" revoked.`);
            ctx.reloadOrg();
            if (key.id === ctx.me.key.id) ctx.signOut();
            else reload();
          },
        })
      : null,
  );
}
