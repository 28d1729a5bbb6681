/**
 * One schema per request and response: the server validates with it, the
 * OpenAPI document is generated from it (each exported name is a named
 * component there), the client takes its types from it. The route table
 * (api.ts) names which schema each operation takes and returns.
 */
import { z } from 'zod';
import { DEFAULT_INVITATION_EXPIRY, PAGE_LIMITS } from './api-defaults.ts';
import { DURATION_PATTERN, isDuration, parseDuration } from './duration.ts';
import { ERROR_CATALOG } from './errors.ts';
import { addressProblem, MAX_ALLOWLIST_ENTRIES, parseAllowlistEntry } from './ip.ts';
import { AUDIT_ACTIONS, LEAK_POLICIES, MAX_ADDRESS_ROWS_PER_KEY_DAY } from './model.ts';
import { BUILTIN_ROLE_IDS, PERMISSION_NAME_PATTERN } from './permissions.ts';
import { DEFAULT_QUIET_PERIOD, DEFAULT_REVOKE_OLD, MAX_RECENT_CLIENTS, quietPeriodProblem, REVOKE_OLD_MODES, USER_AGENT_MAX_LENGTH } from './retirement.ts';
import { DEFAULT_ENVIRONMENT, DEFAULT_ROTATION_OVERLAP, ENVIRONMENTS } from './rotation.ts';
import { HIDDEN_OR_CONTROL, withoutHidden } from './text.ts';
import { KEY_ID_PATTERN } from './token.ts';

export const NAME_MAX_LENGTH = 100;

const HIDDEN_OR_CONTROL_MESSAGE = 'must not contain control characters or line breaks, nor bidi or invisible formatting characters (such as U+202E or U+200B)';

/** Free text shown to people: no control, bidi or invisible characters. */
const shownText = (max: number) =>
  z
    .string()
    .max(max, `must be at most ${max} characters`)
    .refine((s) => !HIDDEN_OR_CONTROL.test(s), HIDDEN_OR_CONTROL_MESSAGE);

export const Name = z
  .string()
  .min(1, 'must not be empty')
  .max(NAME_MAX_LENGTH, `must be at most ${NAME_MAX_LENGTH} characters`)
  .refine((s) => s.trim() === s, 'must not start or end with whitespace')
  .refine((s) => s.trim().length > 0, 'must not be blank')
  .refine((s) => !HIDDEN_OR_CONTROL.test(s), HIDDEN_OR_CONTROL_MESSAGE)
  .transform((s) => s.normalize('NFC'))
  .meta({ description: 'Descriptive label, e.g. "Production Server"', example: 'Production Server' });

export const Description = shownText(500);

/**
 * A member's display name from their identity provider's name claim (any
 * text the provider holds): without hidden or control characters and cut to
 * a Name's length; their email when nothing of it makes a Name.
 */
export function displayNameFromClaim(claim: unknown, email: string): string {
  if (typeof claim !== 'string') return email;
  const parsed = Name.safeParse(withoutHidden(claim).trim().slice(0, NAME_MAX_LENGTH).trim());
  return parsed.success ? parsed.data : email;
}

export const RoleId = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,62}$/, 'must be lowercase letters, digits and dashes, starting with a letter (e.g. "key-manager")')
  .meta({ description: `Role id: built-in (${BUILTIN_ROLE_IDS.join(', ')}) or custom`, example: 'key-manager' });

export const KeyId = z.string().regex(KEY_ID_PATTERN, 'must be a Key ID like key_ followed by 20 letters and digits');

export const Environment = z.enum(ENVIRONMENTS).meta({ description: 'Decides the default rotation interval' });

export const Duration = z
  .string()
  // Bounded: the CRD's CEL rules parse durations, and Kubernetes budgets their cost by length (the longest form, 1w6d23h59m59s999ms, is 18).
  .max(32, 'must be at most 32 characters')
  .regex(DURATION_PATTERN, 'must be a duration like 0, 30s, 15m, 24h, 90d or 1h30m')
  // Only the length is judged here: the pattern above already named a malformed value.
  .refine((s) => !DURATION_PATTERN.test(s) || isDuration(s), 'must be at most ten years')
  .meta({ example: '24h' });

export const PermissionName = z
  .string()
  .regex(PERMISSION_NAME_PATTERN, 'must be dotted lowercase words, e.g. "geo.read"')
  .meta({ example: 'geo.read' });

export const Metadata = z
  .record(
    z.string().min(1).max(64).regex(/^[A-Za-z0-9_.\-/]+$/, 'metadata keys are letters, digits and _ . - /'),
    z.union([shownText(512), z.number(), z.boolean()]),
  )
  .refine((m) => Object.keys(m).length <= 32, 'at most 32 metadata entries')
  .meta({ description: 'Free-form labels returned by verify (never secrets)' });

export const AllowlistEntry = z
  .string()
  .max(64)
  .transform((entry, ctx) => {
    const parsed = parseAllowlistEntry(entry);
    if ('entry' in parsed) return parsed.entry;
    ctx.addIssue({ code: 'custom', message: parsed.problem });
    return z.NEVER;
  });

export const IpAllowlist = z
  .array(AllowlistEntry)
  .max(MAX_ALLOWLIST_ENTRIES, `at most ${MAX_ALLOWLIST_ENTRIES} entries`)
  .transform((entries) => [...new Set(entries)])
  .meta({ description: 'When non-empty, only these addresses may use the key', example: ['10.0.0.0/8', '2001:db8::/32'] });

const IdempotencyKey = z
  .string()
  .min(8)
  .max(128)
  .regex(/^[A-Za-z0-9_.:\-/]+$/, 'must be 8-128 letters, digits and _ . : - /');

const LATEST_INSTANT = Date.parse('9999-12-31T23:59:59.999Z');
const inRange = (ms: number): boolean => ms >= 0 && ms <= LATEST_INSTANT;

/** An ISO 8601 date-time between 1970 and 9999 (UTC), as both stores keep them. */
const DateTime = z.iso
  .datetime({ offset: true, message: 'must be an ISO 8601 date-time, e.g. 2027-01-01T00:00:00Z' })
  // Only the range is judged here (a text that does not parse was named above).
  .refine((s) => Number.isNaN(Date.parse(s)) || inRange(Date.parse(s)), 'must be between 1970-01-01 and 9999-12-31 (UTC)');

const FutureDateTime = DateTime.refine((s) => Number.isNaN(Date.parse(s)) || Date.parse(s) > Date.now(), 'must be in the future');

export const CreateKeyBody = z.strictObject({
  name: Name,
  role: RoleId,
  environment: Environment.default(DEFAULT_ENVIRONMENT),
  expiresAt: FutureDateTime.optional(),
  metadata: Metadata.default({}),
  ipAllowlist: IpAllowlist.default([]),
  idempotencyKey: IdempotencyKey.optional()
    .meta({ description: 'Makes creation safe to retry: a second create with the same value fails with IDEMPOTENCY_KEY_REUSED naming the first key' }),
});
export type CreateKeyBody = z.input<typeof CreateKeyBody>;

export const UpdateKeyBody = z
  .strictObject({ name: Name.optional(), role: RoleId.optional(), ipAllowlist: IpAllowlist.optional(), metadata: Metadata.optional().meta({ description: "Replaces the key's metadata" }) })
  .refine((b) => b.name !== undefined || b.role !== undefined || b.ipAllowlist !== undefined || b.metadata !== undefined, 'send name and/or role (or ipAllowlist, metadata)');
export type UpdateKeyBody = z.input<typeof UpdateKeyBody>;

export const RotateKeyBody = z
  .strictObject({
    gracePeriod: Duration.default(DEFAULT_ROTATION_OVERLAP).meta({
      description: `How long the old key keeps working at most (0 = stops now); with revokeOld whenUnused, the hard deadline. Default ${DEFAULT_ROTATION_OVERLAP}.`,
    }),
    revokeOld: z.enum(REVOKE_OLD_MODES).default(DEFAULT_REVOKE_OLD).meta({
      description:
        'How the old key ends: afterGrace (it expires when the grace period ends) or whenUnused (the service revokes it once it has seen no accepted use of it for quietPeriod, and the successor has been used; the grace period stays the deadline).',
    }),
    quietPeriod: Duration.optional().meta({
      description: `With revokeOld whenUnused: how long the old key must go unused before it is revoked; more than 0 and shorter than gracePeriod. Default ${DEFAULT_QUIET_PERIOD}.`,
    }),
    name: Name.optional(),
    idempotencyKey: IdempotencyKey.optional()
      .meta({ description: 'Makes the rotation safe to retry: a second rotation with the same value fails with IDEMPOTENCY_KEY_REUSED naming the successor it made' }),
  })
  .superRefine((body, ctx) => {
    const problem = quietPeriodProblem(body.revokeOld === 'whenUnused', body.quietPeriod, body.gracePeriod);
    if (problem) ctx.addIssue({ code: 'custom', path: ['quietPeriod'], message: problem });
  });
export type RotateKeyBody = z.input<typeof RotateKeyBody>;

/** Longest revocation reason: the compromise reason's bound (the dashboard asks for both in one field); it is in the URL too. */
export const REVOKE_REASON_MAX_LENGTH = 500;

export const RevokeKeyQuery = z.strictObject({
  reason: shownText(REVOKE_REASON_MAX_LENGTH)
    .min(1, 'must not be empty')
    .refine((s) => s.trim() === s, 'must not start or end with whitespace')
    .optional()
    .meta({
      description: `Why the key is revoked, recorded in the audit record (changes.after.reason); at most ${REVOKE_REASON_MAX_LENGTH} characters. Never a secret: it is part of the URL.`,
    }),
});
export type RevokeKeyQuery = z.input<typeof RevokeKeyQuery>;

export const KeyStatusFilter = z.enum(['active', 'expired', 'revoked', 'all']);

const pageLimit = (most: number) => z.coerce.number().int().min(1).max(most).default(PAGE_LIMITS.default);

export const ListKeysQuery = z.strictObject({
  status: KeyStatusFilter.default('active'),
  role: RoleId.optional(),
  environment: Environment.optional(),
  limit: pageLimit(PAGE_LIMITS.keys),
  cursor: z.string().max(200).optional(),
  unusedFor: Duration.optional().meta({ description: 'Only keys not used for this long, e.g. 30d (review and revoke unused keys)' }),
  rotationDue: z.enum(['true', 'false']).optional().meta({ description: 'true: only keys whose rotation is due' }),
});
export type ListKeysQuery = z.input<typeof ListKeysQuery>;

export const VerifyBody = z.strictObject({
  key: z.string().max(512, 'must be at most 512 characters').meta({ description: 'The secret presented to your API' }),
  permission: PermissionName.optional().meta({ description: 'Also require this permission' }),
  ip: z
    .string()
    .max(64)
    // zod's low-level check (issues pushed as superRefine would add them): superRefine makes a closure per parse, and /v1/verify parses this per request.
    .check((payload) => {
      const s = payload.value;
      const problem = s.includes('/') ? 'must be one address, not a range' : addressProblem(s);
      if (problem) payload.issues.push({ code: 'custom', message: `${problem} (an IPv4 or IPv6 address, e.g. 203.0.113.7 or 2001:db8::7)`, input: s, continue: true });
    })
    .optional()
    .meta({ description: "The client's address, checked against the key's and organization's IP allowlists" }),
  userAgent: z
    .string()
    .max(1024, 'must be at most 1024 characters')
    .optional()
    .meta({
      description: `The client's User-Agent as your API saw it: recorded (its first ${USER_AGENT_MAX_LENGTH} characters, without control characters) with the address among the key's recent clients, who still use a rotated key`,
    }),
});
export type VerifyBody = z.input<typeof VerifyBody>;

export const CreateRoleBody = z.strictObject({
  id: RoleId,
  name: Name,
  description: Description.default(''),
  permissions: z.array(PermissionName).min(1, 'a role needs at least one permission').max(64),
});
export type CreateRoleBody = z.input<typeof CreateRoleBody>;

export const UpdateRoleBody = z
  .strictObject({
    name: Name.optional(),
    description: Description.optional(),
    permissions: z.array(PermissionName).min(1).max(64).optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'send name, description and/or permissions');
export type UpdateRoleBody = z.input<typeof UpdateRoleBody>;

export const CreatePermissionBody = z.strictObject({
  name: PermissionName,
  description: Description.default(''),
});
export type CreatePermissionBody = z.input<typeof CreatePermissionBody>;

// ---- responses (documented in OpenAPI; the server builds them from records) ----

export const RecentClient = z.object({
  ip: z.string().nullable(),
  userAgent: z.string().nullable(),
  lastUsedAt: z.string(),
});

export const KeyTransition = z.object({
  revokeOld: z.enum(REVOKE_OLD_MODES),
  quietPeriod: z.string().nullable(),
  rotatedAt: z.string(),
  deadline: z.string().nullable().meta({ description: 'When the old key stops at the latest (the end of the grace period)' }),
  endedAt: z.string().nullable(),
  endedBy: z
    .enum(['unused', 'deadline', 'revoked', 'expired'])
    .nullable()
    .meta({ description: 'unused: revoked by the service after the quiet period; deadline: still in use when the grace period ended; revoked: by a caller; expired: afterGrace ended; null: still in transition' }),
  stragglers: z.array(RecentClient).meta({ description: 'Clients that used the old key since the rotation, within the quiet period (10m for afterGrace) before now or the deadline' }),
});

export const KeyView = z.object({
  id: KeyId,
  organizationId: z.string(),
  name: z.string(),
  role: z.string(),
  environment: Environment,
  status: z.enum(['active', 'expired', 'revoked']),
  hint: z.string().meta({ description: 'Prefix and last four characters of the secret' }),
  metadata: Metadata,
  ipAllowlist: z.array(z.string()),
  createdAt: z.string(),
  createdBy: z.string().nullable(),
  expiresAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  rotationDueAt: z.string(),
  lastUsedAt: z.string().nullable(),
  lastUsedIp: z.string().nullable(),
  rotatedFromId: z.string().nullable(),
  rotatedToId: z.string().nullable(),
  recentClients: z.array(RecentClient).meta({ description: `The latest accepted use per client address and user agent, most recent first (at most ${MAX_RECENT_CLIENTS})` }),
  transition: KeyTransition.nullable().meta({ description: 'For a key that was rotated: how it ends, and who still used it lately (stragglers)' }),
});

export const CreatedKey = z.object({
  key: KeyView,
  secret: z.string().meta({ description: 'Shown once. Store it now: it cannot be retrieved again.' }),
});

export const RotatedKey = CreatedKey.extend({ previous: KeyView });

export const KeyList = z.object({ items: z.array(KeyView), nextCursor: z.string().nullable() });

/** Most keys one batch-get names: an answer of a few hundred KB, one store read. */
export const BATCH_GET_MAX_IDS = 500;
export const BatchGetKeysBody = z.strictObject({
  ids: z.array(KeyId).min(1, 'must name at least one key').max(BATCH_GET_MAX_IDS, `must name at most ${BATCH_GET_MAX_IDS} keys`),
});
export type BatchGetKeysBody = z.input<typeof BatchGetKeysBody>;
export const KeyBatch = z.object({
  items: z.array(KeyView),
  /** Ids named that this organization has no key for (or another organization has). */
  missing: z.array(z.string()),
});

export const Role = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  permissions: z.array(z.string()),
  builtin: z.boolean(),
});

export const RoleList = z.object({ items: z.array(Role) });

/** An entry of the permission catalog: keyward's own (builtin) or the organization's. */
export const PermissionView = z.object({ name: z.string(), description: z.string(), builtin: z.boolean() });

export const PermissionList = z.object({ items: z.array(PermissionView) });

export const VerifyResult = z.object({
  valid: z.boolean(),
  code: z.string().meta({ description: 'VALID, or the error code that names why the key is not valid' }),
  message: z.string().optional(),
  hint: z.string().optional(),
  keyId: z.string().optional(),
  name: z.string().optional(),
  role: z.string().optional(),
  permissions: z.array(z.string()).optional(),
  organizationId: z.string().optional(),
  environment: Environment.optional(),
  expiresAt: z.string().nullable().optional(),
  metadata: Metadata.optional(),
});

/** Every error code the service answers with (src/core/errors.ts), each with its own status and hint. */
export const ErrorCode = z.enum(Object.keys(ERROR_CATALOG) as [keyof typeof ERROR_CATALOG, ...(keyof typeof ERROR_CATALOG)[]]).meta({
  description: 'What went wrong, one code per cause; the hint in the same error says what to do',
});

export const ErrorResponse = z.object({
  error: z.object({
    code: ErrorCode,
    message: z.string().meta({ description: 'What was wrong with this request' }),
    hint: z.string().meta({ description: 'What to do about it' }),
    details: z.unknown().optional().meta({ description: 'For VALIDATION_FAILED: [{ path, message }] per problem; for INTERNAL: { requestId }' }),
  }),
});

const Actor = z.union([
  z.object({ type: z.literal('key'), id: z.string(), name: z.string() }),
  z.object({ type: z.literal('member'), id: z.string(), email: z.string() }),
]);

export const WhoAmI = z.object({
  key: KeyView,
  organization: z.object({ id: z.string(), name: z.string(), plan: z.string() }),
  permissions: z.array(z.string()),
});

// ---- organization, allowlist, usage, audit ----

export const LeakPolicy = z.enum(LEAK_POLICIES).meta({
  description:
    "What a leak report (GitHub secret scanning) does to one of the organization's keys: rotate (revoke now; an operator-managed key gets its replacement from the operator, another key is revoked), revoke, or notify (an incident and a notification; the key keeps working)",
});

export const OrganizationView = z.object({
  id: z.string(),
  name: z.string(),
  plan: z.string(),
  activeKeyLimit: z.number().nullable(),
  activeKeys: z.number(),
  ipAllowlist: z.array(z.string()),
  rotationDays: z.record(z.string(), z.number()),
  maxGracePeriod: z.string().meta({ description: 'Longest grace period a rotation may give; set by the service operator, like the plan' }),
  leakPolicy: LeakPolicy,
  createdAt: z.string(),
});

export const UpdateOrganizationBody = z
  .strictObject({
    name: Name.optional(),
    rotationDays: z
      .strictObject({
        production: z.number().int().min(1).max(3650).optional(),
        staging: z.number().int().min(1).max(3650).optional(),
        development: z.number().int().min(1).max(3650).optional(),
      })
      .optional(),
    leakPolicy: LeakPolicy.optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'send name, rotationDays and/or leakPolicy');
export type UpdateOrganizationBody = z.input<typeof UpdateOrganizationBody>;

export const PutIpAllowlistBody = z.strictObject({
  entries: IpAllowlist,
  force: z.boolean().default(false).meta({ description: 'Save even if it locks out the address making this call' }),
});
export type PutIpAllowlistBody = z.input<typeof PutIpAllowlistBody>;

export const IpAllowlistView = z.object({ entries: z.array(z.string()), callerIp: z.string().nullable() });

const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;
/** A real calendar day (no 2026-13-45, no 2026-02-30) from 1970 on. */
const isCalendarDay = (s: string): boolean => {
  const ms = Date.parse(`${s}T00:00:00Z`);
  return inRange(ms) && new Date(ms).toISOString().slice(0, 10) === s;
};
const Day = z
  .string()
  .regex(DAY_PATTERN, 'must be a day, YYYY-MM-DD')
  // Only the calendar is judged here: the pattern above already named a malformed value.
  .refine((s) => !DAY_PATTERN.test(s) || isCalendarDay(s), 'must be a calendar day from 1970-01-01 to 9999-12-31');

export const UsageQuery = z.strictObject({
  keyId: KeyId.optional(),
  from: Day.optional().meta({ description: 'First day (UTC), default 30 days ago' }),
  to: Day.optional().meta({ description: 'Last day (UTC), default today' }),
});
export type UsageQuery = z.input<typeof UsageQuery>;

export const UsageView = z.object({
  from: z.string(),
  to: z.string(),
  items: z.array(z.object({ keyId: z.string(), day: z.string(), outcome: z.string(), count: z.number() })),
});

export const AuditQuery = z.strictObject({
  action: z.enum(AUDIT_ACTIONS).optional(),
  actorKeyId: KeyId.optional(),
  targetId: z.string().max(100).optional(),
  from: DateTime.optional(),
  to: DateTime.optional(),
  limit: pageLimit(PAGE_LIMITS.auditEvents),
  cursor: z.string().max(100).optional(),
});
export type AuditQuery = z.input<typeof AuditQuery>;

export const AuditEventView = z.object({
  id: z.string(),
  organizationId: z.string(),
  at: z.string(),
  action: z.enum(AUDIT_ACTIONS),
  actorKeyId: z.string().nullable(),
  actor: Actor.nullable().optional().meta({ description: 'The key (id and name) or member (id and email) that acted; null for the service itself' }),
  ip: z.string().nullable(),
  targetType: z.string(),
  targetId: z.string(),
  changes: z.object({ before: z.record(z.string(), z.unknown()).optional(), after: z.record(z.string(), z.unknown()).optional() }).optional(),
});

export const AuditPage = z.object({ items: z.array(AuditEventView), nextCursor: z.string().nullable() });

// ---- people: members, invitations, sessions, passkeys, sign-in ----

export const Email = z
  .email('must be an email address')
  .max(254)
  .transform((s) => s.trim().toLowerCase())
  .meta({ example: 'ada@example.com' });

/** An invitation, session or ceremony token: 32 base62 characters. */
const PeopleToken = z.string().regex(/^[0-9A-Za-z]{32}$/, 'must be the 32-character token from the invitation link');

export const MemberId = z.string().regex(/^mem_[0-9A-Za-z]{20}$/, 'must be a member id like mem_ followed by 20 letters and digits');

export const MemberView = z.object({
  id: z.string(),
  organizationId: z.string(),
  email: z.string(),
  displayName: z.string(),
  role: z.string(),
  status: z.enum(['active', 'suspended']),
  oidcLinked: z.boolean().meta({ description: 'Signs in through the identity provider too' }),
  createdAt: z.string(),
  updatedAt: z.string(),
  lastSignInAt: z.string().nullable(),
});

export const MemberList = z.object({ items: z.array(MemberView) });

export const UpdateMemberBody = z
  .strictObject({ role: RoleId.optional(), displayName: Name.optional(), status: z.enum(['active', 'suspended']).optional() })
  .refine((b) => Object.keys(b).length > 0, 'send role, displayName and/or status');
export type UpdateMemberBody = z.input<typeof UpdateMemberBody>;

export const CreateInvitationBody = z.strictObject({
  email: Email,
  role: RoleId,
  expiresIn: Duration.default(DEFAULT_INVITATION_EXPIRY).meta({ description: `How long the link works (default ${DEFAULT_INVITATION_EXPIRY})` }),
});
export type CreateInvitationBody = z.input<typeof CreateInvitationBody>;

export const InvitationView = z.object({
  id: z.string(),
  organizationId: z.string(),
  email: z.string(),
  role: z.string(),
  status: z.enum(['pending', 'accepted', 'expired', 'revoked']),
  createdAt: z.string(),
  expiresAt: z.string(),
  invitedBy: z.string().nullable(),
  acceptedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  memberId: z.string().nullable(),
});

export const InvitationList = z.object({ items: z.array(InvitationView) });

export const CreatedInvitation = z.object({
  invitation: InvitationView,
  link: z.string().meta({ description: 'Shown once: the one-time link to hand to the person (the token is in its fragment, never sent to a server log)' }),
  mailed: z.boolean().meta({ description: 'Whether the link was also sent by mail (SMTP configured)' }),
});

export const InvitationTokenBody = z.strictObject({ token: PeopleToken });

export const InvitationPreview = z.object({
  email: z.string().meta({ description: 'Empty for the first admin\'s invitation (made at bootstrap): the person gives theirs' }),
  role: z.string(),
  organization: z.object({ id: z.string(), name: z.string() }),
  expiresAt: z.string(),
});

/** A WebAuthn JSON object (options or a credential) as SimpleWebAuthn reads and writes it. */
const WebAuthnJson = z.record(z.string(), z.unknown());

export const PasskeyOptions = z.object({ options: WebAuthnJson });

export const AcceptInvitationBody = z.strictObject({
  token: PeopleToken,
  email: Email.optional().meta({ description: "Yours, when the invitation names none (the first admin's, made at bootstrap)" }),
  displayName: Name,
  credential: WebAuthnJson.meta({ description: 'The registration response of navigator.credentials.create' }),
  passkeyName: Name.default('Passkey'),
});

export const PasskeySignInBody = z.strictObject({ credential: WebAuthnJson.meta({ description: 'The authentication response of navigator.credentials.get' }) });

export const AddPasskeyBody = z.strictObject({ credential: WebAuthnJson, name: Name.default('Passkey') });

export const SessionView = z.object({
  member: MemberView,
  organization: z.object({ id: z.string(), name: z.string(), plan: z.string() }),
  permissions: z.array(z.string()),
  csrfToken: z.string().meta({ description: 'Send as X-CSRF-Token with every change made with the session cookie' }),
  expiresAt: z.string(),
});

export const SignInMethods = z.object({
  passkey: z.boolean(),
  oidc: z.object({ name: z.string() }).nullable(),
  ssoByEmail: z.boolean().meta({
    description: 'Whether a work email can find an identity provider (POST /v1/auth/oidc/start {email}) besides the one in oidc: the page then offers "Sign in with SSO". False when the request names its organization.',
  }),
  keySignIn: z.boolean().meta({ description: 'Break-glass: signing in to the dashboard with a pasted admin key (off unless the operator enabled it)' }),
});

export const OidcStartBody = z
  .strictObject({
    invitationToken: PeopleToken.optional(),
    organization: z.string().min(1).max(64).optional().meta({ description: 'The organization signing in (its id); an invitation names its own' }),
    email: Email.optional().meta({
      description: 'Sign in with SSO: the work email of the person signing in; the organization whose identity provider allows its domain is found (SSO_NOT_FOUND when none or several are), and the provider is told it as login_hint',
    }),
  })
  .refine((body) => [body.invitationToken, body.organization, body.email].filter((v) => v !== undefined).length <= 1, {
    message: 'name at most one of invitationToken, organization and email',
    path: ['email'],
  });
export const OidcStart = z.object({ authorizationUrl: z.string() });
export const OidcCallbackBody = z.strictObject({
  query: z.string().max(4096).meta({ description: 'The query string the identity provider redirected back with (code, state, iss)' }),
});

export const SignInMethodsQuery = z.strictObject({
  organization: z.string().min(1).max(64).optional().meta({ description: "The organization signing in (its id, as invitation previews and sessions name it); unset: the service's default (KEYWARD_OIDC_ORGANIZATION, or the only one)" }),
});

/** An email domain (example.com): what an identity provider's accounts must end in. */
const EmailDomain = z
  .string()
  .max(253)
  .regex(/^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}$/, 'must be a domain name like example.com')
  .transform((s) => s.toLowerCase());

/** Plain http only for a provider on this machine (tests, local development); anything else must be https. */
const isLoopbackHttp = (url: URL): boolean => url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);

export const OidcIssuer = z
  .url('must be the issuer URL, e.g. https://login.example.com')
  .max(2048)
  // Checks run on after a failed one: a text that is no URL at all was reported above already.
  .refine((text) => !URL.canParse(text) || new URL(text).protocol === 'https:' || isLoopbackHttp(new URL(text)), 'must be an https:// URL (http only for a provider on loopback)')
  .refine((text) => !URL.canParse(text) || (!new URL(text).search && !new URL(text).hash), 'must not hold a query or fragment')
  .meta({ example: 'https://login.example.com' });

export const PutOidcProviderBody = z.strictObject({
  issuer: OidcIssuer,
  clientId: z.string().min(1).max(255).meta({ description: "keyward's client id at the provider" }),
  clientSecret: z
    .string()
    .min(1)
    .max(1024)
    .optional()
    .meta({ writeOnly: true, description: 'Write-only: never answered, logged or audited. Required the first time; leave out to keep the current one.' }),
  name: shownText(40).min(1, 'must not be empty').default('your identity provider').meta({ description: 'Shown on the sign-in button: "Sign in with <name>"' }),
  allowedDomains: z.array(EmailDomain).min(1, 'name at least one email domain').max(50).meta({ description: 'Email domains whose accounts may sign in (the email must also be verified)' }),
});
export type PutOidcProviderBody = z.input<typeof PutOidcProviderBody>;

export const OidcProviderView = z.object({
  source: z.enum(['organization', 'service']).meta({ description: "organization: set with PUT /v1/organization/oidc; service: the operator's service-wide provider (KEYWARD_OIDC_ISSUER), used when the organization has none" }),
  issuer: z.string(),
  clientId: z.string(),
  name: z.string(),
  allowedDomains: z.array(z.string()).meta({ description: 'Empty (service-wide only): any domain' }),
  updatedAt: z.string().nullable(),
});

export const CreateMemberBody = z.strictObject({
  email: Email,
  role: RoleId,
  displayName: Name.optional().meta({ description: 'Default: the email address' }),
});
export type CreateMemberBody = z.input<typeof CreateMemberBody>;

export const SessionInfo = z.object({
  id: z.string(),
  createdAt: z.string(),
  lastSeenAt: z.string(),
  expiresAt: z.string(),
  method: z.enum(['passkey', 'oidc', 'invitation']),
  ip: z.string().nullable(),
  userAgent: z.string().nullable().meta({ description: `The browser's User-Agent at sign-in (its first ${USER_AGENT_MAX_LENGTH} characters, without control characters); null when none was sent` }),
  current: z.boolean(),
});
export const SessionList = z.object({ items: z.array(SessionInfo) });

export const PasskeyView = z.object({ id: z.string(), name: z.string(), createdAt: z.string(), lastUsedAt: z.string().nullable() });
export const PasskeyList = z.object({ items: z.array(PasskeyView) });
// ---- compromise, incidents, the change feed ----

export const CompromiseKeyBody = z.strictObject({
  reason: shownText(500)
    .min(1, 'must not be empty')
    .meta({ description: 'Why the key is believed compromised (shown on the incident and in the audit log; never paste the secret here)', example: 'pasted in a public Slack channel' }),
  replace: z.boolean().default(true).meta({
    description: 'Issue a replacement with the same role and settings (its secret is in this response only). An operator-managed key gets its replacement from the operator instead.',
  }),
  notify: z.boolean().default(true).meta({ description: 'Send the signed notification to the alert webhook' }),
});
export type CompromiseKeyBody = z.input<typeof CompromiseKeyBody>;

const IncidentAction = z.object({ at: z.string(), action: z.string(), detail: z.string(), keyId: z.string().optional() });
const NotificationAttempt = z.object({
  at: z.string(),
  attempt: z.number(),
  outcome: z.enum(['delivered', 'refused', 'unreachable', 'not-configured']),
  httpStatus: z.number().nullable(),
});

export const IncidentView = z.object({
  id: z.string(),
  organizationId: z.string(),
  keyId: z.string(),
  keyName: z.string(),
  reason: z.string(),
  reportedAt: z.string(),
  reportedBy: z.object({
    via: z.enum(['api', 'github-secret-scanning']),
    keyId: z.string().nullable(),
    memberId: z.string().optional().meta({ description: 'The member who reported it, signed in to the dashboard (keyId is then null)' }),
    memberEmail: z.string().optional().meta({ description: "That member's email when they reported it" }),
    ip: z.string().nullable(),
    url: z.string().optional(),
    tokenType: z.string().optional(),
    source: z.string().optional(),
  }),
  state: z.enum(['pending', 'handled']),
  response: z.enum(['compromise', ...LEAK_POLICIES]),
  replacementKeyId: z.string().nullable(),
  actions: z.array(IncidentAction).meta({ description: 'What was done and when, oldest first' }),
  notifications: z.array(NotificationAttempt).meta({ description: 'Each delivery attempt of the signed notification' }),
});

export const IncidentDetail = IncidentView.extend({
  investigation: z.object({
    window: z.object({ from: z.string(), to: z.string() }).meta({ description: 'The days before the report that the uses cover' }),
    uses: z.array(z.object({ day: z.string(), outcome: z.string(), count: z.number() })).meta({ description: "The key's uses per day and outcome in the window" }),
    addresses: z
      .array(
        z.object({
          ip: z.string().nullable().meta({ description: "The client's address (a verify call's ip, else the caller's); null when not known" }),
          outcome: z.string().meta({ description: 'VALID, or the error code it was refused with' }),
          permission: z.string().nullable().meta({ description: 'The permission the verify call asked for; null when none' }),
          count: z.number(),
          firstSeen: z.string(),
          lastSeen: z.string(),
          onlyThisKey: z.boolean().nullable().meta({ description: 'The address used no other key of the organization in the window (null: address not known)' }),
        }),
      )
      .meta({ description: `The key's uses in the window by client address, outcome and requested permission (accepted and refused), most first; at most ${MAX_ADDRESS_ROWS_PER_KEY_DAY} rows are kept per key and day` }),
    unitemizedUses: z.number().meta({ description: 'Uses in the window counted in uses but not in addresses (past the rows kept per key and day, or before addresses were recorded)' }),
    lastUsedAt: z.string().nullable(),
    lastUsedIp: z.string().nullable(),
    auditTrail: z.array(AuditEventView).meta({ description: "The key's audit records, newest first" }),
  }),
});

export const IncidentList = z.object({ items: z.array(IncidentView), nextCursor: z.string().nullable() });

export const ListIncidentsQuery = z.strictObject({
  keyId: KeyId.optional(),
  limit: pageLimit(PAGE_LIMITS.incidents),
  cursor: z.string().max(100).optional(),
});
export type ListIncidentsQuery = z.input<typeof ListIncidentsQuery>;

export const CompromisedKey = z.object({
  incident: IncidentView,
  revoked: KeyView,
  replacement: CreatedKey.nullable().meta({ description: 'The replacement and its secret (shown once); null when none was issued here' }),
});

/** Longest a GET /v1/events call may wait for a change (proxies commonly cut idle requests at 60 s). */
export const MAX_EVENTS_WAIT = '50s';

export const EventsQuery = z.strictObject({
  after: z
    .string()
    .regex(/^\d{1,18}$/, 'must be a cursor returned by GET /v1/events')
    .optional()
    .meta({ description: 'Resume after this cursor (the cursor of the last page); without it the feed starts now (only the current cursor is returned)' }),
  wait: Duration.default('0')
    .refine((s) => !isDuration(s) || parseDuration(s) <= parseDuration(MAX_EVENTS_WAIT), `must be at most ${MAX_EVENTS_WAIT}`)
    .meta({ description: `Long poll: wait up to this long for a change when there is none (at most ${MAX_EVENTS_WAIT})` }),
  managed: z.enum(['operator', 'all']).default('all').meta({ description: 'operator: only keys the Kubernetes operator manages (their metadata names an ApiKey)' }),
  limit: z.coerce.number().int().min(1).max(1000).default(500),
});
export type EventsQuery = z.input<typeof EventsQuery>;

export const KeyEventView = z.object({
  cursor: z.string(),
  at: z.string(),
  action: z.enum(AUDIT_ACTIONS),
  keyId: z.string(),
  metadata: Metadata.meta({ description: "The key's metadata (the operator finds its ApiKey there)" }),
  changes: AuditEventView.shape.changes,
});

export const EventList = z.object({
  items: z.array(KeyEventView),
  cursor: z.string().meta({ description: 'Pass it as after= for the next call' }),
});

// ---- GitHub secret scanning (POST /v1/secret-scanning/github; signed by GitHub, no bearer key) ----

/** Most tokens one report may carry. */
export const MAX_REPORTED_TOKENS = 5_000;

export const SecretScanningReport = z
  .array(
    z.object({
      token: z.string().min(1).max(1_000),
      type: z.string().max(200),
      url: z.string().max(2_000).optional(),
      source: z.string().max(200).optional(),
    }),
  )
  .min(1, 'a report holds at least one token')
  .max(MAX_REPORTED_TOKENS, `at most ${MAX_REPORTED_TOKENS} tokens per report`);

export const SecretScanningFeedback = z.array(
  z.object({
    token_hash: z.string().meta({ description: 'SHA-256 of the reported token, hex (the raw token is never sent back)' }),
    token_type: z.string(),
    label: z.enum(['true_positive', 'false_positive']),
  }),
);
