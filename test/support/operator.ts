/**
 * The operator under test: the real key service (in-process, loopback) and the
 * real operator (in-process or as a `keyward operator` child process) against
 * the real control plane.
 */
import { writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, type V1Secret } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import type { KeyView, KeywardClient, VerifyBody } from '../../src/client/index.ts';
import { isNotFound } from '../../src/operator/kube.ts';
import type { Logger } from 'pino';
import { OperatorSettings } from '../../src/operator/config.ts';
import { Operator, operatorLogger, type OperatorConfig } from '../../src/operator/operator.ts';
import { DEFAULT_OPERATOR_NAMESPACE } from '../../src/operator/role-admission.ts';
import { REPO_ROOT } from '../../src/devcluster/binaries.ts';
import type { ApiKeyResource, ApiKeyStatus } from '../../src/operator/types.ts';
import type { ControlPlane } from './controlplane.ts';
import type { TestService } from './keyservice.ts';

export async function operatorKey(service: TestService): Promise<string> {
  return (await service.client().createKey({ name: 'keyward operator', role: 'key-manager' })).secret;
}

/** The settings' defaults (request budgets and all), as `keyward operator` without flags has them. */
const DEFAULTS = OperatorSettings.parse({});

export async function startOperator(cp: ControlPlane, service: Pick<TestService, 'url'>, apiKey: string, overrides: Partial<OperatorConfig> = {}): Promise<Operator> {
  const operator = new Operator({
    kubeApiRate: { qps: DEFAULTS.kubeApiQps, burst: DEFAULTS.kubeApiBurst },
    keyServiceRate: { qps: DEFAULTS.keyServiceQps, burst: DEFAULTS.keyServiceBurst },
    kubeConfig: cp.kubeConfig,
    keyServiceUrl: service.url,
    keyServiceApiKey: apiKey,
    namespaces: [],
    workers: 4,
    resyncMs: 2_000,
    leaderElection: null,
    metricsHost: '127.0.0.1',
    metricsPort: 0,
    deletionGiveUpMs: 5_000,
    logger: operatorLogger('silent'),
    ...overrides,
  });
  await operator.start();
  return operator;
}

export interface Logged {
  level: string;
  message: string;
  fields: Record<string, unknown>;
}

/** The operator's own logger (pino, debug level), its lines parsed into `lines` as they are written. */
export function capturedLogger(): { logger: Logger; lines: Logged[] } {
  const lines: Logged[] = [];
  const logger = operatorLogger('debug', {
    write(line: string) {
      const { level, msg, time: _time, name: _name, ...fields } = JSON.parse(line) as { level: string; msg: string; time: number; name: string };
      lines.push({ level, message: msg, fields });
    },
  });
  return { logger, lines };
}

export async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** undefined for a 404 only: a 403, a 500 or a dead connection is an error, not "gone". */
export async function unlessNotFound<T>(request: Promise<T>): Promise<T | undefined> {
  try {
    return await request;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

let nudges = 0;

export function kubeHelpers(cp: ControlPlane) {
  const core = cp.kubeConfig.makeApiClient(CoreV1Api);
  const custom = cp.kubeConfig.makeApiClient(CustomObjectsApi);
  const apiKey = async (namespace: string, name: string): Promise<ApiKeyResource | undefined> =>
    (await unlessNotFound(custom.getNamespacedCustomObject({ group: 'keyward.dev', version: 'v1alpha1', namespace, plural: 'apikeys', name }))) as ApiKeyResource | undefined;
  return {
    core,
    async apply(objects: object[]): Promise<void> {
      const file = join(cp.dir, `apply-${Date.now()}-${Math.random().toString(36).slice(2)}.yaml`);
      writeFileSync(file, objects.map((o) => stringify(o)).join('---\n'));
      await cp.kubectl(['apply', '-f', file]);
    },
    apiKey,
    async secret(namespace: string, name: string): Promise<V1Secret | undefined> {
      return unlessNotFound(core.readNamespacedSecret({ namespace, name }));
    },
    value(secret: V1Secret | undefined, key: string): string | undefined {
      const raw = secret?.data?.[key];
      return raw === undefined ? undefined : Buffer.from(raw, 'base64').toString('utf8');
    },
    /**
     * Changes spec.displayName and waits until the operator has reconciled
     * that generation: proof that it looked again after everything before, so
     * a test can check that nothing more happened without sleeping.
     */
    async reconciledAgain(namespace: string, name: string): Promise<ApiKeyStatus> {
      const displayName = `${name} (looked at again ${++nudges})`;
      await cp.kubectl(['patch', 'apikey', name, '-n', namespace, '--type=merge', '-p', JSON.stringify({ spec: { displayName } })]);
      return until(`the operator to reconcile ${namespace}/${name} again`, async () => {
        const resource = await apiKey(namespace, name);
        const status = resource?.status;
        return status && !status.pending && status.observedGeneration === resource.metadata.generation ? status : undefined;
      });
    },
    async events(namespace: string, name: string): Promise<{ reason: string; message: string; type: string }[]> {
      const list = await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` });
      return list.items.map((e) => ({ reason: e.reason ?? '', message: e.message ?? '', type: e.type ?? '' }));
    },
  };
}

export const apiKeyManifest = (namespace: string, name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'keyward.dev/v1alpha1',
  kind: 'ApiKey',
  metadata: { name, namespace },
  spec,
});

/**
 * A Deployment for an ApiKey's consumers.restartTargets to name: one replica
 * of a placeholder image (no kubelet runs it; the operator only patches its
 * pod template, and tests that need Ready pods set their status through the API).
 */
export const deploymentManifest = (namespace: string, name: string) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: `example.invalid/${name}:1` }] } },
  },
});

/** Every key (any status) the key service holds for one ApiKey, by the uid the operator records in the key's metadata. */
export async function keysOf(client: KeywardClient, uid: string): Promise<KeyView[]> {
  const keys: KeyView[] = [];
  for await (const key of client.allKeys({ status: 'all' })) if (key.metadata['k8s/uid'] === uid) keys.push(key);
  return keys;
}

/** The key service's verdict on a secret read from a Secret; a missing secret is a test failure, never a verdict. */
export async function verifies(client: KeywardClient, secret: string | undefined, also: Omit<VerifyBody, 'key'> = {}): Promise<string> {
  if (secret === undefined || secret === '') throw new Error('no secret to verify: the Secret or its data key is missing');
  return (await client.verifyKey({ key: secret, ...also })).code;
}

/** Request counts by "VERB resource" ("PATCH apikeys/status", "APPLY secrets", "LIST apikeys" …). */
export type RequestCounts = Map<string, number>;

const REQUEST_TOTAL = /^apiserver_request_total\{(.*)\} (\S+)$/;

/**
 * The API server's own count of the requests it served (apiserver_request_total
 * on its /metrics, all clients together), by verb and resource, for resources
 * (not /healthz, /openapi …). A test reads it before and after and compares:
 * `requestsBetween`.
 */
export async function apiServerRequests(cp: Pick<ControlPlane, 'server' | 'caData' | 'adminToken'>): Promise<RequestCounts> {
  const text = await new Promise<string>((resolve, reject) => {
    const req = httpsRequest(new URL('/metrics', cp.server), { ca: cp.caData, headers: { authorization: `Bearer ${cp.adminToken}` }, timeout: 30_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`GET /metrics: HTTP ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error('GET /metrics: timeout')));
    req.on('error', reject);
    req.end();
  });
  const counts: RequestCounts = new Map();
  for (const line of text.split('\n')) {
    const match = REQUEST_TOTAL.exec(line);
    if (!match) continue;
    const labels = Object.fromEntries([...match[1]!.matchAll(/(\w+)="([^"]*)"/g)].map(([, name, value]) => [name!, value!]));
    if (!labels.resource) continue;
    const key = `${labels.verb} ${labels.resource}${labels.subresource ? `/${labels.subresource}` : ''}`;
    counts.set(key, (counts.get(key) ?? 0) + Number(match[2]));
  }
  return counts;
}

export const WRITE_VERBS = ['POST', 'PUT', 'PATCH', 'APPLY', 'DELETE', 'DELETECOLLECTION'] as const;
export const READ_VERBS = ['GET', 'LIST'] as const;

/** What was served between two readings, for these resources only (e.g. apikeys, apikeys/status, secrets, events), leaving out zeros. */
export function requestsBetween(before: RequestCounts, after: RequestCounts, resources: readonly string[]): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [key, count] of after) {
    const resource = key.slice(key.indexOf(' ') + 1);
    const served = count - (before.get(key) ?? 0);
    if (served > 0 && resources.includes(resource)) delta[key] = served;
  }
  return delta;
}

/** The sum of `counts` over the given verbs. */
export const countOf = (counts: Record<string, number>, verbs: readonly string[]): number =>
  Object.entries(counts).reduce((sum, [key, n]) => (verbs.includes(key.slice(0, key.indexOf(' '))) ? sum + n : sum), 0);

/** The operator has nothing left to do: its queue is empty, no reconcile is under way, and the watches have brought back its own writes. */
export async function settled(operator: Operator, what = 'the operator to settle'): Promise<void> {
  await until(what, async () => operator.idle && operator.cache.unseenWrites === 0, 60_000, 50);
}

/**
 * deploy/apikey-role-policy.yaml on the control plane (and the operator's namespace its binding looks in), then,
 * once an operator started with `rolesNamespace: DEFAULT_OPERATOR_NAMESPACE` has published the roles, wait until
 * the API server enforces it (it loads a policy and its parameter asynchronously): a server-side dry run of an
 * ApiKey naming a role no organization has is refused.
 */
export async function installRolePolicy(cp: ControlPlane): Promise<{ enforced: () => Promise<void> }> {
  await cp.kubectl(['create', 'namespace', DEFAULT_OPERATOR_NAMESPACE], { allowFailure: true });
  await cp.kubectl(['apply', '-f', join(REPO_ROOT, 'deploy', 'apikey-role-policy.yaml')]);
  const probe = stringify(apiKeyManifest('default', 'role-policy-probe', { role: 'role-policy-probe' }));
  return {
    enforced: async () =>
      void (await until('the role admission policy to be enforced', async () => (await cp.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: probe, allowFailure: true })).exitCode !== 0)),
  };
}
