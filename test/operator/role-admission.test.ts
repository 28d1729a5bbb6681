/**
 * A role the organization does not have is refused at apply by the API
 * server (the ValidatingAdmissionPolicy of deploy/apikey-role-policy.yaml,
 * its parameter the ConfigMap the operator publishes the organization's role
 * ids in), with a message naming the role and `keyward roles list`; nothing
 * is created. A role created in the key service is usable once the operator
 * has refreshed the list (each resync). No ConfigMap: nothing is blocked. A
 * role that went away blocks no update that leaves spec.role as it is.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { Operator } from '../../src/operator/operator.ts';
import { DEFAULT_OPERATOR_NAMESPACE, ROLES_CONFIGMAP } from '../../src/operator/role-admission.ts';
import { describeControlPlane } from '../support/controlplane.ts';
import { startTestService, type TestService } from '../support/keyservice.ts';
import { apiKeyManifest, apiServerRequests, installRolePolicy, kubeHelpers, operatorKey, requestsBetween, startOperator, until, WRITE_VERBS } from '../support/operator.ts';

const OPERATOR_NS = DEFAULT_OPERATOR_NAMESPACE;
const REFUSED = (role: string) =>
  new RegExp(`denied request: spec\\.role: the organization has no role "${role}" \\(run \`keyward roles list\` for its roles; a role created since is usable once the keyward operator has published it in ConfigMap ${OPERATOR_NS}/${ROLES_CONFIGMAP}\\)`);

describeControlPlane('the role admission policy', (cp) => {
  let service: TestService;
  let operator: Operator | undefined;
  let secret: string;
  let k: ReturnType<typeof kubeHelpers>;
  const ns = 'roles';

  const start = async () => (operator = await startOperator(cp(), service, secret, { namespaces: [ns], rolesNamespace: OPERATOR_NS }));
  /** kubectl apply of one ApiKey, as a user runs it. */
  const apply = (name: string, spec: Record<string, unknown>) => cp().kubectl(['apply', '-f', '-'], { input: stringify(apiKeyManifest(ns, name, spec)), allowFailure: true });
  const publishedRoles = async () => (await k.core.readNamespacedConfigMap({ namespace: OPERATOR_NS, name: ROLES_CONFIGMAP }).catch(() => undefined))?.data?.roles?.split('\n');
  const exists = async (name: string) => (await k.apiKey(ns, name)) !== undefined;

  beforeAll(async () => {
    service = await startTestService();
    secret = await operatorKey(service);
    k = kubeHelpers(cp());
    await cp().kubectl(['create', 'namespace', ns]);
    const policy = await installRolePolicy(cp());
    await start();
    await policy.enforced();
  }, 120_000);
  afterAll(async () => {
    await operator?.stop();
    await service?.stop();
  }, 120_000);

  it('the operator publishes the organization\'s role ids in its ConfigMap, labelled managed-by keyward', async () => {
    expect(await until('the roles ConfigMap', publishedRoles)).toEqual(['admin', 'key-manager', 'verifier', 'viewer']);
    const cm = await k.core.readNamespacedConfigMap({ namespace: OPERATOR_NS, name: ROLES_CONFIGMAP });
    expect(cm.metadata?.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'keyward' });
  }, 120_000);

  it('resyncs that find the roles unchanged write nothing to the ConfigMap (one GET each)', async () => {
    await until('the roles ConfigMap', publishedRoles);
    const before = await apiServerRequests(cp());
    const resyncs = async () => (await operator!.metrics.resyncs.get()).values[0]?.value ?? 0;
    const from = await resyncs();
    await until('two more resyncs', async () => (await resyncs()) >= from + 2);
    const served = requestsBetween(before, await apiServerRequests(cp()), ['configmaps']);
    expect(Object.keys(served).filter((key) => WRITE_VERBS.some((verb) => key.startsWith(`${verb} `)))).toEqual([]);
    expect(served['GET configmaps']).toBeGreaterThanOrEqual(1);
  }, 120_000);

  it('kubectl apply of an ApiKey naming a role the organization does not have: refused by the API server with the message; nothing is created', async () => {
    const res = await apply('checkout-api', { role: 'no-such-role' });
    expect(res.exitCode).not.toBe(0);
    expect(res.stderr.replace(/\s+/g, ' ')).toMatch(REFUSED('no-such-role'));
    expect(await exists('checkout-api')).toBe(false);
    expect((await service.client().listKeys({})).items.map((key) => key.name)).not.toContain('checkout-api');
    // A built-in role goes through, and the operator issues its key.
    const ok = await apply('checkout-api', { role: 'viewer' });
    expect(ok.exitCode, ok.stderr).toBe(0);
    await until('checkout-api Ready', async () => (await k.apiKey(ns, 'checkout-api'))?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  }, 120_000);

  it('a role created in the key service becomes usable once the operator has refreshed the list (its resync)', async () => {
    const refused = await apply('deployer-api', { role: 'deployer' });
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr.replace(/\s+/g, ' ')).toMatch(REFUSED('deployer'));
    await service.client().createRole({ id: 'deployer', name: 'Deployer', permissions: ['api.key.view'] });
    await until('deployer published', async () => (await publishedRoles())?.includes('deployer'));
    // The API server's copy of the parameter follows its watch of the ConfigMap.
    await until('deployer admitted', async () => (await apply('deployer-api', { role: 'deployer' })).exitCode === 0);
    const ready = await until('deployer-api Ready', async () => {
      const st = (await k.apiKey(ns, 'deployer-api'))?.status;
      return st?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? st : undefined;
    });
    expect((await service.client().getKey(ready.keyId!)).role).toBe('deployer');
  }, 120_000);

  it('no ConfigMap (no operator has published yet): nothing is refused; a role gone from the list blocks only a change of spec.role', async () => {
    await operator!.stop();
    operator = undefined;
    await k.core.deleteNamespacedConfigMap({ namespace: OPERATOR_NS, name: ROLES_CONFIGMAP });
    await until('an unknown role admitted without the ConfigMap', async () => (await apply('legacy-api', { role: 'retired-role' })).exitCode === 0);
    expect((await k.apiKey(ns, 'legacy-api'))?.spec.role).toBe('retired-role');

    await start();
    await until('the roles ConfigMap back', publishedRoles);
    await until('the policy to refuse again', async () => (await apply('other-api', { role: 'retired-role' })).exitCode !== 0);
    expect(await exists('other-api')).toBe(false);
    // The ApiKey already naming the missing role stays updatable for its other fields...
    const bump = await apply('legacy-api', { role: 'retired-role', displayName: 'legacy v2' });
    expect(bump.exitCode, bump.stderr).toBe(0);
    expect((await k.apiKey(ns, 'legacy-api'))?.spec.displayName).toBe('legacy v2');
    // ...but not moved to another role the organization does not have; to one it has, yes.
    const moved = await apply('legacy-api', { role: 'another-missing-role', displayName: 'legacy v2' });
    expect(moved.exitCode).not.toBe(0);
    expect(moved.stderr.replace(/\s+/g, ' ')).toMatch(REFUSED('another-missing-role'));
    expect((await k.apiKey(ns, 'legacy-api'))?.spec.role).toBe('retired-role');
    const fixed = await apply('legacy-api', { role: 'viewer', displayName: 'legacy v2' });
    expect(fixed.exitCode, fixed.stderr).toBe(0);
  }, 120_000);
});
