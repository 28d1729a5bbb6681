/** The ApiKey custom resource as the operator reads and writes it; its spec and status types come from src/core/apikey.ts. */
import type { KubernetesObject, V1ObjectMeta } from '@kubernetes/client-node';
import type { ApiKeySpec, ApiKeyStatus } from '../core/apikey.ts';

export type { ApiKeyStatus, Condition, ConditionType, HistoryEntry, PendingIssue, PreviousKey, RotationReason } from '../core/apikey.ts';

export const FINALIZER = 'keyward.dev/revoke-key';
export const FIELD_MANAGER = 'keyward-operator';
/**
 * Recommended labels (app.kubernetes.io/*): the CRD and every object in
 * deploy/ carry name (APP_NAME) and component; the shared Namespace, which
 * holds every component, carries name only (test/operator/deploy.test.ts).
 */
export const NAME_LABEL = 'app.kubernetes.io/name';
export const COMPONENT_LABEL = 'app.kubernetes.io/component';
/** The value of NAME_LABEL on everything keyward installs. */
export const APP_NAME = 'keyward';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'keyward';
/** Secret annotations: which ApiKey, which key and which issue sequence the Secret holds. */
export const ANNOTATION_OWNER = 'keyward.dev/apikey';
export const ANNOTATION_KEY_ID = 'keyward.dev/key-id';
export const ANNOTATION_SEQUENCE = 'keyward.dev/sequence';
export const ANNOTATION_SECRET_SHA256 = 'keyward.dev/secret-sha256';
/** Pod-template annotation that rolls restart targets once per rotation. */
export const ANNOTATION_RESTARTED_FOR = 'keyward.dev/restarted-for-key';

export interface ApiKeyResource extends KubernetesObject {
  metadata: V1ObjectMeta & { name: string; namespace: string; uid: string };
  spec: ApiKeySpec;
  status?: ApiKeyStatus;
}

/**
 * A JSON merge patch (RFC 7386) of T: every field optional, null removes it,
 * objects merge field by field (so a nested field is removed with null too).
 */
export type MergePatch<T> = {
  [K in keyof T]?: (NonNullable<T[K]> extends readonly unknown[] ? T[K] : NonNullable<T[K]> extends object ? MergePatch<NonNullable<T[K]>> : T[K]) | null;
};
export type StatusPatch = MergePatch<ApiKeyStatus>;

/** What the operator observed of the Secret it manages. */
export interface ObservedSecret {
  exists: boolean;
  /** uid of the Secret's controlling owner (an ApiKey), if it has one. */
  ownerUid?: string | undefined;
  /** The key id its key-id entry holds (undefined if absent or not a key id). */
  keyId?: string | undefined;
  sequence?: number | undefined;
  /** sha256 of the secret value in the data, and the one recorded when it was written. */
  dataSha256?: string | undefined;
  recordedSha256?: string | undefined;
  hasSecretValue: boolean;
}

/** What the key service says of the current key (undefined when not asked). */
export interface ObservedKey {
  status: 'active' | 'expired' | 'revoked' | 'missing';
  /** The key service's change feed said this key was reported compromised. */
  compromised?: boolean;
}
