/**
 * The handlers of the /v1 API, one per operation of the route table
 * (src/core/api.ts): a missing or extra handler is a type error, and each
 * handler's body, query, params and result types come from its entry. The
 * executor (execute.ts) authenticates, checks the entry's permission and
 * validates before a handler runs; handlers call the services, which keep
 * the rules that need the target (escalation, last admin key).
 */
import { z } from 'zod';
import { API, isExecuted, OPERATION_IDS, type Api, type ExecutedOperationId, type OperationId, type ParsedBody, type ParsedQuery, type PathParams, type Result, type RouteSpec, type SchemaName } from '../core/api.ts';
import type { ErrorCode } from '../core/errors.ts';
import type { MaybePromise } from '../core/maybe.ts';
import type { Permission } from '../core/permissions.ts';
import * as schemas from '../core/schemas.ts';
import type { KeyPrincipal, MemberPrincipal, Principal } from './auth.ts';
import type { CookieJar } from './people/cookies.ts';
import { relyingParty } from './people/passkeys.ts';
import type { KeyService } from './service.ts';

export interface RouteContext<Body, Query, Params = Record<string, string>, Caller = Principal> {
  principal: Caller;
  body: Body;
  query: Query;
  params: Params;
  ip: string | null;
  /** The request's User-Agent header (recorded with a session started by a sign-in step). */
  userAgent: string | null;
  service: KeyService;
  /** The request's cookies, and those the answer sets (sign-in, sign-out). */
  cookies: CookieJar;
  /** The dashboard's origin (KEYWARD_PUBLIC_URL, else the one this request was made to): invitation links, WebAuthn, OIDC redirects. */
  origin: string;
}

/** Who a handler gets as its caller, from its entry's `auth`. */
type CallerOf<K extends OperationId> = Api[K] extends { auth: 'public' }
  ? undefined
  : Api[K] extends { auth: 'session' }
    ? MemberPrincipal
    : Api[K] extends { auth: 'key' }
      ? KeyPrincipal
      : Principal;

/** A promise, or the answer itself when nothing had to wait (verify from memory). */
type Handler<K extends OperationId> = (ctx: RouteContext<ParsedBody<K>, ParsedQuery<K>, PathParams<K>, CallerOf<K>>) => MaybePromise<Result<K>>;

/** Every operation but those signed by a third party (secret-scanning.ts serves GitHub's). */
const handlers: { [K in ExecutedOperationId]: Handler<K> } = {
  whoami: async ({ service, principal }) => service.whoami(principal),
  createKey: async ({ service, principal, body }) => service.keys.create(principal, body),
  listKeys: async ({ service, principal, query }) => service.keys.list(principal, query),
  getKey: async ({ service, principal, params }) => service.keys.get(principal, params.id),
  batchGetKeys: async ({ service, principal, body }) => service.keys.batchGet(principal, body),
  updateKey: async ({ service, principal, params, body }) => service.keys.update(principal, params.id, body),
  revokeKey: async ({ service, principal, params, query }) => service.keys.revoke(principal, params.id, query.reason),
  rotateKey: async ({ service, principal, params, body }) => service.keys.rotate(principal, params.id, body),
  compromiseKey: async ({ service, principal, params, body }) => service.incidents.compromise(principal, params.id, body),
  verifyKey: ({ service, principal, body }) => service.keys.verify(principal, body),
  listRoles: async ({ service, principal }) => ({ items: await service.roles.list(principal) }),
  getRole: async ({ service, principal, params }) => service.roles.get(principal, params.id),
  createRole: async ({ service, principal, body }) => service.roles.create(principal, body),
  updateRole: async ({ service, principal, params, body }) => service.roles.update(principal, params.id, body),
  deleteRole: async ({ service, principal, params }) => service.roles.delete(principal, params.id),
  listPermissions: async ({ service, principal }) => ({ items: await service.roles.listPermissions(principal) }),
  createPermission: async ({ service, principal, body }) => service.roles.createPermission(principal, body),
  getOrganization: async ({ service, principal }) => service.organization.get(principal),
  updateOrganization: async ({ service, principal, body }) => service.organization.update(principal, body),
  getIpAllowlist: async ({ service, principal }) => service.organization.getAllowlist(principal),
  putIpAllowlist: async ({ service, principal, body }) => service.organization.putAllowlist(principal, body),
  getOrganizationOidc: async ({ service, principal }) => service.people.oidcProviders.get(principal),
  putOrganizationOidc: async ({ service, principal, body }) => service.people.oidcProviders.put(principal, body),
  deleteOrganizationOidc: async ({ service, principal }) => service.people.oidcProviders.remove(principal),
  getUsage: async ({ service, principal, query }) => service.organization.usage(principal, query),
  listAuditLog: async ({ service, principal, query }) => service.organization.auditLog(principal, query),
  listMembers: async ({ service, principal }) => service.people.members.list(principal),
  createMember: async ({ service, principal, body }) => service.people.members.add(principal, body),
  getMember: async ({ service, principal, params }) => service.people.members.get(principal, params.id),
  updateMember: async ({ service, principal, params, body }) => service.people.members.update(principal, params.id, body),
  removeMember: async ({ service, principal, params }) => service.people.members.remove(principal, params.id),
  createInvitation: async ({ service, principal, body, origin }) => service.people.members.invite(principal, body, origin),
  listInvitations: async ({ service, principal }) => service.people.members.listInvitations(principal),
  revokeInvitation: async ({ service, principal, params }) => service.people.members.revokeInvitation(principal, params.id),
  signInMethods: async ({ service, query }) => service.people.methods(query.organization),
  previewInvitation: async ({ service, body }) => service.people.members.preview(body.token),
  invitationPasskeyOptions: async ({ service, body, cookies, origin }) => service.people.passkeys.invitationOptions(cookies, relyingParty(origin), body.token),
  acceptInvitation: async ({ service, body, cookies, origin, ip, userAgent }) => service.people.passkeys.acceptInvitation(cookies, relyingParty(origin), { ip, userAgent }, body),
  passkeyOptions: async ({ service, cookies, origin }) => service.people.passkeys.signInOptions(cookies, relyingParty(origin)),
  passkeySignIn: async ({ service, body, cookies, origin, ip, userAgent }) => service.people.passkeys.signIn(cookies, relyingParty(origin), { ip, userAgent }, body.credential),
  oidcStart: async ({ service, body, cookies, origin, ip }) => service.people.oidc.start(cookies, origin, ip, body),
  oidcCallback: async ({ service, body, cookies, ip, userAgent }) => service.people.oidc.callback(cookies, { ip, userAgent }, body.query),
  getSession: async ({ service, principal, cookies }) => service.people.sessions.current(principal, cookies),
  signOut: async ({ service, principal, cookies }) => service.people.sessions.signOut(principal, cookies),
  listMySessions: async ({ service, principal }) => service.people.sessions.list(principal),
  signOutEverywhere: async ({ service, principal, cookies }) => service.people.sessions.signOutEverywhere(principal, cookies),
  listMyPasskeys: async ({ service, principal }) => service.people.passkeys.list(principal),
  myPasskeyOptions: async ({ service, principal, cookies, origin }) => service.people.passkeys.addOptions(principal, cookies, relyingParty(origin)),
  addMyPasskey: async ({ service, principal, cookies, origin, body }) => service.people.passkeys.add(principal, cookies, relyingParty(origin), body),
  removeMyPasskey: async ({ service, principal, params }) => service.people.passkeys.remove(principal, params.id),
  listIncidents: async ({ service, principal, query }) => service.incidents.list(principal, query),
  getIncident: async ({ service, principal, params }) => service.incidents.get(principal, params.id),
  listEvents: async ({ service, principal, query }) => service.feed.events(principal, query),
};

/** One operation as the executor runs it: its table entry with the schemas resolved and its handler. */
export interface Route {
  operationId: OperationId;
  method: Lowercase<RouteSpec['method']>;
  path: string;
  permission: Permission | null;
  auth?: RouteSpec['auth'];
  body?: z.ZodType;
  query?: z.ZodType;
  immutableFields?: readonly string[];
  operatorFields?: readonly string[];
  bodyNeverStored?: true;
  success: { status: number; description: string; schema?: z.ZodType };
  errors: readonly ErrorCode[];
  handle(ctx: RouteContext<unknown, unknown, Record<string, string>, Principal>): MaybePromise<unknown>;
}

const schema = (name: SchemaName): z.ZodType => schemas[name];

/**
 * Routes whose body is parsed on nearly every request the service answers:
 * their schema runs through zod's compiled fast path (`z.compile`: the same
 * results, issues and messages; the runtime parser still explains a refused
 * body). /v1/verify's body cost ~2.8k instructions per request on the
 * runtime parser, ~1.3k compiled (docs/benchmarks.md).
 */
const COMPILED_BODIES: ReadonlySet<OperationId> = new Set<OperationId>(['verifyKey']);
const bodySchema = (operationId: OperationId, name: SchemaName): z.ZodType => (COMPILED_BODIES.has(operationId) ? z.compile(schema(name)) : schema(name));

function route<K extends ExecutedOperationId>(operationId: K): Route {
  const spec: RouteSpec = API[operationId];
  return {
    operationId,
    method: spec.method.toLowerCase() as Route['method'],
    path: spec.path,
    permission: spec.permission,
    ...(spec.auth ? { auth: spec.auth } : {}),
    ...(spec.body ? { body: bodySchema(operationId, spec.body) } : {}),
    ...(spec.query ? { query: schema(spec.query) } : {}),
    ...(spec.immutableFields ? { immutableFields: spec.immutableFields } : {}),
    ...(spec.operatorFields ? { operatorFields: spec.operatorFields } : {}),
    ...(spec.bodyNeverStored ? { bodyNeverStored: spec.bodyNeverStored } : {}),
    success: { status: spec.success.status, description: spec.success.description, ...(spec.success.schema ? { schema: schema(spec.success.schema) } : {}) },
    errors: spec.errors,
    // The executor hands over what it validated against this entry's schemas and path.
    handle: handlers[operationId] as Route['handle'],
  };
}

export const routes: readonly Route[] = OPERATION_IDS.filter(isExecuted).map(route);
