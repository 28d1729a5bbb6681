/**
 * Example: keys declared as code.
 *
 *   CHECKPOINT_DISABLE=1 npx cdktf synth          # Terraform JSON in cdktf.out/ (offline)
 *   npx keyward synth-manifests examples/cdktf/main.ts -o out/   # plain ApiKey YAML, no Terraform
 *
 * Two keys for Kubernetes (the keyward operator turns them into keys and
 * Secrets; Terraform never sees a secret) and one in AWS Secrets Manager,
 * rotated by keyward's rotation Lambda; the production keys' old keys end
 * when unused (revokeOld), not at a fixed time. Rotation tokens live in
 * keyward-rotation.json next to this file: bump one in a pull request and
 * that key rotates once.
 */
import { AwsProvider } from '@cdktf/provider-aws/lib/provider/index.js';
import { KubernetesProvider } from '@cdktf/provider-kubernetes/lib/provider/index.js';
import { App, TerraformStack, TerraformVariable } from 'cdktf';
import type { Construct } from 'constructs';
import { ApiKey, ApiKeySecret, readRotationTokens, RotationPolicy } from '../../src/constructs/index.ts';

const tokens = readRotationTokens(new URL('./keyward-rotation.json', import.meta.url));

export class KeywardExampleStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);

    const kubeconfig = new TerraformVariable(this, 'kubeconfig', { type: 'string', default: '~/.kube/config', description: 'kubeconfig of the cluster running the keyward operator' });
    const region = new TerraformVariable(this, 'aws_region', { type: 'string', default: 'eu-west-1' });
    const keywardUrl = new TerraformVariable(this, 'keyward_url', { type: 'string', default: 'https://keyward.internal.example.com', description: 'the key service, as the rotation Lambda reaches it' });
    const adminKeySecretArn = new TerraformVariable(this, 'keyward_admin_key_secret_arn', {
      type: 'string',
      description: 'ARN of the Secrets Manager secret holding the keyward admin key (the ARN, never the key)',
    });

    new KubernetesProvider(this, 'kubernetes', { configPath: kubeconfig.stringValue });
    new AwsProvider(this, 'aws', { region: region.stringValue });

    new ApiKey(this, 'payments-production', {
      name: 'payments-api',
      namespace: 'payments',
      displayName: 'Payments API (production)',
      role: 'key-manager',
      environment: 'production',
      ipAllowlist: ['10.0.0.0/8'],
      // The old key ends when nothing uses it any more: once the payments rollout has finished and the key service has
      // seen no use of it for 15 minutes (and the new key in use); the 24h overlap stays the hard deadline.
      rotation: { policy: RotationPolicy.production(), token: tokens['payments/payments-api'], overlap: '24h', revokeOld: 'WhenUnused', quietPeriod: '15m' },
      consumers: { restartTargets: [{ kind: 'Deployment', name: 'payments' }] },
    });

    new ApiKey(this, 'payments-development', {
      name: 'payments-api',
      namespace: 'payments-dev',
      displayName: 'Payments API (development)',
      role: 'viewer',
      environment: 'development',
      rotation: { policy: RotationPolicy.development(), token: tokens['payments-dev/payments-api'] },
      deletionPolicy: 'Revoke',
    });

    new ApiKeySecret(this, 'billing-production', {
      name: 'prod/billing/keyward-api-key',
      displayName: 'Billing worker (production)',
      role: 'verifier',
      environment: 'production',
      // The Lambda rotates with the key service's whenUnused: the service revokes the old key once unused for 30 minutes.
      rotation: { policy: RotationPolicy.production(), token: tokens['prod/billing/keyward-api-key'], overlap: '24h', revokeOld: 'whenUnused', quietPeriod: '30m' },
      keyService: { url: keywardUrl.stringValue, adminKeySecretArn: adminKeySecretArn.stringValue },
    });
  }
}

export function buildApp(app: App = new App()): App {
  new KeywardExampleStack(app, 'keyward-example');
  return app;
}

if (import.meta.main) buildApp().synth();
