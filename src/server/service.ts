/**
 * What the API does, independent of HTTP: each method takes the caller
 * (principal) and validated input, checks permissions and escalation, and
 * calls one atomic store operation.
 */
import { KeywardError } from '../core/errors.ts';
import { issueKey, newOrganization } from '../core/issue.ts';
import { toKeyView, type KeyRecord, type KeyView } from '../core/model.ts';
import { parseDuration } from '../core/duration.ts';
import {
  ALL_PERMISSIONS,
  builtinRole,
  isBuiltinPermission,
  isReservedPermissionName,
  requireCanGrant,
  requirePermission,
  type RoleDefinition,
} from '../core/permissions.ts';
import { successorName } from '../core/rotation.ts';
import type { z } from 'zod';
import type * as schemas from '../core/schemas.ts';
import type { KeyCursor, Store } from '../store/store.ts';
import { findKeyForSecret, secretFromAuthorization, type Principal } from './auth.ts';
import { RoleResolver, toRoleDefinition } from './roles.ts';

type Parsed<T extends z.ZodType> = z.output<T>;
export type VerifyResult = z.output<typeof schemas.VerifyResult>;

export interface ServiceOptions {
  tokenPrefix: string;
  clock?: () => Date;
  /** Usage tracking: told of every key presented successfully, asked for what is not flushed yet. */
  usage?: UsageSink;
}

export interface UsageSink {
  seen(key: KeyRecord, ip: string | null): void;
  pending(keyId: string): { lastUsedAt: string; lastUsedIp: string | null } | undefined;
}

const noUsage: UsageSink = { seen: () => {}, pending: () => undefined };

const encodeCursor = (cursor: KeyCursor): string => Buffer.from(`${cursor.createdAt}|${cursor.id}`).toString('base64url');

function decodeCursor(text: string): KeyCursor {
  const [createdAt, id] = Buffer.from(text, 'base64url').toString('utf8').split('|');
  if (!createdAt || !id || Number.isNaN(Date.parse(createdAt))) {
    throw new KeywardError('VALIDATION_FAILED', 'cursor: not a cursor returned by this API', {
      details: [{ path: 'cursor', message: 'not a cursor returned by this API' }],
    });
  }
  return { createdAt, id };
}

export class KeyService {
  readonly store: Store;
  readonly roles: RoleResolver;
  readonly #prefix: string;
  readonly #clock: () => Date;
  readonly #usage: UsageSink;

  constructor(store: Store, options: ServiceOptions) {
    this.store = store;
    this.roles = new RoleResolver(store);
    this.#prefix = options.tokenPrefix;
    this.#clock = options.clock ?? (() => new Date());
    this.#usage = options.usage ?? noUsage;
  }

  /** Who is calling: the key behind an Authorization header, its organization and permissions. */
  async authenticate(authorization: string | undefined, ip: string | null): Promise<Principal> {
    const key = await findKeyForSecret(this.store, secretFromAuthorization(authorization), this.#clock().getTime(), this.#prefix);
    const organization = await this.store.getOrganization(key.organizationId);
    if (!organization) throw new KeywardError('UNKNOWN_KEY', 'The organization of this key no longer exists.');
    const permissions = await this.roles.permissionsOf(key.organizationId, key.roleId);
    this.#usage.seen(key, ip);
    return { key, organization, permissions };
  }

  now(): Date {
    return this.#clock();
  }

  /** The public view, with usage seen since the last flush already applied. */
  view(key: KeyRecord): KeyView {
    const view = toKeyView(key, this.#clock().getTime());
    const pending = this.#usage.pending(key.id);
    if (pending) {
      view.lastUsedAt = pending.lastUsedAt;
      view.lastUsedIp = pending.lastUsedIp;
    }
    return view;
  }

  async #requireKey(principal: Principal, keyId: string): Promise<KeyRecord> {
    const key = await this.store.getKey(principal.organization.id, keyId);
    if (!key) throw new KeywardError('KEY_NOT_FOUND', `No key ${keyId} in this organization.`);
    return key;
  }

  /** Creates an organization and its first admin key (bootstrap; no caller). */
  async bootstrapOrganization(name: string): Promise<{ organizationId: string; keyId: string; secret: string }> {
    const now = this.#clock();
    const org = newOrganization(name, now);
    const { record, secret } = issueKey({
      organizationId: org.id,
      name: `${name} admin`,
      roleId: 'admin',
      environment: 'production',
      createdBy: null,
      tokenPrefix: this.#prefix,
      rotationDays: org.rotationDays,
      now,
    });
    await this.store.createOrganization(org, record);
    return { organizationId: org.id, keyId: record.id, secret };
  }

  // ---- keys ----

  async createKey(principal: Principal, body: Parsed<typeof schemas.CreateKeyBody>) {
    requirePermission(principal.permissions, 'api.key.create');
    const role = await this.roles.require(principal.organization.id, body.role);
    requireCanGrant(principal.permissions, role);
    const now = this.#clock();
    const { record, secret } = issueKey({
      organizationId: principal.organization.id,
      name: body.name,
      roleId: role.id,
      environment: body.environment,
      metadata: body.metadata,
      expiresAt: body.expiresAt ? new Date(body.expiresAt).toISOString() : null,
      createdBy: principal.key.id,
      idempotencyKey: body.idempotencyKey ?? null,
      tokenPrefix: this.#prefix,
      rotationDays: principal.organization.rotationDays,
      now,
    });
    await this.store.insertKey(record, { activeLimit: null, now: now.getTime() });
    return { key: this.view(record), secret };
  }

  async listKeys(principal: Principal, query: Parsed<typeof schemas.ListKeysQuery>) {
    requirePermission(principal.permissions, 'api.key.view');
    const page = await this.store.listKeys(principal.organization.id, {
      status: query.status,
      roleId: query.role,
      environment: query.environment,
      limit: query.limit,
      after: query.cursor ? decodeCursor(query.cursor) : undefined,
      now: this.#clock().getTime(),
    });
    return { items: page.items.map((key) => this.view(key)), nextCursor: page.next ? encodeCursor(page.next) : null };
  }

  async getKey(principal: Principal, keyId: string): Promise<KeyView> {
    requirePermission(principal.permissions, 'api.key.view');
    return this.view(await this.#requireKey(principal, keyId));
  }

  async updateKey(principal: Principal, keyId: string, body: Parsed<typeof schemas.UpdateKeyBody>): Promise<KeyView> {
    requirePermission(principal.permissions, 'api.key.update');
    const key = await this.#requireKey(principal, keyId);
    if (body.role !== undefined && body.role !== key.roleId) {
      const role = await this.roles.require(principal.organization.id, body.role);
      requireCanGrant(principal.permissions, role);
      // Editing a key that holds more than the caller would let the caller act on it.
      const current = await this.roles.find(principal.organization.id, key.roleId);
      if (current) requireCanGrant(principal.permissions, current);
    }
    const patch: { name?: string; roleId?: string } = {};
    if (body.name !== undefined) patch.name = body.name;
    if (body.role !== undefined) patch.roleId = body.role;
    return this.view(await this.store.updateKey(principal.organization.id, keyId, patch, this.#clock().getTime()));
  }

  async revokeKey(principal: Principal, keyId: string): Promise<KeyView> {
    requirePermission(principal.permissions, 'api.key.delete');
    await this.#requireKey(principal, keyId);
    return this.view(await this.store.revokeKey(principal.organization.id, keyId, this.#clock().toISOString()));
  }

  async rotateKey(principal: Principal, keyId: string, body: Parsed<typeof schemas.RotateKeyBody>) {
    requirePermission(principal.permissions, 'api.key.rotate');
    const old = await this.#requireKey(principal, keyId);
    const role = await this.roles.require(principal.organization.id, old.roleId);
    requireCanGrant(principal.permissions, role);
    const now = this.#clock();
    const { record, secret } = issueKey({
      organizationId: old.organizationId,
      name: body.name ?? successorName(old.name),
      roleId: old.roleId,
      environment: old.environment,
      metadata: old.metadata,
      ipAllowlist: old.ipAllowlist,
      expiresAt: null,
      createdBy: principal.key.id,
      rotatedFromId: old.id,
      tokenPrefix: this.#prefix,
      rotationDays: principal.organization.rotationDays,
      now,
    });
    const { previous, successor } = await this.store.rotateKey({
      organizationId: old.organizationId,
      keyId: old.id,
      successor: record,
      previousExpiresAt: new Date(now.getTime() + parseDuration(body.gracePeriod)).toISOString(),
      now: now.getTime(),
    });
    return { key: this.view(successor), secret, previous: this.view(previous) };
  }

  /** For downstream APIs: is this key valid (and does it hold `permission`)? Never throws for the presented key. */
  async verify(principal: Principal, body: Parsed<typeof schemas.VerifyBody>, ip: string | null): Promise<VerifyResult> {
    requirePermission(principal.permissions, 'api.key.verify');
    const now = this.#clock().getTime();
    try {
      const key = await findKeyForSecret(this.store, body.key, now, this.#prefix);
      if (key.organizationId !== principal.organization.id) {
        throw new KeywardError('UNKNOWN_KEY', 'No key matches this secret.');
      }
      const permissions = await this.roles.permissionsOf(key.organizationId, key.roleId);
      if (body.permission !== undefined) requirePermission(permissions, body.permission);
      this.#usage.seen(key, ip);
      return {
        valid: true,
        code: 'VALID',
        keyId: key.id,
        name: key.name,
        role: key.roleId,
        permissions: [...permissions],
        organizationId: key.organizationId,
        environment: key.environment,
        expiresAt: key.expiresAt,
        metadata: key.metadata,
      };
    } catch (error) {
      if (!(error instanceof KeywardError)) throw error;
      return { valid: false, code: error.code, message: error.message, hint: error.hint };
    }
  }

  // ---- roles and permissions ----

  async listRoles(principal: Principal): Promise<RoleDefinition[]> {
    requirePermission(principal.permissions, 'role.view');
    return this.roles.list(principal.organization.id);
  }

  async getRole(principal: Principal, roleId: string): Promise<RoleDefinition> {
    requirePermission(principal.permissions, 'role.view');
    const role = await this.roles.find(principal.organization.id, roleId);
    if (!role) throw new KeywardError('ROLE_NOT_FOUND', `No role "${roleId}" in this organization.`);
    return role;
  }

  async #requireKnownPermissions(organizationId: string, permissions: readonly string[]): Promise<void> {
    const custom = new Set((await this.store.listCustomPermissions(organizationId)).map((p) => p.name));
    const unknown = permissions.filter((p) => p !== ALL_PERMISSIONS && !isBuiltinPermission(p) && !custom.has(p));
    if (unknown.length > 0) {
      throw new KeywardError('UNKNOWN_PERMISSION', `Unknown permission(s): ${unknown.join(', ')}.`, { details: { unknown } });
    }
  }

  async createRole(principal: Principal, body: Parsed<typeof schemas.CreateRoleBody>): Promise<RoleDefinition> {
    requirePermission(principal.permissions, 'role.manage');
    if (builtinRole(body.id)) {
      throw new KeywardError('ROLE_EXISTS', `"${body.id}" is a built-in role.`);
    }
    const permissions = [...new Set(body.permissions)];
    await this.#requireKnownPermissions(principal.organization.id, permissions);
    const draft: RoleDefinition = { id: body.id, name: body.name, description: body.description, permissions, builtin: false };
    requireCanGrant(principal.permissions, draft);
    const now = this.#clock().toISOString();
    const role = { ...draft, organizationId: principal.organization.id, createdAt: now, updatedAt: now };
    await this.store.insertCustomRole(role);
    return toRoleDefinition(role);
  }

  async updateRole(principal: Principal, roleId: string, body: Parsed<typeof schemas.UpdateRoleBody>): Promise<RoleDefinition> {
    requirePermission(principal.permissions, 'role.manage');
    const existing = await this.roles.find(principal.organization.id, roleId);
    if (existing?.builtin) throw new KeywardError('BUILTIN_ROLE', `"${roleId}" is a built-in role and cannot be changed.`);
    if (!existing) throw new KeywardError('ROLE_NOT_FOUND', `No custom role "${roleId}" in this organization.`);
    requireCanGrant(principal.permissions, existing);
    const patch: { name?: string; description?: string; permissions?: string[] } = {};
    if (body.name !== undefined) patch.name = body.name;
    if (body.description !== undefined) patch.description = body.description;
    if (body.permissions !== undefined) {
      patch.permissions = [...new Set(body.permissions)];
      await this.#requireKnownPermissions(principal.organization.id, patch.permissions);
      requireCanGrant(principal.permissions, { ...existing, permissions: patch.permissions });
    }
    const role = await this.store.updateCustomRole(principal.organization.id, roleId, patch, this.#clock().toISOString());
    return toRoleDefinition(role);
  }

  async deleteRole(principal: Principal, roleId: string): Promise<void> {
    requirePermission(principal.permissions, 'role.manage');
    const existing = await this.roles.find(principal.organization.id, roleId);
    if (existing?.builtin) throw new KeywardError('BUILTIN_ROLE', `"${roleId}" is a built-in role and cannot be deleted.`);
    if (existing) requireCanGrant(principal.permissions, existing);
    await this.store.deleteCustomRole(principal.organization.id, roleId);
  }

  async listPermissions(principal: Principal) {
    requirePermission(principal.permissions, 'role.view');
    return this.roles.permissionCatalog(principal.organization.id);
  }

  async createPermission(principal: Principal, body: Parsed<typeof schemas.CreatePermissionBody>) {
    requirePermission(principal.permissions, 'role.manage');
    if (isReservedPermissionName(body.name)) {
      throw new KeywardError('VALIDATION_FAILED', `name: "${body.name.split('.')[0]}." is reserved for keyward's own permissions`, {
        details: [{ path: 'name', message: 'reserved namespace' }],
      });
    }
    const permission = { organizationId: principal.organization.id, name: body.name, description: body.description, createdAt: this.#clock().toISOString() };
    await this.store.insertCustomPermission(permission);
    return { name: permission.name, description: permission.description, builtin: false };
  }

  whoami(principal: Principal) {
    return {
      key: this.view(principal.key),
      organization: { id: principal.organization.id, name: principal.organization.name, plan: principal.organization.plan },
      permissions: [...principal.permissions],
    };
  }
}

