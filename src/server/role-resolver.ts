/**
 * Role ids to definitions: built-in roles merged with an organization's custom
 * roles and permissions. The service's parts share one (`context.roleResolver`);
 * changing roles is RoleCatalog's.
 */
import { KeywardError } from '../core/errors.ts';
import type { CustomRole } from '../core/model.ts';
import { BUILTIN_PERMISSIONS, BUILTIN_ROLES, builtinRole, type RoleDefinition } from '../core/permissions.ts';
import type { Store } from '../store/store.ts';

export const toRoleDefinition = (role: CustomRole): RoleDefinition => ({
  id: role.id,
  name: role.name,
  description: role.description,
  permissions: role.permissions,
  builtin: false,
});

export class RoleResolver {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  async find(organizationId: string, roleId: string): Promise<RoleDefinition | undefined> {
    const builtin = builtinRole(roleId);
    if (builtin) return builtin;
    const custom = await this.#store.getCustomRole(organizationId, roleId);
    return custom ? toRoleDefinition(custom) : undefined;
  }

  /** The role a key is being given; unknown roles are the client's mistake (400). */
  async require(organizationId: string, roleId: string): Promise<RoleDefinition> {
    const role = await this.find(organizationId, roleId);
    if (!role) {
      throw new KeywardError('UNKNOWN_ROLE', `There is no role "${roleId}" in this organization.`, {
        details: { role: roleId },
      });
    }
    return role;
  }

  async list(organizationId: string): Promise<RoleDefinition[]> {
    const custom = await this.#store.listCustomRoles(organizationId);
    return [...BUILTIN_ROLES, ...custom.map(toRoleDefinition)];
  }

  /** Built-in permissions plus the ones the organization defined for its own APIs. */
  async permissionCatalog(organizationId: string): Promise<{ name: string; description: string; builtin: boolean }[]> {
    const custom = await this.#store.listCustomPermissions(organizationId);
    return [
      ...Object.entries(BUILTIN_PERMISSIONS).map(([name, description]) => ({ name, description, builtin: true })),
      ...custom.map((p) => ({ name: p.name, description: p.description, builtin: false })),
    ];
  }
}
