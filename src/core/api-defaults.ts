/**
 * Defaults and bounds of the API that its schemas, the route table's
 * descriptions and the clients all name. Plain values, no zod: the route
 * table and the browser dashboard import this module.
 */
import { parseDuration } from './duration.ts';

/** Pages of lists: the size a page has when none is asked for, and the most one may hold (clients that read every page ask for the most). */
export const PAGE_LIMITS = { default: 100, keys: 500, auditEvents: 1000, incidents: 500 } as const;

/** How long an invitation link works when the inviter does not say. */
export const DEFAULT_INVITATION_EXPIRY = '7d';

/** How long the first admin's link (the bootstrap invitation) works: as long as an invitation by default. */
export const BOOTSTRAP_INVITATION_MS = parseDuration(DEFAULT_INVITATION_EXPIRY);
