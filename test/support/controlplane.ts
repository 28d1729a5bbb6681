// Test harness for suites that need a real Kubernetes control plane.
//
//   import { describeControlPlane } from '../support/controlplane.ts';
//
//   describeControlPlane('my operator', (getCp) => {
//     it('does things', async () => {
//       const cp = getCp();
//       const core = cp.kubeConfig.makeApiClient(CoreV1Api);
//       await cp.kubectl(['get', 'ns', '-o', 'json']);
//     });
//   });
//
// One control plane per suite (beforeAll/afterAll). When the binaries are
// missing the suite is skipped with one line saying how to get them, unless
// KEYWARD_REQUIRE_CONTROL_PLANE=1 (CI), where it fails instead.
//
// The start/stop logic itself lives in src/devcluster/controlplane.ts (shared
// with `keyward dev cluster`); this file only adapts it to vitest.

import { afterAll, beforeAll, describe, it } from 'vitest';
import { resolveBinaries } from '../../src/devcluster/binaries.ts';
import { startControlPlane, type ControlPlane, type ControlPlaneOptions } from '../../src/devcluster/controlplane.ts';

export {
  startControlPlane,
  installCRDs,
  type ApiConnection,
  DEFAULT_CONTROLLERS,
  DEFAULT_CRD_DIR,
  type ControlPlane,
  type ControlPlaneOptions,
  type KubectlOptions,
  type KubectlResult,
} from '../../src/devcluster/controlplane.ts';
export { controlPlaneBinaries, resolveBinaries, testbinCacheDir, type ControlPlaneBinaries } from '../../src/devcluster/binaries.ts';

/** True when KEYWARD_REQUIRE_CONTROL_PLANE=1: missing binaries fail instead of skip. */
export function controlPlaneRequired(): boolean {
  const v = process.env.KEYWARD_REQUIRE_CONTROL_PLANE;
  return v === '1' || v === 'true';
}

/** Why control-plane suites cannot run here, or undefined when they can. */
export function controlPlaneUnavailableReason(): string | undefined {
  const { missing } = resolveBinaries();
  if (missing.length === 0) return undefined;
  return `control-plane binaries not found (${missing.map((m) => m.name).join(', ')}): run \`npm run testbin\` (or set KUBEBUILDER_ASSETS) to enable these tests`;
}

let announced = false;

/**
 * A describe() block with one control plane started before its tests and
 * stopped after them. `getControlPlane()` returns it inside tests and hooks.
 */
export function describeControlPlane(
  name: string,
  body: (getControlPlane: () => ControlPlane) => void,
  opts: ControlPlaneOptions = {},
): void {
  const reason = controlPlaneUnavailableReason();
  if (reason) {
    if (controlPlaneRequired()) {
      describe(name, () => {
        it('has control-plane binaries (KEYWARD_REQUIRE_CONTROL_PLANE=1)', () => {
          throw new Error(reason);
        });
      });
      return;
    }
    if (!announced) {
      announced = true;
      console.warn(`[keyward] skipping control-plane tests: ${reason}`);
    }
    describe.skip(`${name} (skipped: run \`npm run testbin\` to enable)`, () => {
      body(() => {
        throw new Error(reason);
      });
    });
    return;
  }

  describe(name, () => {
    let cp: ControlPlane | undefined;
    beforeAll(async () => {
      cp = await startControlPlane(opts);
    }, 180_000);
    afterAll(async () => {
      await cp?.stop();
    }, 60_000);
    body(() => {
      if (!cp) throw new Error('control plane not started (beforeAll failed?)');
      return cp;
    });
  });
}
