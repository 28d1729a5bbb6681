/**
 * `keyward rotation due` from the manifests alone (the keyward.dev/rotated-at
 * annotation): exit codes 0 / 3 / 4, the pull-request body, and --bump
 * editing exactly the due keys.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assessDue, observeAnnotation, observeServiceKeys } from '../../src/gitops/due.ts';
import { parseManifestFile } from '../../src/gitops/manifests.ts';
import { renderPullRequestBody } from '../../src/gitops/pr-body.ts';
import { planRotation } from '../../src/gitops/rotate.ts';
import { gitDiff, keyward } from './support.ts';

const DAY = 86_400_000;

function manifest(name: string, spec: string, rotatedAt?: string): string {
  return [
    'apiVersion: keyward.dev/v1alpha1',
    'kind: ApiKey',
    'metadata:',
    `  name: ${name}`,
    '  namespace: shop',
    ...(rotatedAt ? ['  annotations:', `    keyward.dev/rotated-at: "${rotatedAt}"`] : []),
    'spec:',
    spec,
  ].join('\n');
}

function keysDir(now = Date.now()): string {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-due-'));
  const iso = (ago: number) => new Date(now - ago).toISOString();
  writeFileSync(
    join(dir, 'keys.yaml'),
    [
      '# Shop keys',
      manifest('old-prod', '  role: viewer\n  environment: production\n  rotation:\n    token: "t-1"\n    restartTargets: []\n'.replace('    restartTargets: []\n', '') + '  consumers:\n    restartTargets: [{kind: Deployment, name: shop}]\n', iso(91 * DAY)),
      manifest('fresh-prod', '  role: viewer\n', iso(10 * DAY)),
      manifest('dev-100d', '  role: viewer\n  environment: development\n', iso(100 * DAY)),
      manifest('weekly', '  role: viewer\n  rotation:\n    interval: 1w\n    overlap: 1h\n', iso(8 * DAY)),
    ].join('---\n'),
  );
  return dir;
}

describe('rotation due (pure)', () => {
  it('policy from rotation.interval or the environment; age from the annotation; no annotation counts as due', () => {
    const now = new Date('2026-11-27T10:00:00Z');
    const text = keysDir(now.getTime()) + '/keys.yaml';
    const file = { path: 'keys.yaml', text: readFileSync(text, 'utf8') + '---\n' + manifest('never', '  role: viewer\n'), explicit: true, kind: 'manifests' as const };
    const { keys, problems } = parseManifestFile(file);
    expect(problems).toEqual([]);
    const report = assessDue(keys, new Map(keys.map((k) => [k, observeAnnotation(k)])), 'annotation', now);
    expect(report.due.map((v) => v.label)).toEqual(['shop/old-prod', 'shop/weekly', 'shop/never']);
    expect(report.current.map((v) => v.label)).toEqual(['shop/fresh-prod', 'shop/dev-100d']);
    expect(report.due[0]!.reason).toMatch(/91d old, past its policy \(production default 90d\) since 2026-11-26T10:00:00.000Z/);
    expect(report.due[1]!.reason).toMatch(/past its policy \(rotation\.interval 7d\)/);
    expect(report.due[2]!.reason).toMatch(/no keyward\.dev\/rotated-at annotation/);

    const plan = planRotation([file], { selection: { selectors: [] }, only: (k) => report.due.some((v) => v.key.index === k.index), now });
    const body = renderPullRequestBody({ now, changes: plan.changes, bumped: true, report, command: 'keyward rotation due --bump' });
    expect(body).toMatch(/^# Rotate 3 API keys\n/);
    expect(body).toContain('| `shop/old-prod` | `keys.yaml#1` | 91d | 90d |');
    expect(body).toContain('Restarted once so they read the new Secret: `Deployment/shop`.');
    expect(body).toContain('The previous key keeps working for **1h**');
    expect(body).toContain('## How to roll back');
    expect(body).toContain('**remains valid**');
    expect(body).toContain('<details><summary>Other keys checked</summary>');
  });

  it('the pull-request body says which way each previous key ends and how to watch the transition', () => {
    const now = new Date('2026-11-27T10:00:00Z');
    const text = [
      manifest('waits', '  role: viewer\n  rotation:\n    overlap: 2h\n    revokeOld: WhenUnused\n    quietPeriod: 15m\n  consumers:\n    restartTargets: [{kind: Deployment, name: shop}]\n'),
      manifest('timed', '  role: viewer\n  rotation:\n    overlap: 1h\n'),
    ].join('---\n');
    const file = { path: 'keys.yaml', text, explicit: true, kind: 'manifests' as const };
    const plan = planRotation([file], { selection: { selectors: [] }, now });
    expect(plan.changes.map((c) => c.revokeOld)).toEqual(['WhenUnused', 'AfterOverlap']);
    const body = renderPullRequestBody({ now, changes: plan.changes, bumped: true, command: 'keyward rotate keys.yaml' });
    expect(body).toContain('How the previous keys end: revoked when unused (after every consumer moved): `shop/waits`; ended when the overlap does: `shop/timed`.');
    expect(body).toContain('the previous key is revoked once every restart target has rolled out and the key service has seen no use of it for **15m**; at the latest it ends after **2h**');
    expect(body).toContain('`kubectl get apikey waits -n shop -o jsonpath=\'{.status.conditions[?(@.type=="Rotating")].message}\'` says what the old key waits for');
    expect(body).toContain('`keyward keys describe <old key id>` lists its stragglers');
    expect(body).toContain('The previous key keeps working for **1h** (the overlap)');
    // An immediate rotation (overlap 0) leaves no room for a quiet period: refused with what to change, nothing edited.
    expect(() => planRotation([file], { selection: { selectors: [] }, immediate: true, now })).toThrow(
      /ApiKey shop\/waits: quietPeriod must be shorter than the overlap \(0\).*set spec\.rotation\.revokeOld: AfterOverlap/,
    );
  });

  it('the key service: the newest active key whose metadata names the ApiKey', () => {
    const { keys } = parseManifestFile({ path: 'k.yaml', text: manifest('a', '  role: viewer\n'), explicit: true, kind: 'manifests' });
    const view = (id: string, createdAt: string, extra: object = {}) => ({ id, status: 'active', createdAt, rotationDueAt: 'x', rotatedToId: null, metadata: { 'k8s/namespace': 'shop', 'k8s/name': 'a' }, ...extra });
    expect(observeServiceKeys(keys[0]!, [view('k1', '2026-01-01T00:00:00Z', { rotatedToId: 'k2' }), view('k2', '2026-02-01T00:00:00Z'), view('k3', '2026-03-01T00:00:00Z', { metadata: {} })])).toMatchObject({
      found: true,
      keyId: 'k2',
      lastRotation: '2026-02-01T00:00:00Z',
    });
    expect(observeServiceKeys(keys[0]!, [])).toMatchObject({ found: false, due: false });
  });
});

describe('rotation due (CLI, annotations)', () => {
  it('exit 3 when keys are due (nothing written), 4 after --bump (exactly the due keys), then 0', async () => {
    const dir = keysDir();
    const original = readFileSync(join(dir, 'keys.yaml'), 'utf8');
    const report = await keyward(['rotation', 'due', dir]);
    expect(report.code, report.stderr).toBe(3);
    expect(report.stdout).toMatch(/^# Rotate 2 API keys/);
    expect(report.stdout).toContain('Nothing yet: no manifest was changed.');
    expect(readFileSync(join(dir, 'keys.yaml'), 'utf8')).toBe(original);

    const json = await keyward(['rotation', 'due', dir, '-o', 'json']);
    expect(json.code).toBe(3);
    const parsed = JSON.parse(json.stdout);
    expect(parsed.due.map((d: { name: string }) => d.name)).toEqual(['old-prod', 'weekly']);
    expect(parsed.current.map((d: { name: string }) => d.name)).toEqual(['fresh-prod', 'dev-100d']);
    expect(parsed.bumped).toBe(false);

    const bumped = await keyward(['rotation', 'due', dir, '--bump', '--output', 'markdown']);
    expect(bumped.code, bumped.stderr).toBe(4);
    expect(bumped.stdout).toContain('## What will happen when this is merged and applied');
    const before = join(dir, 'before.yml.txt');
    writeFileSync(before, original);
    const diff = await gitDiff(before, join(dir, 'keys.yaml'));
    expect(diff.removed.map((l) => l.replace(/"[^"]*"/, '"X"'))).toEqual(['    keyward.dev/rotated-at: "X"', '    token: "X"', '    keyward.dev/rotated-at: "X"']);
    expect(diff.added.map((l) => l.replace(/"[^"]*"/, '"X"'))).toEqual(['    keyward.dev/rotated-at: "X"', '    token: "X"', '    keyward.dev/rotated-at: "X"', '    token: "X"']);

    const again = await keyward(['rotation', 'due', dir]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^# No API keys are due for rotation/);
  });

  it('--help documents the exit codes; --cluster with --service is a usage error', async () => {
    const help = await keyward(['rotation', 'due', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/3 {2}keys are due \(not bumped\)/);
    expect(help.stdout).toMatch(/4 {2}keys were due and their manifests were bumped/);
    const both = await keyward(['rotation', 'due', keysDir(), '--cluster', '--service', 'http://127.0.0.1:1']);
    expect(both.code).toBe(2);
  });
});
