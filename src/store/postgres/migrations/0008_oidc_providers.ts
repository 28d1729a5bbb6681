/**
 * Identity providers per organization (issue 23): issuer, client id and
 * secret, the button's name and the allowed email domains. The client secret
 * is a column in the clear, as the provider must be shown it at every code
 * exchange (see OidcProviderRecord in src/core/people.ts for the risk); it
 * is never part of a listing, an answer or the audit log.
 */
export const name = 'oidc-providers';

export const sql = /* sql */ `
CREATE TABLE oidc_providers (
  organization_id  text COLLATE "C" PRIMARY KEY REFERENCES organizations (id),
  issuer           text NOT NULL,
  client_id        text NOT NULL,
  client_secret    text NOT NULL,
  name             text NOT NULL,
  allowed_domains  text[] NOT NULL,
  updated_at       timestamptz NOT NULL
);
`;
