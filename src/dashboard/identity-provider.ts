/**
 * Identity provider tab (#/identity-provider): the OpenID Connect provider
 * the organization's people sign in with (GET/PUT/DELETE
 * /v1/organization/oidc). Its own, or the service-wide one the operator set;
 * setting or removing it takes every permission (whoever sets it decides who
 * signs in as any member), so only such a caller gets the form. The client
 * secret is write-only: shown as "set", never filled back; left empty, the
 * stored one is kept. The service's refusals are shown where they belong:
 * field errors under their fields (400), an issuer it could not discover
 * (502 OIDC_PROVIDER_UNAVAILABLE) under the issuer.
 */
import { h } from 'preact';
import { useState } from 'preact/hooks';
import { ALL_PERMISSIONS } from '../core/permissions.ts';
import type { Result } from '../client/index.ts';
import { KeywardApiError } from './api.ts';
import type { Ctx } from './context.ts';
import { Field, fieldErrors, FormError } from './fields.ts';
import { ConfirmButton, ErrorBox, LoadError, Loading, useAction, useAsync, When } from './ui.ts';

type Provider = Result<'getOrganizationOidc'>;

/** The domains as typed ("acme.com, example.com" or one per line), in order, without repeats. */
export const domainsOf = (text: string): string[] => [...new Set(text.split(/[\s,;]+/).filter(Boolean))];

const isCode = (error: unknown, code: string): error is KeywardApiError => error instanceof KeywardApiError && error.code === code;

/** The organization's provider; null when it signs in through none. */
const loadProvider = (ctx: Ctx): Promise<Provider | null> => ctx.api.getOrganizationOidc().catch((e: unknown) => (isCode(e, 'OIDC_NOT_CONFIGURED') ? null : Promise.reject(e)));

export function IdentityProviderTab({ ctx }: { ctx: Ctx }) {
  const loaded = useAsync(() => loadProvider(ctx), []);
  // The API's own rule: org.manage, and every permission.
  const manage = ctx.mayCall('putOrganizationOidc') && ctx.me.permissions.includes(ALL_PERMISSIONS);
  const provider = loaded.data;
  const own = provider?.source === 'organization' ? provider : null;
  return h(
    'section',
    { 'aria-labelledby': 'tab-title' },
    h('div', { class: 'page-head' }, h('h1', { id: 'tab-title', tabIndex: -1 }, 'Identity provider')),
    h(
      'p',
      { class: 'summary' },
      'People of this organization can sign in through your OpenID Connect provider (single sign-on) instead of a passkey: a verified email of an allowed domain, of a member. Register this dashboard’s address, ',
      h('code', null, `${location.origin}/`),
      ', as the redirect URI at the provider.',
    ),
    loaded.error ? h(LoadError, { error: loaded.error, feature: 'The identity provider', operation: 'getOrganizationOidc' }) : null,
    loaded.loading && loaded.data === undefined ? h(Loading, { what: 'the identity provider' }) : null,
    loaded.data !== undefined ? h(Current, { provider: loaded.data }) : null,
    loaded.data !== undefined && manage ? h(ProviderForm, { key: own?.updatedAt ?? 'none', ctx, own, onSaved: loaded.setData, onRemoved: loaded.reload }) : null,
    loaded.data !== undefined && !manage
      ? h('p', { class: 'notice' }, 'Only an admin (a role holding every permission) can set or remove the identity provider: whoever sets it decides who can sign in as any member.')
      : null,
  );
}

/** What the organization signs in with now. */
function Current({ provider }: { provider: Provider | null }) {
  if (!provider) return h('p', { 'data-testid': 'provider-state' }, 'None: your people sign in with passkeys only.');
  const now = Date.now();
  return h(
    'dl',
    { class: 'facts provider-facts', 'data-testid': 'provider-state' },
    h('dt', null, 'Set by'),
    h('dd', null, provider.source === 'organization' ? 'Your organization' : 'The service’s operator (service-wide; setting your own replaces it for your organization)'),
    h('dt', null, 'Sign-in button'),
    h('dd', null, `Sign in with ${provider.name}`),
    h('dt', null, 'Issuer'),
    h('dd', null, h('code', null, provider.issuer)),
    h('dt', null, 'Client ID'),
    h('dd', null, h('code', null, provider.clientId)),
    h('dt', null, 'Client secret'),
    // Write-only: the service never answers it. An organization's own provider always has one.
    h('dd', { 'data-testid': 'client-secret-state' }, provider.source === 'organization' ? 'Set (never shown)' : 'Set by the operator'),
    h('dt', null, 'Allowed email domains'),
    h('dd', null, provider.allowedDomains.length > 0 ? provider.allowedDomains.join(', ') : 'Any'),
    provider.updatedAt ? [h('dt', { key: 'u' }, 'Changed'), h('dd', { key: 'v' }, h(When, { iso: provider.updatedAt, now, empty: '' }))] : null,
  );
}

function ProviderForm({ ctx, own, onSaved, onRemoved }: { ctx: Ctx; own: Provider | null; onSaved: (provider: Provider) => void; onRemoved: () => void }) {
  const [issuer, setIssuer] = useState(own?.issuer ?? '');
  const [clientId, setClientId] = useState(own?.clientId ?? '');
  // Never filled from the service: it does not answer it.
  const [clientSecret, setClientSecret] = useState('');
  const [name, setName] = useState(own?.name ?? '');
  const [domains, setDomains] = useState(own?.allowedDomains.join(', ') ?? '');
  const { busy, error, setError, run } = useAction();

  const errors = fieldErrors(error);
  const typed = domainsOf(domains);
  // "allowedDomains.1" names the domain it is about.
  const domainError = [...errors].filter(([path]) => path.startsWith('allowedDomains')).map(([path, message]) => {
    const index = Number(path.split('.')[1]);
    return Number.isInteger(index) && typed[index] !== undefined ? `${typed[index]}: ${message}` : message;
  })[0];
  const unavailable = isCode(error, 'OIDC_PROVIDER_UNAVAILABLE') ? error : null;

  const save = (event: Event) => {
    event.preventDefault();
    void run(async () => {
      const saved = await ctx.api.putOrganizationOidc({
        issuer: issuer.trim(),
        clientId: clientId.trim(),
        ...(clientSecret !== '' ? { clientSecret } : {}),
        ...(name.trim() !== '' ? { name: name.trim() } : {}),
        allowedDomains: typed,
      });
      setClientSecret('');
      onSaved(saved);
      ctx.announce(`Identity provider saved: your people can sign in with ${saved.name}.`);
    });
  };
  // Not through run, which would disable and relabel Save while removing; a refusal shows where a save's does.
  const remove = async () => {
    setError(null);
    try {
      await ctx.api.deleteOrganizationOidc();
      ctx.announce('Identity provider removed: your people sign in with their passkeys (or the service’s provider, if it has one).');
      onRemoved();
    } catch (e) {
      setError(e);
    }
  };

  return h(
    'form',
    { class: 'card form provider-form', onSubmit: save, noValidate: true, 'aria-labelledby': 'provider-form-title' },
    h('h2', { id: 'provider-form-title' }, own ? 'Change your identity provider' : 'Set your identity provider'),
    h(
      Field,
      {
        id: 'provider-issuer',
        label: 'Issuer',
        help: 'The provider’s issuer URL (https://); the service reads its /.well-known/openid-configuration before saving.',
        error: errors.get('issuer') ?? (unavailable ? `Could not be discovered: ${unavailable.message}` : undefined),
      },
      h('input', { type: 'url', required: true, class: 'mono', value: issuer, placeholder: 'https://login.example.com', autocomplete: 'off', spellcheck: false, onInput: (e: Event) => setIssuer((e.target as HTMLInputElement).value) }),
    ),
    h(
      Field,
      { id: 'provider-client-id', label: 'Client ID', help: 'keyward’s client at the provider.', error: errors.get('clientId') },
      h('input', { required: true, class: 'mono', value: clientId, autocomplete: 'off', spellcheck: false, onInput: (e: Event) => setClientId((e.target as HTMLInputElement).value) }),
    ),
    h(
      Field,
      {
        id: 'provider-client-secret',
        label: 'Client secret',
        help: own ? 'Set. It is never shown: leave this empty to keep it, or type a new one to replace it.' : 'Write-only: it is never shown again, here or anywhere.',
        error: errors.get('clientSecret'),
      },
      h('input', {
        type: 'password',
        required: !own,
        value: clientSecret,
        autocomplete: 'new-password',
        placeholder: own ? 'Set (unchanged)' : '',
        onInput: (e: Event) => setClientSecret((e.target as HTMLInputElement).value),
      }),
    ),
    h(
      Field,
      { id: 'provider-name', label: 'Name on the sign-in button', help: 'People see “Sign in with <name>”.', error: errors.get('name') },
      h('input', { value: name, maxLength: 40, placeholder: 'e.g. Acme SSO', onInput: (e: Event) => setName((e.target as HTMLInputElement).value) }),
    ),
    h(
      Field,
      { id: 'provider-domains', label: 'Allowed email domains', help: 'Separated by commas or spaces, e.g. acme.com, acme.co.uk. Only verified emails of these domains sign in.', error: domainError },
      h('input', { required: true, value: domains, autocomplete: 'off', spellcheck: false, onInput: (e: Event) => setDomains((e.target as HTMLInputElement).value) }),
    ),
    unavailable ? h(ErrorBox, { error: unavailable, title: 'Nothing was saved: the provider could not be reached' }) : h(FormError, { error, title: 'Nothing was saved', shown: ['issuer', 'clientId', 'clientSecret', 'name', 'allowedDomains'] }),
    h(
      'div',
      { class: 'form-actions' },
      h('button', { type: 'submit', class: 'button primary', disabled: busy }, busy ? 'Checking the provider…' : 'Save'),
      own ? h(ConfirmButton, { label: 'Remove', subject: 'the identity provider', onConfirm: () => void remove() }) : null,
    ),
  );
}
