/**
 * `keyward members …` against the real service: invite prints the one-time
 * link once on stdout (the notice on stderr), list/update/remove in kubectl
 * style and -o json, invitations list and revoke, and refusals exit 1 naming
 * their code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run as keyward } from '../support/cli-process.ts';
import { startTestService, type TestService } from '../support/keyservice.ts';
import { invitationToken, memberWithSession } from '../support/people.ts';

let service: TestService;
let asAdmin: Record<string, string>;

beforeAll(async () => {
  service = await startTestService();
  asAdmin = { KEYWARD_URL: service.url, KEYWARD_API_KEY: service.adminSecret };
});
afterAll(async () => service?.stop());

describe('keyward members', () => {
  it('invite prints the link once on stdout and says so on stderr; invitations list shows it without the link', { timeout: 120_000 }, async () => {
    const invited = await keyward(['members', 'invite', '--email', 'Ada@Example.com', '--role', 'viewer'], asAdmin);
    expect(invited.code, invited.stderr).toBe(0);
    const lines = invited.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^EMAIL\s+INVITATION ID\s+ROLE\s+STATUS\s+EXPIRES\s+AGE$/);
    expect(lines[1]).toMatch(/^ada@example\.com\s+inv_[0-9A-Za-z]{20}\s+viewer\s+pending\s+/);
    const link = lines.at(-1)!;
    expect(link).toMatch(new RegExp(`^${service.url}/#invitation=[0-9A-Za-z]{32}$`));
    expect(invited.stderr).toContain('shown only now');
    expect(`${invited.stdout}${invited.stderr}`.split(link).length - 1).toBe(1);

    const listed = await keyward(['members', 'invitations', 'list', '-o', 'json'], asAdmin);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout).map((i: { email: string }) => i.email)).toContain('ada@example.com');
    expect(listed.stdout).not.toContain(invitationToken(link));

    const id = /inv_[0-9A-Za-z]{20}/.exec(lines[1]!)![0];
    const revoked = await keyward(['members', 'invitations', 'revoke', id], asAdmin);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toMatch(/revoked/);
    const again = await keyward(['members', 'invitations', 'revoke', id], asAdmin);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('INVITATION_REVOKED');
  });

  it('list, update and remove members; the last admin member is kept (exit 1, LAST_ADMIN_MEMBER)', { timeout: 120_000 }, async () => {
    const { member } = await memberWithSession(service, 'grace@example.com', 'admin');
    const listed = await keyward(['members', 'list'], asAdmin);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^EMAIL\s+MEMBER ID\s+NAME\s+ROLE\s+STATUS\s+LAST SIGN-IN\s+AGE$/m);
    expect(listed.stdout).toMatch(new RegExp(`^grace@example\\.com\\s+${member.id}\\s+grace@example\\.com\\s+admin\\s+active\\s+`, 'm'));

    const refused = await keyward(['members', 'update', member.id, '--role', 'viewer'], asAdmin);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('LAST_ADMIN_MEMBER');
    const usage = await keyward(['members', 'update', member.id], asAdmin);
    expect(usage.code).toBe(2);

    const renamed = await keyward(['members', 'update', member.id, '--display-name', 'Grace Hopper', '-o', 'json'], asAdmin);
    expect(renamed.code, renamed.stderr).toBe(0);
    expect(JSON.parse(renamed.stdout)[0]).toMatchObject({ displayName: 'Grace Hopper', role: 'admin' });

    const second = await memberWithSession(service, 'linus@example.com', 'viewer');
    const removed = await keyward(['members', 'remove', second.member.id, '--yes'], asAdmin);
    expect(removed.code).toBe(0);
    expect(removed.stdout).toBe(`member linus@example.com (${second.member.id}) removed\n`);
  });
});
