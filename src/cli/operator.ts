/** `keyward operator`: runs the Kubernetes operator (in a cluster or against a kubeconfig). */
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { parseDuration } from '../core/duration.ts';
import { CliUsageError } from './errors.ts';

interface OperatorFlags {
  url: string;
  apiKeyFile?: string;
  namespace: string[];
  workers: string;
  resync: string;
  leaderElect: boolean;
  leaseNamespace: string;
  leaseName: string;
  leaseDuration: string;
  metricsBindAddress: string;
  deletionTimeout: string;
}

const CRASH_POINTS = ['intent-recorded', 'key-issued', 'secret-written', 'status-recorded'] as const;

function parseBind(address: string): { host: string; port: number } {
  const match = /^(.*):(\d+)$/.exec(address);
  if (!match) throw new CliUsageError(`--metrics-bind-address "${address}" must look like 0.0.0.0:8081`);
  return { host: match[1]!.replace(/^\[|\]$/g, '') || '0.0.0.0', port: Number(match[2]) };
}

function durationFlag(name: string, value: string): number {
  try {
    return parseDuration(value);
  } catch (error) {
    throw new CliUsageError(`--${name}: ${(error as Error).message}`);
  }
}

export function operatorCommand(): Command {
  return new Command('operator')
    .description('run the Kubernetes operator: ApiKey resources become keys and Secrets, rotated without downtime')
    .addOption(new Option('--url <url>', 'key service URL').env('KEYWARD_URL').default('http://127.0.0.1:8080'))
    .option('--api-key-file <path>', 'read the key service API key from this file (e.g. a mounted Secret) instead of KEYWARD_API_KEY')
    .option('-n, --namespace <ns>', 'watch this namespace (repeat for several; default: all)', (value: string, all: string[]) => [...all, ...value.split(',').filter(Boolean)], [])
    .option('--workers <n>', 'concurrent reconciles', '4')
    .option('--resync <duration>', 'look at every ApiKey at least this often', '10m')
    .option('--leader-elect', 'run leader election so only one replica acts', false)
    .addOption(new Option('--lease-namespace <ns>', 'namespace of the leader-election Lease').env('POD_NAMESPACE').default('keyward-system'))
    .option('--lease-name <name>', 'name of the leader-election Lease', 'keyward-operator')
    .option('--lease-duration <duration>', 'how long a silent leader keeps the lease', '15s')
    .option('--metrics-bind-address <host:port>', '/metrics, /healthz and /readyz', '0.0.0.0:8081')
    .option('--deletion-timeout <duration>', 'how long deletion retries revoking before releasing the finalizer anyway', '10m')
    .action(async (flags: OperatorFlags) => {
      const apiKey = flags.apiKeyFile ? readFileSync(flags.apiKeyFile, 'utf8').trim() : process.env.KEYWARD_API_KEY;
      if (!apiKey) throw new CliUsageError('set KEYWARD_API_KEY or --api-key-file to a key with the key-manager role (plus api.key.rotate)');
      const workers = Number(flags.workers);
      if (!Number.isInteger(workers) || workers < 1) throw new CliUsageError('--workers must be a positive whole number');
      const bind = parseBind(flags.metricsBindAddress);
      const leaseDurationMs = durationFlag('lease-duration', flags.leaseDuration);
      const crashAt = process.env.KEYWARD_OPERATOR_CRASH_AT;
      if (crashAt && !(CRASH_POINTS as readonly string[]).includes(crashAt)) throw new CliUsageError(`KEYWARD_OPERATOR_CRASH_AT must be one of ${CRASH_POINTS.join(', ')}`);

      const { KubeConfig } = await import('@kubernetes/client-node');
      const { Operator } = await import('../operator/operator.ts');
      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromDefault();
      const operator = new Operator({
        kubeConfig,
        keyServiceUrl: flags.url,
        keyServiceApiKey: apiKey,
        namespaces: flags.namespace,
        workers,
        resyncMs: durationFlag('resync', flags.resync),
        leaderElection: flags.leaderElect
          ? { namespace: flags.leaseNamespace, name: flags.leaseName, leaseDurationMs, retryPeriodMs: Math.max(500, Math.floor(leaseDurationMs / 5)) }
          : null,
        metricsHost: bind.host,
        metricsPort: bind.port,
        deletionGiveUpMs: durationFlag('deletion-timeout', flags.deletionTimeout),
        // Fault injection for the crash tests: die like kill -9 at the named step.
        ...(crashAt ? { crashPoint: (point: string) => void (point === crashAt && process.kill(process.pid, 'SIGKILL')) } : {}),
      });
      await operator.start();
      const stop = (signal: string) => {
        process.stderr.write(`${signal}: stopping the operator\n`);
        operator.stop().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
}
