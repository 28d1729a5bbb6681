// Vitest support for suites that run OpenTofu (`tofu validate`, `cdktf deploy`)
// and, where installed, HashiCorp Terraform.
//
//   import { describeTofu, describeTerraform, networkNamespace } from '../support/tofu.ts';
//
// The toolchain itself (temp dir with bin/tofu or bin/terraform, the provider
// mirror and the offline CLI config; running the CLI and cdktf-cli) is
// test/support/tofu-toolchain.ts.
//
// Skipping, each with one line saying why, and failing instead under CI's
// switches:
// - without the tofu binary (`npm run testbin`): fails under
//   KEYWARD_REQUIRE_CONTROL_PLANE=1, as CI builds tofu with the control plane;
// - without the hashicorp/kubernetes provider (`npm run testbin` builds it
//   from its source tarball, docs/testing.md): fails under
//   KEYWARD_REQUIRE_TOFU_PROVIDER=1;
// - without `terraform` (not built here; used where installed): fails under
//   KEYWARD_REQUIRE_TERRAFORM=1;
// - without a network namespace (`unshare -rn`, for the offline checks):
//   fails under KEYWARD_REQUIRE_CONTROL_PLANE=1.

import { spawnSync } from 'node:child_process';
import { describe, it } from 'vitest';
import { KUBERNETES_PROVIDER_ENV, TERRAFORM_ENV, resolveTerraform, resolveTofu } from '../../src/devcluster/binaries.ts';
import { controlPlaneRequired } from './controlplane.ts';

export { createTofuToolchain, describeCliConfig, offlineCliConfig, type TerraformCli, type TofuToolchain, type RunResult } from './tofu-toolchain.ts';

function flag(name: string): boolean {
  const v = process.env[name];
  return v === '1' || v === 'true';
}

/** True when KEYWARD_REQUIRE_TOFU_PROVIDER=1: a missing Kubernetes provider fails instead of skipping. */
export function tofuProviderRequired(): boolean {
  return flag('KEYWARD_REQUIRE_TOFU_PROVIDER');
}

/** True when KEYWARD_REQUIRE_TERRAFORM=1: a missing `terraform` fails instead of skipping. */
export function terraformRequired(): boolean {
  return flag('KEYWARD_REQUIRE_TERRAFORM');
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
        `run \`npm run testbin\` (builds it from its source tarball) or set ${KUBERNETES_PROVIDER_ENV}=/path/to/terraform-provider-kubernetes_v${r.pin.version} to enable these tests (docs/testing.md)`,
      fail: tofuProviderRequired(),
    };
  }
  return undefined;
}

/** Why the Terraform runs cannot happen here, or undefined when `terraform` is installed. */
export function terraformUnavailable(): { reason: string; fail: boolean } | undefined {
  const r = resolveTerraform();
  if (r.terraform) return undefined;
  return { reason: `HashiCorp Terraform not installed (${r.looked}): put \`terraform\` on PATH (or set ${TERRAFORM_ENV}) to run these tests with it too`, fail: terraformRequired() };
}

const announced = new Set<string>();

/** describe() when `why` is undefined; else a failing test (when required) or a skipped block with one line saying why. */
function describeUnless(why: { reason: string; fail: boolean } | undefined, name: string, body: () => void): void {
  if (!why) {
    describe(name, body);
    return;
  }
  if (why.fail) {
    describe(name, () => {
      it(`has what it needs (${why.reason.split(' (')[0]})`, () => {
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

/**
 * describe() when tofu (and, if asked, the provider) is there; otherwise a
 * skipped block with one line saying why, or a failing test when required.
 */
export function describeTofu(name: string, needs: { provider: boolean }, body: () => void): void {
  describeUnless(tofuUnavailable(needs), name, body);
}

/** describe() when HashiCorp Terraform is installed; otherwise skipped with one line, or failing under KEYWARD_REQUIRE_TERRAFORM=1. */
export function describeTerraform(name: string, body: () => void): void {
  describeUnless(terraformUnavailable(), name, body);
}

let netns: { works: boolean; reason: string } | undefined;

/**
 * Whether a process can be put in a network namespace with no interface up
 * (`unshare -rn`), which the offline checks use to prove no network is
 * needed. When it cannot, tests call offlineOrSay(): in CI
 * (KEYWARD_REQUIRE_CONTROL_PLANE=1) that throws; elsewhere the check runs
 * without the namespace (relying on OpenTofu's trace log alone) and one line
 * says so.
 */
export function networkNamespace(): { works: boolean; reason: string } {
  if (netns) return netns;
  const res = spawnSync('unshare', ['-rn', 'true'], { encoding: 'utf8' });
  const works = res.status === 0;
  const reason = works ? '' : `\`unshare -rn true\` failed (${res.error?.message ?? (res.stderr.trim() || `exit ${res.status}`)})`;
  netns = { works, reason };
  return netns;
}

let weakenedSaid = false;

/** `offline: true` when a network namespace works; else fails in CI, or says in one line that the check is weaker here. */
export function offlineOrSay(): { offline: boolean } {
  const ns = networkNamespace();
  if (ns.works) return { offline: true };
  if (controlPlaneRequired()) throw new Error(`${ns.reason}: the offline checks need a network namespace (KEYWARD_REQUIRE_CONTROL_PLANE=1)`);
  if (!weakenedSaid) {
    weakenedSaid = true;
    console.warn(`[keyward] ${ns.reason}: offline checks run without a network namespace here (only the trace logs show no network use)`);
  }
  return { offline: false };
}
