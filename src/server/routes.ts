/**
 * The handlers of the /v1 API, one per operation of the route table
 * (src/core/api.ts): a missing or extra handler is a type error, and each
 * handler's body, query, params and result types come from its entry. The
 * executor (execute.ts) authenticates, checks the entry's permission and
 * validates before a handler runs; handlers call the services, which keep
 * the rules that need the target (escalation, last admin key).
 */
import type { z } from 'zod';
import { API, OPERATION_IDS, type OperationId, type ParsedBody, type ParsedQuery, type PathParams, type Result, type RouteSpec, type SchemaName } from '../core/api.ts';
import type { ErrorCode } from '../core/errors.ts';
import type { MaybePromise } from '../core/maybe.ts';
import type { Permission } from '../core/permissions.ts';
import * as schemas from '../core/schemas.ts';
import type { Principal } from './auth.ts';
import type { KeyService } from './service.ts';

export interface RouteContext<Body, Query, Params = Record<string, string>> {
  principal: Principal;
  body: Body;
  query: Query;
  params: Params;
  ip: string | null;
  service: KeyService;
}

/** A promise, or the answer itself when nothing had to wait (verify from memory). */
type Handler<K extends OperationId> = (ctx: RouteContext<ParsedBody<K>, ParsedQuery<K>, PathParams<K>>) => MaybePromise<Result<K>>;

const handlers: { [K in OperationId]: Handler<K> } = {
  whoami: async ({ service, principal }) => service.whoami(principal),
  createKey: async ({ service, principal, body }) => service.keys.create(principal, body),
  listKeys: async ({ service, principal, query }) => service.keys.list(principal, query),
  getKey: async ({ service, principal, params }) => service.keys.get(principal, params.id),
  batchGetKeys: async ({ service, principal, body }) => service.keys.batchGet(principal, body),
  updateKey: async ({ service, principal, params, body }) => service.keys.update(principal, params.id, body),
  revokeKey: async ({ service, principal, params }) => service.keys.revoke(principal, params.id),
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
  getUsage: async ({ service, principal, query }) => service.organization.usage(principal, query),
  listAuditLog: async ({ service, principal, query }) => service.organization.auditLog(principal, query),
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
  body?: z.ZodType;
  query?: z.ZodType;
  immutableFields?: readonly string[];
  operatorFields?: readonly string[];
  success: { status: number; description: string; schema?: z.ZodType };
  errors: readonly ErrorCode[];
  handle(ctx: RouteContext<unknown, unknown>): MaybePromise<unknown>;
}

const schema = (name: SchemaName): z.ZodType => schemas[name];

function route<K extends OperationId>(operationId: K): Route {
  const spec: RouteSpec = API[operationId];
  return {
    operationId,
    method: spec.method.toLowerCase() as Route['method'],
    path: spec.path,
    permission: spec.permission,
    ...(spec.body ? { body: schema(spec.body) } : {}),
    ...(spec.query ? { query: schema(spec.query) } : {}),
    ...(spec.immutableFields ? { immutableFields: spec.immutableFields } : {}),
    ...(spec.operatorFields ? { operatorFields: spec.operatorFields } : {}),
    success: { status: spec.success.status, description: spec.success.description, ...(spec.success.schema ? { schema: schema(spec.success.schema) } : {}) },
    errors: spec.errors,
    // The executor hands over what it validated against this entry's schemas and path.
    handle: handlers[operationId] as Route['handle'],
  };
}

export const routes: readonly Route[] = OPERATION_IDS.map(route);
