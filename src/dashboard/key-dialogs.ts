/**
 * The dialogs that act on keys (create, edit, rotate, revoke), opened from
 * the keys table and a key's page alike: `KeyDialogs` shows the open one and
 * reports what changed, so the opener only reloads.
 */
import { h } from 'preact';
import { useState } from 'preact/hooks';
import type { KeyView } from './api.ts';
import type { Ctx } from './context.ts';
import { CreateKeyDialog } from './create-key-dialog.ts';
import { RoleOptions, roleDescription } from './roles-select.ts';
import { RotateDialog } from './rotate-dialog.ts';
import { Dialog, ErrorBox, SecretReveal, useAction } from './ui.ts';

export type KeyDialog = { kind: 'create' } | { kind: 'edit'; key: KeyView } | { kind: 'rotate'; key: KeyView } | { kind: 'revoke'; key: KeyView } | null;

/** What a dialog did, for the opener to show. */
export type KeyChange = { kind: 'created' | 'saved' | 'rotated' | 'revoked'; key: KeyView };

/** The open dialog, if any. Announces what happened, signs out when the signed-in key was revoked, then calls `changed`. */
export function KeyDialogs({ ctx, dialog, close, changed }: { ctx: Ctx; dialog: KeyDialog; close: () => void; changed: (change: KeyChange) => void }) {
  if (dialog === null) return null;
  switch (dialog.kind) {
    case 'create':
      return h(CreateKeyDialog, {
        ctx,
        onClose: close,
        onCreated: (key) => {
          ctx.announce(`Key "${key.name}" created.`);
          changed({ kind: 'created', key });
        },
      });
    case 'edit':
      return h(EditKeyDialog, {
        ctx,
        apiKey: dialog.key,
        onClose: close,
        onSaved: (key) => {
          close();
          ctx.announce(`Key "${key.name}" saved.`);
          if (key.id === ctx.me.key?.id) ctx.refreshMe();
          changed({ kind: 'saved', key });
        },
      });
    case 'rotate':
      return h(RotateDialog, {
        ctx,
        apiKey: dialog.key,
        onClose: close,
        onRotated: () => {
          ctx.announce(`Key "${dialog.key.name}" rotated.`);
          changed({ kind: 'rotated', key: dialog.key });
        },
      });
    case 'revoke':
      return h(RevokeDialog, {
        ctx,
        apiKey: dialog.key,
        onClose: close,
        onRevoked: (key) => {
          close();
          ctx.announce(`Key "${key.name}" revoked.`);
          ctx.reloadOrg();
          if (key.id === ctx.me.key?.id) ctx.signOut();
          else changed({ kind: 'revoked', key });
        },
      });
  }
}

function EditKeyDialog({ ctx, apiKey, onClose, onSaved }: { ctx: Ctx; apiKey: KeyView; onClose: () => void; onSaved: (key: KeyView) => void }) {
  const [name, setName] = useState(apiKey.name);
  const [role, setRole] = useState(apiKey.role);
  // Saved, the dialog closes.
  const { busy, error, run } = useAction({ keepBusyOnSuccess: true });
  const submit = (event: Event) => {
    event.preventDefault();
    const body: { name?: string; role?: string } = {};
    if (name !== apiKey.name) body.name = name;
    if (role !== apiKey.role) body.role = role;
    if (Object.keys(body).length === 0) {
      onClose();
      return;
    }
    void run(async () => onSaved(await ctx.api.updateKey(apiKey.id, body)));
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
  // Revoked, the dialog closes or shows the replacement.
  const { busy, error, run } = useAction({ keepBusyOnSuccess: true });
  const [reason, setReason] = useState('');
  const [replaced, setReplaced] = useState<{ keyId: string; secret: string; incidentId: string; revoked: KeyView } | null>(null);
  const own = apiKey.id === ctx.me.key?.id;
  const mayReport = ctx.mayCall('compromiseKey');
  // The reason, if given, goes into the audit record (DELETE /v1/keys/:id?reason=…).
  const revoke = () => run(async () => onRevoked(await ctx.api.revokeKey(apiKey.id, reason.trim() ? { reason: reason.trim() } : {})));
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
    h(
      'div',
      { class: 'form' },
      h('label', { for: 'revoke-reason' }, mayReport ? 'Reason (kept in the audit log; if it may be compromised, what happened?)' : 'Reason (kept in the audit log)'),
      h('input', {
        id: 'revoke-reason',
        value: reason,
        maxLength: 500,
        autocomplete: 'off',
        placeholder: mayReport ? 'e.g. pasted in a public channel' : 'e.g. contractor offboarded',
        'aria-describedby': 'revoke-reason-help',
        onInput: (e: Event) => setReason((e.target as HTMLInputElement).value),
      }),
      h(
        'p',
        { id: 'revoke-reason-help', class: 'help' },
        mayReport
          ? 'Optional for Revoke Key. Compromised: the key is revoked now, a replacement with the same role and settings is issued (an operator-managed key gets it from the operator), and an incident records it. Never paste the secret here.'
          : 'Optional. Never paste the secret here.',
      ),
    ),
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
