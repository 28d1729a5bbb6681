/**
 * The contract every store adapter implements (lowdb now, PostgreSQL next).
 * Operations are shaped like SQL statements: each one is atomic on its own and
 * enforces the invariants it names, so callers never read-modify-write.
 */
import type { CustomPermission, CustomRole, KeyRecord, KeyStatus, Organization } from '../core/model.ts';
import type { Environment } from '../core/rotation.ts';

export interface KeyCursor {
  createdAt: string;
  id: string;
}

export interface KeyFilter {
  status: KeyStatus | 'all';
  roleId?: string | undefined;
  environment?: Environment | undefined;
  limit: number;
  after?: KeyCursor | undefined;
  now: number;
}

export interface KeyPage {
  items: KeyRecord[];
  next: KeyCursor | null;
}

export interface InsertKeyOptions {
  /** Most active keys the organization may hold, checked atomically with the insert; null = unlimited. */
  activeLimit: number | null;
  now: number;
}

export interface RotateKeyInput {
  organizationId: string;
  keyId: string;
  successor: KeyRecord;
  /** When the old key stops working (now + grace period). */
  previousExpiresAt: string;
  now: number;
}

export type KeyPatch = Partial<Pick<KeyRecord, 'name' | 'roleId'>>;
export type RolePatch = Partial<Pick<CustomRole, 'name' | 'description' | 'permissions'>>;

/** Usage seen since the last flush, merged into the stored records. */
export interface UsageUpdate {
  keyId: string;
  lastUsedAt: string;
  lastUsedIp: string | null;
}

export interface Store {
  readonly kind: string;
  close(): Promise<void>;

  createOrganization(org: Organization, adminKey: KeyRecord): Promise<void>;
  getOrganization(id: string): Promise<Organization | undefined>;
  listOrganizations(): Promise<Organization[]>;

  findKeyByHash(secretHash: string): Promise<KeyRecord | undefined>;
  getKey(organizationId: string, keyId: string): Promise<KeyRecord | undefined>;
  listKeys(organizationId: string, filter: KeyFilter): Promise<KeyPage>;
  /** Throws KEY_LIMIT_REACHED or IDEMPOTENCY_KEY_REUSED; both checks are atomic with the insert. */
  insertKey(key: KeyRecord, options: InsertKeyOptions): Promise<void>;
  /** Throws KEY_NOT_FOUND, or KEY_NOT_ACTIVE for a revoked or expired key. */
  updateKey(organizationId: string, keyId: string, patch: KeyPatch, now: number): Promise<KeyRecord>;
  /** Throws KEY_NOT_FOUND or KEY_ALREADY_REVOKED. */
  revokeKey(organizationId: string, keyId: string, at: string): Promise<KeyRecord>;
  /** Inserts the successor and sets the old key's expiry in one step. Throws KEY_NOT_FOUND, KEY_NOT_ACTIVE, KEY_ALREADY_ROTATED. */
  rotateKey(input: RotateKeyInput): Promise<{ previous: KeyRecord; successor: KeyRecord }>;
  recordUsage(updates: UsageUpdate[]): Promise<void>;

  listCustomRoles(organizationId: string): Promise<CustomRole[]>;
  getCustomRole(organizationId: string, roleId: string): Promise<CustomRole | undefined>;
  /** Throws ROLE_EXISTS. */
  insertCustomRole(role: CustomRole): Promise<void>;
  /** Throws ROLE_NOT_FOUND. */
  updateCustomRole(organizationId: string, roleId: string, patch: RolePatch, now: string): Promise<CustomRole>;
  /** Throws ROLE_NOT_FOUND, or ROLE_IN_USE while a key that is not revoked holds it. */
  deleteCustomRole(organizationId: string, roleId: string): Promise<void>;

  listCustomPermissions(organizationId: string): Promise<CustomPermission[]>;
  /** Throws PERMISSION_EXISTS. */
  insertCustomPermission(permission: CustomPermission): Promise<void>;
}

export const compareKeyOrder = (a: KeyCursor, b: KeyCursor): number =>
  a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
