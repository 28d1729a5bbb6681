/**
 * The CRD and the zod schema agree: the API server (kubectl apply, server-side
 * dry run) and validateApiKeySpec give the same verdict on the same specs, and
 * the API server's messages are readable.
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { stringify } from 'yaml';
import { validateApiKeySpec } from '../../src/core/apikey.ts';
import { CRD_FILE, renderCrd } from '../../scripts/gen-crd.ts';
import { describeControlPlane } from '../support/controlplane.ts';

it('deploy/crds is generated from src/operator/crd.ts (run `npm run gen:crd`)', () => {
  expect(readFileSync(CRD_FILE, 'utf8')).toBe(renderCrd());
});

const VALID: Record<string, unknown>[] = [
  { role: 'viewer' },
  { role: 'key-manager', environment: 'development', displayName: 'payments-api (prod) 🚀' },
  { role: 'viewer', ipAllowlist: ['10.0.0.0/8', '2001:db8::/32', '192.168.1.7'] },
  { role: 'viewer', rotation: { interval: '2160h', token: '2026-11-27-1', overlap: '30m', suspend: true } },
  { role: 'viewer', rotation: { interval: '90d', overlap: '0' } },
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
  ['bad secret name', { role: 'viewer', secret: { name: 'Payments_Key' } }, /spec.secret.name/],
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
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+KEY ID\s+ROLE\s+READY\s+LAST ROTATION\s+NEXT ROTATION\s+AGE/);
    expect(table.stdout).toMatch(/columns\s+viewer/);
  });
});
