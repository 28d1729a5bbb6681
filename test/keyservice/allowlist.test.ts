/** IP allowlists: organization and key level, IPv4/IPv6/CIDR, trust proxy, the self-lockout guard. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestFrom, startTestService, type TestService } from '../support/keyservice.ts';

describe('IP allowlists (dual-stack server: 127.0.0.1, 127.0.0.2 and ::1 are three clients)', () => {
  let service: TestService;
  let v4: string;
  let v6: string;

  beforeAll(async () => {
    service = await startTestService({ host: '::' });
    v4 = `http://127.0.0.1:${service.server.port}`;
    v6 = `http://[::1]:${service.server.port}`;
  });
  afterAll(async () => service.stop());

  const auth = (secret: string) => ({ authorization: `Bearer ${secret}` });

  it('a key-level list admits only its addresses and ranges, naming the address it refused', async () => {
    const admin = service.client();
    const onlyLocal2 = await admin.createKey({ name: 'From .2', role: 'viewer', ipAllowlist: ['127.0.0.2'] });
    expect(onlyLocal2.key.ipAllowlist).toEqual(['127.0.0.2/32']);
    expect((await requestFrom('127.0.0.2', `${v4}/v1/whoami`, { headers: auth(onlyLocal2.secret) })).status).toBe(200);
    const refused = await requestFrom('127.0.0.1', `${v4}/v1/whoami`, { headers: auth(onlyLocal2.secret) });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('IP_NOT_ALLOWED');
    expect(refused.body.error.message).toContain('127.0.0.1');
    const fromV6 = await requestFrom('::1', `${v6}/v1/whoami`, { headers: auth(onlyLocal2.secret) });
    expect(fromV6.status).toBe(403);
    expect(fromV6.body.error.message).toContain('::1');

    const range = await admin.createKey({ name: 'Loopback range', role: 'viewer', ipAllowlist: ['127.0.0.0/30', '::1/128'] });
    for (const [from, url] of [['127.0.0.1', v4], ['127.0.0.2', v4], ['::1', v6]] as const) {
      expect((await requestFrom(from, `${url}/v1/whoami`, { headers: auth(range.secret) })).status, from).toBe(200);
    }
    const v6Only = await admin.createKey({ name: 'IPv6 only', role: 'viewer', ipAllowlist: ['::/0'] });
    expect((await requestFrom('::1', `${v6}/v1/whoami`, { headers: auth(v6Only.secret) })).status).toBe(200);
    expect((await requestFrom('127.0.0.1', `${v4}/v1/whoami`, { headers: auth(v6Only.secret) })).status).toBe(403);

    // Edit the list; an empty list means any address.
    await admin.updateKey(onlyLocal2.key.id, { ipAllowlist: [] });
    expect((await requestFrom('127.0.0.1', `${v4}/v1/whoami`, { headers: auth(onlyLocal2.secret) })).status).toBe(200);
  });

  it('rejects malformed entries', async () => {
    const response = await requestFrom('127.0.0.1', `${v4}/v1/keys`, {
      method: 'POST',
      headers: auth(service.adminSecret),
      body: JSON.stringify({ name: 'x', role: 'viewer', ipAllowlist: ['10.0.0.0/33'] }),
    });
    expect(response.status).toBe(400);
    expect(response.body.error.message).toMatch(/ipAllowlist\.0: must be an IPv4 or IPv6 address or CIDR/);
    expect(response.body.error.message).toMatch(/"10\.0\.0\.0\/33": the prefix length must be a number from 0 to 32/);
  });

  it('verify applies the key and organization lists to the address it is given, failing closed without one', async () => {
    const admin = service.client();
    const gateway = service.client((await admin.createKey({ name: 'Gateway', role: 'verifier' })).secret);
    const office = await admin.createKey({ name: 'Office only', role: 'viewer', ipAllowlist: ['203.0.113.0/24', '2001:db8::/32'] });
    expect(await gateway.verifyKey({ key: office.secret, ip: '203.0.113.9' })).toMatchObject({ valid: true });
    expect(await gateway.verifyKey({ key: office.secret, ip: '2001:db8::42' })).toMatchObject({ valid: true });
    const outside = await gateway.verifyKey({ key: office.secret, ip: '198.51.100.1' });
    expect(outside).toMatchObject({ valid: false, code: 'IP_NOT_ALLOWED' });
    expect(outside.message).toContain('198.51.100.1');
    expect(await gateway.verifyKey({ key: office.secret })).toMatchObject({ valid: false, code: 'IP_NOT_ALLOWED' });

    // The organization's list applies to every key verify is asked about, with or without a list of its
    // own (it keeps the loopback addresses the gateway itself calls from).
    const anywhere = await admin.createKey({ name: 'No list of its own', role: 'viewer' });
    expect(await gateway.verifyKey({ key: anywhere.secret, ip: '198.51.100.1' })).toMatchObject({ valid: true });
    const orgList = (entries: string[]) =>
      requestFrom('127.0.0.1', `${v4}/v1/ip-allowlist`, { method: 'PUT', headers: auth(service.adminSecret), body: JSON.stringify({ entries }) });
    expect((await orgList(['127.0.0.1', '::1', '203.0.113.0/25'])).status).toBe(200);
    try {
      expect(await gateway.verifyKey({ key: anywhere.secret, ip: '203.0.113.9' })).toMatchObject({ valid: true });
      const offList = await gateway.verifyKey({ key: anywhere.secret, ip: '198.51.100.1' });
      expect(offList).toMatchObject({ valid: false, code: 'IP_NOT_ALLOWED' });
      expect(offList.message).toMatch(/198\.51\.100\.1 .*organization's IP allowlist/);
      expect(await gateway.verifyKey({ key: anywhere.secret })).toMatchObject({ valid: false, code: 'IP_NOT_ALLOWED' });
      // Both lists must admit the address: in the key's list and the organization's…
      expect(await gateway.verifyKey({ key: office.secret, ip: '203.0.113.9' })).toMatchObject({ valid: true });
      // …not in the organization's (the key's own list allows it)…
      expect(await gateway.verifyKey({ key: office.secret, ip: '203.0.113.200' })).toMatchObject({ valid: false, code: 'IP_NOT_ALLOWED' });
      expect(await gateway.verifyKey({ key: office.secret, ip: '2001:db8::42' })).toMatchObject({ valid: false, code: 'IP_NOT_ALLOWED' });
      // …and not in the key's (the organization's allows it).
      expect(await gateway.verifyKey({ key: office.secret, ip: '127.0.0.1' })).toMatchObject({ valid: false, code: 'IP_NOT_ALLOWED' });
    } finally {
      expect((await orgList([])).status).toBe(200);
    }
  });

  it('the organization list guards every key, and refuses to lock its editor out unless forced', async () => {
    expect((await requestFrom('127.0.0.1', `${v4}/v1/ip-allowlist`, { headers: auth(service.adminSecret) })).body).toEqual({ entries: [], callerIp: '127.0.0.1' });
    expect((await requestFrom('::1', `${v6}/v1/ip-allowlist`, { headers: auth(service.adminSecret) })).body.callerIp).toBe('::1');
    const lockout = await requestFrom('127.0.0.1', `${v4}/v1/ip-allowlist`, {
      method: 'PUT',
      headers: auth(service.adminSecret),
      body: JSON.stringify({ entries: ['::1'] }),
    });
    expect(lockout.status).toBe(409);
    expect(lockout.body.error.code).toBe('SELF_LOCKOUT');
    expect(lockout.body.error.message).toContain('127.0.0.1');
    expect((await requestFrom('127.0.0.1', `${v4}/v1/ip-allowlist`, { headers: auth(service.adminSecret) })).body.entries).toEqual([]);

    // Including the caller's own address is fine; then other addresses are refused for every key.
    const saved = await requestFrom('127.0.0.1', `${v4}/v1/ip-allowlist`, {
      method: 'PUT',
      headers: auth(service.adminSecret),
      body: JSON.stringify({ entries: ['127.0.0.1', '::1'] }),
    });
    expect(saved.body).toEqual({ entries: ['127.0.0.1/32', '::1/128'], callerIp: '127.0.0.1' });
    const fromTwo = await requestFrom('127.0.0.2', `${v4}/v1/whoami`, { headers: auth(service.adminSecret) });
    expect(fromTwo.status).toBe(403);
    expect(fromTwo.body.error.message).toMatch(/127\.0\.0\.2 are not on the organization's IP allowlist/);
    expect((await requestFrom('::1', `${v6}/v1/whoami`, { headers: auth(service.adminSecret) })).status).toBe(200);

    // Forced: the caller locks itself out (on purpose), and is refused from then on.
    const forced = await requestFrom('::1', `${v6}/v1/ip-allowlist`, {
      method: 'PUT',
      headers: auth(service.adminSecret),
      body: JSON.stringify({ entries: ['127.0.0.1'], force: true }),
    });
    expect(forced.status).toBe(200);
    expect((await requestFrom('::1', `${v6}/v1/whoami`, { headers: auth(service.adminSecret) })).status).toBe(403);
    await requestFrom('127.0.0.1', `${v4}/v1/ip-allowlist`, { method: 'PUT', headers: auth(service.adminSecret), body: JSON.stringify({ entries: [] }) });
  });
});

describe('trust proxy', () => {
  it('ignores X-Forwarded-For unless the hop is trusted', async () => {
    const plain = await startTestService();
    const trusting = await startTestService({ trustProxy: 'loopback' });
    try {
      for (const [service, expected] of [[plain, '127.0.0.1'], [trusting, '198.51.100.7']] as const) {
        const key = await service.client().createKey({ name: 'Behind proxy', role: 'viewer', ipAllowlist: ['198.51.100.0/24'] });
        const headers = { authorization: `Bearer ${key.secret}`, 'x-forwarded-for': '198.51.100.7' };
        const response = await requestFrom('127.0.0.1', `${service.url}/v1/whoami`, { headers });
        expect(response.status).toBe(expected === '127.0.0.1' ? 403 : 200);
        const gateway = (await service.client().createKey({ name: 'gw', role: 'verifier' })).secret;
        // The fast verify path derives the caller address with the same rules.
        const verify = await requestFrom('127.0.0.1', `${service.url}/v1/verify`, {
          method: 'POST',
          headers: { authorization: `Bearer ${gateway}`, 'x-forwarded-for': '198.51.100.7' },
          body: JSON.stringify({ key: key.secret, ip: '198.51.100.9' }),
        });
        expect(verify.body).toMatchObject({ valid: true });
        const seen = await service.client().getIpAllowlist();
        expect(seen.callerIp).toBe('127.0.0.1');
        const viaProxy = await requestFrom('127.0.0.1', `${service.url}/v1/ip-allowlist`, {
          headers: { authorization: `Bearer ${service.adminSecret}`, 'x-forwarded-for': '198.51.100.7' },
        });
        expect(viaProxy.body.callerIp).toBe(expected);
      }
    } finally {
      await plain.stop();
      await trusting.stop();
    }
  });
});
