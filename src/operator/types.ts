/** The ApiKey custom resource as the operator reads and writes it. */
import type { KubernetesObject, V1ObjectMeta } from '@kubernetes/client-node';
import type { ApiKeySpec } from '../core/apikey.ts';

export const FINALIZER = 'keyward.dev/revoke-key';
export const FIELD_MANAGER = 'keyward-operator';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'keyward';
/** Secret annotations: which ApiKey, which key and which issue sequence the Secret holds. */
export const ANNOTATION_OWNER = 'keyward.dev/apikey';
export const ANNOTATION_KEY_ID = 'keyward.dev/key-id';
export const ANNOTATION_SEQUENCE = 'keyward.dev/sequence';
export const ANNOTATION_SECRET_SHA256 = 'keyward.dev/secret-sha256';
/** Pod-template annotation that rolls restart targets once per rotation. */
export const ANNOTATION_RESTARTED_FOR = 'keyward.dev/restarted-for-key';

export type RotationReason = 'Created' | 'Scheduled' | 'Token' | 'Drift' | 'SpecChange' | 'KeyRevoked' | 'Undelivered';

export interface Condition {
  type: 'Ready' | 'Rotating' | 'KeyServiceReachable';
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface PreviousKey {
  keyId: string;
  expiresAt: string;
}

export interface HistoryEntry {
  time: string;
  reason: RotationReason;
  keyId: string;
  message: string;
}

/** A key issue the operator has started and not yet finished (intent, recorded before acting). */
export interface PendingIssue {
  operation: 'Create' | 'Rotate';
  sequence: number;
  reason: RotationReason;
  /** The key being rotated (for Rotate). */
  fromKeyId?: string;
  /** The token that asked for this rotation, if any. */
  rotationToken?: string;
  startedAt: string;
}

export interface ApiKeyStatus {
  observedGeneration?: number;
  observedRotationToken?: string;
  keyId?: string;
  secretName?: string;
  /** How many keys were issued for this resource; the next issue uses sequence + 1. */
  sequence?: number;
  pending?: PendingIssue | null;
  previousKeys?: PreviousKey[];
  lastRotationTime?: string;
  nextRotationTime?: string;
  lastRotationReason?: RotationReason;
  consumersRestartedFor?: string;
  conditions?: Condition[];
  history?: HistoryEntry[];
}

export interface ApiKeyResource extends KubernetesObject {
  metadata: V1ObjectMeta & { name: string; namespace: string; uid: string };
  spec: ApiKeySpec;
  status?: ApiKeyStatus;
}

/** What the operator observed of the Secret it manages. */
export interface ObservedSecret {
  exists: boolean;
  keyId?: string | undefined;
  sequence?: number | undefined;
  /** sha256 of the secret value in the data, and the one recorded when it was written. */
  dataSha256?: string | undefined;
  recordedSha256?: string | undefined;
  hasSecretValue: boolean;
}

/** What the key service says of the current key (undefined when not asked or unreachable). */
export interface ObservedKey {
  status: 'active' | 'expired' | 'revoked' | 'missing';
}
