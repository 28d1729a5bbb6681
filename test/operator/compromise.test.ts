/**
 * Operator-managed keys recover by themselves: the real key service, the real
 * operator and a real control plane. The operator's resync is ten minutes, so
 * a replacement within the test's time can only come from the change feed.
 * A consumer keeps verifying the key (about 200 verify/s) throughout.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { KeywardClient } from '../../src/client/index.ts';
import { SIGNATURE_HEADER, verifyWebhook } from '../../src/core/webhook-signature.ts';
import type { Operator } from '../../src/operator/operator.ts';
import type { ApiKeyStatus } from '../../src/operator/types.ts';
import { describeControlPlane } from '../support/controlplane.ts';
import { publicKeyList, reportOf, SECRET_SCANNING_PATH, signedHeaders, signingKey } from '../support/github.ts';
import { raw, startTestService, type TestService } from '../support/keyservice.ts';
import { apiKeyManifest, deploymentManifest, kubeHelpers, operatorKey, startOperator, until } from '../support/operator.ts';
import { webhookReceiver } from '../support/webhook.ts';

const WEBHOOK_SECRET = 'whsec_operator_test_0123456789';
const ns = 'incidents';

/** A consumer verifying one secret over and over (a few calls at a time) until stopped; counts verdicts. */
function consumer(gateway: KeywardClient, secret: string) {
  const verdicts = new Map<string, number>();
  let stopped = false;
  const loop = async () => {
    while (!stopped) {
      const { code } = await gateway.verifyKey({ key: secret, ip: '10.1.2.3' });
      verdicts.set(code, (verdicts.get(code) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const running = Promise.all(Array.from({ length: 4 }, loop));
  return {
    verdicts,
    seen: (code: string) => (verdicts.get(code) ?? 0) > 0,
    async stop() {
      stopped = true;
      await running;
    },
  };
}

describeControlPlane('compromised operator-managed keys', (cp) => {
  let service: TestService;
  let operator: Operator;
  let gateway: KeywardClient;
  let webhook: Awaited<ReturnType<typeof webhookReceiver>>;
  let github: Awaited<ReturnType<typeof publicKeyList>>;
  const signer = signingKey('github-test-key');
  let k: ReturnType<typeof kubeHelpers>;

  beforeAll(async () => {
    webhook = await webhookReceiver();
    github = await publicKeyList([signer]);
    service = await startTestService({ alertWebhookUrl: webhook.url, alertWebhookSecret: WEBHOOK_SECRET, secretScanningKeys: github.url, failedAuthThreshold: 1_000_000 });
    gateway = service.client((await service.client().createKey({ name: 'gateway', role: 'verifier' })).secret);
    k = kubeHelpers(cp());
    await cp().kubectl(['create', 'namespace', ns]);
    await k.apply([deploymentManifest(ns, 'shop')]);
    operator = await startOperator(cp(), service, await operatorKey(service), { namespaces: [ns], resyncMs: 600_000 });
  }, 120_000);
  afterAll(async () => {
    await operator?.stop();
    await service?.stop();
    await webhook?.close();
    await github?.close();
  });

  const status = async (): Promise<ApiKeyStatus> => (await k.apiKey(ns, 'shop-api'))?.status ?? {};
  const atSequence = (sequence: number) =>
    until(`shop-api at sequence ${sequence}`, async () => {
      const st = await status();
      return st.sequence === sequence && !st.pending && st.consumersRestartedFor === st.keyId ? st : undefined;
    });
  const secretValue = async () => k.value(await k.secret(ns, 'shop-api'), 'API_KEY');
  const restartedAt = async () => ((await cp().kubectl(['get', 'deployment', 'shop', '-n', ns, '-o', 'json'])).stdout);

  it('compromised through the API: a new working key in the Secret at once (no overlap), the consumer restarted, the old key KEY_REVOKED, uses on the incident, the signed webhook delivered', async () => {
    await k.apply([apiKeyManifest(ns, 'shop-api', { role: 'viewer', rotation: { overlap: '24h' }, consumers: { restartTargets: [{ kind: 'Deployment', name: 'shop' }] } })]);
    const first = await atSequence(1);
    const oldSecret = (await secretValue())!;
    const deploymentBefore = JSON.parse(await restartedAt()).spec.template.metadata.annotations ?? {};
    const load = consumer(gateway, oldSecret);
    await until('the consumer to be served', async () => load.seen('VALID'));

    const result = await service.client().compromiseKey(first.keyId!, { reason: 'printed in a build log' });
    expect(result.replacement).toBeNull();
    const second = await atSequence(2);
    await load.stop();

    expect(second.lastRotationReason).toBe('Compromised');
    expect(second.history?.[0]).toMatchObject({ reason: 'Compromised', keyId: second.keyId });
    const secret = await k.secret(ns, 'shop-api');
    const newSecret = k.value(secret, 'API_KEY')!;
    expect(newSecret).not.toBe(oldSecret);
    expect(Object.keys(secret!.data ?? {})).not.toContain('API_KEY_PREVIOUS');
    expect((await gateway.verifyKey({ key: newSecret, ip: '10.1.2.3' })).code).toBe('VALID');
    expect((await gateway.verifyKey({ key: oldSecret, ip: '10.1.2.3' })).code).toBe('KEY_REVOKED');
    expect(load.seen('KEY_REVOKED')).toBe(true);
    const deploymentAfter = JSON.parse(await restartedAt()).spec.template.metadata.annotations ?? {};
    expect(deploymentAfter).not.toEqual(deploymentBefore);
    expect((await k.events(ns, 'shop-api')).some((e) => e.reason === 'Rotated' && e.message.includes('(Compromised)'))).toBe(true);

    const incident = await service.client().getIncident(result.incident.id);
    expect(incident.actions.map((a) => a.action)).toEqual(['revoked', 'replacement-by-operator']);
    expect(incident.investigation.uses.find((u) => u.outcome === 'VALID')!.count).toBeGreaterThan(0);
    expect(incident.investigation.lastUsedIp).toBe('10.1.2.3');
    await until('the notification', async () => webhook.received.some((d) => d.json.incident?.id === incident.id));
    const delivery = webhook.received.find((d) => d.json.incident?.id === incident.id)!;
    expect(verifyWebhook(WEBHOOK_SECRET, delivery.headers[SIGNATURE_HEADER] as string, delivery.body, Math.floor(Date.now() / 1000)).ok).toBe(true);
  }, 90_000);

  it('reported by GitHub secret scanning: the leaked key is replaced the same way, once for a report sent twice', async () => {
    const before = await status();
    const leaked = (await secretValue())!;
    const body = reportOf([{ token: leaked, url: 'https://github.com/acme/shop/blob/main/.env' }]);
    const answer = await raw(service.url, SECRET_SCANNING_PATH, { method: 'POST', headers: signedHeaders(body, signer), body });
    expect(answer.body[0].label).toBe('true_positive');
    const after = await atSequence(before.sequence! + 1);
    expect(after.lastRotationReason).toBe('Compromised');
    expect((await gateway.verifyKey({ key: leaked, ip: '10.1.2.3' })).code).toBe('KEY_REVOKED');
    expect((await gateway.verifyKey({ key: (await secretValue())!, ip: '10.1.2.3' })).code).toBe('VALID');
    // Again: answered, nothing more happens (the operator reconciles once more and issues nothing).
    const again = await raw(service.url, SECRET_SCANNING_PATH, { method: 'POST', headers: signedHeaders(body, signer), body });
    expect(again.status).toBe(200);
    await service.server.service.incidents.idle();
    expect((await k.reconciledAgain(ns, 'shop-api')).sequence).toBe(after.sequence);
    expect((await service.client().listIncidents({ keyId: before.keyId! })).items).toHaveLength(1);
  }, 90_000);
});
