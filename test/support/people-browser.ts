/**
 * People in Chromium: a fresh browser context on the dashboard with a
 * virtual passkey authenticator, JSON requests made by the page itself (so
 * the browser sends its cookies and Origin), and the round trip through an
 * identity provider's login pages back to the dashboard, which finishes the
 * sign-in.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';
import { addVirtualAuthenticator } from './browser.ts';

export type Answer = { status: number; body: any };

/** Runs in the page: a JSON request to the service, same origin. */
export async function call(page: Page, method: string, path: string, body?: unknown, csrf?: string): Promise<Answer> {
  return page.evaluate(
    async ({ method, path, body, csrf }) => {
      const headers: Record<string, string> = {};
      if (body !== undefined) headers['content-type'] = 'application/json';
      if (csrf !== undefined) headers['x-csrf-token'] = csrf;
      const response = await fetch(path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : undefined };
    },
    { method, path, body, csrf },
  );
}

/** A fresh browser (no cookies) with a virtual passkey authenticator, on the dashboard at `local`; only loopback is reachable. */
export async function freshPage(browser: Browser, local: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  await context.route(/^https?:\/\/(?!localhost|127\.0\.0\.1)/, (route) => route.abort());
  const page = await context.newPage();
  await addVirtualAuthenticator(context, page);
  await page.goto(`${local}/`);
  return { context, page };
}

/** On the provider's pages (the browser was sent there): its login and consent as `login`, until it sends the browser back to the dashboard at `local`. */
export async function providerLogin(page: Page, local: string, login: string): Promise<void> {
  const back = new RegExp(`^${local}/`);
  await page.waitForURL((url) => !back.test(url.href), { waitUntil: 'domcontentloaded' });
  while (!back.test(page.url())) {
    if (await page.locator('input[name=login]').count()) {
      await page.fill('input[name=login]', login);
      await page.fill('input[name=password]', 'any password');
      await Promise.all([page.waitForNavigation({ waitUntil: 'domcontentloaded' }), page.click('button[type=submit]')]);
    } else if (await page.locator('button[type=submit]').count()) {
      await Promise.all([page.waitForNavigation({ waitUntil: 'domcontentloaded' }), page.click('button[type=submit]')]);
    } else {
      await page.waitForURL(back);
    }
  }
}

/**
 * The provider's round trip in `page`: start (with `start`'s body: an
 * invitation token, an organization), the provider's login and consent
 * pages as `login`, back to the dashboard at `local`, which finishes the
 * sign-in itself (POST /v1/auth/oidc/callback with the fragment): its answer
 * is returned. `issuer`, when given, is where the start must send the browser.
 */
export async function oidcSignIn(page: Page, local: string, login: string, start: { invitationToken?: string; organization?: string } = {}, issuer?: string): Promise<Answer> {
  const started = await call(page, 'POST', '/v1/auth/oidc/start', start);
  expect(started.status, JSON.stringify(started.body)).toBe(200);
  if (issuer !== undefined) expect(started.body.authorizationUrl.startsWith(`${issuer}/`), started.body.authorizationUrl).toBe(true);
  const finished = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/v1/auth/oidc/callback');
  await page.goto(started.body.authorizationUrl, { waitUntil: 'domcontentloaded' });
  await providerLogin(page, local, login);
  const response = await finished;
  const fragment = (JSON.parse(response.request().postData()!) as { query: string }).query;
  expect(new URLSearchParams(fragment).get('code')).toBeTruthy();
  const answer = { status: response.status(), body: await response.json() };
  // The answer works once: posted again, no sign-in is waiting for it.
  expect((await call(page, 'POST', '/v1/auth/oidc/callback', { query: fragment })).body.error.code).toBe('CEREMONY_EXPIRED');
  return answer;
}
