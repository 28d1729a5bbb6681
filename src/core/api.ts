/**
 * The /v1 REST contract, declared once: every operation's method, path,
 * permission, request and response schemas, status and error codes. Nothing
 * else spells them: the server's handler map is typed from this table
 * (src/server/routes.ts) and its executor enforces `permission`, the OpenAPI
 * document is built from it (src/server/openapi.ts), and the typed client
 * (src/client) derives its methods, arguments and results from it.
 *
 * Adding an operation: one entry here (its schemas in schemas.ts) and its
 * handler in src/server/routes.ts; the compiler names what else must follow.
 *
 * Schemas are named, not held: `body: 'CreateKeyBody'` is the export of that
 * name in schemas.ts (also its component name in the OpenAPI document). That
 * keeps this module free of zod at run time, so the browser dashboard and the
 * rotation Lambda can take the table without bundling zod and the node:
 * modules the schemas use; their types still come from the schemas.
 */
import type { z } from 'zod';
import type { ErrorCode } from './errors.ts';
import type { Permission } from './permissions.ts';
import type * as schemas from './schemas.ts';

type Schemas = typeof schemas;
/** The name of a zod schema exported by schemas.ts. */
export type SchemaName = { [N in keyof Schemas]: Schemas[N] extends z.ZodType ? N : never }[keyof Schemas];

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

/** Operation groups in the API reference. */
export const TAGS = {
  Identity: 'Who is calling.',
  Keys: 'Create, list, edit, rotate and revoke API keys.',
  Verify: 'For your own APIs: check a key presented to them.',
  Roles: 'Built-in and custom roles, and the permission catalog they draw from.',
  Organization: "The organization's settings and IP allowlist.",
  Activity: 'Usage counts and the audit log.',
} as const;
export type Tag = keyof typeof TAGS;

export interface RouteSpec {
  method: HttpMethod;
  /** Express-style, e.g. /v1/keys/:id */
  path: `/v1/${string}`;
  tag: Tag;
  summary: string;
  description: string;
  /** What the caller's role must grant; null: any authenticated key (the test in test/keyservice/permissions.test.ts lists these). */
  permission: Permission | null;
  body?: SchemaName;
  query?: SchemaName;
  /** Top-level body fields that can never be changed (answered with IMMUTABLE_FIELD). */
  immutableFields?: readonly string[];
  /** Top-level body fields only the service operator changes, outside the API (answered with SET_BY_OPERATOR). */
  operatorFields?: readonly string[];
  /** No schema: no body (204). */
  success: { status: 200 | 201 | 204; description: string; schema?: SchemaName };
  /** What the operation itself can refuse with, beyond authentication, INSUFFICIENT_PERMISSIONS and VALIDATION_FAILED. */
  errors: readonly ErrorCode[];
}

export const API = {
  whoami: {
    method: 'GET',
    path: '/v1/whoami',
    tag: 'Identity',
    summary: 'The calling key, its organization and permissions',
    description: 'What the key in the Authorization header is: its record (never its secret), its organization and the permissions its role grants. Any valid key may ask.',
    permission: null,
    success: { status: 200, description: 'The caller', schema: 'WhoAmI' },
    errors: [],
  },
  createKey: {
    method: 'POST',
    path: '/v1/keys',
    tag: 'Keys',
    summary: 'Create a key; the secret is in this response only',
    description: 'Issues a key with a role the caller may grant (never more than it holds). The secret is returned once and stored only as a hash. With an idempotencyKey a retried create fails with IDEMPOTENCY_KEY_REUSED instead of issuing a second key.',
    permission: 'api.key.create',
    body: 'CreateKeyBody',
    success: { status: 201, description: 'Created. Store the secret now.', schema: 'CreatedKey' },
    errors: ['UNKNOWN_ROLE', 'PRIVILEGE_ESCALATION', 'KEY_LIMIT_REACHED', 'IDEMPOTENCY_KEY_REUSED', 'IP_NOT_ALLOWED'],
  },
  listKeys: {
    method: 'GET',
    path: '/v1/keys',
    tag: 'Keys',
    summary: 'List keys (active by default), oldest first, cursor-paginated',
    description: 'Filter by status, role and environment, or find keys to review: unused for a while (unusedFor) or due for rotation (rotationDue). Follow nextCursor for the next page.',
    permission: 'api.key.view',
    query: 'ListKeysQuery',
    success: { status: 200, description: 'A page of keys', schema: 'KeyList' },
    errors: [],
  },
  getKey: {
    method: 'GET',
    path: '/v1/keys/:id',
    tag: 'Keys',
    summary: 'Get one key (never its secret)',
    description: 'A key of the caller\'s organization by its Key ID; keys of other organizations are not found.',
    permission: 'api.key.view',
    success: { status: 200, description: 'The key', schema: 'KeyView' },
    errors: ['KEY_NOT_FOUND'],
  },
  batchGetKeys: {
    method: 'POST',
    path: '/v1/keys/batch-get',
    tag: 'Keys',
    summary: 'Get many keys at once by id (never their secrets)',
    description:
      "A read for clients that watch many keys, such as the operator at each resync: up to 500 Key IDs in one request, answered with the caller's organization's keys among them (any status) and the ids it has no key for (another organization's too) in `missing`.",
    permission: 'api.key.view',
    body: 'BatchGetKeysBody',
    success: { status: 200, description: 'The keys found, and the ids of no key of this organization', schema: 'KeyBatch' },
    errors: [],
  },
  updateKey: {
    method: 'PATCH',
    path: '/v1/keys/:id',
    tag: 'Keys',
    summary: 'Change the name and/or role of a key',
    description: 'Renames a key, moves it to another role, or replaces its IP allowlist. Everything else about a key is fixed (IMMUTABLE_FIELD); to get a new secret, rotate it.',
    permission: 'api.key.update',
    body: 'UpdateKeyBody',
    immutableFields: ['id', 'keyId', 'secret', 'hint', 'organizationId', 'createdAt', 'status'],
    success: { status: 200, description: 'The updated key', schema: 'KeyView' },
    errors: ['KEY_NOT_FOUND', 'IMMUTABLE_FIELD', 'UNKNOWN_ROLE', 'PRIVILEGE_ESCALATION', 'KEY_NOT_ACTIVE', 'LAST_ADMIN_KEY'],
  },
  revokeKey: {
    method: 'DELETE',
    path: '/v1/keys/:id',
    tag: 'Keys',
    summary: 'Revoke a key: it fails on its next request; cannot be undone',
    description: 'The key stops working at once, everywhere. An organization always keeps one active key that holds every permission (LAST_ADMIN_KEY).',
    permission: 'api.key.delete',
    success: { status: 200, description: 'The revoked key', schema: 'KeyView' },
    errors: ['KEY_NOT_FOUND', 'KEY_ALREADY_REVOKED', 'PRIVILEGE_ESCALATION', 'LAST_ADMIN_KEY'],
  },
  rotateKey: {
    method: 'POST',
    path: '/v1/keys/:id/rotate',
    tag: 'Keys',
    summary: 'Issue a successor with the same role, settings and expiry; the old key expires after the grace period (at most the organization\'s maxGracePeriod)',
    description: 'Both keys work during the grace period, so consumers can switch without downtime; a grace period of 0 stops the old key now (a leaked key). The successor\'s secret is returned once.',
    permission: 'api.key.rotate',
    body: 'RotateKeyBody',
    success: { status: 201, description: 'The successor (secret shown once) and the old key', schema: 'RotatedKey' },
    errors: ['KEY_NOT_FOUND', 'KEY_NOT_ACTIVE', 'KEY_ALREADY_ROTATED', 'PRIVILEGE_ESCALATION', 'KEY_LIMIT_REACHED'],
  },
  verifyKey: {
    method: 'POST',
    path: '/v1/verify',
    tag: 'Verify',
    summary: 'For your APIs: check a presented key (and optionally a permission)',
    description: 'Answers 200 whatever the presented key is: valid:true with the key\'s role, permissions and metadata, or valid:false with the code that says why (revoked, expired, unknown, wrong address, missing permission). Only keys of the caller\'s organization are valid.',
    permission: 'api.key.verify',
    body: 'VerifyBody',
    success: { status: 200, description: 'valid:true with the key, or valid:false with the code that says why', schema: 'VerifyResult' },
    errors: [],
  },
  listRoles: {
    method: 'GET',
    path: '/v1/roles',
    tag: 'Roles',
    summary: 'Built-in and custom roles',
    description: 'The built-in roles (admin, key-manager, viewer, verifier) and the organization\'s own, with the permissions each grants.',
    permission: 'role.view',
    success: { status: 200, description: 'Roles', schema: 'RoleList' },
    errors: [],
  },
  getRole: {
    method: 'GET',
    path: '/v1/roles/:id',
    tag: 'Roles',
    summary: 'One role',
    description: 'A built-in or custom role by id.',
    permission: 'role.view',
    success: { status: 200, description: 'The role', schema: 'Role' },
    errors: ['ROLE_NOT_FOUND'],
  },
  createRole: {
    method: 'POST',
    path: '/v1/roles',
    tag: 'Roles',
    summary: 'Define a custom role (only with permissions the caller holds)',
    description: 'A role grants keyward permissions and the organization\'s own (POST /v1/permissions); nobody can define a role that grants more than they hold.',
    permission: 'role.manage',
    body: 'CreateRoleBody',
    success: { status: 201, description: 'The role', schema: 'Role' },
    errors: ['ROLE_EXISTS', 'UNKNOWN_PERMISSION', 'PRIVILEGE_ESCALATION'],
  },
  updateRole: {
    method: 'PATCH',
    path: '/v1/roles/:id',
    tag: 'Roles',
    summary: 'Change a custom role',
    description: 'Renames a custom role or changes what it grants; keys holding it get the new permissions on their next request. Built-in roles cannot change.',
    permission: 'role.manage',
    body: 'UpdateRoleBody',
    success: { status: 200, description: 'The role', schema: 'Role' },
    errors: ['ROLE_NOT_FOUND', 'BUILTIN_ROLE', 'UNKNOWN_PERMISSION', 'PRIVILEGE_ESCALATION'],
  },
  deleteRole: {
    method: 'DELETE',
    path: '/v1/roles/:id',
    tag: 'Roles',
    summary: 'Delete a custom role that no key holds',
    description: 'Move or revoke the keys holding a role first (ROLE_IN_USE). Built-in roles cannot be deleted.',
    permission: 'role.manage',
    success: { status: 204, description: 'Deleted' },
    errors: ['ROLE_NOT_FOUND', 'BUILTIN_ROLE', 'ROLE_IN_USE'],
  },
  listPermissions: {
    method: 'GET',
    path: '/v1/permissions',
    tag: 'Roles',
    summary: 'The permission catalog: keyward\'s own and the organization\'s',
    description: 'Every permission a role can grant: keyward\'s own (builtin) and those the organization defined for its APIs.',
    permission: 'role.view',
    success: { status: 200, description: 'Permissions', schema: 'PermissionList' },
    errors: [],
  },
  createPermission: {
    method: 'POST',
    path: '/v1/permissions',
    tag: 'Roles',
    summary: 'Define a permission for your own API (e.g. geo.read)',
    description: 'Your API then asks /v1/verify for it. The namespaces keyward uses itself (api, role, org, usage, audit, metrics, member) are reserved.',
    permission: 'role.manage',
    body: 'CreatePermissionBody',
    success: { status: 201, description: 'The permission', schema: 'PermissionView' },
    errors: ['PERMISSION_EXISTS'],
  },
  getOrganization: {
    method: 'GET',
    path: '/v1/organization',
    tag: 'Organization',
    summary: 'The organization: plan, active keys against its limit, IP allowlist',
    description: 'Also the rotation interval per environment and the longest grace period a rotation may give.',
    permission: 'org.view',
    success: { status: 200, description: 'The organization', schema: 'OrganizationView' },
    errors: [],
  },
  updateOrganization: {
    method: 'PATCH',
    path: '/v1/organization',
    tag: 'Organization',
    summary: 'Rename, or set rotation intervals per environment (the plan and maxGracePeriod are the service operator\'s)',
    description: 'New rotation intervals apply to keys created from then on. The plan and maxGracePeriod are set by whoever runs the service (SET_BY_OPERATOR).',
    permission: 'org.manage',
    body: 'UpdateOrganizationBody',
    operatorFields: ['plan', 'maxGracePeriod'],
    success: { status: 200, description: 'The organization', schema: 'OrganizationView' },
    errors: ['SET_BY_OPERATOR'],
  },
  getIpAllowlist: {
    method: 'GET',
    path: '/v1/ip-allowlist',
    tag: 'Organization',
    summary: "The organization's IP allowlist, and the address this call came from",
    description: 'When the list is not empty, every key of the organization works only from these addresses and ranges.',
    permission: 'org.view',
    success: { status: 200, description: 'The allowlist', schema: 'IpAllowlistView' },
    errors: [],
  },
  putIpAllowlist: {
    method: 'PUT',
    path: '/v1/ip-allowlist',
    tag: 'Organization',
    summary: "Replace the organization's IP allowlist (empty = any address); refuses to lock out the caller unless force",
    description: 'A list that leaves out the address of this call is refused (SELF_LOCKOUT) unless force is true.',
    permission: 'org.manage',
    body: 'PutIpAllowlistBody',
    success: { status: 200, description: 'The allowlist', schema: 'IpAllowlistView' },
    errors: ['SELF_LOCKOUT'],
  },
  getUsage: {
    method: 'GET',
    path: '/v1/usage',
    tag: 'Activity',
    summary: 'Requests per key per day and outcome (VALID or the error code)',
    description: 'Counts of every use of every key, per UTC day and outcome: the last 30 days unless from and to say otherwise.',
    permission: 'usage.view',
    query: 'UsageQuery',
    success: { status: 200, description: 'Usage counts', schema: 'UsageView' },
    errors: [],
  },
  listAuditLog: {
    method: 'GET',
    path: '/v1/audit-log',
    tag: 'Activity',
    summary: 'Who did what, when, from where: newest first, cursor-paginated (never secrets)',
    description: 'Every change to keys, roles, permissions and organization settings, with the acting key and its address. Follow nextCursor for older events.',
    permission: 'audit.view',
    query: 'AuditQuery',
    success: { status: 200, description: 'A page of audit events', schema: 'AuditPage' },
    errors: [],
  },
} as const satisfies Record<string, RouteSpec>;

export type Api = typeof API;
export type OperationId = keyof Api;
export const OPERATION_IDS = Object.keys(API) as OperationId[];

// ---- types derived from an entry (server handlers and the client share them) ----

/** The `:name` segments of a path, in order: '/v1/keys/:id/rotate' -> ['id']. */
export type PathParamNames<P extends string> = P extends `${string}:${infer Name}/${infer Rest}`
  ? [Name, ...PathParamNames<`/${Rest}`>]
  : P extends `${string}:${infer Name}`
    ? [Name]
    : [];
export type PathParams<K extends OperationId> = { [N in PathParamNames<Api[K]['path']>[number]]: string };

type Named<K extends OperationId, Part extends 'body' | 'query'> = Api[K] extends { [P in Part]: infer N extends SchemaName } ? Schemas[N] : undefined;

/** What a client sends (z.input: defaults may be left out); undefined when the operation takes none. */
export type BodyInput<K extends OperationId> = Named<K, 'body'> extends z.ZodType ? z.input<Named<K, 'body'>> : undefined;
export type QueryInput<K extends OperationId> = Named<K, 'query'> extends z.ZodType ? z.input<Named<K, 'query'>> : undefined;
/** What a handler receives once validated (z.output: defaults filled in). */
export type ParsedBody<K extends OperationId> = Named<K, 'body'> extends z.ZodType ? z.output<Named<K, 'body'>> : undefined;
export type ParsedQuery<K extends OperationId> = Named<K, 'query'> extends z.ZodType ? z.output<Named<K, 'query'>> : undefined;
/** What the operation answers with; void for 204. */
export type Result<K extends OperationId> = Api[K]['success'] extends { schema: infer N extends SchemaName } ? z.output<Schemas[N]> : void;

/** Every path parameter name of a path, at run time (the same order as PathParamNames). */
export const pathParamNames = (path: string): string[] => [...path.matchAll(/:([A-Za-z]+)/g)].map((match) => match[1]!);
