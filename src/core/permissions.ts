/**
 * Permissions, built-in roles and the rules for granting them.
 * Pure data and decisions; the store holds custom roles and permissions.
 */
import { KeywardError } from './errors.ts';

export const BUILTIN_PERMISSIONS = {
  'api.key.create': 'Create API keys',
  'api.key.view': 'List and view API keys',
  'api.key.update': 'Change the name and role of API keys',
  'api.key.delete': 'Revoke API keys',
  'api.key.rotate': 'Rotate API keys (issue a successor, expire the old key)',
  'api.key.verify': 'Verify presented API keys through /v1/verify',
  'api.key.compromise': 'Report a key compromised: revoke it at once, issue a replacement, open an incident',
  'incident.view': 'Read incidents (compromise and leak reports, what was done, who used the key)',
  'role.view': 'List roles and permissions',
  'role.manage': 'Create, edit and delete custom roles and permissions',
  'org.view': 'View organization settings',
  'org.manage': 'Change organization settings (IP allowlist, plan)',
  'usage.view': 'View key usage',
  'audit.view': 'Read the audit log',
  'metrics.view': "Read the service's Prometheus metrics (/metrics on the main port)",
  'member.view': 'List members and pending invitations',
  'member.manage': 'Invite members, change their roles and remove them',
} as const;

/** A permission of keyward's own: what routes require and built-in roles grant, so a typo is a type error. */
export type Permission = keyof typeof BUILTIN_PERMISSIONS;

/** Grants every permission, including ones an organization defines later. */
export const ALL_PERMISSIONS = '*';

/** Namespaces reserved for keyward's own permissions. */
export const RESERVED_PERMISSION_NAMESPACES = ['api', 'role', 'org', 'usage', 'audit', 'metrics', 'member', 'incident'] as const;
export const PERMISSION_NAME_PATTERN = /^[a-z][a-z0-9_-]{0,30}(\.[a-z0-9_-]{1,30}){1,4}$/;

export interface RoleDefinition {
  id: string;
  name: string;
  description: string;
  permissions: string[];
  builtin: boolean;
}

const builtin = (id: string, name: string, description: string, permissions: readonly (Permission | typeof ALL_PERMISSIONS)[]): RoleDefinition => ({
  id,
  name,
  description,
  permissions: [...permissions],
  builtin: true,
});

/** The built-in role that holds every permission: an organization's first key and first member get it. */
export const ADMIN_ROLE_ID = 'admin';

export const BUILTIN_ROLES: readonly RoleDefinition[] = [
  builtin(ADMIN_ROLE_ID, 'Admin', 'Everything, including roles and organization settings.', [ALL_PERMISSIONS]),
  builtin('key-manager', 'Key manager', 'Creates, edits, rotates and revokes keys; cannot manage roles.', [
    'api.key.create',
    'api.key.view',
    'api.key.update',
    'api.key.delete',
    'api.key.rotate',
    'api.key.compromise',
    'incident.view',
    'role.view',
    'usage.view',
    'org.view',
  ]),
  builtin('viewer', 'Viewer', 'Read-only access to keys, roles and usage.', ['api.key.view', 'role.view', 'usage.view', 'org.view']),
  builtin('verifier', 'Verifier', 'For API gateways: verifies presented keys, nothing else.', ['api.key.verify']),
];

const BUILTIN_ROLE_BY_ID = new Map(BUILTIN_ROLES.map((role) => [role.id, role]));
/** admin, key-manager, viewer, verifier: what help texts and pickers list. */
export const BUILTIN_ROLE_IDS: readonly string[] = BUILTIN_ROLES.map((role) => role.id);
/** The role an invitation form starts at: the built-in read-only one (the least a member can do anything with). */
export const DEFAULT_INVITATION_ROLE_ID = 'viewer';

/**
 * Roles that grant every permission (`*`): the built-in admin role. Custom
 * roles cannot hold `*` (permission names are dotted words), so this list is
 * complete. Only a key with such a role can grant everything, so an
 * organization always keeps one active (LAST_ADMIN_KEY).
 */
export const ALL_GRANTING_ROLE_IDS: readonly string[] = BUILTIN_ROLES.filter((role) => role.permissions.includes(ALL_PERMISSIONS)).map((role) => role.id);
export const grantsEverything = (roleId: string): boolean => ALL_GRANTING_ROLE_IDS.includes(roleId);

export const builtinRole = (id: string): RoleDefinition | undefined => BUILTIN_ROLE_BY_ID.get(id);
export const isBuiltinPermission = (name: string): name is Permission => Object.hasOwn(BUILTIN_PERMISSIONS, name);
export const isReservedPermissionName = (name: string): boolean =>
  (RESERVED_PERMISSION_NAMESPACES as readonly string[]).includes(name.split('.')[0] ?? '');

export function holds(granted: readonly string[], permission: string): boolean {
  return granted.includes(ALL_PERMISSIONS) || granted.includes(permission);
}

/** The permissions of `wanted` that `granted` does not hold (what an escalation would add). */
export function missingPermissions(granted: readonly string[], wanted: readonly string[]): string[] {
  if (granted.includes(ALL_PERMISSIONS)) return [];
  return wanted.filter((permission) => !granted.includes(permission));
}

/** The one check of what a route (or /metrics) requires; the executor runs it from the route table. */
export function requirePermission(granted: readonly string[], permission: Permission): void {
  if (!holds(granted, permission)) {
    throw new KeywardError('INSUFFICIENT_PERMISSIONS', `This key's role does not grant "${permission}".`, {
      details: { required: permission },
    });
  }
}

/** A key may never hand out a role that holds more than the key itself. */
export function requireCanGrant(granted: readonly string[], role: RoleDefinition): void {
  const missing = missingPermissions(granted, role.permissions);
  if (missing.length > 0) {
    throw new KeywardError(
      'PRIVILEGE_ESCALATION',
      `Role "${role.id}" grants ${missing.map((p) => `"${p}"`).join(', ')}, which this key does not hold.`,
      { details: { role: role.id, missing } },
    );
  }
}
