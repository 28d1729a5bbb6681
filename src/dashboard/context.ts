/** What every tab gets from the signed-in shell. */
import type { OperationId } from '../core/api.ts';
import { ENVIRONMENTS, rotationDays, type Environment } from '../core/rotation.ts';
import type { Api, Me, Organization, Role } from './api.ts';

export interface Ctx {
  api: Api;
  me: Me;
  /** Whether the signed-in caller holds what the route table requires for this operation. */
  mayCall: (operation: OperationId) => boolean;
  /** Roles of the organization (null when they could not be listed). */
  roles: Role[] | null;
  reloadRoles: () => void;
  /** Organization settings, 'unavailable' when the service has no /v1/organization, null while loading or not permitted. */
  org: Organization | 'unavailable' | null;
  reloadOrg: () => void;
  /** Refresh who is signed in (after editing the signed-in key). */
  refreshMe: () => void;
  /** Polite screen-reader announcement (and visible status line). */
  announce: (message: string) => void;
  signOut: (reason?: unknown) => void;
}

/**
 * Days between rotations of a key in this environment, as the organization
 * set them; null while its settings are not known (loading, or a key without
 * org.view): never a built-in default that may not be the organization's.
 */
export const rotationDaysIn = (org: Ctx['org'], environment: Environment): number | null =>
  typeof org === 'object' && org !== null ? rotationDays(environment, org.rotationDays) : null;

/** "Rotate production keys every 90 days, …" from the organization's settings ('' while they are not known). */
export const rotationHint = (org: Ctx['org']): string => {
  if (typeof org !== 'object' || org === null) return '';
  return `Rotate ${ENVIRONMENTS.map((env) => `${env} keys every ${rotationDaysIn(org, env)} days`).join(', ')}.`;
};
