/**
 * `keyward serve --bootstrap-secret-k8s <namespace>/<name>`: on an empty
 * store, the first admin secret goes into an existing Kubernetes Secret
 * (data key `secret`, with `keyId`), never to the log. The Helm chart
 * creates that Secret empty and lets the key service's ServiceAccount get
 * and patch it, and nothing else.
 */
import { CliUsageError } from './errors.ts';

export interface SecretRef {
  namespace: string;
  name: string;
}

export function parseSecretRef(value: string): SecretRef {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/.exec(value);
  if (!m) throw new CliUsageError(`--bootstrap-secret-k8s "${value}" must be <namespace>/<name> of an existing Secret`);
  return { namespace: m[1]!, name: m[3]! };
}

async function coreApi() {
  const k8s = await import('@kubernetes/client-node');
  const kubeConfig = new k8s.KubeConfig();
  kubeConfig.loadFromDefault();
  return { k8s, api: kubeConfig.makeApiClient(k8s.CoreV1Api) };
}

/** Before anything is bootstrapped: the Secret must exist and be readable, or the secret would be lost. */
export async function checkBootstrapSecret(ref: SecretRef): Promise<void> {
  const { api } = await coreApi();
  try {
    await api.readNamespacedSecret({ namespace: ref.namespace, name: ref.name });
  } catch (error) {
    const code = (error as { code?: number }).code;
    throw new Error(`cannot read the bootstrap Secret ${ref.namespace}/${ref.name}${code ? ` (HTTP ${code})` : ''}: create it (empty) and allow get and patch on it`);
  }
}

export async function writeBootstrapSecret(ref: SecretRef, result: { keyId: string; secret: string; invitationLink?: string }): Promise<void> {
  const { k8s, api } = await coreApi();
  const base64 = (text: string) => Buffer.from(text).toString('base64');
  // The first admin's one-time dashboard link (data key "invitationLink") sits next to the secret.
  const data = { secret: base64(result.secret), keyId: base64(result.keyId), ...(result.invitationLink ? { invitationLink: base64(result.invitationLink) } : {}) };
  await api.patchNamespacedSecret(
    { namespace: ref.namespace, name: ref.name, body: { data } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
  process.stderr.write(
    `\nCreated organization "default" and its admin key ${result.keyId}; its secret is in the Secret ${ref.namespace}/${ref.name} (data key "secret").\n\n`,
  );
}
