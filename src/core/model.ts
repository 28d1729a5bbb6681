/** The records keyward keeps, and the public views the API returns. */
import type { Actor } from './people.ts';
import { transitionView, type RecentClient, type Retirement } from './retirement.ts';
import type { Environment, RotationDays } from './rotation.ts';

export type Metadata = Record<string, string | number | boolean>;

export interface Organization {
  id: string;
  name: string;
  plan: string;
  ipAllowlist: string[];
  rotationDays: RotationDays;
  /** Longest rotation grace period (a duration, e.g. "7d"); set by the service operator, like the plan. */
  maxGracePeriod: string;
  createdAt: string;
}

/** A key as stored: the secret itself is never here, only its SHA-256. */
export interface KeyRecord {
  id: string;
  organizationId: string;
  name: string;
  roleId: string;
  environment: Environment;
  secretHash: string;
  secretHint: string;
  metadata: Metadata;
  ipAllowlist: string[];
  createdAt: string;
  createdBy: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
  rotationDueAt: string;
  lastUsedAt: string | null;
  lastUsedIp: string | null;
  rotatedFromId: string | null;
  rotatedToId: string | null;
  idempotencyKey: string | null;
  /** The latest accepted use per client (address, user agent), most recent first, bounded (retirement.ts). */
  recentClients: RecentClient[];
  /** Set by a rotation on the key it replaces: how it ends (retirement.ts). */
  retirement: Retirement | null;
}

export interface CustomRole {
  organizationId: string;
  id: string;
  name: string;
  description: string;
  permissions: string[];
  createdAt: string;
  updatedAt: string;
}

export interface CustomPermission {
  organizationId: string;
  name: string;
  description: string;
  createdAt: string;
}

export type KeyStatus = 'active' | 'expired' | 'revoked';

export function keyStatus(key: Pick<KeyRecord, 'revokedAt' | 'expiresAt'>, now: number): KeyStatus {
  if (key.revokedAt !== null) return 'revoked';
  if (key.expiresAt !== null && Date.parse(key.expiresAt) <= now) return 'expired';
  return 'active';
}

/** What the API shows of a key: the record without its hash and idempotency key, the role under its API name, and its status. */
export type KeyView = Omit<KeyRecord, 'secretHash' | 'secretHint' | 'roleId' | 'idempotencyKey' | 'retirement'> & {
  role: string;
  status: KeyStatus;
  hint: string;
  /** For a rotated key: how its transition ends, and who still uses it. */
  transition: ReturnType<typeof transitionView>;
};

export function toKeyView(key: KeyRecord, now: number): KeyView {
  return {
    id: key.id,
    organizationId: key.organizationId,
    name: key.name,
    role: key.roleId,
    environment: key.environment,
    status: keyStatus(key, now),
    hint: key.secretHint,
    metadata: key.metadata,
    ipAllowlist: key.ipAllowlist,
    createdAt: key.createdAt,
    createdBy: key.createdBy,
    expiresAt: key.expiresAt,
    revokedAt: key.revokedAt,
    rotationDueAt: key.rotationDueAt,
    lastUsedAt: key.lastUsedAt,
    lastUsedIp: key.lastUsedIp,
    rotatedFromId: key.rotatedFromId,
    rotatedToId: key.rotatedToId,
    recentClients: key.recentClients,
    transition: transitionView(key, now),
  };
}

/** One entry of the append-only audit log. Never holds a secret: only ids, names and changed fields. */
export interface AuditEvent {
  id: string;
  organizationId: string;
  at: string;
  action: AuditAction;
  actorKeyId: string | null;
  /** The key (id and name) or member (id and email) that acted; null for the service itself (bootstrap, throttling). Older records lack it. */
  actor?: Actor | null;
  ip: string | null;
  targetType: 'key' | 'role' | 'permission' | 'organization' | 'address' | 'member' | 'invitation' | 'session' | 'passkey';
  targetId: string;
  changes?: { before?: Record<string, unknown>; after?: Record<string, unknown> };
}

export const AUDIT_ACTIONS = [
  'organization.created',
  'organization.updated',
  'ip-allowlist.updated',
  'key.created',
  'key.updated',
  'key.rotated',
  'key.revoked',
  'key.expired',
  'role.created',
  'role.updated',
  'role.deleted',
  'permission.created',
  'auth.throttled',
  'invitation.created',
  'invitation.revoked',
  'invitation.accepted',
  'member.updated',
  'member.removed',
  'member.signed-in',
  'member.signed-out',
  'passkey.added',
  'passkey.removed',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** Requests seen for one key on one UTC day with one outcome (VALID or the error code). */
export interface UsageCount {
  organizationId: string;
  keyId: string;
  day: string;
  outcome: string;
  count: number;
}
