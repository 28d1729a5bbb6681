/**
 * The operator process's settings, declared once (see src/core/settings.ts):
 * `keyward operator`'s flags, help and environment variables come from this
 * schema, and `operatorConfig` turns the resolved values into what
 * `new Operator()` takes.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { z } from 'zod';
import { parseDuration } from '../core/duration.ts';
import { Duration } from '../core/schemas.ts';
import { KeyServiceApiKey, KeyServiceUrl, LogLevel } from '../core/settings.ts';
import { CRASH_POINTS } from './context.ts';
import type { OperatorConfig } from './operator.ts';

/** Requests per second (a token bucket's refill rate), and how many may go at once (its size). */
const Rate = z.coerce.number().positive('must be more than 0').max(100_000);
const Burst = z.coerce.number().int('must be a whole number').min(1).max(100_000);

/** DNS-1123 label: a namespace name. */
const Namespace = z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a namespace name (lowercase letters, digits and "-")').max(63);

export const OperatorSettings = z.object({
  url: KeyServiceUrl,
  apiKey: KeyServiceApiKey.meta({ description: 'API key of the key service: a key with the key-manager role' }),
  apiKeyFile: z.string().min(1).optional().meta({ flag: '--api-key-file <path>', description: 'read the key service API key from this file (e.g. a mounted Secret) instead of KEYWARD_API_KEY' }),
  namespace: z.array(Namespace).default([]).meta({ flag: '-n, --namespace <ns>', description: 'watch this namespace (repeat or comma-separate for several; default: all)' }),
  workers: z.coerce.number().int('must be a whole number').min(1).max(64).default(4).meta({ flag: '--workers <n>', description: 'concurrent reconciles' }),
  kubeApiQps: Rate.default(50).meta({ flag: '--kube-api-qps <n>', description: 'requests per second to the Kubernetes API server, sustained (watches not counted)' }),
  kubeApiBurst: Burst.default(100).meta({ flag: '--kube-api-burst <n>', description: 'requests to the Kubernetes API server that may go at once, above the sustained rate' }),
  keyServiceQps: Rate.default(50).meta({ flag: '--key-service-qps <n>', description: 'requests per second to the key service, sustained (one batch-get asks about up to 500 keys)' }),
  keyServiceBurst: Burst.default(100).meta({ flag: '--key-service-burst <n>', description: 'requests to the key service that may go at once, above the sustained rate' }),
  resync: Duration.default('10m').meta({ flag: '--resync <duration>', description: 'look at every ApiKey at least this often' }),
  leaderElect: z.boolean().default(false).meta({ flag: '--leader-elect', description: 'run leader election so only one replica acts' }),
  leaseNamespace: Namespace.default('keyward-system').meta({ flag: '--lease-namespace <ns>', env: 'POD_NAMESPACE', description: 'the operator\'s own namespace: its leader-election Lease and the ConfigMap keyward-roles (the organization\'s roles)' }),
  leaseName: z.string().min(1).max(253).default('keyward-operator').meta({ flag: '--lease-name <name>', description: 'name of the leader-election Lease' }),
  leaseDuration: Duration.default('15s').meta({ flag: '--lease-duration <duration>', description: 'how long a silent leader keeps the lease' }),
  metricsBindAddress: z
    .string()
    .regex(/^(\[[0-9a-fA-F:.]+\]|[^:[\]]*):\d{1,5}$/, 'must look like 0.0.0.0:8081 or [::1]:8081')
    .default('0.0.0.0:8081')
    .meta({ flag: '--metrics-bind-address <host:port>', description: '/metrics, /healthz and /readyz' }),
  deletionTimeout: Duration.default('10m').meta({ flag: '--deletion-timeout <duration>', description: 'how long deletion retries revoking before releasing the finalizer anyway' }),
  logLevel: LogLevel,
  crashAt: z.enum(CRASH_POINTS).optional().meta({ env: 'KEYWARD_OPERATOR_CRASH_AT', hidden: true, description: 'test hook: die like kill -9 at this step of a key issue' }),
});
export type OperatorSettings = z.output<typeof OperatorSettings>;

function parseBind(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at).replace(/^\[|\]$/g, '') || '0.0.0.0', port: Number(address.slice(at + 1)) };
}

/** What `new Operator()` takes, from the resolved settings and the API key they point at. */
export function operatorConfig(settings: OperatorSettings, kubeConfig: KubeConfig, apiKey: string): OperatorConfig {
  const leaseDurationMs = parseDuration(settings.leaseDuration);
  const bind = parseBind(settings.metricsBindAddress);
  return {
    kubeConfig,
    keyServiceUrl: settings.url,
    keyServiceApiKey: apiKey,
    namespaces: settings.namespace,
    workers: settings.workers,
    kubeApiRate: { qps: settings.kubeApiQps, burst: settings.kubeApiBurst },
    keyServiceRate: { qps: settings.keyServiceQps, burst: settings.keyServiceBurst },
    resyncMs: parseDuration(settings.resync),
    leaderElection: settings.leaderElect
      ? { namespace: settings.leaseNamespace, name: settings.leaseName, leaseDurationMs, retryPeriodMs: Math.max(500, Math.floor(leaseDurationMs / 5)) }
      : null,
    metricsHost: bind.host,
    metricsPort: bind.port,
    deletionGiveUpMs: parseDuration(settings.deletionTimeout),
    // The operator's own namespace (POD_NAMESPACE in deploy/ and the chart), where the admission policy's binding looks.
    rolesNamespace: settings.leaseNamespace,
    logLevel: settings.logLevel,
    // Fault injection for the crash tests: die like kill -9 at the named step.
    ...(settings.crashAt ? { crashPoint: (point: string) => void (point === settings.crashAt && process.kill(process.pid, 'SIGKILL')) } : {}),
  };
}
