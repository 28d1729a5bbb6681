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

import { connect, createServer, type Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
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

/**
 * A TCP proxy in front of the API server that a test breaks the way networks
 * break: `reset()` kills every open connection (RST, the client sees an
 * error); `freeze()` keeps them open but lets nothing more through (a dead
 * peer that never says so). Connections made afterwards work. TLS passes
 * through untouched, so `kubeConfig` (admin credentials) verifies the API
 * server's certificate as usual.
 */
export interface ApiServerProxy {
  readonly kubeConfig: KubeConfig;
  /** Connections open and still passing data. */
  readonly open: number;
  /** Resets every open connection; returns how many. */
  reset(): number;
  /** Stops every open connection from passing data, without closing it; returns how many. */
  freeze(): number;
  close(): Promise<void>;
}

export async function startApiServerProxy(cp: ControlPlane): Promise<ApiServerProxy> {
  const target = new URL(cp.server);
  const live = new Set<[client: Socket, upstream: Socket]>();
  const frozen = new Set<[client: Socket, upstream: Socket]>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    const pair: [Socket, Socket] = [client, upstream];
    live.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = () => {
      live.delete(pair);
      frozen.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const socket of pair) socket.once('error', drop).once('close', drop);
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const { port } = server.address() as { port: number };
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: cp.kubeConfig.clusters.map((cluster) => ({ ...cluster, server: `https://127.0.0.1:${port}` })),
    users: cp.kubeConfig.users,
    contexts: cp.kubeConfig.contexts,
    currentContext: cp.kubeConfig.getCurrentContext(),
  });
  return {
    kubeConfig,
    get open() {
      return live.size;
    },
    reset() {
      const pairs = [...live];
      for (const [client, upstream] of pairs) {
        client.resetAndDestroy();
        upstream.destroy();
      }
      return pairs.length;
    },
    freeze() {
      const pairs = [...live];
      for (const pair of pairs) {
        const [client, upstream] = pair;
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
        live.delete(pair);
        frozen.add(pair);
      }
      return pairs.length;
    },
    async close() {
      for (const [client, upstream] of [...live, ...frozen]) {
        client.destroy();
        upstream.destroy();
      }
      await new Promise((closed) => server.close(closed));
    },
  };
}
