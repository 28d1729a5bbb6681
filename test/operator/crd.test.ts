/**
 * The CRD is generated from the zod schema and agrees with it: the committed
 * YAML is what the schema generates (no control plane needed), it follows
 * Kubernetes' conventions, and the API server (kubectl apply, server-side dry
 * run) and validateApiKeySpec give the same verdict on the same specs, with
 * readable messages.
 */
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAlias, isNode, parse, parseDocument, stringify, visit } from 'yaml';
import type { z } from 'zod';
import { ApiKeySpec, validateApiKeySpec } from '../../src/core/apikey.ts';
import { CHART_DIR, outOfDate } from '../../scripts/gen-chart.ts';
import { CRD_FILE, renderCrd, renderRolePolicy, ROLE_POLICY_FILE } from '../../scripts/gen-crd.ts';
import { describeControlPlane } from '../support/controlplane.ts';

describe('deploy/crds/apikeys.keyward.dev.yaml', () => {
  const text = readFileSync(CRD_FILE, 'utf8');
  const crd = parse(text);
  const version = crd.spec.versions[0];
  const schema = version.schema.openAPIV3Schema;

  it('is what src/core/apikey.ts generates (run `npm run gen:crd` after changing the schema)', () => {
    expect(text).toBe(renderCrd());
  });

  it('deploy/apikey-role-policy.yaml is what src/operator/role-admission.ts generates (npm run gen:crd)', () => {
    expect(readFileSync(ROLE_POLICY_FILE, 'utf8')).toBe(renderRolePolicy());
  });

  it('the Helm chart\'s copies (charts/keyward/files/: the CRD, the role admission policy) are up to date (npm run gen:crd writes them too)', () => {
    expect(readFileSync(join(CHART_DIR, 'files', 'crds', basename(CRD_FILE)), 'utf8')).toBe(renderCrd());
    expect(outOfDate().filter((file) => file.startsWith('charts/keyward/files/'))).toEqual([]);
  });

  it('has a CEL rule wherever the zod schema refines or transforms a field (a JSON schema cannot say what they check)', () => {
    // Transforms that refuse nothing need no rule.
    const refusesNothing = new Set(['spec.ipAllowlist' /* removes duplicates */]);
    const refined: string[] = [];
    const walk = (field: z.ZodType, path: string): void => {
      const def = field._zod.def as unknown as { type: string; checks?: { _zod: { def: { check: string } } }[]; innerType?: z.ZodType; in?: z.ZodType; out?: z.ZodType; shape?: Record<string, z.ZodType>; element?: z.ZodType };
      const custom = (def.checks ?? []).some((check) => check._zod.def.check === 'custom');
      if ((custom || def.type === 'transform') && !refusesNothing.has(path)) refined.push(path);
      if (def.innerType) walk(def.innerType, path);
      if (def.in) walk(def.in, path);
      if (def.out) walk(def.out, path);
      for (const [name, child] of Object.entries(def.shape ?? {})) walk(child, `${path}.${name}`);
      if (def.element) walk(def.element, `${path}.items`);
    };
    walk(ApiKeySpec, 'spec');
    expect(refined.length).toBeGreaterThan(0);
    const at = (path: string) => path.split('.').reduce((node, step) => (step === 'items' ? node?.items : node?.properties?.[step]), schema);
    expect([...new Set(refined)].filter((path) => !at(path)?.['x-kubernetes-validations'])).toEqual([]);
  });

  it('has no YAML anchors or aliases (controller-gen never writes them; older kustomize refuses them)', () => {
    const found: string[] = [];
    visit(parseDocument(text), (_key, node) => {
      if (isAlias(node)) found.push(`alias *${node.source}`);
      else if (isNode(node) && node.anchor) found.push(`anchor &${node.anchor}`);
    });
    expect(found).toEqual([]);
  });

  it('conditions follow the Kubernetes convention: one per type, every field required, status True/False/Unknown', () => {
    const conditions = schema.properties.status.properties.conditions;
    expect(conditions).toMatchObject({ type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] });
    expect(conditions.items.required.sort()).toEqual(['lastTransitionTime', 'message', 'observedGeneration', 'reason', 'status', 'type']);
    expect(conditions.items.properties).toMatchObject({
      status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
      reason: { type: 'string', minLength: 1, pattern: expect.any(String) },
      lastTransitionTime: { type: 'string', format: 'date-time' },
      observedGeneration: { type: 'integer', minimum: 0 },
    });
  });

  it('is a structural schema: no closed objects, no unions, date-times checked by format alone', () => {
    const offending: string[] = [];
    const walk = (node: Record<string, unknown>, path: string) => {
      for (const keyword of ['anyOf', 'oneOf', 'allOf', 'not', '$ref']) if (keyword in node) offending.push(`${path}: ${keyword}`);
      if (node.additionalProperties === false) offending.push(`${path}: additionalProperties: false`);
      if (node.format === 'date-time' && 'pattern' in node) offending.push(`${path}: pattern beside format`);
      for (const [name, child] of Object.entries((node.properties ?? {}) as Record<string, Record<string, unknown>>)) walk(child, `${path}.${name}`);
      if (node.items) walk(node.items as Record<string, unknown>, `${path}[]`);
    };
    walk(schema, '');
    expect(offending).toEqual([]);
  });

  it('shows key, role, readiness and rotation times by default, the rest with -o wide (priority 1); labelled app.kubernetes.io/name: keyward', () => {
    const columns = version.additionalPrinterColumns as { name: string; priority?: number }[];
    expect(columns.filter((c) => !c.priority).map((c) => c.name)).toEqual(['Key ID', 'Role', 'Ready', 'Last rotation', 'Next rotation', 'Age']);
    expect(columns.filter((c) => c.priority === 1).map((c) => c.name)).toEqual(['Environment', 'Secret', 'Rotating', 'Reason']);
    expect(crd.metadata.labels).toEqual({ 'app.kubernetes.io/name': 'keyward', 'app.kubernetes.io/component': 'crds' });
  });
});

const VALID: Record<string, unknown>[] = [
  { role: 'viewer' },
  { role: 'key-manager', environment: 'development', displayName: 'payments-api (prod) 🚀' },
  { role: 'viewer', ipAllowlist: ['10.0.0.0/8', '2001:db8::/32', '192.168.1.7'] },
  { role: 'viewer', rotation: { interval: '2160h', token: '2026-11-27-1', overlap: '30m', suspend: true } },
  { role: 'viewer', rotation: { interval: '90d', overlap: '0' } },
  { role: 'viewer', rotation: { overlap: '1h', revokeOld: 'WhenUnused', quietPeriod: '30m' } },
  { role: 'viewer', rotation: { revokeOld: 'WhenUnused' } },
  { role: 'viewer', rotation: { overlap: '2d', revokeOld: 'WhenUnused', quietPeriod: '1d23h59m' } },
  { role: 'viewer', rotation: { revokeOld: 'AfterOverlap' } },
  { role: 'viewer', secret: { name: 'payments-api-key', keys: { secret: 'API_KEY', keyId: 'API_KEY_ID', previous: 'API_KEY_PREVIOUS' }, template: { labels: { team: 'payments' } } } },
  { role: 'viewer', consumers: { restartTargets: [{ kind: 'Deployment', name: 'payments' }, { kind: 'StatefulSet', name: 'db' }] }, deletionPolicy: 'Retain' },
];

const INVALID: [label: string, spec: Record<string, unknown>, message: RegExp][] = [
  ['missing role', {}, /role: Required value/],
  ['unknown field', { role: 'viewer', rotaton: { interval: '1h' } }, /unknown field "spec.rotaton"/],
  ['bad duration', { role: 'viewer', rotation: { interval: '90 days' } }, /spec.rotation.interval: Invalid value: "90 days"/],
  ['bad overlap', { role: 'viewer', rotation: { overlap: '-1h' } }, /spec.rotation.overlap/],
  ['bad CIDR', { role: 'viewer', ipAllowlist: ['10.0.0.0/33'] }, /must be an IPv4 or IPv6 address or CIDR range/],
  ['not an address', { role: 'viewer', ipAllowlist: ['example.com'] }, /must be an IPv4 or IPv6 address or CIDR range/],
  ['unknown environment', { role: 'viewer', environment: 'prod' }, /spec.environment: Unsupported value: "prod"/],
  ['unknown deletion policy', { role: 'viewer', deletionPolicy: 'Delete' }, /spec.deletionPolicy: Unsupported value/],
  ['unknown restart kind', { role: 'viewer', consumers: { restartTargets: [{ kind: 'CronJob', name: 'x' }] } }, /Unsupported value: "CronJob"/],
  ['bad role', { role: 'Admin!' }, /spec.role: Invalid value/],
  ['empty display name', { role: 'viewer', displayName: '' }, /spec.displayName/],
  ['display name with a line break', { role: 'viewer', displayName: 'a\nb' }, /control characters/],
  ['display name with spaces around', { role: 'viewer', displayName: ' a ' }, /whitespace/],
  ['display name with a bidi override', { role: 'viewer', displayName: 'pay\u202Eipa' }, /bidi or invisible/],
  ['display name with a zero-width space', { role: 'viewer', displayName: 'pay\u200Bments' }, /bidi or invisible/],
  ['bad secret name', { role: 'viewer', secret: { name: 'Payments_Key' } }, /spec.secret.name/],
  ['unknown revokeOld', { role: 'viewer', rotation: { revokeOld: 'WhenIdle' } }, /spec.rotation.revokeOld: Unsupported value: "WhenIdle"/],
  ['quiet period longer than overlap', { role: 'viewer', rotation: { overlap: '1h', revokeOld: 'WhenUnused', quietPeriod: '90m' } }, /quietPeriod .* must be shorter than overlap/],
  ['quiet period equal to a day-long overlap', { role: 'viewer', rotation: { overlap: '1d', revokeOld: 'WhenUnused', quietPeriod: '24h' } }, /must be shorter than overlap/],
  ['default quiet period longer than overlap', { role: 'viewer', rotation: { overlap: '5m', revokeOld: 'WhenUnused' } }, /default 10m\) must be shorter than overlap/],
  ['zero quiet period', { role: 'viewer', rotation: { revokeOld: 'WhenUnused', quietPeriod: '0' } }, /quietPeriod must be more than 0/],
  ['zero quiet period in minutes', { role: 'viewer', rotation: { revokeOld: 'WhenUnused', quietPeriod: '0m' } }, /quietPeriod must be more than 0/],
  ['quiet period without WhenUnused', { role: 'viewer', rotation: { quietPeriod: '5m' } }, /quietPeriod applies only when the old key is revoked when unused/],
  ['interval longer than ten years', { role: 'viewer', rotation: { interval: '3651d' } }, /spec.rotation.interval: .*must be at most ten years/],
  ['overlap longer than ten years', { role: 'viewer', rotation: { overlap: '522w' } }, /spec.rotation.overlap: .*must be at most ten years/],
  ['bad data key', { role: 'viewer', secret: { keys: { secret: 'API KEY' } } }, /spec.secret.keys.secret/],
];

describeControlPlane('the ApiKey CRD on a real API server', (cp) => {
  const apply = (spec: unknown) =>
    cp().kubectl(['apply', '--dry-run=server', '-f', '-'], {
      input: stringify({ apiVersion: 'keyward.dev/v1alpha1', kind: 'ApiKey', metadata: { name: 'sample', namespace: 'default' }, spec }),
      allowFailure: true,
    });

  it('accepts what the zod schema accepts', async () => {
    for (const spec of VALID) {
      expect(validateApiKeySpec(spec), JSON.stringify(spec)).toMatchObject({ ok: true });
      const result = await apply(spec);
      expect(result.stderr, JSON.stringify(spec)).toBe('');
      expect(result.exitCode).toBe(0);
    }
  });

  it('rejects what the zod schema rejects, with readable messages', async () => {
    for (const [label, spec, message] of INVALID) {
      expect(validateApiKeySpec(spec).ok, label).toBe(false);
      const result = await apply(spec);
      expect(result.exitCode, label).not.toBe(0);
      expect(result.stderr, label).toMatch(message);
    }
  });

  it('shows the printer columns and the short name', async () => {
    await cp().kubectl(['apply', '-f', '-'], {
      input: stringify({ apiVersion: 'keyward.dev/v1alpha1', kind: 'ApiKey', metadata: { name: 'columns', namespace: 'default' }, spec: { role: 'viewer' } }),
    });
    const table = await cp().kubectl(['get', 'ak', '-n', 'default']);
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+KEY ID\s+ROLE\s+READY\s+LAST ROTATION\s+NEXT ROTATION\s+AGE$/);
    expect(table.stdout).toMatch(/columns\s+viewer/);
    const wide = await cp().kubectl(['get', 'ak', '-n', 'default', '-o', 'wide']);
    expect(wide.stdout.split('\n')[0]).toMatch(/^NAME\s+KEY ID\s+ROLE\s+READY\s+LAST ROTATION\s+NEXT ROTATION\s+AGE\s+ENVIRONMENT\s+SECRET\s+ROTATING\s+REASON$/);
    expect(wide.stdout).toMatch(/columns\s+viewer\s+.*production/);
  });
});
