/**
 * An example request body and response for every operation of the route
 * table, shown in the API reference. Typed by the route table (a missing
 * operation or a wrong shape is a compile error) and checked against the zod
 * schemas by test/api-reference/openapi.test.ts, so they cannot drift.
 * Secrets here are made up (never a working key).
 */
import type { BodyInput, OperationId, Result } from '../core/api.ts';

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

export interface OperationExample<K extends OperationId> {
  request?: BodyInput<K>;
  response?: Result<K>;
}

/** By operation; the people operations (members, sessions, sign-in) have none yet. */
export const EXAMPLES: { [K in OperationId]?: OperationExample<K> } = {
  whoami: { response: { key, organization: { id: ORG_ID, name: 'acme', plan: 'team' }, permissions: role.permissions } },
  createKey: {
    request: { name: 'Production Server', role: 'key-manager', environment: 'production', ipAllowlist: ['10.0.0.0/8'], metadata: { team: 'payments' } },
    response: { key, secret: SECRET },
  },
  listKeys: { response: { items: [key], nextCursor: null } },
  getKey: { response: key },
  batchGetKeys: { request: { ids: [KEY_ID, 'key_0000000000000000none'] }, response: { items: [key], missing: ['key_0000000000000000none'] } },
  updateKey: { request: { name: 'Production Server (EU)' }, response: { ...key, name: 'Production Server (EU)' } },
  revokeKey: { response: { ...key, status: 'revoked', revokedAt: '2026-06-15T10:00:00.000Z' } },
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
  getUsage: { response: { from: '2026-06-01', to: '2026-06-14', items: [{ keyId: KEY_ID, day: '2026-06-14', outcome: 'VALID', count: 1520 }, { keyId: KEY_ID, day: '2026-06-14', outcome: 'KEY_REVOKED', count: 3 }] } },
  listAuditLog: {
    response: {
      items: [{ id: 'evt_0000000000000001', organizationId: ORG_ID, at: '2026-06-14T16:05:00.000Z', action: 'key.updated', actorKeyId: 'key_0aDmInKeY0000000000a', ip: '10.1.2.3', targetType: 'key', targetId: KEY_ID, changes: { before: { name: 'Production Server' }, after: { name: 'Production Server (EU)' } } }],
      nextCursor: null,
    },
  },
};
