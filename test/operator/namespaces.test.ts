/**
 * `keyward operator -n team-a -n team-b --api-key-file <file>` as a child
 * process, confined the way the README says: the ClusterRole from deploy/
 * bound by RoleBindings in team-a and team-b only, no ClusterRoleBinding. It
 * watches only those namespaces (a cluster-wide watch is forbidden under that
 * RBAC, so an operator that ignored -n would never become ready), reconciles
 * the ApiKeys there and leaves team-c's alone; and it authenticates to the
 * key service with the key in the file, not with KEYWARD_API_KEY (which holds
 * a revoked key here). Without -n it stays unready (503) under that RBAC.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { KeywardClient } from '../../src/client/index.ts';
import { freePort, killAll, ROOT, startKeyward, type Child } from '../support/cli-process.ts';
import { describeControlPlane } from '../support/controlplane.ts';
import { startTestService, type TestService } from '../support/keyservice.ts';
import { apiKeyManifest, kubeHelpers, operatorKey, unlessNotFound, until, verifies } from '../support/operator.ts';

const NS = 'keyward-system';
const SA = 'keyward-operator';
const AS = `system:serviceaccount:${NS}:${SA}`;
const WATCHED = ['team-a', 'team-b'];
const OTHER = 'team-c';

describeControlPlane('keyward operator -n team-a -n team-b --api-key-file', (cp) => {
  let service: TestService;
  let gateway: KeywardClient;
  let k: ReturnType<typeof kubeHelpers>;
  let confinedToken: string;
  let kubeconfigFile: string;
  let keyFile: string;
  let revoked: string;
  let operator: Child;
  let url: string;

  beforeAll(async () => {
    // From deploy/: the namespace, the ServiceAccount and the ClusterRole, bound per namespace instead of cluster-wide;
    // and, as deploy/ has it, the Role for the roles ConfigMap in the operator's own namespace.
    const rendered = parseAllDocuments((await cp().kubectl(['kustomize', join(ROOT, 'deploy')])).stdout).map((doc) => doc.toJS() as { kind: string; metadata: { name: string } });
    const identity = rendered.filter(
      (o) => ['Namespace', 'ServiceAccount'].includes(o.kind) || (o.kind === 'ClusterRole' && o.metadata.name === 'keyward-operator') || (['Role', 'RoleBinding'].includes(o.kind) && o.metadata.name === 'keyward-operator-roles'),
    );
    expect(identity.map((o) => o.kind).sort()).toEqual(['ClusterRole', 'Namespace', 'Role', 'RoleBinding', 'ServiceAccount']);
    await cp().kubectl(['apply', '-f', '-'], { input: identity.map((o) => JSON.stringify(o)).join('\n') });
    for (const ns of [...WATCHED, OTHER]) await cp().kubectl(['create', 'namespace', ns]);
    for (const ns of WATCHED) await cp().kubectl(['create', 'rolebinding', 'keyward-operator', '-n', ns, '--clusterrole=keyward-operator', `--serviceaccount=${NS}:${SA}`]);

    const token = await cp().kubeConfig.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({ name: SA, namespace: NS, body: { spec: { audiences: [], expirationSeconds: 3600 } } });
    confinedToken = token.status!.token!;
    kubeconfigFile = join(cp().dir, 'confined-operator.kubeconfig');
    writeFileSync(kubeconfigFile, cp().kubeConfigForToken(confinedToken, SA).exportConfig(), { mode: 0o600 });

    service = await startTestService();
    gateway = service.client((await service.client().createKey({ name: 'gateway', role: 'verifier' })).secret);
    keyFile = join(service.dir, 'operator-api-key');
    writeFileSync(keyFile, `${await operatorKey(service)}\n`, { mode: 0o600 }); // a mounted Secret may end in a newline
    const old = await service.client().createKey({ name: 'old operator key', role: 'key-manager' });
    await service.client().revokeKey(old.key.id);
    revoked = old.secret;
    k = kubeHelpers(cp());
  }, 120_000);
  afterAll(async () => {
    await killAll();
    await service?.stop();
  });

  const can = async (...args: string[]) => (await cp().kubectl(['auth', 'can-i', `--as=${AS}`, ...args], { allowFailure: true })).stdout.trim();

  it('the RBAC confines it: ApiKeys may be listed in team-a and team-b, not in team-c and not across all namespaces', async () => {
    expect([await can('list', 'apikeys.keyward.dev', '-n', 'team-a'), await can('watch', 'secrets', '-n', 'team-b')]).toEqual(['yes', 'yes']);
    expect([await can('list', 'apikeys.keyward.dev', '-n', OTHER), await can('list', 'apikeys.keyward.dev', '--all-namespaces'), await can('watch', 'secrets', '--all-namespaces')]).toEqual([
      'no',
      'no',
      'no',
    ]);
  });

  it('the tests\' helpers tell a refusal from absence: a 403 is an error, only a 404 is "not there"', async () => {
    const confined = cp().kubeConfigForToken(confinedToken, SA).makeApiClient(CoreV1Api);
    await expect(unlessNotFound(confined.readNamespacedSecret({ namespace: OTHER, name: 'anything' }))).rejects.toMatchObject({ code: 403 });
    expect(await unlessNotFound(confined.readNamespacedSecret({ namespace: 'team-a', name: 'missing' }))).toBeUndefined();
  });

  it('becomes ready watching only team-a and team-b, and reconciles the ApiKeys there with the key from --api-key-file', async () => {
    // An ApiKey outside its namespaces, there before the operator starts.
    await k.apply([apiKeyManifest(OTHER, 'elsewhere', { role: 'viewer' })]);

    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    operator = startKeyward(['operator', '-n', 'team-a', '-n', 'team-b', '--api-key-file', keyFile, '--metrics-bind-address', `127.0.0.1:${port}`, '--resync', '2s'], {
      KUBECONFIG: kubeconfigFile,
      KEYWARD_URL: service.url,
      KEYWARD_API_KEY: revoked,
      // The start line (which namespaces) is logged at info.
      KEYWARD_LOG_LEVEL: 'info',
    });
    let exited = false;
    void operator.exited.then(() => (exited = true));
    await until('the operator to be ready (informers synced)', async () => {
      if (exited) throw new Error(`the operator exited:\n${operator.stderr}${operator.stdout}`);
      return (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200;
    });
    const started = operator.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { msg: string; namespaces?: unknown })
      .find((entry) => entry.msg === 'keyward operator started');
    expect(started?.namespaces).toEqual(WATCHED);

    await k.apply(WATCHED.map((ns) => apiKeyManifest(ns, 'app', { role: 'viewer' })));
    for (const ns of WATCHED) {
      const keyId = await until(`the ApiKey in ${ns} to get its key`, async () => {
        const st = (await k.apiKey(ns, 'app'))?.status;
        return st?.keyId && !st.pending ? st.keyId : undefined;
      });
      const secret = await k.secret(ns, 'app');
      expect(k.value(secret, 'API_KEY_ID')).toBe(keyId);
      expect(await verifies(gateway, k.value(secret, 'API_KEY'))).toBe('VALID');
      expect((await service.client().getKey(keyId)).metadata).toMatchObject({ 'k8s/namespace': ns, 'k8s/name': 'app' });
    }
  });

  it('leaves the ApiKey in team-c alone: no finalizer, no status, no key; and it was never refused anything', async () => {
    // It has reconciled team-a's ApiKey again since (a spec change makes sure), long after team-c's existed.
    await k.reconciledAgain('team-a', 'app');
    const elsewhere = await k.apiKey(OTHER, 'elsewhere');
    expect(elsewhere?.metadata.finalizers ?? []).toEqual([]);
    expect(elsewhere?.status).toBeUndefined();
    const names: string[] = [];
    for await (const key of service.client().allKeys({ status: 'all' })) names.push(`${key.metadata['k8s/namespace'] ?? '-'}/${key.metadata['k8s/name'] ?? key.name}`);
    expect(names.filter((name) => name.startsWith(`${OTHER}/`))).toEqual([]);
    expect(`${operator.stdout}${operator.stderr}`).not.toMatch(/\bforbidden\b|\b403\b|UNAUTHENTICATED|KEY_REVOKED/i); // whole words: a log line's timestamp may hold the digits 403
    expect(exitedEarly()).toBe(false);
    // keyward operator publishes the organization's roles in its own namespace (POD_NAMESPACE, default keyward-system).
    const roles = await k.core.readNamespacedConfigMap({ namespace: NS, name: 'keyward-roles' });
    expect(roles.data?.roles?.split('\n')).toEqual(['admin', 'key-manager', 'verifier', 'viewer']);
  });

  it('without -n, under the same RBAC, it is not ready: the cluster-wide list is forbidden, and /readyz says 503 while it retries', async () => {
    const port = await freePort();
    const unconfined = startKeyward(['operator', '--api-key-file', keyFile, '--metrics-bind-address', `127.0.0.1:${port}`], {
      KUBECONFIG: kubeconfigFile,
      KEYWARD_URL: service.url,
    });
    const logLines = () => unconfined.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { msg: string; err?: string });
    await until('the forbidden cluster-wide watch to be logged', async () => logLines().some((l) => l.msg === 'ApiKey watch failed; restarting' && /forbidden/i.test(l.err ?? '')));
    const ready = await until('/readyz to answer', async () => fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined));
    expect(ready.status).toBe(503);
    expect(await ready.text()).toBe('informers not synced');
    unconfined.process.kill('SIGTERM');
    await unconfined.exited;
  });

  const exitedEarly = () => operator.process.exitCode !== null || operator.process.signalCode !== null;
});
