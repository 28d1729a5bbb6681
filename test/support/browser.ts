/**
 * Real Chromium (Debian's /usr/bin/chromium) driven by playwright-core, and a
 * key service that serves the dashboard.
 */
import { existsSync, mkdirSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import express from 'express';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { ServerConfigInput } from '../../src/server/config.ts';
import { dashboardRouter } from '../../src/server/dashboard.ts';
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

export interface DashboardService extends TestService {
  /** False when src/server/app.ts does not mount dashboardRouter() yet and the test put it in front. */
  dashboardMountedByApp: boolean;
}

const isDashboardPath = (req: IncomingMessage): boolean => {
  const path = (req.url ?? '/').split('?')[0]!;
  return (req.method === 'GET' || req.method === 'HEAD') && (path === '/' || path === '/index.html' || path.startsWith('/assets/'));
};

/** The real key service; serves the dashboard through app.ts, or (until it is mounted there) through the same router in front. */
export async function startDashboardService(config: ServerConfigInput = {}): Promise<DashboardService> {
  const service = await startTestService(config);
  const probe = await fetch(`${service.url}/`);
  await probe.arrayBuffer();
  const mounted = probe.ok && (probe.headers.get('content-type') ?? '').startsWith('text/html');
  if (!mounted) {
    const front = express();
    front.disable('x-powered-by');
    front.use(dashboardRouter());
    const http = service.server.server;
    const original = http.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
    http.removeAllListeners('request');
    http.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const app = () => {
        for (const listener of original) listener(req, res);
      };
      if (isDashboardPath(req)) (front as unknown as (q: IncomingMessage, s: ServerResponse, next: () => void) => void)(req, res, app);
      else app();
    });
    console.log('dashboard: src/server/app.ts does not mount dashboardRouter() yet; the test serves it in front of the app');
  }
  return Object.assign(service, { dashboardMountedByApp: mounted });
}
