/**
 * The RBAC in deploy/ is sufficient and least-privilege: the ServiceAccount,
 * ClusterRole, Role and bindings from `kubectl kustomize deploy/` are applied
 * to the real control plane, the real operator runs in-process with a token
 * of that ServiceAccount (TokenRequest API) and leader election on, and goes
 * through create -> token-bump rotation with restart targets of every kind ->
 * Secret rename -> delete. Then `kubectl auth can-i --as` shows what the
 * ServiceAccount is denied.
 */
import { join } from 'node:path';
import { AuthenticationV1Api, CoordinationV1Api, CoreV1Api, V1MicroTime, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { KeywardClient } from '../../src/client/index.ts';
import { LeaderElector } from '../../src/operator/leader.ts';
import type { Operator } from '../../src/operator/operator.ts';
import { ROOT } from '../support/cli-process.ts';
import { describeControlPlane } from '../support/controlplane.ts';
import { startTestService, type TestService } from '../support/keyservice.ts';
import { apiKeyManifest, capturedLogger, kubeHelpers, operatorKey, startOperator, until, verifies } from '../support/operator.ts';

const NS = 'keyward-system';
const SA = 'keyward-operator';
const AS = `system:serviceaccount:${NS}:${SA}`;
const RBAC_KINDS = new Set(['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);

describeControlPlane('operator RBAC from deploy/', (cp) => {
  let service: TestService;
  let operator: Operator;
  let gateway: KeywardClient;
  let k: ReturnType<typeof kubeHelpers>;
  let token: string;
  let saConfig: KubeConfig;
  const { logger, lines: logged } = capturedLogger();
  const ns = 'shop';
  const targets = [
    { kind: 'Deployment', name: 'web' },
    { kind: 'StatefulSet', name: 'ledger' },
    { kind: 'DaemonSet', name: 'agent' },
  ] as const;

  const workload = (kind: string, name: string) => ({
    apiVersion: 'apps/v1',
    kind,
    metadata: { name, namespace: ns },
    spec: {
      ...(kind === 'Deployment' ? { replicas: 1 } : {}),
      ...(kind === 'StatefulSet' ? { replicas: 1, serviceName: name } : {}),
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'example.invalid/app:1' }] } },
    },
  });

  const podTemplateAnnotation = async (kind: string, name: string): Promise<string | undefined> => {
    const out = await cp().kubectl(['get', kind.toLowerCase(), name, '-n', ns, '-o', 'json']);
    return JSON.parse(out.stdout).spec.template.metadata.annotations?.['keyward.dev/restarted-for-key'];
  };

  beforeAll(async () => {
    // Only the identity and the rights from deploy/: no Deployments (the operator runs in this process).
    const rendered = (await cp().kubectl(['kustomize', join(ROOT, 'deploy')])).stdout;
    const rbac = parseAllDocuments(rendered)
      .map((doc) => doc.toJS() as { kind: string } | null)
      .filter((o): o is { kind: string } => !!o && RBAC_KINDS.has(o.kind));
    expect(rbac.map((o) => o.kind).sort()).toEqual(['ClusterRole', 'ClusterRoleBinding', 'Namespace', 'Role', 'Role', 'RoleBinding', 'RoleBinding', 'ServiceAccount']);
    await cp().kubectl(['apply', '--validate=strict', '-f', '-'], { input: rbac.map((o) => JSON.stringify(o)).join('\n') });

    const admin = cp().kubeConfig.makeApiClient(CoreV1Api);
    const tokenRequest = await admin.createNamespacedServiceAccountToken({ name: SA, namespace: NS, body: { spec: { audiences: [], expirationSeconds: 3600 } } });
    token = tokenRequest.status?.token ?? '';
    saConfig = cp().kubeConfigForToken(token, SA);

    service = await startTestService();
    gateway = service.client((await service.client().createKey({ name: 'gateway', role: 'verifier' })).secret);
    k = kubeHelpers(cp());
    await cp().kubectl(['create', 'namespace', ns]);
    await k.apply(targets.map((t) => workload(t.kind, t.name)));

    operator = await startOperator(cp(), service, await operatorKey(service), {
      kubeConfig: saConfig,
      // Leader election under the same rights is its own test below.
      leaderElection: null,
      rolesNamespace: NS,
      logger,
    });
  }, 120_000);
  afterAll(async () => {
    await operator?.stop();
    await service?.stop();
  });

  const status = async (name: string) => (await k.apiKey(ns, name))?.status ?? {};
  // A 403 by its status code or reason (not any "403" in the text: request ids contain digits).
  const forbidden = () => logged.filter((l) => /HTTP-Code: 403\b|\bforbidden\b/i.test(JSON.stringify(l)));

  it('the operator authenticates as the ServiceAccount', async () => {
    expect(token).toBeTruthy();
    const review = await operator.config.kubeConfig.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} });
    expect(review.status?.userInfo?.username).toBe(AS);
  });

  it('the organization\'s roles published under the ServiceAccount: the ConfigMap keyward-system/keyward-roles is created', async () => {
    const cm = await until('the roles ConfigMap', async () => (await k.core.readNamespacedConfigMap({ namespace: NS, name: 'keyward-roles' }).catch(() => undefined))?.data?.roles);
    expect(cm.split('\n')).toContain('key-manager');
    expect(forbidden()).toEqual([]);
  });

  it('leader election under the ServiceAccount: the Lease keyward-system/keyward-operator can be created, read and renewed', async () => {
    // The calls LeaderElector makes, with the rights of the Role in deploy/ (MicroTime fields as the API requires).
    const leases = saConfig.makeApiClient(CoordinationV1Api);
    const now = new V1MicroTime();
    await leases.createNamespacedLease({
      namespace: NS,
      body: { metadata: { name: 'keyward-operator', namespace: NS }, spec: { holderIdentity: 'rbac-check', leaseDurationSeconds: 1, acquireTime: now, renewTime: now } },
    });
    const lease = await leases.readNamespacedLease({ namespace: NS, name: 'keyward-operator' });
    // Released, as LeaderElector.stop() does: the elector test below can take it at once.
    await leases.replaceNamespacedLease({ namespace: NS, name: 'keyward-operator', body: { ...lease, spec: { ...lease.spec, holderIdentity: undefined, renewTime: undefined } } });
    // Not another Lease, not another namespace.
    await expect(leases.readNamespacedLease({ namespace: 'kube-system', name: 'keyward-operator' })).rejects.toMatchObject({ code: 403 });
  });

  it('leader election under the ServiceAccount: the real LeaderElector takes the Lease', async () => {
    const errors: string[] = [];
    let leading = false;
    const elector = new LeaderElector({
      kubeConfig: saConfig,
      namespace: NS,
      name: 'keyward-operator',
      identity: 'rbac-test-elector',
      leaseDurationMs: 3_000,
      retryPeriodMs: 300,
      onStartedLeading: () => (leading = true),
      onStoppedLeading: () => (leading = false),
      onError: (error) => void errors.push(String((error as { body?: unknown }).body ?? error)),
    });
    elector.start();
    try {
      await until('the elector to lead', async () => leading, 10_000).catch(() => undefined);
      expect(errors.filter((e) => /forbidden/i.test(e)), 'no RBAC denial').toEqual([]);
      expect(leading, `LeaderElector never led; its errors: ${errors.slice(0, 1).join('')}`).toBe(true);
      const lease = await cp().kubeConfig.makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: NS, name: 'keyward-operator' });
      expect(lease.spec?.holderIdentity).toBe('rbac-test-elector');
    } finally {
      await elector.stop();
    }
  });

  it('create: finalizer, Secret by server-side apply, a Created event, every restart target patched', async () => {
    await k.apply([
      apiKeyManifest(ns, 'web-api', {
        role: 'viewer',
        secret: { name: 'web-key', keys: { previous: 'API_KEY_PREVIOUS' } },
        rotation: { token: 'r-1', overlap: '1h' },
        consumers: { restartTargets: targets.map((t) => ({ ...t })) },
      }),
    ]);
    await cp().kubectl(['wait', '--for=condition=Ready', 'apikey/web-api', '-n', ns, '--timeout=60s']);
    const st = await status('web-api');
    expect(st).toMatchObject({ sequence: 1, lastRotationReason: 'Created', secretName: 'web-key' });
    expect((await k.apiKey(ns, 'web-api'))?.metadata.finalizers).toContain('keyward.dev/revoke-key');
    const secret = await k.secret(ns, 'web-key');
    expect(k.value(secret, 'API_KEY_ID')).toBe(st.keyId);
    expect(secret?.metadata?.managedFields?.map((f) => f.manager)).toContain('keyward-operator');
    expect(await verifies(gateway, k.value(secret, 'API_KEY'))).toBe('VALID');
    // Events are best effort in the operator (a denied create is swallowed): their presence proves the right.
    await until('the Created event', async () => (await k.events(ns, 'web-api')).some((e) => e.reason === 'Created'));
    await until('every restart target patched', async () => {
      for (const t of targets) if ((await podTemplateAnnotation(t.kind, t.name)) !== st.keyId) return false;
      return true;
    });
    await until('the ConsumersRestarted event', async () => (await k.events(ns, 'web-api')).some((e) => e.reason === 'ConsumersRestarted'));
    expect(forbidden()).toEqual([]);
  });

  it('token bump: one rotation, both keys verify during the overlap, every restart target patched for the new key', async () => {
    const before = await status('web-api');
    const oldSecret = k.value(await k.secret(ns, 'web-key'), 'API_KEY');
    await cp().kubectl(['patch', 'apikey', 'web-api', '-n', ns, '--type=merge', '-p', '{"spec":{"rotation":{"token":"r-2"}}}']);
    const after = await until('the rotation', async () => {
      const st = await status('web-api');
      return st.keyId !== before.keyId && !st.pending ? st : undefined;
    });
    expect(after).toMatchObject({ sequence: 2, lastRotationReason: 'Token', observedRotationToken: 'r-2' });
    const secret = await k.secret(ns, 'web-key');
    expect(k.value(secret, 'API_KEY_PREVIOUS')).toBe(oldSecret);
    expect(await verifies(gateway, k.value(secret, 'API_KEY'))).toBe('VALID');
    expect(await verifies(gateway, oldSecret)).toBe('VALID');
    await until('every restart target patched for the new key', async () => {
      for (const t of targets) if ((await podTemplateAnnotation(t.kind, t.name)) !== after.keyId) return false;
      return true;
    });
    await until('the Rotated event', async () => (await k.events(ns, 'web-api')).filter((e) => e.reason === 'Rotated').length === 1);
    expect(forbidden()).toEqual([]);
  });

  it('renaming spec.secret.name: the new Secret is written and the old one deleted (the reason secrets/delete is granted)', async () => {
    await cp().kubectl(['patch', 'apikey', 'web-api', '-n', ns, '--type=merge', '-p', '{"spec":{"secret":{"name":"web-key-v2"}}}']);
    const st = await until('the rename', async () => {
      const s = await status('web-api');
      return s.secretName === 'web-key-v2' && !s.pending ? s : undefined;
    });
    expect(k.value(await k.secret(ns, 'web-key-v2'), 'API_KEY_ID')).toBe(st.keyId);
    await until('the old Secret to be deleted', async () => (await k.secret(ns, 'web-key')) === undefined);
    expect(forbidden()).toEqual([]);
    // A rename is a spec change, not drift (the new Secret not existing yet is expected).
    expect(st.lastRotationReason).toBe('SpecChange');
    expect(forbidden()).toEqual([]);
  });

  it('delete: the key is revoked and the finalizer released', async () => {
    const keyId = (await status('web-api')).keyId!;
    const secretValue = k.value(await k.secret(ns, 'web-key-v2'), 'API_KEY');
    await cp().kubectl(['delete', 'apikey', 'web-api', '-n', ns, '--wait=true', '--timeout=60s']);
    expect((await service.client().getKey(keyId)).status).toBe('revoked');
    expect(await verifies(gateway, secretValue)).toBe('KEY_REVOKED');
    // The garbage collector learns about the new ApiKey kind on its discovery resync: give it time.
    await until('the garbage collector to remove the Secret', async () => (await k.secret(ns, 'web-key-v2')) === undefined, 60_000);
    expect(forbidden()).toEqual([]);
    expect(logged.filter((l) => l.message === 'reconcile failed').map((l) => JSON.stringify(l.fields))).toEqual([]);
  }, 90_000);

  it('kubectl auth can-i --as the ServiceAccount: exactly what it needs, and nothing else', async () => {
    const can = async (...args: string[]): Promise<string> => {
      const result = await cp().kubectl(['auth', 'can-i', `--as=${AS}`, ...args], { allowFailure: true });
      return result.stdout.trim();
    };
    const expectations: [args: string[], answer: 'yes' | 'no'][] = [
      // Granted.
      [['patch', 'deployments.apps', '-n', 'x'], 'yes'],
      [['patch', 'statefulsets.apps', '-n', 'x'], 'yes'],
      [['patch', 'daemonsets.apps', '-n', 'x'], 'yes'],
      [['watch', 'apikeys.keyward.dev', '--all-namespaces'], 'yes'],
      [['patch', 'apikeys.keyward.dev', '-n', 'x', '--subresource=status'], 'yes'],
      [['create', 'secrets', '-n', 'x'], 'yes'],
      [['delete', 'secrets', '-n', 'x'], 'yes'],
      [['create', 'events', '-n', 'x'], 'yes'],
      [['get', 'leases.coordination.k8s.io/keyward-operator', '-n', NS], 'yes'],
      [['update', 'leases.coordination.k8s.io/keyward-operator', '-n', NS], 'yes'],
      // Workloads: patched, and read one by one for their rollout (WhenUnused); never listed or watched.
      [['get', 'deployments.apps', '-n', 'x'], 'yes'],
      [['list', 'deployments.apps', '--all-namespaces'], 'no'],
      [['watch', 'statefulsets.apps', '-n', 'x'], 'no'],
      [['delete', 'deployments.apps', '-n', 'x'], 'no'],
      [['create', 'deployments.apps', '-n', 'x'], 'no'],
      [['patch', 'replicasets.apps', '-n', 'x'], 'no'],
      // No pods, no other kinds.
      [['delete', 'pods', '-n', 'x'], 'no'],
      [['create', 'pods', '-n', 'x'], 'no'],
      [['create', 'pods/exec', '-n', 'x'], 'no'],
      [['get', 'configmaps', '-n', 'x'], 'no'],
      // ConfigMaps: only its own (the published roles), only in keyward-system.
      [['patch', 'configmaps/keyward-roles', '-n', NS], 'yes'],
      [['patch', 'configmaps/other', '-n', NS], 'no'],
      [['list', 'configmaps', '-n', NS], 'no'],
      [['patch', 'configmaps/keyward-roles', '-n', 'default'], 'no'],
      [['patch', 'namespaces'], 'no'],
      // ApiKeys are the users' to create and delete.
      [['create', 'apikeys.keyward.dev', '-n', 'x'], 'no'],
      [['delete', 'apikeys.keyward.dev', '-n', 'x'], 'no'],
      // Leases: only its own, only in keyward-system.
      [['get', 'leases.coordination.k8s.io', '-n', 'default'], 'no'],
      [['update', 'leases.coordination.k8s.io/kube-scheduler', '-n', NS], 'no'],
      [['delete', 'leases.coordination.k8s.io/keyward-operator', '-n', NS], 'no'],
      // Nothing that widens its own rights.
      [['create', 'clusterrolebindings'], 'no'],
      [['escalate', 'clusterroles'], 'no'],
      [['bind', 'clusterroles'], 'no'],
      [['impersonate', 'serviceaccounts'], 'no'],
      [['create', 'serviceaccounts/token', '-n', NS], 'no'],
      [['update', 'customresourcedefinitions.apiextensions.k8s.io'], 'no'],
    ];
    const answers = await Promise.all(expectations.map(async ([args]) => `${args.join(' ')}: ${await can(...args)}`));
    expect(answers).toEqual(expectations.map(([args, answer]) => `${args.join(' ')}: ${answer}`));
  });
});
