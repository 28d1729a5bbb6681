/** The dashboard build and router (no browser), and the pure helpers behind the tables and the chart. */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import express from 'express';
import { afterAll, describe, expect, it } from 'vitest';
import * as net from 'node:net';
import fc from 'fast-check';
import { tipLines } from '../../src/dashboard/bar-chart.ts';
import { summarizeUsage } from '../../src/dashboard/chart.ts';
import * as browserNet from '../../src/dashboard/net-browser.ts';
import { describeChanges, filterKeys, lastDays, relativeTime, rotationDue, slugify, unusedFor30Days } from '../../src/dashboard/format.ts';
import { buildDashboard } from '../../scripts/build-dashboard.ts';
import { DASHBOARD_SOURCE_DIR, dashboardIsStale, dashboardRouter, type DashboardManifest } from '../../src/server/dashboard.ts';

const ROOT = join(import.meta.dirname, '..', '..');

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-dashboard-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

async function serve(router: express.Router): Promise<{ url: string; close: () => Promise<void> }> {
  const app = express();
  app.use(router);
  app.use((_req, res) => void res.status(404).json({ error: { code: 'ROUTE_NOT_FOUND' } }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('dashboard build', () => {
  // How long a build takes is measured by bench/dashboard.ts (docs/benchmarks-dashboard.md).
  it('bundles the sources into hashed assets and an index page; a source change makes it stale', async () => {
    const out = tempDir();
    const manifest = await buildDashboard({ outDir: out });
    expect(manifest.script).toMatch(/^assets\/main-[A-Z0-9]+\.js$/);
    expect(manifest.style).toMatch(/^assets\/styles-[A-Z0-9]+\.css$/);
    const index = readFileSync(join(out, 'index.html'), 'utf8');
    expect(index).toContain(`src="/${manifest.script}"`);
    expect(index).toContain(`href="/${manifest.style}"`);
    expect(manifest.inputs).toContain('src/dashboard/main.ts');
    expect(manifest.inputs.some((p) => p.includes('node_modules/preact'))).toBe(true);
    expect(dashboardIsStale(out)).toBe(false);

    // A source changing after the build makes it stale. Other workers serve builds of the real
    // sources, so the changed source is a copy of one, listed among this build's inputs.
    const copy = join(tempDir(), 'format.ts');
    copyFileSync(join(DASHBOARD_SOURCE_DIR, 'format.ts'), copy);
    const before = new Date(manifest.builtAt - 60_000);
    utimesSync(copy, before, before);
    const withCopy: DashboardManifest = { ...manifest, inputs: [...manifest.inputs, relative(ROOT, copy)] };
    writeFileSync(join(out, 'manifest.json'), JSON.stringify(withCopy));
    expect(dashboardIsStale(out)).toBe(false);
    const after = new Date(manifest.builtAt + 1_000);
    utimesSync(copy, after, after);
    expect(statSync(copy).mtimeMs).toBeGreaterThan(manifest.builtAt);
    expect(dashboardIsStale(out)).toBe(true);
    // An input that disappeared, and no build at all, are stale too.
    rmSync(copy);
    expect(dashboardIsStale(out)).toBe(true);
    expect(dashboardIsStale(tempDir())).toBe(true);
  });

  it('the router builds on first request when there is no build, and serves assets with long caching', async () => {
    const out = tempDir();
    const server = await serve(dashboardRouter({ outDir: out }));
    try {
      const page = await fetch(`${server.url}/`);
      expect(page.status).toBe(200);
      expect(page.headers.get('cache-control')).toBe('no-cache');
      const html = await page.text();
      const script = /src="([^"]+)"/.exec(html)![1]!;
      const asset = await fetch(server.url + script);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('cache-control')).toContain('immutable');
      expect((await asset.text()).length).toBeGreaterThan(1_000);
      expect((await fetch(`${server.url}/assets/favicon.svg`)).headers.get('content-type')).toBe('image/svg+xml');
      // Anything else passes through to the app (here: its 404).
      expect((await fetch(`${server.url}/assets/other.js`)).status).toBe(404);
      expect((await fetch(`${server.url}/v1/keys`)).headers.get('content-security-policy')).toBeNull();
    } finally {
      await server.close();
    }
  });

  it('without a build and without building, it answers 503 saying how to build', async () => {
    const server = await serve(dashboardRouter({ outDir: tempDir(), build: false }));
    try {
      const page = await fetch(`${server.url}/`);
      expect(page.status).toBe(503);
      expect(await page.text()).toContain('npm run build');
    } finally {
      await server.close();
    }
  });
});

describe('dashboard helpers', () => {
  const now = Date.parse('2026-06-01T12:00:00Z');
  const key = (over: Partial<Parameters<typeof rotationDue>[0]> = {}) => ({
    id: 'key_aaaaaaaaaaaaaaaaaaaa',
    name: 'Production Server',
    role: 'viewer',
    environment: 'production',
    status: 'active',
    createdAt: '2026-05-01T00:00:00Z',
    lastUsedAt: null,
    rotationDueAt: '2026-07-30T00:00:00Z',
    expiresAt: null,
    ...over,
  });

  it('badges: rotation due once rotationDueAt passed; unused when the last use (or creation) is 30+ days ago', () => {
    expect(rotationDue(key(), now)).toBe(false);
    expect(rotationDue(key({ rotationDueAt: '2026-05-31T00:00:00Z' }), now)).toBe(true);
    expect(unusedFor30Days(key(), now)).toBe(true); // created 31.5 days ago, never used
    expect(unusedFor30Days(key({ createdAt: '2026-05-20T00:00:00Z' }), now)).toBe(false);
    expect(unusedFor30Days(key({ lastUsedAt: '2026-05-30T00:00:00Z' }), now)).toBe(false);
  });

  it('search and filters', () => {
    const keys = [key(), key({ id: 'key_bbbbbbbbbbbbbbbbbbbb', name: 'Mobile App', environment: 'development', lastUsedAt: '2026-05-31T00:00:00Z' })];
    const q = { search: '', role: '', environment: '', attention: 'all' as const };
    expect(filterKeys(keys, { ...q, search: 'MOBILE' }, now).map((k) => k.name)).toEqual(['Mobile App']);
    expect(filterKeys(keys, { ...q, search: 'key_aaa' }, now).map((k) => k.name)).toEqual(['Production Server']);
    expect(filterKeys(keys, { ...q, environment: 'development' }, now)).toHaveLength(1);
    expect(filterKeys(keys, { ...q, attention: 'unused' }, now).map((k) => k.name)).toEqual(['Production Server']);
  });

  it('relative times round sensibly', () => {
    expect(relativeTime(new Date(now + 3_599_000).toISOString(), now)).toBe('in 1 hour');
    expect(relativeTime(new Date(now - 5 * 60_000).toISOString(), now)).toBe('5 minutes ago');
    expect(relativeTime(new Date(now - 2 * 86_400_000).toISOString(), now)).toBe('2 days ago');
    expect(relativeTime(new Date(now - 10_000).toISOString(), now)).toBe('just now');
  });

  it('role ids from names, audit change lines, day ranges', () => {
    expect(slugify('Key Auditor (EU)')).toBe('key-auditor-eu');
    expect(slugify('2nd team')).toBe('nd-team');
    expect(describeChanges({ before: { name: 'a', role: 'viewer' }, after: { name: 'b', role: 'viewer' } })).toEqual(['name: a → b', 'role: viewer → viewer']);
    expect(describeChanges({ after: { name: 'x' } })).toEqual(['name: x']);
    expect(lastDays(3, now)).toEqual(['2026-05-30', '2026-05-31', '2026-06-01']);
  });

  it('usage: requests per key per day, failures apart, busiest keys first', () => {
    const days = ['2026-05-31', '2026-06-01'];
    const summary = summarizeUsage(
      [
        { keyId: 'key_a', day: '2026-05-31', outcome: 'VALID', count: 5 },
        { keyId: 'key_a', day: '2026-06-01', outcome: 'KEY_REVOKED', count: 2 },
        { keyId: 'key_b', day: '2026-06-01', outcome: 'VALID', count: 10 },
        { keyId: 'key_c', day: '2020-01-01', outcome: 'VALID', count: 99 }, // outside the range
      ],
      days,
    );
    expect(summary.series.map((s) => [s.keyId, s.perDay])).toEqual([
      ['key_b', [0, 10]],
      ['key_a', [5, 2]],
    ]);
    expect(summary.failedPerDay).toEqual([0, 2]);
    expect(summary.failures).toEqual([{ keyId: 'key_a', outcome: 'KEY_REVOKED', count: 2 }]);
    expect([summary.totalRequests, summary.totalFailed]).toEqual([17, 2]);
  });

  it("a chart day's tooltip lines: the day, each layer with a count, the total when stacked", () => {
    const layers = [
      { id: 'a', label: 'Key A', perDay: [3, 0], color: '#000' },
      { id: 'b', label: 'Key B', perDay: [4, 0], color: '#111' },
    ];
    expect(tipLines(['2026-06-01', '2026-06-02'], layers, 0)).toEqual(['2026-06-01', 'Key A: 3', 'Key B: 4', 'Total: 7']);
    expect(tipLines(['2026-06-01', '2026-06-02'], layers, 1)).toEqual(['2026-06-02', 'none']);
    expect(tipLines(['2026-06-01'], layers.slice(0, 1), 0)).toEqual(['2026-06-01', 'Key A: 3']);
  });

  it("the bundle's node:net (net-browser.ts) judges addresses exactly as node:net does", () => {
    const chars = fc.constantFrom(...'0123456789abcdefABCDEF:.%/x-'.split(''));
    const text = fc.oneof(fc.ipV4(), fc.ipV6(), fc.ipV4Extended(), fc.string({ unit: chars, maxLength: 45 }), fc.ipV6().map((s) => `${s}%eth0`));
    fc.assert(fc.property(text, (s) => browserNet.isIPv4(s) === net.isIPv4(s) && browserNet.isIPv6(s) === net.isIPv6(s)), { numRuns: 20_000 });
  });
});
