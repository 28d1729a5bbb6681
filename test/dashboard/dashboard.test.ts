/**
 * The dashboard in real Chromium against the real key service: the manual's
 * flows click by click, least privilege, security headers, accessibility.
 * Screenshots land in test-results/dashboard/.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible as axe } from '../support/axe.ts';
import { browserAvailable, CHROMIUM_PATH, launchChromium, REQUIRE_BROWSER, screenshot, sidewaysOverflow, startDashboardService, type DashboardService } from '../support/browser.ts';
import { errorCode, failure, raw } from '../support/keyservice.ts';

const available = browserAvailable();
const DAY = 86_400_000;

if (!available && REQUIRE_BROWSER) {
  describe('dashboard in Chromium', () => {
    it('needs Chromium (KEYWARD_REQUIRE_BROWSER=1)', () => {
      throw new Error(`KEYWARD_REQUIRE_BROWSER=1 but ${CHROMIUM_PATH} is missing: apt-get install -y chromium`);
    });
  });
}


describe.skipIf(!available)('dashboard in Chromium', () => {
  let service: DashboardService;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  /** Every request the page made (the dashboard must work offline: same origin only). */
  const requested: string[] = [];
  const problems: string[] = [];
  /** Secrets the UI displayed: none may stay in the DOM, storage or logs. */
  const shownSecrets: string[] = [];

  const watch = (p: Page) => {
    p.on('request', (r) => requested.push(r.url()));
    p.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    p.on('console', (m) => {
      if (m.type() === 'error' && !/status of 40[0-9]/.test(m.text())) problems.push(`console: ${m.text()}`);
    });
  };

  const newPage = async (width = 1280, height = 900): Promise<{ context: BrowserContext; page: Page }> => {
    const ctx = await browser.newContext({ viewport: { width, height } });
    await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: service.url });
    const p = await ctx.newPage();
    watch(p);
    // CSP violations are reported as events: collect them.
    await p.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));
    });
    return { context: ctx, page: p };
  };

  const signIn = async (p: Page, secret: string) => {
    await p.goto(`${service.url}/`);
    await p.getByLabel('API key', { exact: true }).fill(secret);
    await p.getByRole('button', { name: 'Sign in', exact: true }).click();
    await p.getByRole('navigation', { name: 'Dashboard sections' }).waitFor();
  };

  const openTab = async (p: Page, name: string) => {
    await p.getByRole('navigation', { name: 'Dashboard sections' }).getByRole('link', { name, exact: true }).click();
    await p.getByRole('heading', { level: 1, name }).waitFor();
  };

  /** Issue 20's items are each shown at desktop and phone width. */
  const WIDTHS = [1280, 390] as const;
  const row = (p: Page, name: string) => p.getByRole('row').filter({ has: p.getByRole('rowheader', { name, exact: true }) });
  const dialog = (p: Page) => p.getByRole('dialog');

  beforeAll(async () => {
    service = await startDashboardService({ usageFlushMs: 50 });
    browser = await launchChromium();
    ({ context, page } = await newPage());
  });
  afterAll(async () => {
    await browser?.close();
    await service?.stop();
  });

  it('serves the page with a strict Content-Security-Policy and security headers; the API is untouched', async () => {
    const index = await raw(service.url, '/');
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = index.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(index.headers.get('x-content-type-options')).toBe('nosniff');
    expect(index.headers.get('referrer-policy')).toBe('no-referrer');
    // No inline script or style in the page, nothing from another origin.
    expect(index.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(index.text).not.toMatch(/<style|style=/);
    expect(index.text).not.toMatch(/https?:\/\//);
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(index.text)![1]!;
    const asset = await raw(service.url, script);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect((await raw(service.url, '/assets/nope.js')).body.error.code).toBe('ROUTE_NOT_FOUND');
    // The JSON API keeps its own behaviour.
    const api = await raw(service.url, '/v1/whoami');
    expect(api.status).toBe(401);
    expect(api.headers.get('content-type')).toMatch(/json/);
  });

  it('sign-in errors say which cause hit', async () => {
    await page.goto(`${service.url}/`);
    await page.getByLabel('API key', { exact: true }).fill(service.adminKeyId);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.textContent()).toContain('KEY_ID_USED_AS_SECRET');
    expect(await alert.textContent()).toContain('What to do:');
    await page.getByLabel('API key', { exact: true }).fill(`${service.adminSecret} `);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await expect.poll(() => alert.textContent()).toContain('KEY_HAS_WHITESPACE');
    await screenshot(page, '00-sign-in-error');
  });

  it('signs in with a pasted key, kept in sessionStorage only; shows organization and role', async () => {
    await signIn(page, service.adminSecret);
    await page.getByRole('heading', { level: 1, name: 'API Keys' }).waitFor();
    expect(await page.getByTestId('org').textContent()).toContain('acme');
    // The role's name replaces its id once the roles list has loaded.
    await expect.poll(() => page.getByTestId('my-role').textContent()).toBe('Admin');
    const storage = await page.evaluate(() => ({ session: JSON.stringify(sessionStorage), local: localStorage.length, url: location.href, cookie: document.cookie }));
    expect(storage.session).toContain(service.adminSecret);
    expect(storage.local).toBe(0);
    expect(storage.cookie).toBe('');
    expect(storage.url).not.toContain(service.adminSecret);
    // The signed-in key is listed, marked as this session's.
    await expect.poll(() => row(page, 'acme admin (this session)').count(), { timeout: 15_000 }).toBe(1);
    await expect.poll(() => page.getByText('Active', { exact: true }).count()).toBeGreaterThan(0);
  });

  let productionSecret = '';
  let productionKeyId = '';

  it('creates a key: the secret and Key ID are shown once, and are gone after "I have copied it"', async () => {
    await page.getByRole('button', { name: '+ Create New Key' }).click();
    const d = dialog(page);
    await d.getByRole('heading', { name: 'Create New Key' }).waitFor();
    await d.getByLabel('Name').fill('Production Server');
    // Built-in and custom roles are offered; a key can only grant what it holds.
    const options = await d.getByLabel('Role').locator('option').allTextContents();
    expect(options.join('|')).toMatch(/Admin.*Key manager.*Viewer.*Verifier/);
    await d.getByLabel('Role').selectOption('key-manager');
    await d.getByLabel('Environment').selectOption('production');
    await screenshot(page, '02-create-key-dialog');
    await d.getByRole('button', { name: 'Create Key' }).click();

    await d.getByRole('heading', { name: 'Save your secret key' }).waitFor();
    productionSecret = (await d.getByTestId('secret').textContent())!;
    productionKeyId = (await d.locator('code.key-id').textContent())!;
    shownSecrets.push(productionSecret);
    expect(productionSecret).toMatch(/^kw_[A-Za-z0-9]{28}$/);
    expect(productionKeyId).toMatch(/^key_/);
    expect(await d.textContent()).toContain('only time it is shown');
    await d.getByRole('button', { name: 'Copy secret key' }).click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(productionSecret);
    expect(await page.content()).toContain(productionSecret);
    await screenshot(page, '03-secret-shown-once');

    await d.getByRole('button', { name: 'I have copied it' }).click();
    await expect.poll(() => dialog(page).count()).toBe(0);
    // Gone from the DOM, storage and the URL.
    const html = await page.content();
    expect(html).not.toContain(productionSecret);
    expect(await page.evaluate(() => JSON.stringify(sessionStorage) + JSON.stringify(localStorage) + location.href)).not.toContain(productionSecret);

    // The row is in the table with a green Active badge, and the key really works.
    const r = row(page, 'Production Server');
    await r.waitFor();
    expect(await r.textContent()).toContain(productionKeyId);
    expect(await r.locator('.badge-success').textContent()).toBe('Active');
    expect((await service.client(productionSecret).whoami()).key.id).toBe(productionKeyId);
  });

  it("the rotation hints follow the organization's rotation settings, at 1280 and 390 px", async () => {
    const admin = service.client();
    for (const width of WIDTHS) {
      const { context: ctx, page: p } = await newPage(width, 900);
      await signIn(p, service.adminSecret);
      await expect.poll(() => p.getByTestId('rotation-hint').textContent()).toContain('staging keys every 90 days');
      await admin.updateOrganization({ rotationDays: { staging: 30 } });
      try {
        // The Refresh button reloads the organization's settings too.
        await p.getByRole('button', { name: 'Refresh' }).click();
        await expect.poll(() => p.getByTestId('rotation-hint').textContent()).toContain('staging keys every 30 days');
        await p.getByRole('button', { name: '+ Create New Key' }).click();
        const d = dialog(p);
        await d.getByLabel('Environment').selectOption('staging');
        expect(await d.locator('#create-environment-help').textContent()).toContain('Rotation due every 30 days.');
        await d.getByLabel('Environment').selectOption('development');
        expect(await d.locator('#create-environment-help').textContent()).toContain('Rotation due every 180 days.');
        expect(await sidewaysOverflow(p), `width ${width}`).toBeLessThanOrEqual(0);
        await axe(p, `create dialog with the organization's rotation hint at ${width} px`);
        await screenshot(p, `02b-rotation-hint-${width}`);
        await d.getByRole('button', { name: 'Cancel' }).click();
        await expect.poll(() => dialog(p).count()).toBe(0);
      } finally {
        await admin.updateOrganization({ rotationDays: { staging: 90 } });
        await ctx.close();
      }
    }
  });

  it('edits the name and role; the Key ID is read-only', async () => {
    await page.getByRole('button', { name: 'Edit Production Server' }).click();
    const d = dialog(page);
    const keyId = d.getByLabel('Key ID');
    expect(await keyId.inputValue()).toBe(productionKeyId);
    expect(await keyId.getAttribute('readonly')).not.toBeNull();
    await d.getByLabel('Name').fill('Production Server (EU)');
    await d.getByLabel('Role').selectOption('viewer');
    await screenshot(page, '04-edit-key');
    await d.getByRole('button', { name: 'Save Changes' }).click();
    await row(page, 'Production Server (EU)').waitFor();
    expect(await row(page, 'Production Server (EU)').textContent()).toContain('Viewer');
    const key = await service.client().getKey(productionKeyId);
    expect(key).toMatchObject({ name: 'Production Server (EU)', role: 'viewer' });
  });

  let rotatedSecret = '';

  it('rotates with a grace period: new secret once; the old key with its expiry and last use', async () => {
    await service.client(productionSecret).whoami(); // the old key is in use
    await page.getByRole('button', { name: 'Rotate Production Server (EU)' }).click();
    const d = dialog(page);
    await d.getByLabel('Grace period').selectOption('1h');
    expect(await d.getByLabel('Name of the new key').inputValue()).toBe('Production Server (EU) v2');
    await d.getByRole('button', { name: 'Rotate Key' }).click();
    await d.getByRole('heading', { name: 'Key rotated: save the new secret' }).waitFor();
    rotatedSecret = (await d.getByTestId('secret').textContent())!;
    shownSecrets.push(rotatedSecret);
    expect(rotatedSecret).toMatch(/^kw_/);
    expect(rotatedSecret).not.toBe(productionSecret);
    expect(await d.getByTestId('old-key-expiry').textContent()).toContain('in 1 hour');
    expect(await d.getByTestId('old-key-last-used').textContent()).toMatch(/ago|just now/);
    await screenshot(page, '05-rotated');
    await d.getByRole('button', { name: 'Refresh old key' }).click();
    await d.getByRole('button', { name: 'I have copied it' }).click();
    await expect.poll(() => dialog(page).count()).toBe(0);
    expect(await page.content()).not.toContain(rotatedSecret);

    // Both keys are listed during the overlap; the old one shows when it expires and cannot be rotated again.
    const old = row(page, 'Production Server (EU)');
    await row(page, 'Production Server (EU) v2').waitFor();
    expect(await old.textContent()).toContain('Expires in 1 hour');
    expect(await old.getByRole('button', { name: /^Rotate/ }).count()).toBe(0);
    expect((await service.client(rotatedSecret).whoami()).key.name).toBe('Production Server (EU) v2');
    expect((await service.client(productionSecret).whoami()).key.id).toBe(productionKeyId);
  });

  it('revokes after a confirmation; the row leaves the table and the key stops working', async () => {
    await page.getByRole('button', { name: 'Revoke Production Server (EU) v2' }).click();
    const d = dialog(page);
    expect(await d.textContent()).toContain('Applications using this key will stop working');
    await d.getByLabel(/^Reason/).fill('replaced by the EU cluster key');
    await screenshot(page, '06-revoke-confirm');
    await d.getByRole('button', { name: 'Revoke Key' }).click();
    await expect.poll(() => row(page, 'Production Server (EU) v2').count()).toBe(0);
    expect(await errorCode(service.client(rotatedSecret).whoami())).toBe('KEY_REVOKED');
    // The reason is in the key's audit record.
    const rotatedId = (await service.client().listKeys({ status: 'revoked' })).items.find((k) => k.name === 'Production Server (EU) v2')!.id;
    const [record] = (await service.client().listAuditLog({ action: 'key.revoked', targetId: rotatedId })).items;
    expect(record?.changes?.after).toEqual({ status: 'revoked', reason: 'replaced by the EU cluster key' });
  });

  it("shows the API's validation errors next to the field, not as a list to decode", async () => {
    await page.getByRole('button', { name: '+ Create New Key' }).click();
    const d = dialog(page);
    await d.getByLabel('Name').fill(' leading space');
    await d.getByLabel('Role').selectOption('viewer');
    await d.getByRole('button', { name: 'Create Key' }).click();
    const alert = d.getByRole('alert');
    await expect.poll(() => alert.textContent()).toContain('VALIDATION_FAILED');
    // The service's message is at the field, which is marked invalid and described by it.
    const name = d.getByLabel('Name');
    expect(await name.getAttribute('aria-invalid')).toBe('true');
    expect(await d.locator('#create-name-error').textContent()).toBe('must not start or end with whitespace');
    expect(await name.getAttribute('aria-describedby')).toContain('create-name-error');
    expect(await alert.textContent()).toContain('Fix the field marked above');
    expect(await alert.textContent()).not.toContain('listed in details');
    await screenshot(page, '07-api-error-at-the-field');
    await d.getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => dialog(page).count()).toBe(0);
  });

  it('searches and filters the table', async () => {
    const admin = service.client();
    await admin.createKey({ name: 'Mobile App', role: 'viewer', environment: 'development' });
    await admin.createKey({ name: 'Staging Worker', role: 'verifier', environment: 'staging' });
    await page.getByRole('button', { name: 'Refresh', exact: true }).click();
    await row(page, 'Mobile App').waitFor();
    const bodyRows = page.locator('table.keys-table tbody tr');
    await page.getByLabel('Search').fill('mobile');
    await expect.poll(() => bodyRows.count()).toBe(1);
    await page.getByLabel('Search').fill('');
    await page.getByLabel('Environment').selectOption('staging');
    await expect.poll(() => bodyRows.allTextContents()).toEqual([expect.stringContaining('Staging Worker')]);
    await page.getByLabel('Environment').selectOption('');
    await page.getByLabel('Role', { exact: true }).selectOption('viewer');
    await expect.poll(async () => (await bodyRows.allTextContents()).length).toBe(2);
    await page.getByLabel('Role', { exact: true }).selectOption('');
    // Nothing is due yet: the server-side (or local) attention filters find nothing.
    await page.getByLabel('Show').selectOption('rotation-due');
    await expect.poll(() => bodyRows.allTextContents()).toEqual(['No key matches these filters.']);
    await page.getByLabel('Show').selectOption('unused');
    await expect.poll(() => bodyRows.allTextContents()).toEqual(['No key matches these filters.']);
    await page.getByLabel('Show').selectOption('all');
    await expect.poll(() => bodyRows.count()).toBeGreaterThan(3);
    await screenshot(page, '01-keys-tab');
  });

  it('badges keys whose rotation is due and keys unused for 30+ days', async () => {
    // The same keys seen 100 days later (the browser's clock moves; the server's does not).
    const later = await newPage();
    await later.page.clock.setFixedTime(Date.now() + 100 * DAY);
    await signIn(later.page, service.adminSecret);
    const mobile = row(later.page, 'Mobile App');
    await mobile.waitFor();
    const staging = row(later.page, 'Staging Worker');
    expect(await staging.textContent()).toContain('Rotation due'); // staging: 90 days
    expect(await staging.textContent()).toContain('Unused 30+ days');
    expect(await mobile.textContent()).not.toContain('Rotation due'); // development: 180 days
    expect(await mobile.textContent()).toContain('Unused 30+ days');
    await screenshot(later.page, '01b-keys-badges-100-days-later');
    await later.context.close();
  });

  it('defines a custom role with the permission picker, then offers it for new keys', async () => {
    await openTab(page, 'Roles');
    await page.getByRole('button', { name: '+ New Role' }).click();
    const d = dialog(page);
    await d.getByLabel('Name', { exact: true }).fill('Key auditor');
    expect(await d.getByLabel('Role ID').inputValue()).toBe('key-auditor');
    await d.getByLabel('api.key.view').check();
    await d.getByLabel('usage.view').check();
    await screenshot(page, '08-new-role');
    await d.getByRole('button', { name: 'Create Role' }).click();
    const r = page.locator('tr[data-role-id="key-auditor"]');
    await r.waitFor();
    expect(await r.textContent()).toContain('Custom');
    expect(await r.textContent()).toContain('api.key.view');
    expect((await service.client().listRoles()).items.find((role) => role.id === 'key-auditor')?.permissions.sort()).toEqual(['api.key.view', 'usage.view']);
    await screenshot(page, '08-roles-tab');

    // Changed in place: name and permissions; the ID stays (keys and manifests refer to it).
    await r.getByRole('button', { name: 'Edit role Key auditor' }).click();
    const edit = dialog(page);
    expect(await edit.getByLabel('Role ID').inputValue()).toBe('key-auditor');
    expect(await edit.getByLabel('Role ID').getAttribute('readonly')).not.toBeNull();
    expect(await edit.getByLabel('usage.view').isChecked()).toBe(true);
    await edit.getByLabel('Name', { exact: true }).fill('Key and role auditor');
    await edit.getByLabel('usage.view').uncheck();
    await edit.getByLabel('role.view').check();
    await screenshot(page, '08-edit-role');
    await edit.getByRole('button', { name: 'Save Changes' }).click();
    await expect.poll(() => r.textContent()).toContain('Key and role auditor');
    expect(await r.textContent()).not.toContain('usage.view');
    const changed = (await service.client().listRoles()).items.find((role) => role.id === 'key-auditor');
    expect(changed?.name).toBe('Key and role auditor');
    expect(changed?.permissions.sort()).toEqual(['api.key.view', 'role.view']);

    await openTab(page, 'API Keys');
    await page.getByRole('button', { name: '+ Create New Key' }).click();
    expect(await dialog(page).getByLabel('Role').locator('option[value="key-auditor"]').count()).toBe(1);
    await page.keyboard.press('Escape');
    await expect.poll(() => dialog(page).count()).toBe(0);
  });

  it('IP allowlist: shows the caller address and guards against locking yourself out', async () => {
    await openTab(page, 'IP allowlist');
    expect(await page.getByTestId('caller-ip').textContent()).toBe('127.0.0.1');
    await page.getByLabel('Address or range').fill('10.0.0.0/8');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByRole('button', { name: 'Save allowlist' }).click();
    // The service refuses to lock the caller out; the page offers the way out, or force.
    const guard = page.getByRole('alertdialog', { name: 'This would lock you out' });
    await guard.waitFor();
    expect(await guard.getByRole('button', { name: 'Save anyway and lock me out' }).count()).toBe(1);
    await screenshot(page, '09-allowlist-lockout-guard');
    await guard.getByRole('button', { name: 'Add my address instead' }).click();
    await page.getByRole('button', { name: 'Save allowlist' }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'IP allowlist saved' }).count()).toBe(1);
    const saved = await service.client().getIpAllowlist();
    expect(saved.entries).toHaveLength(2);
    expect(saved.entries).toContain('10.0.0.0/8');
    expect(saved.entries.find((e) => e.startsWith('127.0.0.1'))).toMatch(/^127\.0\.0\.1(\/32)?$/);
    expect(await page.getByRole('list', { name: 'Allowed addresses' }).textContent()).toContain('(your address)');
    await screenshot(page, '09-allowlist-tab');
    // Back to "any address" so the rest of the suite is unaffected.
    await page.getByRole('button', { name: 'Remove 10.0.0.0/8' }).click();
    await page.getByRole('button', { name: /^Remove 127\.0\.0\.1/ }).click();
    await page.getByRole('button', { name: 'Save allowlist' }).click();
    await expect.poll(async () => (await service.client().getIpAllowlist()).entries).toEqual([]);
  });

  it('IP allowlist: forcing a lock-out is possible after the confirm step, and the page then names the cause', async () => {
    const other = await service.newOrganization('globex');
    const { context: ctx, page: p } = await newPage();
    await signIn(p, other.secret);
    await openTab(p, 'IP allowlist');
    expect(await p.getByTestId('caller-ip').textContent()).toBe('127.0.0.1');
    await p.getByLabel('Address or range').fill('192.0.2.0/24');
    await p.getByRole('button', { name: 'Add', exact: true }).click();
    await p.getByRole('button', { name: 'Save allowlist' }).click();
    await p.getByRole('button', { name: 'Save anyway and lock me out' }).click();
    await openTab(p, 'API Keys');
    await expect.poll(() => p.getByRole('alert').first().textContent()).toContain('IP_NOT_ALLOWED');
    await ctx.close();
  });

  it('Usage: requests per day per key as a chart, and failed authentication', async () => {
    // Some traffic: the admin's, plus a gateway's verifications of the revoked key (usage counts what
    // /v1/verify refused, per key and cause), once the service has flushed them.
    const gateway = service.client((await service.client().createKey({ name: 'Usage gateway', role: 'verifier' })).secret);
    for (let i = 0; i < 3; i++) expect(await gateway.verifyKey({ key: rotatedSecret })).toMatchObject({ valid: false, code: 'KEY_REVOKED' });
    const today = new Date().toISOString().slice(0, 10);
    const from = new Date(Date.now() - 13 * DAY).toISOString().slice(0, 10);
    const usage = () => service.client().getUsage({ from, to: today });
    await expect.poll(async () => (await usage()).items.filter((i) => i.outcome === 'KEY_REVOKED').reduce((s, i) => s + i.count, 0)).toBeGreaterThanOrEqual(3);
    await openTab(page, 'Usage');
    await page.getByTestId('requests-chart').locator('canvas').waitFor();
    expect(await page.getByRole('img', { name: /Requests per day, by key/ }).count()).toBe(1);
    const total = Number(await page.getByTestId('total-requests').textContent());
    expect(total).toBeGreaterThan(0);
    // The page adds up what the API says, failures included.
    const failed = (await usage()).items.filter((i) => i.outcome !== 'VALID').reduce((s, i) => s + i.count, 0);
    expect(failed).toBeGreaterThanOrEqual(3);
    expect(Number(await page.getByTestId('total-failed').textContent())).toBe(failed);
    expect(await page.getByRole('table', { name: 'Failed authentications by key and cause' }).textContent()).toContain('KEY_REVOKED');
    // The chart's tooltip answers the keyboard: focus shows today, the arrows move by day, Escape hides it.
    const failedToday = (await usage()).items.filter((i) => i.outcome !== 'VALID' && i.day === today).reduce((s, i) => s + i.count, 0);
    await page.getByRole('img', { name: /Failed authentications per day/ }).focus();
    const tip = page.getByRole('tooltip');
    await expect.poll(() => tip.textContent()).toContain(today);
    expect(await tip.textContent()).toContain(`Failed: ${failedToday}`);
    await screenshot(page, '10-usage-tab');
    await page.keyboard.press('ArrowLeft');
    await expect.poll(() => tip.textContent()).toContain(new Date(Date.now() - DAY).toISOString().slice(0, 10));
    await page.keyboard.press('Escape');
    await expect.poll(() => tip.count()).toBe(0);
  });

  it('Audit log: a table of who did what', async () => {
    await openTab(page, 'Audit log');
    await page.locator('table.audit-table').waitFor();
    const text = await page.locator('table.audit-table').textContent();
    for (const action of ['key.created', 'key.updated', 'key.rotated', 'key.revoked', 'role.created']) expect(text).toContain(action);
    expect(text).not.toContain(productionSecret);
    await screenshot(page, '11-audit-tab');
  });

  it('at the plan limit, creating says which limit and what to do (KEY_LIMIT_REACHED)', async () => {
    const org = await service.newOrganization('initech');
    const admin = service.client(org.secret);
    // The plan is the service operator's to set (what `keyward org set-plan` runs), never the organization's.
    await service.server.service.operator.setPlan(org.organizationId, 'free');
    const { activeKeyLimit } = await admin.getOrganization();
    expect(activeKeyLimit).toBe(3); // the free plan of the default plans
    for (let i = 1; i < activeKeyLimit!; i++) await admin.createKey({ name: `Worker ${i}`, role: 'viewer' });
    const { context: ctx, page: p } = await newPage();
    await signIn(p, org.secret);
    await expect.poll(() => p.getByTestId('key-limit').textContent()).toContain(`${activeKeyLimit} of ${activeKeyLimit} active keys used`);
    await p.getByRole('button', { name: '+ Create New Key' }).click();
    const d = dialog(p);
    await d.getByLabel('Name').fill('One too many');
    await d.getByLabel('Role').selectOption('viewer');
    await d.getByRole('button', { name: 'Create Key' }).click();
    const alert = d.getByRole('alert');
    await expect.poll(() => alert.textContent()).toContain('KEY_LIMIT_REACHED');
    expect(await alert.textContent()).toMatch(/Revoke unused keys or upgrade the plan/);
    await screenshot(p, '07b-key-limit-reached');
    await ctx.close();
  });

  it('a viewer key sees no Create/Edit/Rotate/Revoke, and the API refuses them anyway', async () => {
    const viewer = await service.client().createKey({ name: 'Read-only Dashboard', role: 'viewer' });
    const { context: ctx, page: p } = await newPage();
    await signIn(p, viewer.secret);
    await row(p, 'Production Server (EU)').waitFor();
    await expect.poll(() => p.getByTestId('my-role').textContent()).toBe('Viewer');
    expect(await p.getByRole('button', { name: '+ Create New Key' }).count()).toBe(0);
    expect(await p.getByRole('button', { name: /^(Edit|Rotate|Revoke) / }).count()).toBe(0);
    const tabs = await p.getByRole('navigation', { name: 'Dashboard sections' }).getByRole('link').allTextContents();
    expect(tabs).not.toContain('Audit log');
    await screenshot(p, '12-viewer-keys-tab');
    await openTab(p, 'Roles');
    expect(await p.getByRole('button', { name: '+ New Role' }).count()).toBe(0);
    // The same requests the hidden buttons would send, from the page itself.
    const refused = await p.evaluate(
      async ({ secret, id }) => {
        const call = async (method: string, path: string, body?: unknown) => {
          const r = await fetch(path, { method, headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
          return ((await r.json()) as { error?: { code: string } }).error?.code ?? String(r.status);
        };
        return [await call('POST', '/v1/keys', { name: 'x', role: 'viewer' }), await call('PATCH', `/v1/keys/${id}`, { name: 'y' }), await call('DELETE', `/v1/keys/${id}`), await call('POST', `/v1/keys/${id}/rotate`, {})];
      },
      { secret: viewer.secret, id: productionKeyId },
    );
    expect(refused).toEqual(['INSUFFICIENT_PERMISSIONS', 'INSUFFICIENT_PERMISSIONS', 'INSUFFICIENT_PERMISSIONS', 'INSUFFICIENT_PERMISSIONS']);
    await axe(p, 'viewer keys tab');
    await ctx.close();
  });

  it('is keyboard accessible: open the create dialog, move through it, close with Escape; focus returns', async () => {
    await openTab(page, 'API Keys');
    await page.getByRole('heading', { level: 1, name: 'API Keys' }).focus();
    let found = false;
    for (let i = 0; i < 20 && !found; i++) {
      await page.keyboard.press('Tab');
      found = (await page.evaluate(() => document.activeElement?.textContent)) === '+ Create New Key';
    }
    expect(found).toBe(true);
    await page.keyboard.press('Enter');
    await dialog(page).waitFor();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('create-name');
    await page.keyboard.type('Keyboard Key');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('create-role');
    await page.keyboard.press('Escape');
    await expect.poll(() => dialog(page).count()).toBe(0);
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('+ Create New Key');
  });

  it('has no serious or critical accessibility violations (axe-core) on any tab or dialog', async () => {
    for (const tab of ['API Keys', 'Roles', 'IP allowlist', 'Usage', 'Audit log', 'Incidents']) {
      await openTab(page, tab);
      await page.waitForLoadState('networkidle');
      await axe(page, tab);
    }
    await openTab(page, 'API Keys');
    await page.getByRole('button', { name: '+ Create New Key' }).click();
    await axe(page, 'create dialog');
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Revoke Mobile App' }).click();
    await axe(page, 'revoke dialog');
    await dialog(page).getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
    await axe(page, 'sign-in');
  });

  it('is usable at phone width (390 px): no sideways scrolling, tables become cards', async () => {
    const { context: ctx, page: p } = await newPage(390, 844);
    await signIn(p, service.adminSecret);
    await row(p, 'Mobile App').waitFor();
    expect(await sidewaysOverflow(p)).toBeLessThanOrEqual(0);
    await screenshot(p, '13-phone-keys');
    await p.getByRole('button', { name: '+ Create New Key' }).click();
    await dialog(p).getByLabel('Name').fill('Phone Key');
    await dialog(p).getByLabel('Role').selectOption('viewer');
    await dialog(p).getByRole('button', { name: 'Create Key' }).click();
    await dialog(p).getByTestId('secret').waitFor();
    shownSecrets.push((await dialog(p).getByTestId('secret').textContent())!);
    await screenshot(p, '13-phone-secret');
    await dialog(p).getByRole('button', { name: 'I have copied it' }).click();
    await axe(p, 'keys at phone width');
    for (const tab of ['Roles', 'IP allowlist', 'Usage', 'Audit log', 'Incidents']) {
      await openTab(p, tab);
      await p.waitForLoadState('networkidle');
      expect(await sidewaysOverflow(p), tab).toBeLessThanOrEqual(0);
      await axe(p, `${tab} at phone width`);
      await screenshot(p, `13-phone-${tab.toLowerCase().replace(/ /g, '-')}`);
    }
    await ctx.close();
  });

  it('the Revoke dialog\'s "Compromised: revoke and replace": the replacement secret once, then the incident page', async () => {
    const leaky = await service.client().createKey({ name: 'Leaky Server', role: 'viewer' });
    await service.client(leaky.secret).whoami();
    // Seen by a downstream API from an address that used no other key of the organization.
    await service.client().verifyKey({ key: leaky.secret, ip: '203.0.113.77', permission: 'api.key.view' });
    await signIn(page, service.adminSecret);
    await openTab(page, 'API Keys');
    await page.getByRole('button', { name: 'Revoke Leaky Server' }).click();
    const d = dialog(page);
    await d.getByLabel('Reason (kept in the audit log; if it may be compromised, what happened?)').fill('pasted in a public channel');
    await d.getByRole('button', { name: 'Compromised: revoke and replace' }).click();
    await d.getByRole('heading', { name: 'Save the replacement key' }).waitFor();
    const secret = (await d.getByTestId('secret').textContent())!;
    shownSecrets.push(secret);
    expect(secret).toMatch(/^kw_[A-Za-z0-9]{28}$/);
    await screenshot(page, '06b-compromised-replacement');
    await d.getByRole('button', { name: 'I have copied it' }).click();
    await page.getByRole('heading', { level: 1, name: 'Incident: Leaky Server' }).waitFor();
    expect(page.url()).toMatch(/#\/incidents\/inc_/);
    const text = (await page.locator('main').textContent())!;
    expect(text).toContain('pasted in a public channel');
    expect(text).toContain('replacement-issued');
    expect(text).toContain('key.compromised');
    expect(text).not.toContain(secret);
    // The uses by address: the downstream client's address stands out, the service's own (the admin key's too) does not.
    const addresses = page.getByTestId('incident-addresses');
    await addresses.waitFor();
    expect(await addresses.getByRole('row', { name: /203\.0\.113\.77/ }).textContent()).toMatch(/VALID.*api\.key\.view.*1.*None: only this key/);
    expect(await addresses.getByRole('row', { name: /127\.0\.0\.1/ }).textContent()).toMatch(/VALID.*Used others too/);
    await screenshot(page, '06c-incident-page');
    await axe(page, 'incident page');
    expect(await errorCode(service.client(leaky.secret).whoami())).toBe('KEY_REVOKED');
    expect((await service.client(secret).whoami()).key.name).toBe('Leaky Server v2');
    await page.getByRole('link', { name: '← All incidents' }).click();
    await page.getByRole('heading', { level: 1, name: 'Incidents' }).waitFor();
    // The heading shows before the list has loaded: wait for the row, then count it.
    await row(page, `Leaky Server ${leaky.key.id}`).waitFor();
    expect(await row(page, `Leaky Server ${leaky.key.id}`).count()).toBe(1);
    await axe(page, 'incidents');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
  });

  it("a key's page: Key ID, the secret's hint, role and permissions, dates, last use and address, metadata, lineage, usage and audit trail, at 1280 and 390 px", async () => {
    const admin = service.client();
    const expiresAt = new Date(Date.now() + 40 * DAY).toISOString();
    const created = await admin.createKey({ name: 'Billing Worker', role: 'key-manager', environment: 'staging', expiresAt, metadata: { team: 'billing' }, ipAllowlist: ['127.0.0.1'] });
    await service.client(created.secret).whoami(); // used, from 127.0.0.1
    const rotated = await admin.rotateKey(created.key.id, { gracePeriod: '1h' });
    const key = await admin.getKey(created.key.id);
    expect(key.hint).toMatch(/^kw_…[A-Za-z0-9]{4}$/);
    for (const width of WIDTHS) {
      const { context: ctx, page: p } = await newPage(width, 900);
      await signIn(p, service.adminSecret);
      await row(p, 'Billing Worker').getByRole('link', { name: 'Billing Worker' }).click();
      await p.getByRole('heading', { level: 1, name: 'Billing Worker' }).waitFor();
      expect(p.url()).toContain(`#/keys/${key.id}`);
      const facts = p.getByTestId('key-facts');
      const text = (await facts.textContent())!;
      expect(text).toContain(key.id);
      await facts.getByRole('button', { name: 'Copy Key ID' }).click();
      await expect.poll(() => p.evaluate(() => navigator.clipboard.readText())).toBe(key.id);
      await expect.poll(() => facts.getByRole('status').textContent()).toBe('Copied to the clipboard');
      // When it was made and by whom (by name once the key names have loaded), when it was last used and from where.
      expect(text).toMatch(/Created.+\((just now|\d+ \w+ ago)\) by /);
      await expect.poll(() => facts.textContent()).toContain(`by acme admin ${service.adminKeyId}`);
      expect(text).toMatch(/Last used.+\((just now|\d+ \w+ ago)\) from 127\.0\.0\.1/);
      expect(await p.getByTestId('key-hint').textContent()).toBe(key.hint);
      expect(created.secret.endsWith(key.hint.slice(-4))).toBe(true);
      expect(text).not.toContain(created.secret);
      expect(text).toContain('Key manager');
      expect(await p.getByRole('list', { name: 'Permissions of this role' }).textContent()).toContain('api.key.rotate');
      expect(text).toContain('staging');
      expect(text).toMatch(/Expires.*in 1 hour/); // the rotation's grace period replaced the 40 days
      expect(text).toContain('Rotation due');
      expect(await p.getByTestId('last-used-ip').textContent()).toBe('127.0.0.1');
      expect(await p.getByTestId('key-metadata').textContent()).toContain('billing');
      expect(await p.getByRole('list', { name: 'Addresses this key may be used from' }).locator('input').first().inputValue()).toBe('127.0.0.1/32');
      // Usage (this key's) and its audit trail.
      await p.getByTestId('key-requests-chart').locator('canvas').waitFor();
      const trail = p.getByRole('table', { name: /Audit trail of Billing Worker/ });
      await expect.poll(() => trail.textContent()).toContain('key.rotated');
      expect(await trail.textContent()).toContain('key.created');
      expect(await trail.textContent()).toContain('acme admin'); // the actor by name
      expect(await sidewaysOverflow(p), `width ${width}`).toBeLessThanOrEqual(0);
      await axe(p, `key page at ${width} px`);
      await screenshot(p, `14-key-page-${width}`);
      // The lineage links both ways.
      await p.getByRole('list', { name: /Rotation lineage/ }).getByRole('link', { name: /Billing Worker v2/ }).click();
      await p.getByRole('heading', { level: 1, name: 'Billing Worker v2' }).waitFor();
      expect(p.url()).toContain(`#/keys/${rotated.key.id}`);
      await p.getByRole('list', { name: /Rotation lineage/ }).getByRole('link', { name: /Billing Worker/ }).click();
      await p.getByRole('heading', { level: 1, name: 'Billing Worker' }).waitFor();
      await ctx.close();
    }
  });

  it("rotate with 'revoke the old key when unused': the quiet period's problem at its field, then the key's page lists who still uses the old key, refreshed while open, at 1280 and 390 px", async () => {
    const admin = service.client();
    const gateway = service.client((await admin.createKey({ name: 'Transition gateway', role: 'verifier' })).secret);
    for (const width of WIDTHS) {
      const old = await admin.createKey({ name: `Ledger Sync ${width}`, role: 'viewer' });
      const { context: ctx, page: p } = await newPage(width, 900);
      await signIn(p, service.adminSecret);
      await p.goto(`${service.url}/#/keys/${old.key.id}`);
      await p.getByRole('heading', { level: 1, name: old.key.name }).waitFor();
      expect(await p.getByRole('heading', { name: 'Transition to the successor' }).count()).toBe(0); // not rotated yet
      await p.getByRole('button', { name: 'Rotate', exact: true }).click();
      const d = dialog(p);
      await d.getByLabel('Grace period').selectOption('1h');
      await d.getByLabel('The old key ends').selectOption('whenUnused');
      const quiet = d.getByLabel('Quiet period');
      expect(await quiet.inputValue()).toBe('10m'); // the service's default
      await quiet.fill('2h');
      await d.getByRole('button', { name: 'Rotate Key' }).click();
      // The service's refusal, in its own words, at the field; nothing rotated.
      const fieldError = d.locator('#rotate-quiet-error');
      await fieldError.waitFor();
      const refused = await failure(admin.rotateKey(old.key.id, { gracePeriod: '1h', revokeOld: 'whenUnused', quietPeriod: '2h' }));
      expect(refused.code).toBe('VALIDATION_FAILED');
      expect(refused.message).toContain((await fieldError.textContent())!);
      expect(await quiet.getAttribute('aria-invalid')).toBe('true');
      expect(await d.getByRole('alert').textContent()).toContain('Fix the field marked above');
      expect((await admin.getKey(old.key.id)).rotatedToId).toBeNull();
      await axe(p, `rotate dialog with a quiet period problem at ${width} px`);
      await screenshot(p, `16-rotate-when-unused-wrong-${width}`);
      await quiet.fill('30m');
      await d.getByRole('button', { name: 'Rotate Key' }).click();
      await d.getByRole('heading', { name: 'Key rotated: save the new secret' }).waitFor();
      shownSecrets.push((await d.getByTestId('secret').textContent())!);
      expect(await d.getByRole('region', { name: 'Watch the transition' }).textContent()).toContain('once nothing has used it for 30m');
      await d.getByRole('button', { name: 'I have copied it' }).click();
      // The old key's page (still open behind the dialog) shows the transition, nobody on the old key yet.
      const panel = p.getByTestId('transition');
      await panel.waitFor();
      expect(await panel.textContent()).toContain('When unused for 30m');
      expect(await p.getByTestId('transition-state').textContent()).toBe('In transition');
      await p.getByTestId('no-stragglers').waitFor();
      // A client that has not moved verifies with the old key; the open page lists it without a reload.
      expect(await gateway.verifyKey({ key: old.secret, ip: '10.0.3.7', userAgent: `ledger-sync/${width}` })).toMatchObject({ valid: true });
      const stragglers = p.getByRole('list', { name: 'Still using the old key' });
      await stragglers.getByText('10.0.3.7').waitFor();
      expect(await stragglers.textContent()).toMatch(new RegExp(`^10\\.0\\.3\\.7 used the old key (\\d+ s ago|1 minute ago) \\(ledger-sync/${width}\\)$`));
      expect((await admin.getKey(old.key.id)).transition?.stragglers).toMatchObject([{ ip: '10.0.3.7', userAgent: `ledger-sync/${width}` }]);
      expect(await sidewaysOverflow(p), `width ${width}`).toBeLessThanOrEqual(0);
      await axe(p, `key page in transition at ${width} px`);
      await screenshot(p, `16-key-transition-${width}`);
      await ctx.close();
    }
  }, 90_000); // two widths, each waiting for the page's next 5 s refresh, on a shared machine

  it("a key's own IP allowlist: a wrong row is marked with the service's reason, a good one saves", async () => {
    const admin = service.client();
    for (const width of WIDTHS) {
      const { key } = await admin.createKey({ name: `Allowlisted Worker ${width}`, role: 'viewer' });
      const { context: ctx, page: p } = await newPage(width, 900);
      await signIn(p, service.adminSecret);
      await p.goto(`${service.url}/#/keys/${key.id}`);
      await p.getByRole('heading', { level: 1, name: key.name }).waitFor();
      await p.getByLabel('Address or range').fill('010.0.0.1');
      await p.getByRole('button', { name: 'Add', exact: true }).click();
      const wrong = p.getByRole('list', { name: 'Addresses this key may be used from' }).locator('li:has(#key-allowlist-row-0)');
      await expect.poll(() => wrong.getAttribute('class')).toBe('invalid');
      const message = await wrong.locator('.field-error').textContent();
      // The same words the API answers with.
      const refused = await failure(admin.updateKey(key.id, { ipAllowlist: ['010.0.0.1'] }));
      expect(refused.code).toBe('VALIDATION_FAILED');
      expect(refused.message).toContain(message!);
      expect(await wrong.getByRole('textbox').getAttribute('aria-invalid')).toBe('true');
      expect(await p.getByRole('button', { name: 'Save key allowlist' }).isDisabled()).toBe(true);
      await screenshot(p, `15-key-allowlist-wrong-row-${width}`);
      await wrong.getByRole('textbox').fill(width === 1280 ? '10.0.0.0/8' : '2001:db8::/32');
      await expect.poll(() => wrong.getAttribute('class')).toBeNull();
      await p.getByRole('button', { name: 'Save key allowlist' }).click();
      await expect.poll(async () => (await admin.getKey(key.id)).ipAllowlist).toEqual([width === 1280 ? '10.0.0.0/8' : '2001:db8::/32']);
      await ctx.close();
    }
  });

  it('create offers an expiry, an IP allowlist and metadata; the API gets them, and its refusals show at the field', async () => {
    for (const width of WIDTHS) {
      const { context: ctx, page: p } = await newPage(width, 900);
      await signIn(p, service.adminSecret);
      await p.getByRole('button', { name: '+ Create New Key' }).click();
      const d = dialog(p);
      await d.getByLabel('Name').fill(`Contractor ${width}`);
      await d.getByLabel('Role').selectOption('viewer');
      await d.getByLabel('Expires').selectOption('30');
      await d.getByLabel('Address or range').fill('192.0.2.0/24');
      await d.getByRole('button', { name: 'Add', exact: true }).click();
      await d.getByRole('button', { name: '+ Add metadata' }).click();
      await d.getByLabel('Metadata name 1').fill('vendor');
      // Longer than the 512 characters a metadata value may have: the service refuses, at that row.
      await d.getByLabel('Metadata value 1').fill('x'.repeat(600));
      await d.getByRole('button', { name: 'Create Key' }).click();
      const metadataRow = d.getByRole('list', { name: 'Metadata' }).getByRole('listitem').first();
      await expect.poll(() => metadataRow.locator('.field-error').count()).toBe(1);
      expect(await metadataRow.locator('.field-error').textContent()).toContain('at most 512 characters');
      expect(await d.getByLabel('Metadata name 1').getAttribute('aria-invalid')).toBe('true');
      expect(await d.getByRole('alert').textContent()).toContain('Fix the field marked above');
      await screenshot(p, `16-create-field-error-${width}`);
      expect(await sidewaysOverflow(p)).toBeLessThanOrEqual(0);
      await axe(p, `create dialog with errors at ${width} px`);
      await d.getByLabel('Metadata value 1').fill('acme-consulting');
      await d.getByRole('button', { name: 'Create Key' }).click();
      await d.getByRole('heading', { name: 'Save your secret key' }).waitFor();
      const keyId = (await d.locator('code.key-id').textContent())!;
      shownSecrets.push((await d.getByTestId('secret').textContent())!);
      await d.getByRole('button', { name: 'I have copied it' }).click();
      const key = await service.client().getKey(keyId);
      expect(key.ipAllowlist).toEqual(['192.0.2.0/24']);
      expect(key.metadata).toEqual({ vendor: 'acme-consulting' });
      expect(Date.parse(key.expiresAt!) - Date.now()).toBeGreaterThan(29 * DAY);
      expect(Date.parse(key.expiresAt!) - Date.now()).toBeLessThan(31 * DAY);
      await ctx.close();
    }
  });

  it('the status filter lists revoked and expired keys (no actions on them); the default stays active keys', async () => {
    const admin = service.client();
    const doomed = await admin.createKey({ name: 'Old Cron', role: 'viewer' });
    await admin.revokeKey(doomed.key.id);
    // A rotation without grace period: the old key expires at once.
    const leaked = await admin.createKey({ name: 'Leaked Job', role: 'viewer' });
    await admin.rotateKey(leaked.key.id, { gracePeriod: '0', name: 'Leaked Job (replaced)' });
    await expect.poll(async () => (await admin.getKey(leaked.key.id)).status).toBe('expired');
    for (const width of WIDTHS) {
      const { context: ctx, page: p } = await newPage(width, 900);
      await signIn(p, service.adminSecret);
      await row(p, 'Mobile App').waitFor();
      expect(await row(p, 'Old Cron').count()).toBe(0);
      await p.getByLabel('Status').selectOption('revoked');
      await row(p, 'Old Cron').waitFor();
      expect(await row(p, 'Mobile App').count()).toBe(0);
      expect(await row(p, 'Old Cron').textContent()).toContain('Revoked');
      expect(await row(p, 'Old Cron').getByRole('button', { name: /^(Edit|Rotate|Revoke) / }).count()).toBe(0);
      expect(p.url()).toContain('status=revoked');
      await axe(p, `revoked keys at ${width} px`);
      await screenshot(p, `17-revoked-keys-${width}`);
      // The filter is in the address: a reload keeps it.
      await p.reload();
      await row(p, 'Old Cron').waitFor();
      await p.getByLabel('Status').selectOption('expired');
      await row(p, 'Leaked Job').waitFor();
      expect(await row(p, 'Leaked Job').textContent()).toContain('Expired');
      expect(await row(p, 'Old Cron').count()).toBe(0);
      expect(await row(p, 'Leaked Job').getByRole('button', { name: /^(Edit|Rotate|Revoke) / }).count()).toBe(0);
      await p.getByLabel('Status').selectOption('all');
      await row(p, 'Mobile App').waitFor();
      expect(await row(p, 'Old Cron').count()).toBe(1);
      expect(await sidewaysOverflow(p)).toBeLessThanOrEqual(0);
      await ctx.close();
    }
  });

  it('audit log filters as the API does (action, actor, target, time range), actors by name with their Key ID', async () => {
    for (const width of WIDTHS) {
      const { context: ctx, page: p } = await newPage(width, 900);
      await signIn(p, service.adminSecret);
      await openTab(p, 'Audit log');
      const table = p.locator('table.audit-table');
      await table.waitFor();
      await p.getByLabel('Action').selectOption('key.revoked');
      await expect.poll(async () => [...new Set(await table.locator('tbody td[data-label="Action"]').allTextContents())]).toEqual(['key.revoked']);
      const actor = table.locator('tbody td[data-label="Actor"]').first();
      expect(await actor.textContent()).toContain('acme admin');
      expect(await actor.textContent()).toContain(service.adminKeyId);
      expect(p.url()).toContain('action=key.revoked');
      await screenshot(p, `18-audit-filtered-${width}`);
      const revoked = await service.client().listAuditLog({ action: 'key.revoked', actorKeyId: service.adminKeyId, limit: 1000 });
      await p.getByLabel('Actor key').selectOption(service.adminKeyId);
      await expect.poll(() => table.locator('tbody tr').count()).toBe(revoked.items.length);
      // A target key, then a time range with nothing in it.
      const target = revoked.items[0]!.targetId;
      await p.getByLabel('Target key').selectOption(target);
      await expect.poll(() => table.locator('tbody tr').count()).toBe(1);
      await p.getByLabel('From').fill('2030-01-01T00:00');
      await p.getByLabel('From').dispatchEvent('change');
      await expect.poll(() => table.textContent()).toContain('No events.');
      expect(p.url()).toContain('from=2030-01-01');
      // The range's end: up to tomorrow keeps the target's events, up to a day long past finds none.
      await p.getByRole('button', { name: 'Clear filters' }).click();
      await p.getByLabel('Target key').selectOption(target);
      const targetEvents = (await service.client().listAuditLog({ targetId: target, limit: 50 })).items.length;
      expect(targetEvents).toBeGreaterThan(1);
      await expect.poll(() => table.locator('tbody tr').count()).toBe(targetEvents);
      const to = p.getByLabel('To', { exact: true });
      await to.fill(new Date(Date.now() + DAY).toISOString().slice(0, 16));
      await to.dispatchEvent('change');
      await expect.poll(() => p.url()).toContain('to=');
      await expect.poll(() => table.locator('tbody tr').count()).toBe(targetEvents);
      await to.fill('2000-01-01T00:00');
      await to.dispatchEvent('change');
      await expect.poll(() => table.textContent()).toContain('No events.');
      expect(await sidewaysOverflow(p)).toBeLessThanOrEqual(0);
      await axe(p, `filtered audit log at ${width} px`);
      await p.getByRole('button', { name: 'Clear filters' }).click();
      await expect.poll(() => table.locator('tbody tr').count()).toBeGreaterThan(5);
      await ctx.close();
    }
  });

  it('charts are readable at 390 px and their tooltip answers a tap', async () => {
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true });
    const p = await ctx.newPage();
    watch(p);
    await signIn(p, service.adminSecret);
    await openTab(p, 'Usage');
    const canvas = p.getByTestId('requests-chart').locator('canvas');
    await canvas.waitFor();
    const box = (await canvas.boundingBox())!;
    expect(box.width).toBeLessThanOrEqual(390);
    expect(box.width).toBeGreaterThan(250);
    // Today's bar is at the right end of the plot.
    await canvas.tap({ position: { x: box.width - 12, y: box.height / 2 } });
    const tip = p.getByRole('tooltip');
    await expect.poll(() => tip.textContent()).toContain(new Date().toISOString().slice(0, 10));
    const tipBox = (await tip.boundingBox())!;
    expect(tipBox.x).toBeGreaterThanOrEqual(0);
    expect(tipBox.x + tipBox.width).toBeLessThanOrEqual(390);
    expect(await sidewaysOverflow(p)).toBeLessThanOrEqual(0);
    await screenshot(p, '19-phone-chart-tooltip');
    await ctx.close();
  });

  it('Escape closes every dialog (the lock-out question too) except the three once-only secrets, which need "I have copied it", at 1280 and 390 px', { timeout: 120_000 }, async () => {
    const admin = service.client();
    for (const width of WIDTHS) {
      const { context: ctx, page: p } = await newPage(width, 900);
      await signIn(p, service.adminSecret);
      await row(p, 'Mobile App').waitFor();
      const escapes = async (open: () => Promise<void>, what: string) => {
        await open();
        await dialog(p).waitFor();
        await p.keyboard.press('Escape');
        await expect.poll(() => dialog(p).count(), { message: what }).toBe(0);
      };
      /** A once-only secret stays through Escape (pressed twice: Chromium closes a dialog on the second whatever its cancel handler says). */
      const staysOpen = async (what: string) => {
        const secret = dialog(p).getByTestId('secret');
        await secret.waitFor();
        shownSecrets.push((await secret.textContent())!);
        await p.keyboard.press('Escape');
        await p.keyboard.press('Escape');
        expect(await secret.count(), what).toBe(1);
        await screenshot(p, `21-${what.replace(/ /g, '-')}-after-escape-${width}`);
        await dialog(p).getByRole('button', { name: 'I have copied it' }).click();
        await expect.poll(() => dialog(p).count(), { message: what }).toBe(0);
      };
      await escapes(() => p.getByRole('button', { name: '+ Create New Key' }).click(), 'create');
      await escapes(() => p.getByRole('button', { name: 'Edit Mobile App' }).click(), 'edit');
      await escapes(() => p.getByRole('button', { name: 'Rotate Mobile App' }).click(), 'rotate');
      await escapes(() => p.getByRole('button', { name: 'Revoke Mobile App' }).click(), 'revoke');
      await openTab(p, 'Roles');
      await escapes(() => p.getByRole('button', { name: '+ New Role' }).click(), 'new role');
      await escapes(() => p.getByRole('button', { name: '+ New Permission' }).click(), 'new permission');
      const custom = p.locator('tr[data-role-id="key-auditor"]');
      await escapes(() => custom.getByRole('button', { name: /^Edit role/ }).click(), 'edit role');
      await escapes(() => custom.getByRole('button', { name: /^Delete role/ }).click(), 'delete role');
      expect((await admin.listRoles()).items.some((r) => r.id === 'key-auditor')).toBe(true);
      // The lock-out question: focus moves into it, Escape answers "not now", nothing is saved, focus goes back to Save.
      await openTab(p, 'IP allowlist');
      await p.getByLabel('Address or range').fill('10.0.0.0/8');
      await p.getByRole('button', { name: 'Add', exact: true }).click();
      await p.getByRole('button', { name: 'Save allowlist' }).click();
      const guard = p.getByRole('alertdialog', { name: 'This would lock you out' });
      await guard.waitFor();
      await expect.poll(() => p.evaluate(() => document.activeElement?.textContent)).toBe('Add my address instead');
      await screenshot(p, `21-lockout-question-${width}`);
      await p.keyboard.press('Escape');
      await expect.poll(() => guard.count()).toBe(0);
      expect(await p.evaluate(() => document.activeElement?.textContent)).toBe('Save allowlist');
      expect((await admin.getIpAllowlist()).entries).toEqual([]);
      await p.getByRole('button', { name: 'Discard changes' }).click();
      // The three once-only secrets: a new key's, a rotation's, a compromised key's replacement.
      await openTab(p, 'API Keys');
      await p.getByRole('button', { name: '+ Create New Key' }).click();
      await dialog(p).getByLabel('Name').fill(`Escape Test ${width}`);
      await dialog(p).getByLabel('Role').selectOption('viewer');
      await dialog(p).getByRole('button', { name: 'Create Key' }).click();
      await staysOpen('created secret');
      await row(p, `Escape Test ${width}`).waitFor();
      await p.getByRole('button', { name: `Rotate Escape Test ${width}` }).click();
      await dialog(p).getByRole('button', { name: 'Rotate Key' }).click();
      await staysOpen('rotated secret');
      await row(p, `Escape Test ${width} v2`).waitFor();
      await p.getByRole('button', { name: `Revoke Escape Test ${width} v2` }).click();
      await dialog(p).getByLabel(/^Reason/).fill('Escape test');
      await dialog(p).getByRole('button', { name: 'Compromised: revoke and replace' }).click();
      await staysOpen('replacement secret');
      await ctx.close();
    }
  });

  // Swagger UI renders the whole document (over 40 operations) twice, and axe reads it twice: more than the default 30 s on a busy machine.
  it('the API reference at /docs renders the document offline under the same strict CSP, at 1280 and 390 px', { timeout: 120_000 }, async () => {
    const served = await raw(service.url, '/docs');
    expect(served.status).toBe(200);
    expect(served.headers.get('content-security-policy')).toBe((await raw(service.url, '/')).headers.get('content-security-policy'));
    expect(served.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(served.text).not.toMatch(/<style|style=/);
    for (const width of WIDTHS) {
      const { context: ctx, page: p } = await newPage(width, 900);
      await p.goto(`${service.url}/docs`);
      await p.getByText('Create a key; the secret is in this response only').first().waitFor();
      for (const tag of ['Identity', 'Keys', 'Verify', 'Roles', 'Organization', 'Activity']) {
        await expect.poll(() => p.locator(`h3.opblock-tag[data-tag="${tag}"]`).count(), { message: tag }).toBe(1);
      }
      await p.getByText('Create a key; the secret is in this response only').first().click();
      await expect.poll(() => p.getByText('Retry-After').count()).toBeGreaterThan(0);
      expect(await sidewaysOverflow(p)).toBeLessThanOrEqual(0);
      await axe(p, `API reference at ${width} px`);
      await screenshot(p, `20-api-reference-${width}`);
      await ctx.close();
    }
  });

  it('signs out: the key is cleared from sessionStorage and a reload stays signed out', async () => {
    await signIn(page, service.adminSecret);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
    expect(await page.evaluate(() => sessionStorage.length + localStorage.length)).toBe(0);
    await page.reload();
    await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
    expect(await page.getByRole('navigation', { name: 'Dashboard sections' }).count()).toBe(0);
  });

  it('worked offline (same-origin requests only), with no script errors or CSP violations, and no secret in the logs', async () => {
    expect(requested.length).toBeGreaterThan(0);
    expect(requested.filter((url) => !url.startsWith(`${service.url}/`))).toEqual([]);
    expect(requested.filter((url) => /kw_/.test(url))).toEqual([]);
    expect(problems).toEqual([]);
    const logs = service.logs.join('\n');
    for (const secret of [service.adminSecret, ...shownSecrets]) expect(logs).not.toContain(secret);
    expect(shownSecrets.length).toBeGreaterThanOrEqual(3);
  });
});
