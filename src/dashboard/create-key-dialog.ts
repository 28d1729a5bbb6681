/**
 * Create: name, role, environment, and optionally an expiry, the key's own IP
 * allowlist and metadata. The API's validation problems show at their
 * fields; the secret is shown once.
 */
import { h } from 'preact';
import { useState } from 'preact/hooks';
import type { KeyView } from './api.ts';
import { DEFAULT_ENVIRONMENT, ENVIRONMENTS, type Environment } from '../core/rotation.ts';
import { AllowlistEditor, allowlistProblems } from './allowlist-editor.ts';
import { rotationDaysIn, type Ctx } from './context.ts';
import { errorUnder, Field, fieldErrors, FormError, rowErrors } from './fields.ts';
import { formatDateTime } from './format.ts';
import { metadataOf, MetadataEditor, type MetadataRow } from './metadata-editor.ts';
import { RoleOptions, roleDescription } from './roles-select.ts';
import { Dialog, SecretReveal, useAction } from './ui.ts';

const DAY_MS = 86_400_000;
/** Expiry choices: never, a number of days from now, or a date typed in. */
const EXPIRY_CHOICES: [string, string][] = [
  ['never', 'Never'],
  ['30', 'In 30 days'],
  ['90', 'In 90 days'],
  ['365', 'In 1 year'],
  ['custom', 'On a date…'],
];

/** The expiresAt to send: undefined for never; a typed date as the instant it means here. */
function expiresAtOf(choice: string, custom: string, now: number): string | undefined {
  if (choice === 'never') return undefined;
  if (choice === 'custom') {
    const ms = Date.parse(custom);
    // An unreadable date is sent as typed, so the service names the problem at the field.
    return Number.isNaN(ms) ? custom : new Date(ms).toISOString();
  }
  return new Date(now + Number(choice) * DAY_MS).toISOString();
}

/** The fields this form shows errors at (anything else is listed under the form). */
const FIELDS = ['name', 'role', 'environment', 'expiresAt', 'ipAllowlist', 'metadata'];

export function CreateKeyDialog({ ctx, onClose, onCreated }: { ctx: Ctx; onClose: () => void; onCreated: (key: KeyView) => void }) {
  const [name, setName] = useState('');
  const [role, setRole] = useState('');
  const [environment, setEnvironment] = useState<Environment>(DEFAULT_ENVIRONMENT);
  const [expiry, setExpiry] = useState('never');
  const [customExpiry, setCustomExpiry] = useState('');
  const [ipAllowlist, setIpAllowlist] = useState<string[]>([]);
  const [metadata, setMetadata] = useState<MetadataRow[]>([]);
  const { busy, error, run } = useAction();
  // The secret lives here, and only until "I have copied it".
  const [created, setCreated] = useState<{ keyId: string; secret: string } | null>(null);

  const errors = fieldErrors(error);
  const expiresAt = expiresAtOf(expiry, customExpiry, Date.now());
  const submit = (event: Event) => {
    event.preventDefault();
    if (allowlistProblems(ipAllowlist).size > 0) return;
    void run(async () => {
      const result = await ctx.api.createKey({
        name,
        role,
        environment,
        ...(expiresAt ? { expiresAt } : {}),
        ...(ipAllowlist.length > 0 ? { ipAllowlist: ipAllowlist.map((e) => e.trim()) } : {}),
        ...(metadata.length > 0 ? { metadata: metadataOf(metadata) } : {}),
      });
      setCreated({ keyId: result.key.id, secret: result.secret });
      onCreated(result.key);
      ctx.reloadOrg();
    });
  };
  const done = () => {
    setCreated(null);
    onClose();
  };

  if (created) {
    return h(Dialog, { title: 'Save your secret key', onClose: done, closable: false }, h(SecretReveal, { keyId: created.keyId, secret: created.secret, onDone: done }));
  }
  const days = rotationDaysIn(ctx.org, environment);
  return h(
    Dialog,
    { title: 'Create New Key', onClose, class: 'wide' },
    h(
      'form',
      { onSubmit: submit, class: 'form', noValidate: true },
      h(
        Field,
        { id: 'create-name', label: 'Name', help: 'Say where the key is used, so you know what breaks if it is revoked.', error: errors.get('name') },
        h('input', { value: name, required: true, maxLength: 100, autocomplete: 'off', placeholder: 'e.g. Production Server', onInput: (e: Event) => setName((e.target as HTMLInputElement).value) }),
      ),
      h(
        Field,
        { id: 'create-role', label: 'Role', help: role ? roleDescription(ctx, role) : 'Pick the role with the fewest permissions that does the job.', error: errors.get('role') },
        h(
          'select',
          { value: role, required: true, onChange: (e: Event) => setRole((e.target as HTMLSelectElement).value) },
          h('option', { value: '' }, 'Choose a role…'),
          h(RoleOptions, { ctx }),
        ),
      ),
      h(
        Field,
        { id: 'create-environment', label: 'Environment', help: `Use a separate key per environment.${days === null ? '' : ` Rotation due every ${days} days.`}`, error: errors.get('environment') },
        h('select', { value: environment, onChange: (e: Event) => setEnvironment((e.target as HTMLSelectElement).value as Environment) }, ENVIRONMENTS.map((env) => h('option', { key: env, value: env }, env))),
      ),
      h(
        Field,
        {
          id: 'create-expiry',
          label: 'Expires',
          help: expiresAt && expiry !== 'custom' ? `On ${formatDateTime(expiresAt)}. The key stops working then.` : 'A key for a trial or a contractor can stop working by itself.',
          error: expiry === 'custom' ? undefined : errors.get('expiresAt'),
        },
        h('select', { value: expiry, onChange: (e: Event) => setExpiry((e.target as HTMLSelectElement).value) }, EXPIRY_CHOICES.map(([value, label]) => h('option', { key: value, value }, label))),
      ),
      expiry === 'custom'
        ? h(
            Field,
            { id: 'create-expiry-date', label: 'Expiry date and time (your time zone)', error: errors.get('expiresAt') },
            h('input', { type: 'datetime-local', value: customExpiry, required: true, onInput: (e: Event) => setCustomExpiry((e.target as HTMLInputElement).value) }),
          )
        : null,
      h(
        'fieldset',
        { class: `form-group${errorUnder(errors, 'ipAllowlist') ? ' invalid' : ''}` },
        h('legend', null, 'IP allowlist of this key'),
        h('p', { class: 'help' }, 'Optional: when it has entries, this key works only from these addresses (on top of the organization’s allowlist).'),
        h(AllowlistEditor, { id: 'create-allowlist', label: 'Addresses this key may be used from', empty: 'Any address.', entries: ipAllowlist, onChange: setIpAllowlist, serverErrors: rowErrors(errors, 'ipAllowlist') }),
      ),
      h(
        'fieldset',
        { class: 'form-group' },
        h('legend', null, 'Metadata'),
        h('p', { class: 'help' }, 'Optional labels returned by verify to your APIs (e.g. team, customer id). Never put secrets here.'),
        h(MetadataEditor, { id: 'create-metadata', rows: metadata, onChange: setMetadata, errors }),
      ),
      h(FormError, { error, title: 'The key was not created', shown: FIELDS }),
      h(
        'div',
        { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'button', onClick: onClose }, 'Cancel'),
        h('button', { type: 'submit', class: 'button primary', disabled: busy }, busy ? 'Creating…' : 'Create Key'),
      ),
    ),
  );
}
