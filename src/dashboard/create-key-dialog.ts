/** Create: name, role, environment; the secret shown once. */
import { h } from 'preact';
import { useState } from 'preact/hooks';
import type { KeyView } from './api.ts';
import { DEFAULT_ENVIRONMENT, ENVIRONMENTS, type Environment } from '../core/rotation.ts';
import { rotationDaysIn, type Ctx } from './context.ts';
import { RoleOptions, roleDescription } from './roles-select.ts';
import { Dialog, ErrorBox, SecretReveal } from './ui.ts';

export function CreateKeyDialog({ ctx, onClose, onCreated }: { ctx: Ctx; onClose: () => void; onCreated: (key: KeyView) => void }) {
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
      h('p', { id: 'create-env-help', class: 'help' }, `Use a separate key per environment.${rotationDaysIn(ctx.org, environment) === null ? '' : ` Rotation due every ${rotationDaysIn(ctx.org, environment)} days.`}`),
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
