/** Starts and stops the key service: store, usage tracking, HTTP. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { API } from '../core/api.ts';
import { parseDuration } from '../core/duration.ts';
import { openStore, type Store } from '../store/index.ts';
import { AlertSender } from './alerts.ts';
import { createApp, createMetricsHandler, createVerifyHandler, type AppState } from './app.ts';
import { peopleSettings, type ServerConfig } from './config.ts';
import type { RouteEnv } from './execute.ts';
import { FailedAuthMonitor, type ThrottleEvent } from './failed-auth.ts';
import { createLogger, type Logger } from './logger.ts';
import { Metrics } from './metrics.ts';
import { invitationLink } from './people/members.ts';
import { GitHubPublicKeys } from './secret-scanning.ts';
import { KeyService } from './service.ts';
import { RetirementSweeper } from './retirement.ts';
import { UsageTracker } from './usage.ts';

export interface RunningServer {
  url: string;
  port: number;
  server: Server;
  service: KeyService;
  store: Store;
  logger: Logger;
  /** Ends whenUnused transitions on its timer; sweep() runs one pass now. */
  retirement: RetirementSweeper;
  /** Where /metrics is served when it has a listen address of its own (KEYWARD_METRICS_ADDRESS). */
  metricsUrl?: string;
  /** Stops accepting requests, finishes in-flight ones, flushes usage and pending writes. */
  close(): Promise<void>;
}

/** What bootstrapping an empty store hands over, once. */
export interface Bootstrapped {
  organizationId: string;
  keyId: string;
  secret: string;
  /** The one-time link that makes the first person an admin member (KEYWARD_BOOTSTRAP_INVITATION, on by default). */
  invitationLink?: string;
}

export interface StartOptions {
  logger?: Logger;
  /** Called when an empty store was bootstrapped: the one moment the admin secret (and the first admin's invitation link) exist in the clear. */
  onBootstrap?: (result: Bootstrapped) => void;
  /** The service's clock (tests move it instead of sleeping): key ages, expiry, rotation due, usage. */
  clock?: () => Date;
}

/** The operation the lean path answers without Express. */
const VERIFY = API.verifyKey;

export async function startServer(config: ServerConfig, options: StartOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const store = await openStore({
    file: config.storeFile,
    databaseUrl: config.databaseUrl,
    onBackgroundError: (error, what) => logger.error({ err: error, what }, `store: ${what} failed`),
  });
  const clock = options.clock;
  const nowMs = clock ? () => clock().getTime() : Date.now;
  const usage = new UsageTracker(store, config.usageFlushMs, nowMs);
  const alerts = new AlertSender({ webhookUrl: config.alertWebhookUrl, webhookSecret: config.alertWebhookSecret, logger });
  if (config.alertWebhookUrl && !config.alertWebhookSecret) logger.warn('KEYWARD_ALERT_WEBHOOK_URL is set without KEYWARD_ALERT_WEBHOOK_SECRET: alerts are sent unsigned');
  const service = new KeyService(store, {
    tokenPrefix: config.tokenPrefix,
    usage,
    plans: config.plans,
    defaultPlan: config.defaultPlan,
    people: peopleSettings(config),
    logger,
    notifier: alerts,
    onBackgroundError: (error, what) => logger.error({ err: error }, `${what} failed`),
    ...(clock ? { clock } : {}),
  });
  // whenUnused rotations end here, by the service itself (retirement.ts).
  const retirement = new RetirementSweeper(service.context, logger);
  retirement.start(config.retirementCheckMs);
  const metrics = config.metrics === 'on' ? new Metrics(store, nowMs, { organizationLabels: config.metricsOrganizationLabels === 'on' }) : undefined;
  if (metrics) store.observeWrites((mutations, ms) => metrics.observeWrite(mutations, ms));
  const onThrottle = (event: ThrottleEvent) => {
    metrics?.throttled.inc();
    alerts.send({ type: 'auth.throttled', at: new Date().toISOString(), ...event });
    void recordThrottle(service, event).catch((error: unknown) => logger.error({ err: error }, 'could not audit a throttling event'));
  };
  const failedAuth = new FailedAuthMonitor(
    { threshold: config.failedAuthThreshold, windowMs: parseDuration(config.failedAuthWindow), throttleMs: parseDuration(config.throttleDuration) },
    onThrottle,
  );
  const env: RouteEnv = { service, logger, failedAuth, metrics };
  let bootstrapped: (Bootstrapped & { invitationToken: string | undefined }) | undefined;

  if (config.bootstrapOrganization) {
    // Atomic in the store: replicas starting together on an empty database bootstrap once.
    const result = await service.bootstrapOrganization(config.bootstrapOrganization, { onlyIfEmpty: true });
    if (result) {
      logger.info({ organizationId: result.organizationId, keyId: result.keyId }, 'bootstrapped an empty store');
      bootstrapped = { ...result, invitationToken: config.bootstrapInvitation === 'on' ? await service.people.members.bootstrapInvitation(result.organizationId) : undefined };
    }
  }

  const state: AppState = { ready: false };
  const app = createApp(env, state, {
    trustProxy: config.trustProxy,
    metricsOnMainPort: metrics !== undefined && config.metricsAddress === undefined,
    dashboard: { watch: config.nodeEnv !== 'production' },
    ...(config.secretScanning === 'on' ? { secretScanning: new GitHubPublicKeys(config.secretScanningKeys, parseDuration(config.secretScanningKeysRefresh)) } : {}),
  });
  // Leak reports accepted before a restart and not acted on yet.
  service.incidents.processPending();
  const verify = createVerifyHandler(env, app.get('trust proxy fn') as (address: string, hop: number) => boolean, config.trustProxy === false);
  const server = createServer((req, res) => {
    if (req.method === VERIFY.method && req.url === VERIFY.path) verify(req, res);
    else app(req, res);
  });
  server.keepAliveTimeout = 65_000;

  // Metrics on a listener of their own (a private network, a sidecar): no key needed there.
  const metricsServer = metrics && config.metricsAddress ? createServer(createMetricsHandler(metrics)) : undefined;
  const listen = (what: Server, port: number, host: string) =>
    new Promise<string>((resolve, reject) => {
      what.once('error', reject);
      what.listen(port, host, () => {
        what.off('error', reject);
        resolve(`http://${host.includes(':') ? `[${host}]` : host}:${(what.address() as AddressInfo).port}`);
      });
    });
  const metricsUrl = metricsServer ? await listen(metricsServer, config.metricsAddress!.port, config.metricsAddress!.host) : undefined;
  const url = await listen(server, config.port, config.host).catch(async (error: unknown) => {
    if (metricsServer) await new Promise((done) => metricsServer.close(done));
    throw error;
  });
  if (bootstrapped) {
    // Handed over once the address is known: the link names it (unless KEYWARD_PUBLIC_URL does).
    const { invitationToken, ...result } = bootstrapped;
    options.onBootstrap?.({ ...result, ...(invitationToken ? { invitationLink: invitationLink(service.people.origin(url), invitationToken) } : {}) });
  }
  state.ready = true;
  const port = (server.address() as AddressInfo).port;
  logger.info({ url, metricsUrl, store: store.kind }, 'keyward key service listening');

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      state.ready = false;
      // Long polls of the change feed answer now instead of holding the shutdown.
      service.feed.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive connections become idle as their last response goes out: close them as they do.
      const closeIdle = setInterval(() => server.closeIdleConnections(), 50);
      server.closeIdleConnections();
      const forceAfter = setTimeout(() => server.closeAllConnections(), 10_000);
      await closed;
      clearInterval(closeIdle);
      clearTimeout(forceAfter);
      if (metricsServer) {
        const metricsClosed = new Promise<void>((resolve) => metricsServer.close(() => resolve()));
        metricsServer.closeAllConnections();
        await metricsClosed;
      }
      await retirement.stop();
      await usage.stop();
      await service.incidents.idle();
      await alerts.drain();
      service.people.close();
      await store.close();
      logger.info('keyward key service stopped');
    })());

  return { url, port, server, service, store, logger, retirement, close, ...(metricsUrl ? { metricsUrl } : {}) };
}

/** A throttled address goes into the audit log of each organization whose keys it tried. */
async function recordThrottle(service: KeyService, event: ThrottleEvent): Promise<void> {
  const organizations = new Set<string>();
  for (const keyId of event.keyIds) {
    const key = await service.store.findKeyById(keyId);
    if (key) organizations.add(key.organizationId);
  }
  for (const organizationId of organizations) {
    await service.store.appendAudit(
      service.context.audit(null, organizationId, 'auth.throttled', 'address', event.ip, {
        after: { failures: event.failures, until: event.until, codes: event.codes, keyIds: event.keyIds },
      }),
    );
  }
}
