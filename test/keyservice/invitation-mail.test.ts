/**
 * Invitation mail through a real SMTP server (smtp-server) on loopback: the
 * mail reaches it and holds the one-time link the API showed; a server that
 * refuses leaves the invitation created, reported as not mailed, with nothing
 * of the link in the log.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/keyservice.ts';
import { invitationToken } from '../support/people.ts';

interface Received {
  from: string;
  to: string[];
  data: string;
}

async function startSmtp(refuse: boolean): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(_address, _session, callback) {
      callback(refuse ? Object.assign(new Error('mailbox unavailable'), { responseCode: 550 }) : undefined);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          data: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return { url: `smtp://127.0.0.1:${port}`, received, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('invitation mail', () => {
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let service: TestService;

  beforeAll(async () => {
    smtp = await startSmtp(false);
    service = await startTestService({ smtpUrl: smtp.url, mailFrom: 'keyward <noreply@acme.test>', publicUrl: 'https://keys.acme.test' });
  });
  afterAll(async () => {
    await service?.stop();
    await smtp?.close();
  });

  it('is sent to the invited address and holds the link the API showed once', async () => {
    const created = await service.client().createInvitation({ email: 'linus@example.com', role: 'viewer' });
    expect(created.mailed).toBe(true);
    expect(created.link).toMatch(/^https:\/\/keys\.acme\.test\/#invitation=[0-9A-Za-z]{32}$/);
    expect(smtp.received).toHaveLength(1);
    const mail = smtp.received[0]!;
    expect(mail.to).toEqual(['linus@example.com']);
    expect(mail.from).toBe('noreply@acme.test');
    expect(mail.data).toMatch(/Subject: You are invited to acme on keyward/);
    // Long lines make it quoted-printable (folded lines, "=" encoded): compare the text as decoded (ASCII only here).
    const quoted = /^Content-Transfer-Encoding: quoted-printable\r?$/im.test(mail.data);
    const text = quoted ? mail.data.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))) : mail.data;
    expect(text).toContain(created.link);
    // And where to sign in again later: the organization's own sign-in address.
    expect(text).toContain(`https://keys.acme.test/#/sign-in?organization=${service.organizationId}`);
    expect(service.logs.join('\n')).not.toContain(invitationToken(created.link));
  });
});

describe('invitation mail refused by the server', () => {
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let service: TestService;

  beforeAll(async () => {
    smtp = await startSmtp(true);
    service = await startTestService({ smtpUrl: smtp.url });
  });
  afterAll(async () => {
    await service?.stop();
    await smtp?.close();
  });

  it('the invitation is made and shown, reported as not mailed; the log names the invitation, not its link', async () => {
    const created = await service.client().createInvitation({ email: 'nobody@example.com', role: 'viewer' });
    expect(created.mailed).toBe(false);
    expect((await service.client().listInvitations()).items.map((i) => i.id)).toContain(created.invitation.id);
    const logs = service.logs.join('\n');
    expect(logs).toContain('could not mail an invitation');
    expect(logs).toContain(created.invitation.id);
    expect(logs).not.toContain(invitationToken(created.link));
  });
});
