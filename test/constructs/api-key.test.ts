import { TerraformStack, Testing } from 'cdktf';
import { KubernetesProvider } from '@cdktf/provider-kubernetes/lib/provider/index.js';
import { describe, expect, it } from 'vitest';
import { validateApiKeySpec } from '../../src/core/apikey.ts';
import { ApiKey, KeywardConstructError, RotationPolicy } from '../../src/constructs/index.ts';
import { stackFor, synth, thrown } from './support.ts';

describe('ApiKey (Kubernetes)', () => {
  it('synthesizes one kubernetes_manifest of the ApiKey resource, defaults filled in', () => {
    const { stack } = stackFor();
    new KubernetesProvider(stack, 'k8s', { configPath: '~/.kube/config' });
    const key = new ApiKey(stack, 'payments', {
      name: 'payments-api',
      namespace: 'payments',
      labels: { team: 'payments' },
      displayName: 'Payments API (prod)',
      role: 'key-manager',
      environment: 'production',
      ipAllowlist: ['10.1.2.3/8', '2001:db8::/32'],
      secret: { name: 'payments-api-key', keys: { previous: 'API_KEY_PREVIOUS' } },
      rotation: { policy: RotationPolicy.production(), token: '2026-11-27-1', overlap: '48h' },
      consumers: { restartTargets: [{ kind: 'Deployment', name: 'payments' }] },
      deletionPolicy: 'Retain',
    });
    const out = synth(stack);
    const resource = out.one('kubernetes_manifest');
    expect(resource.manifest).toEqual({
      apiVersion: 'keyward.dev/v1alpha1',
      kind: 'ApiKey',
      metadata: { name: 'payments-api', namespace: 'payments', labels: { team: 'payments' } },
      spec: {
        displayName: 'Payments API (prod)',
        role: 'key-manager',
        environment: 'production',
        // Canonical ranges, as the CRD schema stores them.
        ipAllowlist: ['10.0.0.0/8', '2001:db8::/32'],
        secret: { name: 'payments-api-key', keys: { secret: 'API_KEY', keyId: 'API_KEY_ID', previous: 'API_KEY_PREVIOUS' } },
        rotation: { interval: '90d', token: '2026-11-27-1', overlap: '48h', revokeOld: 'AfterOverlap', suspend: false },
        consumers: { restartTargets: [{ kind: 'Deployment', name: 'payments' }] },
        deletionPolicy: 'Retain',
      },
    });
    // camelCase spec keys survive synthesis (the manifest is a free-form map, not snake_cased).
    expect(out.text).toContain('"restartTargets"');
    expect(key.toManifest()).toEqual(resource.manifest);
    // The manifest is what the shared schema accepts, unchanged by it.
    const again = validateApiKeySpec(key.toManifest().spec);
    expect(again.ok && again.spec).toEqual(key.toManifest().spec);
    expect(Testing.toHaveResourceWithProperties(out.text, 'kubernetes_manifest', { manifest: resource.manifest })).toBe(true);
  });

  it('defaults: namespace "default", environment production, interval left to the operator, no secret anywhere', () => {
    const { stack } = stackFor();
    new ApiKey(stack, 'k', { name: 'minimal', role: 'viewer' });
    const out = synth(stack);
    expect(out.one('kubernetes_manifest').manifest).toEqual({
      apiVersion: 'keyward.dev/v1alpha1',
      kind: 'ApiKey',
      metadata: { name: 'minimal', namespace: 'default' },
      spec: { role: 'viewer', environment: 'production', deletionPolicy: 'Revoke' },
    });
    expect(out.text).not.toMatch(/kw_[A-Za-z0-9]{10,}/);
    expect(Object.keys(out.json.resource)).toEqual(['kubernetes_manifest']);
  });

  it('rotation presets: production 90d, development 180d, every(), manual() = suspend', () => {
    const { stack } = stackFor();
    const rotation = (id: string, props: ConstructorParameters<typeof ApiKey>[2]['rotation']) =>
      new ApiKey(stack, id, { name: id, role: 'viewer', rotation: props }).toManifest().spec.rotation;
    expect(rotation('prod', { policy: RotationPolicy.production() })).toEqual({ interval: '90d', overlap: '24h', revokeOld: 'AfterOverlap', suspend: false });
    expect(rotation('dev', { policy: RotationPolicy.development() })).toEqual({ interval: '180d', overlap: '24h', revokeOld: 'AfterOverlap', suspend: false });
    expect(rotation('every', { policy: RotationPolicy.every('30d') })).toEqual({ interval: '30d', overlap: '24h', revokeOld: 'AfterOverlap', suspend: false });
    expect(rotation('every-ms', { policy: RotationPolicy.every(36 * 3_600_000) })).toEqual({ interval: '1d12h', overlap: '24h', revokeOld: 'AfterOverlap', suspend: false });
    expect(rotation('manual', { policy: RotationPolicy.manual(), token: 't-1' })).toEqual({ token: 't-1', overlap: '24h', revokeOld: 'AfterOverlap', suspend: true });
    expect(rotation('interval', { interval: '2160h' })).toEqual({ interval: '2160h', overlap: '24h', revokeOld: 'AfterOverlap', suspend: false });
  });

  it('depends_on and waitForReady pass through to the resource', () => {
    const { stack } = stackFor();
    const first = new ApiKey(stack, 'first', { name: 'first', role: 'viewer' });
    new ApiKey(stack, 'second', { name: 'second', role: 'viewer', dependsOn: [first.resource], waitForReady: true });
    const out = synth(stack);
    const [, second] = out.resources('kubernetes_manifest').find(([id]) => id.startsWith('second'))!;
    expect(second.depends_on).toEqual([`kubernetes_manifest.${first.resource.friendlyUniqueId}`]);
    expect(second.wait).toEqual({ condition: [{ type: 'Ready', status: 'True' }] });
  });

  describe('invalid props fail with the construct path and each problem', () => {
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['bad duration', { rotation: { interval: '3 months' } }, /rotation\.interval: must be a duration/],
      ['bad policy duration', { rotation: { policy: RotationPolicy.every('ninety days') } }, /rotation\.interval: must be a duration/],
      ['bad overlap', { rotation: { overlap: '1y' } }, /rotation\.overlap: must be a duration/],
      ['bad role format', { role: 'Key Manager' }, /role: must be lowercase letters, digits and dashes/],
      ['bad CIDR', { ipAllowlist: ['10.0.0.0/33'] }, /ipAllowlist\.0: must be an IPv4 or IPv6 address or CIDR range/],
      ['empty name', { name: '' }, /name: must not be empty/],
      ['bad name', { name: 'Payments_API' }, /name: "Payments_API" must be a valid Kubernetes object name/],
      ['empty displayName', { displayName: '' }, /displayName: must not be empty/],
      ['bad namespace', { namespace: 'Team.A' }, /namespace: "Team\.A" must be a valid Kubernetes namespace/],
      ['bad environment', { environment: 'prod' }, /environment:/],
      ['bad restart kind', { consumers: { restartTargets: [{ kind: 'Pod', name: 'x' }] } }, /consumers\.restartTargets\.0\.kind/],
      ['bad deletionPolicy', { deletionPolicy: 'Delete' }, /deletionPolicy/],
      ['unknown field', { secret: { nme: 'x' } }, /secret: Unrecognized key/i],
      ['policy and interval', { rotation: { policy: RotationPolicy.production(), interval: '30d' } }, /rotation: give either policy or interval/],
      ['manual with suspend false', { rotation: { policy: RotationPolicy.manual(), suspend: false } }, /manual\(\) suspends/],
    ];
    for (const [title, override, message] of cases) {
      it(title, () => {
        const app = Testing.app();
        const stack = new TerraformStack(app, 'prod-stack');
        const error = thrown(() => new ApiKey(stack, 'payments-key', { name: 'payments-api', role: 'viewer', ...override } as never));
        expect(error).toBeInstanceOf(KeywardConstructError);
        expect(error.message).toContain('ApiKey at "prod-stack/payments-key"');
        expect(error.message).toMatch(message);
        expect((error as KeywardConstructError).path).toBe('prod-stack/payments-key');
      });
    }

    it('props are typed from the ApiKey schema: what it refuses by type is a compile error too (npm run lint)', () => {
      const { stack } = stackFor('typed');
      const refused = [
        // @ts-expect-error environment is one of the schema's environments
        () => new ApiKey(stack, 'a', { name: 'a', role: 'viewer', environment: 'prod' }),
        // @ts-expect-error restart kinds are the schema's
        () => new ApiKey(stack, 'b', { name: 'b', role: 'viewer', consumers: { restartTargets: [{ kind: 'Pod', name: 'x' }] } }),
        // @ts-expect-error no field the schema lacks
        () => new ApiKey(stack, 'c', { name: 'c', role: 'viewer', rotation: { overlapp: '1h' } }),
        // @ts-expect-error deletionPolicy is Revoke or Retain
        () => new ApiKey(stack, 'd', { name: 'd', role: 'viewer', deletionPolicy: 'Delete' }),
      ];
      for (const make of refused) expect(thrown(make)).toBeInstanceOf(KeywardConstructError);
    });

    it('lists every problem at once', () => {
      const { stack } = stackFor('s');
      const error = thrown(() => new ApiKey(stack, 'k', { name: '', role: 'BAD', ipAllowlist: ['nope'], rotation: { interval: 'soon' } }));
      expect((error as KeywardConstructError).problems).toHaveLength(4);
    });
  });
});
