/**
 * Rotation that waits for its consumers (issue 21): each key's most recent
 * clients (address, user agent, last use; bounded, merged at every usage
 * flush) and, on a rotated key, how its transition ends. The partial index
 * serves the sweep that looks for whenUnused transitions still open.
 */
export const name = 'key-retirement';

export const sql = /* sql */ `
ALTER TABLE keys ADD COLUMN recent_clients jsonb NOT NULL DEFAULT '[]';
ALTER TABLE keys ADD COLUMN retirement jsonb;
CREATE INDEX keys_open_retirements ON keys (id)
  WHERE retirement IS NOT NULL AND retirement->>'revokeOld' = 'whenUnused' AND retirement->>'endedAt' IS NULL AND revoked_at IS NULL;
`;
