/**
 * The stack `test/deploy/cdktf-deploy.test.ts` deploys with `cdktf deploy`
 * (cdktf-cli driving OpenTofu): two ApiKeys on the test control plane, one
 * revoked on deletion, one retained.
 *
 * Everything environment-specific comes from the environment, as a CI job
 * would pass it:
 *   KEYWARD_DEPLOY_KUBECONFIG  kubeconfig of the cluster (the provider's config_path)
 *   KEYWARD_DEPLOY_NAMESPACE   namespace of both ApiKeys
 *   KEYWARD_DEPLOY_TOKENS      the rotation tokens file (keyward-rotation.json format);
 *                              bumping one token there rotates that key once
 *   KEYWARD_DEPLOY_EDIT        optional JSON: an edit of the checkout key, as a user would make
 *                              it in the stack. {"role": …} and {"overlap": …} go through the
 *                              construct, which checks them; {"manifestRole": …} sets spec.role
 *                              through an escape hatch (addOverride), past the construct, so
 *                              the API server's validation of the CRD is what answers.
 */
import { KubernetesProvider } from '@cdktf/provider-kubernetes/lib/provider/index.js';
import { App, TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { ApiKey, readRotationTokens } from '../../../src/constructs/index.ts';

export const STACK = 'keyward-deploy-test';

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (see test/deploy/app/main.ts)`);
  return value;
}

export class DeployTestStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    const namespace = env('KEYWARD_DEPLOY_NAMESPACE');
    const tokens = readRotationTokens(env('KEYWARD_DEPLOY_TOKENS'));
    const edit = JSON.parse(process.env.KEYWARD_DEPLOY_EDIT || '{}') as { role?: string; overlap?: string; manifestRole?: string };
    new KubernetesProvider(this, 'kubernetes', { configPath: env('KEYWARD_DEPLOY_KUBECONFIG') });

    const checkout = new ApiKey(this, 'checkout', {
      name: 'checkout-api',
      namespace,
      displayName: 'Checkout API (deploy test)',
      role: edit.role ?? 'viewer',
      environment: 'development',
      secret: { keys: { previous: 'API_KEY_PREVIOUS' } },
      rotation: { token: tokens['checkout-api'], overlap: edit.overlap ?? '1h' },
      deletionPolicy: 'Revoke',
    });
    if (edit.manifestRole !== undefined) checkout.resource.addOverride('manifest.spec.role', edit.manifestRole);
    const ledger = new ApiKey(this, 'ledger', {
      name: 'ledger-api',
      namespace,
      displayName: 'Ledger API (deploy test)',
      role: 'viewer',
      environment: 'development',
      rotation: { token: tokens['ledger-api'], overlap: '1h' },
      deletionPolicy: 'Retain',
    });
    new TerraformOutput(this, 'checkout_secret_name', { value: checkout.spec.secret?.name ?? checkout.name });
    new TerraformOutput(this, 'ledger_secret_name', { value: ledger.spec.secret?.name ?? ledger.name });
  }
}

if (import.meta.main) {
  const app = new App();
  new DeployTestStack(app, STACK);
  app.synth();
}
