/**
 * The /v1 API as data: one table feeds the Express routes, the fast verify
 * path and the OpenAPI document, so validation and documentation agree.
 */
import { z } from 'zod';
import type { ErrorCode } from '../core/errors.ts';
import * as schemas from '../core/schemas.ts';
import type { Principal } from './auth.ts';
import type { KeyService } from './service.ts';

export interface RouteContext<Body, Query> {
  principal: Principal;
  body: Body;
  query: Query;
  params: Record<string, string>;
  ip: string | null;
  service: KeyService;
}

export interface Route<BodySchema extends z.ZodType = z.ZodType, QuerySchema extends z.ZodType = z.ZodType> {
  method: 'get' | 'post' | 'patch' | 'put' | 'delete';
  /** Express-style path, e.g. /v1/keys/:id */
  path: string;
  operationId: string;
  summary: string;
  permission?: string;
  body?: BodySchema;
  query?: QuerySchema;
  /** Top-level body fields that can never be changed (answered with IMMUTABLE_FIELD). */
  immutableFields?: readonly string[];
  /** Top-level body fields only the service operator changes, outside the API (answered with SET_BY_OPERATOR). */
  operatorFields?: readonly string[];
  success: { status: number; description: string; schema?: z.ZodType };
  errors: readonly ErrorCode[];
  handle(ctx: RouteContext<z.output<BodySchema>, z.output<QuerySchema>>): Promise<unknown>;
}

const route = <B extends z.ZodType = z.ZodType, Q extends z.ZodType = z.ZodType>(r: Route<B, Q>): Route =>
  r as unknown as Route;

const KEY_ERRORS = ['KEY_NOT_FOUND'] as const;

export const routes: readonly Route[] = [
  route({
    method: 'get',
    path: '/v1/whoami',
    operationId: 'whoami',
    summary: 'The calling key, its organization and permissions',
    success: { status: 200, description: 'The caller', schema: schemas.WhoAmI },
    errors: [],
    handle: async ({ service, principal }) => service.whoami(principal),
  }),
  route({
    method: 'post',
    path: '/v1/keys',
    operationId: 'createKey',
    summary: 'Create a key; the secret is in this response only',
    permission: 'api.key.create',
    body: schemas.CreateKeyBody,
    success: { status: 201, description: 'Created. Store the secret now.', schema: schemas.CreatedKey },
    errors: ['UNKNOWN_ROLE', 'PRIVILEGE_ESCALATION', 'KEY_LIMIT_REACHED', 'IDEMPOTENCY_KEY_REUSED', 'IP_NOT_ALLOWED'],
    handle: async ({ service, principal, body }) => service.keys.create(principal, body),
  }),
  route({
    method: 'get',
    path: '/v1/keys',
    operationId: 'listKeys',
    summary: 'List keys (active by default), oldest first, cursor-paginated',
    permission: 'api.key.view',
    query: schemas.ListKeysQuery,
    success: { status: 200, description: 'A page of keys', schema: schemas.KeyList },
    errors: [],
    handle: async ({ service, principal, query }) => service.keys.list(principal, query),
  }),
  route({
    method: 'get',
    path: '/v1/keys/:id',
    operationId: 'getKey',
    summary: 'Get one key (never its secret)',
    permission: 'api.key.view',
    success: { status: 200, description: 'The key', schema: schemas.KeyView },
    errors: KEY_ERRORS,
    handle: async ({ service, principal, params }) => service.keys.get(principal, params.id!),
  }),
  route({
    method: 'patch',
    path: '/v1/keys/:id',
    operationId: 'updateKey',
    summary: 'Change the name and/or role of a key',
    permission: 'api.key.update',
    body: schemas.UpdateKeyBody,
    immutableFields: schemas.IMMUTABLE_KEY_FIELDS,
    success: { status: 200, description: 'The updated key', schema: schemas.KeyView },
    errors: [...KEY_ERRORS, 'IMMUTABLE_FIELD', 'UNKNOWN_ROLE', 'PRIVILEGE_ESCALATION', 'KEY_NOT_ACTIVE', 'LAST_ADMIN_KEY'],
    handle: async ({ service, principal, params, body }) => service.keys.update(principal, params.id!, body),
  }),
  route({
    method: 'delete',
    path: '/v1/keys/:id',
    operationId: 'revokeKey',
    summary: 'Revoke a key: it fails on its next request; cannot be undone',
    permission: 'api.key.delete',
    success: { status: 200, description: 'The revoked key', schema: schemas.KeyView },
    errors: [...KEY_ERRORS, 'KEY_ALREADY_REVOKED', 'PRIVILEGE_ESCALATION', 'LAST_ADMIN_KEY'],
    handle: async ({ service, principal, params }) => service.keys.revoke(principal, params.id!),
  }),
  route({
    method: 'post',
    path: '/v1/keys/:id/rotate',
    operationId: 'rotateKey',
    summary: 'Issue a successor with the same role, settings and expiry; the old key expires after the grace period (at most the organization\'s maxGracePeriod)',
    permission: 'api.key.rotate',
    body: schemas.RotateKeyBody,
    success: { status: 201, description: 'The successor (secret shown once) and the old key', schema: schemas.RotatedKey },
    errors: [...KEY_ERRORS, 'KEY_NOT_ACTIVE', 'KEY_ALREADY_ROTATED', 'PRIVILEGE_ESCALATION', 'KEY_LIMIT_REACHED'],
    handle: async ({ service, principal, params, body }) => service.keys.rotate(principal, params.id!, body),
  }),
  route({
    method: 'post',
    path: '/v1/verify',
    operationId: 'verifyKey',
    summary: 'For your APIs: check a presented key (and optionally a permission)',
    permission: 'api.key.verify',
    body: schemas.VerifyBody,
    success: { status: 200, description: 'valid:true with the key, or valid:false with the code that says why', schema: schemas.VerifyResult },
    errors: [],
    handle: async ({ service, principal, body }) => service.keys.verify(principal, body),
  }),
  route({
    method: 'get',
    path: '/v1/roles',
    operationId: 'listRoles',
    summary: 'Built-in and custom roles',
    permission: 'role.view',
    success: { status: 200, description: 'Roles', schema: z.object({ items: z.array(schemas.Role) }) },
    errors: [],
    handle: async ({ service, principal }) => ({ items: await service.roleAdmin.list(principal) }),
  }),
  route({
    method: 'get',
    path: '/v1/roles/:id',
    operationId: 'getRole',
    summary: 'One role',
    permission: 'role.view',
    success: { status: 200, description: 'The role', schema: schemas.Role },
    errors: ['ROLE_NOT_FOUND'],
    handle: async ({ service, principal, params }) => service.roleAdmin.get(principal, params.id!),
  }),
  route({
    method: 'post',
    path: '/v1/roles',
    operationId: 'createRole',
    summary: 'Define a custom role (only with permissions the caller holds)',
    permission: 'role.manage',
    body: schemas.CreateRoleBody,
    success: { status: 201, description: 'The role', schema: schemas.Role },
    errors: ['ROLE_EXISTS', 'UNKNOWN_PERMISSION', 'PRIVILEGE_ESCALATION'],
    handle: async ({ service, principal, body }) => service.roleAdmin.create(principal, body),
  }),
  route({
    method: 'patch',
    path: '/v1/roles/:id',
    operationId: 'updateRole',
    summary: 'Change a custom role',
    permission: 'role.manage',
    body: schemas.UpdateRoleBody,
    success: { status: 200, description: 'The role', schema: schemas.Role },
    errors: ['ROLE_NOT_FOUND', 'BUILTIN_ROLE', 'UNKNOWN_PERMISSION', 'PRIVILEGE_ESCALATION'],
    handle: async ({ service, principal, params, body }) => service.roleAdmin.update(principal, params.id!, body),
  }),
  route({
    method: 'delete',
    path: '/v1/roles/:id',
    operationId: 'deleteRole',
    summary: 'Delete a custom role that no key holds',
    permission: 'role.manage',
    success: { status: 204, description: 'Deleted' },
    errors: ['ROLE_NOT_FOUND', 'BUILTIN_ROLE', 'ROLE_IN_USE'],
    handle: async ({ service, principal, params }) => service.roleAdmin.delete(principal, params.id!),
  }),
  route({
    method: 'get',
    path: '/v1/permissions',
    operationId: 'listPermissions',
    summary: 'The permission catalog: keyward\'s own and the organization\'s',
    permission: 'role.view',
    success: { status: 200, description: 'Permissions', schema: z.object({ items: z.array(schemas.Permission) }) },
    errors: [],
    handle: async ({ service, principal }) => ({ items: await service.roleAdmin.listPermissions(principal) }),
  }),
  route({
    method: 'post',
    path: '/v1/permissions',
    operationId: 'createPermission',
    summary: 'Define a permission for your own API (e.g. geo.read)',
    permission: 'role.manage',
    body: schemas.CreatePermissionBody,
    success: { status: 201, description: 'The permission', schema: schemas.Permission },
    errors: ['PERMISSION_EXISTS'],
    handle: async ({ service, principal, body }) => service.roleAdmin.createPermission(principal, body),
  }),
  route({
    method: 'get',
    path: '/v1/organization',
    operationId: 'getOrganization',
    summary: 'The organization: plan, active keys against its limit, IP allowlist',
    permission: 'org.view',
    success: { status: 200, description: 'The organization', schema: schemas.OrganizationView },
    errors: [],
    handle: async ({ service, principal }) => service.organization.get(principal),
  }),
  route({
    method: 'patch',
    path: '/v1/organization',
    operationId: 'updateOrganization',
    summary: 'Rename, or set rotation intervals per environment (the plan and maxGracePeriod are the service operator\'s)',
    permission: 'org.manage',
    body: schemas.UpdateOrganizationBody,
    operatorFields: schemas.OPERATOR_ORGANIZATION_FIELDS,
    success: { status: 200, description: 'The organization', schema: schemas.OrganizationView },
    errors: ['SET_BY_OPERATOR'],
    handle: async ({ service, principal, body }) => service.organization.update(principal, body),
  }),
  route({
    method: 'get',
    path: '/v1/ip-allowlist',
    operationId: 'getIpAllowlist',
    summary: "The organization's IP allowlist, and the address this call came from",
    permission: 'org.view',
    success: { status: 200, description: 'The allowlist', schema: schemas.IpAllowlistView },
    errors: [],
    handle: async ({ service, principal }) => service.organization.getAllowlist(principal),
  }),
  route({
    method: 'put',
    path: '/v1/ip-allowlist',
    operationId: 'putIpAllowlist',
    summary: "Replace the organization's IP allowlist (empty = any address); refuses to lock out the caller unless force",
    permission: 'org.manage',
    body: schemas.PutIpAllowlistBody,
    success: { status: 200, description: 'The allowlist', schema: schemas.IpAllowlistView },
    errors: ['SELF_LOCKOUT'],
    handle: async ({ service, principal, body }) => service.organization.putAllowlist(principal, body),
  }),
  route({
    method: 'get',
    path: '/v1/usage',
    operationId: 'getUsage',
    summary: 'Requests per key per day and outcome (VALID or the error code)',
    permission: 'usage.view',
    query: schemas.UsageQuery,
    success: { status: 200, description: 'Usage counts', schema: schemas.UsageView },
    errors: [],
    handle: async ({ service, principal, query }) => service.organization.usage(principal, query),
  }),
  route({
    method: 'get',
    path: '/v1/audit-log',
    operationId: 'listAuditLog',
    summary: 'Who did what, when, from where: newest first, cursor-paginated (never secrets)',
    permission: 'audit.view',
    query: schemas.AuditQuery,
    success: { status: 200, description: 'A page of audit events', schema: schemas.AuditPage },
    errors: [],
    handle: async ({ service, principal, query }) => service.organization.auditLog(principal, query),
  }),
];
