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
import { DEFAULT_INVITATION_EXPIRY } from './api-defaults.ts';
import type { ErrorCode } from './errors.ts';
import { BUILTIN_ROLE_IDS, type Permission } from './permissions.ts';
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
  Activity: 'Usage counts, the audit log and the change feed of keys.',
  People: 'Members of the organization (people who sign in to the dashboard) and the invitations that make them.',
  SignIn: 'Signing in people: invitation acceptance, passkeys (WebAuthn) and OpenID Connect. No caller; each step sets a cookie.',
  Session: "The signed-in member's own session, sessions and passkeys (session cookie only).",
  Incidents: 'Compromised and leaked keys: what was done, when, and who used the key.',
} as const;
export type Tag = keyof typeof TAGS;

export interface RouteSpec {
  method: HttpMethod;
  /** Express-style, e.g. /v1/keys/:id */
  path: `/v1/${string}`;
  tag: Tag;
  summary: string;
  description: string;
  /** What the caller's role must grant; null: any authenticated caller (the test in test/keyservice/permissions.test.ts lists these). */
  permission: Permission | null;
  /**
   * Who may call. Unset: a key (Authorization: Bearer) or a member's session
   * cookie (changes then need the X-CSRF-Token header and the service's own
   * Origin). 'key': keys only. 'session': a signed-in member only.
   * 'public': nobody is authenticated (the sign-in steps; an Origin, if
   * sent, must be the service's own). 'signature': signed by a third party
   * (GitHub secret scanning), no key and no session: the route reads its raw
   * body and verifies the signature in `signatureHeaders` itself, outside
   * the executor (server/secret-scanning.ts).
   */
  auth?: 'key' | 'session' | 'public' | 'signature';
  /** auth 'signature': the request headers carrying the signature, by role. */
  signatureHeaders?: Readonly<Record<string, string>>;
  body?: SchemaName;
  /** Largest body taken, in bytes; unset: 64 KiB (server/body.ts, BODY_LIMIT_BYTES). Past it: PAYLOAD_TOO_LARGE naming the limit. */
  bodyLimitBytes?: number;
  query?: SchemaName;
  /** Top-level body fields that can never be changed (answered with IMMUTABLE_FIELD). */
  immutableFields?: readonly string[];
  /** Top-level body fields only the service operator changes, outside the API (answered with SET_BY_OPERATOR). */
  operatorFields?: readonly string[];
  /**
   * The body's strings never reach the store as text, so U+0000 in them is not
   * refused up front (every other route answers it 400): /v1/verify hashes the
   * presented key (one holding U+0000 is answered valid:false MALFORMED_KEY, as
   * any malformed key) and records the user agent without control characters.
   */
  bodyNeverStored?: true;
  /** No schema: no body (204). */
  success: { status: 200 | 201 | 204; description: string; schema?: SchemaName };
  /** What the operation itself can refuse with, beyond authentication, INSUFFICIENT_PERMISSIONS and VALIDATION_FAILED. */
  errors: readonly ErrorCode[];
}

/**
 * The one endpoint outside /v1 that takes a key: Prometheus' scrape of the
 * main port (text exposition, not a JSON operation, so not in the table). Its
 * permission is declared here and checked by the app from this declaration;
 * test/keyservice/permissions.test.ts holds it to it as it does the table.
 */
export const METRICS_ENDPOINT = { path: '/metrics', permission: 'metrics.view' } as const satisfies { path: string; permission: Permission };

/** The headers GitHub signs a secret scanning report with: ECDSA NIST P-256 with SHA-256 over the raw body, base64 DER. */
export const GITHUB_SIGNATURE_HEADERS = { keyIdentifier: 'Github-Public-Key-Identifier', signature: 'Github-Public-Key-Signature' } as const;

export const API = {
  whoami: {
    method: 'GET',
    path: '/v1/whoami',
    tag: 'Identity',
    summary: 'The calling key, its organization and permissions',
    description: 'What the key in the Authorization header is: its record (never its secret), its organization and the permissions its role grants. Any valid key may ask; a signed-in member asks GET /v1/session.',
    permission: null,
    auth: 'key',
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
    summary: 'Change the name, role, IP allowlist or metadata of a key',
    description: 'Renames a key, moves it to another role, or replaces its IP allowlist or its metadata. Everything else about a key is fixed (IMMUTABLE_FIELD); to get a new secret, rotate it.',
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
    description:
      'The key stops working at once, everywhere. An organization always keeps one active key that holds every permission (LAST_ADMIN_KEY). An optional `reason` (query parameter) is recorded in the audit record: the operator says why it ended a rotated-away key.',
    permission: 'api.key.delete',
    // The reason is a query parameter, not a body: a DELETE's content "has no generally defined semantics" (RFC 9110
    // 9.3.5) and some proxies drop it; Google's AIP-135 gives a delete no body and puts its options (force, etag) in
    // the query, as Kubernetes does for propagationPolicy and GitHub and Okta do for theirs. In the URL it is also
    // refused if it holds something shaped like a secret (KEY_IN_URL), before it could reach the audit log.
    query: 'RevokeKeyQuery',
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
  compromiseKey: {
    method: 'POST',
    path: '/v1/keys/:id/compromise',
    tag: 'Incidents',
    summary: 'Report a key compromised: revoke it now, issue a replacement, open an incident, notify',
    description:
      'The key stops at once (no overlap) and an incident records the reason, the reporter and each step. Unless replace is false, a replacement with the same role and settings is issued and its secret returned once; an operator-managed key (its metadata names an ApiKey) gets its replacement from the operator, which follows GET /v1/events. With notify, the signed notification goes to the alert webhook. The same escalation rules as revoke: the caller must hold what the key holds.',
    permission: 'api.key.compromise',
    body: 'CompromiseKeyBody',
    success: { status: 201, description: 'The incident, the revoked key and the replacement (secret shown once)', schema: 'CompromisedKey' },
    errors: ['KEY_NOT_FOUND', 'KEY_ALREADY_REVOKED', 'PRIVILEGE_ESCALATION', 'LAST_ADMIN_KEY'],
  },
  verifyKey: {
    method: 'POST',
    path: '/v1/verify',
    tag: 'Verify',
    summary: 'For your APIs: check a presented key (and optionally a permission)',
    description: 'Answers 200 whatever the presented key is: valid:true with the key\'s role, permissions and metadata, or valid:false with the code that says why (revoked, expired, unknown, wrong address, missing permission). Only keys of the caller\'s organization are valid.',
    permission: 'api.key.verify',
    body: 'VerifyBody',
    bodyNeverStored: true,
    success: { status: 200, description: 'valid:true with the key, or valid:false with the code that says why', schema: 'VerifyResult' },
    errors: [],
  },
  listRoles: {
    method: 'GET',
    path: '/v1/roles',
    tag: 'Roles',
    summary: 'Built-in and custom roles',
    description: `The built-in roles (${BUILTIN_ROLE_IDS.join(', ')}) and the organization's own, with the permissions each grants.`,
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
    summary: 'Delete a custom role that no key, member or pending invitation holds',
    description: 'Move or revoke the keys holding a role, move its members and revoke the pending invitations that give it first (ROLE_IN_USE). Built-in roles cannot be deleted.',
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
  // ---- the organization's identity provider (issue 23) ----
  getOrganizationOidc: {
    method: 'GET',
    path: '/v1/organization/oidc',
    tag: 'Organization',
    summary: "The identity provider the organization's people sign in with (never its client secret)",
    description: "The organization's own (source organization), else the service-wide one the operator set (source service), which is used when the organization has none.",
    permission: 'org.view',
    success: { status: 200, description: 'The identity provider', schema: 'OidcProviderView' },
    errors: ['OIDC_NOT_CONFIGURED'],
  },
  putOrganizationOidc: {
    method: 'PUT',
    path: '/v1/organization/oidc',
    tag: 'Organization',
    summary: "Set the organization's own identity provider (OpenID Connect): issuer, client, allowed email domains",
    description:
      "Register <dashboard origin>/ as the redirect URI at the provider. The issuer is discovered before anything is stored (OIDC_PROVIDER_UNAVAILABLE when it cannot be). The client secret is write-only: never answered, logged or audited; leave it out to keep the current one. Whoever sets the provider decides who signs in as any member, so the caller must hold every permission (PRIVILEGE_ESCALATION). Sign-in requires a verified email (email_verified) of an allowed domain.",
    permission: 'org.manage',
    body: 'PutOidcProviderBody',
    success: { status: 200, description: 'The identity provider (without its secret)', schema: 'OidcProviderView' },
    errors: ['PRIVILEGE_ESCALATION', 'OIDC_PROVIDER_UNAVAILABLE'],
  },
  deleteOrganizationOidc: {
    method: 'DELETE',
    path: '/v1/organization/oidc',
    tag: 'Organization',
    summary: "Remove the organization's own identity provider (the service-wide one, if any, applies again)",
    description: 'Members who have a passkey sign in with it; the others need the provider back, or an invitation.',
    permission: 'org.manage',
    success: { status: 204, description: 'Removed' },
    errors: ['OIDC_NOT_CONFIGURED', 'PRIVILEGE_ESCALATION'],
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
  listMembers: {
    method: 'GET',
    path: '/v1/members',
    tag: 'People',
    summary: 'Members of the organization',
    description: 'The people who sign in to the dashboard, with their role and status. Pending invitations are listed by GET /v1/invitations.',
    permission: 'member.view',
    success: { status: 200, description: 'Members', schema: 'MemberList' },
    errors: [],
  },
  createMember: {
    method: 'POST',
    path: '/v1/members',
    tag: 'People',
    summary: 'Add a member directly, to sign in through the identity provider (pre-provisioning)',
    description:
      "For an organization with an identity provider (its own or the service's): the person signs in there with this email (verified, of an allowed domain) and is bound to that account at their first sign-in. Only with a role the caller may grant. Without a provider, invite people instead (INVITATION_REQUIRED).",
    permission: 'member.manage',
    body: 'CreateMemberBody',
    success: { status: 201, description: 'The member', schema: 'MemberView' },
    errors: ['UNKNOWN_ROLE', 'PRIVILEGE_ESCALATION', 'MEMBER_EXISTS', 'INVITATION_REQUIRED', 'EMAIL_DOMAIN_NOT_ALLOWED'],
  },
  getMember: {
    method: 'GET',
    path: '/v1/members/:id',
    tag: 'People',
    summary: 'One member',
    description: 'A member of the caller\'s organization by id.',
    permission: 'member.view',
    success: { status: 200, description: 'The member', schema: 'MemberView' },
    errors: ['MEMBER_NOT_FOUND'],
  },
  updateMember: {
    method: 'PATCH',
    path: '/v1/members/:id',
    tag: 'People',
    summary: "Change a member's role, display name or status",
    description: 'Only to a role the caller may grant, and only for a member whose role the caller could grant (PRIVILEGE_ESCALATION). A lower role or a suspension ends the member\'s sessions at once. The organization keeps one active admin member (LAST_ADMIN_MEMBER).',
    permission: 'member.manage',
    body: 'UpdateMemberBody',
    immutableFields: ['id', 'email', 'organizationId', 'createdAt'],
    success: { status: 200, description: 'The member', schema: 'MemberView' },
    errors: ['MEMBER_NOT_FOUND', 'IMMUTABLE_FIELD', 'UNKNOWN_ROLE', 'PRIVILEGE_ESCALATION', 'LAST_ADMIN_MEMBER'],
  },
  removeMember: {
    method: 'DELETE',
    path: '/v1/members/:id',
    tag: 'People',
    summary: 'Remove a member: their sessions end at once, their passkeys go',
    description: 'Their open sessions fail on their next request. The organization keeps one active admin member (LAST_ADMIN_MEMBER).',
    permission: 'member.manage',
    success: { status: 200, description: 'The removed member', schema: 'MemberView' },
    errors: ['MEMBER_NOT_FOUND', 'PRIVILEGE_ESCALATION', 'LAST_ADMIN_MEMBER'],
  },
  createInvitation: {
    method: 'POST',
    path: '/v1/invitations',
    tag: 'People',
    summary: 'Invite a person: a one-time link, shown once (and mailed when SMTP is configured)',
    description: `The link holds a random token stored only as a hash; it works once, until it expires (expiresIn, default ${DEFAULT_INVITATION_EXPIRY}) or is revoked. Only with a role the caller may grant.`,
    permission: 'member.manage',
    body: 'CreateInvitationBody',
    success: { status: 201, description: 'The invitation and its link (shown once)', schema: 'CreatedInvitation' },
    errors: ['UNKNOWN_ROLE', 'PRIVILEGE_ESCALATION', 'MEMBER_EXISTS'],
  },
  listInvitations: {
    method: 'GET',
    path: '/v1/invitations',
    tag: 'People',
    summary: 'Invitations (pending, accepted, expired, revoked); never their links',
    description: 'Newest last. The links were shown once, at creation.',
    permission: 'member.view',
    success: { status: 200, description: 'Invitations', schema: 'InvitationList' },
    errors: [],
  },
  revokeInvitation: {
    method: 'DELETE',
    path: '/v1/invitations/:id',
    tag: 'People',
    summary: 'Revoke an invitation: its link stops working',
    description: 'An accepted invitation cannot be revoked (remove the member instead).',
    permission: 'member.manage',
    success: { status: 200, description: 'The revoked invitation', schema: 'InvitationView' },
    errors: ['INVITATION_NOT_FOUND', 'INVITATION_USED', 'INVITATION_REVOKED'],
  },
  signInMethods: {
    method: 'GET',
    path: '/v1/auth/methods',
    tag: 'SignIn',
    summary: 'How people can sign in here',
    description:
      "Passkeys always; the identity provider of the organization named by ?organization=<id> (its own, else the service's), or without it of the service's default organization; the break-glass key sign-in only when the operator enabled it.",
    permission: null,
    auth: 'public',
    query: 'SignInMethodsQuery',
    success: { status: 200, description: 'Sign-in methods', schema: 'SignInMethods' },
    errors: ['ORGANIZATION_NOT_FOUND'],
  },
  previewInvitation: {
    method: 'POST',
    path: '/v1/auth/invitation',
    tag: 'SignIn',
    summary: 'What an invitation link is for (email, role, organization)',
    description: 'The token is sent in the body, never in a URL.',
    permission: null,
    auth: 'public',
    body: 'InvitationTokenBody',
    success: { status: 200, description: 'The invitation', schema: 'InvitationPreview' },
    errors: ['INVITATION_NOT_FOUND', 'INVITATION_EXPIRED', 'INVITATION_USED', 'INVITATION_REVOKED', 'INVITATION_ROLE_DELETED'],
  },
  invitationPasskeyOptions: {
    method: 'POST',
    path: '/v1/auth/invitation/passkey-options',
    tag: 'SignIn',
    summary: 'Start registering the passkey that accepts an invitation',
    description: 'WebAuthn creation options for navigator.credentials.create; the challenge is kept server-side for a few minutes under a cookie.',
    permission: null,
    auth: 'public',
    body: 'InvitationTokenBody',
    success: { status: 200, description: 'Creation options', schema: 'PasskeyOptions' },
    errors: ['INVITATION_NOT_FOUND', 'INVITATION_EXPIRED', 'INVITATION_USED', 'INVITATION_REVOKED', 'INVITATION_ROLE_DELETED', 'FOREIGN_ORIGIN'],
  },
  acceptInvitation: {
    method: 'POST',
    path: '/v1/auth/invitation/accept',
    tag: 'SignIn',
    summary: 'Accept an invitation with a new passkey: become a member, signed in',
    description: 'Verifies the registration, then in one step marks the invitation used, creates the member and the passkey and starts a session (cookie).',
    permission: null,
    auth: 'public',
    body: 'AcceptInvitationBody',
    success: { status: 201, description: 'Signed in', schema: 'SessionView' },
    errors: ['INVITATION_NOT_FOUND', 'INVITATION_EXPIRED', 'INVITATION_USED', 'INVITATION_REVOKED', 'INVITATION_ROLE_DELETED', 'MEMBER_EXISTS', 'CEREMONY_EXPIRED', 'PASSKEY_REJECTED', 'FOREIGN_ORIGIN'],
  },
  passkeyOptions: {
    method: 'POST',
    path: '/v1/auth/passkey/options',
    tag: 'SignIn',
    summary: 'Start signing in with a passkey',
    description: 'WebAuthn request options for navigator.credentials.get (discoverable credentials: no email needed).',
    permission: null,
    auth: 'public',
    success: { status: 200, description: 'Request options', schema: 'PasskeyOptions' },
    errors: ['FOREIGN_ORIGIN'],
  },
  passkeySignIn: {
    method: 'POST',
    path: '/v1/auth/passkey',
    tag: 'SignIn',
    summary: 'Sign in with a passkey',
    description: 'Verifies the assertion against the stored public key and starts a session (cookie).',
    permission: null,
    auth: 'public',
    body: 'PasskeySignInBody',
    success: { status: 201, description: 'Signed in', schema: 'SessionView' },
    errors: ['CEREMONY_EXPIRED', 'PASSKEY_REJECTED', 'FOREIGN_ORIGIN'],
  },
  oidcStart: {
    method: 'POST',
    path: '/v1/auth/oidc/start',
    tag: 'SignIn',
    summary: 'Start signing in with the identity provider (authorization code + PKCE)',
    description:
      "Returns the URL to send the browser to. The organization's provider is used: the invitation's organization with an invitation token (the sign-in then accepts it), else the organization named (its id), else the one a work email finds (Sign in with SSO: the one organization whose provider allows the email's domain; none or several is SSO_NOT_FOUND, and nothing else about organizations is told), else the service's default organization. Email lookups that find nothing count per client address; too many in the failed-authentication window and every lookup from it is RATE_LIMITED for the throttle duration.",
    permission: null,
    auth: 'public',
    body: 'OidcStartBody',
    success: { status: 200, description: 'Where to go', schema: 'OidcStart' },
    errors: ['SSO_NOT_FOUND', 'RATE_LIMITED', 'OIDC_NOT_CONFIGURED', 'OIDC_PROVIDER_UNAVAILABLE', 'ORGANIZATION_NOT_FOUND', 'INVITATION_NOT_FOUND', 'INVITATION_EXPIRED', 'INVITATION_USED', 'INVITATION_REVOKED', 'INVITATION_ROLE_DELETED', 'FOREIGN_ORIGIN'],
  },
  oidcCallback: {
    method: 'POST',
    path: '/v1/auth/oidc/callback',
    tag: 'SignIn',
    summary: "Finish signing in with the identity provider's answer",
    description: 'The dashboard posts the query string the provider redirected back with. The email must be verified (email_verified) and of an allowed domain, and belong to a member (or to the invitation being accepted).',
    permission: null,
    auth: 'public',
    body: 'OidcCallbackBody',
    success: { status: 201, description: 'Signed in', schema: 'SessionView' },
    errors: [
      'OIDC_NOT_CONFIGURED',
      'OIDC_PROVIDER_UNAVAILABLE',
      'CEREMONY_EXPIRED',
      'OIDC_FAILED',
      'EMAIL_NOT_VERIFIED',
      'EMAIL_DOMAIN_NOT_ALLOWED',
      'NOT_A_MEMBER',
      'INVITATION_EMAIL_MISMATCH',
      'INVITATION_NOT_FOUND',
      'INVITATION_EXPIRED',
      'INVITATION_USED',
      'INVITATION_REVOKED',
      'INVITATION_ROLE_DELETED',
      'MEMBER_EXISTS',
      'FOREIGN_ORIGIN',
    ],
  },
  getSession: {
    method: 'GET',
    path: '/v1/session',
    tag: 'Session',
    summary: 'The signed-in member, their permissions and the CSRF token',
    description: 'The dashboard asks this first: who is signed in, and the X-CSRF-Token to send with every change.',
    permission: null,
    auth: 'session',
    success: { status: 200, description: 'The session', schema: 'SessionView' },
    errors: ['SESSION_REQUIRED'],
  },
  signOut: {
    method: 'DELETE',
    path: '/v1/session',
    tag: 'Session',
    summary: 'Sign out (this session)',
    description: 'Ends the session and clears its cookie.',
    permission: null,
    auth: 'session',
    success: { status: 204, description: 'Signed out' },
    errors: ['SESSION_REQUIRED', 'CSRF_TOKEN_MISSING', 'FOREIGN_ORIGIN'],
  },
  listMySessions: {
    method: 'GET',
    path: '/v1/me/sessions',
    tag: 'Session',
    summary: "The signed-in member's sessions (never their tokens)",
    description: 'Where and when this member is signed in.',
    permission: null,
    auth: 'session',
    success: { status: 200, description: 'Sessions', schema: 'SessionList' },
    errors: ['SESSION_REQUIRED'],
  },
  signOutEverywhere: {
    method: 'DELETE',
    path: '/v1/me/sessions',
    tag: 'Session',
    summary: 'Sign out everywhere: every session of this member ends',
    description: 'This one included; its cookie is cleared.',
    permission: null,
    auth: 'session',
    success: { status: 204, description: 'Signed out everywhere' },
    errors: ['SESSION_REQUIRED', 'CSRF_TOKEN_MISSING', 'FOREIGN_ORIGIN'],
  },
  listMyPasskeys: {
    method: 'GET',
    path: '/v1/me/passkeys',
    tag: 'Session',
    summary: "The signed-in member's passkeys",
    description: 'Names and when they were added and last used.',
    permission: null,
    auth: 'session',
    success: { status: 200, description: 'Passkeys', schema: 'PasskeyList' },
    errors: ['SESSION_REQUIRED'],
  },
  myPasskeyOptions: {
    method: 'POST',
    path: '/v1/me/passkeys/options',
    tag: 'Session',
    summary: 'Start adding another passkey',
    description: 'WebAuthn creation options; the member\'s existing passkeys are excluded.',
    permission: null,
    auth: 'session',
    success: { status: 200, description: 'Creation options', schema: 'PasskeyOptions' },
    errors: ['SESSION_REQUIRED', 'CSRF_TOKEN_MISSING', 'FOREIGN_ORIGIN'],
  },
  addMyPasskey: {
    method: 'POST',
    path: '/v1/me/passkeys',
    tag: 'Session',
    summary: 'Add another passkey',
    description: 'Verifies the registration started by POST /v1/me/passkeys/options.',
    permission: null,
    auth: 'session',
    body: 'AddPasskeyBody',
    success: { status: 201, description: 'The passkey', schema: 'PasskeyView' },
    errors: ['SESSION_REQUIRED', 'CSRF_TOKEN_MISSING', 'FOREIGN_ORIGIN', 'CEREMONY_EXPIRED', 'PASSKEY_REJECTED'],
  },
  removeMyPasskey: {
    method: 'DELETE',
    path: '/v1/me/passkeys/:id',
    tag: 'Session',
    summary: 'Remove one of your passkeys',
    description: 'Not the last one, unless the identity provider can sign you in (LAST_PASSKEY).',
    permission: null,
    auth: 'session',
    success: { status: 204, description: 'Removed' },
    errors: ['SESSION_REQUIRED', 'CSRF_TOKEN_MISSING', 'FOREIGN_ORIGIN', 'PASSKEY_NOT_FOUND', 'LAST_PASSKEY'],
  },
  listIncidents: {
    method: 'GET',
    path: '/v1/incidents',
    tag: 'Incidents',
    summary: 'Compromise and leak reports, newest first, cursor-paginated',
    description: 'Each incident names the key, who reported it and how (a key through the API, or GitHub secret scanning), what was done and when, and each delivery of its notification.',
    permission: 'incident.view',
    query: 'ListIncidentsQuery',
    success: { status: 200, description: 'A page of incidents', schema: 'IncidentList' },
    errors: [],
  },
  getIncident: {
    method: 'GET',
    path: '/v1/incidents/:id',
    tag: 'Incidents',
    summary: 'One incident, with the investigation view: the key\'s uses before the report and its audit trail',
    description:
      'The incident, and what an investigation starts from: the uses of the key in the days before the report, per day and outcome and by client address, outcome and requested permission (count, first and last seen, accepted and refused uses alike), each address marked when it used no other key of the organization in that window; where the key was last used from, and its audit records.',
    permission: 'incident.view',
    success: { status: 200, description: 'The incident', schema: 'IncidentDetail' },
    errors: ['INCIDENT_NOT_FOUND'],
  },
  githubSecretScanning: {
    method: 'POST',
    path: '/v1/secret-scanning/github',
    tag: 'Incidents',
    summary: "GitHub secret scanning partner endpoint: tokens GitHub found in public places",
    description:
      "For GitHub's secret scanning partner program (served while KEYWARD_SECRET_SCANNING is on, the default). No key and no session: the raw body must be signed by one of GitHub's published keys (Github-Public-Key-Identifier names it, Github-Public-Key-Signature holds the signature); nothing is looked up before the signature holds, so an unsigned caller learns nothing about any token. Each token is judged by its checksum, then looked up; ours are accepted durably as incidents before the answer and handled after it by the organization's leak policy (rotate, revoke or notify). A token reported twice opens one incident. The answer is the program's feedback format.",
    permission: null,
    auth: 'signature',
    signatureHeaders: GITHUB_SIGNATURE_HEADERS,
    body: 'SecretScanningReport',
    bodyLimitBytes: 4 * 1024 * 1024,
    success: { status: 200, description: 'Feedback per reported token: true_positive (one of our keys) or false_positive', schema: 'SecretScanningFeedback' },
    // ROUTE_NOT_FOUND: what a service with KEYWARD_SECRET_SCANNING=off answers here.
    errors: ['SIGNATURE_INVALID', 'ROUTE_NOT_FOUND'],
  },
  listEvents: {
    method: 'GET',
    path: '/v1/events',
    tag: 'Activity',
    summary: 'The change feed of keys: created, edited, rotated, revoked, compromised; resumable, long poll',
    description:
      'Key changes in commit order, from the cursor given in after (every replica serves the same feed). With wait, the call waits up to that long for a change when there is none. Without after it returns only the current cursor, to start following from now. Items name the key and its metadata, never a secret.',
    permission: 'api.key.view',
    query: 'EventsQuery',
    success: { status: 200, description: 'Changes after the cursor, and the cursor to pass next', schema: 'EventList' },
    errors: [],
  },
} as const satisfies Record<string, RouteSpec>;

export type Api = typeof API;
export type OperationId = keyof Api;
export const OPERATION_IDS = Object.keys(API) as OperationId[];
/** The operations the executor runs: all but those signed by a third party (auth 'signature'), which verify their own signature. */
export type ExecutedOperationId = { [K in OperationId]: Api[K] extends { auth: 'signature' } ? never : K }[OperationId];
export const isExecuted = (operationId: OperationId): operationId is ExecutedOperationId => (API[operationId] as RouteSpec).auth !== 'signature';

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
