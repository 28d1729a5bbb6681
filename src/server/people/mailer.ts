/** Invitation mail through nodemailer, when the operator configured SMTP (KEYWARD_SMTP_URL). */
import nodemailer, { type Transporter } from 'nodemailer';

export interface InvitationMail {
  to: string;
  organizationName: string;
  role: string;
  link: string;
  expiresAt: string;
}

export class Mailer {
  readonly #transport: Transporter;
  readonly #from: string;

  constructor(smtpUrl: string, from: string) {
    this.#transport = nodemailer.createTransport(smtpUrl);
    this.#from = from;
  }

  async sendInvitation(mail: InvitationMail): Promise<void> {
    await this.#transport.sendMail({
      from: this.#from,
      to: mail.to,
      subject: `You are invited to ${mail.organizationName} on keyward`,
      text: [
        `You were invited to join ${mail.organizationName} on keyward as ${mail.role}.`,
        '',
        `Accept the invitation (the link works once, until ${mail.expiresAt}):`,
        mail.link,
        '',
        'If you did not expect this, ignore this mail.',
      ].join('\n'),
    });
  }

  close(): void {
    this.#transport.close();
  }
}
