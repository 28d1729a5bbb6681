/**
 * The ApiKey custom resource (keyward.dev/v1alpha1): one schema for the
 * operator (and the CRD it generates), the CDKTF constructs and the GitOps
 * tooling, so a spec is judged the same way everywhere.
 */
import { z } from 'zod';
import { parseDuration } from './duration.ts';
import { DEFAULT_ROTATION_DAYS, type Environment as EnvironmentName } from './rotation.ts';
import { Duration, Environment, IpAllowlist, Name, RoleId } from './schemas.ts';

export const API_GROUP = 'keyward.dev';
export const API_VERSION = 'v1alpha1';
export const API_KIND = 'ApiKey';
export const API_PLURAL = 'apikeys';

/** DNS-1123 subdomain: what Kubernetes accepts as a Secret name. */
export const SecretName = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'must be a valid Kubernetes object name (lowercase letters, digits, "-" and ".")');

/** What Kubernetes accepts as a key of Secret data. */
export const SecretDataKey = z.string().min(1).max(253).regex(/^[-._a-zA-Z0-9]+$/, 'must be letters, digits, "-", "_" or "."');

const LabelMap = z.record(z.string().max(317), z.string().max(63 * 1024));

export const RESTART_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet'] as const;

export const ApiKeySpec = z.strictObject({
  displayName: Name.optional().meta({ description: 'Name of the key in the key service (default: <namespace>/<name>)' }),
  role: RoleId,
  environment: Environment.default('production'),
  ipAllowlist: IpAllowlist.optional(),
  secret: z
    .strictObject({
      name: SecretName.optional().meta({ description: 'Secret to write (default: the ApiKey name)' }),
      template: z.strictObject({ labels: LabelMap.optional(), annotations: LabelMap.optional() }).optional(),
      keys: z
        .strictObject({
          secret: SecretDataKey.default('API_KEY'),
          keyId: SecretDataKey.default('API_KEY_ID'),
          previous: SecretDataKey.optional().meta({ description: 'Also keep the previous secret under this key during the overlap' }),
        })
        .optional(),
    })
    .optional(),
  rotation: z
    .strictObject({
      interval: Duration.optional().meta({ description: 'Rotate this often (default from environment: production and staging 90d, development 180d)' }),
      token: z.string().max(253).optional().meta({ description: 'Change it (e.g. in a pull request) to rotate exactly once' }),
      overlap: Duration.default('24h').meta({ description: 'How long the previous key keeps working after a rotation' }),
      suspend: z.boolean().default(false).meta({ description: 'Pause scheduled rotation (token changes still rotate)' }),
    })
    .optional(),
  consumers: z
    .strictObject({
      restartTargets: z
        .array(z.strictObject({ kind: z.enum(RESTART_KINDS), name: SecretName }))
        .max(20)
        .default([]),
    })
    .optional(),
  deletionPolicy: z.enum(['Revoke', 'Retain']).default('Revoke'),
});
export type ApiKeySpec = z.input<typeof ApiKeySpec>;
export type ParsedApiKeySpec = z.output<typeof ApiKeySpec>;

/** Every default filled in: what the operator acts on. */
export interface EffectiveApiKeySpec {
  displayName: string;
  role: string;
  environment: EnvironmentName;
  ipAllowlist: string[];
  secretName: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  dataKeys: { secret: string; keyId: string; previous: string | null };
  intervalMs: number;
  token: string | null;
  overlapMs: number;
  suspend: boolean;
  restartTargets: { kind: (typeof RESTART_KINDS)[number]; name: string }[];
  deletionPolicy: 'Revoke' | 'Retain';
}

export function effectiveSpec(spec: ParsedApiKeySpec, meta: { namespace: string; name: string }): EffectiveApiKeySpec {
  return {
    displayName: spec.displayName ?? `${meta.namespace}/${meta.name}`,
    role: spec.role,
    environment: spec.environment,
    ipAllowlist: spec.ipAllowlist ?? [],
    secretName: spec.secret?.name ?? meta.name,
    labels: spec.secret?.template?.labels ?? {},
    annotations: spec.secret?.template?.annotations ?? {},
    dataKeys: {
      secret: spec.secret?.keys?.secret ?? 'API_KEY',
      keyId: spec.secret?.keys?.keyId ?? 'API_KEY_ID',
      previous: spec.secret?.keys?.previous ?? null,
    },
    intervalMs: spec.rotation?.interval ? parseDuration(spec.rotation.interval) : DEFAULT_ROTATION_DAYS[spec.environment] * 86_400_000,
    token: spec.rotation?.token ?? null,
    overlapMs: parseDuration(spec.rotation?.overlap ?? '24h'),
    suspend: spec.rotation?.suspend ?? false,
    restartTargets: spec.consumers?.restartTargets ?? [],
    deletionPolicy: spec.deletionPolicy,
  };
}

/** Validates a spec, returning readable problems ("rotation.interval: must be a duration …") instead of throwing. */
export function validateApiKeySpec(spec: unknown): { ok: true; spec: ParsedApiKeySpec } | { ok: false; problems: string[] } {
  const result = ApiKeySpec.safeParse(spec);
  if (result.success) return { ok: true, spec: result.data };
  return { ok: false, problems: result.error.issues.map((issue) => `${issue.path.join('.') || 'spec'}: ${issue.message}`) };
}
