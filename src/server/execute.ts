/**
 * Runs one route for one request, whatever carried it (Express or the fast
 * verify path): throttle check, authenticate, validate, handle, and map
 * errors to the wire. Failed authentications feed brute-force protection.
 */
import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { AUTHENTICATION_ERRORS, KeywardError, isKeywardError, type ErrorBody } from '../core/errors.ts';
import type { FailedAuthMonitor } from './failed-auth.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import { NOT_IN_MEMORY } from '../store/store.ts';
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

/** Failures that count towards throttling an address (a missing header is a misconfiguration, not an attempt). */
const AUTH_FAILURES = new Set<string>(AUTHENTICATION_ERRORS.filter((code) => code !== 'MISSING_AUTHORIZATION'));

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

function rejectImmutableFields(route: Route, raw: unknown): void {
  if (!route.immutableFields || typeof raw !== 'object' || raw === null) return;
  const touched = route.immutableFields.filter((field) => Object.hasOwn(raw, field));
  if (touched.length > 0) {
    throw new KeywardError('IMMUTABLE_FIELD', `${touched.join(', ')} cannot be changed; only name and role can.`, {
      details: { fields: touched },
    });
  }
}

/** Failed authentications feed metrics and brute-force protection. */
function noteAuthFailure(env: RouteEnv, request: RawRequest, error: unknown): void {
  if (isKeywardError(error) && AUTH_FAILURES.has(error.code)) {
    const details = error.details as { keyId?: string } | undefined;
    env.metrics?.failedAuth.inc({ code: error.code });
    env.failedAuth.failure(request.ip, error.code, details?.keyId ?? null);
  }
}

async function authenticated(env: RouteEnv, request: RawRequest) {
  try {
    return await env.service.authenticate(request.authorization, request.ip);
  } catch (error) {
    noteAuthFailure(env, request, error);
    throw error;
  }
}

function throttled(env: RouteEnv, request: RawRequest): RouteOutcome | undefined {
  const retryAfter = env.failedAuth.retryAfterSeconds(request.ip);
  if (retryAfter === 0) return undefined;
  return {
    ...errorOutcome(new KeywardError('RATE_LIMITED', `Too many failed authentication attempts from ${request.ip}; retry in ${retryAfter} s.`)),
    headers: { 'retry-after': String(retryAfter) },
  };
}

function validatedBody(route: Route, request: RawRequest): unknown {
  if (!route.body) return undefined;
  const raw = request.body === undefined ? {} : request.body;
  rejectImmutableFields(route, raw);
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

function failed(env: RouteEnv, route: Route, request: RawRequest, error: unknown, keyId: string | undefined): RouteOutcome {
  const withKey = keyId ? { keyId } : {};
  if (isKeywardError(error)) return { ...errorOutcome(error), ...withKey };
  return { ...internalError(env.logger, error, request.requestId, { route: route.operationId }), ...withKey };
}

export async function executeRoute(route: Route, request: RawRequest, env: RouteEnv): Promise<RouteOutcome> {
  let keyId: string | undefined;
  try {
    const refused = throttled(env, request);
    if (refused) return refused;
    const principal = await authenticated(env, request);
    keyId = principal.key.id;
    const body = validatedBody(route, request);
    const query = route.query ? parseWith(route.query, request.query, 'query') : {};
    const result = await route.handle({ principal, body, query, params: request.params, ip: request.ip, service: env.service });
    return { status: route.success.status, body: result, keyId };
  } catch (error) {
    return failed(env, route, request, error, keyId);
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
  let keyId: string | undefined;
  try {
    const refused = throttled(env, request);
    if (refused) return refused;
    let principal;
    try {
      principal = env.service.authenticateNow(request.authorization, request.ip)!;
    } catch (error) {
      if (error !== NOT_IN_MEMORY) noteAuthFailure(env, request, error);
      throw error;
    }
    keyId = principal.key.id;
    try {
      const body = validatedBody(route, request) as Parameters<KeyService['keys']['verifyNow']>[1];
      const result = env.service.keys.verifyNow(principal, body, memory);
      env.service.countUse(principal);
      return { status: route.success.status, body: result, keyId };
    } catch (error) {
      if (error !== NOT_IN_MEMORY) env.service.countUse(principal);
      throw error;
    }
  } catch (error) {
    if (error === NOT_IN_MEMORY) return undefined;
    return failed(env, route, request, error, keyId);
  }
}
