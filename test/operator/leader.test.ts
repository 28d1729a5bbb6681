/**
 * Leader election between two real `keyward operator --leader-elect` processes
 * on the real control plane, with the real key service (in this process):
 * exactly one leads (Lease holder, /metrics), an ApiKey is reconciled once,
 * by the leader, while the standby holds it queued; SIGKILL of the leader
 * hands over once the Lease has gone unrenewed, and the new leader rotates a
 * token bump exactly once; a clean SIGTERM releases the Lease on the way out
 * and a standby takes it. How long the hand-overs take is measured in
 * bench/operator-failover.ts, not asserted here.
 */
import { hostname } from 'node:os';
import { CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { KeywardClient } from '../../src/client/index.ts';
import { freePort, killAll, startKeyward, type Child } from '../support/cli-process.ts';
import { describeControlPlane } from '../support/controlplane.ts';
import { startTestService, type TestService } from '../support/keyservice.ts';
import { apiKeyManifest, kubeHelpers, operatorKey, unlessNotFound, until, verifies } from '../support/operator.ts';

const LEASE_NS = 'keyward-system';
const LEASE = 'keyward-operator';
const LEASE_DURATION_MS = 3_000;

interface Replica {
  name: string;
  child: Child;
  url: string;
  /** The identity the operator campaigns with: <hostname>-<pid>. */
  identity: string;
}

describeControlPlane('leader election: two keyward operator processes', (cp) => {
  let service: TestService;
  let gateway: KeywardClient;
  let operatorSecret: string;
  let k: ReturnType<typeof kubeHelpers>;
  let leases: CoordinationV1Api;
  const ns = 'orders';
  const replicas: Replica[] = [];

  beforeAll(async () => {
    service = await startTestService();
    operatorSecret = await operatorKey(service);
    gateway = service.client((await service.client().createKey({ name: 'gateway', role: 'verifier' })).secret);
    k = kubeHelpers(cp());
    leases = cp().kubeConfig.makeApiClient(CoordinationV1Api);
    await cp().kubectl(['create', 'namespace', LEASE_NS]);
    await cp().kubectl(['create', 'namespace', ns]);
  }, 120_000);
  afterAll(async () => {
    await killAll();
    await service?.stop();
  });

  async function startReplica(name: string): Promise<Replica> {
    const port = await freePort();
    const child = startKeyward(
      ['operator', '--leader-elect', '--lease-namespace', LEASE_NS, '--lease-duration', `${LEASE_DURATION_MS / 1000}s`, '--metrics-bind-address', `127.0.0.1:${port}`, '--resync', '5s'],
      { KUBECONFIG: cp().kubeconfigPath, KEYWARD_URL: service.url, KEYWARD_API_KEY: operatorSecret },
    );
    const replica: Replica = { name, child, url: `http://127.0.0.1:${port}`, identity: `${hostname()}-${child.process.pid}` };
    let exited = false;
    void child.exited.then(() => (exited = true));
    await until(`${name} to be ready`, async () => {
      if (exited) throw new Error(`${name} exited:\n${child.stderr}${child.stdout}`);
      return (await fetch(`${replica.url}/readyz`)).status === 200;
    }, 30_000);
    replicas.push(replica);
    return replica;
  }

  const metrics = async (r: Replica): Promise<string> => (await fetch(`${r.url}/metrics`)).text();
  /** The sample of a metric, or undefined when the replica exports none. */
  const sample = (text: string, series: string): number | undefined => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };
  const leaderGauge = async (r: Replica) => sample(await metrics(r), 'leader_election_master_status{name="apikey"}');
  const lease = async (): Promise<V1Lease | undefined> => unlessNotFound(leases.readNamespacedLease({ namespace: LEASE_NS, name: LEASE }));
  const renewedAt = (l: V1Lease | undefined): number => (l?.spec?.renewTime ? new Date(l.spec.renewTime).getTime() : 0);
  /**
   * Polls the Lease until it has been renewed `times` more times and returns
   * every (holder, transitions) seen meanwhile: the leader's own renewals are
   * the clock of these tests.
   */
  const watchRenewals = async (times: number): Promise<string[]> => {
    const seen = new Set<string>();
    const renewals = new Set<number>();
    const start = renewedAt(await lease());
    await until(`${times} renewals of the Lease`, async () => {
      const l = await lease();
      seen.add(`${l?.spec?.holderIdentity ?? '(none)'} transitions=${l?.spec?.leaseTransitions ?? 0}`);
      if (renewedAt(l) > start) renewals.add(renewedAt(l));
      return renewals.size >= times;
    }, 10 * LEASE_DURATION_MS, 100);
    return [...seen];
  };
  const holder = async () => (await lease())?.spec?.holderIdentity ?? undefined;
  const status = async (name: string) => (await k.apiKey(ns, name))?.status ?? {};
  const reasons = async (name: string) => (await k.events(ns, name)).map((e) => e.reason);
  // The operator posts its Event after the status patch that makes the ApiKey Ready: wait for the first, then count them.
  const eventsWithReason = (name: string, reason: string) =>
    until(`a ${reason} Event for ${name}`, async () => {
      const found = (await reasons(name)).filter((r) => r === reason);
      return found.length > 0 ? found : undefined;
    }, 10_000);
  const logs = (r: Replica) => `--- ${r.name} (${r.identity}) stderr:\n${r.child.stderr.slice(-3000)}\n--- stdout:\n${r.child.stdout.slice(-3000)}`;
  const issuedFor = async (name: string) => {
    const keys = [];
    for await (const key of service.client().allKeys()) if ((key.metadata as Record<string, string> | undefined)?.['k8s/name'] === name) keys.push(key);
    return keys;
  };

  let leader: Replica;
  let standby: Replica;

  it('of two replicas exactly one leads: it holds the Lease and reports leader_election_master_status 1, the other 0', async () => {
    const [a, b] = await Promise.all([startReplica('a'), startReplica('b')]);
    const held = await until('a Lease holder', holder, 20_000).catch(() => undefined);
    expect(held, `no replica took the Lease\n${logs(a!)}\n${logs(b!)}`).toBeDefined();
    expect([a!.identity, b!.identity]).toContain(held);
    leader = held === a!.identity ? a! : b!;
    standby = leader === a ? b! : a!;
    await until('the leader to report it', async () => (await leaderGauge(leader)) === 1, 10_000);

    // Stable: over renewals spanning more than two lease durations (one every lease/5), the holder and the transitions never change.
    const transitions = (await lease())?.spec?.leaseTransitions ?? 0;
    expect(await watchRenewals(12)).toEqual([`${leader.identity} transitions=${transitions}`]);
    expect(await leaderGauge(leader)).toBe(1);
    expect(await leaderGauge(standby), 'the standby reports leader_election_master_status 0').toBe(0);
  }, 60_000);

  it('an ApiKey applied is reconciled once, by the leader only: sequence 1, one Created event, one key', async () => {
    await k.apply([apiKeyManifest(ns, 'checkout', { role: 'viewer', rotation: { token: 'c-1', overlap: '1h' } })]);
    await cp().kubectl(['wait', '--for=condition=Ready', 'apikey/checkout', '-n', ns, '--timeout=30s']);
    // The standby has seen it too: it waits in its queue (workqueue_depth), for when it leads.
    await until('the standby to queue the ApiKey', async () => (sample(await metrics(standby), 'workqueue_depth{name="apikey"}') ?? 0) >= 1);
    expect(await status('checkout')).toMatchObject({ sequence: 1, lastRotationReason: 'Created' });
    expect(await eventsWithReason('checkout', 'Created')).toHaveLength(1);
    expect(await issuedFor('checkout')).toHaveLength(1);
    expect(await verifies(gateway, k.value(await k.secret(ns, 'checkout'), 'API_KEY'))).toBe('VALID');

    const leaderMetrics = await metrics(leader);
    expect(sample(leaderMetrics, 'keyward_operator_keys_issued_total{reason="Created"}')).toBe(1);
    const standbyMetrics = await metrics(standby);
    expect(standbyMetrics).not.toMatch(/^controller_runtime_reconcile_total\{/m);
    expect(standbyMetrics).not.toMatch(/^keyward_operator_keys_issued_total\{/m);
  }, 60_000);

  it('SIGKILL of the leader: the Lease still names it until the standby takes it over; the new leader rotates a token bump exactly once', async () => {
    const before = await status('checkout');
    const oldSecret = k.value(await k.secret(ns, 'checkout'), 'API_KEY');
    const killed = leader;
    const transitionsBefore = (await lease())?.spec?.leaseTransitions ?? 0;
    killed.child.process.kill('SIGKILL');
    await killed.child.exited;
    // The dead leader never released the Lease: it still names it until the standby takes over.
    expect(await holder()).toBe(killed.identity);

    await until('the standby to take the Lease', async () => (await holder()) === standby.identity, 10 * LEASE_DURATION_MS);
    await until('the standby to report leadership', async () => (await leaderGauge(standby)) === 1, 5_000);
    expect((await lease())?.spec?.leaseTransitions).toBe(transitionsBefore + 1);
    leader = standby;

    await cp().kubectl(['patch', 'apikey', 'checkout', '-n', ns, '--type=merge', '-p', '{"spec":{"rotation":{"token":"c-2"}}}']);
    const after = await until('the rotation', async () => {
      const st = await status('checkout');
      return st.keyId !== before.keyId && !st.pending ? st : undefined;
    }, 20_000);
    // The new leader looks at it again (a spec change makes sure) and issues nothing more.
    expect(await k.reconciledAgain(ns, 'checkout')).toMatchObject({ sequence: 2, lastRotationReason: 'Token', observedRotationToken: 'c-2', keyId: after.keyId });
    expect(await eventsWithReason('checkout', 'Rotated')).toHaveLength(1);
    expect(await issuedFor('checkout')).toHaveLength(2);
    expect(sample(await metrics(leader), 'keyward_operator_keys_issued_total{reason="Token"}')).toBe(1);
    expect(await verifies(gateway, k.value(await k.secret(ns, 'checkout'), 'API_KEY'))).toBe('VALID');
    expect(await verifies(gateway, oldSecret)).toBe('VALID'); // the overlap (1h)
  }, 60_000);

  it('a clean SIGTERM of the leader releases the Lease on the way out, and the standby takes it', async () => {
    const next = await startReplica('c');
    // While the leader renews (and the newcomer campaigns every lease/5), the newcomer takes nothing.
    expect(await watchRenewals(3)).toEqual([`${leader.identity} transitions=${(await lease())?.spec?.leaseTransitions ?? 0}`]);
    expect(await leaderGauge(next)).toBe(0);

    const stopping = leader;
    const transitionsBefore = (await lease())?.spec?.leaseTransitions ?? 0;
    stopping.child.process.kill('SIGTERM');
    const exit = await stopping.child.exited;
    expect(exit, logs(stopping)).toEqual({ code: 0, signal: null });
    // Released on the way out (not just left to expire): by the time the process has exited, the Lease no longer names it.
    expect(await holder(), 'the Lease still names the stopped leader').not.toBe(stopping.identity);

    await until('the standby to take the Lease', async () => (await holder()) === next.identity, 10 * LEASE_DURATION_MS);
    expect((await lease())?.spec?.leaseTransitions).toBe(transitionsBefore + 1);
    await until('the new leader to report it', async () => (await leaderGauge(next)) === 1, 5_000);
    leader = next;

    // And it acts: a new ApiKey is created by it, once.
    await k.apply([apiKeyManifest(ns, 'refunds', { role: 'viewer' })]);
    await cp().kubectl(['wait', '--for=condition=Ready', 'apikey/refunds', '-n', ns, '--timeout=30s']);
    expect(await status('refunds')).toMatchObject({ sequence: 1 });
    expect(sample(await metrics(next), 'keyward_operator_keys_issued_total{reason="Created"}')).toBe(1);
    expect((await status('checkout')).sequence).toBe(2);
  }, 60_000);
});
