/** The people side of the service: members and invitations, sessions, passkeys, and the identity providers (per organization or service-wide). */
import type { ServiceContext } from '../context.ts';
import type { Logger } from '../logger.ts';
import { Mailer } from './mailer.ts';
import { Members } from './members.ts';
import { Oidc } from './oidc.ts';
import { OidcProviders } from './oidc-providers.ts';
import { Passkeys } from './passkeys.ts';
import { Sessions } from './sessions.ts';
import { DEFAULT_PEOPLE_SETTINGS, type PeopleSettings } from './settings.ts';
import { SsoLookup } from './sso-lookup.ts';

export type { PeopleSettings } from './settings.ts';

export class People {
  readonly settings: PeopleSettings;
  readonly members: Members;
  readonly sessions: Sessions;
  readonly passkeys: Passkeys;
  readonly oidcProviders: OidcProviders;
  readonly oidc: Oidc;
  readonly ssoLookup: SsoLookup;
  readonly #mailer: Mailer | undefined;

  constructor(ctx: ServiceContext, settings: Partial<PeopleSettings> = {}, logger?: Logger) {
    this.settings = { ...DEFAULT_PEOPLE_SETTINGS, ...settings };
    this.#mailer = this.settings.smtpUrl ? new Mailer(this.settings.smtpUrl, this.settings.mailFrom) : undefined;
    this.oidcProviders = new OidcProviders(ctx, this.settings.oidc);
    this.members = new Members(ctx, this.oidcProviders, this.#mailer, logger);
    this.sessions = new Sessions(ctx, this.settings);
    this.passkeys = new Passkeys(ctx, this.members, this.sessions);
    this.ssoLookup = new SsoLookup(ctx.store.people, this.oidcProviders, this.settings.ssoLookupThrottle, ctx.nowMs);
    this.oidc = new Oidc(ctx, this.oidcProviders, this.members, this.sessions, this.ssoLookup);
  }

  /** The dashboard's origin: the operator's, else the one this request was made to. */
  origin(selfOrigin: string): string {
    return this.settings.publicOrigin ?? selfOrigin;
  }

  /**
   * What the sign-in page offers: the identity provider of the organization
   * named (else the service's default one), if it has one; and, on a page
   * that names no organization, the work-email form when an email could find
   * another organization's provider (sso-lookup.ts).
   */
  async methods(organization: string | undefined) {
    const organizationId = await this.oidcProviders.organizationFor(organization);
    const provider = organizationId === undefined ? undefined : await this.oidcProviders.forOrganization(organizationId);
    const ssoByEmail = organization === undefined && (await this.ssoLookup.offered(provider ? organizationId : undefined));
    return { passkey: true, oidc: provider ? { name: provider.name } : null, ssoByEmail, keySignIn: this.settings.keySignIn };
  }

  close(): void {
    this.#mailer?.close();
  }
}
