/**
 * /metrics: on the main port only for a key holding metrics.view, or on a
 * listen address of its own (KEYWARD_METRICS_ADDRESS) for a private network;
 * organization ids only when the service operator opts in, and only there.
 * The exposition is lint-clean for the real `promtool check metrics`.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolvePromtool } from '../../src/devcluster/binaries.ts';
import { resolveSettings } from '../../src/core/settings.ts';
import { checkServerConfig, resolveConfig, ServerConfig } from '../../src/server/config.ts';
import { controlPlaneRequired } from '../support/controlplane.ts';
import { raw, startTestService, type TestService } from '../support/keyservice.ts';

const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });

/** Some traffic, so every series (histograms, verify outcomes, failures) has samples. */
async function traffic(service: TestService): Promise<void> {
  const admin = service.client();
  const app = await admin.createKey({ name: 'App', role: 'viewer' });
  const gateway = service.client((await admin.createKey({ name: 'Gateway', role: 'verifier' })).secret);
  await gateway.verifyKey({ key: app.secret });
  await gateway.verifyKey({ key: `${app.secret}x` });
  await raw(service.url, '/v1/whoami', { headers: bearer('kw_nope') });
  await admin.rotateKey(app.key.id, { gracePeriod: '1h' });
}

describe('/metrics on the main port', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService();
    await traffic(service);
  });
  afterAll(async () => service.stop());

  it('needs a key whose role holds metrics.view', async () => {
    const anonymous = await raw(service.url, '/metrics');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error.code).toBe('MISSING_AUTHORIZATION');
    expect(anonymous.text).not.toContain('keyward_');

    const admin = service.client();
    const viewer = await admin.createKey({ name: 'Viewer', role: 'viewer' });
    const denied = await raw(service.url, '/metrics', { headers: bearer(viewer.secret) });
    expect(denied.status).toBe(403);
    expect(denied.body.error).toMatchObject({ code: 'INSUFFICIENT_PERMISSIONS', details: { required: 'metrics.view' } });
    expect(denied.text).not.toContain('keyward_');

    expect((await admin.listPermissions()).items).toContainEqual(expect.objectContaining({ name: 'metrics.view', builtin: true }));
    await admin.createRole({ id: 'prometheus', name: 'Prometheus', permissions: ['metrics.view'] });
    const scraper = await admin.createKey({ name: 'Prometheus', role: 'prometheus' });
    const scraped = await raw(service.url, '/metrics', { headers: bearer(scraper.secret) });
    expect(scraped.status).toBe(200);
    expect(scraped.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(scraped.text).toMatch(/\nkeyward_active_keys \d+\n/);
    // No organization id anywhere unless the service operator opts in.
    expect(scraped.text).not.toContain(service.organizationId);
    expect(scraped.text).not.toMatch(/organization="/);
  });

  it('refuses per-organization labels unless metrics have a listen address of their own', () => {
    expect(() => resolveConfig({ metricsOrganizationLabels: 'on' })).toThrow(/KEYWARD_METRICS_ADDRESS/);
  });
});

describe('/metrics on KEYWARD_METRICS_ADDRESS', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService({ metricsAddress: '127.0.0.1:0', metricsOrganizationLabels: 'on' });
    await traffic(service);
  });
  afterAll(async () => service.stop());

  it('is served there without a key, and not on the main port', async () => {
    const metricsUrl = service.server.metricsUrl!;
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(metricsUrl).not.toBe(service.url);
    const mainPort = await raw(service.url, '/metrics', { headers: bearer(service.adminSecret) });
    expect(mainPort.status).toBe(404);
    expect(mainPort.body.error.code).toBe('ROUTE_NOT_FOUND');

    const scraped = await raw(metricsUrl, '/metrics');
    expect(scraped.status).toBe(200);
    // Opted in: active keys per organization.
    expect(scraped.text).toMatch(new RegExp(`keyward_active_keys\\{organization="${service.organizationId}"\\} \\d+`));
    // That listener serves metrics only, not the API.
    expect((await raw(metricsUrl, '/v1/whoami', { headers: bearer(service.adminSecret) })).status).toBe(404);
    // A secret in its URL is refused as on the main port.
    const keyInUrl = await raw(metricsUrl, `/metrics?api_key=${service.adminSecret}`);
    expect([keyInUrl.status, keyInUrl.body.error.code]).toEqual([400, 'KEY_IN_URL']);
    expect(keyInUrl.text).not.toContain('keyward_');
  });
});

describe('promtool check metrics', () => {
  const promtool = resolvePromtool();
  if (!promtool.promtool && !controlPlaneRequired()) {
    it.skip(`promtool not found (${promtool.looked}): run \`npm run testbin\` (or set TEST_ASSET_PROMTOOL) to enable this test`, () => {});
    return;
  }

  it('finds no problem in the exposition (default, and with per-organization labels)', async () => {
    expect(promtool.promtool, `promtool not found (${promtool.looked}): run \`npm run testbin\``).toBeDefined();
    const plain = await startTestService();
    const labelled = await startTestService({ metricsAddress: '127.0.0.1:0', metricsOrganizationLabels: 'on' });
    try {
      for (const [service, url, headers] of [
        [plain, plain.url, bearer(plain.adminSecret)],
        [labelled, labelled.server.metricsUrl!, {}],
      ] as const) {
        await traffic(service);
        const exposition = (await raw(url, '/metrics', { headers })).text;
        expect(exposition).toContain('keyward_http_requests_total');
        expect(exposition).toContain('keyward_nodejs_');
        const lint = spawnSync(promtool.promtool!, ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
        expect(`${lint.stdout}${lint.stderr}`).toBe('');
        expect(lint.status).toBe(0);
      }
    } finally {
      await plain.stop();
      await labelled.stop();
    }
  });

  it('would report a problem (the check can fail)', () => {
    expect(promtool.promtool).toBeDefined();
    const lint = spawnSync(promtool.promtool!, ['check', 'metrics'], {
      input: '# HELP keyward_widgets_total Widgets.\n# TYPE keyward_widgets_total gauge\nkeyward_widgets_total 1\n',
      encoding: 'utf8',
    });
    expect(lint.status).not.toBe(0);
    expect(`${lint.stdout}${lint.stderr}`).toMatch(/non-counter metrics should not have "_total" suffix/);
  });
});

describe('metrics configuration', () => {
  it('KEYWARD_METRICS_ADDRESS is host:port (IPv6 in brackets); KEYWARD_METRICS_ORGANIZATION_LABELS is on or off', () => {
    const fromEnv = resolveSettings(ServerConfig, {}, { KEYWARD_METRICS_ADDRESS: '[::1]:9464', KEYWARD_METRICS_ORGANIZATION_LABELS: 'on' });
    expect(checkServerConfig(fromEnv)).toMatchObject({ metricsAddress: { host: '::1', port: 9464 }, metricsOrganizationLabels: 'on' });
    expect(() => resolveSettings(ServerConfig, {}, { KEYWARD_METRICS_ADDRESS: '9464' })).toThrow(/^KEYWARD_METRICS_ADDRESS: "9464" must be host:port/);
    expect(resolveConfig({ metricsAddress: '0.0.0.0:9464' }).metricsAddress).toEqual({ host: '0.0.0.0', port: 9464 });
    for (const bad of ['nowhere', '9464', '127.0.0.1:', 'http://127.0.0.1:9464', '127.0.0.1:99999']) {
      expect(() => resolveConfig({ metricsAddress: bad }), bad).toThrow(/metricsAddress/);
    }
    expect(() => resolveConfig({ metricsOrganizationLabels: 'yes' as never })).toThrow(/metricsOrganizationLabels/);
  });
});
