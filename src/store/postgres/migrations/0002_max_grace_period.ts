/**
 * The longest rotation grace period per organization, set by the service
 * operator like the plan (existing organizations get the default, 7 days).
 */
export const name = 'max-grace-period';

export const sql = /* sql */ `
ALTER TABLE organizations ADD COLUMN max_grace_period text NOT NULL DEFAULT '7d';
`;
