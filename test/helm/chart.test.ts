/**
 * charts/keyward with the real helm (built by `npm run testbin`, family
 * "helm") against the real API server: `helm lint` clean, `helm template`
 * accepted by the API server (`kubectl apply --dry-run=server`) for the lowdb
 * and PostgreSQL stores, a wrong value refused by values.schema.json before
 * anything is created, `helm install`, the key service's bootstrap into its
 * Secret under the chart's RBAC, `helm upgrade` to a changed value, and
 * `helm uninstall`; and no drift from deploy/ (generated files up to date,
 * the rendering equal to `kubectl kustomize deploy/` where they must agree).
 *
 * Without helm the suite skips with one line; KEYWARD_REQUIRE_HELM=1 (CI)
 * makes it fail instead.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT, resolveHelm } from '../../src/devcluster/binaries.ts';
import { outOfDate } from '../../scripts/gen-chart.ts';
import { readPackageJson } from '../../scripts/release/package.ts';
import { cleanEnv, freePort, MAIN } from '../support/cli-process.ts';
import { describeControlPlane } from '../support/controlplane.ts';

const CHART = path.join(REPO_ROOT, 'charts', 'keyward');
const NS = 'keyward-system';
const VERSION = readPackageJson().version;
const helmBinary = resolveHelm();
const required = process.env.KEYWARD_REQUIRE_HELM === '1' || process.env.KEYWARD_REQUIRE_HELM === 'true';

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: any;
}
// YAML 1.1, as the API server reads it (defaultMode: 0400 is octal).
const parse = (text: string): Obj[] =>
  parseAllDocuments(text, { version: '1.1' })
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => !!o);
const find = (objs: Obj[], kind: string, name: string): Obj => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind}/${name} in ${objs.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  return o;
};

function suite(): void {
  describeControlPlane('helm chart charts/keyward', (cp) => {
    let home: string;
    let helmEnv: NodeJS.ProcessEnv;

    beforeAll(() => {
      home = mkdtempSync(path.join(tmpdir(), 'keyward-helm-'));
      // helm's own state in a temp dir, never the user's ~/.cache/helm or ~/.config/helm.
      helmEnv = {
        PATH: process.env.PATH,
        HOME: home,
        HELM_CACHE_HOME: path.join(home, 'cache'),
        HELM_CONFIG_HOME: path.join(home, 'config'),
        HELM_DATA_HOME: path.join(home, 'data'),
        KUBECONFIG: cp().kubeconfigPath,
      };
    });
    afterAll(() => {
      if (home) rmSync(home, { recursive: true, force: true });
    });

    const helm = (args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> =>
      new Promise((resolve, reject) => {
        const child = spawn(helmBinary.helm!, args, { cwd: REPO_ROOT, env: helmEnv, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c: Buffer) => (stdout += c));
        child.stderr.on('data', (c: Buffer) => (stderr += c));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      });
    const helmOk = async (args: string[]): Promise<string> => {
      const res = await helm(args);
      expect(res.code, `helm ${args.join(' ')}\n${res.stderr}\n${res.stdout}`).toBe(0);
      return res.stdout;
    };
    const template = (...set: string[]) => helmOk(['template', 'keyward', CHART, '--namespace', NS, ...set.flatMap((s) => ['--set', s])]);
    const kubectlJson = async (args: string[]) => JSON.parse((await cp().kubectl([...args, '-o', 'json'])).stdout);

    it('helm lint --strict: no warning, no error', async () => {
      const out = await helmOk(['lint', '--strict', CHART]);
      expect(out).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
      expect(out).not.toMatch(/\[(WARNING|ERROR)\]/);
    });

    it('helm template matches kubectl kustomize deploy/: the CRD, the RBAC rules, the pods (image, args, probes, ports, mounts, security)', async () => {
      const chart = parse(await template());
      const deploy = parse((await cp().kubectl(['kustomize', path.join(REPO_ROOT, 'deploy')])).stdout);
      expect(find(chart, 'CustomResourceDefinition', 'apikeys.keyward.dev').spec).toEqual(find(deploy, 'CustomResourceDefinition', 'apikeys.keyward.dev').spec);
      expect(find(chart, 'ClusterRole', 'keyward-operator').rules).toEqual(find(deploy, 'ClusterRole', 'keyward-operator').rules);
      expect(find(chart, 'Role', 'keyward-operator-leader-election').rules).toEqual(find(deploy, 'Role', 'keyward-operator-leader-election').rules);
      expect(find(chart, 'Role', 'keyward-operator-roles').rules).toEqual(find(deploy, 'Role', 'keyward-operator-roles').rules);
      // The role admission policy; its binding looks for the roles ConfigMap in the release namespace (keyward-system here, as in deploy/).
      for (const kind of ['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']) expect(find(chart, kind, 'keyward-apikey-role').spec, kind).toEqual(find(deploy, kind, 'keyward-apikey-role').spec);
      for (const name of ['keyward-operator', 'keyward-server']) {
        const [c, d] = [find(chart, 'Deployment', name), find(deploy, 'Deployment', name)];
        expect(c.spec.replicas, name).toBe(d.spec.replicas);
        expect(c.spec.strategy, name).toEqual(d.spec.strategy);
        expect(c.spec.template.spec.securityContext, name).toMatchObject(d.spec.template.spec.securityContext);
        expect(c.spec.template.spec.volumes, name).toEqual(d.spec.template.spec.volumes);
        const [cc, dc] = [c.spec.template.spec.containers[0], d.spec.template.spec.containers[0]];
        expect(cc.image).toBe(`ghcr.io/keyward/keyward:${VERSION}`);
        expect(dc.image).toBe(`ghcr.io/keyward/keyward:${VERSION}`);
        for (const field of ['args', 'ports', 'livenessProbe', 'readinessProbe', 'resources', 'securityContext', 'volumeMounts']) expect(cc[field], `${name} ${field}`).toEqual(dc[field]);
        // The same settings, except where the first admin secret goes (a Secret here, a file on the volume in deploy/).
        const env = (x: { env: { name: string }[] }) => x.env.filter((e) => !e.name.startsWith('KEYWARD_BOOTSTRAP_SECRET'));
        expect(env(cc), `${name} env`).toEqual(env(dc));
      }
      expect(find(chart, 'PodDisruptionBudget', 'keyward-operator').spec.minAvailable).toBe(find(deploy, 'PodDisruptionBudget', 'keyward-operator').spec.minAvailable);
    });

    it('helm template output is accepted by the API server (kubectl apply --dry-run=server), lowdb and PostgreSQL', async () => {
      await cp().kubectl(['create', 'namespace', NS]);
      await cp().kubectl(['create', 'namespace', 'team-a']);
      for (const set of [[], ['keyService.store.type=postgres', 'keyService.store.postgres.urlSecret.name=keyward-db', 'keyService.replicas=3', 'operator.namespaces={team-a}']]) {
        const rendered = await template(...set);
        const res = await cp().kubectl(['apply', '--dry-run=server', '--server-side', '--field-manager=helm-test', '-f', '-'], { input: rendered, allowFailure: true });
        expect(res.exitCode, `${set.join(',')}\n${res.stderr}`).toBe(0);
        expect(res.stdout.split('\n').filter(Boolean)).toHaveLength(parse(rendered).length);
      }
      // Dry runs create nothing.
      expect((await kubectlJson(['-n', NS, 'get', 'deployments'])).items).toEqual([]);
      const monitor = parse(await template('operator.metrics.serviceMonitor.enabled=true'));
      expect(find(monitor, 'ServiceMonitor', 'keyward-operator').spec.endpoints).toEqual([{ port: 'metrics', path: '/metrics', interval: '30s' }]);
      const pg = find(parse(await template('keyService.store.type=postgres', 'keyService.store.postgres.urlSecret.name=keyward-db', 'keyService.replicas=3')), 'Deployment', 'keyward-server');
      expect(pg.spec.replicas).toBe(3);
      expect(pg.spec.template.spec.containers[0].env).toContainEqual({ name: 'KEYWARD_DATABASE_URL', valueFrom: { secretKeyRef: { name: 'keyward-db', key: 'url' } } });
    });

    it('a wrong value fails helm install with a message naming it, and installs nothing', async () => {
      for (const [set, message] of [
        ['keyService.store.type=mysql', "at '/keyService/store/type': value must be one of 'lowdb', 'postgres'"],
        ['keyService.replicas=2', "at '/keyService/replicas': value must be 1"],
        ['operator.leaderElection.leaseDuration=soon', "at '/operator/leaderElection/leaseDuration'"],
        ['operator.replicass=2', "at '/operator': additional properties 'replicass' not allowed"],
      ] as const) {
        const res = await helm(['install', 'keyward', CHART, '--namespace', NS, '--set', set]);
        expect(res.code, set).toBe(1);
        expect(res.stderr, set).toContain("values don't meet the specifications of the schema");
        expect(res.stderr, set).toContain(message);
      }
      expect(JSON.parse(await helmOk(['list', '--all', '--namespace', NS, '-o', 'json']))).toEqual([]);
      expect((await kubectlJson(['-n', NS, 'get', 'deployments,secrets,serviceaccounts'])).items.map((o: Obj) => o.metadata.name)).not.toContain('keyward-server');
    });

    it('helm install: the CRD, RBAC, both Deployments and the bootstrap Secret exist; NOTES.txt says to read the secret from that Secret', async () => {
      const out = await helmOk(['install', 'keyward', CHART, '--namespace', NS, '--wait=false']);
      expect(out).toContain('STATUS: deployed');
      expect(out).toContain(`kubectl -n ${NS} get secret keyward-server-bootstrap -o jsonpath='{.data.secret}' | base64 -d`);
      expect(out).not.toMatch(/kubectl\s+(-n \S+ )?logs/);
      const crd = await kubectlJson(['get', 'crd', 'apikeys.keyward.dev']);
      expect(crd.metadata.annotations['helm.sh/resource-policy']).toBe('keep');
      expect(crd.metadata.labels).toMatchObject({ 'app.kubernetes.io/name': 'keyward', 'app.kubernetes.io/instance': 'keyward', 'app.kubernetes.io/managed-by': 'Helm' });
      const operator = await kubectlJson(['-n', NS, 'get', 'deployment', 'keyward-operator']);
      expect(operator.spec.replicas).toBe(2);
      expect(operator.spec.template.spec.containers[0].image).toBe(`ghcr.io/keyward/keyward:${VERSION}`);
      expect(operator.spec.template.spec.containers[0].args).toContain('--lease-name=keyward-operator');
      const server = await kubectlJson(['-n', NS, 'get', 'deployment', 'keyward-server']);
      expect(server.spec.template.spec.serviceAccountName).toBe('keyward-server');
      const bootstrap = await kubectlJson(['-n', NS, 'get', 'secret', 'keyward-server-bootstrap']);
      expect(bootstrap.data ?? {}).toEqual({});
      expect((await kubectlJson(['-n', NS, 'get', 'pvc', 'keyward-server-data'])).spec.resources.requests.storage).toBe('1Gi');
      // The operator's rights are the ClusterRole's, bound to its ServiceAccount: workloads it may read (rollouts) and patch (restarts), never delete.
      const can = await cp().kubectl(['auth', 'can-i', 'patch', 'secrets', '--as', `system:serviceaccount:${NS}:keyward-operator`, '-n', 'default']);
      expect(can.stdout.trim()).toBe('yes');
      const cannot = await cp().kubectl(['auth', 'can-i', 'delete', 'deployments', '--as', `system:serviceaccount:${NS}:keyward-operator`, '-n', 'default'], { allowFailure: true });
      expect(cannot.stdout.trim()).toBe('no');
    });

    it("the key service, with its ServiceAccount's rights and the Deployment's settings, writes the first admin secret into the bootstrap Secret (and may touch no other)", async () => {
      const core = cp().kubeConfig.makeApiClient(CoreV1Api);
      const token = (await core.createNamespacedServiceAccountToken({ namespace: NS, name: 'keyward-server', body: { spec: { audiences: [], expirationSeconds: 3600 } } })).status!.token;
      const saConfig: KubeConfig = cp().kubeConfigForToken(token!, 'keyward-server');
      const kubeconfig = path.join(home, 'keyward-server.kubeconfig');
      writeFileSync(kubeconfig, saConfig.exportConfig());
      const sa = saConfig.makeApiClient(CoreV1Api);
      await core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: 'other' }, stringData: { x: 'y' } } });
      await expect(sa.readNamespacedSecret({ namespace: NS, name: 'other' })).rejects.toMatchObject({ code: 403 });

      const deployment = await kubectlJson(['-n', NS, 'get', 'deployment', 'keyward-server']);
      const env = Object.fromEntries((deployment.spec.template.spec.containers[0].env as { name: string; value?: string }[]).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
      expect(env.KEYWARD_BOOTSTRAP_SECRET_K8S).toBe(`${NS}/keyward-server-bootstrap`);
      const port = await freePort();
      const child = spawn(process.execPath, [MAIN, 'serve'], {
        env: cleanEnv({ ...env, KEYWARD_HOST: '127.0.0.1', KEYWARD_PORT: String(port), KEYWARD_STORE: path.join(home, 'db.json'), KUBECONFIG: kubeconfig }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (c: Buffer) => (output += c));
      child.stderr.on('data', (c: Buffer) => (output += c));
      try {
        let secret: string | undefined;
        while (!secret) {
          if (child.exitCode !== null) throw new Error(`keyward serve exited:\n${output}`);
          const s = await core.readNamespacedSecret({ namespace: NS, name: 'keyward-server-bootstrap' });
          if (s.data?.secret) secret = Buffer.from(s.data.secret, 'base64').toString('utf8');
          else await new Promise((r) => setTimeout(r, 100));
        }
        const whoami = await fetch(`http://127.0.0.1:${port}/v1/whoami`, { headers: { authorization: `Bearer ${secret}` } });
        expect(whoami.status).toBe(200);
        expect(((await whoami.json()) as { role?: string; key?: { role?: string } }).key?.role ?? 'admin').toBe('admin');
        expect(output).not.toContain(secret);
        expect(output).toContain(`its secret is in the Secret ${NS}/keyward-server-bootstrap`);
      } finally {
        child.kill('SIGTERM');
      }
    });

    it('helm upgrade to a changed value: the Deployment follows, the bootstrap Secret keeps its data', async () => {
      const out = await helmOk(['upgrade', 'keyward', CHART, '--namespace', NS, '--reuse-values', '--set', 'operator.replicas=3', '--set', 'keyService.logLevel=debug']);
      expect(out).toMatch(/REVISION: 2/);
      expect((await kubectlJson(['-n', NS, 'get', 'deployment', 'keyward-operator'])).spec.replicas).toBe(3);
      const env = (await kubectlJson(['-n', NS, 'get', 'deployment', 'keyward-server'])).spec.template.spec.containers[0].env;
      expect(env).toContainEqual({ name: 'KEYWARD_LOG_LEVEL', value: 'debug' });
      expect((await kubectlJson(['-n', NS, 'get', 'secret', 'keyward-server-bootstrap'])).data.secret).toMatch(/^[A-Za-z0-9+/=]+$/);
      const history = JSON.parse(await helmOk(['history', 'keyward', '--namespace', NS, '-o', 'json'])) as { revision: number; status: string }[];
      expect(history.map((h) => [h.revision, h.status])).toEqual([
        [1, 'superseded'],
        [2, 'deployed'],
      ]);
    });

    it('helm uninstall removes the release; the CRD stays (resource-policy keep)', async () => {
      await helmOk(['uninstall', 'keyward', '--namespace', NS]);
      // (The claim is being deleted: its pvc-protection finalizer waits for a controller this control plane does not run.)
      for (const kind of ['deployments', 'serviceaccounts', 'roles', 'rolebindings', 'secrets', 'pvc']) {
        const items = (await kubectlJson(['-n', NS, 'get', kind])).items as (Obj & { metadata: { deletionTimestamp?: string } })[];
        const names = items.filter((o) => !o.metadata.deletionTimestamp).map((o) => o.metadata.name).filter((n) => n.startsWith('keyward-'));
        expect(names, kind).toEqual([]);
      }
      const gone = await cp().kubectl(['get', 'clusterrole', 'keyward-operator'], { allowFailure: true });
      expect(gone.exitCode).not.toBe(0);
      expect((await kubectlJson(['get', 'crd', 'apikeys.keyward.dev'])).metadata.name).toBe('apikeys.keyward.dev');
      expect(JSON.parse(await helmOk(['list', '--all', '--namespace', NS, '-o', 'json']))).toEqual([]);
    });
  }, { crdDirs: [] });
}

// Needs neither helm nor a control plane: runs everywhere.
describe('charts/keyward and deploy/', () => {
  it('the files generated from deploy/ and package.json are up to date (npm run gen:chart)', () => {
    expect(outOfDate()).toEqual([]);
  });
});

if (helmBinary.helm) suite();
else if (required) {
  describe('helm chart charts/keyward', () => {
    it('has helm (KEYWARD_REQUIRE_HELM=1)', () => {
      throw new Error(`helm not found (${helmBinary.looked}): run \`npm run testbin\``);
    });
  });
} else {
  console.warn(`[keyward] skipping the helm suite: helm not found (${helmBinary.looked}): run \`npm run testbin\` to enable it`);
  describe.skip('helm chart charts/keyward (skipped: run `npm run testbin` to enable)', () => {
    it('needs helm', () => {});
  });
}
