/**
 * Your account (#/account, for a signed-in member): who you are, where you
 * are signed in (this session marked) with "Sign out everywhere", and your
 * passkeys: add another (a new WebAuthn registration) or remove one. The
 * service refuses to remove the last way you sign in (LAST_PASSKEY); the
 * page shows its refusal and what to do.
 */
import { h } from 'preact';
import { useState } from 'preact/hooks';
import type { Result } from '../client/index.ts';
import type { Ctx } from './context.ts';
import { createPasskey } from './sign-in.ts';
import { Badge, ConfirmButton, ErrorBox, LoadError, Loading, useAction, useAsync, When } from './ui.ts';

type SessionInfo = Result<'listMySessions'>['items'][number];

const METHODS: Record<SessionInfo['method'], string> = { passkey: 'a passkey', oidc: 'the identity provider', invitation: 'an invitation' };

export function AccountPage({ ctx }: { ctx: Ctx }) {
  const member = ctx.me.member!;
  const roleName = ctx.roles?.find((r) => r.id === member.role)?.name ?? member.role;
  return h(
    'section',
    { 'aria-labelledby': 'tab-title' },
    h('div', { class: 'page-head' }, h('h1', { id: 'tab-title', tabIndex: -1 }, 'Your account')),
    h(
      'dl',
      { class: 'facts' },
      h('dt', null, 'Email'),
      h('dd', null, member.email),
      h('dt', null, 'Name'),
      h('dd', null, member.displayName),
      h('dt', null, 'Role'),
      h('dd', null, roleName),
      h('dt', null, 'Identity provider'),
      h('dd', null, member.oidcLinked ? 'Linked: you can also sign in through it.' : 'Not linked: you sign in with your passkeys.'),
    ),
    h(Sessions, { ctx }),
    h(Passkeys, { ctx }),
  );
}

function Sessions({ ctx }: { ctx: Ctx }) {
  const sessions = useAsync(() => ctx.api.listMySessions(), []);
  const [error, setError] = useState<unknown>(null);
  const now = Date.now();
  const everywhere = async () => {
    setError(null);
    try {
      await ctx.api.signOutEverywhere();
      ctx.signOut('You signed out everywhere: every session of yours has ended, this one too.');
    } catch (e) {
      setError(e);
    }
  };
  return h(
    'div',
    { class: 'account-part' },
    h('h2', null, 'Sessions'),
    h('p', { class: 'summary' }, 'Where you are signed in. Signing out everywhere ends every one of them, this one too: use it when a device is lost or was shared.'),
    sessions.error ? h(LoadError, { error: sessions.error, feature: 'Your sessions', operation: 'listMySessions' }) : null,
    sessions.loading && !sessions.data ? h(Loading, { what: 'your sessions' }) : null,
    sessions.data
      ? h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { class: 'card-table' },
            h('caption', { class: 'visually-hidden' }, 'Your sessions'),
            h('thead', null, h('tr', null, ['Signed in', 'With', 'Last seen', 'From', 'Browser', 'Ends'].map((c) => h('th', { key: c, scope: 'col' }, c)))),
            h(
              'tbody',
              null,
              sessions.data.items.map((s) =>
                h(
                  'tr',
                  { key: s.id, 'aria-current': s.current ? 'true' : undefined },
                  h('th', { scope: 'row', 'data-label': 'Signed in' }, h('span', null, h(When, { iso: s.createdAt, now, empty: '' }), s.current ? [' ', h(Badge, { tone: 'info' }, 'This session')] : null)),
                  h('td', { 'data-label': 'With' }, METHODS[s.method]),
                  h('td', { 'data-label': 'Last seen' }, h(When, { iso: s.lastSeenAt, now, empty: '' })),
                  h('td', { 'data-label': 'From' }, s.ip ? h('code', null, s.ip) : h('span', { class: 'muted' }, 'unknown address')),
                  // The User-Agent as the browser sent it at sign-in: the whole string, since no two browsers shorten alike.
                  h('td', { 'data-label': 'Browser', class: 'user-agent' }, s.userAgent ?? h('span', { class: 'muted' }, 'not told')),
                  h('td', { 'data-label': 'Ends' }, h(When, { iso: s.expiresAt, now, empty: '' })),
                ),
              ),
            ),
          ),
        )
      : null,
    h(ErrorBox, { error, title: 'Could not sign out everywhere' }),
    h('div', { class: 'form-actions' }, h(ConfirmButton, { label: 'Sign out everywhere', onConfirm: () => void everywhere() })),
  );
}

function Passkeys({ ctx }: { ctx: Ctx }) {
  const passkeys = useAsync(() => ctx.api.listMyPasskeys(), []);
  const [error, setError] = useState<unknown>(null);
  const now = Date.now();
  const remove = async (id: string, name: string) => {
    setError(null);
    try {
      await ctx.api.removeMyPasskey(id);
      ctx.announce(`The passkey "${name}" was removed: it no longer signs you in.`);
    } catch (e) {
      setError(e);
    }
    passkeys.reload();
  };
  return h(
    'div',
    { class: 'account-part' },
    h('h2', null, 'Passkeys'),
    h('p', { class: 'summary' }, 'Each passkey signs you in from the device or security key that holds it. Keep more than one, so losing a device does not lock you out.'),
    passkeys.error ? h(LoadError, { error: passkeys.error, feature: 'Your passkeys', operation: 'listMyPasskeys' }) : null,
    passkeys.loading && !passkeys.data ? h(Loading, { what: 'your passkeys' }) : null,
    passkeys.data
      ? h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { class: 'card-table' },
            h('caption', { class: 'visually-hidden' }, 'Your passkeys'),
            h('thead', null, h('tr', null, ['Name', 'Added', 'Last used', 'Actions'].map((c) => h('th', { key: c, scope: 'col' }, c)))),
            h(
              'tbody',
              null,
              passkeys.data.items.map((p) =>
                h(
                  'tr',
                  { key: p.id },
                  h('th', { scope: 'row', 'data-label': 'Name' }, p.name),
                  h('td', { 'data-label': 'Added' }, h(When, { iso: p.createdAt, now, empty: '' })),
                  h('td', { 'data-label': 'Last used' }, h(When, { iso: p.lastUsedAt, now, empty: 'Never' })),
                  h('td', { 'data-label': 'Actions' }, h(ConfirmButton, { label: 'Remove', subject: `passkey ${p.name}`, onConfirm: () => void remove(p.id, p.name) })),
                ),
              ),
            ),
          ),
        )
      : null,
    h(ErrorBox, { error, title: 'The passkey was not removed' }),
    h(AddPasskey, { ctx, onAdded: passkeys.reload }),
  );
}

/** Registers another passkey (this device's authenticator, or a security key) and adds it to the account. */
function AddPasskey({ ctx, onAdded }: { ctx: Ctx; onAdded: () => void }) {
  const [name, setName] = useState('');
  const { busy, error, run } = useAction();
  const submit = (event: Event) => {
    event.preventDefault();
    void run(async () => {
      const { options } = await ctx.api.myPasskeyOptions();
      const added = await ctx.api.addMyPasskey({ credential: await createPasskey(options), name: name.trim() });
      setName('');
      ctx.announce(`The passkey "${added.name}" was added: it signs you in from now on.`);
      onAdded();
    });
  };
  return h(
    'form',
    { class: 'inline-form add-passkey', onSubmit: submit, 'aria-label': 'Add a passkey' },
    h('label', { for: 'new-passkey-name' }, 'Name of the new passkey'),
    h('input', {
      id: 'new-passkey-name',
      required: true,
      placeholder: 'e.g. Work laptop, YubiKey',
      value: name,
      onInput: (e: Event) => setName((e.target as HTMLInputElement).value),
    }),
    h('button', { type: 'submit', class: 'button', disabled: busy }, busy ? 'Registering…' : 'Add a passkey'),
    h(ErrorBox, { error, title: 'The passkey was not added' }),
  );
}
