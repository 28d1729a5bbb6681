/**
 * Managing custom roles and organization-defined permissions (`service.roles`);
 * nobody can grant what they do not hold. Looking a role up is RoleResolver's.
 */
import type { z } from 'zod';
import { KeywardError } from '../core/errors.ts';
import {
  ALL_PERMISSIONS,
  builtinRole,
  isBuiltinPermission,
  isReservedPermissionName,
  requireCanGrant,
  type RoleDefinition,
} from '../core/permissions.ts';
import type * as schemas from '../core/schemas.ts';
import { builtinRoleExists, roleNotFound, unknownRole } from '../store/rules.ts';
import type { Principal } from './auth.ts';
import type { ServiceContext } from './context.ts';
import { toRoleDefinition } from './role-resolver.ts';

type Parsed<T extends z.ZodType> = z.output<T>;

export class RoleCatalog {
  readonly #ctx: ServiceContext;

  constructor(ctx: ServiceContext) {
    this.#ctx = ctx;
  }

  async list(principal: Principal): Promise<RoleDefinition[]> {
    return this.#ctx.roleResolver.list(principal.organization.id);
  }

  async get(principal: Principal, roleId: string): Promise<RoleDefinition> {
    const role = await this.#ctx.roleResolver.find(principal.organization.id, roleId);
    if (!role) throw unknownRole(roleId);
    return role;
  }

  async #requireKnownPermissions(organizationId: string, permissions: readonly string[]): Promise<void> {
    const custom = new Set((await this.#ctx.store.listCustomPermissions(organizationId)).map((p) => p.name));
    const unknown = permissions.filter((p) => p !== ALL_PERMISSIONS && !isBuiltinPermission(p) && !custom.has(p));
    if (unknown.length > 0) {
      throw new KeywardError('UNKNOWN_PERMISSION', `Unknown permission(s): ${unknown.join(', ')}.`, { details: { unknown } });
    }
  }

  async create(principal: Principal, body: Parsed<typeof schemas.CreateRoleBody>): Promise<RoleDefinition> {
    const ctx = this.#ctx;
    if (builtinRole(body.id)) throw builtinRoleExists(body.id);
    const permissions = [...new Set(body.permissions)];
    await this.#requireKnownPermissions(principal.organization.id, permissions);
    const draft: RoleDefinition = { id: body.id, name: body.name, description: body.description, permissions, builtin: false };
    requireCanGrant(principal.permissions, draft);
    const now = ctx.clock().toISOString();
    const role = { ...draft, organizationId: principal.organization.id, createdAt: now, updatedAt: now };
    await ctx.store.insertCustomRole(role, ctx.audit(principal, role.organizationId, 'role.created', 'role', role.id, { after: { name: role.name, permissions } }));
    return toRoleDefinition(role);
  }

  async update(principal: Principal, roleId: string, body: Parsed<typeof schemas.UpdateRoleBody>): Promise<RoleDefinition> {
    const ctx = this.#ctx;
    const existing = await ctx.roleResolver.find(principal.organization.id, roleId);
    if (existing?.builtin) throw new KeywardError('BUILTIN_ROLE', `"${roleId}" is a built-in role and cannot be changed.`);
    if (!existing) throw roleNotFound(roleId);
    requireCanGrant(principal.permissions, existing);
    const patch: { name?: string; description?: string; permissions?: string[] } = {};
    if (body.name !== undefined) patch.name = body.name;
    if (body.description !== undefined) patch.description = body.description;
    if (body.permissions !== undefined) {
      patch.permissions = [...new Set(body.permissions)];
      await this.#requireKnownPermissions(principal.organization.id, patch.permissions);
      requireCanGrant(principal.permissions, { ...existing, permissions: patch.permissions });
    }
    const audit = ctx.audit(principal, principal.organization.id, 'role.updated', 'role', roleId);
    return toRoleDefinition(await ctx.store.updateCustomRole(principal.organization.id, roleId, patch, ctx.clock().toISOString(), audit));
  }

  async delete(principal: Principal, roleId: string): Promise<void> {
    const ctx = this.#ctx;
    const existing = await ctx.roleResolver.find(principal.organization.id, roleId);
    if (existing?.builtin) throw new KeywardError('BUILTIN_ROLE', `"${roleId}" is a built-in role and cannot be deleted.`);
    if (existing) requireCanGrant(principal.permissions, existing);
    const audit = ctx.audit(principal, principal.organization.id, 'role.deleted', 'role', roleId, existing ? { before: { name: existing.name, permissions: existing.permissions } } : undefined);
    await ctx.store.deleteCustomRole(principal.organization.id, roleId, audit);
  }

  async listPermissions(principal: Principal) {
    return this.#ctx.roleResolver.permissionCatalog(principal.organization.id);
  }

  async createPermission(principal: Principal, body: Parsed<typeof schemas.CreatePermissionBody>) {
    const ctx = this.#ctx;
    if (isReservedPermissionName(body.name)) {
      throw new KeywardError('VALIDATION_FAILED', `name: "${body.name.split('.')[0]}." is reserved for keyward's own permissions`, {
        details: [{ path: 'name', message: 'reserved namespace' }],
      });
    }
    const permission = { organizationId: principal.organization.id, name: body.name, description: body.description, createdAt: ctx.clock().toISOString() };
    await ctx.store.insertCustomPermission(permission, ctx.audit(principal, permission.organizationId, 'permission.created', 'permission', permission.name));
    return { name: permission.name, description: permission.description, builtin: false };
  }
}
