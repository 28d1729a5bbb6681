/**
 * Signing in by a work email (issue 23): the sign-in page asks, without a
 * caller, which organization's provider allows an email's domain; the index
 * answers that without reading every organization's provider.
 */
export const name = 'oidc-provider-domains';

export const sql = /* sql */ `
CREATE INDEX oidc_providers_allowed_domains ON oidc_providers USING gin (allowed_domains);
`;
