/**
 * Authentication: from an Authorization header to a principal (key,
 * organization, permissions), or the error code that names the cause.
 */
import { KeywardError } from '../core/errors.ts';
import { keyStatus, type KeyRecord, type Organization } from '../core/model.ts';
import { addressAllowed, normalizeAddress } from '../core/ip.ts';
import { checkSecretFormat, hashSecret } from '../core/token.ts';
import type { MemoryReads, Store } from '../store/store.ts';

export interface Principal {
  key: KeyRecord;
  organization: Organization;
  permissions: readonly string[];
  /** The client address the request came from (after trust-proxy rules). */
  ip: string | null;
}

/** Pure: extracts the presented secret from an Authorization header value. */
export function secretFromAuthorization(header: string | undefined): string {
  // The common case first: "Bearer <secret>" with nothing else to explain.
  if (header !== undefined && header.startsWith('Bearer ') && header.length > 7 && !/\s/.test(header.slice(7))) return header.slice(7);
  if (header === undefined || header.length === 0) {
    throw new KeywardError('MISSING_AUTHORIZATION', 'No Authorization header was sent.');
  }
  // The scheme ends at the first whitespace, whatever it is ("Bearer<TAB>secret" is a Bearer header with the wrong separator).
  const space = header.search(/\s/);
  const scheme = space < 0 ? header : header.slice(0, space);
  if (scheme.toLowerCase() !== 'bearer') {
    // Name the scheme only when it is a plain word: never echo anything that may be part of a secret.
    const namedScheme = /^[A-Za-z][A-Za-z-]{0,15}$/.test(scheme) ? `the "${scheme}" scheme` : 'no "Bearer" scheme';
    throw new KeywardError(
      'MISSING_BEARER',
      /_/.test(scheme)
        ? 'The Authorization header holds a bare key; put "Bearer " in front of it.'
        : `The Authorization header uses ${namedScheme}; keyward expects "Bearer <secret>".`,
    );
  }
  const credentials = header.slice(space + 1);
  if (space < 0 || credentials.length === 0) {
    throw new KeywardError('MALFORMED_AUTHORIZATION', 'The Authorization header says "Bearer" but carries no key.');
  }
  if (header[space] !== ' ') {
    throw new KeywardError('MALFORMED_AUTHORIZATION', 'The Authorization header separates "Bearer" from the key with a tab or other whitespace instead of one space.');
  }
  if (credentials.trim() !== credentials || /\s/.test(credentials)) {
    throw new KeywardError('KEY_HAS_WHITESPACE', 'The key in the Authorization header contains or is surrounded by extra whitespace.');
  }
  return credentials;
}

/** Pure: why a stored key may not be used right now, if it may not. */
export function keyUsabilityError(key: KeyRecord, now: number): KeywardError | undefined {
  const status = keyStatus(key, now);
  if (status === 'revoked') return new KeywardError('KEY_REVOKED', `Key ${key.id} was revoked at ${key.revokedAt}.`, { details: { keyId: key.id } });
  if (status === 'expired') {
    const successor = key.rotatedToId ? ` It was rotated to ${key.rotatedToId}.` : '';
    return new KeywardError('KEY_EXPIRED', `Key ${key.id} expired at ${key.expiresAt}.${successor}`, { details: { keyId: key.id } });
  }
  return undefined;
}

/** What a presented secret led to: a usable key, or the reason (with the stored key, when there is one). */
export type PresentedKey = { ok: true; key: KeyRecord } | { ok: false; error: KeywardError; key?: KeyRecord };

/**
 * Pure: judge the stored key found (or not) for a presented secret's hash.
 * Secrets are never compared: the store is indexed by SHA-256(secret), and
 * the timing of a lookup by digest tells nothing about any stored secret.
 */
export function judgePresentedKey(key: KeyRecord | undefined, now: number): PresentedKey {
  if (!key) return { ok: false, error: new KeywardError('UNKNOWN_KEY', 'No key matches this secret.') };
  const unusable = keyUsabilityError(key, now);
  return unusable ? { ok: false, error: unusable, key } : { ok: true, key };
}

/** Why a presented secret cannot be a keyward key (a typo, truncation, another system's token), if it cannot. */
function formatError(presented: string, prefix: string): KeywardError | undefined {
  try {
    checkSecretFormat(presented, prefix);
    return undefined;
  } catch (error) {
    if (error instanceof KeywardError) return error;
    throw error;
  }
}

/** The presented secret's format is checked before any lookup (typos and truncation never reach the store). */
export async function lookupPresentedKey(store: Store, presented: string, now: number, prefix: string): Promise<PresentedKey> {
  const error = formatError(presented, prefix);
  return error ? { ok: false, error } : judgePresentedKey(await store.findKeyByHash(hashSecret(presented)), now);
}

/** The same from the store's in-memory reads, without awaiting (the verify fast path). */
export function lookupPresentedKeyNow(memory: MemoryReads, presented: string, now: number, prefix: string): PresentedKey {
  const error = formatError(presented, prefix);
  return error ? { ok: false, error } : judgePresentedKey(memory.keyByHash(hashSecret(presented)), now);
}

/** Finds the stored key for a presented secret, or throws the cause. */
export async function findKeyForSecret(store: Store, presented: string, now: number, prefix: string): Promise<KeyRecord> {
  const found = await lookupPresentedKey(store, presented, now, prefix);
  if (!found.ok) throw found.error;
  return found.key;
}

function notAllowed(key: KeyRecord, ip: string | null, owner: string): KeywardError {
  return ip === null
    ? new KeywardError('IP_NOT_ALLOWED', `This key may only be used from addresses on ${owner} IP allowlist, and no client address was given.`, {
        details: { keyId: key.id, ip: null },
      })
    : new KeywardError('IP_NOT_ALLOWED', `Requests from ${normalizeAddress(ip)} are not on ${owner} IP allowlist.`, {
        details: { keyId: key.id, ip: normalizeAddress(ip) },
      });
}

/** Pure: the allowlist error for a key used from `ip`, if its organization's or its own list excludes it. */
export function allowlistError(organization: Organization, key: KeyRecord, ip: string | null): KeywardError | undefined {
  if (!addressAllowed(ip, organization.ipAllowlist)) return notAllowed(key, ip, "the organization's");
  if (!addressAllowed(ip, key.ipAllowlist)) return notAllowed(key, ip, `key ${key.id}'s`);
  return undefined;
}
