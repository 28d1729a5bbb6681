/**
 * Uses by client address, outcome and requested permission, per key and UTC
 * day, with first and last seen: the investigation view of an incident. No
 * address or no permission is '' (a primary key column cannot be null).
 * The (organization, address, day) index answers "which other keys did this
 * address use".
 */
export const name = 'usage-by-address';

export const sql = /* sql */ `
CREATE TABLE usage_by_address (
  organization_id  text COLLATE "C" NOT NULL,
  key_id           text COLLATE "C" NOT NULL,
  day              date NOT NULL,
  ip               text COLLATE "C" NOT NULL,
  outcome          text COLLATE "C" NOT NULL,
  permission       text COLLATE "C" NOT NULL,
  count            bigint NOT NULL CHECK (count > 0),
  first_seen       timestamptz NOT NULL,
  last_seen        timestamptz NOT NULL,
  PRIMARY KEY (key_id, day, ip, outcome, permission),
  FOREIGN KEY (organization_id, key_id) REFERENCES keys (organization_id, id)
);
CREATE INDEX usage_by_address_org_ip ON usage_by_address (organization_id, ip, day);
CREATE INDEX usage_by_address_org_day ON usage_by_address (organization_id, day);
`;
