/** What the people side needs from the service's settings (config.ts declares them; server.ts hands them over). */
import { peopleSettings, resolveConfig } from '../config.ts';
import type { FailedAuthPolicy } from '../failed-auth.ts';

/** The service-wide identity provider (KEYWARD_OIDC_*): organizations without their own sign in with it. */
export interface OidcSettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Shown on the sign-in button ("Sign in with <name>"). */
  name: string;
  /** The only organization it serves, and a sign-in's when the browser names none (unset: every organization without a provider of its own). */
  organizationId: string | undefined;
  /** Email domains allowed to sign in; empty: any. */
  allowedDomains: string[];
}

export interface PeopleSettings {
  /** The dashboard's origin (scheme://host[:port]) when the operator fixed it; else each request's own. */
  publicOrigin: string | undefined;
  sessionIdleMs: number;
  sessionAbsoluteMs: number;
  /** nodemailer transport URL (smtp://…); unset: invitations are not mailed. */
  smtpUrl: string | undefined;
  mailFrom: string;
  oidc: OidcSettings | undefined;
  /** Break-glass: the dashboard offers signing in with a pasted key. */
  keySignIn: boolean;
  /** Signing in by a work email: lookups that find nothing, per address, before it is refused for a while (the failed-authentication policy). */
  ssoLookupThrottle: FailedAuthPolicy;
}

/** The service schema's defaults (config.ts), for a service built without a configuration (tests, embedders). */
export const DEFAULT_PEOPLE_SETTINGS: PeopleSettings = peopleSettings(resolveConfig());
