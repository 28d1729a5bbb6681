/** The people side of the service: members and invitations, sessions, passkeys, and the identity provider when configured. */
import { KeywardError } from '../../core/errors.ts';
import type { ServiceContext } from '../context.ts';
import type { Logger } from '../logger.ts';
import { Mailer } from './mailer.ts';
import { Members } from './members.ts';
import { Oidc } from './oidc.ts';
import { Passkeys } from './passkeys.ts';
import { Sessions } from './sessions.ts';
import { DEFAULT_PEOPLE_SETTINGS, type PeopleSettings } from './settings.ts';

export type { PeopleSettings } from './settings.ts';

export class People {
  readonly settings: PeopleSettings;
  readonly members: Members;
  readonly sessions: Sessions;
  readonly passkeys: Passkeys;
  readonly #oidc: Oidc | undefined;
  readonly #mailer: Mailer | undefined;

  constructor(ctx: ServiceContext, settings: Partial<PeopleSettings> = {}, logger?: Logger) {
    this.settings = { ...DEFAULT_PEOPLE_SETTINGS, ...settings };
    this.#mailer = this.settings.smtpUrl ? new Mailer(this.settings.smtpUrl, this.settings.mailFrom) : undefined;
    this.members = new Members(ctx, this.#mailer, logger);
    this.sessions = new Sessions(ctx, this.settings);
    this.passkeys = new Passkeys(ctx, this.members, this.sessions);
    this.#oidc = this.settings.oidc ? new Oidc(ctx, this.settings.oidc, this.members, this.sessions) : undefined;
  }

  get oidc(): Oidc {
    if (!this.#oidc) throw new KeywardError('OIDC_NOT_CONFIGURED', 'This service has no identity provider configured.');
    return this.#oidc;
  }

  /** The dashboard's origin: the operator's, else the one this request was made to. */
  origin(selfOrigin: string): string {
    return this.settings.publicOrigin ?? selfOrigin;
  }

  methods() {
    return { passkey: true, oidc: this.#oidc ? { name: this.#oidc.name } : null, keySignIn: this.settings.keySignIn };
  }

  close(): void {
    this.#mailer?.close();
  }
}
