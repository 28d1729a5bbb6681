/** What every tab gets from the signed-in shell. */
import type { Permission } from '../core/permissions.ts';
import { rotationDays, type Environment } from '../core/rotation.ts';
import type { Api, Organization, Role, WhoAmI } from './api.ts';

export interface Ctx {
  api: Api;
  me: WhoAmI;
  can: (permission: Permission) => boolean;
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

/** Days between rotations of a key in this environment, as the organization set them (the defaults until its settings are loaded). */
export const rotationDaysIn = (org: Ctx['org'], environment: Environment): number =>
  rotationDays(environment, typeof org === 'object' && org !== null ? org.rotationDays : {});
