/**
 * HTTP: the Express app for the management API, and a lean path for
 * POST /v1/verify that skips Express (the verify path is what downstream
 * APIs hit on every request, so it must run at bare node:http speed).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { pinoHttp } from 'pino-http';
import { API, METRICS_ENDPOINT } from '../core/api.ts';
import { KeywardError } from '../core/errors.ts';
import { requirePermission } from '../core/permissions.ts';
import { holdsSecretShape } from '../core/token.ts';
import proxyaddr from 'proxy-addr';
import { authenticate, errorOutcome, execute, failureOutcome, type RawRequest, type RouteEnv, type RouteOutcome } from './execute.ts';
import { readJsonBody } from './body.ts';
import { dashboardRouter, type DashboardOptions } from './dashboard.ts';
import { parseCookies } from './people/cookies.ts';
import type { Metrics } from './metrics.ts';
import { buildOpenApiDocument, openApiServers } from './openapi.ts';
import { routes, type Route } from './routes.ts';
import { secretScanningRouter, type GitHubPublicKeys } from './secret-scanning.ts';
import { VERSION } from '../version.ts';

export { BODY_LIMIT_BYTES } from './body.ts';

export interface AppState {
  ready: boolean;
}

export interface AppOptions {
  /** Express "trust proxy": which hops may set X-Forwarded-For. */
  trustProxy: boolean | number | string;
  /** Serve /metrics on this app, to keys holding metrics.view (false when metrics are off or have a listen address of their own). */
  metricsOnMainPort: boolean;
  dashboard?: DashboardOptions;
  /** Serve the GitHub secret scanning partner endpoint, verifying reports with these keys. */
  secretScanning?: GitHubPublicKeys;
}

const WITHHELD = '[withheld: holds a secret]';

/** The URL as logged: a path or query string holding something shaped like a secret is withheld (the secret would stay in the logs). */
export function loggedUrl(url: string): string {
  if (!holdsSecretShape(url)) return url;
  const query = url.indexOf('?');
  return query >= 0 && !holdsSecretShape(url.slice(0, query)) ? `${url.slice(0, query + 1)}${WITHHELD}` : WITHHELD;
}

const keyInUrl = () =>
  new KeywardError('KEY_IN_URL', 'The URL holds what looks like a secret key. Keys are taken only from the Authorization header; this request was not processed.');

/** The exposition, for a separate metrics listener (KEYWARD_METRICS_ADDRESS): GET /metrics and nothing else, no key needed. */
export function createMetricsHandler(metrics: Metrics) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    // As on the main port: a secret in the URL is refused (it is in the proxies' logs already).
    if (holdsSecretShape(req.url ?? '')) {
      sendError(res, keyInUrl());
      return;
    }
    if (path !== METRICS_ENDPOINT.path || (req.method !== 'GET' && req.method !== 'HEAD')) {
      sendError(res, new KeywardError('ROUTE_NOT_FOUND', 'This listener serves GET /metrics only.'));
      return;
    }
    metrics.registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      () => sendError(res, new KeywardError('INTERNAL', 'Could not collect the metrics.')),
    );
  };
}

function send(res: ServerResponse, outcome: RouteOutcome): void {
  if (outcome.status === 204) {
    res.writeHead(204, outcome.headers).end();
    return;
  }
  const payload = JSON.stringify(outcome.body);
  res.writeHead(outcome.status, {
    ...outcome.headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    'cache-control': 'no-store',
  });
  res.end(payload);
}

const sendError = (res: ServerResponse, error: KeywardError): void => send(res, errorOutcome(error));

/** The caller's (or its proxy's) X-Request-Id when it looks like one, so one id follows a request across hops; else a fresh one. */
export function requestIdFor(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(given) ? given : randomUUID();
}

export function createApp(env: RouteEnv, state: AppState, options: AppOptions) {
  const { logger, metrics } = env;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', options.trustProxy);
  if (metrics) {
    app.use((req: Request, res: Response, next: NextFunction) => {
      res.on('finish', () => {
        const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
        metrics.requests.inc({ method: req.method, route, status: String(res.statusCode) });
      });
      next();
    });
  }
  app.use(
    pinoHttp({
      logger,
      // Every response names its request id (X-Request-Id), and every log line of the request carries it.
      genReqId: (req, res) => {
        const id = requestIdFor(req);
        res.setHeader('x-request-id', id);
        return id;
      },
      customProps: (_req, res) => ({ keyId: res.locals.keyId, code: res.locals.errorCode }),
      serializers: {
        req: (req: { id: unknown; method: string; url: string; remoteAddress?: string }) => ({ id: req.id, method: req.method, url: loggedUrl(req.url), remoteAddress: req.remoteAddress }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    }),
  );

  // A secret in the URL is already in every proxy's log: refuse it on every path, and never log it ourselves.
  app.use((req: Request, res: Response, next: NextFunction) => {
    if (req.url.length < 30 || !holdsSecretShape(req.url)) {
      next();
      return;
    }
    const error = keyInUrl();
    res.locals.errorCode = error.code;
    sendError(res, error);
  });

  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  app.get('/readyz', (_req, res) => void res.status(state.ready ? 200 : 503).json({ status: state.ready ? 'ready' : 'not ready' }));
  // Built once; `servers` names the address it was fetched from (behind a trusted proxy, the proxy's).
  const openapi = buildOpenApiDocument(VERSION);
  app.get('/openapi.json', (req, res) => void res.json({ ...openapi, servers: openApiServers(`${req.protocol}://${req.host}`) }));
  // The dashboard (static assets; its own security headers and CSP).
  app.use(dashboardRouter(options.dashboard));
  if (metrics && options.metricsOnMainPort) {
    // On the main port, metrics are read by keys holding METRICS_ENDPOINT.permission (failed attempts count as any failed authentication).
    app.get(METRICS_ENDPOINT.path, async (req: Request, res: Response) => {
      const caller = await authenticate(env, 'metrics', { authorization: req.headers.authorization, ip: req.ip ?? null, requestId: String(req.id) });
      if (!('key' in caller)) {
        res.locals.errorCode = caller.errorCode;
        send(res, caller);
        return;
      }
      res.locals.keyId = caller.key.id;
      try {
        requirePermission(caller.permissions, METRICS_ENDPOINT.permission);
      } catch (error) {
        res.locals.errorCode = (error as KeywardError).code;
        sendError(res, error as KeywardError);
        return;
      }
      res.set({ 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' });
      res.send(await metrics.registry.metrics());
    });
  }

  // The route table's signed operation (auth 'signature'): GitHub signs it, not a key; it reads its raw body itself
  // (the signature covers the bytes), before the JSON parser, with its own body limit.
  if (options.secretScanning) app.use(secretScanningRouter(env.service, options.secretScanning, logger));

  // The one body parser (body.ts), as on the bare verify path.
  app.use('/v1', (req: Request, _res: Response, next: NextFunction) =>
    readJsonBody(req, (error, body) => {
      req.body = body;
      next(error);
    }),
  );

  for (const route of routes) {
    app[route.method](route.path, async (req: Request, res: Response) => {
      const outcome = await execute(
        route,
        {
          authorization: req.headers.authorization,
          body: req.body,
          query: req.query as Record<string, unknown>,
          params: req.params as Record<string, string>,
          ip: req.ip ?? null,
          userAgent: req.headers['user-agent'],
          requestId: String(req.id),
          cookies: parseCookies(req.headers.cookie),
          origin: req.headers.origin,
          selfOrigin: `${req.protocol}://${req.get('host') ?? ''}`,
          csrfToken: typeof req.headers['x-csrf-token'] === 'string' ? req.headers['x-csrf-token'] : undefined,
        },
        env,
      );
      res.locals.keyId = outcome.keyId;
      res.locals.errorCode = outcome.errorCode;
      send(res, outcome);
    });
  }

  // Every path of the route table (the signed ones too), for METHOD_NOT_ALLOWED.
  const routePatterns = Object.values(API).map((r) => ({ route: r, pattern: new RegExp(`^${r.path.replace(/:[A-Za-z]+/g, '[^/]+')}$`) }));
  app.use((req: Request, res: Response) => {
    const allowed = routePatterns.filter(({ pattern }) => pattern.test(req.path)).map(({ route }) => route);
    // A path of the table with this very method that got here is one this service does not serve (secret scanning switched off).
    const error =
      allowed.some((r) => r.method === req.method)
        ? new KeywardError('ROUTE_NOT_FOUND', `${req.method} ${req.path} is not served by this key service (switched off in its configuration).`)
        : allowed.length > 0
        ? new KeywardError('METHOD_NOT_ALLOWED', `${req.method} is not supported on ${req.path}; use ${allowed.map((r) => r.method).join(', ')}.`)
        : new KeywardError('ROUTE_NOT_FOUND', `No route ${req.method} ${req.path}.`);
    res.locals.errorCode = error.code;
    // RFC 9110 (15.5.6): a 405 says which methods the path takes (Express answers HEAD wherever it answers GET).
    if (error.code === 'METHOD_NOT_ALLOWED') res.setHeader('allow', allowHeader(allowed.map((r) => r.method)));
    sendError(res, error);
  });

  // Express 5 error handler: what the body parser refused, Express's own client errors, and bugs, mapped as every route's are.
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const outcome = failureOutcome(logger, error, String(req.id));
    res.locals.errorCode = outcome.errorCode;
    send(res, outcome);
  });
  return app;
}

/** The Allow header for a path's methods, HEAD beside GET. */
const allowHeader = (methods: readonly string[]): string =>
  [...new Set(methods.flatMap((method) => (method === 'GET' ? ['GET', 'HEAD'] : [method])))].sort().join(', ');

/**
 * The verify route without Express: the same body parser and executor as the
 * other routes, answered in the same tick when the store reads from memory
 * (awaiting costs a third of the throughput here). `trust` is the Express
 * app's compiled trust-proxy function, so client addresses are derived
 * exactly as on the other routes.
 */
export function createVerifyHandler(env: RouteEnv, trust: (address: string, hop: number) => boolean, trustsNoProxy: boolean) {
  const route = routes.find((r) => r.operationId === 'verifyKey') as Route;
  const { logger, metrics } = env;
  const respond = (res: ServerResponse, outcome: RouteOutcome): void => {
    if (outcome.errorCode) logger.debug({ keyId: outcome.keyId, code: outcome.errorCode }, 'verify call failed');
    if (metrics) {
      metrics.verifyRequests.count(outcome.status);
      const code = outcome.status === 200 ? (outcome.body as { code?: string }).code : undefined;
      if (code) metrics.verifyOutcomes.count(code);
    }
    send(res, outcome);
  };
  const NO_QUERY = {};
  const NO_PARAMS = {};
  return (req: IncomingMessage, res: ServerResponse): void => {
    readJsonBody(req, (error, body) => {
      if (error) {
        respond(res, errorOutcome(error));
        return;
      }
      const request: RawRequest = {
        authorization: req.headers.authorization,
        body,
        query: NO_QUERY,
        params: NO_PARAMS,
        // Without trusted proxies the client is the socket's peer: skip parsing X-Forwarded-For.
        ip: (trustsNoProxy ? req.socket.remoteAddress : proxyaddr(req, trust)) || null,
        userAgent: req.headers['user-agent'],
        // No id per request on this path (it costs throughput): the caller's, if any; a bug gets a fresh one.
        requestId: req.headers['x-request-id'] === undefined ? undefined : requestIdFor(req),
      };
      const outcome = execute(route, request, env);
      if (outcome instanceof Promise) void outcome.then((settled) => respond(res, settled));
      else respond(res, outcome);
    });
  };
}
