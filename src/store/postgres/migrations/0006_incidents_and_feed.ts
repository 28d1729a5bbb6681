/**
 * Incidents (compromise and leak reports), the organization's leak policy,
 * and the change feed's positions: key audit records get a feed_seq from
 * one sequence, assigned under a transaction lock so positions follow
 * commit order (a follower never skips a change that commits late).
 */
export const name = 'incidents-and-feed';

export const sql = /* sql */ `
ALTER TABLE organizations ADD COLUMN leak_policy text NOT NULL DEFAULT 'rotate';

CREATE SEQUENCE key_feed_seq;
ALTER TABLE audit_events ADD COLUMN feed_seq bigint;
CREATE UNIQUE INDEX audit_feed ON audit_events (organization_id, feed_seq) WHERE feed_seq IS NOT NULL;

CREATE TABLE incidents (
  id               text COLLATE "C" PRIMARY KEY,
  organization_id  text COLLATE "C" NOT NULL REFERENCES organizations (id),
  key_id           text COLLATE "C" NOT NULL,
  state            text NOT NULL,
  dedupe_key       text COLLATE "C",
  record           jsonb NOT NULL,
  CONSTRAINT incidents_dedupe_unique UNIQUE (organization_id, dedupe_key)
);
CREATE INDEX incidents_org ON incidents (organization_id, id DESC);
CREATE INDEX incidents_pending ON incidents (id) WHERE state = 'pending';
`;
