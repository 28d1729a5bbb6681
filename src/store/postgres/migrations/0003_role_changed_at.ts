/**
 * Custom roles are cached by each replica, like keys: when a role last
 * changed (created, edited), so the periodic refresh re-reads roles changed
 * since the last one, in case a notification was lost. Creation counts too:
 * a role deleted and created again under the same id must replace a copy a
 * replica still holds.
 */
export const name = 'role-changed-at';

export const sql = /* sql */ `
ALTER TABLE custom_roles ADD COLUMN changed_at timestamptz;
CREATE INDEX custom_roles_changed_at ON custom_roles (changed_at) WHERE changed_at IS NOT NULL;
`;
