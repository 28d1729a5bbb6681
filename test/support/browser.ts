/**
 * Real Chromium (Debian's /usr/bin/chromium) driven by playwright-core, and a
 * key service that serves the dashboard.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { ServerConfigInput } from '../../src/server/config.ts';
import { startTestService, type TestService } from './keyservice.ts';

export const CHROMIUM_PATH = process.env.KEYWARD_CHROMIUM ?? '/usr/bin/chromium';
export const REQUIRE_BROWSER = process.env.KEYWARD_REQUIRE_BROWSER === '1';
export const ARTIFACTS_DIR = join(import.meta.dirname, '..', '..', 'test-results', 'dashboard');

/**
 * Whether the browser suites can run. Without Chromium they are skipped with
 * one line, unless KEYWARD_REQUIRE_BROWSER=1 (CI), where that is an error.
 */
export function browserAvailable(): boolean {
  if (existsSync(CHROMIUM_PATH)) return true;
  if (REQUIRE_BROWSER) return false;
  console.log(`skipping browser tests: ${CHROMIUM_PATH} not found (apt-get install -y chromium, or set KEYWARD_CHROMIUM)`);
  return false;
}

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** Playwright gives every launch a fresh temporary --user-data-dir. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

export type DashboardService = TestService;

/**
 * The real key service, which must serve the dashboard itself (src/server/app.ts): a service that does not fails here.
 * Break-glass key sign-in is on unless `config` says otherwise: the dashboard suite drives the UI with keys it makes.
 */
export async function startDashboardService(config: ServerConfigInput = {}): Promise<DashboardService> {
  const service = await startTestService({ dashboardKeySignIn: 'on', ...config });
  const page = await fetch(`${service.url}/`);
  const type = page.headers.get('content-type') ?? '';
  const body = await page.text();
  if (page.status !== 200 || !type.startsWith('text/html') || !body.includes('/assets/')) {
    await service.stop();
    throw new Error(`the key service does not serve the dashboard at /: ${page.status} ${type} ${body.slice(0, 200)}`);
  }
  return service;
}

/** How far the page scrolls sideways (0 or less: it fits its viewport, as at 390 px it must). */
export const sidewaysOverflow = (page: Page): Promise<number> => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

/** A passkey as the CDP WebAuthn domain describes it (its private key included). */
export interface VirtualCredential {
  credentialId: string;
  isResidentCredential: boolean;
  rpId?: string;
  privateKey: string;
  userHandle?: string;
  signCount: number;
}

/** A virtual authenticator of Chromium's (CDP WebAuthn domain) attached to a page: a passkey device. */
export interface VirtualAuthenticator {
  id: string;
  /** The passkeys it holds (private keys included: another authenticator can be given them, as a synced passkey). */
  credentials(): Promise<VirtualCredential[]>;
  add(credential: VirtualCredential): Promise<void>;
  /** Unplugs it: its passkeys are gone from this page. */
  remove(): Promise<void>;
}

/**
 * Plugs a virtual passkey authenticator into `page` (a platform authenticator
 * that verifies its user and holds resident keys, answering at once).
 * WebAuthn needs a host name: open the service on http://localhost:<port>.
 */
export async function addVirtualAuthenticator(context: BrowserContext, page: Page): Promise<VirtualAuthenticator> {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return {
    id: authenticatorId,
    credentials: async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials,
    add: async (credential) => void (await cdp.send('WebAuthn.addCredential', { authenticatorId, credential })),
    remove: async () => void (await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId })),
  };
}
