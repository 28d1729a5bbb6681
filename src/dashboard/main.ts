/**
 * The keyward dashboard: people sign in (sign-in.ts: a passkey, the identity
 * provider, or an invitation link; a pasted key only as break-glass), then one section per tab
 * (TABS: keys, roles, allowlist, identity provider, usage, audit, incidents, members), each a view of its own module
 * given the signed-in context and the route (router.ts). A new section is one
 * entry in TABS. A member also has their own page, Your account (#/account).
 */
import { h, render, type ComponentType } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { AccountPage } from './account.ts';
import { AllowlistTab } from './allowlist.ts';
import type { OperationId } from '../core/api.ts';
import { Api, isNotAvailable, mayCall, meOfKey, meOfSession, session, type Credentials, type Me, type Organization, type Role, type SessionView } from './api.ts';
import { AuditTab } from './audit.ts';
import type { Ctx } from './context.ts';
import { IdentityProviderTab } from './identity-provider.ts';
import { IncidentsTab } from './incidents.ts';
import { KeysTab } from './keys.ts';
import { MembersTab } from './members.ts';
import { RolesTab } from './roles.ts';
import { useRoute, type Route } from './router.ts';
import { AcceptInvitation, invitationInHash, oidcAnswerInHash, OidcReturn, organizationInHash, SignIn } from './sign-in.ts';
import { ErrorBox } from './ui.ts';
import { UsageTab } from './usage.ts';

interface Section {
  id: string;
  label: string;
  /** The section's view; `route.rest` is its sub-page (e.g. a key's id), `route.query` its filters. */
  view: ComponentType<{ ctx: Ctx; route: Route }>;
}

interface Tab extends Section {
  /** The operation that lists what the tab shows: a caller who may call it sees the tab. */
  lists: OperationId;
}

const TABS: Tab[] = [
  { id: 'keys', label: 'API Keys', lists: 'listKeys', view: KeysTab },
  { id: 'roles', label: 'Roles', lists: 'listRoles', view: RolesTab },
  { id: 'allowlist', label: 'IP allowlist', lists: 'getIpAllowlist', view: AllowlistTab },
  { id: 'identity-provider', label: 'Identity provider', lists: 'getOrganizationOidc', view: IdentityProviderTab },
  { id: 'usage', label: 'Usage', lists: 'getUsage', view: UsageTab },
  { id: 'audit', label: 'Audit log', lists: 'listAuditLog', view: AuditTab },
  { id: 'incidents', label: 'Incidents', lists: 'listIncidents', view: IncidentsTab },
  { id: 'members', label: 'Members', lists: 'listMembers', view: MembersTab },
];

/** Every member's own page (sessions, passkeys): no permission needed, and nothing for a key. */
const ACCOUNT: Section = { id: 'account', label: 'Your account', view: AccountPage };

function Shell({ credentials, initialMe, signOut }: { credentials: Credentials; initialMe: Me; signOut: (reason?: unknown) => void }) {
  const [me, setMe] = useState(initialMe);
  const route = useRoute();
  const [roles, setRoles] = useState<Role[] | null>(null);
  const [org, setOrg] = useState<Organization | 'unavailable' | null>(null);
  const [announcement, setAnnouncement] = useState('');
  const [rolesTick, setRolesTick] = useState(0);
  const [orgTick, setOrgTick] = useState(0);
  const api = useMemo(() => new Api(credentials, (error) => signOut(error)), [credentials]);
  const may = useCallback((operation: OperationId) => mayCall(me.permissions, operation), [me]);
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
    if (!may('listRoles')) return setRoles(null);
    api.listRoles().then((roles) => setRoles(roles.items), () => setRoles(null));
  }, [rolesTick, me]);
  useEffect(() => {
    if (!may('getOrganization')) return setOrg(null);
    api.getOrganization().then(setOrg, (e: unknown) => setOrg(isNotAvailable(e) ? 'unavailable' : null));
  }, [orgTick, me]);

  const ctx: Ctx = {
    api,
    me,
    mayCall: may,
    roles,
    reloadRoles: () => setRolesTick((t) => t + 1),
    org,
    reloadOrg: () => setOrgTick((t) => t + 1),
    refreshMe: () => void ('secret' in credentials ? api.whoami().then(meOfKey) : api.getSession().then(meOfSession)).then(setMe, () => {}),
    announce: setAnnouncement,
    signOut,
  };
  const visible = TABS.filter((t) => may(t.lists));
  const onAccount = route.tab === ACCOUNT.id && me.member !== null;
  const current: Section | undefined = onAccount ? ACCOUNT : (visible.find((t) => t.id === (route.tab || 'keys')) ?? visible[0]);
  const myRole = me.member?.role ?? me.key?.role ?? '';
  const roleName = roles?.find((r) => r.id === myRole)?.name ?? myRole;

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
        me.member ? 'Signed in as ' : 'Signed in with key ',
        h('strong', null, me.member?.email ?? me.key?.name),
        ' · role ',
        h('strong', { 'data-testid': 'my-role' }, roleName),
      ),
      me.member ? h('a', { href: `#/${ACCOUNT.id}`, class: 'button small', 'aria-current': onAccount ? 'page' : undefined }, ACCOUNT.label) : null,
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
            h('p', null, `Your role (${myRole}) grants none of the dashboard's permissions: ${me.permissions.join(', ') || 'none'}. Ask an admin for a role that grants api.key.view.`),
          ),
    ),
  );
}

type SignedIn = { credentials: Credentials; me: Me };

function App() {
  const [state, setState] = useState<SignedIn | 'checking' | null>('checking');
  const [reason, setReason] = useState<unknown>(null);
  // Read at load: an invitation link or the identity provider's return, then the address is cleaned.
  const [entry, setEntry] = useState(() => ({ invitation: invitationInHash(location.hash), oidc: oidcAnswerInHash(location.hash) }));
  const [landing, setLanding] = useState<'invitation' | 'oidc' | null>(entry.invitation ? 'invitation' : entry.oidc ? 'oidc' : null);
  // An invitation link opened in a tab already on the dashboard changes only the fragment: no new page load.
  useEffect(() => {
    const onHash = () => {
      const invitation = invitationInHash(location.hash);
      if (!invitation) return;
      setEntry({ invitation, oidc: null });
      setLanding('invitation');
    };
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);

  const clearAddress = () => {
    if (location.hash) history.replaceState(null, '', location.pathname);
  };
  // Signing out on purpose leaves the address too; a session that ended keeps it, to come back to after signing in.
  const signOut = useCallback((why?: unknown) => {
    session.clear();
    setReason(why ?? null);
    setState(null);
    if (!why || typeof why === 'string') clearAddress();
  }, []);
  // The address stays (a reload, a deep link): the shell opens what it names; an organization's sign-in address has done its job.
  const withSession = (view: SessionView) => {
    if (organizationInHash(location.hash)) clearAddress();
    session.clear();
    setReason(null);
    setLanding(null);
    setState({ credentials: { csrfToken: view.csrfToken }, me: meOfSession(view) });
  };
  // An invitation link or the identity provider's answer is spent: it leaves the address.
  const fromLanding = (view: SessionView) => {
    clearAddress();
    withSession(view);
  };

  useEffect(() => {
    if (landing) return setState(null);
    // A session cookie first (people), then a break-glass key kept in this tab.
    new Api().getSession().then(withSession, () => {
      const secret = session.load();
      if (!secret) return setState(null);
      new Api({ secret }).whoami().then(
        (me) => setState({ credentials: { secret }, me: meOfKey(me) }),
        (error: unknown) => signOut(error),
      );
    });
  }, []);

  useEffect(() => {
    document.title = state && state !== 'checking' ? `keyward · ${state.me.organization.name}` : 'keyward · sign in';
  }, [state]);

  const signOutOf = (credentials: Credentials) => (why?: unknown) => {
    // A member's sign-out ends the session on the server too (a key has nothing to end).
    if (!why && !('secret' in credentials)) void new Api(credentials).signOut().catch(() => {});
    signOut(why);
  };

  if (landing === 'invitation' && entry.invitation) return h(AcceptInvitation, { key: entry.invitation, token: entry.invitation, onSession: fromLanding });
  if (landing === 'oidc' && entry.oidc)
    return h(OidcReturn, {
      answer: entry.oidc,
      onSession: fromLanding,
      onFailed: (error) => {
        setLanding(null);
        clearAddress();
        signOut(error);
      },
    });
  if (state === 'checking') return h('main', { class: 'signin' }, h('p', { role: 'status' }, 'Signing in…'));
  if (state === null)
    return h(SignIn, {
      reason,
      onSession: withSession,
      onKey: (secret, me) => {
        session.save(secret);
        setReason(null);
        setState({ credentials: { secret }, me: meOfKey(me) });
      },
    });
  return h(Shell, { key: state.me.member?.id ?? state.me.key?.id, credentials: state.credentials, initialMe: state.me, signOut: signOutOf(state.credentials) });
}

render(h(App, null), document.getElementById('app')!);
