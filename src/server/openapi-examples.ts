/**
 * An example request body and response for every operation of the route
 * table, shown in the API reference. Typed by the route table (a missing
 * operation or a wrong shape is a compile error) and checked against the zod
 * schemas by test/api-reference/openapi.test.ts, so they cannot drift.
 * Secrets here are made up (never a working key).
 */
import type { BodyInput, OperationId, QueryInput, Result } from '../core/api.ts';

const KEY_ID = 'key_3kTMd8ZqvR2LhXw9bN1c';
const SUCCESSOR_ID = 'key_9PqR4sTuVwXyZ0aB1cD2';
const ORG_ID = 'org_4Xn2bQ7wR1tY8uI3oP6a';

const key = {
  id: KEY_ID,
  organizationId: ORG_ID,
  name: 'Production Server',
  role: 'key-manager',
  environment: 'production',
  status: 'active',
  hint: 'kw_…x7Qa',
  metadata: { team: 'payments' },
  ipAllowlist: ['10.0.0.0/8'],
  createdAt: '2026-06-01T09:30:00.000Z',
  createdBy: 'key_0aDmInKeY0000000000a',
  expiresAt: null,
  revokedAt: null,
  rotationDueAt: '2026-08-30T09:30:00.000Z',
  lastUsedAt: '2026-06-14T16:02:11.000Z',
  lastUsedIp: '10.1.2.3',
  rotatedFromId: null,
  rotatedToId: null,
  recentClients: [{ ip: '10.1.2.3', userAgent: 'payments-api/4.2', lastUsedAt: '2026-06-14T16:02:11.000Z' }],
  transition: null,
} as const satisfies Result<'getKey'>;

const successor = { ...key, id: SUCCESSOR_ID, name: 'Production Server v2', hint: 'kw_…M4rT', lastUsedAt: null, lastUsedIp: null, recentClients: [], rotatedFromId: KEY_ID };
const previous = {
  ...key,
  expiresAt: '2026-06-16T09:30:00.000Z',
  rotatedToId: SUCCESSOR_ID,
  transition: { revokeOld: 'afterGrace' as const, quietPeriod: null, rotatedAt: '2026-06-15T09:30:00.000Z', deadline: '2026-06-16T09:30:00.000Z', endedAt: null, endedBy: null, stragglers: [] },
};
const role = { id: 'key-manager', name: 'Key manager', description: 'Creates, rotates and revokes keys.', permissions: ['api.key.view', 'api.key.create', 'api.key.update', 'api.key.rotate', 'api.key.delete'], builtin: true };
const customRole = { id: 'geo-reader', name: 'Geo reader', description: 'Reads the geo API.', permissions: ['geo.read'], builtin: false };
const permission = { name: 'geo.read', description: 'Read the geo API', builtin: false };
const organization = {
  id: ORG_ID,
  name: 'acme',
  plan: 'team',
  activeKeyLimit: 50,
  activeKeys: 12,
  ipAllowlist: [],
  rotationDays: { production: 90, staging: 90, development: 180 },
  maxGracePeriod: '7d',
  leakPolicy: 'rotate' as const,
  createdAt: '2026-01-10T08:00:00.000Z',
};
const allowlist = { entries: ['10.0.0.0/8', '2001:db8::/32'], callerIp: '10.1.2.3' };
const SECRET = 'kw_EXAMPLEnotArealKey0000x7Qa';

// ---- incidents and the change feed ----
const INCIDENT_ID = 'inc_0mbe4k2z0EXAMPLE001';
const REPLACEMENT_ID = 'key_7HjK2mNpQrStUvWx3yZa';
const ADMIN_KEY_ID = 'key_0aDmInKeY0000000000a';
const replacement = { ...key, id: REPLACEMENT_ID, hint: 'kw_…R8sB', lastUsedAt: null, lastUsedIp: null, recentClients: [], rotationDueAt: '2026-09-13T11:20:00.000Z', createdAt: '2026-06-15T11:20:00.000Z', createdBy: ADMIN_KEY_ID };
const incident = {
  id: INCIDENT_ID,
  organizationId: ORG_ID,
  keyId: KEY_ID,
  keyName: key.name,
  reason: 'pasted in a public Slack channel',
  reportedAt: '2026-06-15T11:20:00.000Z',
  reportedBy: { via: 'api' as const, keyId: ADMIN_KEY_ID, ip: '10.1.2.3' },
  state: 'handled' as const,
  response: 'compromise' as const,
  replacementKeyId: REPLACEMENT_ID,
  actions: [
    { at: '2026-06-15T11:20:00.000Z', action: 'revoked', detail: 'Revoked at once, with no overlap.', keyId: KEY_ID },
    { at: '2026-06-15T11:20:00.000Z', action: 'replacement-issued', detail: `Replacement ${REPLACEMENT_ID} ("Production Server") issued with role key-manager; its secret was shown once to the reporter.`, keyId: REPLACEMENT_ID },
  ],
  notifications: [{ at: '2026-06-15T11:20:01.000Z', attempt: 1, outcome: 'delivered' as const, httpStatus: 200 }],
};
const leakIncident = {
  ...incident,
  id: 'inc_0mbd1q7x0EXAMPLE002',
  keyId: 'key_5FgH6jKlMnBvCxZ1aS2d',
  keyName: 'CI deploy',
  reason: 'Reported by GitHub secret scanning',
  reportedAt: '2026-06-12T07:45:00.000Z',
  reportedBy: { via: 'github-secret-scanning' as const, keyId: null, ip: null, url: 'https://github.com/acme/site/blob/0000000/deploy.sh', tokenType: 'keyward_api_key', source: 'content' },
  response: 'rotate' as const,
  replacementKeyId: null,
  actions: [
    { at: '2026-06-12T07:45:00.000Z', action: 'reported', detail: 'Reported by GitHub secret scanning (keyward_api_key); leak policy: rotate.' },
    { at: '2026-06-12T07:45:00.000Z', action: 'revoked', detail: 'Revoked at once, with no overlap.', keyId: 'key_5FgH6jKlMnBvCxZ1aS2d' },
    { at: '2026-06-12T07:45:00.000Z', action: 'no-replacement', detail: 'No replacement issued here (nobody would receive its secret): create a key with the same role and deploy it.' },
  ],
};

// ---- people: members, invitations, sessions, passkeys (tokens are made up, never working ones) ----
const MEMBER_ID = 'mem_2aBcD3eFgH4iJkL5mNoP';
const INVITATION_TOKEN = 'EXAMPLEnotArealInvitationToken00';
const oidcProvider = {
  source: 'organization' as const,
  issuer: 'https://login.example.com',
  clientId: 'keyward',
  name: 'Acme SSO',
  allowedDomains: ['example.com'],
  updatedAt: '2026-06-15T10:00:00.000Z',
};

const member = {
  id: MEMBER_ID,
  organizationId: ORG_ID,
  email: 'ada@example.com',
  displayName: 'Ada Lovelace',
  role: 'key-manager',
  status: 'active' as const,
  oidcLinked: false,
  createdAt: '2026-05-20T10:00:00.000Z',
  updatedAt: '2026-05-20T10:00:00.000Z',
  lastSignInAt: '2026-06-15T08:12:00.000Z',
};
const invitation = {
  id: 'inv_6QwErT7yUiOp8AsDfGhJ',
  organizationId: ORG_ID,
  email: 'grace@example.com',
  role: 'key-manager',
  status: 'pending' as const,
  createdAt: '2026-06-15T09:00:00.000Z',
  expiresAt: '2026-06-22T09:00:00.000Z',
  invitedBy: MEMBER_ID,
  acceptedAt: null,
  revokedAt: null,
  memberId: null,
};
const session = {
  member,
  organization: { id: ORG_ID, name: 'acme', plan: 'team' },
  permissions: role.permissions,
  csrfToken: 'EXAMPLEnotArealCsrfToken0000000',
  expiresAt: '2026-06-15T20:12:00.000Z',
};
const passkey = { id: 'EXAMPLEcredentialId0000000000000000000000000', name: 'MacBook Touch ID', createdAt: '2026-05-20T10:00:00.000Z', lastUsedAt: '2026-06-15T08:12:00.000Z' };
/** WebAuthn JSON as the browser's navigator.credentials produce it (SimpleWebAuthn's shape); every value here is a placeholder. */
const registrationOptions = {
  challenge: 'EXAMPLEchallenge000000000000000000000000000',
  rp: { name: 'keyward', id: 'keys.example.com' },
  user: { id: 'EXAMPLEuserHandle00000000000', name: 'grace@example.com', displayName: 'Grace Hopper' },
  pubKeyCredParams: [{ alg: -8, type: 'public-key' }, { alg: -7, type: 'public-key' }, { alg: -257, type: 'public-key' }],
  timeout: 60000,
  attestation: 'none',
  excludeCredentials: [],
  authenticatorSelection: { residentKey: 'required', userVerification: 'preferred', requireResidentKey: true },
  extensions: { credProps: true },
};
const registration = {
  id: passkey.id,
  rawId: passkey.id,
  type: 'public-key',
  response: { clientDataJSON: 'EXAMPLEclientDataJSON', attestationObject: 'EXAMPLEattestationObject', transports: ['internal', 'hybrid'] },
  clientExtensionResults: { credProps: { rk: true } },
  authenticatorAttachment: 'platform',
};
const authentication = {
  id: passkey.id,
  rawId: passkey.id,
  type: 'public-key',
  response: { clientDataJSON: 'EXAMPLEclientDataJSON', authenticatorData: 'EXAMPLEauthenticatorData', signature: 'EXAMPLEsignature', userHandle: 'EXAMPLEuserHandle00000000000' },
  clientExtensionResults: {},
  authenticatorAttachment: 'platform',
};

export interface OperationExample<K extends OperationId> {
  request?: BodyInput<K>;
  /** Query parameters shown with the operation (each parameter's example). */
  query?: QueryInput<K>;
  response?: Result<K>;
}

/** By operation: every operation has one (test/api-reference/openapi.test.ts says so). */
export const EXAMPLES: { [K in OperationId]: OperationExample<K> } = {
  whoami: { response: { key, organization: { id: ORG_ID, name: 'acme', plan: 'team' }, permissions: role.permissions } },
  createKey: {
    request: { name: 'Production Server', role: 'key-manager', environment: 'production', ipAllowlist: ['10.0.0.0/8'], metadata: { team: 'payments' } },
    response: { key, secret: SECRET },
  },
  listKeys: { response: { items: [key], nextCursor: null } },
  getKey: { response: key },
  batchGetKeys: { request: { ids: [KEY_ID, 'key_0000000000000000none'] }, response: { items: [key], missing: ['key_0000000000000000none'] } },
  updateKey: { request: { name: 'Production Server (EU)' }, response: { ...key, name: 'Production Server (EU)' } },
  revokeKey: {
    query: { reason: 'unused for 10m after the rollout of Deployment/payments finished; successor key_9PqR4sTuVwXyZ0aB1cD2 in use' },
    response: { ...key, status: 'revoked', revokedAt: '2026-06-15T10:00:00.000Z' },
  },
  rotateKey: { request: { gracePeriod: '24h' }, response: { key: successor, secret: 'kw_EXAMPLEnotArealKey0000M4rT', previous } },
  verifyKey: {
    request: { key: SECRET, permission: 'api.key.view', ip: '10.1.2.3' },
    response: { valid: true, code: 'VALID', keyId: KEY_ID, name: key.name, role: key.role, permissions: role.permissions, organizationId: ORG_ID, environment: 'production', expiresAt: null, metadata: key.metadata },
  },
  listRoles: { response: { items: [role, customRole] } },
  getRole: { response: role },
  createRole: { request: { id: 'geo-reader', name: 'Geo reader', description: 'Reads the geo API.', permissions: ['geo.read'] }, response: customRole },
  updateRole: { request: { permissions: ['geo.read', 'geo.write'] }, response: { ...customRole, permissions: ['geo.read', 'geo.write'] } },
  deleteRole: {},
  listPermissions: { response: { items: [{ name: 'api.key.view', description: 'List and read keys', builtin: true }, permission] } },
  createPermission: { request: { name: 'geo.read', description: 'Read the geo API' }, response: permission },
  getOrganization: { response: organization },
  updateOrganization: { request: { rotationDays: { production: 60 } }, response: { ...organization, rotationDays: { ...organization.rotationDays, production: 60 } } },
  getIpAllowlist: { response: allowlist },
  putIpAllowlist: { request: { entries: allowlist.entries }, response: allowlist },
  getOrganizationOidc: { response: oidcProvider },
  putOrganizationOidc: {
    request: { issuer: oidcProvider.issuer, clientId: oidcProvider.clientId, clientSecret: 'the-client-secret-from-your-provider', name: oidcProvider.name, allowedDomains: oidcProvider.allowedDomains },
    response: oidcProvider,
  },
  deleteOrganizationOidc: {},
  getUsage: { response: { from: '2026-06-01', to: '2026-06-14', items: [{ keyId: KEY_ID, day: '2026-06-14', outcome: 'VALID', count: 1520 }, { keyId: KEY_ID, day: '2026-06-14', outcome: 'KEY_REVOKED', count: 3 }] } },
  listAuditLog: {
    response: {
      items: [{ id: 'evt_0000000000000001', organizationId: ORG_ID, at: '2026-06-14T16:05:00.000Z', action: 'key.updated', actorKeyId: 'key_0aDmInKeY0000000000a', ip: '10.1.2.3', targetType: 'key', targetId: KEY_ID, changes: { before: { name: 'Production Server' }, after: { name: 'Production Server (EU)' } } }],
      nextCursor: null,
    },
  },
  compromiseKey: {
    request: { reason: 'pasted in a public Slack channel', replace: true, notify: true },
    response: { incident, revoked: { ...key, status: 'revoked', revokedAt: incident.reportedAt }, replacement: { key: replacement, secret: 'kw_EXAMPLEnotArealKey0000R8sB' } },
  },
  listIncidents: { response: { items: [incident, leakIncident], nextCursor: null } },
  getIncident: {
    response: {
      ...incident,
      investigation: {
        window: { from: '2026-06-08', to: '2026-06-15' },
        uses: [{ day: '2026-06-14', outcome: 'VALID', count: 1520 }, { day: '2026-06-15', outcome: 'VALID', count: 310 }, { day: '2026-06-15', outcome: 'IP_NOT_ALLOWED', count: 4 }],
        addresses: [
          { ip: '10.1.2.3', outcome: 'VALID', permission: 'orders.read', count: 1826, firstSeen: '2026-06-08T00:00:04.000Z', lastSeen: '2026-06-15T11:02:40.000Z', onlyThisKey: true },
          { ip: '198.51.100.23', outcome: 'VALID', permission: 'orders.read', count: 4, firstSeen: '2026-06-15T02:14:09.000Z', lastSeen: '2026-06-15T02:15:30.000Z', onlyThisKey: true },
          { ip: '198.51.100.23', outcome: 'IP_NOT_ALLOWED', permission: 'orders.write', count: 4, firstSeen: '2026-06-15T02:16:01.000Z', lastSeen: '2026-06-15T02:16:44.000Z', onlyThisKey: true },
        ],
        unitemizedUses: 0,
        lastUsedAt: '2026-06-15T11:02:40.000Z',
        lastUsedIp: '10.1.2.3',
        auditTrail: [
          { id: 'evt_0000000000000002', organizationId: ORG_ID, at: incident.reportedAt, action: 'key.compromised', actorKeyId: ADMIN_KEY_ID, actor: { type: 'key', id: ADMIN_KEY_ID, name: 'Admin' }, ip: '10.1.2.3', targetType: 'key', targetId: KEY_ID },
          { id: 'evt_0000000000000001', organizationId: ORG_ID, at: key.createdAt, action: 'key.created', actorKeyId: ADMIN_KEY_ID, actor: { type: 'key', id: ADMIN_KEY_ID, name: 'Admin' }, ip: '10.1.2.3', targetType: 'key', targetId: KEY_ID },
        ],
      },
    },
  },
  githubSecretScanning: {
    request: [
      { token: 'kw_EXAMPLEnotArealKey0000G1tH', type: 'keyward_api_key', url: 'https://github.com/octo-org/octo-repo/blob/12345/config.env', source: 'content' },
      { token: 'kw_EXAMPLEnotOursAtAll00000000', type: 'keyward_api_key', url: 'https://gist.github.com/octocat/abc123', source: 'gist' },
    ],
    response: [
      { token_hash: '0d9b6e2bc6a1d54fe3a3b1f0b3c8e8d1b5f0b6c2a7e4d9f1c3b5a7e9d1f3b5a7', token_type: 'keyward_api_key', label: 'true_positive' },
      { token_hash: '8f2a4c6e8a0c2e4a6c8e0a2c4e6a8c0e2a4c6e8a0c2e4a6c8e0a2c4e6a8c0e2a', token_type: 'keyward_api_key', label: 'false_positive' },
    ],
  },
  listEvents: {
    response: {
      items: [
        { cursor: '1041', at: '2026-06-14T16:05:00.000Z', action: 'key.updated', keyId: KEY_ID, metadata: key.metadata, changes: { before: { name: 'Production Server' }, after: { name: 'Production Server (EU)' } } },
        { cursor: '1042', at: '2026-06-15T09:30:00.000Z', action: 'key.rotated', keyId: KEY_ID, metadata: key.metadata },
      ],
      cursor: '1042',
    },
  },
  listMembers: { response: { items: [member, { ...member, id: 'mem_9ZyXwV8uTsR7qPoN6mLk', email: 'alan@example.com', displayName: 'Alan Turing', role: 'admin', oidcLinked: true }] } },
  createMember: {
    request: { email: 'alan@example.com', role: 'viewer', displayName: 'Alan Turing' },
    response: { ...member, id: 'mem_9ZyXwV8uTsR7qPoN6mLk', email: 'alan@example.com', displayName: 'Alan Turing', role: 'viewer', lastSignInAt: null },
  },
  getMember: { response: member },
  updateMember: { request: { role: 'viewer' }, response: { ...member, role: 'viewer', updatedAt: '2026-06-15T10:00:00.000Z' } },
  removeMember: { response: member },
  createInvitation: {
    request: { email: 'grace@example.com', role: 'key-manager', expiresIn: '7d' },
    response: { invitation, link: `https://keys.example.com/#invitation=${INVITATION_TOKEN}`, mailed: true },
  },
  listInvitations: { response: { items: [invitation] } },
  revokeInvitation: { response: { ...invitation, status: 'revoked', revokedAt: '2026-06-15T10:00:00.000Z' } },
  signInMethods: { response: { passkey: true, oidc: { name: 'Acme SSO' }, ssoByEmail: false, keySignIn: false } },
  previewInvitation: { request: { token: INVITATION_TOKEN }, response: { email: invitation.email, role: invitation.role, organization: { id: ORG_ID, name: 'acme' }, expiresAt: invitation.expiresAt } },
  invitationPasskeyOptions: { request: { token: INVITATION_TOKEN }, response: { options: registrationOptions } },
  acceptInvitation: {
    request: { token: INVITATION_TOKEN, displayName: 'Grace Hopper', credential: registration, passkeyName: 'MacBook Touch ID' },
    response: { ...session, member: { ...member, id: 'mem_4HgFdS5aPoI6uYtR7eWq', email: invitation.email, displayName: 'Grace Hopper', createdAt: '2026-06-15T10:05:00.000Z', updatedAt: '2026-06-15T10:05:00.000Z', lastSignInAt: '2026-06-15T10:05:00.000Z' } },
  },
  passkeyOptions: { response: { options: { challenge: registrationOptions.challenge, timeout: 60000, rpId: 'keys.example.com', userVerification: 'preferred' } } },
  passkeySignIn: { request: { credential: authentication }, response: session },
  oidcStart: {
    request: { email: 'ada@example.com' },
    response: { authorizationUrl: 'https://sso.example.com/authorize?client_id=keyward&response_type=code&scope=openid+email+profile&redirect_uri=https%3A%2F%2Fkeys.example.com%2F&code_challenge=EXAMPLEcodeChallenge&code_challenge_method=S256&state=EXAMPLEstate&nonce=EXAMPLEnonce&login_hint=ada%40example.com' },
  },
  oidcCallback: { request: { query: 'code=EXAMPLEauthorizationCode&state=EXAMPLEstate&iss=https%3A%2F%2Fsso.example.com' }, response: { ...session, member: { ...member, oidcLinked: true } } },
  getSession: { response: session },
  signOut: {},
  listMySessions: {
    response: {
      items: [
        { id: 'ses_1QaZ2wSx3EdC4rFv5TgB', createdAt: '2026-06-15T08:12:00.000Z', lastSeenAt: '2026-06-15T10:01:00.000Z', expiresAt: session.expiresAt, method: 'passkey', ip: '10.1.2.3', userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36', current: true },
        { id: 'ses_6YhN7uJm8IkO9lP0qWeR', createdAt: '2026-06-14T17:40:00.000Z', lastSeenAt: '2026-06-14T18:02:00.000Z', expiresAt: '2026-06-15T05:40:00.000Z', method: 'oidc', ip: '192.0.2.44', userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:145.0) Gecko/20100101 Firefox/145.0', current: false },
      ],
    },
  },
  signOutEverywhere: {},
  listMyPasskeys: { response: { items: [passkey, { ...passkey, id: 'EXAMPLEcredentialId0000000000000000000000001', name: 'YubiKey 5C', createdAt: '2026-05-22T14:00:00.000Z', lastUsedAt: null }] } },
  myPasskeyOptions: { response: { options: { ...registrationOptions, user: { ...registrationOptions.user, name: member.email, displayName: member.displayName }, excludeCredentials: [{ id: passkey.id, type: 'public-key', transports: ['internal', 'hybrid'] }] } } },
  addMyPasskey: { request: { credential: registration, name: 'YubiKey 5C' }, response: { ...passkey, id: 'EXAMPLEcredentialId0000000000000000000000001', name: 'YubiKey 5C', createdAt: '2026-06-15T10:10:00.000Z', lastUsedAt: null } },
  removeMyPasskey: {},
};
