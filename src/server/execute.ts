/**
 * Runs one route for one request, whatever carried it (Express or the fast
 * verify path): authenticate, check the permission the route table names,
 * validate, handle, and map errors to the wire.
 * Failed authentications feed brute-force protection, and only they are
 * throttled.
 */
import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { AUTHENTICATION_ERRORS, KeywardError, isKeywardError, type ErrorBody } from '../core/errors.ts';
import { requirePermission } from '../core/permissions.ts';
import type { FailedAuthMonitor } from './failed-auth.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import { NOT_IN_MEMORY } from '../store/store.ts';
import type { Principal } from './auth.ts';
import type { Route } from './routes.ts';
import type { KeyService } from './service.ts';

export interface RawRequest {
  authorization: string | undefined;
  body: unknown;
  query: Record<string, unknown>;
  params: Record<string, string>;
  ip: string | null;
  /** The request id logged with this request (Express's pino-http sets one; the bare verify path makes one only on a bug). */
  requestId?: string;
}

export interface RouteOutcome {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** Set when the caller authenticated; logged instead of anything secret. */
  keyId?: string;
  errorCode?: string;
}

/** Everything a route needs besides the request. */
export interface RouteEnv {
  service: KeyService;
  logger: Logger;
  failedAuth: FailedAuthMonitor;
  metrics: Metrics | undefined;
}

/**
 * Failures that count towards throttling an address: a missing header is a
 * misconfiguration, not an attempt, and IP_NOT_ALLOWED is a valid key used
 * from the wrong network (counting it would let one misconfigured client lock
 * out everyone behind the same NAT).
 */
const AUTH_FAILURES = new Set<string>(AUTHENTICATION_ERRORS.filter((code) => code !== 'MISSING_AUTHORIZATION' && code !== 'IP_NOT_ALLOWED'));

function validationError(issues: readonly z.core.$ZodIssue[], where: string): KeywardError {
  const details = issues.map((issue) => ({
    path: issue.path.length > 0 ? issue.path.join('.') : where,
    message: issue.message,
  }));
  const first = details[0]!;
  const more = details.length > 1 ? ` (and ${details.length - 1} more)` : '';
  return new KeywardError('VALIDATION_FAILED', `${first.path}: ${first.message}${more}`, { details });
}

function parseWith<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw validationError(result.error.issues, where);
  return result.data;
}

export const errorOutcome = (error: KeywardError): RouteOutcome => ({
  status: error.status,
  body: { error: error.toBody() satisfies ErrorBody },
  errorCode: error.code,
});

function rejectFixedFields(route: Route, raw: unknown): void {
  if (typeof raw !== 'object' || raw === null) return;
  const touched = (fields: readonly string[] | undefined) => (fields ?? []).filter((field) => Object.hasOwn(raw, field));
  const immutable = touched(route.immutableFields);
  if (immutable.length > 0) {
    throw new KeywardError('IMMUTABLE_FIELD', `${immutable.join(', ')} cannot be changed; only name and role can.`, {
      details: { fields: immutable },
    });
  }
  const operatorOnly = touched(route.operatorFields);
  if (operatorOnly.length > 0) {
    throw new KeywardError(
      'SET_BY_OPERATOR',
      `${operatorOnly.join(', ')} ${operatorOnly.length > 1 ? 'are' : 'is'} set by whoever runs this keyward service, not through the API.`,
      { details: { fields: operatorOnly } },
    );
  }
}

/**
 * A failed authentication, answered: RATE_LIMITED while the address is
 * throttled (not counted again), otherwise counted (metrics, brute-force
 * protection) and answered with its cause. Only failures are throttled: a
 * valid key is never refused by the throttle, and the happy path never
 * looks the address up.
 */
function authenticationFailed(env: RouteEnv, operation: string, request: Pick<RawRequest, 'ip' | 'requestId'>, error: unknown): RouteOutcome {
  if (isKeywardError(error) && AUTH_FAILURES.has(error.code)) {
    const retryAfter = env.failedAuth.retryAfterSeconds(request.ip);
    if (retryAfter > 0) {
      return {
        ...errorOutcome(
          new KeywardError('RATE_LIMITED', `Too many failed authentication attempts from ${env.failedAuth.bucketOf(request.ip!)}; retry in ${retryAfter} s.`),
        ),
        headers: { 'retry-after': String(retryAfter) },
      };
    }
    const details = error.details as { keyId?: string } | undefined;
    env.metrics?.failedAuth.inc({ code: error.code });
    env.failedAuth.failure(request.ip, error.code, details?.keyId ?? null);
  }
  return failed(env, operation, request, error, undefined);
}

/** The caller of a request, or the outcome that refuses it (`operation` names the route in logs; /metrics uses this too). */
export async function authenticateRequest(
  env: RouteEnv,
  operation: string,
  request: Pick<RawRequest, 'authorization' | 'ip' | 'requestId'>,
): Promise<Principal | RouteOutcome> {
  try {
    return await env.service.authenticate(request.authorization, request.ip);
  } catch (error) {
    return authenticationFailed(env, operation, request, error);
  }
}

export const isOutcome = (value: Principal | RouteOutcome): value is RouteOutcome => !('key' in value);

/** The one permission check of the API: what the route table says the operation requires, before anything is read or validated. */
function authorize(route: Route, caller: Principal): void {
  if (route.permission !== null) requirePermission(caller.permissions, route.permission);
}

function validatedBody(route: Route, request: RawRequest): unknown {
  if (!route.body) return undefined;
  const raw = request.body === undefined ? {} : request.body;
  rejectFixedFields(route, raw);
  return parseWith(route.body, raw, 'body');
}

/** A bug: logged with its stack under a request id, which the caller gets to report. */
export function internalError(logger: Logger, error: unknown, requestId: string | undefined, context: Record<string, unknown> = {}): RouteOutcome {
  const id = requestId ?? randomUUID();
  logger.error({ err: error, reqId: id, ...context }, 'unhandled error');
  return {
    ...errorOutcome(new KeywardError('INTERNAL', `Internal error (request id ${id}).`, { details: { requestId: id } })),
    headers: { 'x-request-id': id },
  };
}

function failed(env: RouteEnv, operation: string, request: Pick<RawRequest, 'requestId'>, error: unknown, keyId: string | undefined): RouteOutcome {
  const withKey = keyId ? { keyId } : {};
  if (isKeywardError(error)) return { ...errorOutcome(error), ...withKey };
  return { ...internalError(env.logger, error, request.requestId, { route: operation }), ...withKey };
}

export async function executeRoute(route: Route, request: RawRequest, env: RouteEnv): Promise<RouteOutcome> {
  const caller = await authenticateRequest(env, route.operationId, request);
  if (isOutcome(caller)) return caller;
  const keyId = caller.key.id;
  try {
    authorize(route, caller);
    const body = validatedBody(route, request);
    const query = route.query ? parseWith(route.query, request.query, 'query') : {};
    const result = await route.handle({ principal: caller, body, query, params: request.params, ip: request.ip, service: env.service });
    return { status: route.success.status, body: result, keyId };
  } catch (error) {
    return failed(env, route.operationId, request, error, keyId);
  }
}

/**
 * POST /v1/verify without a single await, when the store reads from memory:
 * the same steps as executeRoute, run synchronously. Undefined when the store
 * cannot (no memory reads, or a cache miss: nothing was counted then), and the
 * caller falls back to executeRoute.
 */
export function executeVerifyNow(route: Route, request: RawRequest, env: RouteEnv): RouteOutcome | undefined {
  const memory = env.service.store.memory;
  if (!memory) return undefined;
  let principal: Principal;
  try {
    principal = env.service.authenticateNow(request.authorization, request.ip)!;
  } catch (error) {
    if (error === NOT_IN_MEMORY) return undefined;
    return authenticationFailed(env, route.operationId, request, error);
  }
  const keyId = principal.key.id;
  try {
    authorize(route, principal);
    const body = validatedBody(route, request) as Parameters<KeyService['keys']['verifyNow']>[1];
    const result = env.service.keys.verifyNow(principal, body, memory);
    env.service.countUse(principal);
    return { status: route.success.status, body: result, keyId };
  } catch (error) {
    if (error === NOT_IN_MEMORY) return undefined;
    env.service.countUse(principal);
    return failed(env, route.operationId, request, error, keyId);
  }
}
