/**
 * "Sign in with SSO" through the API, on both stores, with two
 * organizations, each with its own real OpenID provider (oidc-provider) on
 * loopback and no default organization: a work email finds the one
 * organization whose provider allows its domain and is answered with that
 * provider's authorization URL only; a domain nobody allows and one two
 * organizations allow get the same refusal, naming no organization; email
 * lookups that find nothing are throttled per address. (The round trip in
 * Chromium is in test/people/oidc-organizations.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { raw, startTestService, type TestService } from '../support/keyservice.ts';
import { TestOidcProvider } from '../support/oidc-provider.ts';

/** Lookups that find nothing before the address is refused (KEYWARD_FAILED_AUTH_THRESHOLD). */
const THRESHOLD = 5;

let service: TestService;
let acme: { organizationId: string; idp: TestOidcProvider };
let globex: { organizationId: string; idp: TestOidcProvider };

beforeAll(async () => {
  service = await startTestService({ failedAuthThreshold: THRESHOLD });
  const second = await service.newOrganization('globex');
  const provider = async (secret: string, domain: string, name: string) => {
    const clientSecret = `${domain}-client-secret-0123456789`;
    const idp = (await TestOidcProvider.listen()).serve({ clientId: `keyward-${domain}`, clientSecret, redirectUri: `${service.url}/` }, { emailDomain: domain });
    // Both allow shared.test: an address there cannot tell which organization is meant.
    await service.client(secret).putOrganizationOidc({ issuer: idp.issuer, clientId: `keyward-${domain}`, clientSecret, name, allowedDomains: [domain, 'shared.test'] });
    return idp;
  };
  acme = { organizationId: service.organizationId, idp: await provider(service.adminSecret, 'acme.test', 'Acme SSO') };
  globex = { organizationId: second.organizationId, idp: await provider(second.secret, 'globex.test', 'Globex SSO') };
});
afterAll(async () => {
  await service?.stop();
  await acme?.idp.close();
  await globex?.idp.close();
});

const start = (body: unknown) => raw(service.url, '/v1/auth/oidc/start', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
/** What an answer must never tell an unauthenticated caller: the organizations' ids and names, their providers' names. */
const secretsOfTheService = () => [acme.organizationId, globex.organizationId, 'globex', 'Acme SSO', 'Globex SSO'];

describe('Sign in with SSO (a work email)', () => {
  it('the sign-in page of a service of several organizations offers the email form; an organization\'s own address does not need it', async () => {
    expect((await raw(service.url, '/v1/auth/methods')).body).toEqual({ passkey: true, oidc: null, ssoByEmail: true, keySignIn: false });
    expect((await raw(service.url, `/v1/auth/methods?organization=${globex.organizationId}`)).body).toEqual({ passkey: true, oidc: { name: 'Globex SSO' }, ssoByEmail: false, keySignIn: false });
  });

  it("each email is sent to its own organization's provider, told the address (login_hint), and nothing else is answered", async () => {
    for (const [email, tenant, clientId] of [
      ['Ann@Acme.test', acme, 'keyward-acme.test'],
      ['bea@globex.test', globex, 'keyward-globex.test'],
    ] as const) {
      const started = await start({ email });
      expect(started.status, JSON.stringify(started.body)).toBe(200);
      expect(Object.keys(started.body)).toEqual(['authorizationUrl']);
      const url = new URL(started.body.authorizationUrl);
      expect(url.origin).toBe(tenant.idp.issuer);
      expect(url.searchParams.get('client_id')).toBe(clientId);
      expect(url.searchParams.get('login_hint')).toBe(email.toLowerCase());
      expect(url.searchParams.get('code_challenge_method')).toBe('S256');
      // The round trip is fixed to that organization: the ceremony cookie is set.
      expect(started.headers.get('set-cookie')).toMatch(/^keyward_ceremony=/);
    }
  });

  it('a domain no organization allows and one two organizations allow get the same refusal, naming no organization, changing nothing', async () => {
    const before = await service.store.snapshot();
    const unknown = await start({ email: 'zed@nowhere.test' });
    const shared = await start({ email: 'zed@shared.test' });
    for (const answer of [unknown, shared]) {
      expect([answer.status, answer.body.error.code]).toEqual([404, 'SSO_NOT_FOUND']);
      for (const told of secretsOfTheService()) expect(JSON.stringify(answer.body)).not.toContain(told);
      expect(answer.headers.get('set-cookie')).toBeNull();
    }
    expect(shared.body.error.message.replace('shared.test', 'D')).toBe(unknown.body.error.message.replace('nowhere.test', 'D'));
    expect(shared.body.error.hint).toBe(unknown.body.error.hint);
    expect(await service.store.snapshot()).toBe(before);
  });

  it('an email with an organization or an invitation, or no email at all, is a 400', async () => {
    for (const body of [{ email: 'ann@acme.test', organization: acme.organizationId }, { email: 'ann@acme.test', invitationToken: 'x'.repeat(32) }, { email: 'not an email' }]) {
      const answer = await start(body);
      expect([answer.status, answer.body.error.code], JSON.stringify(body)).toEqual([400, 'VALIDATION_FAILED']);
    }
  });

  // Last: it leaves this address throttled for the email lookup.
  it('lookups that find nothing are counted per address: past the threshold every email lookup from it is refused (RATE_LIMITED), other sign-ins are not', async () => {
    // Lookups that find the organization never count.
    for (let i = 0; i < THRESHOLD * 2; i++) expect((await start({ email: `ann${i}@acme.test` })).status).toBe(200);
    const misses: number[] = [];
    let answer = await start({ email: 'guess0@nowhere.test' });
    // The earlier test's two misses count too: the address is refused within THRESHOLD lookups.
    for (let i = 1; answer.status === 404 && i <= THRESHOLD; i++) {
      misses.push(answer.status);
      answer = await start({ email: `guess${i}@nowhere.test` });
    }
    expect(misses.length).toBeLessThanOrEqual(THRESHOLD);
    expect([answer.status, answer.body.error.code]).toEqual([429, 'RATE_LIMITED']);
    // Now even a domain that would be found is refused: a throttled address learns nothing.
    const found = await start({ email: 'ann@acme.test' });
    expect([found.status, found.body.error.code]).toEqual([429, 'RATE_LIMITED']);
    // When to come back, in the header as well as the body.
    expect(Number(found.headers.get('retry-after'))).toBe(found.body.error.details.retryAfter);
    expect(found.body.error.details.retryAfter).toBeGreaterThan(0);
    // Signing in through an organization's own address still works.
    expect((await start({ organization: globex.organizationId })).status).toBe(200);
  });
});
