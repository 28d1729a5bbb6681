/** Invitation mail through nodemailer, when the operator configured SMTP (KEYWARD_SMTP_URL). */
import type { Transporter } from 'nodemailer';

export interface InvitationMail {
  to: string;
  organizationName: string;
  role: string;
  link: string;
  expiresAt: string;
  /** The organization's own sign-in address, for signing in again later. */
  signInAddress: string;
}

export class Mailer {
  readonly #smtpUrl: string;
  readonly #from: string;
  /** Made at the first mail (nodemailer is loaded then, not at every start). */
  #transport: Promise<Transporter> | undefined;

  constructor(smtpUrl: string, from: string) {
    this.#smtpUrl = smtpUrl;
    this.#from = from;
  }

  #transporter(): Promise<Transporter> {
    this.#transport ??= import('nodemailer').then((nodemailer) => nodemailer.default.createTransport(this.#smtpUrl));
    return this.#transport;
  }

  async sendInvitation(mail: InvitationMail): Promise<void> {
    await (await this.#transporter()).sendMail({
      from: this.#from,
      to: mail.to,
      subject: `You are invited to ${mail.organizationName} on keyward`,
      text: [
        `You were invited to join ${mail.organizationName} on keyward as ${mail.role}.`,
        '',
        `Accept the invitation (the link works once, until ${mail.expiresAt}):`,
        mail.link,
        '',
        'Afterwards, sign in at:',
        mail.signInAddress,
        '',
        'If you did not expect this, ignore this mail.',
      ].join('\n'),
    });
  }

  close(): void {
    void this.#transport?.then((transport) => transport.close(), () => {});
  }
}
