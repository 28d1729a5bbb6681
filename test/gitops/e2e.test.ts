/**
 * GitOps rotation end to end on the real control plane, with the real key
 * service and operator: `keyward rotate` -> `kubectl apply -f` the changed
 * file -> the operator rotates exactly that key once, and applying the same
 * file again does nothing; `keyward rotation due` against the cluster and the
 * key service lists exactly the keys past policy.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { API } from '../../src/core/api.ts';
import type { Operator } from '../../src/operator/operator.ts';
import { describeControlPlane } from '../support/controlplane.ts';
import { startTestService, type TestService } from '../support/keyservice.ts';
import { kubeHelpers, operatorKey, startOperator, until } from '../support/operator.ts';
import { gitDiff, keyward } from './support.ts';

const NS = 'shop';

const KEYS_YAML = `# Shop keys, applied by Argo CD / Flux from Git.
apiVersion: keyward.dev/v1alpha1
kind: ApiKey
metadata:
  name: alpha
  namespace: ${NS}
spec:
  role: viewer
  rotation:
    token: "a-1"   # bump to rotate
    overlap: 5s
---
apiVersion: keyward.dev/v1alpha1
kind: ApiKey
metadata:
  name: beta
  namespace: ${NS}
spec:
  role: viewer
  rotation: {token: "b-1", overlap: 5s}
`;

// Rotated only through pull requests: the operator's own schedule is suspended,
// so "stale" ages past its 2s policy and stays there until a PR bumps it.
const DUE_YAML = `apiVersion: keyward.dev/v1alpha1
kind: ApiKey
metadata:
  name: stale
  namespace: ${NS}
spec:
  role: viewer
  rotation:
    interval: 2s
    suspend: true
    overlap: 5s
---
apiVersion: keyward.dev/v1alpha1
kind: ApiKey
metadata:
  name: fresh
  namespace: ${NS}
spec:
  role: viewer
  rotation:
    interval: 90d
    suspend: true
`;

describeControlPlane('GitOps rotation on the real control plane', (cp) => {
  let service: TestService;
  let operator: Operator;
  let k: ReturnType<typeof kubeHelpers>;
  let dir: string;

  beforeAll(async () => {
    service = await startTestService();
    k = kubeHelpers(cp());
    dir = mkdtempSync(join(cp().dir, 'gitops-'));
    writeFileSync(join(dir, 'keys.yaml'), KEYS_YAML);
    writeFileSync(join(dir, 'keys.orig'), KEYS_YAML);
    writeFileSync(join(dir, 'due.yaml'), DUE_YAML);
    await cp().kubectl(['create', 'namespace', NS]);
    operator = await startOperator(cp(), service, await operatorKey(service));
    await cp().kubectl(['apply', '-f', join(dir, 'keys.yaml'), '-f', join(dir, 'due.yaml')]);
    for (const name of ['alpha', 'beta', 'stale', 'fresh']) {
      await cp().kubectl(['wait', '--for=condition=Ready', `apikey/${name}`, '-n', NS, '--timeout=60s']);
    }
  }, 180_000);
  afterAll(async () => {
    await operator?.stop();
    await service?.stop();
  });

  const status = async (name: string) => (await k.apiKey(NS, name))?.status ?? {};
  /** Reconciliations the operator has finished so far (controller_runtime_reconcile_total, every result). */
  const reconciled = async () => (await operator.metrics.reconcileTotal.get()).values.reduce((sum, v) => sum + v.value, 0);

  it('keyward rotate -> kubectl apply -f: the operator rotates exactly that key once; applying again does nothing', async () => {
    const alpha0 = await status('alpha');
    const beta0 = await status('beta');
    expect(alpha0).toMatchObject({ sequence: 1, observedRotationToken: 'a-1' });

    const bump = await keyward(['rotate', join(dir, 'keys.yaml'), '--selector', 'name=alpha', '-o', 'json']);
    expect(bump.code, bump.stderr).toBe(0);
    const token = JSON.parse(bump.stdout).changes[0].token as string;
    const diff = await gitDiff(join(dir, 'keys.orig'), join(dir, 'keys.yaml'));
    expect(diff.removed).toEqual(['    token: "a-1"   # bump to rotate']);
    expect(diff.added).toEqual(['  annotations:', expect.stringMatching(/^    keyward\.dev\/rotated-at: "/), `    token: "${token}"   # bump to rotate`]);

    const applied = await cp().kubectl(['apply', '-f', join(dir, 'keys.yaml')]);
    expect(applied.stdout).toMatch(/apikey\.keyward\.dev\/alpha configured/);
    expect(applied.stdout).toMatch(/apikey\.keyward\.dev\/beta unchanged/);
    const alpha1 = await until('alpha rotated', async () => {
      const st = await status('alpha');
      return st.observedRotationToken === token && !st.pending ? st : undefined;
    });
    expect(alpha1).toMatchObject({ sequence: 2, lastRotationReason: 'Token' });
    expect(alpha1.keyId).not.toBe(alpha0.keyId);
    expect(alpha1.previousKeys?.map((p) => p.keyId)).toEqual([alpha0.keyId]);

    // Applying the same file again changes nothing, and nothing rotates: the operator goes over
    // every ApiKey twice more (two resyncs of the four) without rotating.
    const again = await cp().kubectl(['apply', '-f', join(dir, 'keys.yaml')]);
    expect(again.stdout).toMatch(/apikey\.keyward\.dev\/alpha unchanged/);
    const before = await reconciled();
    await until('two more resyncs of every ApiKey', async () => (await reconciled()) >= before + 8);
    expect(await status('alpha')).toMatchObject({ sequence: 2, keyId: alpha1.keyId, observedRotationToken: token });
    expect(await status('beta')).toMatchObject({ sequence: beta0.sequence, keyId: beta0.keyId, observedRotationToken: 'b-1' });
  }, 90_000);

  it('rotation due --cluster lists exactly the keys past policy (status.lastRotationTime); --bump + apply rotates them', async () => {
    const stale0 = await status('stale');
    await until('stale past its 2s policy', async () => Date.now() - Date.parse(stale0.lastRotationTime!) > 2_500);
    const env = { KUBECONFIG: cp().kubeconfigPath };
    const report = await keyward(['rotation', 'due', join(dir, 'due.yaml'), '--cluster', '-o', 'json'], env);
    expect(report.code, report.stderr).toBe(3);
    const parsed = JSON.parse(report.stdout);
    expect(parsed.source).toBe('cluster');
    expect(parsed.due.map((d: { name: string }) => d.name)).toEqual(['stale']);
    expect(parsed.due[0]).toMatchObject({ keyId: stale0.keyId, lastRotation: stale0.lastRotationTime, intervalMs: 2_000 });
    expect(parsed.current.map((d: { name: string }) => d.name)).toEqual(['fresh']);

    const md = await keyward(['rotation', 'due', join(dir, 'due.yaml'), '--cluster', '--bump'], env);
    expect(md.code, md.stderr).toBe(4);
    expect(md.stdout).toMatch(/^# Rotate 1 API key\n/);
    expect(md.stdout).toContain('`shop/stale`');
    expect(md.stdout).toContain('The previous key keeps working for **5s**');
    const fresh0 = await status('fresh');
    await cp().kubectl(['apply', '-f', join(dir, 'due.yaml')]);
    const stale1 = await until('stale rotated', async () => {
      const st = await status('stale');
      return st.sequence === 2 && !st.pending ? st : undefined;
    });
    expect(stale1.lastRotationReason).toBe('Token');
    expect(await status('fresh')).toMatchObject({ sequence: fresh0.sequence, keyId: fresh0.keyId });
  }, 90_000);

  it('rotation due --service lists exactly the keys past policy (createdAt of the active key) and reports rotationDueAt', async () => {
    const stale = await status('stale');
    await until('stale past its 2s policy again', async () => Date.now() - Date.parse(stale.lastRotationTime!) > 2_500);
    const report = await keyward(['rotation', 'due', join(dir, 'due.yaml'), join(dir, 'keys.yaml'), '--service', service.url, '-o', 'json'], {
      KEYWARD_API_KEY: service.adminSecret,
    });
    expect(report.code, report.stderr).toBe(3);
    const parsed = JSON.parse(report.stdout);
    expect(parsed.source).toBe('service');
    expect(parsed.due.map((d: { name: string }) => d.name)).toEqual(['stale']);
    const key = await service.client().getKey(stale.keyId!);
    expect(parsed.due[0]).toMatchObject({ keyId: stale.keyId, lastRotation: key.createdAt, serviceRotationDueAt: key.rotationDueAt });
    expect(parsed.current.map((d: { name: string }) => d.name).sort()).toEqual(['alpha', 'beta', 'fresh']);

    const noKey = await keyward(['rotation', 'due', join(dir, 'due.yaml'), '--service', service.url]);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/KEYWARD_API_KEY/);
    // What the key must be allowed comes from the route table (listing keys needs api.key.view).
    expect(noKey.stderr).toContain(`a key whose role grants ${API.listKeys.permission}`);
  }, 60_000);
});
