/**
 * revokeOld: WhenUnused end to end (issue 21), on the real control plane
 * with the real key service and operator: consumers are clients of an API
 * that verifies their keys through keyward with their address and user agent,
 * so the key service knows who still uses the previous key. The control plane
 * has no kubelet: a stand-in here marks the restart target's pods Ready
 * through the API (as envtest users do), and the real kube-controller-manager
 * rolls the Deployment from there. Timings are shortened (seconds, not
 * minutes).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { KeywardApiError, KeywardUnreachableError, type KeywardClient } from '../../src/client/index.ts';
import type { Operator } from '../../src/operator/operator.ts';
import type { ApiKeyStatus, Condition } from '../../src/operator/types.ts';
import { describeControlPlane } from '../support/controlplane.ts';
import { startTestService, type TestService } from '../support/keyservice.ts';
import { apiKeyManifest, deploymentManifest, kubeHelpers, operatorKey, startOperator, until } from '../support/operator.ts';

const FAST = { ip: '10.0.3.6', userAgent: 'billing/2.1' };
const SLOW = { ip: '10.0.3.7', userAgent: 'reports/1.0' };
const QUIET_MS = 3_000;

interface ConsumerState {
  key: string;
  /** Calls the key service answered. */
  requests: number;
  /** Calls that found no key service (while it restarts). */
  unreachable: number;
  /** The codes of answered calls that refused the key. */
  failures: string[];
  lastOldUseAt: number;
  running: boolean;
}

describeControlPlane('revokeOld WhenUnused', (cp) => {
  let service: TestService;
  let operator: Operator;
  let operatorSecret: string;
  let operatorKeyId: string;
  let api: KeywardClient;
  let k: ReturnType<typeof kubeHelpers>;
  const ns = 'when-unused';
  let kubeletOn = true;
  let stopped = false;
  let kubelet: Promise<void>;

  /** The kubelet stand-in: every pod of the namespace that is not Ready is marked Running and Ready. */
  async function markPodsReady(): Promise<void> {
    const pods = await k.core.listNamespacedPod({ namespace: ns });
    for (const pod of pods.items) {
      if (pod.metadata?.deletionTimestamp || pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) continue;
      const now = new Date().toISOString();
      await cp()
        .kubectl(['patch', 'pod', pod.metadata!.name!, '-n', ns, '--subresource=status', '--type=merge', '-p', JSON.stringify({
          status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }, { type: 'ContainersReady', status: 'True', lastTransitionTime: now }] },
        })], { allowFailure: true });
    }
  }

  beforeAll(async () => {
    // Uses reach the store at a flush, or when the service closes; reads include the ones not flushed yet. The long
    // interval leaves the restart case's last uses of the old key to the flush at close.
    service = await startTestService({ usageFlushMs: 60_000 });
    api = service.client((await service.client().createKey({ name: 'Orders API', role: 'verifier' })).secret);
    k = kubeHelpers(cp());
    await cp().kubectl(['create', 'namespace', ns]);
    await k.apply(['orders', 'billing', 'ledger'].map((name) => deploymentManifest(ns, name)));
    kubelet = (async () => {
      while (!stopped) {
        if (kubeletOn) await markPodsReady().catch(() => {});
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    operatorSecret = await operatorKey(service);
    operatorKeyId = (await service.client(operatorSecret).whoami()).key.id;
    operator = await startOperator(cp(), service, operatorSecret, { namespaces: [ns], resyncMs: 1_000 });
  }, 120_000);
  afterAll(async () => {
    stopped = true;
    await kubelet;
    await operator?.stop();
    await service?.stop();
  });

  const status = async (name: string): Promise<ApiKeyStatus> => (await k.apiKey(ns, name))?.status ?? {};
  const rotating = (st: ApiKeyStatus): Condition | undefined => st.conditions?.find((c) => c.type === 'Rotating');
  const secretOf = async (name: string) => k.value(await k.secret(ns, name), 'API_KEY')!;
  const keyStatus = async (keyId: string) => (await service.client().getKey(keyId)).status;
  const rolledOut = (name: string) =>
    until(`the rollout of ${name}`, async () => {
      const d = JSON.parse((await cp().kubectl(['get', 'deployment', name, '-n', ns, '-o', 'json'])).stdout);
      return d.status.observedGeneration >= d.metadata.generation && d.status.updatedReplicas === 1 && d.status.readyReplicas === 1 && d.status.replicas === 1;
    }, 60_000);

  /**
   * A consumer of the API: one request every 100 ms with the key it holds; every refusal is counted. A call that finds
   * no key service (it is restarting) is counted apart and retried on the next tick, as an API would.
   */
  function consumer(who: { ip: string; userAgent: string }, initial: string) {
    const state: ConsumerState = { key: initial, requests: 0, unreachable: 0, failures: [], lastOldUseAt: 0, running: true };
    const done = (async () => {
      while (state.running) {
        const key = state.key;
        const result = await api.verifyKey({ key, ...who }).catch((error: unknown) => {
          if (error instanceof KeywardUnreachableError || (error instanceof KeywardApiError && error.code === 'SERVICE_UNAVAILABLE')) return undefined;
          throw error;
        });
        if (result === undefined) state.unreachable++;
        else {
          state.requests++;
          if (!result.valid) state.failures.push(result.code);
          if (key === initial) state.lastOldUseAt = Date.now();
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    return { state, stop: async () => ((state.running = false), await done) };
  }

  /**
   * The first "must show", with something restarted mid-transition (`midTransition`, while the slow consumer
   * still uses the previous key): two consumers on the first key, one moves at once, the slow one later; the previous
   * key stays while the slow one uses it (the status names it) and is revoked a quiet period after it moved, with the
   * operator's reason in the key service's audit record; no request a key service answered was refused. Every case
   * asserts the same outcome, so a restart that changed any of it fails here.
   */
  async function twoConsumers(
    name: string,
    deployment: string,
    midTransition: (at: { fast: ConsumerState; slow: ConsumerState; newSecret: string }) => Promise<void>,
    consumers: { fast: typeof FAST; slow: typeof SLOW },
  ) {
    await k.apply([
      apiKeyManifest(ns, name, {
        role: 'viewer',
        rotation: { token: 't-1', overlap: '120s', revokeOld: 'WhenUnused', quietPeriod: `${QUIET_MS / 1000}s` },
        consumers: { restartTargets: [{ kind: 'Deployment', name: deployment }] },
      }),
    ]);
    const first = await until('the first key', async () => ((await status(name)).keyId && !(await status(name)).pending ? status(name) : undefined));
    await rolledOut(deployment);
    const oldSecret = await secretOf(name);
    const fast = consumer(consumers.fast, oldSecret);
    const slow = consumer(consumers.slow, oldSecret);
    await until('both consumers on the first key', async () => fast.state.requests > 2 && slow.state.requests > 2);

    await cp().kubectl(['patch', 'apikey', name, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { rotation: { token: 't-2' } } })]);
    const rotated = await until('the rotation', async () => {
      const st = await status(name);
      return st.sequence === 2 && !st.pending ? st : undefined;
    });
    expect(rotated.previousKeys?.[0]?.keyId).toBe(first.keyId);
    expect(rotated.history?.[0]).toMatchObject({ reason: 'Token', keyId: rotated.keyId, fromKeyId: first.keyId });
    // The fast consumer moves at once.
    fast.state.key = await secretOf(name);

    // Well past a quiet period since the fast one moved, the slow one still on the old key: it stays, and the status says who holds it.
    const holding = await until('the operator to name the slow consumer', async () => {
      const st = await status(name);
      const condition = rotating(st);
      return condition?.reason === 'WaitingForConsumers' &&
        condition.message.includes(consumers.slow.ip) &&
        Date.now() > Date.parse(rotated.lastRotationTime!) + 2 * QUIET_MS
        ? st
        : undefined;
    });
    expect(holding.previousKeys?.[0]).toMatchObject({ keyId: first.keyId, lastUsedBy: [expect.stringContaining(`${consumers.slow.ip} (${consumers.slow.userAgent})`)] });
    expect(await keyStatus(first.keyId!)).toBe('active');

    const newSecret = await secretOf(name);
    await midTransition({ fast: fast.state, slow: slow.state, newSecret });
    expect(await keyStatus(first.keyId!)).toBe('active');

    // The slow consumer moves (if it has not yet); a quiet period after its last use of the old key, that key is revoked.
    slow.state.key = newSecret;
    const revokedEvent = await until('PreviousKeyRevoked', async () => (await k.events(ns, name)).find((e) => e.reason === 'PreviousKeyRevoked'), 60_000);
    const revokedAt = Date.now();
    expect(revokedEvent.message).toContain(first.keyId);
    expect(await keyStatus(first.keyId!)).toBe('revoked');
    // Not before the quiet period had passed since the slow consumer's last use of it.
    expect(revokedAt - slow.state.lastOldUseAt).toBeGreaterThanOrEqual(QUIET_MS);
    // The audit record says why: the operator's reason (not a bare DELETE), by the operator's key.
    const [audit] = (await service.client().listAuditLog({ action: 'key.revoked', targetId: first.keyId! })).items;
    expect(audit).toMatchObject({ actorKeyId: operatorKeyId, changes: { after: { status: 'revoked' } } });
    const reason = String(audit!.changes?.after?.reason);
    for (const part of ['WhenUnused', `unused for ${QUIET_MS / 1000}s`, 'rollout of its restart target finished', `successor ${rotated.keyId} in use`]) expect(reason).toContain(part);
    const ended = await until('the status without the previous key', async () => {
      const st = await status(name);
      return (st.previousKeys ?? []).length === 0 && rotating(st)?.status === 'False' ? st : undefined;
    });
    // The same rotation history, and nothing else in it: one rotation, ended because unused (not at the deadline).
    expect(ended.history).toEqual([
      expect.objectContaining({ reason: 'Token', keyId: rotated.keyId, fromKeyId: first.keyId, previousEnded: 'Unused' }),
      expect.objectContaining({ keyId: first.keyId }),
    ]);
    expect(ended.sequence).toBe(2);
    for (const type of ['Ready', 'KeyServiceReachable']) expect(ended.conditions?.find((c) => c.type === type)?.status, type).toBe('True');
    await fast.stop();
    await slow.stop();
    // Zero refused requests for both consumers.
    expect(fast.state.failures).toEqual([]);
    expect(slow.state.failures).toEqual([]);
    return { fast: fast.state, slow: slow.state };
  }

  it('two consumers: the previous key stays while the slow one uses it, and is revoked a quiet period after it moved; an operator restart mid-transition changes nothing', async () => {
    await twoConsumers('orders-key', 'orders', async () => {
      await operator.stop();
      operator = await startOperator(cp(), service, operatorSecret, { namespaces: [ns], resyncMs: 1_000 });
    }, { fast: FAST, slow: SLOW });
  }, 180_000);

  it('a restart of the key service mid-transition (same store, same address) changes nothing of the outcome', async () => {
    const outcome = await twoConsumers(
      'billing-key',
      'billing',
      // Stopped and started again on the same store and port (the operator keeps its configuration). The slow consumer
      // moves while it is down: the old key's last use is known only from what the stopped process wrote at its close.
      ({ slow, newSecret }) =>
        service.restart(async () => {
          await until('the slow consumer to find the key service down', async () => slow.unreachable > 0);
          slow.key = newSecret;
        }),
      { fast: { ip: '10.0.4.6', userAgent: 'billing/2.1' }, slow: { ip: '10.0.4.7', userAgent: 'reports/1.0' } },
    );
    // The consumers kept calling while the key service was down: those calls found no service (counted, retried), none was refused.
    expect(outcome.slow.unreachable).toBeGreaterThan(0);
  }, 180_000);

  it('an ApiKey deleted mid-transition: its current and previous keys are revoked, each audit record saying why', async () => {
    await k.apply([apiKeyManifest(ns, 'gone-key', { role: 'viewer', rotation: { token: 't-1', overlap: '120s', revokeOld: 'WhenUnused', quietPeriod: '3s' } })]);
    const first = await until('the first key', async () => {
      const st = await status('gone-key');
      return st.keyId && !st.pending ? st : undefined;
    });
    await cp().kubectl(['patch', 'apikey', 'gone-key', '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { rotation: { token: 't-2' } } })]);
    const rotated = await until('the rotation', async () => {
      const st = await status('gone-key');
      return st.sequence === 2 && !st.pending && st.previousKeys?.length ? st : undefined;
    });
    await cp().kubectl(['delete', 'apikey', 'gone-key', '-n', ns, '--wait=true']);
    const reasonOf = async (keyId: string) => (await service.client().listAuditLog({ action: 'key.revoked', targetId: keyId })).items[0]?.changes?.after?.reason;
    expect(await keyStatus(rotated.keyId!)).toBe('revoked');
    expect(await keyStatus(first.keyId!)).toBe('revoked');
    expect(await reasonOf(rotated.keyId!)).toBe('keyward operator: its ApiKey was deleted (deletionPolicy Revoke)');
    expect(await reasonOf(first.keyId!)).toBe('keyward operator: its ApiKey was deleted (deletionPolicy Revoke); a previous key in its overlap');
  }, 120_000);

  it('a restart target whose rollout does not finish holds the revocation until it finishes', async () => {
    await k.apply([
      apiKeyManifest(ns, 'ledger-key', {
        role: 'viewer',
        rotation: { token: 't-1', overlap: '120s', revokeOld: 'WhenUnused', quietPeriod: `${QUIET_MS / 1000}s` },
        consumers: { restartTargets: [{ kind: 'Deployment', name: 'ledger' }] },
      }),
    ]);
    const first = await until('the first key', async () => {
      const st = await status('ledger-key');
      return st.keyId && !st.pending && st.consumersRestartedFor === st.keyId ? st : undefined;
    });
    await rolledOut('ledger');
    // From now on no pod becomes Ready: the next rollout cannot finish.
    kubeletOn = false;
    await cp().kubectl(['patch', 'apikey', 'ledger-key', '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { rotation: { token: 't-2' } } })]);
    const rotated = await until('the rotation', async () => {
      const st = await status('ledger-key');
      return st.sequence === 2 && !st.pending ? st : undefined;
    });
    // The one consumer moves at once and the successor is used: only the rollout holds the old key.
    const moved = consumer(FAST, await secretOf('ledger-key'));
    const held = await until('WaitingForRollout well past the quiet period', async () => {
      const st = await status('ledger-key');
      const condition = rotating(st);
      return condition?.reason === 'WaitingForRollout' && Date.now() > Date.parse(rotated.lastRotationTime!) + 2 * QUIET_MS ? condition : undefined;
    });
    expect(held.message).toContain('Deployment/ledger');
    expect(await keyStatus(first.keyId!)).toBe('active');
    // The pods become Ready: the rollout finishes, and the old key goes.
    kubeletOn = true;
    await until('the old key revoked', async () => (await keyStatus(first.keyId!)) === 'revoked', 60_000);
    await moved.stop();
    expect(moved.state.failures).toEqual([]);
  }, 180_000);

  it('a consumer that never moves: the previous key ends at the deadline, with a Warning Event naming its address', async () => {
    await k.apply([
      apiKeyManifest(ns, 'stuck-key', {
        role: 'viewer',
        rotation: { token: 't-1', overlap: '10s', revokeOld: 'WhenUnused', quietPeriod: '2s' },
      }),
    ]);
    const first = await until('the first key', async () => {
      const st = await status('stuck-key');
      return st.keyId && !st.pending ? st : undefined;
    });
    const stuck = consumer(SLOW, await secretOf('stuck-key'));
    await cp().kubectl(['patch', 'apikey', 'stuck-key', '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { rotation: { token: 't-2' } } })]);
    const mover = consumer(
      FAST,
      await until('the new key', async () => {
        const st = await status('stuck-key');
        return st.sequence === 2 && !st.pending ? secretOf('stuck-key') : undefined;
      }),
    );
    const warning = await until('the Warning at the deadline', async () => (await k.events(ns, 'stuck-key')).find((e) => e.reason === 'PreviousKeyStillInUse'), 60_000);
    expect(warning.type).toBe('Warning');
    expect(warning.message).toContain(first.keyId);
    expect(warning.message).toContain(`${SLOW.ip} (${SLOW.userAgent})`);
    expect(['expired', 'revoked']).toContain(await keyStatus(first.keyId!));
    const st = await until('the history entry', async () => {
      const s = await status('stuck-key');
      return s.history?.[0]?.previousEnded ? s : undefined;
    });
    expect(st.history?.[0]).toMatchObject({ fromKeyId: first.keyId, previousEnded: 'Deadline' });
    await stuck.stop();
    await mover.stop();
  }, 120_000);
});
