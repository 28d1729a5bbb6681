/**
 * Crash safety: the operator (a `keyward operator` child process) is killed
 * like kill -9 at each step of a create and of a rotation, then restarted.
 * It must converge to exactly one current key in the Secret that verifies,
 * with no active key for this ApiKey that no Secret holds.
 */
import { afterAll, beforeAll, expect, it, onTestFinished } from 'vitest';
import type { KeywardClient } from '../../src/client/index.ts';
import type { ApiKeyResource } from '../../src/operator/types.ts';
import { killAll, startKeyward, type Child } from '../support/cli-process.ts';
import { describeControlPlane } from '../support/controlplane.ts';
import { startTestService, type TestService } from '../support/keyservice.ts';
import { apiKeyManifest, keysOf, kubeHelpers, operatorKey, until, verifies } from '../support/operator.ts';

const POINTS = ['intent-recorded', 'key-issued', 'secret-written', 'status-recorded'] as const;
// Each case starts operator processes (seconds each on a loaded machine) and waits for convergence (converged: up to
// 60 s): a create case two starts and one convergence, a rotation case three starts, two convergences and a re-reconcile.
const CREATE_CASE_MS = 90_000;
const ROTATION_CASE_MS = 180_000;

describeControlPlane('operator crash safety', (cp) => {
  let service: TestService;
  let gateway: KeywardClient;
  let apiKey: string;
  let k: ReturnType<typeof kubeHelpers>;
  const ns = 'crashes';

  beforeAll(async () => {
    service = await startTestService();
    gateway = service.client((await service.client().createKey({ name: 'gateway', role: 'verifier' })).secret);
    apiKey = await operatorKey(service);
    k = kubeHelpers(cp());
    await cp().kubectl(['create', 'namespace', ns]);
  }, 60_000);
  afterAll(async () => {
    await killAll();
    await service?.stop();
  });

  /**
   * An operator for this test only: it is killed when the test ends, passed or not, so a failed case leaves no
   * operator behind to reconcile the next case's ApiKey alongside that case's own (two operators issue twice).
   */
  const operator = (crashAt?: string): Child => {
    const child = startKeyward(['operator', '--metrics-bind-address', '127.0.0.1:0', '--resync', '2s', '--workers', '2'], {
      KUBECONFIG: cp().kubeconfigPath,
      KEYWARD_URL: service.url,
      KEYWARD_API_KEY: apiKey,
      KEYWARD_LOG_LEVEL: 'warn',
      ...(crashAt ? { KEYWARD_OPERATOR_CRASH_AT: crashAt } : {}),
    });
    onTestFinished(async () => {
      child.process.kill('SIGKILL');
      await child.exited;
    });
    return child;
  };


  /** The invariants after convergence. */
  async function converged(name: string): Promise<ApiKeyResource> {
    const resource = await until(`${name} to converge`, async () => {
      const r = await k.apiKey(ns, name);
      const ready = r?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
      return r && ready && !r.status?.pending ? r : undefined;
    }, 60_000);
    const status = resource.status!;
    const secret = await k.secret(ns, name);
    expect(k.value(secret, 'API_KEY_ID')).toBe(status.keyId);
    expect(await verifies(gateway, k.value(secret, 'API_KEY'))).toBe('VALID');
    const allowed = new Set([status.keyId, ...(status.previousKeys ?? []).map((p) => p.keyId)]);
    const orphans = (await keysOf(service.client(), resource.metadata.uid)).filter((key) => key.status === 'active' && !allowed.has(key.id));
    expect(orphans.map((key) => key.id), 'active keys that no Secret holds').toEqual([]);
    return resource;
  }

  for (const point of POINTS) {
    it(`create: killed after ${point}, restarted -> converges, no orphan`, async () => {
      const name = `create-${point}`;
      const crashing = operator(point);
      await k.apply([apiKeyManifest(ns, name, { role: 'viewer' })]);
      const exit = await crashing.exited;
      expect(exit.signal, crashing.stderr).toBe('SIGKILL');
      const healthy = operator();
      const resource = await converged(name);
      expect(resource.status!.lastRotationReason).toBe('Created');
      if (point === 'key-issued') {
        // The key issued before the crash never reached a Secret: it was revoked, and another issued.
        expect((await k.events(ns, name)).map((e) => e.reason)).toContain('Undelivered');
        const revoked = (await keysOf(service.client(), resource.metadata.uid)).filter((key) => key.status === 'revoked');
        expect(revoked).toHaveLength(1);
        // Its audit record says why the operator revoked it.
        const [record] = (await service.client().listAuditLog({ action: 'key.revoked', targetId: revoked[0]!.id })).items;
        expect(record?.changes?.after?.reason).toContain('the operator stopped before its secret reached the Secret');
      }
      healthy.process.kill('SIGTERM');
      await healthy.exited;
    }, CREATE_CASE_MS);
  }

  for (const point of POINTS) {
    it(`rotation: killed after ${point}, restarted -> exactly one new current key, old key in overlap, no orphan`, async () => {
      const name = `rotate-${point}`;
      const first = operator();
      await k.apply([apiKeyManifest(ns, name, { role: 'viewer', rotation: { token: 'a', overlap: '1h' } })]);
      const before = (await converged(name)).status!;
      first.process.kill('SIGTERM');
      await first.exited;

      const crashing = operator(point);
      await cp().kubectl(['patch', 'apikey', name, '-n', ns, '--type=merge', '-p', '{"spec":{"rotation":{"token":"b"}}}']);
      const exit = await crashing.exited;
      expect(exit.signal, crashing.stderr).toBe('SIGKILL');

      const healthy = operator();
      const after = (await converged(name)).status!;
      expect(after.keyId).not.toBe(before.keyId);
      expect(after.observedRotationToken).toBe('b');
      // The key in use before the rotation keeps working through the overlap.
      expect(after.previousKeys?.map((p) => p.keyId)).toContain(before.keyId);
      expect((await service.client().getKey(before.keyId!)).status).toBe('active');
      if (point === 'key-issued') expect((await k.events(ns, name)).map((e) => e.reason)).toContain('Undelivered');
      // Exactly one rotation happened for the token: the operator looks again (a spec change makes sure) and issues nothing more.
      expect(await k.reconciledAgain(ns, name)).toMatchObject({ sequence: after.sequence, keyId: after.keyId });
      healthy.process.kill('SIGTERM');
      await healthy.exited;
    }, ROTATION_CASE_MS);
  }
});
