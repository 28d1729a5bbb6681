/**
 * Runs one route for one request, whatever carried it (Express or the bare
 * verify path): authenticate, check the permission the route table names, validate,
 * handle, and map errors to the wire. One executor for both: it answers in
 * the same tick when every read is in memory, and with a promise otherwise.
 * Failed authentications feed brute-force protection, and only they are
 * throttled.
 */
import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { AUTHENTICATION_ERRORS, KeywardError, isKeywardError, type ErrorBody } from '../core/errors.ts';
import type { MaybePromise } from '../core/maybe.ts';
import { holds, requirePermission } from '../core/permissions.ts';
import type { FailedAuthMonitor } from './failed-auth.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import { actorId, isMember, type KeyPrincipal, type Principal } from './auth.ts';
import { CookieJar, csrfError, isSafeMethod, originError, SESSION_COOKIE } from './people/cookies.ts';
import type { Route } from './routes.ts';
import type { KeyService } from './service.ts';

export interface RawRequest {
  authorization: string | undefined;
  body: unknown;
  query: Record<string, unknown>;
  params: Record<string, string>;
  ip: string | null;
  /** The User-Agent header, if any: recorded with the address among the caller's key's recent clients. */
  userAgent?: string | undefined;
  /** The request id logged with this request (Express's pino-http sets one; the bare verify path makes one only on a bug). */
  requestId?: string | undefined;
  /** Cookies sent (the dashboard's session and sign-in ceremony); none on the bare verify path. */
  cookies?: Record<string, string>;
  /** The Origin header, if sent. */
  origin?: string | undefined;
  /** scheme://host this request was made to (the dashboard's own Origin unless KEYWARD_PUBLIC_URL says). */
  selfOrigin?: string;
  /** The X-CSRF-Token header, if sent. */
  csrfToken?: string | undefined;
}

export interface RouteOutcome {
  status: number;
  body: unknown;
  headers?: Record<string, string | string[]>;
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
 * out everyone behind the same NAT); SESSION_EXPIRED is a real session that
 * timed out (a browser left open), not a guess. An unknown session token counts.
 */
const NOT_ATTEMPTS: readonly string[] = ['MISSING_AUTHORIZATION', 'IP_NOT_ALLOWED', 'SESSION_EXPIRED'];
const AUTH_FAILURES = new Set<string>(AUTHENTICATION_ERRORS.filter((code) => !NOT_ATTEMPTS.includes(code)));

/** The one VALIDATION_FAILED for a schema's issues: each at its path (or `where`), the first in the message. */
export function validationError(issues: readonly z.core.$ZodIssue[], where: string): KeywardError {
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
  ...retryAfterHeader(error),
});

/** A throttle that says when to come back (details.retryAfter, seconds) says it in Retry-After too, as RFC 9110 asks of a 429. */
function retryAfterHeader(error: KeywardError): Pick<RouteOutcome, 'headers'> | undefined {
  if (error.code !== 'RATE_LIMITED') return undefined;
  const seconds = (error.details as { retryAfter?: unknown } | undefined)?.retryAfter;
  return typeof seconds === 'number' && seconds > 0 ? { headers: { 'retry-after': String(Math.ceil(seconds)) } } : undefined;
}

/**
 * The one error mapping, for every route, the bare verify path and Express's
 * own failures: a KeywardError is answered as it is; a client error raised by
 * Express itself (a path that does not decode) is VALIDATION_FAILED; anything
 * else is a bug, logged with its stack under a request id, which the caller
 * gets to report (INTERNAL).
 */
export function failureOutcome(logger: Logger, error: unknown, requestId: string | undefined, context: Record<string, unknown> = {}): RouteOutcome {
  if (isKeywardError(error)) return errorOutcome(error);
  const status = (error as { status?: unknown } | null)?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) return errorOutcome(new KeywardError('VALIDATION_FAILED', (error as Error).message));
  const id = requestId ?? randomUUID();
  logger.error({ err: error, reqId: id, ...context }, 'unhandled error');
  return {
    ...errorOutcome(new KeywardError('INTERNAL', `Internal error (request id ${id}).`, { details: { requestId: id } })),
    headers: { 'x-request-id': id },
  };
}

function failed(env: RouteEnv, operation: string, request: Pick<RawRequest, 'requestId'>, error: unknown, keyId: string | undefined): RouteOutcome {
  const outcome = failureOutcome(env.logger, error, request.requestId, { route: operation });
  return keyId ? { ...outcome, keyId } : outcome;
}

function rejectFixedFields(route: Route, raw: unknown): void {
  if ((!route.immutableFields && !route.operatorFields) || typeof raw !== 'object' || raw === null) return;
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

function validatedBody(route: Route, request: RawRequest): unknown {
  if (!route.body) return undefined;
  const raw = request.body === undefined ? {} : request.body;
  rejectFixedFields(route, raw);
  return parseWith(route.body, raw, 'body');
}

/**
 * The one throttle check, for a refused authentication: RATE_LIMITED while
 * the address is throttled (not counted again), otherwise counted (metrics,
 * brute-force protection) and answered with its cause. Only failures are
 * throttled: a valid key is never refused by the throttle, and the happy path
 * never looks the address up.
 */
function authenticationFailed(env: RouteEnv, request: Pick<RawRequest, 'ip'>, error: KeywardError): RouteOutcome {
  if (AUTH_FAILURES.has(error.code)) {
    const retryAfter = env.failedAuth.retryAfterSeconds(request.ip);
    if (retryAfter > 0) {
      return errorOutcome(
        new KeywardError('RATE_LIMITED', `Too many failed authentication attempts from ${env.failedAuth.bucketOf(request.ip!)}; retry in ${retryAfter} s.`, {
          details: { retryAfter },
        }),
      );
    }
    const details = error.details as { keyId?: string } | undefined;
    env.metrics?.failedAuth.inc({ code: error.code });
    env.failedAuth.failure(request.ip, error.code, details?.keyId ?? null);
  }
  return errorOutcome(error);
}

type Caller = Principal | RouteOutcome;

export const isOutcome = (value: Caller): value is RouteOutcome => !('key' in value) && !('member' in value);

/**
 * The caller of a request, or the outcome that refuses it (`operation` names
 * the route in logs; /metrics uses this too). Now when the store has the
 * caller's records in memory, else a promise.
 */
export function authenticate(
  env: RouteEnv,
  operation: string,
  request: Pick<RawRequest, 'authorization' | 'ip' | 'requestId' | 'userAgent'>,
): MaybePromise<KeyPrincipal | RouteOutcome> {
  let verdict: MaybePromise<KeyPrincipal | KeywardError>;
  try {
    verdict = env.service.authenticate(request.authorization, request.ip, request.userAgent ?? null);
  } catch (error) {
    return failed(env, operation, request, error, undefined);
  }
  if (verdict instanceof Promise) {
    return verdict.then(
      (settled) => (settled instanceof KeywardError ? authenticationFailed(env, request, settled) : settled),
      (error: unknown) => failed(env, operation, request, error, undefined),
    );
  }
  return verdict instanceof KeywardError ? authenticationFailed(env, request, verdict) : verdict;
}

/** The jar of a key's request: only sign-in and session routes set cookies, and they run as people (below). */
const NO_COOKIES = CookieJar.closed();

/** Whether a request runs as a person: a sign-in step, a session-only route, or a session cookie without a key. */
const asPerson = (route: Route, request: RawRequest): boolean =>
  route.auth === 'public' || route.auth === 'session' || (request.authorization === undefined && route.auth !== 'key' && request.cookies?.[SESSION_COOKIE] !== undefined);

/** Runs `route` for `request`: the outcome now when nothing had to wait, else a promise of it. Never throws or rejects. */
export function execute(route: Route, request: RawRequest, env: RouteEnv): MaybePromise<RouteOutcome> {
  if (asPerson(route, request)) return executeAsPerson(route, request, env);
  const caller = authenticate(env, route.operationId, request);
  return caller instanceof Promise ? caller.then((settled) => run(route, request, env, settled, NO_COOKIES)) : run(route, request, env, caller, NO_COOKIES);
}

/**
 * A person's request: nobody for the sign-in steps (an Origin, if sent, must
 * be ours), else the member behind the session cookie; a change also needs
 * our Origin and the CSRF token. Cookies the handler sets (sign-in, sign-out)
 * and the clearing of a stale session cookie go out with the answer.
 */
async function executeAsPerson(route: Route, request: RawRequest, env: RouteEnv): Promise<RouteOutcome> {
  const jar = new CookieJar(request.cookies ?? {});
  const caller = await sessionCaller(route, request, env, jar);
  const outcome = caller !== undefined && isOutcome(caller) ? caller : await run(route, request, env, caller, jar);
  return jar.setCookies.length > 0 ? { ...outcome, headers: { ...outcome.headers, 'set-cookie': [...jar.setCookies] } } : outcome;
}

async function sessionCaller(route: Route, request: RawRequest, env: RouteEnv, jar: CookieJar): Promise<Principal | undefined | RouteOutcome> {
  const origin = env.service.people.origin(request.selfOrigin ?? '');
  if (route.auth === 'public') {
    const foreign = originError(request.origin, origin, false);
    return foreign ? errorOutcome(foreign) : undefined;
  }
  const sessionToken = jar.get(SESSION_COOKIE);
  if (request.authorization !== undefined || sessionToken === undefined) {
    return errorOutcome(new KeywardError('SESSION_REQUIRED', `${route.method.toUpperCase()} ${route.path} is for a member signed in to the dashboard, not for keys.`));
  }
  let principal;
  try {
    principal = await env.service.people.sessions.authenticate(sessionToken, request.ip);
  } catch (error) {
    jar.clearSession();
    return isKeywardError(error) ? authenticationFailed(env, request, error) : failed(env, route.operationId, request, error, undefined);
  }
  const refused = isSafeMethod(route.method) ? undefined : (originError(request.origin, origin, true) ?? csrfError(request.csrfToken, sessionToken));
  if (refused) return { ...errorOutcome(refused), keyId: principal.member.id };
  try {
    await env.service.people.sessions.touch(principal);
  } catch (error) {
    return failed(env, route.operationId, request, error, principal.member.id);
  }
  return principal;
}

/** The permission the route table names, checked here once for every route (escalation rules that need the target stay in the services). */
function authorize(route: Route, caller: Principal): void {
  if (route.permission === null) return;
  // For a member, the same check in their words ("this key's role" is for keys).
  if (isMember(caller) && !holds(caller.permissions, route.permission)) {
    throw new KeywardError('INSUFFICIENT_PERMISSIONS', `Your role does not grant "${route.permission}".`, { details: { required: route.permission } });
  }
  requirePermission(caller.permissions, route.permission);
}

/** Where (as validation errors name it: id, targetId, metadata.team) a value first holds U+0000, if anywhere. */
function nulAt(value: unknown, path: string, depth = 0): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path || 'body' : undefined;
  if (typeof value !== 'object' || value === null || depth > 16) return undefined;
  for (const name in value) {
    const at = path ? `${path}.${name}` : name;
    if (name.includes('\u0000')) return at;
    const found = nulAt((value as Record<string, unknown>)[name], at, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * U+0000 in a path parameter, a query value or a string in the body is refused
 * before the handler or the store sees it (after the schemas, whose own words
 * come first where they refuse it): no keyward value holds one, and PostgreSQL
 * text cannot (a role id or audit cursor holding one was a 500 there).
 */
function refuseNul(route: Route, request: RawRequest): void {
  // Only what the route reads (a query or body it has no schema for is ignored, as before).
  const at = nulAt(request.params, '') ?? (route.query ? nulAt(request.query, '') : undefined) ?? (route.body && !route.bodyNeverStored ? nulAt(request.body, '') : undefined);
  if (at === undefined) return;
  const message = 'must not contain the character U+0000';
  throw new KeywardError('VALIDATION_FAILED', `${at}: ${message}`, { details: [{ path: at, message }] });
}

/** The query of a route without a query schema (one frozen object, not one per request). */
const NO_QUERY: Readonly<Record<string, never>> = Object.freeze({});

function run(route: Route, request: RawRequest, env: RouteEnv, caller: Caller | undefined, cookies: CookieJar): MaybePromise<RouteOutcome> {
  if (caller !== undefined && isOutcome(caller)) return caller;
  const keyId = caller === undefined ? undefined : actorId(caller);
  const { status } = route.success;
  let result: unknown;
  try {
    if (caller !== undefined) authorize(route, caller);
    const body = validatedBody(route, request);
    const query = route.query ? parseWith(route.query, request.query, 'query') : NO_QUERY;
    refuseNul(route, request);
    const origin = env.service.people.origin(request.selfOrigin ?? '');
    result = route.handle({ principal: caller as Principal, body, query, params: request.params, ip: request.ip, userAgent: request.userAgent ?? null, service: env.service, cookies, origin });
  } catch (error) {
    return failed(env, route.operationId, request, error, keyId);
  }
  if (result instanceof Promise) {
    return result.then(
      (value: unknown) => answered(status, value, keyId),
      (error: unknown) => failed(env, route.operationId, request, error, keyId),
    );
  }
  return answered(status, result, keyId);
}

/** A handler's result as the outcome (a function, not a closure per request: verify answers in the same tick). */
const answered = (status: number, body: unknown, keyId: string | undefined): RouteOutcome => (keyId === undefined ? { status, body } : { status, body, keyId });
