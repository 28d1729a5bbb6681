/**
 * The Secret an ApiKey owns, both ways and without I/O: what the operator
 * keeps of a Secret it reads (no secret value: a hash of each entry), what
 * that says (which key, which issue, whether its value was changed), and the
 * one shape the operator writes it in.
 */
import { createHash } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import type { EffectiveApiKeySpec } from '../core/apikey.ts';
import { KEY_ID_PATTERN } from '../core/token.ts';
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
const EMPTY_SHA256 = sha256('');

export function decode(secret: V1Secret | undefined, key: string): string | undefined {
  const value = secret?.data?.[key];
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
}

/**
 * What the operator keeps of a Secret it manages (its informer cache holds
 * only this): the keyward.dev annotations, the controlling owner's uid, the
 * sha256 of every data entry (drift is a hash compared with the one recorded
 * when it was written: no secret value is kept in memory), and the entries
 * that hold a key id, as they are (public; a secret never matches the
 * key-id pattern). No managedFields, labels or other annotations.
 */
export interface CachedSecret {
  metadata: { name: string; namespace: string; resourceVersion?: string | undefined; annotations: Record<string, string>; ownerUid?: string | undefined };
  /** sha256 (hex) of each entry's decoded value. */
  entries: Record<string, string>;
  /** Entries whose value is a key id, and that id. */
  keyIds: Record<string, string>;
}

const OWN_ANNOTATIONS = [ANNOTATION_OWNER, ANNOTATION_KEY_ID, ANNOTATION_SEQUENCE, ANNOTATION_SECRET_SHA256];

/** The informer's transform: a Secret as read (list, watch, GET, a write's answer) becomes what the cache keeps. */
export function cachedSecret(secret: V1Secret): CachedSecret {
  const annotations: Record<string, string> = {};
  for (const name of OWN_ANNOTATIONS) {
    const value = secret.metadata?.annotations?.[name];
    if (value !== undefined) annotations[name] = value;
  }
  const entries: Record<string, string> = {};
  const keyIds: Record<string, string> = {};
  for (const entry of Object.keys(secret.data ?? {})) {
    const value = decode(secret, entry)!;
    entries[entry] = sha256(value);
    if (KEY_ID_PATTERN.test(value)) keyIds[entry] = value;
  }
  const owner = secret.metadata?.ownerReferences?.find((reference) => reference.controller);
  return {
    metadata: { name: secret.metadata?.name ?? '', namespace: secret.metadata?.namespace ?? '', resourceVersion: secret.metadata?.resourceVersion, annotations, ownerUid: owner?.uid },
    entries,
    keyIds,
  };
}

export function observeSecret(secret: CachedSecret | undefined, spec: EffectiveApiKeySpec): ObservedSecret {
  if (!secret) return { exists: false, hasSecretValue: false };
  const valueSha256 = secret.entries[spec.dataKeys.secret];
  const { annotations } = secret.metadata;
  const sequence = Number.parseInt(annotations[ANNOTATION_SEQUENCE] ?? '', 10);
  return {
    exists: true,
    ownerUid: secret.metadata.ownerUid,
    keyId: secret.keyIds[spec.dataKeys.keyId],
    sequence: Number.isInteger(sequence) ? sequence : undefined,
    dataSha256: valueSha256,
    recordedSha256: annotations[ANNOTATION_SECRET_SHA256],
    hasSecretValue: valueSha256 !== undefined && valueSha256 !== EMPTY_SHA256,
  };
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
