/**
 * People sign in, in real Chromium against the real key service: an
 * invitation accepted with a passkey made by Chromium's virtual
 * authenticator (CDP WebAuthn domain), signing in with that passkey, creating
 * a key with the session (cookie + CSRF token), a removed member's open
 * session failing on its next request; and OpenID Connect against a real
 * provider (oidc-provider) started on loopback: accepting an invitation
 * through it, signing in again, an unverified email refused (the dashboard
 * the provider sends the browser back to finishes each of these itself).
 *
 * The browser talks to http://localhost:<port>: WebAuthn needs a host name
 * (an IP address is no relying party id), and Chromium treats localhost as
 * a secure context.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, CHROMIUM_PATH, launchChromium, REQUIRE_BROWSER } from '../support/browser.ts';
import { raw, startTestService, type TestService } from '../support/keyservice.ts';
import { TestOidcProvider } from '../support/oidc-provider.ts';
import { invitationToken } from '../support/people.ts';
import { call, freshPage as freshBrowserPage, oidcSignIn as signInThroughProvider, type Answer } from '../support/people-browser.ts';

const available = browserAvailable();

if (!available && REQUIRE_BROWSER) {
  describe('people sign in (Chromium)', () => {
    it('needs Chromium (KEYWARD_REQUIRE_BROWSER=1)', () => {
      throw new Error(`KEYWARD_REQUIRE_BROWSER=1 but ${CHROMIUM_PATH} is missing: apt-get install -y chromium`);
    });
  });
}

/** Accepts an invitation in the page: creation options, navigator.credentials.create (the virtual authenticator), accept. */
async function acceptWithPasskey(page: Page, token: string, displayName: string, email?: string): Promise<Answer> {
  return page.evaluate(
    async ({ token, displayName, email }) => {
      const post = async (path: string, body: unknown) => {
        const response = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        return { status: response.status, body: await response.json() };
      };
      const options = await post('/v1/auth/invitation/passkey-options', { token });
      if (options.status !== 200) return options;
      const credential = (await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options.body.options) })) as PublicKeyCredential;
      return post('/v1/auth/invitation/accept', { token, displayName, credential: credential.toJSON(), ...(email ? { email } : {}) });
    },
    { token, displayName, email },
  );
}

async function signInWithPasskey(page: Page): Promise<Answer> {
  return page.evaluate(async () => {
    const post = async (path: string, body?: unknown) => {
      const response = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
      return { status: response.status, body: await response.json() };
    };
    const options = await post('/v1/auth/passkey/options');
    const credential = (await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options.body.options) })) as PublicKeyCredential;
    return post('/v1/auth/passkey', { credential: credential.toJSON() });
  });
}

describe.skipIf(!available)('people sign in (Chromium)', () => {
  let service: TestService;
  let local: string;
  let browser: Browser;
  let idp: TestOidcProvider;

  beforeAll(async () => {
    // The provider's listener first (its address is the issuer), the key service next (its address is the redirect URI).
    idp = await TestOidcProvider.listen();
    service = await startTestService({ bootstrapInvitation: 'on', oidcIssuer: idp.issuer, oidcClientId: 'keyward', oidcClientSecret: 'keyward-test-client-secret-0123456789', oidcName: 'Test IdP' });
    local = service.url.replace('127.0.0.1', 'localhost');
    idp.serve({ clientId: 'keyward', clientSecret: 'keyward-test-client-secret-0123456789', redirectUri: `${local}/` });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await service?.stop();
    await idp?.close();
  });

  const freshPage = () => freshBrowserPage(browser, local);

  it('the first admin: the link made at bootstrap, accepted with a passkey and their email, makes an admin member who can invite', async () => {
    expect(service.bootstrapInvitationLink).toMatch(/#invitation=/);
    const { context, page } = await freshPage();
    const token = invitationToken(service.bootstrapInvitationLink!);
    // It names no email: the first person gives theirs.
    expect((await acceptWithPasskey(page, token, 'First Admin')).body.error.code).toBe('VALIDATION_FAILED');
    const accepted = await acceptWithPasskey(page, token, 'First Admin', 'first@example.com');
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(201);
    expect(accepted.body.member).toMatchObject({ email: 'first@example.com', role: 'admin' });
    const invited = await call(page, 'POST', '/v1/invitations', { email: 'second@example.com', role: 'viewer' }, accepted.body.csrfToken);
    expect(invited.status, JSON.stringify(invited.body)).toBe(201);
    expect(invited.body.invitation.invitedBy).toBe(`member:${accepted.body.member.id}`);
    await context.close();
  });

  it('invite → accept with a passkey → sign in with it → create a key; a removed member\'s open session fails on its next request', async () => {
    const admin = service.client();
    const created = await admin.createInvitation({ email: 'ada@example.com', role: 'key-manager' });
    const token = invitationToken(created.link);
    const { context, page } = await freshPage();

    const accepted = await acceptWithPasskey(page, token, 'Ada Lovelace');
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(201);
    expect(accepted.body.member).toMatchObject({ email: 'ada@example.com', displayName: 'Ada Lovelace', role: 'key-manager' });
    const cookie = (await context.cookies()).find((c) => c.name === 'keyward_session')!;
    expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict' });
    expect(await page.evaluate(() => document.cookie)).not.toContain('keyward_session');
    // The link worked once.
    expect((await acceptWithPasskey(page, token, 'Again')).body.error.code).toBe('INVITATION_USED');

    const session = await call(page, 'GET', '/v1/session');
    expect(session.status).toBe(200);
    expect((await call(page, 'DELETE', '/v1/session', undefined, session.body.csrfToken)).status).toBe(204);
    expect((await call(page, 'GET', '/v1/session')).status).toBe(401);

    const signedIn = await signInWithPasskey(page);
    expect(signedIn.status, JSON.stringify(signedIn.body)).toBe(201);
    expect(signedIn.body.member.email).toBe('ada@example.com');
    // A new session: the token changed at sign-in.
    const rotated = (await context.cookies()).find((c) => c.name === 'keyward_session')!;
    expect(rotated.value).not.toBe(cookie.value);

    const key = await call(page, 'POST', '/v1/keys', { name: 'made in the browser', role: 'viewer' }, signedIn.body.csrfToken);
    expect(key.status, JSON.stringify(key.body)).toBe(201);
    expect(key.body.key.createdBy).toBe(signedIn.body.member.id);
    expect((await call(page, 'POST', '/v1/keys', { name: 'no csrf', role: 'viewer' })).body.error.code).toBe('CSRF_TOKEN_MISSING');

    const passkeys = await call(page, 'GET', '/v1/me/passkeys');
    expect(passkeys.body.items).toHaveLength(1);
    expect((await call(page, 'DELETE', `/v1/me/passkeys/${encodeURIComponent(passkeys.body.items[0].id)}`, undefined, signedIn.body.csrfToken)).body.error.code).toBe('LAST_PASSKEY');

    await admin.removeMember(signedIn.body.member.id);
    const after = await call(page, 'GET', '/v1/keys');
    expect([after.status, after.body.error.code]).toEqual([401, 'UNKNOWN_SESSION']);
    // Its passkey went with it.
    expect((await signInWithPasskey(page)).body.error.code).toBe('PASSKEY_REJECTED');
    await context.close();
  });

  const oidcSignIn = (page: Page, login: string, invitationToken?: string): Promise<Answer> => signInThroughProvider(page, local, login, invitationToken ? { invitationToken } : {});

  it('OpenID Connect: an invitation accepted through the provider, then signing in with it again', async () => {
    const admin = service.client();
    const created = await admin.createInvitation({ email: 'grace@example.com', role: 'viewer' });
    expect((await raw(service.url, '/v1/auth/methods')).body).toEqual({ passkey: true, oidc: { name: 'Test IdP' }, ssoByEmail: false, keySignIn: false });
    const { context, page } = await freshPage();
    const accepted = await oidcSignIn(page, 'grace', invitationToken(created.link));
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(201);
    expect(accepted.body.member).toMatchObject({ email: 'grace@example.com', role: 'viewer', oidcLinked: true });
    expect((await call(page, 'GET', '/v1/keys')).status).toBe(200);
    await context.close();

    const second = await freshPage();
    const again = await oidcSignIn(second.page, 'grace');
    expect(again.status, JSON.stringify(again.body)).toBe(201);
    expect(again.body.member.id).toBe(accepted.body.member.id);
    await second.context.close();
  });

  it('OpenID Connect: an email the provider does not vouch for is refused, and a stranger is not let in', async () => {
    const admin = service.client();
    const created = await admin.createInvitation({ email: 'unverified-eve@example.com', role: 'viewer' });
    const first = await freshPage();
    const refused = await oidcSignIn(first.page, 'unverified-eve', invitationToken(created.link));
    expect([refused.status, refused.body.error.code]).toEqual([403, 'EMAIL_NOT_VERIFIED']);
    expect((await admin.listMembers()).items.map((m) => m.email)).not.toContain('unverified-eve@example.com');
    expect((await admin.listInvitations()).items.find((i) => i.id === created.invitation.id)!.status).toBe('pending');
    await first.context.close();

    const second = await freshPage();
    const stranger = await oidcSignIn(second.page, 'mallory');
    expect([stranger.status, stranger.body.error.code]).toEqual([403, 'NOT_A_MEMBER']);
    await second.context.close();
  });
});
