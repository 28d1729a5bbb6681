// `keyward dev cluster`: a real Kubernetes control plane (etcd,
// kube-apiserver, kube-controller-manager) in the foreground for local work,
// the way `kind create cluster` is for kind users. Binaries come from
// `npm run testbin` (or KUBEBUILDER_ASSETS). Ctrl-C / SIGTERM stops it and
// removes all its state.

import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { examples, summaryOf } from './commands.ts';
import { startControlPlane, DEFAULT_CRD_DIR, type ControlPlane } from '../devcluster/controlplane.ts';
import { DEFAULT_OPERATOR_NAMESPACE, roleAdmissionPolicy } from '../operator/role-admission.ts';

interface ClusterOptions {
  crds: string[];
  kubeconfig?: string;
  controllerManager: boolean;
}

export async function runDevCluster(options: ClusterOptions): Promise<number> {
  const info = (line: string): void => {
    process.stderr.write(`[dev cluster] ${line}\n`);
  };
  let cp: ControlPlane | undefined;
  let signalled: NodeJS.Signals | undefined;
  let wake: (() => void) | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (signalled) {
      info(`${sig} again: still stopping…`);
      return;
    }
    signalled = sig;
    info(`${sig === 'SIGHUP' && process.ppid !== parent ? 'parent process gone' : sig}: stopping`);
    wake?.();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  // `npm run cluster` runs us under `sh -c`; when npm is sent SIGTERM the
  // shell dies without passing it on. Treat losing our parent as a stop signal.
  const parent = process.ppid;
  const orphanCheck = setInterval(() => {
    if (!signalled && process.ppid !== parent) onSignal('SIGHUP');
  }, 1000);
  try {
    cp = await startControlPlane({
      crdDirs: options.crds,
      controllerManager: options.controllerManager,
      log: info,
    });
    if (signalled) return 0;
    // With keyward's own CRD, also what deploy/ installs beside it: the policy refusing a role the organization does not have
    // (it allows everything until an operator, run with its namespace, has published the roles there).
    if (options.crds.includes(DEFAULT_CRD_DIR)) {
      const { policy, binding } = roleAdmissionPolicy();
      await cp.kubectl(['create', 'namespace', DEFAULT_OPERATOR_NAMESPACE]);
      await cp.kubectl(['apply', '-f', '-'], { input: [policy, binding].map((o) => JSON.stringify(o)).join('\n') });
      info(`installed the ApiKey role policy ${policy.metadata.name} (its roles: ConfigMap ${DEFAULT_OPERATOR_NAMESPACE}/${binding.spec.paramRef.name}, which keyward operator writes)`);
    }
    let kubeconfig = cp.kubeconfigPath;
    if (options.kubeconfig) {
      kubeconfig = path.resolve(options.kubeconfig);
      mkdirSync(path.dirname(kubeconfig), { recursive: true });
      copyFileSync(cp.kubeconfigPath, kubeconfig);
    }
    info(`kube-apiserver ${cp.server}; kubectl: ${cp.binaries.kubectl}`);
    info('Ctrl-C to stop. In another shell:');
    process.stdout.write(`export KUBECONFIG=${kubeconfig}\n`);

    const died = await Promise.race([
      cp.died,
      new Promise<undefined>((resolve) => {
        wake = () => resolve(undefined);
        if (signalled) resolve(undefined);
      }),
    ]);
    if (died) {
      info(died);
      return 1;
    }
    return 0;
  } catch (err) {
    info((err as Error).message);
    return 1;
  } finally {
    await cp?.stop();
    if (cp) info('stopped');
    clearInterval(orphanCheck);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
  }
}

/** `keyward dev cluster`. */
export function devCommand(): Command {
  const dev = new Command('dev').description(summaryOf('dev'));
  const cluster = dev
    .command('cluster')
    .description(
      'run a real Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager) in the foreground; ' +
        'installs the CRDs, prints `export KUBECONFIG=…`, stops on Ctrl-C',
    )
    .option(
      '--crds <dir>',
      'directory of CRD manifests to install (repeatable)',
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    )
    .option('--kubeconfig <path>', 'also write the kubeconfig here (it is removed from the temp dir on stop, not from here)')
    .option('--no-controller-manager', 'do not run kube-controller-manager (no garbage collection or rollouts)')
    .action(async (opts: { crds?: string[]; kubeconfig?: string; controllerManager: boolean }) => {
      const code = await runDevCluster({
        crds: opts.crds ?? [DEFAULT_CRD_DIR],
        controllerManager: opts.controllerManager,
        ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}),
      });
      process.exitCode = code;
    });
  examples(cluster, ['keyward dev cluster', 'keyward dev cluster --kubeconfig ./kubeconfig --no-controller-manager']);
  return dev;
}
