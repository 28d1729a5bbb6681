/**
 * deploy/ (kustomize) against the real API server: it renders, every object
 * is accepted (strict field validation, then a server-side dry run of the
 * same apply), the wiring between the objects agrees (ports, paths, names,
 * the Secret the operator reads), the bootstrap of the operator key works as
 * deploy/README.md says, and the examples apply.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { validateApiKeySpec } from '../../src/core/apikey.ts';
import { cleanEnv, MAIN, ROOT } from '../support/cli-process.ts';
import { describeControlPlane } from '../support/controlplane.ts';
import { startTestService } from '../support/keyservice.ts';

const execFileAsync = promisify(execFile);

const DEPLOY = join(ROOT, 'deploy');
const EXAMPLES = join(DEPLOY, 'examples');
const NS = 'keyward-system';

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: any;
}

const parse = (text: string): Obj[] =>
  parseAllDocuments(text)
    .map((doc) => doc.toJS() as Obj | null)
    .filter((o): o is Obj => !!o);

describeControlPlane('deploy/ manifests', (cp) => {
  let rendered: Obj[] = [];
  const find = (kind: string, name: string): Obj => {
    const found = rendered.find((o) => o.kind === kind && o.metadata.name === name);
    if (!found) throw new Error(`${kind}/${name} is not in kubectl kustomize deploy/`);
    return found;
  };

  it('kubectl kustomize deploy/ renders the CRD, the role policy, namespace, RBAC, operator and key service', async () => {
    rendered = parse((await cp().kubectl(['kustomize', DEPLOY])).stdout);
    expect(rendered.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
      [
        'ClusterRole/keyward-operator',
        'ClusterRoleBinding/keyward-operator',
        'CustomResourceDefinition/apikeys.keyward.dev',
        'Deployment/keyward-operator',
        'Deployment/keyward-server',
        'Namespace/keyward-system',
        'PersistentVolumeClaim/keyward-server-data',
        'PodDisruptionBudget/keyward-operator',
        'Role/keyward-operator-leader-election',
        'RoleBinding/keyward-operator-leader-election',
        'Role/keyward-operator-roles',
        'RoleBinding/keyward-operator-roles',
        'ValidatingAdmissionPolicy/keyward-apikey-role',
        'ValidatingAdmissionPolicyBinding/keyward-apikey-role',
        'Service/keyward-operator-metrics',
        'Service/keyward-server',
        'ServiceAccount/keyward-operator',
      ].sort(),
    );
    const clusterScoped = new Set(['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding']);
    // kustomize's built-in schema predates these cluster-scoped kinds, so its namespace transformer sets one; the API server drops it.
    const unknownToKustomize = new Set(['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']);
    for (const o of rendered) {
      if (unknownToKustomize.has(o.kind)) expect(o.metadata.namespace ?? NS, `${o.kind}/${o.metadata.name}`).toBe(NS);
      else if (clusterScoped.has(o.kind)) expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBeUndefined();
      else expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe(NS);
      expect(o.metadata.labels?.['app.kubernetes.io/part-of'], `${o.kind}/${o.metadata.name}`).toBe('keyward');
    }
  });

  it('labels: app.kubernetes.io/name: keyward on everything, a component on every part, and selectors that pick exactly their component\'s pods', () => {
    const COMPONENTS = ['crds', 'operator', 'key-service'];
    for (const o of rendered) {
      const labels = o.metadata.labels ?? {};
      expect(labels['app.kubernetes.io/name'], `${o.kind}/${o.metadata.name}`).toBe('keyward');
      // The namespace holds every part; everything else is one of them.
      if (o.kind !== 'Namespace') expect(COMPONENTS, `${o.kind}/${o.metadata.name}`).toContain(labels['app.kubernetes.io/component']);
    }
    const podLabels = (component: string) => {
      const deployment = rendered.find((o) => o.kind === 'Deployment' && o.metadata.labels?.['app.kubernetes.io/component'] === component)!;
      return deployment.spec.template.metadata.labels;
    };
    const selectors: [string, Record<string, string>][] = [];
    for (const o of rendered) {
      const component = o.metadata.labels?.['app.kubernetes.io/component'] ?? '';
      if (o.kind === 'Deployment') {
        selectors.push([component, o.spec.selector.matchLabels]);
        for (const term of o.spec.template.spec.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []) selectors.push([component, term.podAffinityTerm.labelSelector.matchLabels]);
      }
      if (o.kind === 'PodDisruptionBudget') selectors.push([component, o.spec.selector.matchLabels]);
      if (o.kind === 'Service') selectors.push([component, o.spec.selector]);
    }
    expect(selectors.length).toBeGreaterThanOrEqual(6);
    for (const [component, selector] of selectors) {
      expect(selector, component).toEqual({ 'app.kubernetes.io/name': 'keyward', 'app.kubernetes.io/component': component });
      expect(podLabels(component)).toMatchObject(selector);
    }
  });

  it('the operator Deployment: 2 replicas with leader election, POD_NAMESPACE, the key file from the Secret, probes on 8081, hardened', () => {
    const deployment = find('Deployment', 'keyward-operator');
    expect(deployment.spec.replicas).toBe(2);
    const pod = deployment.spec.template.spec;
    expect(pod.serviceAccountName).toBe('keyward-operator');
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    const [container] = pod.containers;
    expect(container.image).toBe('ghcr.io/keyward/keyward:0.1.0');
    const args: string[] = container.args;
    expect(args[0]).toBe('operator');
    expect(args).toContain('--leader-elect');
    expect(container.env).toContainEqual({ name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } });

    // --api-key-file points into the mount of Secret keyward-operator-key, key api-key.
    const keyFile = args.find((a) => a.startsWith('--api-key-file='))!.split('=')[1]!;
    const mount = container.volumeMounts.find((m: { mountPath: string }) => keyFile.startsWith(`${m.mountPath}/`));
    expect(mount, 'a volume mounted where --api-key-file points').toBeDefined();
    const volume = pod.volumes.find((v: { name: string }) => v.name === mount.name);
    expect(volume.secret.secretName).toBe('keyward-operator-key');
    expect(volume.secret.items).toEqual([{ key: 'api-key', path: keyFile.slice(mount.mountPath.length + 1) }]);

    // /healthz and /readyz on the port the operator serves them on.
    const bind = args.find((a) => a.startsWith('--metrics-bind-address='))!.split('=')[1]!;
    expect(bind).toBe('0.0.0.0:8081');
    const metricsPort = container.ports.find((p: { name: string }) => p.name === 'metrics');
    expect(metricsPort.containerPort).toBe(8081);
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(container.resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    expect(container.resources.limits).toMatchObject({ memory: expect.any(String) });

    // The Lease it campaigns for is the one the leader-election Role names.
    const leaseName = args.find((a) => a.startsWith('--lease-name='))?.split('=')[1] ?? 'keyward-operator';
    const role = find('Role', 'keyward-operator-leader-election');
    expect(role.rules.flatMap((r: { resourceNames?: string[] }) => r.resourceNames ?? [])).toEqual([leaseName]);

    // It reaches the key service through its Service.
    const service = find('Service', 'keyward-server');
    const url = container.env.find((e: { name: string }) => e.name === 'KEYWARD_URL').value;
    expect(url).toBe(`http://${service.metadata.name}.${NS}.svc:${service.spec.ports[0].port}`);
  });

  it('the key service: one replica, Recreate, listening on all interfaces, its lowdb file on the PVC', () => {
    const deployment = find('Deployment', 'keyward-server');
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.strategy).toEqual({ type: 'Recreate' });
    const pod = deployment.spec.template.spec;
    const [container] = pod.containers;
    expect(container.args).toEqual(['serve']);
    const env = Object.fromEntries(container.env.map((e: { name: string; value: string }) => [e.name, e.value]));
    expect(env).toMatchObject({ KEYWARD_HOST: '0.0.0.0', KEYWARD_PORT: '8080' });
    const dataMount = container.volumeMounts.find((m: { mountPath: string }) => env.KEYWARD_STORE.startsWith(`${m.mountPath}/`));
    const dataVolume = pod.volumes.find((v: { name: string }) => v.name === dataMount.name);
    expect(dataVolume.persistentVolumeClaim.claimName).toBe(find('PersistentVolumeClaim', 'keyward-server-data').metadata.name);
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container.ports).toContainEqual({ name: 'http', containerPort: 8080, protocol: 'TCP' });
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    const service = find('Service', 'keyward-server');
    expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
    expect(service.spec.ports[0].targetPort).toBe('http');
  });

  it('RBAC: no wildcards; workloads get get (rollout status, for WhenUnused) and patch (restarts) only; the lease rights are namespaced; the bindings name the ServiceAccount', () => {
    const clusterRole = find('ClusterRole', 'keyward-operator');
    for (const rule of clusterRole.rules) {
      for (const field of ['apiGroups', 'resources', 'verbs']) expect(rule[field], JSON.stringify(rule)).not.toContain('*');
    }
    const apps = clusterRole.rules.filter((r: { apiGroups: string[] }) => r.apiGroups.includes('apps'));
    expect(apps).toEqual([{ apiGroups: ['apps'], resources: ['deployments', 'statefulsets', 'daemonsets'], verbs: ['get', 'patch'] }]);
    expect(clusterRole.rules.some((r: { resources: string[] }) => r.resources.includes('leases'))).toBe(false);
    expect(clusterRole.rules.some((r: { resources: string[] }) => r.resources.includes('pods'))).toBe(false);
    const subject = { kind: 'ServiceAccount', name: 'keyward-operator', namespace: NS };
    expect(find('ClusterRoleBinding', 'keyward-operator')).toMatchObject({ roleRef: { kind: 'ClusterRole', name: 'keyward-operator' }, subjects: [subject] });
    expect(find('RoleBinding', 'keyward-operator-leader-election')).toMatchObject({ roleRef: { kind: 'Role', name: 'keyward-operator-leader-election' }, subjects: [subject] });
    expect(find('RoleBinding', 'keyward-operator-roles')).toMatchObject({ roleRef: { kind: 'Role', name: 'keyward-operator-roles' }, subjects: [subject] });
    // The role policy's binding looks for its ConfigMap where the operator (POD_NAMESPACE) writes it.
    expect(find('ValidatingAdmissionPolicyBinding', 'keyward-apikey-role').spec.paramRef).toMatchObject({ name: 'keyward-roles', namespace: NS, parameterNotFoundAction: 'Allow' });
  });

  it('kubectl apply -k deploy/ is accepted on a fresh cluster (strict validation), and a server-side dry run of it again', async () => {
    const applied = await cp().kubectl(['apply', '--validate=strict', '-k', DEPLOY]);
    expect(applied.stdout).toMatch(/deployment\.apps\/keyward-operator (created|configured|unchanged)/);
    expect(applied.stdout).toMatch(/validatingadmissionpolicybinding\.admissionregistration\.k8s\.io\/keyward-apikey-role (created|configured|unchanged)/);
    const dryRun = await cp().kubectl(['apply', '--dry-run=server', '--validate=strict', '-k', DEPLOY]);
    expect(dryRun.stdout).toMatch(/clusterrole\.rbac\.authorization\.k8s\.io\/keyward-operator (unchanged|configured) \(server dry run\)/);
    expect(dryRun.stdout).toMatch(/deployment\.apps\/keyward-operator (unchanged|configured) \(server dry run\)/);
    // The namespace enforces the restricted Pod Security Standard: both pod templates pass it.
    const podSecurity = await cp().kubectl(['get', 'namespace', NS, '-o', 'jsonpath={.metadata.labels.pod-security\\.kubernetes\\.io/enforce}']);
    expect(podSecurity.stdout).toBe('restricted');
    const warnings = `${applied.stderr}${dryRun.stderr}`;
    expect(warnings).not.toMatch(/would violate PodSecurity/);
    // ... and the check is live: a pod template that is not restricted is warned about.
    const loose = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'loose', namespace: NS }, spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } } };
    const looseRun = await cp().kubectl(['apply', '--dry-run=server', '-f', '-'], { input: JSON.stringify(loose) });
    expect(looseRun.stderr).toMatch(/would violate PodSecurity "restricted/);
  });

  it('the operator key Secret is created as deploy/README.md says: keys create | jq | kubectl create secret … --from-file=api-key=/dev/stdin', async () => {
    const service = await startTestService();
    try {
      // The README's pipeline, in a real shell pipe (jq where installed, else the same in node).
      const extract = `if command -v jq >/dev/null; then jq -j .secret; else ${JSON.stringify(process.execPath)} -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0, "utf8")).secret)'; fi`;
      const pipeline = [
        `${JSON.stringify(process.execPath)} ${JSON.stringify(MAIN)} keys create --name keyward-operator --role key-manager --output json`,
        `(${extract})`,
        `${JSON.stringify(cp().binaries.kubectl)} -n ${NS} create secret generic keyward-operator-key --from-file=api-key=/dev/stdin`,
      ].join(' | ');
      const { stdout } = await execFileAsync('bash', ['-c', `set -o pipefail; ${pipeline}`], {
        env: cleanEnv({ KEYWARD_URL: service.url, KEYWARD_API_KEY: service.adminSecret, KUBECONFIG: cp().kubeconfigPath }),
        cwd: ROOT,
      });
      expect(stdout).toMatch(/secret\/keyward-operator-key created/);
      const stored = JSON.parse((await cp().kubectl(['-n', NS, 'get', 'secret', 'keyward-operator-key', '-o', 'json'])).stdout);
      expect(Object.keys(stored.data)).toEqual(['api-key']);
      const secret = Buffer.from(stored.data['api-key'], 'base64').toString('utf8');
      expect(secret).toMatch(/^kw_\S+$/); // no trailing newline or whitespace
      const verified = await service.client().verifyKey({ key: secret });
      expect(verified).toMatchObject({ code: 'VALID', role: 'key-manager' });
    } finally {
      await service.stop();
    }
  });

  it('the examples: the ApiKey passes the CRD schema (and the operator’s own validation); the consumer Deployment reads its Secret', async () => {
    const examples = parse((await cp().kubectl(['kustomize', EXAMPLES])).stdout);
    const apiKey = examples.find((o) => o.kind === 'ApiKey')!;
    expect(apiKey.metadata).toMatchObject({ name: 'payments-api', namespace: 'payments' });
    const validation = validateApiKeySpec(apiKey.spec);
    expect(validation.ok ? [] : validation.problems).toEqual([]);
    expect(['key-manager', 'viewer']).toContain(apiKey.spec.role);

    const consumer = examples.find((o) => o.kind === 'Deployment')!;
    expect(apiKey.spec.consumers.restartTargets).toEqual([{ kind: 'Deployment', name: consumer.metadata.name }]);
    const [container] = consumer.spec.template.spec.containers;
    expect(container.envFrom).toEqual([{ secretRef: { name: apiKey.spec.secret.name } }]);
    expect(container.env[0].valueFrom.secretKeyRef).toEqual({ name: apiKey.spec.secret.name, key: apiKey.spec.secret.keys.secret });

    const applied = await cp().kubectl(['apply', '--validate=strict', '-k', EXAMPLES]);
    expect(applied.stdout).toMatch(/apikey\.keyward\.dev\/payments-api created/);
    const dryRun = await cp().kubectl(['apply', '--dry-run=server', '--validate=strict', '-f', join(EXAMPLES, 'apikey.yaml')]);
    expect(dryRun.stdout).toMatch(/apikey\.keyward\.dev\/payments-api (unchanged|configured) \(server dry run\)/);
  });
});
