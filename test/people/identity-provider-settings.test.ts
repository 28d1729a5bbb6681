/**
 * The organization's identity provider in the dashboard (#/identity-provider),
 * in real Chromium against the real key service and a real OpenID provider
 * (oidc-provider) on loopback: an admin member sets it, sees the service's
 * field errors under their fields (400) and an issuer that cannot be
 * discovered (502) under the issuer, neither saving anything; the client
 * secret is write-only (shown as set, never filled back, kept when left
 * empty); the provider is removed; a member who lacks a permission sees it
 * without the form. axe-core and the 390 px check on the form.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_COOKIE } from '../../src/server/people/cookies.ts';
import { expectAccessible } from '../support/axe.ts';
import { browserAvailable, CHROMIUM_PATH, launchChromium, REQUIRE_BROWSER, screenshot, sidewaysOverflow, startDashboardService, type DashboardService } from '../support/browser.ts';
import { failure } from '../support/keyservice.ts';
import { deadIssuer, TestOidcProvider } from '../support/oidc-provider.ts';
import { memberWithSession, type TestSession } from '../support/people.ts';

const available = browserAvailable();

if (!available && REQUIRE_BROWSER) {
  describe('the identity provider in the dashboard (Chromium)', () => {
    it('needs Chromium (KEYWARD_REQUIRE_BROWSER=1)', () => {
      throw new Error(`KEYWARD_REQUIRE_BROWSER=1 but ${CHROMIUM_PATH} is missing: apt-get install -y chromium`);
    });
  });
}

const SECRET = 'acme-dashboard-oidc-secret-5e1d9c';

describe.skipIf(!available)('the identity provider in the dashboard (Chromium)', () => {
  let service: DashboardService;
  let local: string;
  let browser: Browser;
  let idp: TestOidcProvider;

  beforeAll(async () => {
    service = await startDashboardService({ dashboardKeySignIn: 'off' });
    local = service.url.replace('127.0.0.1', 'localhost');
    idp = (await TestOidcProvider.listen()).serve({ clientId: 'keyward', clientSecret: SECRET, redirectUri: `${local}/` }, { emailDomain: 'acme.test' });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await service?.stop();
    await idp?.close();
  });

  /** A browser signed in as `session`'s member (its cookie, as a sign-in sets it), on the Identity provider tab. */
  async function signedIn(session: TestSession, width = 1280): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
    const context = await browser.newContext({ viewport: { width, height: 900 } });
    context.setDefaultTimeout(20_000);
    await context.route(/^https?:\/\/(?!localhost|127\.0\.0\.1)/, (route) => route.abort());
    await context.addCookies([{ name: SESSION_COOKIE, value: session.token, url: `${local}/`, httpOnly: true, secure: true, sameSite: 'Strict' }]);
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    await page.goto(`${local}/#/identity-provider`);
    await page.getByRole('heading', { level: 1, name: 'Identity provider' }).waitFor();
    return { context, page, problems };
  }

  const form = (page: Page) => page.getByRole('form', { name: /your identity provider/ });
  const state = (page: Page) => page.getByTestId('provider-state');
  const fieldError = (page: Page, id: string) => page.locator(`#${id}-error`);

  it('an admin sets it: field errors under their fields, an issuer that cannot be discovered under the issuer, nothing saved; then saved, the secret never shown', async () => {
    const admin = await memberWithSession(service, 'ada@acme.test', 'admin');
    const { context, page, problems } = await signedIn(admin);
    await state(page).getByText('None').waitFor();

    // The service refuses these fields (a plain-http issuer elsewhere than loopback, a name that is no domain): each under its field.
    await page.getByLabel('Issuer').fill('http://login.example.com');
    await page.getByLabel('Client ID').fill('keyward');
    await page.getByLabel('Client secret').fill(SECRET);
    await page.getByLabel('Allowed email domains').fill('acme.test, not_a_domain');
    await page.getByRole('button', { name: 'Save' }).click();
    await fieldError(page, 'provider-issuer').waitFor();
    expect(await fieldError(page, 'provider-issuer').textContent()).toContain('https://');
    expect(await fieldError(page, 'provider-domains').textContent()).toBe('not_a_domain: must be a domain name like example.com');
    expect(await page.getByLabel('Issuer').getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByRole('alert').textContent()).toContain('VALIDATION_FAILED');

    // A provider that is down: 502, said under the issuer and in the alert, with what to do.
    await page.getByLabel('Issuer').fill(await deadIssuer());
    await page.getByLabel('Allowed email domains').fill('acme.test');
    await page.getByRole('button', { name: 'Save' }).click();
    const unavailable = page.getByRole('alert').filter({ hasText: 'OIDC_PROVIDER_UNAVAILABLE' });
    await unavailable.waitFor();
    expect(await unavailable.textContent()).toContain('the provider could not be reached');
    expect(await fieldError(page, 'provider-issuer').textContent()).toMatch(/^Could not be discovered: /);
    expect(await fieldError(page, 'provider-domains').count()).toBe(0);
    expect((await failure(service.client().getOrganizationOidc())).code).toBe('OIDC_NOT_CONFIGURED');

    // The real provider: saved.
    await page.getByLabel('Issuer').fill(idp.issuer);
    await page.getByLabel('Name on the sign-in button').fill('Acme SSO');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByTestId('client-secret-state').getByText('Set (never shown)').waitFor();
    expect(await page.getByRole('alert').count()).toBe(0);
    expect(await page.getByLabel('Client secret').inputValue()).toBe('');
    expect(await page.content()).not.toContain(SECRET);
    expect(await service.client().getOrganizationOidc()).toMatchObject({ source: 'organization', issuer: idp.issuer, clientId: 'keyward', name: 'Acme SSO', allowedDomains: ['acme.test'] });

    // Reloaded: the form holds what is set but the secret, which it never gets; left empty, the stored one is kept.
    await page.reload();
    await form(page).waitFor();
    expect(await page.getByLabel('Issuer').inputValue()).toBe(idp.issuer);
    expect(await page.getByLabel('Client secret').inputValue()).toBe('');
    expect(await page.getByLabel('Client secret').getAttribute('placeholder')).toBe('Set (unchanged)');
    await page.getByLabel('Name on the sign-in button').fill('Acme Login');
    await page.getByRole('button', { name: 'Save' }).click();
    await state(page).getByText('Sign in with Acme Login').waitFor();
    expect((await service.server.service.store.people.getOidcProvider(service.organizationId))!.clientSecret).toBe(SECRET);
    const [changed] = (await service.client().listAuditLog({ action: 'organization.oidc-updated', limit: 1 })).items;
    expect(changed!.changes?.after).toMatchObject({ name: 'Acme Login', clientSecretChanged: false });
    expect(problems).toEqual([]);
    await context.close();
  }, 120_000);

  it('the form at 1280 and 390 px: axe-core finds no serious violation, nothing scrolls sideways', async () => {
    const admin = await memberWithSession(service, 'grace@acme.test', 'admin');
    for (const width of [1280, 390]) {
      const { context, page, problems } = await signedIn(admin, width);
      await form(page).waitFor();
      // With the service's refusal shown under a field too.
      await page.getByLabel('Allowed email domains').fill('not_a_domain');
      await page.getByRole('button', { name: 'Save' }).click();
      await fieldError(page, 'provider-domains').waitFor();
      await page.waitForLoadState('networkidle');
      expect(await sidewaysOverflow(page), `${width} px`).toBeLessThanOrEqual(0);
      await expectAccessible(page, `identity provider ${width}`);
      await screenshot(page, `people-identity-provider-${width}`);
      expect(problems).toEqual([]);
      await context.close();
    }
  }, 120_000);

  it('a member whose role lacks a permission sees the provider, not the form; an admin removes it', async () => {
    await service.client().createRole({ id: 'org-manager', name: 'Organization manager', permissions: ['org.view', 'org.manage'] });
    const manager = await memberWithSession(service, 'olga@acme.test', 'org-manager');
    const seen = await signedIn(manager);
    await state(seen.page).getByText(idp.issuer).waitFor();
    expect(await form(seen.page).count()).toBe(0);
    expect(await seen.page.getByText('Only an admin (a role holding every permission)').count()).toBe(1);
    await seen.context.close();

    const admin = await memberWithSession(service, 'hedy@acme.test', 'admin');
    const { context, page, problems } = await signedIn(admin);
    await page.getByRole('button', { name: 'Remove the identity provider' }).click();
    await page.getByRole('button', { name: 'Confirm: remove the identity provider' }).click();
    await state(page).getByText('None').waitFor();
    expect((await failure(service.client().getOrganizationOidc())).code).toBe('OIDC_NOT_CONFIGURED');
    expect(problems).toEqual([]);
    await context.close();
  }, 120_000);
});
