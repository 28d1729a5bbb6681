/**
 * The Secret an ApiKey owns, both ways and without I/O: what a read Secret
 * says (which key, which issue, whether its value was changed), and the one
 * shape the operator writes it in.
 */
import { createHash } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import type { EffectiveApiKeySpec } from '../core/apikey.ts';
import type { SecretWrite } from './kube.ts';
import {
  ANNOTATION_KEY_ID,
  ANNOTATION_OWNER,
  ANNOTATION_SECRET_SHA256,
  ANNOTATION_SEQUENCE,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  type ApiKeyResource,
  type ObservedSecret,
} from './types.ts';

/** Which key and which issue a Secret holds (its annotations), and the hash of the secret value written. */
export interface SecretHolds {
  keyId: string;
  sequence: string;
  secretSha256: string;
}

export const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

export function decode(secret: V1Secret | undefined, key: string): string | undefined {
  const value = secret?.data?.[key];
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
}

export function observeSecret(secret: V1Secret | undefined, spec: EffectiveApiKeySpec): ObservedSecret {
  if (!secret) return { exists: false, hasSecretValue: false };
  const value = decode(secret, spec.dataKeys.secret);
  const annotations = secret.metadata?.annotations ?? {};
  const sequence = Number.parseInt(annotations[ANNOTATION_SEQUENCE] ?? '', 10);
  return {
    exists: true,
    keyId: decode(secret, spec.dataKeys.keyId),
    sequence: Number.isInteger(sequence) ? sequence : undefined,
    dataSha256: value === undefined ? undefined : sha256(value),
    recordedSha256: annotations[ANNOTATION_SECRET_SHA256],
    hasSecretValue: value !== undefined && value.length > 0,
  };
}

/** What a Secret's annotations say it holds (to write it again unchanged but for its data). */
export function holdsOf(secret: V1Secret): SecretHolds {
  const annotations = secret.metadata?.annotations ?? {};
  return { keyId: annotations[ANNOTATION_KEY_ID] ?? '', sequence: annotations[ANNOTATION_SEQUENCE] ?? '', secretSha256: annotations[ANNOTATION_SECRET_SHA256] ?? '' };
}

/**
 * The one way the operator writes a Secret: the data, the template's labels
 * and annotations, and its own annotations saying which key and issue the
 * Secret holds (server-side apply takes ownership of exactly these fields).
 */
export function secretWrite(resource: ApiKeyResource, spec: EffectiveApiKeySpec, data: Record<string, string>, holds: SecretHolds): SecretWrite {
  return {
    namespace: resource.metadata.namespace,
    name: spec.secretName,
    data,
    labels: { ...spec.labels, [MANAGED_BY_LABEL]: MANAGED_BY },
    annotations: {
      ...spec.annotations,
      [ANNOTATION_OWNER]: resource.metadata.name,
      [ANNOTATION_KEY_ID]: holds.keyId,
      [ANNOTATION_SEQUENCE]: holds.sequence,
      [ANNOTATION_SECRET_SHA256]: holds.secretSha256,
    },
    owner: resource,
  };
}
