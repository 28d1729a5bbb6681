/**
 * Who is calling, and what a presented key is worth, as "gather, then
 * decide": gatherKey reads what the store holds for a secret (its key by
 * hash, the key's organization and role permissions), synchronously when the
 * store has them in memory and as a promise otherwise; the verdicts are pure
 * functions of those facts. The same gatherer serves the caller of every
 * route and the key /v1/verify is asked about.
 */
import { KeywardError } from '../core/errors.ts';
import type { Actor, MemberRecord, SessionRecord } from '../core/people.ts';
import { addressAllowed, normalizeAddress } from '../core/ip.ts';
import { chain, type MaybePromise } from '../core/maybe.ts';
import { keyStatus, type CustomRole, type KeyRecord, type Organization } from '../core/model.ts';
import { builtinRole, holds } from '../core/permissions.ts';
import type * as schemas from '../core/schemas.ts';
import { hashSecret, secretFormatError } from '../core/token.ts';
import type { AuthReads } from '../store/store.ts';
import type { z } from 'zod';

/** A caller that presented a key (a machine). */
export interface KeyPrincipal {
  key: KeyRecord;
  organization: Organization;
  permissions: readonly string[];
  /** The client address the request came from (after trust-proxy rules). */
  ip: string | null;
  /** When it was authenticated (epoch ms): the request's one clock reading, for what it decides next. */
  at: number;
}

export type VerifyResult = z.output<typeof schemas.VerifyResult>;

/** What the store holds for a presented secret: all a verdict decides on. */
export interface KeyFacts {
  /** Why the secret (or the header carrying it) cannot be a keyward key; nothing was looked up then. */
  malformed: KeywardError | undefined;
  key: KeyRecord | undefined;
  /** The key's organization: read for a caller; for a presented key, the caller's when the key is in it. */
  organization: Organization | undefined;
  /** The permissions of the key's role, read when the key works (and is in the organization asked about). */
  permissions: readonly string[];
}

const NONE: readonly string[] = [];
const malformed = (error: KeywardError): KeyFacts => ({ malformed: error, key: undefined, organization: undefined, permissions: NONE });
const unknown: KeyFacts = { malformed: undefined, key: undefined, organization: undefined, permissions: NONE };


/** A caller signed in to the dashboard (a person), through their session cookie. */
export interface MemberPrincipal {
  member: MemberRecord;
  session: SessionRecord;
  organization: Organization;
  permissions: readonly string[];
  ip: string | null;
  /** When it was authenticated (epoch ms). */
  at: number;
}

/** Who is calling: a key or a signed-in member. */
export type Principal = KeyPrincipal | MemberPrincipal;

export const isMember = (principal: Principal): principal is MemberPrincipal => 'member' in principal;

/** The caller as audit records name it: a key with its name, a member with their email. */
export const actorOf = (principal: Principal): Actor =>
  isMember(principal) ? { type: 'member', id: principal.member.id, email: principal.member.email } : { type: 'key', id: principal.key.id, name: principal.key.name };

/** The id logged for a request and kept as a key's createdBy: the key's or the member's. */
export const actorId = (principal: Principal): string => (isMember(principal) ? principal.member.id : principal.key.id);


/** A presented secret whose format was checked (so typos and truncation never reach the store), or why it cannot be a key. */
export type CheckedSecret = string & { readonly formatChecked: unique symbol };
export type PresentedSecret = CheckedSecret | KeywardError;

/** Pure: a secret presented in a body (verify's `key`), its format checked. */
export function checkedSecret(secret: string, prefix: string): PresentedSecret {
  return secretFormatError(secret, prefix) ?? (secret as CheckedSecret);
}

/** Pure: the presented secret of an Authorization header value, its format checked, or why there is none. */
export function secretFromAuthorization(header: string | undefined, prefix: string): PresentedSecret {
  // The common case first: "Bearer <secret>", checked in place (a well-formed secret holds no whitespace, so nothing is left to explain).
  if (header !== undefined && header.length > 7 && header.startsWith('Bearer ')) {
    const formatError = secretFormatError(header, prefix, 7);
    if (formatError === undefined) return header.slice(7) as CheckedSecret;
    // Whitespace is the header's to explain (below); any other fault is the secret's.
    if (!/\s/.test(header.slice(7))) return formatError;
  }
  if (header === undefined || header.length === 0) return new KeywardError('MISSING_AUTHORIZATION', 'No Authorization header was sent.');
  // The scheme ends at the first whitespace, whatever it is ("Bearer<TAB>secret" is a Bearer header with the wrong separator).
  const space = header.search(/\s/);
  const scheme = space < 0 ? header : header.slice(0, space);
  if (scheme.toLowerCase() !== 'bearer') {
    // Name the scheme only when it is a plain word: never echo anything that may be part of a secret.
    const namedScheme = /^[A-Za-z][A-Za-z-]{0,15}$/.test(scheme) ? `the "${scheme}" scheme` : 'no "Bearer" scheme';
    return new KeywardError(
      'MISSING_BEARER',
      /_/.test(scheme)
        ? 'The Authorization header holds a bare key; put "Bearer " in front of it.'
        : `The Authorization header uses ${namedScheme}; keyward expects "Bearer <secret>".`,
    );
  }
  const credentials = header.slice(space + 1);
  if (space < 0 || credentials.length === 0) return new KeywardError('MALFORMED_AUTHORIZATION', 'The Authorization header says "Bearer" but carries no key.');
  if (header[space] !== ' ') {
    return new KeywardError('MALFORMED_AUTHORIZATION', 'The Authorization header separates "Bearer" from the key with a tab or other whitespace instead of one space.');
  }
  return new KeywardError('KEY_HAS_WHITESPACE', 'The key in the Authorization header contains or is surrounded by extra whitespace.');
}

const permissionsOfRole = (role: CustomRole | undefined): readonly string[] => role?.permissions ?? NONE;

/** The permissions of a role: built-in ones from the catalog, custom ones from the store. */
function rolePermissions(reads: AuthReads, organizationId: string, roleId: string): MaybePromise<readonly string[]> {
  const builtin = builtinRole(roleId);
  return builtin ? builtin.permissions : chain(reads.customRole(organizationId, roleId), permissionsOfRole);
}

/**
 * Gathers the facts for a presented secret. It comes with its format checked
 * (secretFromAuthorization, checkedSecret; the type says so), so typos and
 * truncation never reach the store. Secrets are never compared: the store is
 * indexed by SHA-256(secret), and the timing of a lookup by digest tells
 * nothing about any stored secret. `scope` is the organization a presented
 * key must belong to for more to be read (the caller's); without it, the key
 * is a caller's and its organization is read.
 */
export function gatherKey(reads: AuthReads, secret: PresentedSecret, now: number, scope?: Organization): MaybePromise<KeyFacts> {
  if (typeof secret !== 'string') return malformed(secret);
  const key = reads.keyByHash(hashSecret(secret));
  // Branches rather than a callback: no closure is made when the key is in memory.
  return key instanceof Promise ? key.then((found) => keyFacts(reads, found, now, scope)) : keyFacts(reads, key, now, scope);
}

/** The rest of gatherKey, once the key is known: its role's permissions (and organization) when it works. */
function keyFacts(reads: AuthReads, key: KeyRecord | undefined, now: number, scope: Organization | undefined): MaybePromise<KeyFacts> {
  if (!key) return unknown;
  if (scope !== undefined && key.organizationId !== scope.id) return { malformed: undefined, key, organization: undefined, permissions: NONE };
  if (keyStatus(key, now) !== 'active') return { malformed: undefined, key, organization: scope, permissions: NONE };
  const permissions = rolePermissions(reads, key.organizationId, key.roleId);
  const organization = scope ?? reads.organization(key.organizationId);
  if (!(permissions instanceof Promise) && !(organization instanceof Promise)) return { malformed: undefined, key, organization, permissions };
  return Promise.all([organization, permissions]).then(([org, granted]) => ({ malformed: undefined, key, organization: org, permissions: granted }));
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

/** Pure: the caller the facts make, or the error that refuses it. */
export function authenticationVerdict(facts: KeyFacts, ip: string | null, now: number): KeyPrincipal | KeywardError {
  if (facts.malformed) return facts.malformed;
  const { key, organization } = facts;
  if (!key) return new KeywardError('UNKNOWN_KEY', 'No key matches this secret.');
  const unusable = keyUsabilityError(key, now);
  if (unusable) return unusable;
  if (!organization) return new KeywardError('UNKNOWN_KEY', 'The organization of this key no longer exists.');
  return allowlistError(organization, key, ip) ?? { key, organization, permissions: facts.permissions, ip, at: now };
}

const refused = (error: KeywardError): VerifyResult => ({ valid: false, code: error.code, message: error.message, hint: error.hint });
const UNKNOWN_KEY: VerifyResult = refused(new KeywardError('UNKNOWN_KEY', 'No key matches this secret.'));

/**
 * Pure: the answer to /v1/verify for the presented key's facts (gathered in
 * the caller's organization). It never throws for the presented key: every
 * cause is an answer with valid:false and its code.
 */
export function verifyVerdict(caller: Principal, facts: KeyFacts, body: z.output<typeof schemas.VerifyBody>, now: number): VerifyResult {
  const { key } = facts;
  if (facts.malformed) return refused(facts.malformed);
  // Another organization's key is unknown here, whatever its state: nothing of it (revoked, expired, its id) is told.
  if (!key || key.organizationId !== caller.organization.id) return UNKNOWN_KEY;
  const error =
    keyUsabilityError(key, now) ??
    allowlistError(caller.organization, key, body.ip ?? null) ??
    (body.permission !== undefined && !holds(facts.permissions, body.permission)
      ? new KeywardError('INSUFFICIENT_PERMISSIONS', `This key's role does not grant "${body.permission}".`)
      : undefined);
  if (error) return refused(error);
  return {
    valid: true,
    code: 'VALID',
    keyId: key.id,
    name: key.name,
    role: key.roleId,
    // A copy (the role's own list stays the store's), by slice: spreading goes through the iterator protocol.
    permissions: facts.permissions.slice(),
    organizationId: key.organizationId,
    environment: key.environment,
    expiresAt: key.expiresAt,
    metadata: key.metadata,
  };
}
