/**
 * The keyward dashboard: sign in with an API key, then one section per tab
 * (TABS: keys, roles, allowlist, usage, audit), each a view of its own module
 * given the signed-in context and the route (router.ts). A new section is one
 * entry in TABS.
 */
import { h, render, type ComponentType } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { AllowlistTab } from './allowlist.ts';
import { ERROR_CATALOG } from '../core/errors.ts';
import type { Permission } from '../core/permissions.ts';
import { Api, grants, isNotAvailable, KeywardApiError, session, type Organization, type Role, type WhoAmI } from './api.ts';
import { AuditTab } from './audit.ts';
import type { Ctx } from './context.ts';
import { IncidentsTab } from './incidents.ts';
import { KeysTab } from './keys.ts';
import { RolesTab } from './roles.ts';
import { useRoute, type Route } from './router.ts';
import { ErrorBox } from './ui.ts';
import { UsageTab } from './usage.ts';

interface Tab {
  id: string;
  label: string;
  permission: Permission;
  /** The section's view; `route.rest` is its sub-page (e.g. a key's id), `route.query` its filters. */
  view: ComponentType<{ ctx: Ctx; route: Route }>;
}

const TABS: Tab[] = [
  { id: 'keys', label: 'API Keys', permission: 'api.key.view', view: KeysTab },
  { id: 'roles', label: 'Roles', permission: 'role.view', view: RolesTab },
  { id: 'allowlist', label: 'IP allowlist', permission: 'org.view', view: AllowlistTab },
  { id: 'usage', label: 'Usage', permission: 'usage.view', view: UsageTab },
  { id: 'audit', label: 'Audit log', permission: 'audit.view', view: AuditTab },
  { id: 'incidents', label: 'Incidents', permission: 'incident.view', view: IncidentsTab },
];

function SignIn({ onSignedIn, reason }: { onSignedIn: (secret: string, me: WhoAmI) => void; reason: unknown }) {
  const [secret, setSecret] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      // Not trimmed: the key is checked as pasted, and the cause is named (fetch would silently
      // strip spaces around a header value, so that one is caught here).
      if (/\s/.test(secret)) {
        throw new KeywardApiError(401, 'KEY_HAS_WHITESPACE', 'The key contains spaces, tabs or line breaks.', ERROR_CATALOG.KEY_HAS_WHITESPACE.hint);
      }
      const me = await new Api(secret).whoami();
      setSecret('');
      onSignedIn(secret, me);
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  return h(
    'main',
    { class: 'signin' },
    h(
      'form',
      { class: 'card form', onSubmit: submit },
      h('p', { class: 'brand' }, 'keyward'),
      h('h1', null, 'Sign in'),
      reason ? h(ErrorBox, { error: reason, title: 'You were signed out' }) : null,
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
      h('button', { type: 'submit', class: 'button primary', disabled: busy }, busy ? 'Signing in…' : 'Sign in'),
    ),
  );
}

function Shell({ secret, initialMe, signOut }: { secret: string; initialMe: WhoAmI; signOut: (reason?: unknown) => void }) {
  const [me, setMe] = useState(initialMe);
  const route = useRoute();
  const [roles, setRoles] = useState<Role[] | null>(null);
  const [org, setOrg] = useState<Organization | 'unavailable' | null>(null);
  const [announcement, setAnnouncement] = useState('');
  const [rolesTick, setRolesTick] = useState(0);
  const [orgTick, setOrgTick] = useState(0);
  const api = useMemo(() => new Api(secret, (error) => signOut(error)), [secret]);
  const can = useCallback((p: Permission) => grants(me.permissions, p), [me]);
  const mainRef = useRef<HTMLElement>(null);

  // A new page (not a filter change): clear the status line and move focus to its heading.
  const page = `${route.tab}/${route.rest.join('/')}`;
  const shownPage = useRef(page);
  useEffect(() => {
    if (page === shownPage.current) return;
    shownPage.current = page;
    setAnnouncement('');
    requestAnimationFrame(() => mainRef.current?.querySelector<HTMLElement>('h1')?.focus());
  }, [page]);
  useEffect(() => {
    if (!can('role.view')) return setRoles(null);
    api.listRoles().then((roles) => setRoles(roles.items), () => setRoles(null));
  }, [rolesTick, me]);
  useEffect(() => {
    if (!can('org.view')) return setOrg(null);
    api.getOrganization().then(setOrg, (e: unknown) => setOrg(isNotAvailable(e) ? 'unavailable' : null));
  }, [orgTick, me]);

  const ctx: Ctx = {
    api,
    me,
    can,
    roles,
    reloadRoles: () => setRolesTick((t) => t + 1),
    org,
    reloadOrg: () => setOrgTick((t) => t + 1),
    refreshMe: () => void api.whoami().then(setMe, () => {}),
    announce: setAnnouncement,
    signOut,
  };
  const visible = TABS.filter((t) => can(t.permission));
  const current = visible.find((t) => t.id === (route.tab || 'keys')) ?? visible[0];
  const roleName = roles?.find((r) => r.id === me.key.role)?.name ?? me.key.role;

  return h(
    'div',
    { class: 'shell' },
    h('a', { class: 'skip-link', href: '#main' }, 'Skip to content'),
    h(
      'header',
      { class: 'topbar' },
      h('span', { class: 'brand' }, 'keyward'),
      h(
        'span',
        { class: 'org', 'data-testid': 'org' },
        h('span', { class: 'visually-hidden' }, 'Organization: '),
        h('strong', null, me.organization.name),
        h('span', { class: 'plan' }, `${me.organization.plan} plan`),
      ),
      h(
        'span',
        { class: 'who', 'data-testid': 'whoami' },
        'Signed in with ',
        h('strong', null, me.key.name),
        ' · role ',
        h('strong', { 'data-testid': 'my-role' }, roleName),
      ),
      h('button', { type: 'button', class: 'button small', onClick: () => signOut() }, 'Sign out'),
    ),
    h(
      'nav',
      { class: 'tabs', 'aria-label': 'Dashboard sections' },
      h(
        'ul',
        null,
        visible.map((t) =>
          h('li', { key: t.id }, h('a', { href: `#/${t.id}`, 'aria-current': current?.id === t.id ? 'page' : undefined, class: current?.id === t.id ? 'active' : '' }, t.label)),
        ),
      ),
    ),
    h('p', { class: 'announcement', role: 'status', 'aria-live': 'polite' }, announcement),
    h(
      'main',
      { id: 'main', ref: mainRef, class: 'content' },
      current
        ? h(current.view, { key: current.id, ctx, route })
        : h(
            'section',
            null,
            h('h1', { tabIndex: -1 }, 'Nothing to show'),
            h('p', null, `This key's role (${me.key.role}) grants none of the dashboard's permissions: ${me.permissions.join(', ') || 'none'}. Sign in with a key whose role grants api.key.view.`),
          ),
    ),
  );
}

function App() {
  const [state, setState] = useState<{ secret: string; me: WhoAmI } | 'checking' | null>(() => (session.load() ? 'checking' : null));
  const [reason, setReason] = useState<unknown>(null);

  const signOut = useCallback((why?: unknown) => {
    session.clear();
    setReason(why ?? null);
    setState(null);
    if (location.hash) history.replaceState(null, '', location.pathname);
  }, []);

  useEffect(() => {
    if (state !== 'checking') return;
    const secret = session.load();
    if (!secret) return setState(null);
    new Api(secret).whoami().then(
      (me) => setState({ secret, me }),
      (error: unknown) => signOut(error),
    );
  }, []);

  useEffect(() => {
    document.title = state && state !== 'checking' ? `keyward · ${state.me.organization.name}` : 'keyward · sign in';
  }, [state]);

  if (state === 'checking') return h('main', { class: 'signin' }, h('p', { role: 'status' }, 'Signing in…'));
  if (state === null)
    return h(SignIn, {
      reason,
      onSignedIn: (secret, me) => {
        session.save(secret);
        setReason(null);
        setState({ secret, me });
      },
    });
  return h(Shell, { key: state.me.key.id, secret: state.secret, initialMe: state.me, signOut });
}

render(h(App, null), document.getElementById('app')!);
