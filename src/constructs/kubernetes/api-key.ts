/**
 * ApiKey, Kubernetes target: one `kubernetes_manifest` holding an ApiKey
 * custom resource. The keyward operator creates, rotates and revokes the key
 * and writes the Secret; Terraform only ever sees the spec, so the secret
 * never enters Terraform state.
 *
 * Props are checked when the construct is created, with the very schema the
 * CRD is generated from (`validateApiKeySpec`), and errors name the construct
 * path. The manifest carries the spec with its defaults filled in, exactly as
 * the API server stores it after defaulting, so `kubernetes_manifest` sees no
 * drift between plan and apply.
 */
import { Manifest } from '@cdktf/provider-kubernetes/lib/manifest/index.js';
import { Construct } from 'constructs';
import type { ITerraformDependable, TerraformProvider } from 'cdktf';
import type { z } from 'zod';
import { API_GROUP, API_KIND, API_VERSION, ApiKeyRotationSpec, ApiKeySpec, SecretName, validateApiKeySpec, type ParsedApiKeySpec } from '../../core/apikey.ts';
import { firstPerField, KeywardConstructError } from '../errors.ts';
import type { RotationPolicy } from '../rotation-policy.ts';

/** DNS-1123 label: what Kubernetes accepts as a namespace. */
const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** spec.rotation of the ApiKey (fields and defaults: ApiKeyRotationSpec in src/core/apikey.ts), plus a policy preset. */
export type ApiKeyRotationProps = Readonly<z.input<typeof ApiKeyRotationSpec>> & {
  /** A preset or interval (RotationPolicy.production(), .every('30d'), .manual()); give it or `interval`. Default: from the environment. */
  readonly policy?: RotationPolicy;
};

/**
 * The ApiKey's metadata, its spec (typed from the schema the CRD is
 * generated from: ApiKeySpec in src/core/apikey.ts, whose descriptions
 * `kubectl explain apikey.spec` shows), and the Terraform settings.
 */
export type ApiKeyProps = {
  /** metadata.name of the ApiKey (and the default Secret name). */
  readonly name: string;
  /** Default "default". */
  readonly namespace?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
} & Readonly<Omit<z.input<typeof ApiKeySpec>, 'rotation'>> & {
    readonly rotation?: ApiKeyRotationProps;
    // Terraform
    readonly provider?: TerraformProvider;
    readonly dependsOn?: ITerraformDependable[];
    /** Make `apply` wait until the operator reports the key Ready (needs the operator running). Default false. */
    readonly waitForReady?: boolean;
  };

export interface ApiKeyManifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: ParsedApiKeySpec;
}

const BRAND = Symbol.for('keyward.constructs.ApiKey');

/** Drops undefined members so the object is plain JSON (and YAML) as written. */
function clean<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

export class ApiKey extends Construct {
  /** True for ApiKey constructs, even from another copy of this module (the CLI loads stacks by path). */
  static isApiKey(construct: unknown): construct is ApiKey {
    return typeof construct === 'object' && construct !== null && BRAND in construct;
  }

  readonly name: string;
  readonly namespace: string;
  /** The validated spec with defaults filled in. */
  readonly spec: ParsedApiKeySpec;
  readonly resource: Manifest;
  readonly #manifest: ApiKeyManifest;

  constructor(scope: Construct, id: string, props: ApiKeyProps) {
    super(scope, id);
    Object.defineProperty(this, BRAND, { value: true });
    const problems: string[] = [];
    const namespace = props.namespace ?? 'default';
    if (typeof props.name !== 'string' || props.name.length === 0) problems.push('name: must not be empty');
    else if (!SecretName.safeParse(props.name).success) problems.push(`name: "${props.name}" must be a valid Kubernetes object name (lowercase letters, digits, "-" and ".")`);
    if (!NAMESPACE.test(namespace) || namespace.length > 63) problems.push(`namespace: "${namespace}" must be a valid Kubernetes namespace (lowercase letters, digits and "-")`);

    const rotation = props.rotation;
    let rotationSpec: Record<string, unknown> | undefined;
    if (rotation) {
      const fromPolicy = rotation.policy?.toSpec() ?? {};
      if (rotation.policy && rotation.interval !== undefined) problems.push('rotation: give either policy or interval, not both');
      if (fromPolicy.suspend && rotation.suspend === false) problems.push('rotation: policy manual() suspends scheduled rotation; suspend: false contradicts it');
      // Every other field passes through, so the schema refuses one it does not know.
      const { policy: _policy, ...fields } = rotation;
      rotationSpec = { ...fields, interval: rotation.interval ?? fromPolicy.interval, suspend: rotation.suspend ?? fromPolicy.suspend };
    }
    const spec = clean({
      displayName: props.displayName,
      role: props.role,
      environment: props.environment,
      ipAllowlist: props.ipAllowlist,
      secret: props.secret,
      rotation: rotationSpec,
      consumers: props.consumers,
      deletionPolicy: props.deletionPolicy,
    });
    const result = validateApiKeySpec(spec);
    if (!result.ok) problems.push(...result.problems);
    if (problems.length > 0 || !result.ok) throw new KeywardConstructError('ApiKey', this.node.path, firstPerField(problems));

    this.name = props.name;
    this.namespace = namespace;
    this.spec = clean(result.spec);
    this.#manifest = {
      apiVersion: `${API_GROUP}/${API_VERSION}`,
      kind: API_KIND,
      metadata: clean({
        name: props.name,
        namespace,
        labels: props.labels && Object.keys(props.labels).length > 0 ? props.labels : undefined,
        annotations: props.annotations && Object.keys(props.annotations).length > 0 ? props.annotations : undefined,
      }),
      spec: this.spec,
    };
    this.resource = new Manifest(this, 'manifest', {
      manifest: this.toManifest(),
      provider: props.provider,
      dependsOn: props.dependsOn,
      ...(props.waitForReady ? { wait: { condition: [{ type: 'Ready', status: 'True' }] } } : {}),
    });
  }

  /** The ApiKey resource as a plain object (for YAML, kubectl or GitOps). A fresh copy each call. */
  toManifest(): ApiKeyManifest {
    return structuredClone(this.#manifest);
  }
}
