/**
 * The ApiKey custom resource (keyward.dev/v1alpha1), declared once: the
 * operator validates specs and types its status with these schemas, the CRD's
 * OpenAPI schema is generated from them (src/operator/crd.ts), the CDKTF
 * construct's props are typed from them and the GitOps tooling reads
 * manifests with them. Every default is a named constant here or in
 * rotation.ts.
 */
import { z } from 'zod';
import { DEFAULT_DATA_KEYS } from './data-keys.ts';
import { parseDuration } from './duration.ts';
import { BUILTIN_ROLE_IDS } from './permissions.ts';
import { DEFAULT_ENVIRONMENT, DEFAULT_ROTATION_DAYS, DEFAULT_ROTATION_OVERLAP, ENVIRONMENTS, ROTATION_TOKEN_MAX_LENGTH } from './rotation.ts';
import { DEFAULT_QUIET_PERIOD, quietPeriodProblem } from './retirement.ts';
import { Duration, Environment, IpAllowlist, Name, RoleId } from './schemas.ts';

export const API_GROUP = 'keyward.dev';
export const API_VERSION = 'v1alpha1';
export const API_KIND = 'ApiKey';
export const API_PLURAL = 'apikeys';

export const DELETION_POLICIES = ['Revoke', 'Retain'] as const;
export type DeletionPolicy = (typeof DELETION_POLICIES)[number];
export const DEFAULT_DELETION_POLICY: DeletionPolicy = 'Revoke';
export const RESTART_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet'] as const;
export const MAX_RESTART_TARGETS = 20;

/** DNS-1123 subdomain: what Kubernetes accepts as a Secret name. */
export const SecretName = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'must be a valid Kubernetes object name (lowercase letters, digits, "-" and ".")');

/** What Kubernetes accepts as a key of Secret data. */
export const SecretDataKey = z.string().min(1).max(253).regex(/^[-._a-zA-Z0-9]+$/, 'must be letters, digits, "-", "_" or "."');

const LabelMap = z.record(z.string().max(317), z.string().max(63 * 1024));

export const RestartTarget = z.strictObject({ kind: z.enum(RESTART_KINDS), name: SecretName });
export type RestartTarget = z.output<typeof RestartTarget>;

export const ApiKeySecretSpec = z.strictObject({
  name: SecretName.optional().meta({ description: 'Secret to write (default: the ApiKey name).' }),
  template: z
    .strictObject({ labels: LabelMap.optional(), annotations: LabelMap.optional() })
    .optional()
    .meta({ description: 'Labels and annotations the Secret carries besides the operator\'s own.' }),
  keys: z
    .strictObject({
      secret: SecretDataKey.default(DEFAULT_DATA_KEYS.secret).meta({ description: 'Data key of the secret.' }),
      keyId: SecretDataKey.default(DEFAULT_DATA_KEYS.keyId).meta({ description: 'Data key of the key id.' }),
      previous: SecretDataKey.optional().meta({ description: 'Also keep the previous secret under this key during the overlap.' }),
    })
    .optional()
    .meta({ description: 'Data keys of the Secret.' }),
});

/**
 * How the previous key ends. AfterOverlap is the default: it is what every
 * ApiKey did before WhenUnused existed (an upgrade never shortens an overlap
 * someone relied on), and it needs nothing of the consumers; WhenUnused
 * revokes earlier, so it is asked for where consumers verify through keyward
 * often enough for "unused" to mean "moved" (a nightly job may be quiet for
 * longer than any quiet period).
 */
export const REVOKE_OLD_POLICIES = ['AfterOverlap', 'WhenUnused'] as const;
export type RevokeOldPolicy = (typeof REVOKE_OLD_POLICIES)[number];
export const DEFAULT_REVOKE_OLD_POLICY: RevokeOldPolicy = 'AfterOverlap';

export const ApiKeyRotationSpec = z
  .strictObject({
    interval: Duration.optional().meta({
      description: `Rotate this often, e.g. 2160h or 90d (default from environment: ${ENVIRONMENTS.map((e) => `${e} ${DEFAULT_ROTATION_DAYS[e]}d`).join(', ')}).`,
    }),
    token: z.string().max(ROTATION_TOKEN_MAX_LENGTH).optional().meta({ description: 'Change it (e.g. in a pull request) to rotate exactly once.' }),
    overlap: Duration.default(DEFAULT_ROTATION_OVERLAP).meta({
      description: 'How long the previous key keeps working after a rotation at most (with revokeOld WhenUnused, the hard deadline).',
    }),
    revokeOld: z.enum(REVOKE_OLD_POLICIES).default(DEFAULT_REVOKE_OLD_POLICY).meta({
      description:
        'How the previous key ends: AfterOverlap (it expires when the overlap ends) or WhenUnused (revoked once every restart target has rolled out and the key service has seen no use of it for quietPeriod; the overlap stays the deadline).',
    }),
    quietPeriod: Duration.optional().meta({
      description: `With revokeOld WhenUnused: how long the previous key must go unused before it is revoked; more than 0 and shorter than overlap (default ${DEFAULT_QUIET_PERIOD}).`,
    }),
    suspend: z.boolean().default(false).meta({ description: 'Pause scheduled rotation (token changes still rotate).' }),
  })
  .superRefine((rotation, ctx) => {
    // The same checks as the key service's rotate (schemas.ts) and the CRD's CEL rule (src/operator/crd.ts).
    const problem = quietPeriodProblem(rotation.revokeOld === 'WhenUnused', rotation.quietPeriod, rotation.overlap, { grace: 'overlap', mode: 'revokeOld WhenUnused' });
    if (problem) ctx.addIssue({ code: 'custom', path: ['quietPeriod'], message: problem });
  });

export const ApiKeySpec = z
  .strictObject({
    displayName: Name.optional().meta({ description: 'Name of the key in the key service (default: <namespace>/<name>).' }),
    role: RoleId.meta({ description: `Role of the key: built-in (${BUILTIN_ROLE_IDS.join(', ')}) or a custom role id.` }),
    environment: Environment.default(DEFAULT_ENVIRONMENT).meta({ description: 'Decides the default rotation interval.' }),
    ipAllowlist: IpAllowlist.optional().meta({ description: 'When set, only these addresses (IPv4/IPv6, CIDR) may use the key.' }),
    secret: ApiKeySecretSpec.optional().meta({ description: 'The Secret the operator writes the key to.' }),
    rotation: ApiKeyRotationSpec.optional().meta({ description: 'When the key rotates, and how long its predecessor keeps working.' }),
    consumers: z
      .strictObject({
        restartTargets: z
          .array(RestartTarget)
          .max(MAX_RESTART_TARGETS)
          .default([])
          .meta({ description: 'Workloads (in the ApiKey\'s namespace) restarted once per new key, so their pods read it.' }),
      })
      .optional(),
    deletionPolicy: z
      .enum(DELETION_POLICIES)
      .default(DEFAULT_DELETION_POLICY)
      .meta({ description: 'Revoke the key when the ApiKey is deleted, or keep key and Secret.' }),
  })
  .meta({ description: 'What key to keep, where, and how it rotates.' });
export type ApiKeySpec = z.input<typeof ApiKeySpec>;
export type ParsedApiKeySpec = z.output<typeof ApiKeySpec>;

// ---- status: written by the operator only ----

export const ROTATION_REASONS = ['Created', 'Scheduled', 'Token', 'Drift', 'SpecChange', 'KeyRevoked', 'Undelivered', 'Compromised'] as const;
export type RotationReason = (typeof ROTATION_REASONS)[number];
export const CONDITION_TYPES = ['Ready', 'Rotating', 'KeyServiceReachable'] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];
/** Longest condition message the CRD accepts (metav1.Condition's limit). */
export const CONDITION_MESSAGE_MAX_LENGTH = 32_768;

const Time = z.iso.datetime({ offset: true });
const Generation = z.int().min(0);

/** A condition as Kubernetes API conventions define it (metav1.Condition): every field required. */
export const Condition = z.object({
  type: z.enum(CONDITION_TYPES),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z
    .string()
    .min(1)
    .max(1024)
    .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/)
    .meta({ description: 'One CamelCase word saying why, e.g. Rotated or KeyServiceRefused.' }),
  message: z.string().max(CONDITION_MESSAGE_MAX_LENGTH).meta({ description: 'What a person needs to know.' }),
  lastTransitionTime: Time.meta({ description: 'When the status last changed.' }),
  observedGeneration: Generation.meta({ description: 'The metadata.generation this condition was set for.' }),
});
export type Condition = z.output<typeof Condition>;

/** How a previous key ended: revoked once unused (WhenUnused), at the deadline (WhenUnused, still in use), at the end of the overlap (AfterOverlap), or revoked by someone else. */
export const PREVIOUS_KEY_ENDS = ['Unused', 'Deadline', 'Expired', 'Revoked'] as const;
export type PreviousKeyEnd = (typeof PREVIOUS_KEY_ENDS)[number];
/** Clients named per previous key in status (the key service keeps up to ten). */
export const MAX_STATUS_CLIENTS = 5;

export const PreviousKey = z.object({
  keyId: z.string(),
  expiresAt: Time.meta({ description: 'When it stops at the latest (the end of the overlap).' }),
  lastUsedAt: Time.optional().meta({ description: 'Its last accepted use the key service saw (WhenUnused).' }),
  lastUsedBy: z
    .array(z.string())
    .max(MAX_STATUS_CLIENTS)
    .optional()
    .meta({ description: 'Who used it since the rotation, within the quiet period: "address (user agent) at time", most recent first (WhenUnused).' }),
});
export type PreviousKey = z.output<typeof PreviousKey>;

export const HistoryEntry = z.object({
  time: Time,
  reason: z.enum(ROTATION_REASONS),
  keyId: z.string().meta({ description: 'The key issued.' }),
  fromKeyId: z.string().optional().meta({ description: 'The key it replaced (a rotation).' }),
  message: z.string(),
  previousEnded: z.enum(PREVIOUS_KEY_ENDS).optional().meta({ description: 'How the replaced key ended, once it did.' }),
  previousEndedAt: Time.optional(),
});
export type HistoryEntry = z.output<typeof HistoryEntry>;
export const MAX_HISTORY = 10;

/** A key issue the operator has started and not yet finished: intent, recorded before acting. */
export const PendingIssue = z
  .object({
    operation: z.enum(['Create', 'Rotate']),
    sequence: Generation,
    reason: z.enum(ROTATION_REASONS),
    fromKeyId: z.string().optional().meta({ description: 'The key being rotated (Rotate).' }),
    rotationToken: z.string().optional().meta({ description: 'The token that asked for this rotation, if any.' }),
    startedAt: Time,
  })
  .meta({ description: 'A key issue under way (recorded before it starts, so a restarted operator finishes it).' });
export type PendingIssue = z.output<typeof PendingIssue>;

export const ApiKeyStatus = z
  .object({
    observedGeneration: Generation.optional(),
    observedRotationToken: z.string().optional(),
    keyId: z.string().optional().meta({ description: 'The current key.' }),
    secretName: z.string().optional().meta({ description: 'The Secret holding it.' }),
    sequence: Generation.optional().meta({ description: 'How many keys were issued for this ApiKey; the next issue uses sequence + 1.' }),
    pending: PendingIssue.optional(),
    previousKeys: z.array(PreviousKey).optional().meta({ description: 'Keys rotated away from that still work until expiresAt (the overlap).' }),
    lastRotationTime: Time.optional(),
    nextRotationTime: Time.optional(),
    lastRotationReason: z.enum(ROTATION_REASONS).optional(),
    consumersRestartedFor: z.string().optional().meta({ description: 'The key the restart targets were last restarted for.' }),
    conditions: z.array(Condition).optional().meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] }),
    history: z.array(HistoryEntry).max(MAX_HISTORY).optional().meta({ description: 'The latest key issues, newest first.' }),
  })
  .meta({ description: 'What the operator observed and did; written by the operator only.' });
export type ApiKeyStatus = z.output<typeof ApiKeyStatus>;

// ---- the spec with every default filled in: what the operator acts on ----

export interface EffectiveApiKeySpec {
  displayName: string;
  role: string;
  environment: ParsedApiKeySpec['environment'];
  ipAllowlist: string[];
  secretName: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  dataKeys: { secret: string; keyId: string; previous: string | null };
  intervalMs: number;
  token: string | null;
  overlapMs: number;
  revokeOld: RevokeOldPolicy;
  /** WhenUnused only (else null). */
  quietPeriod: string | null;
  suspend: boolean;
  restartTargets: RestartTarget[];
  deletionPolicy: DeletionPolicy;
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
      secret: spec.secret?.keys?.secret ?? DEFAULT_DATA_KEYS.secret,
      keyId: spec.secret?.keys?.keyId ?? DEFAULT_DATA_KEYS.keyId,
      previous: spec.secret?.keys?.previous ?? null,
    },
    intervalMs: spec.rotation?.interval ? parseDuration(spec.rotation.interval) : DEFAULT_ROTATION_DAYS[spec.environment] * 86_400_000,
    token: spec.rotation?.token ?? null,
    overlapMs: parseDuration(spec.rotation?.overlap ?? DEFAULT_ROTATION_OVERLAP),
    revokeOld: spec.rotation?.revokeOld ?? DEFAULT_REVOKE_OLD_POLICY,
    quietPeriod: spec.rotation?.revokeOld === 'WhenUnused' ? (spec.rotation.quietPeriod ?? DEFAULT_QUIET_PERIOD) : null,
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
