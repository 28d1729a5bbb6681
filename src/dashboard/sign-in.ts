/**
 * Signing in to the dashboard: the sign-in page (a passkey, the identity
 * provider of the organization the address names — `#/sign-in?organization=org_…`,
 * given on the Members page — or of the service's default one, "Sign in with
 * SSO" by a work email when other organizations have providers, the
 * break-glass key only where /v1/auth/methods allows it), the invitation page a link opens
 * (`#invitation=<token>`: register a passkey, or accept through the identity
 * provider), and the identity provider's return (`#code=…&state=…`). The
 * WebAuthn ceremonies run through @simplewebauthn/browser; each ends in a
 * session (SessionView) the shell then works with.
 */
import { startAuthentication, startRegistration } from '@simplewebauthn/browser';
import { h, type ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ERROR_CATALOG } from '../core/errors.ts';
import { Api, KeywardApiError, type InvitationPreview, type SessionView, type SignInMethods, type WhoAmI } from './api.ts';
import { parseRoute } from './router.ts';
import { ErrorBox, useAction } from './ui.ts';

/** Before sign-in: no key, no CSRF token; the sign-in steps set the cookie. */
const publicApi = () => new Api();

// The ceremonies' options arrive as JSON records; SimpleWebAuthn reads them as its own types.
type RegistrationOptions = Parameters<typeof startRegistration>[0]['optionsJSON'];
type AuthenticationOptions = Parameters<typeof startAuthentication>[0]['optionsJSON'];

/** Registers a new passkey with the browser's authenticator for the service's creation options; the credential to send back. */
export async function createPasskey(options: Record<string, unknown>): Promise<Record<string, unknown>> {
  const credential = await startRegistration({ optionsJSON: options as unknown as RegistrationOptions });
  return credential as unknown as Record<string, unknown>;
}

/** The invitation token in a link's fragment (`#invitation=…`), or null. */
export const invitationInHash = (hash: string): string | null => new URLSearchParams(hash.replace(/^#/, '')).get('invitation');

/** The identity provider's answer in the fragment it redirected back with (`#code=…&state=…`, or `#error=…`), or null. */
export const oidcAnswerInHash = (hash: string): string | null => {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  return params.has('state') && (params.has('code') || params.has('error')) ? hash.replace(/^#/, '') : null;
};

/** The organization an organization's own sign-in address names (`#/sign-in?organization=org_…`), or undefined. */
export const organizationInHash = (hash: string): string | undefined => {
  const route = parseRoute(hash);
  return (route.tab === 'sign-in' && route.query.get('organization')) || undefined;
};

/** Sends the browser to the identity provider (of an invitation, an organization, or the one a work email finds); it comes back to `/#code=…`. */
async function startOidc(body: { invitationToken?: string; organization?: string; email?: string }): Promise<void> {
  const { authorizationUrl } = await publicApi().oidcStart(body);
  location.assign(authorizationUrl);
}

function useMethods(organization?: string): SignInMethods | null {
  const [methods, setMethods] = useState<SignInMethods | null>(null);
  useEffect(() => {
    // Unknown methods: passkeys only (the service always offers them), never the key form.
    publicApi()
      .signInMethods(organization ? { organization } : {})
      .then(setMethods, () => setMethods({ passkey: true, oidc: null, ssoByEmail: false, keySignIn: false }));
  }, [organization]);
  return methods;
}

function Page({ title, children }: { title: string; children?: ComponentChildren }) {
  return h('main', { class: 'signin' }, h('div', { class: 'card form' }, h('p', { class: 'brand' }, 'keyward'), h('h1', null, title), children));
}

export function SignIn({
  reason,
  onSession,
  onKey,
}: {
  reason: unknown;
  onSession: (session: SessionView) => void;
  onKey: (secret: string, me: WhoAmI) => void;
}) {
  const organization = organizationInHash(location.hash);
  const methods = useMethods(organization);
  // Success leaves this page (a session, or the identity provider): the buttons stay disabled until then.
  const { busy, error, run: attempt } = useAction({ keepBusyOnSuccess: true });
  const withPasskey = () =>
    attempt(async () => {
      const api = publicApi();
      const { options } = await api.passkeyOptions();
      const credential = await startAuthentication({ optionsJSON: options as unknown as AuthenticationOptions });
      onSession(await api.passkeySignIn({ credential: credential as unknown as Record<string, unknown> }));
    });
  return h(
    Page,
    { title: 'Sign in' },
    // A sentence: the person signed out themselves (everywhere); anything else is why the session ended.
    typeof reason === 'string' ? h('p', { class: 'notice', role: 'status' }, reason) : reason ? h(ErrorBox, { error: reason, title: 'You were signed out' }) : null,
    h('button', { type: 'button', class: 'button primary', disabled: busy || !methods, onClick: withPasskey }, 'Sign in with a passkey'),
    methods?.oidc
      ? h('button', { type: 'button', class: 'button', disabled: busy, onClick: () => attempt(() => startOidc(organization ? { organization } : {})) }, `Sign in with ${methods.oidc.name}`)
      : null,
    methods?.ssoByEmail ? h(SsoSignIn, { busy, onEmail: (email) => attempt(() => startOidc({ email })) }) : null,
    h(ErrorBox, { error, title: 'Sign-in failed' }),
    methods?.keySignIn ? h(KeySignIn, { onKey }) : null,
  );
}

/** "Sign in with SSO": the work email finds the organization whose identity provider allows its domain, and the browser goes there. */
function SsoSignIn({ busy, onEmail }: { busy: boolean; onEmail: (email: string) => void }) {
  const [email, setEmail] = useState('');
  const submit = (event: Event) => {
    event.preventDefault();
    onEmail(email.trim());
  };
  return h(
    'form',
    { class: 'form sso-sign-in', onSubmit: submit, 'aria-labelledby': 'sso-title' },
    h('h2', { id: 'sso-title' }, 'Sign in with SSO'),
    h('label', { for: 'sso-email' }, 'Work email'),
    h('input', {
      id: 'sso-email',
      type: 'email',
      required: true,
      autocomplete: 'email',
      value: email,
      'aria-describedby': 'sso-email-help',
      onInput: (e: Event) => setEmail((e.target as HTMLInputElement).value),
    }),
    h('p', { id: 'sso-email-help', class: 'help' }, "You continue at your organization's identity provider."),
    h('button', { type: 'submit', class: 'button', disabled: busy }, 'Continue with SSO'),
  );
}

/** Break-glass: a pasted admin key, shown only when the operator enabled it. */
function KeySignIn({ onKey }: { onKey: (secret: string, me: WhoAmI) => void }) {
  const [secret, setSecret] = useState('');
  const { busy, error, run } = useAction({ keepBusyOnSuccess: true });
  const submit = (event: Event) => {
    event.preventDefault();
    void run(async () => {
      // Not trimmed: the key is checked as pasted, and the cause is named (fetch would silently
      // strip spaces around a header value, so that one is caught here).
      if (/\s/.test(secret)) {
        throw new KeywardApiError(401, 'KEY_HAS_WHITESPACE', 'The key contains spaces, tabs or line breaks.', ERROR_CATALOG.KEY_HAS_WHITESPACE.hint);
      }
      const me = await new Api({ secret }).whoami();
      setSecret('');
      onKey(secret, me);
    });
  };
  return h(
    'form',
    { class: 'break-glass', onSubmit: submit },
    h('h2', null, 'Break-glass: sign in with an API key'),
    h('p', { class: 'help' }, 'Enabled by the operator for emergencies. People should sign in with a passkey; keys are for machines.'),
    h('label', { for: 'api-key' }, 'API key'),
    h('input', {
      id: 'api-key',
      type: 'password',
      class: 'mono',
      value: secret,
      required: true,
      autocomplete: 'off',
      spellcheck: false,
      autocapitalize: 'off',
      placeholder: 'kw_…',
      'aria-describedby': 'api-key-help',
      onInput: (e: Event) => setSecret((e.target as HTMLInputElement).value),
    }),
    h(
      'p',
      { id: 'api-key-help', class: 'help' },
      'Paste a secret key (not the Key ID). It stays in this tab’s session storage only, and is cleared when you sign out or close the tab.',
    ),
    h(ErrorBox, { error, title: 'Sign-in failed' }),
    h('button', { type: 'submit', class: 'button', disabled: busy }, busy ? 'Signing in…' : 'Sign in'),
  );
}

/** The page an invitation link opens: who it is for, then a passkey (or the identity provider) to accept it. */
export function AcceptInvitation({ token, onSession }: { token: string; onSession: (session: SessionView) => void }) {
  const [preview, setPreview] = useState<InvitationPreview | null>(null);
  // The invitation's own organization's provider (a service of several organizations has no default one).
  const methods = useMethods(preview?.organization.id);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [displayName, setDisplayName] = useState('');
  const [email, setEmail] = useState('');
  const { busy, error, setError, run } = useAction({ keepBusyOnSuccess: true });
  useEffect(() => {
    publicApi().previewInvitation({ token }).then(setPreview, setLoadError);
  }, [token]);

  if (loadError) return h(Page, { title: 'Invitation' }, h(ErrorBox, { error: loadError, title: 'This invitation cannot be used' }), h('a', { href: '/' }, 'Go to sign-in'));
  if (!preview) return h(Page, { title: 'Invitation' }, h('p', { role: 'status' }, 'Checking the invitation…'));

  const submit = (event: Event) => {
    event.preventDefault();
    void run(async () => {
      const api = publicApi();
      const { options } = await api.invitationPasskeyOptions({ token });
      const credential = await createPasskey(options);
      onSession(await api.acceptInvitation({ token, displayName, credential, ...(preview.email ? {} : { email }) }));
    });
  };
  return h(
    Page,
    { title: `Join ${preview.organization.name}` },
    h(
      'p',
      { 'data-testid': 'invitation' },
      preview.email ? ['Invitation for ', h('strong', null, preview.email), ' as '] : 'Invitation as ',
      h('strong', null, preview.role),
      '. Register a passkey to accept it; you sign in with it from then on.',
    ),
    h(
      'form',
      { class: 'form', onSubmit: submit },
      preview.email
        ? null
        : [
            h('label', { for: 'invite-email' }, 'Your email'),
            h('input', { id: 'invite-email', type: 'email', required: true, value: email, onInput: (e: Event) => setEmail((e.target as HTMLInputElement).value) }),
          ],
      h('label', { for: 'invite-name' }, 'Your name'),
      h('input', { id: 'invite-name', required: true, value: displayName, onInput: (e: Event) => setDisplayName((e.target as HTMLInputElement).value) }),
      h(ErrorBox, { error, title: 'Could not accept the invitation' }),
      h('button', { type: 'submit', class: 'button primary', disabled: busy }, busy ? 'Registering…' : 'Accept with a passkey'),
    ),
    methods?.oidc ? h('button', { type: 'button', class: 'button', disabled: busy, onClick: () => startOidc({ invitationToken: token }).catch(setError) }, `Accept with ${methods.oidc.name}`) : null,
  );
}

/** The identity provider sent the browser back: finish signing in with its answer. */
export function OidcReturn({ answer, onSession, onFailed }: { answer: string; onSession: (session: SessionView) => void; onFailed: (error: unknown) => void }) {
  useEffect(() => {
    publicApi().oidcCallback({ query: answer }).then(onSession, onFailed);
  }, [answer]);
  return h('main', { class: 'signin' }, h('p', { role: 'status' }, 'Signing in…'));
}
