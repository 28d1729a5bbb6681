/**
 * `keyward members …` against the real service: invite prints the one-time
 * link once on stdout (the notice on stderr), list/update/remove in kubectl
 * style and -o json, invitations list and revoke, and refusals exit 1 naming
 * their code; every output format (table, wide, json, yaml, name, jsonpath)
 * and -q, on a service of its own so its lists start empty.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { run as keyward } from '../support/cli-process.ts';
import { startTestService, type TestService } from '../support/keyservice.ts';
import { invitationToken, memberWithSession } from '../support/people.ts';

let service: TestService;

beforeAll(async () => {
  service = await startTestService();
});
afterAll(async () => service?.stop());

describe('keyward members', () => {
  it('invite prints the link once on stdout and says so on stderr; invitations list shows it without the link', { timeout: 120_000 }, async () => {
    const invited = await keyward(['members', 'invite', '--email', 'Ada@Example.com', '--role', 'viewer'], service.adminEnv);
    expect(invited.code, invited.stderr).toBe(0);
    const lines = invited.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^EMAIL\s+INVITATION ID\s+ROLE\s+STATUS\s+EXPIRES\s+AGE$/);
    expect(lines[1]).toMatch(/^ada@example\.com\s+inv_[0-9A-Za-z]{20}\s+viewer\s+pending\s+/);
    const link = lines.at(-1)!;
    expect(link).toMatch(new RegExp(`^${service.url}/#invitation=[0-9A-Za-z]{32}$`));
    expect(invited.stderr).toContain('shown only now');
    expect(`${invited.stdout}${invited.stderr}`.split(link).length - 1).toBe(1);

    const listed = await keyward(['members', 'invitations', 'list', '-o', 'json'], service.adminEnv);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout).map((i: { email: string }) => i.email)).toContain('ada@example.com');
    expect(listed.stdout).not.toContain(invitationToken(link));

    const id = /inv_[0-9A-Za-z]{20}/.exec(lines[1]!)![0];
    const revoked = await keyward(['members', 'invitations', 'revoke', id], service.adminEnv);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toMatch(/revoked/);
    const again = await keyward(['members', 'invitations', 'revoke', id], service.adminEnv);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('INVITATION_REVOKED');
  });

  it('list, get, update and remove members; the last admin member is kept (exit 1, LAST_ADMIN_MEMBER)', { timeout: 120_000 }, async () => {
    const { member } = await memberWithSession(service, 'grace@example.com', 'admin');
    const listed = await keyward(['members', 'list'], service.adminEnv);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^EMAIL\s+MEMBER ID\s+NAME\s+ROLE\s+STATUS\s+LAST SIGN-IN\s+AGE$/m);
    expect(listed.stdout).toMatch(new RegExp(`^grace@example\\.com\\s+${member.id}\\s+grace@example\\.com\\s+admin\\s+active\\s+`, 'm'));

    const [got, missing] = await Promise.all([keyward(['members', 'get', member.id, '-o', 'json'], service.adminEnv), keyward(['members', 'get', 'mem_00000000000000000000'], service.adminEnv)]);
    expect(got.code, got.stderr).toBe(0);
    expect(JSON.parse(got.stdout)).toMatchObject({ id: member.id, email: 'grace@example.com', role: 'admin' });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('(MEMBER_NOT_FOUND)');
    expect(missing.stderr).toContain('hint: List the members with `keyward members list`.');

    const refused = await keyward(['members', 'update', member.id, '--role', 'viewer'], service.adminEnv);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('LAST_ADMIN_MEMBER');
    const usage = await keyward(['members', 'update', member.id], service.adminEnv);
    expect(usage.code).toBe(2);

    const renamed = await keyward(['members', 'update', member.id, '--display-name', 'Grace Hopper', '-o', 'json'], service.adminEnv);
    expect(renamed.code, renamed.stderr).toBe(0);
    expect(JSON.parse(renamed.stdout)).toMatchObject({ displayName: 'Grace Hopper', role: 'admin' });

    const second = await memberWithSession(service, 'linus@example.com', 'viewer');
    const removed = await keyward(['members', 'remove', second.member.id, '--yes'], service.adminEnv);
    expect(removed.code).toBe(0);
    expect(removed.stdout).toBe(`member linus@example.com (${second.member.id}) removed\n`);
  });
});

describe('keyward members output formats', () => {
  let own: TestService;
  beforeAll(async () => {
    own = await startTestService();
  });
  afterAll(async () => own?.stop());
  const members = (...args: string[]) => keyward(['members', ...args], own.adminEnv);

  it('empty lists say so on stderr and leave stdout empty (json: [])', { timeout: 120_000 }, async () => {
    const [table, json, invitations] = await Promise.all([members('list'), members('list', '-o', 'json'), members('invitations', 'list')]);
    expect(table, table.stderr).toMatchObject({ code: 0, stdout: '', stderr: 'No members found.\n' });
    expect(JSON.parse(json.stdout)).toEqual([]);
    expect(invitations).toMatchObject({ code: 0, stdout: '', stderr: 'No invitations found.\n' });
  });

  it('members list in table, wide, json, yaml, name, jsonpath and -q', { timeout: 120_000 }, async () => {
    const ada = (await memberWithSession(own, 'ada@example.com', 'admin')).member;
    const bob = (await memberWithSession(own, 'bob@example.com', 'viewer')).member;
    const [table, wide, json, yaml, name, jsonpath, quiet] = await Promise.all([
      members('list'),
      members('list', '-o', 'wide'),
      members('list', '-o', 'json'),
      members('list', '-o', 'yaml'),
      members('list', '-o', 'name'),
      members('list', '-o', 'jsonpath={[*].email}'),
      members('list', '-q'),
    ]);
    for (const run of [table, wide, json, yaml, name, jsonpath, quiet]) expect(run.code, run.stderr).toBe(0);
    expect(table.stdout).toMatch(/^EMAIL\s+MEMBER ID\s+NAME\s+ROLE\s+STATUS\s+LAST SIGN-IN\s+AGE\n/);
    expect(table.stdout).toMatch(new RegExp(`^bob@example\\.com\\s+${bob.id}\\s+bob@example\\.com\\s+viewer\\s+active\\s+`, 'm'));
    expect(table.stdout).not.toContain('OIDC');
    expect(wide.stdout).toMatch(/^EMAIL\s+MEMBER ID\s+NAME\s+ROLE\s+STATUS\s+LAST SIGN-IN\s+AGE\s+OIDC\s+UPDATED\n/);
    expect(wide.stdout).toMatch(new RegExp(`^ada@example\\.com\\s+${ada.id}\\s.*\\sno\\s+\\S+$`, 'm'));

    const listed = JSON.parse(json.stdout) as { id: string; email: string; role: string }[];
    expect(listed.map((m) => [m.email, m.id, m.role]).sort()).toEqual([['ada@example.com', ada.id, 'admin'], ['bob@example.com', bob.id, 'viewer']]);
    expect(yaml.stdout).toMatch(/^- id: mem_/); // YAML's block style, not JSON (which YAML would parse too)
    expect(parseYaml(yaml.stdout)).toEqual(listed);
    expect(name.stdout).toBe(listed.map((m) => `member/${m.id}\n`).join(''));
    expect(jsonpath.stdout).toBe(`${listed.map((m) => m.email).join(' ')}\n`);
    expect(quiet.stdout).toBe(listed.map((m) => `${m.id}\n`).join(''));
  });

  it('invite, invitations list, update, remove and revoke in every format; -q prints the link, the ids, or nothing', { timeout: 120_000 }, async () => {
    const link = await members('invite', '-q', '--email', 'cy@example.com', '--role', 'viewer');
    expect(link.code, link.stderr).toBe(0);
    expect(link.stdout).toMatch(new RegExp(`^${own.url}/#invitation=[0-9A-Za-z]{32}\n$`));
    const named = await members('invite', '-o', 'name', '--email', 'dee@example.com', '--role', 'viewer');
    expect(named.stdout).toMatch(/^invitation\/inv_[0-9A-Za-z]{20}\n$/);
    const dee = named.stdout.trim().slice('invitation/'.length);

    const [yaml, name, quiet, wide, jsonpath] = await Promise.all([
      members('invitations', 'list', '-o', 'yaml'),
      members('invitations', 'list', '-o', 'name'),
      members('invitations', 'list', '-q'),
      members('invitations', 'list', '-o', 'wide'),
      members('invitations', 'list', '-o', 'jsonpath={[?(@.email=="dee@example.com")].status}'),
    ]);
    const invitations = parseYaml(yaml.stdout) as { id: string; email: string }[];
    expect(invitations.map((i) => i.email)).toEqual(expect.arrayContaining(['cy@example.com', 'dee@example.com']));
    expect(yaml.stdout).not.toContain(link.stdout.trim().split('=')[1]);
    expect(name.stdout).toBe(invitations.map((i) => `invitation/${i.id}\n`).join(''));
    expect(quiet.stdout).toBe(invitations.map((i) => `${i.id}\n`).join(''));
    expect(wide.stdout).toMatch(/^EMAIL\s+INVITATION ID\s+ROLE\s+STATUS\s+EXPIRES\s+AGE\s+INVITED BY\s+MEMBER\n/);
    expect(jsonpath.stdout).toBe('pending\n');

    const revoked = await members('invitations', 'revoke', dee, '-q');
    expect(revoked).toMatchObject({ code: 0, stdout: '' });
    const revokedAgain = await keyward(['members', 'invitations', 'list', '-o', `jsonpath={[?(@.id=="${dee}")].status}`], own.adminEnv);
    expect(revokedAgain.stdout).toBe('revoked\n');

    const eve = (await memberWithSession(own, 'eve@example.com', 'viewer')).member;
    const updated = await members('update', eve.id, '--display-name', 'Eve', '-o', 'yaml');
    expect(updated.code, updated.stderr).toBe(0);
    expect(parseYaml(updated.stdout)).toMatchObject({ id: eve.id, displayName: 'Eve', role: 'viewer' });
    const removed = await members('remove', eve.id, '--yes', '-o', 'name');
    expect(removed).toMatchObject({ code: 0, stdout: `member/${eve.id}\n` });
  });
});
