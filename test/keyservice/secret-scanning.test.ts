/**
 * The GitHub secret scanning partner endpoint, on the real service: reports
 * signed with a P-256 key made here (the test serves the public key list on
 * loopback, as GitHub publishes its own), both stores.
 */
import { sign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret, newSecret } from '../../src/core/token.ts';
import { failure, raw, startTestService, type TestService } from '../support/keyservice.ts';
import { until } from '../support/webhook.ts';
import { publicKeyList, reportOf as tokens, SECRET_SCANNING_PATH as PATH, signedHeaders, signingKey, type SigningKey } from '../support/github.ts';

describe('GitHub secret scanning', () => {
  let service: TestService;
  let keys: Awaited<ReturnType<typeof publicKeyList>>;
  const current = signingKey('key-1');

  const report = (body: string, key: SigningKey | null = current, headers: Record<string, string> = {}) =>
    raw(service.url, PATH, {
      method: 'POST',
      headers: { ...(key ? signedHeaders(body, key) : { 'content-type': 'application/json' }), ...headers },
      body,
    });

  beforeAll(async () => {
    keys = await publicKeyList([current]);
    // Revoked keys are tried below on purpose: no throttling of this test's own address.
    service = await startTestService({ secretScanningKeys: keys.url, secretScanningKeysRefresh: '0', failedAuthThreshold: 100_000 });
  });
  afterAll(async () => {
    await service.stop();
    await keys.close();
  });

  it('our token is revoked and the operator-managed key handed to the operator; a foreign token is a false positive; the same report twice opens one incident', async () => {
    const admin = service.client();
    const managed = await admin.createKey({ name: 'ns/api', role: 'viewer', metadata: { 'k8s/namespace': 'ns', 'k8s/name': 'api', 'k8s/uid': 'u-9' } });
    const foreign = newSecret('other_');
    const typo = managed.secret.slice(0, -1) + (managed.secret.endsWith('A') ? 'B' : 'A');
    const body = tokens([{ token: managed.secret, url: 'https://github.com/o/r/blob/x/.env' }, { token: foreign }, { token: typo }]);
    const answer = await report(body);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual([
      { token_hash: hashSecret(managed.secret), token_type: 'keyward_api_key', label: 'true_positive' },
      { token_hash: hashSecret(foreign), token_type: 'keyward_api_key', label: 'false_positive' },
      { token_hash: hashSecret(typo), token_type: 'keyward_api_key', label: 'false_positive' },
    ]);
    expect(answer.text).not.toContain(managed.secret);
    await service.server.service.incidents.idle();
    expect((await failure(service.client(managed.secret).whoami())).code).toBe('KEY_REVOKED');
    const [incident] = (await admin.listIncidents({ keyId: managed.key.id })).items;
    expect(incident).toMatchObject({ state: 'handled', response: 'rotate', reportedBy: { via: 'github-secret-scanning', url: 'https://github.com/o/r/blob/x/.env', source: 'content' } });
    expect(incident!.actions.map((a) => a.action)).toEqual(['reported', 'revoked', 'replacement-by-operator']);

    // The same report again: answered alike, nothing new.
    const again = await report(body);
    expect(again.body).toEqual(answer.body);
    await service.server.service.incidents.idle();
    expect((await admin.listIncidents({ keyId: managed.key.id })).items).toHaveLength(1);
  });

  it('the leak policy: notify keeps the key working and says so', async () => {
    const admin = service.client();
    await admin.updateOrganization({ leakPolicy: 'notify' });
    try {
      const key = await admin.createKey({ name: 'Kept', role: 'viewer' });
      expect((await report(tokens([{ token: key.secret }]))).body[0].label).toBe('true_positive');
      await until(async () => (await admin.listIncidents({ keyId: key.key.id })).items[0]?.state === 'handled');
      const [incident] = (await admin.listIncidents({ keyId: key.key.id })).items;
      expect(incident!.actions.map((a) => a.action)).toEqual(['reported', 'kept']);
      expect((await service.client(key.secret).whoami()).key.id).toBe(key.key.id);
      expect((await admin.listAuditLog({ targetId: key.key.id })).items.map((e) => e.action)).toContain('key.leak-reported');
    } finally {
      await admin.updateOrganization({ leakPolicy: 'rotate' });
    }
  });

  it('missing or bad signatures are 401 and change nothing, a malformed signed body is 400; nothing tells an unsigned caller whether a token exists', async () => {
    const key = await service.client().createKey({ name: 'Target', role: 'viewer' });
    const body = tokens([{ token: key.secret }]);
    const before = await service.store.snapshot();
    const unsigned = await report(body, null);
    expect(unsigned.status).toBe(401);
    expect(unsigned.body.error.code).toBe('SIGNATURE_INVALID');
    const forged = signingKey('key-1'); // right identifier, another private key
    const wrong = await report(body, forged);
    expect(wrong.body.error.code).toBe('SIGNATURE_INVALID');
    // A foreign token with a bad signature gets the same answer as ours.
    const foreign = await report(tokens([{ token: newSecret() }]), forged);
    expect({ status: foreign.status, code: foreign.body.error.code, message: foreign.body.error.message }).toEqual({ status: wrong.status, code: wrong.body.error.code, message: wrong.body.error.message });
    // A signature over another body.
    const signature = sign('sha256', Buffer.from('[]'), current.privateKey).toString('base64');
    expect((await report(body, null, { 'github-public-key-identifier': current.id, 'github-public-key-signature': signature })).status).toBe(401);
    expect((await report(body, null, { 'github-public-key-identifier': current.id, 'github-public-key-signature': 'not base64 at all' })).status).toBe(401);
    expect((await report('{not json', current)).body.error.code).toBe('INVALID_JSON');
    expect((await report('{"token":"x"}', current)).body.error.code).toBe('VALIDATION_FAILED');
    expect((await report('[]', current)).status).toBe(400);
    expect((await report(JSON.stringify([{ type: 'x' }]), current)).status).toBe(400);
    await service.server.service.incidents.idle();
    expect(await service.store.snapshot()).toBe(before);
    expect((await service.client(key.secret).whoami()).key.id).toBe(key.key.id);
  });

  it("a body is refused past this route's own limit (4 MiB, not the API's 64 KiB), named in the message and the hint; compressed is refused", async () => {
    const before = await service.store.snapshot();
    // Over 64 KiB but under 4 MiB: taken (and judged by its signature).
    const large = tokens(Array.from({ length: 700 }, () => ({ token: newSecret('other_'), url: `https://github.com/o/r/blob/x/${'p'.repeat(60)}` })));
    expect(large.length).toBeGreaterThan(64 * 1024);
    const taken = await report(large, null);
    expect(taken.status).toBe(401);
    expect(taken.body.error.code).toBe('SIGNATURE_INVALID');
    const huge = `[${'"x",'.repeat(1_100_000)}"x"]`;
    expect(huge.length).toBeGreaterThan(4 * 1024 * 1024);
    const refused = await report(huge, current);
    expect(refused.status).toBe(413);
    expect(refused.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(refused.body.error.message).toContain('4 MiB');
    expect(refused.body.error.hint).toContain('4 MiB');
    expect(refused.body.error.hint).not.toContain('64 KiB');
    const compressed = await report(tokens([{ token: newSecret() }]), current, { 'content-encoding': 'gzip' });
    expect(compressed.status).toBe(415);
    expect(compressed.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(await service.store.snapshot()).toBe(before);
  });

  it('is in the route table: the OpenAPI document lists it with its body, answer, signature headers and errors', async () => {
    const doc = (await raw(service.url, '/openapi.json')).body;
    const operation = doc.paths[PATH].post;
    expect(operation.operationId).toBe('githubSecretScanning');
    expect(operation.security).toEqual([]);
    expect(operation.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`)).toEqual(['header:Github-Public-Key-Identifier', 'header:Github-Public-Key-Signature']);
    expect(operation.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/SecretScanningReport' });
    expect(operation.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/SecretScanningFeedback' });
    expect(operation.responses['401']['x-keyward-error-codes']).toEqual(['SIGNATURE_INVALID']);
    expect(operation.responses['413']['x-keyward-error-codes']).toEqual(['PAYLOAD_TOO_LARGE']);
    expect(operation.description).toContain('4 MiB');
    expect(Object.keys(operation.responses)).not.toContain('403');
    // The typed client has no method for it: a key or session cannot sign GitHub's reports.
    const client = service.client();
    // @ts-expect-error not an operation of the client
    expect(client.githubSecretScanning).toBeUndefined();
    expect(typeof client.verifyKey).toBe('function');
  });

  it('an unknown key identifier fetches the keys again, then judges', async () => {
    const rotated = signingKey('key-2');
    const key = await service.client().createKey({ name: 'After key rotation', role: 'viewer' });
    const fetches = keys.state.fetches;
    keys.state.served = [current, rotated];
    const answer = await report(tokens([{ token: key.secret }]), rotated);
    expect(answer.status).toBe(200);
    expect(keys.state.fetches).toBe(fetches + 1);
    expect(answer.body[0].label).toBe('true_positive');
    // An identifier GitHub does not publish, even after a refresh.
    expect((await report(tokens([{ token: key.secret }]), signingKey('key-3'))).body.error.code).toBe('SIGNATURE_INVALID');
    await service.server.service.incidents.idle();
  });

  it('1,000 tokens in one report are answered (accepted durably) and then acted on', async () => {
    const admin = service.client();
    const ours = await Promise.all(Array.from({ length: 20 }, (_, i) => admin.createKey({ name: `Batch ${i}`, role: 'viewer' })));
    const items = [...ours.map((k) => ({ token: k.secret })), ...Array.from({ length: 980 }, () => ({ token: newSecret() }))];
    const body = tokens(items);
    // Sent as GitHub sends it: it gives up after 30 s on a partner that answers with feedback.
    const response = await fetch(service.url + PATH, {
      method: 'POST',
      headers: signedHeaders(body, current),
      body,
      signal: AbortSignal.timeout(30_000),
    });
    expect(response.status).toBe(200);
    const answer = (await response.json()) as { label: string }[];
    expect(answer).toHaveLength(1_000);
    expect(answer.filter((f) => f.label === 'true_positive')).toHaveLength(20);
    await service.server.service.incidents.idle();
    for (const key of ours) expect((await failure(service.client(key.secret).whoami())).code).toBe('KEY_REVOKED');
  });
});

describe('GitHub secret scanning switched off', () => {
  it('the path answers ROUTE_NOT_FOUND (served off), another method on it METHOD_NOT_ALLOWED when on', async () => {
    const off = await startTestService({ secretScanning: 'off' });
    try {
      const body = tokens([{ token: newSecret() }]);
      const posted = await raw(off.url, PATH, { method: 'POST', headers: signedHeaders(body, signingKey('key-1')), body });
      expect(posted.status).toBe(404);
      expect(posted.body.error.code).toBe('ROUTE_NOT_FOUND');
      expect(posted.body.error.message).toContain('not served');
    } finally {
      await off.stop();
    }
    const on = await startTestService();
    try {
      const got = await raw(on.url, PATH);
      expect(got.status).toBe(405);
      expect(got.body.error.message).toContain('use POST');
    } finally {
      await on.stop();
    }
  });
});
