/**
 * People in the dashboard, in real Chromium against the real key service:
 * an invitation link opened in the dashboard and accepted with a passkey
 * from Chromium's virtual authenticator (CDP WebAuthn domain), the dashboard
 * then working on the session cookie (listing keys, creating one, which
 * needs the CSRF token), signing out, and signing in again with the passkey.
 * The sign-in page offers no key form unless the operator enabled it. The
 * Members tab: an admin member invites, the invitee accepts in another
 * browser, the admin changes their role and removes them (their open session
 * then ends).
 *
 * The browser talks to http://localhost:<port>: WebAuthn needs a host name.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible } from '../support/axe.ts';
import {
  addVirtualAuthenticator,
  browserAvailable,
  CHROMIUM_PATH,
  launchChromium,
  REQUIRE_BROWSER,
  screenshot,
  sidewaysOverflow,
  startDashboardService,
  type DashboardService,
  type VirtualAuthenticator,
} from '../support/browser.ts';
import { memberWithSession } from '../support/people.ts';

const available = browserAvailable();

if (!available && REQUIRE_BROWSER) {
  describe('people in the dashboard (Chromium)', () => {
    it('needs Chromium (KEYWARD_REQUIRE_BROWSER=1)', () => {
      throw new Error(`KEYWARD_REQUIRE_BROWSER=1 but ${CHROMIUM_PATH} is missing: apt-get install -y chromium`);
    });
  });
}

describe.skipIf(!available)('people in the dashboard (Chromium)', () => {
  let service: DashboardService;
  let local: string;
  let browser: Browser;

  beforeAll(async () => {
    // Key sign-in off: the service's default, not the one the key-driven dashboard test uses.
    service = await startDashboardService({ dashboardKeySignIn: 'off' });
    local = service.url.replace('127.0.0.1', 'localhost');
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await service?.stop();
  });

  /** A fresh browser (no cookies) with a virtual passkey authenticator; only loopback is reachable. */
  async function freshPage(width = 1280): Promise<{ context: BrowserContext; page: Page; problems: string[]; authenticator: VirtualAuthenticator }> {
    const context = await browser.newContext({ viewport: { width, height: 900 } });
    // A step that never comes fails by name, well before the test's own timeout.
    context.setDefaultTimeout(20_000);
    await context.route(/^https?:\/\/(?!localhost|127\.0\.0\.1)/, (route) => route.abort());
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    const authenticator = await addVirtualAuthenticator(context, page);
    return { context, page, problems, authenticator };
  }

  const nav = (page: Page) => page.getByRole('navigation', { name: 'Dashboard sections' });
  const row = (page: Page, name: string) => page.getByRole('row').filter({ has: page.getByRole('rowheader', { name, exact: true }) });

  it('invite → accept in the dashboard with a passkey → signed in, keys visible; a key made with the session; sign out and back in with the passkey', async () => {
    const admin = service.client();
    await admin.createKey({ name: 'Billing worker', role: 'viewer' });
    const { link } = await admin.createInvitation({ email: 'ada@example.com', role: 'key-manager' });
    const { context, page, problems } = await freshPage();

    await page.goto(link.replace('127.0.0.1', 'localhost'));
    await page.getByRole('heading', { level: 1, name: 'Join' }).waitFor();
    expect(await page.getByTestId('invitation').textContent()).toContain('ada@example.com');
    await page.getByLabel('Your name').fill('Ada Lovelace');
    await page.getByRole('button', { name: 'Accept with a passkey' }).click();

    // Signed in as the member, on the session cookie: the keys are listed.
    await nav(page).waitFor();
    expect(await page.getByTestId('whoami').textContent()).toContain('ada@example.com');
    await row(page, 'Billing worker').waitFor();
    // The token left the address bar; nothing about the session is readable by scripts.
    expect(page.url()).not.toContain('invitation');
    expect(await page.evaluate(() => document.cookie + JSON.stringify(sessionStorage) + JSON.stringify(localStorage))).not.toMatch(/keyward_session|kw_/);

    // A change made with the session (the CSRF token travels with it).
    await page.getByRole('button', { name: '+ Create New Key' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name').fill('Made by Ada');
    await dialog.getByLabel('Role').selectOption('viewer');
    await dialog.getByRole('button', { name: 'Create Key' }).click();
    await dialog.getByRole('heading', { name: 'Save your secret key' }).waitFor();
    await dialog.getByRole('button', { name: 'I have copied it' }).click();
    await row(page, 'Made by Ada').waitFor();
    const made = (await admin.listKeys()).items.find((k) => k.name === 'Made by Ada')!;
    const ada = (await admin.listMembers()).items.find((m) => m.email === 'ada@example.com')!;
    expect(made.createdBy).toBe(ada.id);

    // Sign out ends the session; the page offers the passkey (and no key form: key sign-in is off).
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in with a passkey' }).waitFor();
    expect(await page.getByLabel('API key').count()).toBe(0);
    await page.reload();
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await nav(page).waitFor();
    expect(await page.getByTestId('whoami').textContent()).toContain('ada@example.com');
    await row(page, 'Made by Ada').waitFor();

    // The link worked once: opened again (a new tab, as from the mail), the page says why.
    const again = await context.newPage();
    await again.goto(link.replace('127.0.0.1', 'localhost'));
    await again.getByText('INVITATION_USED').waitFor();
    expect(problems).toEqual([]);
    await context.close();
  }, 120_000);

  /** Opens an invitation link in `page` and accepts it with a new passkey, as `name`. */
  async function accept(page: Page, link: string, name: string): Promise<void> {
    await page.goto(link.replace('127.0.0.1', 'localhost'));
    await page.getByLabel('Your name').fill(name);
    await page.getByRole('button', { name: 'Accept with a passkey' }).click();
    await nav(page).waitFor();
  }

  const openMembers = async (page: Page) => {
    await nav(page).getByRole('link', { name: 'Members', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Members' }).waitFor();
  };

  it('Members tab: an admin member invites, the invitee accepts, the admin changes their role, suspends and resumes them, and removes them', async () => {
    const { link } = await service.client().createInvitation({ email: 'grace@example.com', role: 'admin' });
    const adminBrowser = await freshPage();
    const page = adminBrowser.page;
    await accept(page, link, 'Grace Hopper');
    await openMembers(page);
    await row(page, 'grace@example.com').waitFor();

    await page.getByLabel('Email', { exact: true }).fill('linus@example.com');
    await page.getByLabel('Role', { exact: true }).selectOption('viewer');
    await page.getByRole('button', { name: 'Invite', exact: true }).click();
    const invited = (await page.getByTestId('invitation-link').textContent())!;
    expect(invited).toContain('#invitation=');
    await page.getByText('Revoke invitation for linus@example.com').waitFor();

    const invitee = await freshPage();
    await accept(invitee.page, invited, 'Linus');
    expect(await invitee.page.getByTestId('my-role').textContent()).toMatch(/viewer/i);

    await page.reload();
    await openMembers(page);
    await row(page, 'linus@example.com').waitFor();
    await page.getByLabel('Role of linus@example.com').selectOption('key-manager');
    await expect.poll(async () => (await service.client().listMembers()).items.find((m) => m.email === 'linus@example.com')?.role).toBe('key-manager');

    // Suspend, confirmed: their open session fails on its next request, and their passkey no longer signs them in.
    const linus = async () => (await service.client().listMembers()).items.find((m) => m.email === 'linus@example.com')!;
    await page.getByRole('button', { name: 'Suspend linus@example.com' }).click();
    expect(await linus()).toMatchObject({ status: 'active' });
    await page.getByRole('button', { name: 'Confirm: suspend linus@example.com' }).click();
    await expect.poll(() => row(page, 'linus@example.com').getByText('Suspended').count()).toBe(1);
    expect(await linus()).toMatchObject({ status: 'suspended' });
    await invitee.page.getByRole('button', { name: 'Refresh' }).click();
    await invitee.page.getByRole('button', { name: 'Sign in with a passkey' }).waitFor();
    await invitee.page.getByText('UNKNOWN_SESSION').waitFor();
    await invitee.page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await invitee.page.getByText('PASSKEY_REJECTED').waitFor();
    expect(await nav(invitee.page).count()).toBe(0);

    // Resume: they sign in again with the same passkey.
    await page.getByRole('button', { name: 'Resume linus@example.com' }).click();
    await expect.poll(() => row(page, 'linus@example.com').getByText('Active').count()).toBe(1);
    expect(await linus()).toMatchObject({ status: 'active' });
    await invitee.page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await nav(invitee.page).waitFor();
    expect(await invitee.page.getByTestId('whoami').textContent()).toContain('linus@example.com');

    await page.getByRole('button', { name: 'Remove linus@example.com' }).click();
    await page.getByRole('button', { name: 'Confirm: remove linus@example.com' }).click();
    await expect.poll(() => row(page, 'linus@example.com').count()).toBe(0);
    expect((await service.client().listMembers()).items.map((m) => m.email)).not.toContain('linus@example.com');
    // The audit log names the member who acted by email (not "system").
    await nav(page).getByRole('link', { name: 'Audit log', exact: true }).click();
    const removed = page.getByRole('row').filter({ hasText: 'member.removed' });
    await removed.waitFor();
    expect((await removed.locator('td[data-label="Actor"]').textContent())?.trim()).toBe('grace@example.com');
    // Their open session ends: the next request sends them to sign-in.
    await invitee.page.reload();
    await invitee.page.getByRole('button', { name: 'Sign in with a passkey' }).waitFor();
    expect([...adminBrowser.problems, ...invitee.problems]).toEqual([]);
    await adminBrowser.context.close();
    await invitee.context.close();
  }, 120_000);

  it('a deep address (a key page, a filter) survives a reload, switching tabs and Back; the tab shows what its address says', async () => {
    const admin = service.client();
    const kept = await admin.createKey({ name: 'Deep link key', role: 'viewer' });
    const gone = await admin.createKey({ name: 'Revoked for the filter', role: 'viewer' });
    await admin.revokeKey(gone.key.id);
    const { link } = await admin.createInvitation({ email: 'hedy@example.com', role: 'admin' });
    const { context, page, problems } = await freshPage();
    await accept(page, link, 'Hedy Lamarr');
    const statusFilter = page.getByLabel('Status', { exact: true });

    // A key's page, reloaded: still that key's page at that address.
    const keyPage = `${local}/#/keys/${kept.key.id}`;
    await page.goto(keyPage);
    await page.getByRole('heading', { level: 1, name: 'Deep link key' }).waitFor();
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Deep link key' }).waitFor();
    expect(page.url()).toBe(keyPage);

    // A filtered table: to another tab and Back, then a reload, keep the filter and its address.
    const revoked = `${local}/#/keys?status=revoked`;
    await page.goto(revoked);
    await row(page, 'Revoked for the filter').waitFor();
    await nav(page).getByRole('link', { name: 'Roles', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Roles' }).waitFor();
    await page.goBack();
    await row(page, 'Revoked for the filter').waitFor();
    expect([page.url(), await statusFilter.inputValue()]).toEqual([revoked, 'revoked']);
    await page.reload();
    await row(page, 'Revoked for the filter').waitFor();
    expect([page.url(), await statusFilter.inputValue()]).toEqual([revoked, 'revoked']);

    // The tab's own link is its unfiltered table, and Back is the filtered one again: the table follows the address.
    await nav(page).getByRole('link', { name: 'API Keys', exact: true }).click();
    await row(page, 'Deep link key').waitFor();
    expect([page.url(), await statusFilter.inputValue(), await row(page, 'Revoked for the filter').count()]).toEqual([`${local}/#/keys`, 'active', 0]);
    await page.goBack();
    await row(page, 'Revoked for the filter').waitFor();
    expect([page.url(), await statusFilter.inputValue()]).toEqual([revoked, 'revoked']);
    // A filter chosen on the page is written to the address (no history entry per change).
    await statusFilter.selectOption('all');
    await row(page, 'Deep link key').waitFor();
    expect(page.url()).toBe(`${local}/#/keys?status=all`);
    await page.reload();
    await row(page, 'Deep link key').waitFor();
    await row(page, 'Revoked for the filter').waitFor();

    // The audit log's filters follow the address the same way.
    await page.goto(`${local}/#/audit?action=key.revoked`);
    await page.getByRole('heading', { level: 1, name: 'Audit log' }).waitFor();
    expect(await page.getByLabel('Action', { exact: true }).inputValue()).toBe('key.revoked');
    await nav(page).getByRole('link', { name: 'Audit log', exact: true }).click();
    await expect.poll(() => page.getByLabel('Action', { exact: true }).inputValue()).toBe('');
    expect(page.url()).toBe(`${local}/#/audit`);

    // A session that ends under a deep address keeps it: signing in again opens that page.
    // (Another admin member first: the organization keeps one active admin, and Hedy may be it.)
    await memberWithSession(service, 'spare-admin@example.com', 'admin');
    const hedy = (await admin.listMembers()).items.find((m) => m.email === 'hedy@example.com')!;
    await admin.updateMember(hedy.id, { status: 'suspended' });
    await admin.updateMember(hedy.id, { status: 'active' });
    await page.goto(keyPage);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.getByRole('heading', { level: 1, name: 'Deep link key' }).waitFor();
    expect(page.url()).toBe(keyPage);
    expect(problems).toEqual([]);
    await context.close();
  }, 120_000);

  const openAccount = async (page: Page) => {
    await page.getByRole('link', { name: 'Your account' }).click();
    await page.getByRole('heading', { level: 1, name: 'Your account' }).waitFor();
  };
  const sessionRows = (page: Page) => page.getByRole('table', { name: 'Your sessions' }).getByRole('row').filter({ has: page.getByRole('rowheader') });
  const passkeyRow = (page: Page, name: string) => page.getByRole('table', { name: 'Your passkeys' }).getByRole('row').filter({ has: page.getByRole('rowheader', { name, exact: true }) });
  const passkeySignIn = (page: Page) => page.getByRole('button', { name: 'Sign in with a passkey' });

  it('Your account: sessions (this one marked), the last passkey kept, another added and the first removed; sign out everywhere ends the other browser too', async () => {
    const { link } = await service.client().createInvitation({ email: 'katherine@example.com', role: 'viewer' });
    const first = await freshPage();
    const page = first.page;
    await accept(page, link, 'Katherine Johnson');
    // The same passkey in a second browser (as a synced passkey is): a second session, signed in with it.
    const second = await freshPage();
    for (const credential of await first.authenticator.credentials()) await second.authenticator.add(credential);
    await second.page.goto(`${local}/`);
    await passkeySignIn(second.page).click();
    await nav(second.page).waitFor();

    await openAccount(page);
    await expect.poll(() => sessionRows(page).count()).toBe(2);
    const current = sessionRows(page).filter({ hasText: 'This session' });
    expect(await current.count()).toBe(1);
    expect(await current.textContent()).toContain('an invitation');
    expect(await sessionRows(page).filter({ hasNotText: 'This session' }).textContent()).toContain('a passkey');
    for (const label of ['Signed in', 'Last seen', 'Browser']) expect(await page.getByRole('columnheader', { name: label }).count()).toBe(1);
    // Each session names the browser it was started from: the User-Agent Chromium sent with the sign-in.
    const userAgent = await page.evaluate(() => navigator.userAgent);
    expect(await current.locator('td[data-label="Browser"]').textContent()).toBe(userAgent);
    expect(await current.locator('time').first().getAttribute('datetime')).toMatch(/^\d{4}-\d\d-\d\dT/);

    // The only passkey, and no identity provider: the service refuses, and the page says why and what to do.
    await passkeyRow(page, 'Passkey').waitFor();
    await passkeyRow(page, 'Passkey').getByRole('button', { name: 'Remove passkey Passkey' }).click();
    await page.getByRole('button', { name: 'Confirm: remove passkey Passkey' }).click();
    const refusal = page.getByRole('alert').filter({ hasText: 'LAST_PASSKEY' });
    await refusal.waitFor();
    expect(await refusal.textContent()).toMatch(/last passkey.*Add another passkey first/);
    expect(await passkeyRow(page, 'Passkey').count()).toBe(1);

    // Another passkey, on a new authenticator (a security key): the first one's device is unplugged.
    await first.authenticator.remove();
    first.authenticator = await addVirtualAuthenticator(first.context, page);
    await page.getByLabel('Name of the new passkey').fill('Backup key');
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await passkeyRow(page, 'Backup key').waitFor();
    expect(await first.authenticator.credentials()).toHaveLength(1);
    expect(await passkeyRow(page, 'Backup key').textContent()).toContain('Never');
    // Now the first one can go.
    await passkeyRow(page, 'Passkey').getByRole('button', { name: 'Remove passkey Passkey' }).click();
    await page.getByRole('button', { name: 'Confirm: remove passkey Passkey' }).click();
    await expect.poll(() => passkeyRow(page, 'Passkey').count()).toBe(0);
    expect(await page.getByRole('alert').count()).toBe(0);

    // Sign out everywhere, confirmed: this browser lands on the sign-in page, the other one's next request fails.
    await page.getByRole('button', { name: 'Sign out everywhere' }).click();
    expect(await sessionRows(page).count()).toBe(2);
    await page.getByRole('button', { name: 'Confirm: sign out everywhere' }).click();
    await passkeySignIn(page).waitFor();
    await page.getByText('You signed out everywhere').waitFor();
    expect(new URL(page.url()).hash).toBe('');
    await second.page.getByRole('link', { name: 'Your account' }).click();
    await passkeySignIn(second.page).waitFor();
    await second.page.getByText('UNKNOWN_SESSION').waitFor();

    // The added passkey signs in; the removed one (still in the second browser) does not.
    await passkeySignIn(page).click();
    await nav(page).waitFor();
    expect(await page.getByTestId('whoami').textContent()).toContain('katherine@example.com');
    await passkeySignIn(second.page).click();
    await second.page.getByText('PASSKEY_REJECTED').waitFor();
    expect([...first.problems, ...second.problems]).toEqual([]);
    await first.context.close();
    await second.context.close();
  }, 120_000);

  /** No sideways scrolling of the page, nor inside a table (at 390 px tables become cards), and no serious axe violation. */
  async function fits(page: Page, label: string): Promise<void> {
    await page.waitForLoadState('networkidle');
    expect(await sidewaysOverflow(page), label).toBeLessThanOrEqual(0);
    const wideTables = await page.locator('.table-wrap').evaluateAll((wraps) => wraps.filter((w) => w.scrollWidth > w.clientWidth).length);
    expect(wideTables, `${label}: tables scrolling sideways`).toBe(0);
    await expectAccessible(page, label);
    await screenshot(page, `people-${label.replace(/\W+/g, '-')}`);
  }

  it('the people pages (sign-in, invitation, Members, Your account) at 1280 and 390 px: axe-core finds no serious violation, nothing scrolls sideways', async () => {
    for (const width of [1280, 390]) {
      const admin = service.client();
      const { link } = await admin.createInvitation({ email: `margaret${width}@example.com`, role: 'admin' });
      await admin.createInvitation({ email: `pending-colleague${width}@example.com`, role: 'viewer' });
      const { context, page, problems } = await freshPage(width);
      await page.goto(`${local}/`);
      await passkeySignIn(page).waitFor();
      await fits(page, `sign-in ${width}`);

      await page.goto(link.replace('127.0.0.1', 'localhost'));
      await page.getByRole('heading', { level: 1, name: 'Join' }).waitFor();
      await fits(page, `invitation ${width}`);
      await page.getByLabel('Your name').fill('Margaret Hamilton');
      await page.getByRole('button', { name: 'Accept with a passkey' }).click();
      await nav(page).waitFor();

      await openMembers(page);
      await row(page, `margaret${width}@example.com`).waitFor();
      await page.getByText(`Revoke invitation for pending-colleague${width}@example.com`).waitFor();
      await fits(page, `members ${width}`);
      await page.getByRole('button', { name: `Suspend margaret${width}@example.com` }).click();
      await fits(page, `members confirming ${width}`);
      await page.getByRole('button', { name: 'Cancel' }).click();

      await openAccount(page);
      await passkeyRow(page, 'Passkey').waitFor();
      await expect.poll(() => sessionRows(page).count()).toBe(1);
      await fits(page, `account ${width}`);
      expect(problems).toEqual([]);
      await context.close();
    }
  }, 180_000);
});
