/** Choosing a role for a key: every role, those granting more than the signed-in key disabled, and what the chosen one grants. */
import { h } from 'preact';
import type { Role } from './api.ts';
import { ALL_PERMISSIONS, BUILTIN_ROLE_IDS, missingPermissions } from '../core/permissions.ts';
import type { Ctx } from './context.ts';

/** Role choices for a select: every role, with those granting more than the signed-in key disabled. */
export function RoleOptions({ ctx, current }: { ctx: Ctx; current?: string }) {
  const roles: Role[] =
    ctx.roles ??
    [...new Set([...BUILTIN_ROLE_IDS, ...(current ? [current] : [])])].map((id) => ({ id, name: id, description: '', permissions: [], builtin: true }));
  return roles.map((role) => {
    const missing = missingPermissions(ctx.me.permissions, role.permissions);
    const label = `${role.name}${role.name.toLowerCase() === role.id ? '' : ` (${role.id})`}${role.builtin ? '' : ' · custom'}`;
    return h(
      'option',
      { key: role.id, value: role.id, disabled: missing.length > 0 && role.id !== current },
      missing.length > 0 ? `${label} — grants more than your key` : label,
    );
  });
}

export function roleDescription(ctx: Ctx, roleId: string): string {
  const role = ctx.roles?.find((r) => r.id === roleId);
  if (!role) return '';
  const perms = role.permissions.includes(ALL_PERMISSIONS) ? 'every permission' : role.permissions.join(', ');
  return `${role.description ? `${role.description} ` : ''}Grants: ${perms}.`;
}
