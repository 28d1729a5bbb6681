/**
 * An organization's own sign-in address: the dashboard's sign-in page for
 * that organization, with its identity provider's button and no email to
 * type. The Members page shows it and invitation mail gives it (for signing
 * in again later). No node: modules, so the dashboard bundles it.
 */
export const signInAddress = (origin: string, organizationId: string): string => `${origin}/#/sign-in?organization=${encodeURIComponent(organizationId)}`;
