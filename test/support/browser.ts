/**
 * Real Chromium (Debian's /usr/bin/chromium) driven by playwright-core, and a
 * key service that serves the dashboard.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
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
