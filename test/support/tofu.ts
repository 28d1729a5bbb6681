// Vitest support for suites that run OpenTofu (`tofu validate`, `cdktf deploy`).
//
//   import { tofuUnavailableReason, tofuRequired } from '../support/tofu.ts';
//
// The toolchain itself (temp dir with bin/tofu, the provider mirror and the
// offline CLI config; running tofu and cdktf-cli) is src/devcluster/tofu.ts.
//
// Skipping: without the tofu binary a suite is skipped with one line (run
// `npm run testbin`), and fails instead under KEYWARD_REQUIRE_CONTROL_PLANE=1,
// as CI builds tofu with the control plane. Without the hashicorp/kubernetes
// provider (which the module proxy here does not serve at the pinned version,
// see docs/testing.md) suites that need it are skipped with one line, and fail
// instead under KEYWARD_REQUIRE_TOFU_PROVIDER=1.

import { describe, it } from 'vitest';
import { KUBERNETES_PROVIDER_ENV, resolveTofu } from '../../src/devcluster/binaries.ts';
import { controlPlaneRequired } from './controlplane.ts';

export { createTofuToolchain, describeCliConfig, offlineCliConfig, type TofuToolchain, type RunResult } from '../../src/devcluster/tofu.ts';

/** True when KEYWARD_REQUIRE_TOFU_PROVIDER=1: a missing Kubernetes provider fails instead of skipping. */
export function tofuProviderRequired(): boolean {
  const v = process.env.KEYWARD_REQUIRE_TOFU_PROVIDER;
  return v === '1' || v === 'true';
}

/** Why a tofu suite cannot run here (and whether that should fail the run), or undefined when it can. */
export function tofuUnavailable(needs: { provider: boolean }): { reason: string; fail: boolean } | undefined {
  const r = resolveTofu();
  if (!r.tofu) {
    return {
      reason: `OpenTofu not found (${r.missing.find((m) => m.name === 'tofu')?.looked}): run \`npm run testbin\` (or set TEST_ASSET_TOFU) to enable these tests`,
      fail: controlPlaneRequired(),
    };
  }
  if (needs.provider && !r.kubernetesProvider) {
    return {
      reason:
        `hashicorp/kubernetes ${r.pin.version} provider not found (${r.missing.find((m) => m.name === 'terraform-provider-kubernetes')?.looked}): ` +
        `it cannot be built from the module proxy here; set ${KUBERNETES_PROVIDER_ENV}=/path/to/terraform-provider-kubernetes_v${r.pin.version} to enable these tests (docs/testing.md)`,
      fail: tofuProviderRequired(),
    };
  }
  return undefined;
}

const announced = new Set<string>();

/**
 * describe() when tofu (and, if asked, the provider) is there; otherwise a
 * skipped block with one line saying why, or a failing test when required.
 */
export function describeTofu(name: string, needs: { provider: boolean }, body: () => void): void {
  const why = tofuUnavailable(needs);
  if (!why) {
    describe(name, body);
    return;
  }
  if (why.fail) {
    describe(name, () => {
      it('has the OpenTofu binaries', () => {
        throw new Error(why.reason);
      });
    });
    return;
  }
  if (!announced.has(why.reason)) {
    announced.add(why.reason);
    console.warn(`[keyward] skipping ${name}: ${why.reason}`);
  }
  describe.skip(`${name} (skipped: ${why.reason.split(':')[0]})`, body);
}
