/** What every tab gets from the signed-in shell. */
import type { Api, Organization, Role, WhoAmI } from './api.ts';

export interface Ctx {
  api: Api;
  me: WhoAmI;
  can: (permission: string) => boolean;
  /** Roles of the organization (null when they could not be listed). */
  roles: Role[] | null;
  reloadRoles: () => void;
  /** Organization settings, 'unavailable' when the service has no /v1/organization, null while loading or not permitted. */
  org: Organization | 'unavailable' | null;
  reloadOrg: () => void;
  /** Refresh whoami (after editing the signed-in key). */
  refreshMe: () => void;
  /** Polite screen-reader announcement (and visible status line). */
  announce: (message: string) => void;
  signOut: (reason?: unknown) => void;
}

export const BUILTIN_ROLE_IDS = ['admin', 'key-manager', 'viewer', 'verifier'];
export const ENVIRONMENTS = ['production', 'staging', 'development'] as const;
export const ROTATION_HINT: Record<string, string> = {
  production: 'Rotation due every 90 days.',
  staging: 'Rotation due every 90 days.',
  development: 'Rotation due every 180 days.',
};

/** Permissions the role holds that the signed-in key does not (a create/edit with it would be refused). */
export function exceeds(role: Role, held: readonly string[]): string[] {
  if (held.includes('*')) return [];
  return role.permissions.filter((p) => !held.includes(p));
}
