/**
 * Rotate: a successor with the same role and settings, the new secret shown
 * once, and how the old key ends: when the grace period ends, or revoked by
 * the service once nothing has used it for a quiet period (the grace period
 * then the deadline). The API's validation problems show at their fields.
 */
import { h } from 'preact';
import { useState } from 'preact/hooks';
import type { KeyView } from './api.ts';
import { parseDuration } from '../core/duration.ts';
import { DEFAULT_ROTATION_OVERLAP, successorName } from '../core/rotation.ts';
import { DEFAULT_QUIET_PERIOD, DEFAULT_REVOKE_OLD, type RevokeOld } from '../core/retirement.ts';
import type { Ctx } from './context.ts';
import { Field, fieldErrors, FormError } from './fields.ts';
import { formatDateTime, relativeTime } from './format.ts';
import { Badge, Dialog, ErrorBox, SecretReveal, useAction } from './ui.ts';

const UNITS: Record<string, string> = { ms: 'millisecond', s: 'second', m: 'minute', h: 'hour', d: 'day', w: 'week' };
/** "24h" → "24 hours"; a duration of several parts as written. */
const spelled = (duration: string): string => {
  const [, count, unit] = /^(\d+)(ms|s|m|h|d|w)$/.exec(duration) ?? [];
  return count && unit ? `${count} ${UNITS[unit]}${count === '1' ? '' : 's'}` : duration;
};
/** The choices, shortest first: none, some presets, and the default overlap (core/rotation.ts) wherever it falls. */
const GRACE_PERIODS: [string, string][] = [
  ['0', 'None: the old key stops now'],
  ...[...new Set(['1h', DEFAULT_ROTATION_OVERLAP, '7d', '30d'])].sort((a, b) => parseDuration(a) - parseDuration(b)).map((d): [string, string] => [d, spelled(d)]),
];

const ENDINGS: [RevokeOld, string][] = [
  ['afterGrace', 'When the grace period ends'],
  ['whenUnused', 'Revoke the old key when unused'],
];

/** The fields this form shows errors at (anything else is listed under the form). */
const FIELDS = ['gracePeriod', 'revokeOld', 'quietPeriod', 'name'];

export function RotateDialog({ ctx, apiKey, onClose, onRotated }: { ctx: Ctx; apiKey: KeyView; onClose: () => void; onRotated: () => void }) {
  const [grace, setGrace] = useState(DEFAULT_ROTATION_OVERLAP);
  const [revokeOld, setRevokeOld] = useState<RevokeOld>(DEFAULT_REVOKE_OLD);
  const [quietPeriod, setQuietPeriod] = useState(DEFAULT_QUIET_PERIOD);
  const [name, setName] = useState(successorName(apiKey.name).slice(0, 100));
  const { busy, error, run } = useAction();
  const [rotated, setRotated] = useState<{ keyId: string; secret: string } | null>(null);
  const [previous, setPrevious] = useState<KeyView | null>(null);
  const [refreshError, setRefreshError] = useState<unknown>(null);
  const [now, setNow] = useState(Date.now());

  const submit = (event: Event) => {
    event.preventDefault();
    void run(async () => {
      const result = await ctx.api.rotateKey(apiKey.id, {
        gracePeriod: grace,
        revokeOld,
        ...(revokeOld === 'whenUnused' ? { quietPeriod: quietPeriod.trim() } : {}),
        ...(name.trim() ? { name } : {}),
      });
      setRotated({ keyId: result.key.id, secret: result.secret });
      setPrevious(result.previous);
      setNow(Date.now());
      onRotated();
    });
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
        previous.transition?.revokeOld === 'whenUnused'
          ? h('p', { class: 'help' }, `Deploy the new key: the service revokes the old one once nothing has used it for ${previous.transition.quietPeriod ?? DEFAULT_QUIET_PERIOD}. The old key's page lists who still uses it.`)
          : h('p', { class: 'help' }, 'Deploy the new key, then refresh: when the old key is no longer used, revoke it (or let it expire).'),
        h('button', { type: 'button', class: 'button small', onClick: refresh }, 'Refresh old key'),
        h(ErrorBox, { error: refreshError }),
      ),
      h(SecretReveal, { keyId: rotated.keyId, secret: rotated.secret, onDone: done }),
    );
  }
  const own = apiKey.id === ctx.me.key?.id;
  const unused = revokeOld === 'whenUnused';
  const errors = fieldErrors(error);
  return h(
    Dialog,
    { title: 'Rotate Key', onClose },
    h(
      'form',
      { onSubmit: submit, class: 'form', noValidate: true },
      h('p', null, 'A new key with the same role and settings replaces ', h('strong', null, apiKey.name), ' (', h('code', null, apiKey.id), ').'),
      h(
        'ol',
        { class: 'steps' },
        h('li', null, 'Rotate: the new secret is shown once.'),
        h('li', null, 'Deploy it to your applications and test.'),
        h('li', null, 'Watch that the old key is no longer used and no authentication errors appear.'),
        h('li', null, unused ? 'The service revokes the old key once nothing uses it (or when the grace period ends).' : 'The old key stops working when the grace period ends (or revoke it).'),
      ),
      h(
        Field,
        { id: 'rotate-grace', label: 'Grace period', help: unused ? 'The deadline: the old key stops then even if it is still used.' : 'How long the old key keeps working. Use none if the key was compromised.', error: errors.get('gracePeriod') },
        h(
          'select',
          { value: grace, onChange: (e: Event) => setGrace((e.target as HTMLSelectElement).value) },
          GRACE_PERIODS.map(([value, label]) => h('option', { key: value, value }, value === DEFAULT_ROTATION_OVERLAP ? `${label} (recommended)` : label)),
        ),
      ),
      h(
        Field,
        { id: 'rotate-revoke-old', label: 'The old key ends', help: unused ? 'The service watches the old key and revokes it once your applications have moved to the new one.' : undefined, error: errors.get('revokeOld') },
        h('select', { value: revokeOld, onChange: (e: Event) => setRevokeOld((e.target as HTMLSelectElement).value as RevokeOld) }, ENDINGS.map(([value, label]) => h('option', { key: value, value }, label))),
      ),
      unused
        ? h(
            Field,
            { id: 'rotate-quiet', label: 'Quiet period', help: 'How long nothing may use the old key before it is revoked, e.g. 10m or 1h; shorter than the grace period.', error: errors.get('quietPeriod') },
            h('input', { value: quietPeriod, required: true, maxLength: 20, autocomplete: 'off', onInput: (e: Event) => setQuietPeriod((e.target as HTMLInputElement).value) }),
          )
        : null,
      h(
        Field,
        { id: 'rotate-name', label: 'Name of the new key', error: errors.get('name') },
        h('input', { value: name, maxLength: 100, autocomplete: 'off', onInput: (e: Event) => setName((e.target as HTMLInputElement).value) }),
      ),
      own ? h('p', { class: 'warning' }, 'You are signed in with this key: sign in again with the new key before the grace period ends.') : null,
      h(FormError, { error, title: 'The key was not rotated', shown: FIELDS }),
      h(
        'div',
        { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'button', onClick: onClose }, 'Cancel'),
        h('button', { type: 'submit', class: 'button primary', disabled: busy }, busy ? 'Rotating…' : 'Rotate Key'),
      ),
    ),
  );
}
