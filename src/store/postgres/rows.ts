/** Rows of the PostgreSQL schema <-> the records of src/core/model.ts. */
import { DEFAULT_LEAK_POLICY, type AddressUse, type AuditEvent, type CustomPermission, type CustomRole, type KeyRecord, type Organization, type UsageCount } from '../../core/model.ts';
import type { RecentClient, Retirement } from '../../core/retirement.ts';
import { DEFAULT_MAX_GRACE_PERIOD } from '../../core/rotation.ts';

const iso = (value: Date | string): string => (value instanceof Date ? value.toISOString() : new Date(value).toISOString());
const isoOrNull = (value: Date | string | null): string | null => (value === null ? null : iso(value));

export interface KeyRow {
  id: string;
  organization_id: string;
  name: string;
  role_id: string;
  environment: KeyRecord['environment'];
  secret_hash: string;
  secret_hint: string;
  metadata: KeyRecord['metadata'];
  ip_allowlist: string[];
  created_at: Date;
  created_by: string | null;
  expires_at: Date | null;
  revoked_at: Date | null;
  rotation_due_at: Date;
  last_used_at: Date | null;
  last_used_ip: string | null;
  rotated_from_id: string | null;
  rotated_to_id: string | null;
  idempotency_key: string | null;
  recent_clients: RecentClient[];
  retirement: Retirement | null;
}

/** The columns a key is read back with (in this order). */
export const KEY_COLUMNS =
  'id, organization_id, name, role_id, environment, secret_hash, secret_hint, metadata, ip_allowlist, created_at, created_by, expires_at, revoked_at, rotation_due_at, last_used_at, last_used_ip, rotated_from_id, rotated_to_id, idempotency_key, recent_clients, retirement';

export const keyFromRow = (row: KeyRow): KeyRecord => ({
  id: row.id,
  organizationId: row.organization_id,
  name: row.name,
  roleId: row.role_id,
  environment: row.environment,
  secretHash: row.secret_hash,
  secretHint: row.secret_hint,
  metadata: row.metadata,
  ipAllowlist: row.ip_allowlist,
  createdAt: iso(row.created_at),
  createdBy: row.created_by,
  expiresAt: isoOrNull(row.expires_at),
  revokedAt: isoOrNull(row.revoked_at),
  rotationDueAt: iso(row.rotation_due_at),
  lastUsedAt: isoOrNull(row.last_used_at),
  lastUsedIp: row.last_used_ip,
  rotatedFromId: row.rotated_from_id,
  rotatedToId: row.rotated_to_id,
  idempotencyKey: row.idempotency_key,
  recentClients: row.recent_clients,
  retirement: row.retirement,
});

/** Parameters $1..$21 of an INSERT in KEY_COLUMNS order. */
export const keyParams = (key: KeyRecord): unknown[] => [
  key.id,
  key.organizationId,
  key.name,
  key.roleId,
  key.environment,
  key.secretHash,
  key.secretHint,
  JSON.stringify(key.metadata ?? {}),
  key.ipAllowlist ?? [],
  key.createdAt,
  key.createdBy,
  key.expiresAt,
  key.revokedAt,
  key.rotationDueAt,
  key.lastUsedAt,
  key.lastUsedIp,
  key.rotatedFromId,
  key.rotatedToId,
  key.idempotencyKey,
  JSON.stringify(key.recentClients ?? []),
  key.retirement ? JSON.stringify(key.retirement) : null,
];

export const INSERT_KEY = `INSERT INTO keys (${KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)`;

export interface OrganizationRow {
  id: string;
  name: string;
  plan: string;
  ip_allowlist: string[];
  rotation_days: Organization['rotationDays'];
  max_grace_period: string;
  created_at: Date;
  leak_policy: Organization['leakPolicy'];
}

export const ORGANIZATION_COLUMNS = 'id, name, plan, ip_allowlist, rotation_days, max_grace_period, created_at, leak_policy';

export const organizationFromRow = (row: OrganizationRow): Organization => ({
  id: row.id,
  name: row.name,
  plan: row.plan,
  ipAllowlist: row.ip_allowlist,
  rotationDays: row.rotation_days,
  maxGracePeriod: row.max_grace_period,
  leakPolicy: row.leak_policy,
  createdAt: iso(row.created_at),
});

export const organizationParams = (org: Organization): unknown[] => [
  org.id,
  org.name,
  org.plan,
  org.ipAllowlist ?? [],
  JSON.stringify(org.rotationDays ?? {}),
  org.maxGracePeriod ?? DEFAULT_MAX_GRACE_PERIOD,
  org.createdAt,
  org.leakPolicy ?? DEFAULT_LEAK_POLICY,
];

export interface RoleRow {
  organization_id: string;
  id: string;
  name: string;
  description: string;
  permissions: string[];
  created_at: Date;
  updated_at: Date;
}

export const ROLE_COLUMNS = 'organization_id, id, name, description, permissions, created_at, updated_at';

export const roleFromRow = (row: RoleRow): CustomRole => ({
  organizationId: row.organization_id,
  id: row.id,
  name: row.name,
  description: row.description,
  permissions: row.permissions,
  createdAt: iso(row.created_at),
  updatedAt: iso(row.updated_at),
});

export const roleParams = (role: CustomRole): unknown[] => [role.organizationId, role.id, role.name, role.description, role.permissions, role.createdAt, role.updatedAt];

export interface PermissionRow {
  organization_id: string;
  name: string;
  description: string;
  created_at: Date;
}

export const permissionFromRow = (row: PermissionRow): CustomPermission => ({
  organizationId: row.organization_id,
  name: row.name,
  description: row.description,
  createdAt: iso(row.created_at),
});

export interface AuditRow {
  id: string;
  organization_id: string;
  at: Date;
  action: AuditEvent['action'];
  actor_key_id: string | null;
  ip: string | null;
  target_type: AuditEvent['targetType'];
  target_id: string;
  changes: AuditEvent['changes'] | null;
  actor: AuditEvent['actor'] | null;
}

export const AUDIT_COLUMNS = 'id, organization_id, at, action, actor_key_id, ip, target_type, target_id, changes, actor';

export const INSERT_AUDIT = `INSERT INTO audit_events (${AUDIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`;
/** The same for a key change: it also takes the next position of the change feed (the caller holds the feed lock). */
export const INSERT_KEY_AUDIT = `INSERT INTO audit_events (${AUDIT_COLUMNS}, feed_seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, nextval('key_feed_seq'))`;

export function auditFromRow(row: AuditRow): AuditEvent {
  const event: AuditEvent = {
    id: row.id,
    organizationId: row.organization_id,
    at: iso(row.at),
    action: row.action,
    actorKeyId: row.actor_key_id,
    ip: row.ip,
    targetType: row.target_type,
    targetId: row.target_id,
  };
  if (row.changes !== null && row.changes !== undefined) event.changes = row.changes;
  if (row.actor !== null && row.actor !== undefined) event.actor = row.actor;
  return event;
}

export const auditParams = (event: AuditEvent): unknown[] => [
  event.id,
  event.organizationId,
  event.at,
  event.action,
  event.actorKeyId,
  event.ip,
  event.targetType,
  event.targetId,
  event.changes === undefined ? null : JSON.stringify(event.changes),
  event.actor === undefined || event.actor === null ? null : JSON.stringify(event.actor),
];

export interface UsageRow {
  organization_id: string;
  key_id: string;
  day: string;
  outcome: string;
  count: string | number;
}

export interface AddressUseRow {
  organization_id: string;
  key_id: string;
  day: string;
  ip: string;
  outcome: string;
  permission: string;
  count: string | number;
  first_seen: Date | string;
  last_seen: Date | string;
}

/** usage_by_address keeps no address and no permission as '' (primary key columns). */
export const addressUseFromRow = (row: AddressUseRow): AddressUse => ({
  organizationId: row.organization_id,
  keyId: row.key_id,
  day: row.day,
  ip: row.ip === '' ? null : row.ip,
  outcome: row.outcome,
  permission: row.permission === '' ? null : row.permission,
  count: Number(row.count),
  firstSeen: iso(row.first_seen),
  lastSeen: iso(row.last_seen),
});

export const ADDRESS_USE_COLUMNS = 'organization_id, key_id, day::text AS day, ip, outcome, permission, count, first_seen, last_seen';

export const usageFromRow = (row: UsageRow): UsageCount => ({
  organizationId: row.organization_id,
  keyId: row.key_id,
  day: row.day,
  outcome: row.outcome,
  count: Number(row.count),
});
