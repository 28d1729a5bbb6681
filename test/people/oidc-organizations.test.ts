/**
 * Each organization signs in through its own identity provider, in real
 * Chromium against two real OpenID providers (oidc-provider) on loopback:
 * the organizations' admins set them (PUT /v1/organization/oidc) and add
 * their people directly (POST /v1/members); each person signs in through
 * their organization's provider and is bound to the pre-provisioned member;
 * a domain the organization does not allow and an email the provider does
 * not vouch for are refused. The sign-in page's methods name each
 * organization's provider; on the dashboard's one sign-in page each person
 * reaches their own provider by typing their work email ("Sign in with
 * SSO"), or at their organization's own sign-in address.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible } from '../support/axe.ts';
import { browserAvailable, CHROMIUM_PATH, launchChromium, REQUIRE_BROWSER } from '../support/browser.ts';
import { failure, raw, startTestService, type TestService } from '../support/keyservice.ts';
import { TestOidcProvider } from '../support/oidc-provider.ts';
import { freshPage, oidcSignIn, providerLogin } from '../support/people-browser.ts';
import type { KeywardClient } from '../../src/client/index.ts';

const available = browserAvailable();

if (!available && REQUIRE_BROWSER) {
  describe('identity providers per organization (Chromium)', () => {
    it('needs Chromium (KEYWARD_REQUIRE_BROWSER=1)', () => {
      throw new Error(`KEYWARD_REQUIRE_BROWSER=1 but ${CHROMIUM_PATH} is missing: apt-get install -y chromium`);
    });
  });
}

interface Tenant {
  organizationId: string;
  admin: KeywardClient;
  idp: TestOidcProvider;
}

describe.skipIf(!available)('identity providers per organization (Chromium)', () => {
  let service: TestService;
  let local: string;
  let browser: Browser;
  let acme: Tenant;
  let globex: Tenant;

  /** A provider for one organization: its own client and secret, its people's email domain. */
  async function tenant(organizationId: string, admin: KeywardClient, name: string, domain: string): Promise<Tenant> {
    const clientSecret = `${domain}-client-secret-0123456789`;
    const idp = (await TestOidcProvider.listen()).serve({ clientId: `keyward-${domain}`, clientSecret, redirectUri: `${local}/` }, { emailDomain: domain });
    await admin.putOrganizationOidc({ issuer: idp.issuer, clientId: `keyward-${domain}`, clientSecret, name, allowedDomains: [domain] });
    return { organizationId, admin, idp };
  }

  beforeAll(async () => {
    // No service-wide provider: each organization brings its own.
    service = await startTestService();
    local = service.url.replace('127.0.0.1', 'localhost');
    const second = await service.newOrganization('globex');
    acme = await tenant(service.organizationId, service.client(), 'Acme SSO', 'acme.test');
    globex = await tenant(second.organizationId, service.client(second.secret), 'Globex SSO', 'globex.test');
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await service?.stop();
    await acme?.idp.close();
    await globex?.idp.close();
  });

  it("the sign-in page's methods name the provider of the organization it names; without one, a service of two organizations offers none", async () => {
    const methods = async (query: string) => (await raw(service.url, `/v1/auth/methods${query}`)).body;
    expect((await methods(`?organization=${acme.organizationId}`)).oidc).toEqual({ name: 'Acme SSO' });
    expect((await methods(`?organization=${globex.organizationId}`)).oidc).toEqual({ name: 'Globex SSO' });
    expect((await methods('')).oidc).toBeNull();
    const unknown = await raw(service.url, '/v1/auth/methods?organization=org_0000000000000000');
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'ORGANIZATION_NOT_FOUND']);
  });

  it('members added directly sign in through their own organization\'s provider and are bound to it at the first sign-in', async () => {
    const ann = await acme.admin.createMember({ email: 'ann@acme.test', role: 'viewer', displayName: 'Ann' });
    const bea = await globex.admin.createMember({ email: 'bea@globex.test', role: 'key-manager' });
    expect(ann).toMatchObject({ oidcLinked: false, lastSignInAt: null });

    for (const [who, login, member, idp] of [
      [acme, 'ann', ann, acme.idp],
      [globex, 'bea', bea, globex.idp],
    ] as const) {
      const { context, page } = await freshPage(browser, local);
      const signedIn = await oidcSignIn(page, local, login, { organization: who.organizationId }, idp.issuer);
      expect(signedIn.status, JSON.stringify(signedIn.body)).toBe(201);
      expect(signedIn.body.member).toMatchObject({ id: member.id, organizationId: who.organizationId, oidcLinked: true });
      expect(signedIn.body.organization.id).toBe(who.organizationId);
      await context.close();
    }
    expect((await acme.admin.getMember(ann.id)).oidcLinked).toBe(true);
  });

  it('an organization that changes its provider: a member bound at the old one is bound to the new one at their next sign-in', async () => {
    // Acme moves to the provider Globex runs (its client, its secret), still for acme.test addresses.
    const moved = await acme.admin.putOrganizationOidc({ issuer: globex.idp.issuer, clientId: 'keyward-globex.test', clientSecret: 'globex.test-client-secret-0123456789', name: 'Acme SSO', allowedDomains: ['acme.test'] });
    expect(moved.issuer).toBe(globex.idp.issuer);
    try {
      const ann = (await acme.admin.listMembers()).items.find((m) => m.email === 'ann@acme.test')!;
      const { context, page } = await freshPage(browser, local);
      const signedIn = await oidcSignIn(page, local, 'ann@acme.test', { organization: acme.organizationId }, globex.idp.issuer);
      expect(signedIn.status, JSON.stringify(signedIn.body)).toBe(201);
      expect(signedIn.body.member.id).toBe(ann.id);
      const bound = await service.server.service.store.people.getMember(acme.organizationId, ann.id);
      expect(bound!.oidcSubject).toBe(`${globex.idp.issuer}|ann@acme.test`);
      await context.close();
    } finally {
      await acme.admin.putOrganizationOidc({ issuer: acme.idp.issuer, clientId: 'keyward-acme.test', clientSecret: 'acme.test-client-secret-0123456789', name: 'Acme SSO', allowedDomains: ['acme.test'] });
    }
  });

  it('the same sign-in page: each person types their work email and reaches their own organization\'s provider, and is signed in there', async () => {
    await acme.admin.createMember({ email: 'dee@acme.test', role: 'viewer' });
    await globex.admin.createMember({ email: 'eve@globex.test', role: 'viewer' });
    for (const [email, who, idp] of [
      ['dee@acme.test', acme, acme.idp],
      ['eve@globex.test', globex, globex.idp],
    ] as const) {
      const { context, page } = await freshPage(browser, local);
      // No organization is the default: no provider's button, the email form instead.
      const form = page.getByRole('form', { name: 'Sign in with SSO' });
      await form.waitFor();
      expect(await page.getByRole('button', { name: /^Sign in with .* SSO$/ }).count()).toBe(0);
      await expectAccessible(page, 'sign-in with SSO');
      await form.getByLabel('Work email').fill(email);
      await form.getByRole('button', { name: 'Continue with SSO' }).click();
      // Sent to the provider of the organization the email's domain names.
      await page.waitForURL((url) => url.origin === idp.issuer);
      await providerLogin(page, local, email);
      await page.getByRole('navigation', { name: 'Dashboard sections' }).waitFor();
      expect(await page.getByTestId('whoami').textContent()).toContain(email);
      const session = await page.evaluate(async () => (await fetch('/v1/session')).json());
      expect(session.organization.id).toBe(who.organizationId);
      await context.close();
    }
    // An address no organization's provider allows: the page says so, and names none.
    const { context, page } = await freshPage(browser, local);
    await page.getByLabel('Work email').fill('zed@nowhere.test');
    await page.getByRole('button', { name: 'Continue with SSO' }).click();
    const refusal = page.getByRole('alert').filter({ hasText: 'SSO_NOT_FOUND' });
    await refusal.waitFor();
    expect(await refusal.textContent()).not.toContain('Globex');
    await context.close();
  });

  it("an organization's own sign-in address (from its Members page) offers its provider's button", async () => {
    await globex.admin.createMember({ email: 'fay@globex.test', role: 'admin' });
    const { context, page } = await freshPage(browser, local);
    await page.goto(`${local}/#/sign-in?organization=${globex.organizationId}`);
    await page.getByRole('button', { name: 'Sign in with Globex SSO' }).click();
    await page.waitForURL((url) => url.origin === globex.idp.issuer);
    await providerLogin(page, local, 'fay@globex.test');
    await page.getByRole('navigation', { name: 'Dashboard sections' }).waitFor();
    // The sign-in address has done its job; the Members page gives it to share.
    expect(new URL(page.url()).hash).not.toContain('sign-in');
    await page.getByRole('link', { name: 'Members' }).click();
    expect(await page.getByTestId('sign-in-address').textContent()).toBe(`${local}/#/sign-in?organization=${globex.organizationId}`);
    await context.close();
  });

  it("an account of a domain the organization does not allow is refused, even one its provider vouches for", async () => {
    // Globex cannot add her either.
    expect((await failure(globex.admin.createMember({ email: 'ann@acme.test', role: 'viewer' }))).code).toBe('EMAIL_DOMAIN_NOT_ALLOWED');
    const { context, page } = await freshPage(browser, local);
    // Globex's provider signs in an acme.test address: Globex allows only globex.test.
    const refused = await oidcSignIn(page, local, 'ann@acme.test', { organization: globex.organizationId }, globex.idp.issuer);
    expect([refused.status, refused.body.error.code]).toEqual([403, 'EMAIL_DOMAIN_NOT_ALLOWED']);
    await context.close();
  });

  it('an email the provider does not vouch for (email_verified false) is refused', async () => {
    await acme.admin.createMember({ email: 'unverified-cy@acme.test', role: 'viewer' });
    const { context, page } = await freshPage(browser, local);
    const refused = await oidcSignIn(page, local, 'unverified-cy', { organization: acme.organizationId }, acme.idp.issuer);
    expect([refused.status, refused.body.error.code]).toEqual([403, 'EMAIL_NOT_VERIFIED']);
    const member = (await acme.admin.listMembers()).items.find((m) => m.email === 'unverified-cy@acme.test')!;
    expect(member).toMatchObject({ oidcLinked: false, lastSignInAt: null });
    await context.close();
  });
});
