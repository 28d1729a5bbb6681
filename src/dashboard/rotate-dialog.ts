/** Rotate: a successor with the same role and settings, the new secret shown once, and the old key watched through its grace period. */
import { h } from 'preact';
import { useState } from 'preact/hooks';
import type { KeyView } from './api.ts';
import { DEFAULT_ROTATION_OVERLAP, successorName } from '../core/rotation.ts';
import type { Ctx } from './context.ts';
import { formatDateTime, relativeTime } from './format.ts';
import { Badge, Dialog, ErrorBox, SecretReveal } from './ui.ts';

const GRACE_PERIODS: [string, string][] = [
  ['0', 'None: the old key stops now'],
  ['1h', '1 hour'],
  ['24h', '24 hours'],
  ['7d', '7 days'],
  ['30d', '30 days'],
];

export function RotateDialog({ ctx, apiKey, onClose, onRotated }: { ctx: Ctx; apiKey: KeyView; onClose: () => void; onRotated: () => void }) {
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
