/**
 * Every failure a client can cause has its own code, HTTP status and a hint
 * that says what to do. The wire shape is {"error":{code,message,hint}}.
 */
export const ERROR_CATALOG = {
  // Authentication: which of the "Invalid API Key" causes hit.
  MISSING_AUTHORIZATION: { status: 401, hint: 'Send the secret as "Authorization: Bearer <secret>".' },
  MISSING_BEARER: { status: 401, hint: 'The Authorization header must start with "Bearer " followed by the secret key.' },
  MALFORMED_AUTHORIZATION: { status: 401, hint: 'Use exactly one space between "Bearer" and the secret, and nothing after the secret.' },
  KEY_HAS_WHITESPACE: { status: 401, hint: 'The key contains spaces, tabs or line breaks, usually picked up when copying. Remove them and try again.' },
  KEY_ID_USED_AS_SECRET: { status: 401, hint: 'That is a Key ID (key_…), which is public. Send the secret key that was shown once when the key was created.' },
  MALFORMED_KEY: { status: 401, hint: 'This does not look like a keyward secret. Check that you copied the whole secret key.' },
  KEY_TRUNCATED: { status: 401, hint: 'The secret is shorter than a keyward secret: it was probably cut off when copied. Copy it again in full.' },
  KEY_CHECKSUM_MISMATCH: { status: 401, hint: 'The secret has a typo (its checksum does not match). Copy it again instead of retyping it.' },
  UNKNOWN_KEY: { status: 401, hint: 'No key with this secret exists here. Check the service URL (is this the right environment?) and that the key was not created elsewhere.' },
  KEY_REVOKED: { status: 401, hint: 'This key was revoked and cannot be used again. Create a new key and deploy it.' },
  KEY_EXPIRED: { status: 401, hint: 'This key expired (for example at the end of a rotation grace period). Use its successor or create a new key.' },
  // People: sessions (the dashboard's cookie) and sign-in.
  SESSION_REQUIRED: { status: 401, hint: 'Sign in to the dashboard (passkey or your identity provider): this operation is for people, not keys.' },
  UNKNOWN_SESSION: { status: 401, hint: 'This session ended (signed out, the member was removed or their role changed). Sign in again.' },
  SESSION_EXPIRED: { status: 401, hint: 'The session timed out. Sign in again.' },
  CSRF_TOKEN_MISSING: { status: 403, hint: 'Changes made with the session cookie must send the X-CSRF-Token header from GET /v1/session.' },
  FOREIGN_ORIGIN: { status: 403, hint: 'Cookie-authenticated changes are accepted only from the dashboard\'s own origin.' },
  PASSKEY_REJECTED: { status: 401, hint: 'The passkey did not verify. Try again, or sign in with another passkey or your identity provider.' },
  CEREMONY_EXPIRED: { status: 400, hint: 'The sign-in step took too long or was already used. Start again.' },
  OIDC_NOT_CONFIGURED: { status: 404, hint: 'No identity provider for this organization (PUT /v1/organization/oidc) nor for the service (KEYWARD_OIDC_ISSUER); sign in with a passkey.' },
  OIDC_FAILED: { status: 401, hint: 'The identity provider\'s answer could not be verified. Start the sign-in again.' },
  SSO_NOT_FOUND: {
    status: 404,
    hint: "Sign in with a passkey, or at your organization's own sign-in address (#/sign-in?organization=…, on its Members page); its admin can add your email domain to its identity provider.",
  },
  OIDC_PROVIDER_UNAVAILABLE: { status: 502, hint: "The identity provider's discovery document (<issuer>/.well-known/openid-configuration) could not be fetched or read: check the issuer and that the provider is up, then retry." },
  EMAIL_NOT_VERIFIED: { status: 403, hint: 'Your identity provider does not vouch for your email address (email_verified). Verify it there first.' },
  EMAIL_DOMAIN_NOT_ALLOWED: { status: 403, hint: 'Sign in with an account of one of the organization\'s allowed email domains.' },
  NOT_A_MEMBER: { status: 403, hint: 'Ask an admin of the organization for an invitation.' },
  INVITATION_NOT_FOUND: { status: 404, hint: 'The invitation link is wrong or incomplete. Ask for a new invitation.' },
  INVITATION_EXPIRED: { status: 410, hint: 'The invitation expired. Ask for a new one.' },
  INVITATION_USED: { status: 409, hint: 'This invitation was already accepted. Sign in instead.' },
  INVITATION_REVOKED: { status: 410, hint: 'The invitation was revoked. Ask for a new one.' },
  INVITATION_ROLE_DELETED: { status: 409, hint: 'The role this invitation gives was deleted. Ask for a new invitation.' },
  INVITATION_EMAIL_MISMATCH: { status: 403, hint: 'Sign in with the account of the email address the invitation was sent to.' },
  // Authorization.
  INSUFFICIENT_PERMISSIONS: { status: 403, hint: 'Use a key whose role grants this permission, or ask an admin to change the role.' },
  PRIVILEGE_ESCALATION: { status: 403, hint: 'A key can only grant permissions it holds itself. Use a key with a broader role.' },
  IP_NOT_ALLOWED: { status: 403, hint: 'Add this address to the IP allowlist, or call from an allowed network.' },
  KEY_LIMIT_REACHED: { status: 403, hint: 'Revoke unused keys or upgrade the plan.' },
  SET_BY_OPERATOR: {
    status: 403,
    hint: 'Ask whoever runs this keyward service: `keyward org set-plan` and `keyward org set-max-grace-period` change these settings in the store.',
  },
  SIGNATURE_INVALID: {
    status: 401,
    hint: 'Only GitHub secret scanning may call this endpoint: the body must be signed (Github-Public-Key-Signature) with a key GitHub publishes (Github-Public-Key-Identifier).',
  },
  RATE_LIMITED: { status: 429, hint: 'Too many failed attempts from this address (keys that did not authenticate, or sign-in lookups that found nothing). Wait for Retry-After seconds, then check the key or email you are sending.' },
  // Request shape.
  INVALID_JSON: { status: 400, hint: 'The request body must be valid JSON.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, hint: 'Send the body with "Content-Type: application/json".' },
  VALIDATION_FAILED: { status: 400, hint: 'Fix the fields listed in details and send the request again.' },
  IMMUTABLE_FIELD: { status: 400, hint: 'Only the name, role, IP allowlist and metadata of a key can be changed. To get a new secret, rotate the key.' },
  UNKNOWN_ROLE: { status: 400, hint: 'List the roles with GET /v1/roles and use one of their ids.' },
  UNKNOWN_PLAN: { status: 400, hint: 'Use one of the plans the service is configured with (KEYWARD_PLANS).' },
  UNKNOWN_PERMISSION: { status: 400, hint: 'List the permissions with GET /v1/permissions, or define your own with POST /v1/permissions.' },
  KEY_IN_URL: {
    status: 400,
    hint: 'Send keys only in the "Authorization: Bearer <secret>" header, never in a URL: URLs are kept in proxy, browser and server logs. Rotate this key, since its secret has been exposed.',
  },
  PAYLOAD_TOO_LARGE: { status: 413, hint: "The body is larger than this route takes (the message names its limit; most take 64 KiB): send less in one request." },
  // Resources.
  ROUTE_NOT_FOUND: { status: 404, hint: 'Check the service URL: the API lives under /v1 (see /openapi.json).' },
  METHOD_NOT_ALLOWED: { status: 405, hint: 'See /openapi.json for the methods this path accepts.' },
  KEY_NOT_FOUND: { status: 404, hint: 'Check the Key ID (key_…). Keys of other organizations are not visible.' },
  ROLE_NOT_FOUND: { status: 404, hint: 'List the roles with GET /v1/roles.' },
  INCIDENT_NOT_FOUND: { status: 404, hint: 'List the incidents with GET /v1/incidents.' },
  ORGANIZATION_NOT_FOUND: { status: 404, hint: 'Check the organization id.' },
  MEMBER_NOT_FOUND: { status: 404, hint: 'List the members with GET /v1/members.' },
  PASSKEY_NOT_FOUND: { status: 404, hint: 'List your passkeys with GET /v1/me/passkeys.' },
  INVITATION_REQUIRED: { status: 409, hint: 'Without an identity provider a person joins through an invitation (POST /v1/invitations), which registers their passkey.' },
  MEMBER_EXISTS: { status: 409, hint: 'This person is already a member: change their role instead of inviting them again.' },
  LAST_ADMIN_MEMBER: { status: 409, hint: 'Make another member an admin first: an organization with members always keeps one active admin member.' },
  LAST_PASSKEY: { status: 409, hint: 'Add another passkey first (or link your identity provider): removing the last one would lock you out.' },
  KEY_ALREADY_REVOKED: { status: 409, hint: 'Revocation cannot be undone; nothing to do.' },
  KEY_NOT_ACTIVE: { status: 409, hint: 'Only active keys can be rotated or edited. Rotate or edit its successor instead.' },
  KEY_ALREADY_ROTATED: { status: 409, hint: 'Rotate the successor key instead.' },
  LAST_ADMIN_KEY: {
    status: 409,
    hint: 'Create another admin key first (role "admin", without an expiry), then revoke or change this one: an organization always keeps an active key that holds every permission and works as long as its longest-lived admin key.',
  },
  SELF_LOCKOUT: { status: 409, hint: 'Add your own address (or its range) to the list, or send "force": true if you really mean to lock this address out.' },
  ROLE_IN_USE: { status: 409, hint: 'Move the keys and members that hold this role to another role (or revoke the keys), and revoke the pending invitations that give it, then delete the role.' },
  ROLE_EXISTS: { status: 409, hint: 'Choose another role id.' },
  BUILTIN_ROLE: { status: 409, hint: 'Built-in roles cannot be changed; create a custom role instead.' },
  PERMISSION_EXISTS: { status: 409, hint: 'Choose another permission name.' },
  IDEMPOTENCY_KEY_REUSED: { status: 409, hint: 'A key was already created with this idempotency key; its secret cannot be shown again. Revoke it if it was never delivered.' },
  // Server side.
  SERVICE_UNAVAILABLE: { status: 503, hint: 'The service is starting or shutting down; retry shortly.' },
  INTERNAL: { status: 500, hint: 'This is a bug in keyward. Report it with the request id (details.requestId, also the X-Request-Id header): the service log has the stack under that id.' },
} as const satisfies Record<string, { status: number; hint: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

/** The codes that mean "this caller could not prove who it is" (401), plus an address refused by an allowlist. */
export const AUTHENTICATION_ERRORS = [
  'MISSING_AUTHORIZATION',
  'MISSING_BEARER',
  'MALFORMED_AUTHORIZATION',
  'KEY_HAS_WHITESPACE',
  'KEY_ID_USED_AS_SECRET',
  'MALFORMED_KEY',
  'KEY_TRUNCATED',
  'KEY_CHECKSUM_MISMATCH',
  'UNKNOWN_KEY',
  'KEY_REVOKED',
  'KEY_EXPIRED',
  'IP_NOT_ALLOWED',
  'UNKNOWN_SESSION',
  'SESSION_EXPIRED',
] as const satisfies readonly ErrorCode[];

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  hint: string;
  details?: unknown;
}

export class KeywardError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly hint: string;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, options: { hint?: string; details?: unknown } = {}) {
    super(message);
    this.name = 'KeywardError';
    this.code = code;
    this.status = ERROR_CATALOG[code].status;
    this.hint = options.hint ?? ERROR_CATALOG[code].hint;
    this.details = options.details;
  }

  toBody(): ErrorBody {
    const body: ErrorBody = { code: this.code, message: this.message, hint: this.hint };
    if (this.details !== undefined) body.details = this.details;
    return body;
  }
}

export const isKeywardError = (e: unknown): e is KeywardError => e instanceof KeywardError;
