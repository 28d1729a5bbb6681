/**
 * People (issue 23): members of an organization, the invitations that make
 * them, their sessions and passkeys, and the short-lived sign-in ceremonies.
 * Tokens are stored only as SHA-256 hashes. Audit events name their actor
 * (a key with its name, or a member with their email).
 */
export const name = 'people';

export const sql = /* sql */ `
CREATE TABLE members (
  id               text COLLATE "C" PRIMARY KEY,
  organization_id  text COLLATE "C" NOT NULL REFERENCES organizations (id),
  email            text COLLATE "C" NOT NULL,
  display_name     text NOT NULL,
  role_id          text COLLATE "C" NOT NULL,
  status           text NOT NULL CHECK (status IN ('active', 'suspended')),
  oidc_subject     text COLLATE "C",
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL,
  last_sign_in_at  timestamptz,
  CONSTRAINT members_email_unique UNIQUE (organization_id, email)
);

CREATE TABLE invitations (
  id               text COLLATE "C" PRIMARY KEY,
  organization_id  text COLLATE "C" NOT NULL REFERENCES organizations (id),
  email            text COLLATE "C" NOT NULL,
  role_id          text COLLATE "C" NOT NULL,
  token_hash       text COLLATE "C" NOT NULL UNIQUE,
  created_at       timestamptz NOT NULL,
  expires_at       timestamptz NOT NULL,
  invited_by       text COLLATE "C",
  accepted_at      timestamptz,
  revoked_at       timestamptz,
  member_id        text COLLATE "C"
);
CREATE INDEX invitations_org ON invitations (organization_id, created_at);

CREATE TABLE sessions (
  id               text COLLATE "C" PRIMARY KEY,
  organization_id  text COLLATE "C" NOT NULL REFERENCES organizations (id),
  member_id        text COLLATE "C" NOT NULL REFERENCES members (id) ON DELETE CASCADE,
  token_hash       text COLLATE "C" NOT NULL UNIQUE,
  created_at       timestamptz NOT NULL,
  last_seen_at     timestamptz NOT NULL,
  expires_at       timestamptz NOT NULL,
  method           text NOT NULL,
  ip               text
);
CREATE INDEX sessions_member ON sessions (member_id);

CREATE TABLE passkeys (
  id               text COLLATE "C" PRIMARY KEY,
  organization_id  text COLLATE "C" NOT NULL REFERENCES organizations (id),
  member_id        text COLLATE "C" NOT NULL REFERENCES members (id) ON DELETE CASCADE,
  name             text NOT NULL,
  public_key       text NOT NULL,
  counter          bigint NOT NULL,
  transports       text[] NOT NULL,
  created_at       timestamptz NOT NULL,
  last_used_at     timestamptz
);
CREATE INDEX passkeys_member ON passkeys (member_id);

CREATE TABLE ceremonies (
  id_hash          text COLLATE "C" PRIMARY KEY,
  kind             text NOT NULL,
  expires_at       timestamptz NOT NULL,
  data             json NOT NULL
);
CREATE INDEX ceremonies_expires ON ceremonies (expires_at);

ALTER TABLE audit_events ADD COLUMN actor json;
`;
