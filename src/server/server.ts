/** Starts and stops the key service: store, usage tracking, HTTP. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { openStore, type Store } from '../store/index.ts';
import { createApp, createVerifyHandler, type AppState } from './app.ts';
import type { ServerConfig } from './config.ts';
import { createLogger, type Logger } from './logger.ts';
import { KeyService } from './service.ts';
import { UsageTracker } from './usage.ts';

export interface RunningServer {
  url: string;
  port: number;
  server: Server;
  service: KeyService;
  store: Store;
  logger: Logger;
  /** Stops accepting requests, finishes in-flight ones, flushes usage and pending writes. */
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** Called when an empty store was bootstrapped: the one moment the admin secret exists in the clear. */
  onBootstrap?: (result: { organizationId: string; keyId: string; secret: string }) => void;
}

export async function startServer(config: ServerConfig, options: StartOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const store = await openStore({ file: config.storeFile, databaseUrl: config.databaseUrl });
  const usage = new UsageTracker(store, config.usageFlushMs);
  const service = new KeyService(store, { tokenPrefix: config.tokenPrefix, usage });

  if (config.bootstrapOrganization && (await store.listOrganizations()).length === 0) {
    const result = await service.bootstrapOrganization(config.bootstrapOrganization);
    logger.info({ organizationId: result.organizationId, keyId: result.keyId }, 'bootstrapped an empty store');
    options.onBootstrap?.(result);
  }

  const state: AppState = { ready: false };
  const app = createApp(service, logger, state);
  const verify = createVerifyHandler(service, logger);
  const server = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/v1/verify') verify(req, res);
    else app(req, res);
  });
  server.keepAliveTimeout = 65_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  state.ready = true;
  const port = (server.address() as AddressInfo).port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  logger.info({ url, store: store.kind }, 'keyward key service listening');

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      state.ready = false;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const forceAfter = setTimeout(() => server.closeAllConnections(), 10_000);
      await closed;
      clearTimeout(forceAfter);
      await usage.stop();
      await store.close();
      logger.info('keyward key service stopped');
    })());

  return { url, port, server, service, store, logger, close };
}
