/**
 * The first schema. Ids sort byte-wise (COLLATE "C"), as the lowdb store
 * compares them, so cursors mean the same thing in both stores.
 */
export const name = 'initial';

export const sql = /* sql */ `
CREATE TABLE organizations (
  id             text COLLATE "C" PRIMARY KEY,
  name           text NOT NULL,
  plan           text NOT NULL,
  ip_allowlist   text[] NOT NULL DEFAULT '{}',
  rotation_days  json NOT NULL DEFAULT '{}',
  created_at     timestamptz NOT NULL,
  -- When its settings last changed (NULL: never since creation); the replicas' caches re-read rows changed lately.
  changed_at     timestamptz,
  seq            bigint GENERATED ALWAYS AS IDENTITY UNIQUE
);
CREATE INDEX organizations_changed_at ON organizations (changed_at) WHERE changed_at IS NOT NULL;

CREATE TABLE keys (
  id               text COLLATE "C" PRIMARY KEY,
  organization_id  text COLLATE "C" NOT NULL REFERENCES organizations (id),
  name             text NOT NULL,
  role_id          text COLLATE "C" NOT NULL,
  environment      text NOT NULL CHECK (environment IN ('production', 'staging', 'development')),
  secret_hash      text COLLATE "C" NOT NULL CHECK (secret_hash ~ '^[0-9a-f]{64}$'),
  secret_hint      text NOT NULL,
  metadata         json NOT NULL DEFAULT '{}',
  ip_allowlist     text[] NOT NULL DEFAULT '{}',
  created_at       timestamptz NOT NULL,
  created_by       text COLLATE "C",
  expires_at       timestamptz,
  revoked_at       timestamptz,
  rotation_due_at  timestamptz NOT NULL,
  last_used_at     timestamptz,
  last_used_ip     text,
  rotated_from_id  text COLLATE "C",
  rotated_to_id    text COLLATE "C",
  idempotency_key  text,
  -- When its state last changed (edit, revoke, rotate; NULL: never since creation, and usage does not count):
  -- the replicas' caches re-read keys changed since their last refresh, in case a notification was lost.
  changed_at       timestamptz,
  -- One secret, one key: a hash can never match two keys.
  CONSTRAINT keys_secret_hash_unique UNIQUE (secret_hash),
  -- Target of the composite references below: a key belongs to exactly one organization.
  CONSTRAINT keys_organization_id_id_unique UNIQUE (organization_id, id),
  CONSTRAINT keys_idempotency_unique UNIQUE (organization_id, idempotency_key),
  -- Rotation links stay inside the organization.
  CONSTRAINT keys_rotated_from_fk FOREIGN KEY (organization_id, rotated_from_id) REFERENCES keys (organization_id, id) DEFERRABLE INITIALLY DEFERRED,
  CONSTRAINT keys_rotated_to_fk FOREIGN KEY (organization_id, rotated_to_id) REFERENCES keys (organization_id, id) DEFERRABLE INITIALLY DEFERRED,
  CONSTRAINT keys_rotated_to_unique UNIQUE (rotated_to_id)
);
-- Listing: (created_at, id) is the cursor order; filters on role and environment.
CREATE INDEX keys_org_order ON keys (organization_id, created_at, id);
CREATE INDEX keys_org_role ON keys (organization_id, role_id, created_at, id);
CREATE INDEX keys_org_environment ON keys (organization_id, environment, created_at, id);
CREATE INDEX keys_org_rotation_due ON keys (organization_id, rotation_due_at);
CREATE INDEX keys_org_last_used ON keys (organization_id, (coalesce(last_used_at, created_at)));
-- Status filters and the plan-limit count: keys that are not revoked (nor rotated away).
CREATE INDEX keys_org_unrevoked ON keys (organization_id, expires_at) WHERE revoked_at IS NULL;
CREATE INDEX keys_org_counting ON keys (organization_id) WHERE revoked_at IS NULL AND rotated_to_id IS NULL;
CREATE INDEX keys_org_revoked ON keys (organization_id, created_at, id) WHERE revoked_at IS NOT NULL;
-- Bounded-staleness refresh of the replicas' key caches.
CREATE INDEX keys_changed_at ON keys (changed_at) WHERE changed_at IS NOT NULL;

CREATE TABLE custom_roles (
  organization_id  text COLLATE "C" NOT NULL REFERENCES organizations (id),
  id               text COLLATE "C" NOT NULL,
  name             text NOT NULL,
  description      text NOT NULL,
  permissions      text[] NOT NULL,
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL,
  seq              bigint GENERATED ALWAYS AS IDENTITY,
  PRIMARY KEY (organization_id, id)
);

CREATE TABLE custom_permissions (
  organization_id  text COLLATE "C" NOT NULL REFERENCES organizations (id),
  name             text COLLATE "C" NOT NULL,
  description      text NOT NULL,
  created_at       timestamptz NOT NULL,
  seq              bigint GENERATED ALWAYS AS IDENTITY,
  PRIMARY KEY (organization_id, name)
);

CREATE TABLE audit_events (
  id               text COLLATE "C" PRIMARY KEY,
  organization_id  text COLLATE "C" NOT NULL REFERENCES organizations (id),
  at               timestamptz NOT NULL,
  action           text NOT NULL,
  actor_key_id     text COLLATE "C",
  ip               text,
  target_type      text NOT NULL,
  target_id        text NOT NULL,
  changes          json
);
-- Newest first by id, per organization, with each filter.
CREATE INDEX audit_org_id ON audit_events (organization_id, id DESC);
CREATE INDEX audit_org_action ON audit_events (organization_id, action, id DESC);
CREATE INDEX audit_org_actor ON audit_events (organization_id, actor_key_id, id DESC);
CREATE INDEX audit_org_target ON audit_events (organization_id, target_id, id DESC);
CREATE INDEX audit_org_at ON audit_events (organization_id, at);

CREATE TABLE usage_counts (
  organization_id  text COLLATE "C" NOT NULL,
  key_id           text COLLATE "C" NOT NULL,
  day              date NOT NULL,
  outcome          text COLLATE "C" NOT NULL,
  count            bigint NOT NULL CHECK (count >= 0),
  PRIMARY KEY (key_id, day, outcome),
  FOREIGN KEY (organization_id, key_id) REFERENCES keys (organization_id, id)
);
CREATE INDEX usage_org_day ON usage_counts (organization_id, day);
`;
