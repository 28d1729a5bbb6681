// The real control plane: etcd + kube-apiserver + kube-controller-manager
// built by `npm run testbin`, driven through @kubernetes/client-node and the
// real kubectl.

import path from 'node:path';
import { expect, it } from 'vitest';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  Watch,
  setHeaderOptions,
  type V1CustomResourceDefinition,
  type V1ReplicaSet,
} from '@kubernetes/client-node';
import { describeControlPlane } from '../support/controlplane.ts';

const NS = 'cp-test';
const GADGET_CRD_FILE = path.join(import.meta.dirname, 'fixtures', 'gadget-crd.yaml');
const GROUP = 'testing.keyward.dev';

const widgetCrd: V1CustomResourceDefinition = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `widgets.${GROUP}` },
  spec: {
    group: GROUP,
    scope: 'Namespaced',
    names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                properties: { color: { type: 'string' }, size: { type: 'integer', minimum: 1 } },
                required: ['color'],
              },
              status: { type: 'object', x_kubernetes_preserve_unknown_fields: true },
            },
          },
        },
      },
    ],
  },
};

function status(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/** Poll until fn returns a value that is not undefined/false. */
async function eventually<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 45_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describeControlPlane('real control plane', (getCp) => {
  it('serves the pinned Kubernetes version to the built kubectl', async () => {
    const cp = getCp();
    expect(cp.binaries.kubectl).not.toBe('/usr/bin/kubectl');
    const { stdout } = await cp.kubectl(['version', '-o', 'json']);
    const v = JSON.parse(stdout) as { clientVersion: { gitVersion: string; major: string }; serverVersion: { gitVersion: string } };
    expect(v.clientVersion.gitVersion).toMatch(/^v1\.(3[4-9]|[4-9]\d)\.\d+$/);
    expect(v.clientVersion.major).toBe('1');
    expect(v.serverVersion.gitVersion).toBe(v.clientVersion.gitVersion);
  });

  it('creates a namespace, a CRD and a custom resource via client-node; kubectl reads them back', async () => {
    const cp = getCp();
    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: NS } } });

    await cp.installCRDs([widgetCrd]);

    const custom = cp.kubeConfig.makeApiClient(CustomObjectsApi);
    await custom.createNamespacedCustomObject({
      group: GROUP,
      version: 'v1',
      namespace: NS,
      plural: 'widgets',
      body: { apiVersion: `${GROUP}/v1`, kind: 'Widget', metadata: { name: 'w1' }, spec: { color: 'blue', size: 3 } },
    });

    const { stdout } = await cp.kubectl(['get', `widgets.${GROUP}`, 'w1', '-n', NS, '-o', 'json']);
    const w = JSON.parse(stdout) as { kind: string; metadata: { namespace: string; uid: string }; spec: { color: string; size: number } };
    expect(w.kind).toBe('Widget');
    expect(w.metadata.namespace).toBe(NS);
    expect(w.metadata.uid).toMatch(/[0-9a-f-]{36}/);
    expect(w.spec).toEqual({ color: 'blue', size: 3 });

    // The schema is enforced by the real API server.
    const bad = await cp.kubectl(['apply', '-n', NS, '-f', '-'], {
      allowFailure: true,
      input: JSON.stringify({ apiVersion: `${GROUP}/v1`, kind: 'Widget', metadata: { name: 'bad' }, spec: { size: 0 } }),
    });
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr).toMatch(/color: Required value|spec.size/);

    const ns = JSON.parse((await cp.kubectl(['get', 'namespace', NS, '-o', 'json'])).stdout) as { status: { phase: string } };
    expect(ns.status.phase).toBe('Active');
  });

  it('installs CRDs from files at start, keeping wire-format schema keywords', async () => {
    const cp = getCp();
    const crd = JSON.parse((await cp.kubectl(['get', 'crd', `gadgets.${GROUP}`, '-o', 'json'])).stdout) as {
      spec: { versions: { schema: { openAPIV3Schema: { properties: { spec: { properties: Record<string, Record<string, unknown>> } } } } }[] };
    };
    const props = crd.spec.versions[0]!.schema.openAPIV3Schema.properties.spec.properties;
    expect(props.mode).toMatchObject({ enum: ['fast', 'slow'], default: 'slow' });
    expect(props.extra).toMatchObject({ 'x-kubernetes-preserve-unknown-fields': true });

    await cp.kubectl(['apply', '-n', NS, '-f', '-'], {
      input: JSON.stringify({ apiVersion: `${GROUP}/v1`, kind: 'Gadget', metadata: { name: 'g1' }, spec: { extra: { any: { thing: 1 } } } }),
    });
    const g = JSON.parse((await cp.kubectl(['get', `gadgets.${GROUP}`, 'g1', '-n', NS, '-o', 'json'])).stdout) as {
      spec: { mode: string; extra: unknown };
    };
    expect(g.spec).toEqual({ mode: 'slow', extra: { any: { thing: 1 } } });

    // A CRD passed as a typed client-node object keeps its x-kubernetes-* keywords too.
    const widget = JSON.parse((await cp.kubectl(['get', 'crd', `widgets.${GROUP}`, '-o', 'json'])).stdout) as typeof crd;
    expect(widget.spec.versions[0]!.schema.openAPIV3Schema.properties).toMatchObject({
      status: { 'x-kubernetes-preserve-unknown-fields': true },
    });
  });

  it('delivers a change made with kubectl to a client-node watch', async () => {
    const cp = getCp();
    const custom = cp.kubeConfig.makeApiClient(CustomObjectsApi);
    const current = (await custom.getNamespacedCustomObject({ group: GROUP, version: 'v1', namespace: NS, plural: 'widgets', name: 'w1' })) as {
      metadata: { resourceVersion: string };
    };

    const events: { type: string; color: string }[] = [];
    let abort: AbortController | undefined;
    const seen = new Promise<{ type: string; color: string }>((resolve, reject) => {
      new Watch(cp.kubeConfig)
        .watch(
          `/apis/${GROUP}/v1/namespaces/${NS}/widgets`,
          { resourceVersion: current.metadata.resourceVersion, fieldSelector: 'metadata.name=w1' },
          (type, obj: { spec: { color: string } }) => {
            events.push({ type, color: obj.spec.color });
            if (type === 'MODIFIED' && obj.spec.color === 'green') resolve({ type, color: obj.spec.color });
          },
          (err: unknown) => (err ? reject(err as Error) : undefined),
        )
        .then((a) => (abort = a), reject);
    });
    await eventually('watch to be established', async () => abort !== undefined, 10_000);

    await cp.kubectl(['patch', `widgets.${GROUP}`, 'w1', '-n', NS, '--type=merge', '-p', '{"spec":{"color":"green"}}']);
    try {
      await expect(seen).resolves.toEqual({ type: 'MODIFIED', color: 'green' });
    } finally {
      abort?.abort();
    }
  });

  it('RBAC denies an unprivileged ServiceAccount, and allows it once bound', async () => {
    const cp = getCp();
    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespacedServiceAccount({ namespace: NS, body: { metadata: { name: 'nobody' } } });
    const tr = await core.createNamespacedServiceAccountToken({
      name: 'nobody',
      namespace: NS,
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    const token = tr.status?.token;
    expect(token).toBeTruthy();

    const asNobody = cp.kubeConfigForToken(token!, 'nobody').makeApiClient(CoreV1Api);
    const denied = await asNobody.listNamespacedSecret({ namespace: NS }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(status(denied)).toBe(403);
    // Authenticated as the ServiceAccount (403, not 401), and refused by RBAC.
    expect(String((denied as { body?: unknown }).body)).toContain(`system:serviceaccount:${NS}:nobody`);

    // kubectl agrees, through impersonation.
    const canI = await cp.kubectl(['auth', 'can-i', 'list', 'secrets', '-n', NS, `--as=system:serviceaccount:${NS}:nobody`], {
      allowFailure: true,
    });
    expect(canI.stdout.trim()).toBe('no');
    expect(canI.exitCode).toBe(1);

    await cp.kubectl(['create', 'role', 'secret-reader', '-n', NS, '--verb=list', '--resource=secrets']);
    await cp.kubectl(['create', 'rolebinding', 'nobody-reads', '-n', NS, '--role=secret-reader', `--serviceaccount=${NS}:nobody`]);
    const allowed = await eventually('RBAC binding to take effect', async () =>
      asNobody.listNamespacedSecret({ namespace: NS }).then(
        (l) => l,
        () => undefined,
      ),
    );
    expect(allowed.items).toBeInstanceOf(Array);
    // Still nothing outside the binding.
    const stillDenied = await asNobody.listNamespace().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(status(stillDenied)).toBe(403);
  });

  it('garbage-collects a Secret whose owner is deleted', async () => {
    const cp = getCp();
    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    const owner = await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'owner' }, data: { a: '1' } } });
    await core.createNamespacedSecret({
      namespace: NS,
      body: {
        metadata: {
          name: 'owned',
          ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata!.uid! }],
        },
        stringData: { API_KEY: 'kw_test' },
      },
    });
    await core.deleteNamespacedConfigMap({ name: 'owner', namespace: NS });
    await eventually(
      'the owned Secret to be garbage-collected',
      async () =>
        core.readNamespacedSecret({ name: 'owned', namespace: NS }).then(
          () => false,
          (err: unknown) => status(err) === 404,
        ),
      60_000,
    );
  }, 90_000);

  it('rolls a Deployment out to a new ReplicaSet when its pod template changes', async () => {
    const cp = getCp();
    const apps = cp.kubeConfig.makeApiClient(AppsV1Api);
    const labels = { app: 'web' };
    await apps.createNamespacedDeployment({
      namespace: NS,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels, annotations: { 'keyward.dev/rotated-at': 'never' } },
            spec: { containers: [{ name: 'web', image: 'example.invalid/web:1' }] },
          },
        },
      },
    });
    const replicaSets = async (): Promise<V1ReplicaSet[]> =>
      (await apps.listNamespacedReplicaSet({ namespace: NS, labelSelector: 'app=web' })).items.filter((rs) =>
        rs.metadata?.ownerReferences?.some((o) => o.kind === 'Deployment' && o.name === 'web'),
      );
    const first = await eventually('the first ReplicaSet', async () => {
      const rs = await replicaSets();
      return rs.length === 1 ? rs[0] : undefined;
    });
    expect(first.spec?.template?.metadata?.annotations?.['keyward.dev/rotated-at']).toBe('never');

    await apps.patchNamespacedDeployment(
      {
        name: 'web',
        namespace: NS,
        body: { spec: { template: { metadata: { annotations: { 'keyward.dev/rotated-at': '2026-11-27T00:00:00Z' } } } } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const rolled = await eventually('a second ReplicaSet', async () => {
      const rs = await replicaSets();
      return rs.length === 2 ? rs : undefined;
    });
    const hashes = new Set(rolled.map((rs) => rs.metadata?.labels?.['pod-template-hash']));
    expect(hashes.size).toBe(2);
    const newest = rolled.find((rs) => rs.metadata?.uid !== first.metadata?.uid)!;
    expect(newest.spec?.template?.metadata?.annotations?.['keyward.dev/rotated-at']).toBe('2026-11-27T00:00:00Z');

    const { stdout } = await eventually('rollout history to show revision 2', async () => {
      const r = await cp.kubectl(['rollout', 'history', 'deployment/web', '-n', NS]);
      return /\n2\s/.test(r.stdout) ? r : undefined;
    });
    expect(stdout).toMatch(/\n1\s/);
  }, 90_000);
}, { crds: [GADGET_CRD_FILE] });
