/** The records keyward keeps, and the public views the API returns. */
import type { Actor } from './people.ts';
import { transitionView, type RecentClient, type Retirement } from './retirement.ts';
import type { Environment, RotationDays } from './rotation.ts';

export type Metadata = Record<string, string | number | boolean>;

export interface Organization {
  id: string;
  name: string;
  plan: string;
  ipAllowlist: string[];
  rotationDays: RotationDays;
  /** Longest rotation grace period (a duration, e.g. "7d"); set by the service operator, like the plan. */
  maxGracePeriod: string;
  /** What a leak report (GitHub secret scanning) does to one of its keys. */
  leakPolicy: LeakPolicy;
  createdAt: string;
}

/**
 * rotate: compromise with replacement (an operator-managed key gets its
 * replacement from the operator; another key is revoked, since nobody would
 * receive a replacement's secret); revoke: compromise without replacement;
 * notify: an incident and a notification only, the key keeps working.
 */
export const LEAK_POLICIES = ['rotate', 'revoke', 'notify'] as const;
export type LeakPolicy = (typeof LEAK_POLICIES)[number];
export const DEFAULT_LEAK_POLICY: LeakPolicy = 'rotate';

/** A key as stored: the secret itself is never here, only its SHA-256. */
export interface KeyRecord {
  id: string;
  organizationId: string;
  name: string;
  roleId: string;
  environment: Environment;
  secretHash: string;
  secretHint: string;
  metadata: Metadata;
  ipAllowlist: string[];
  createdAt: string;
  createdBy: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
  rotationDueAt: string;
  lastUsedAt: string | null;
  lastUsedIp: string | null;
  rotatedFromId: string | null;
  rotatedToId: string | null;
  idempotencyKey: string | null;
  /** The latest accepted use per client (address, user agent), most recent first, bounded (retirement.ts). */
  recentClients: RecentClient[];
  /** Set by a rotation on the key it replaces: how it ends (retirement.ts). */
  retirement: Retirement | null;
}

export interface CustomRole {
  organizationId: string;
  id: string;
  name: string;
  description: string;
  permissions: string[];
  createdAt: string;
  updatedAt: string;
}

export interface CustomPermission {
  organizationId: string;
  name: string;
  description: string;
  createdAt: string;
}

export type KeyStatus = 'active' | 'expired' | 'revoked';

export function keyStatus(key: Pick<KeyRecord, 'revokedAt' | 'expiresAt'>, now: number): KeyStatus {
  if (key.revokedAt !== null) return 'revoked';
  if (key.expiresAt !== null && Date.parse(key.expiresAt) <= now) return 'expired';
  return 'active';
}

/** What the API shows of a key: the record without its hash and idempotency key, the role under its API name, and its status. */
export type KeyView = Omit<KeyRecord, 'secretHash' | 'secretHint' | 'roleId' | 'idempotencyKey' | 'retirement'> & {
  role: string;
  status: KeyStatus;
  hint: string;
  /** For a rotated key: how its transition ends, and who still uses it. */
  transition: ReturnType<typeof transitionView>;
};

export function toKeyView(key: KeyRecord, now: number): KeyView {
  return {
    id: key.id,
    organizationId: key.organizationId,
    name: key.name,
    role: key.roleId,
    environment: key.environment,
    status: keyStatus(key, now),
    hint: key.secretHint,
    metadata: key.metadata,
    ipAllowlist: key.ipAllowlist,
    createdAt: key.createdAt,
    createdBy: key.createdBy,
    expiresAt: key.expiresAt,
    revokedAt: key.revokedAt,
    rotationDueAt: key.rotationDueAt,
    lastUsedAt: key.lastUsedAt,
    lastUsedIp: key.lastUsedIp,
    rotatedFromId: key.rotatedFromId,
    rotatedToId: key.rotatedToId,
    recentClients: key.recentClients,
    transition: transitionView(key, now),
  };
}

/** One entry of the append-only audit log. Never holds a secret: only ids, names and changed fields. */
export interface AuditEvent {
  id: string;
  organizationId: string;
  at: string;
  action: AuditAction;
  actorKeyId: string | null;
  /** The key (id and name) or member (id and email) that acted; null for the service itself (bootstrap, throttling). Older records lack it. */
  actor?: Actor | null;
  ip: string | null;
  targetType: 'key' | 'role' | 'permission' | 'organization' | 'address' | 'member' | 'invitation' | 'session' | 'passkey';
  targetId: string;
  changes?: { before?: Record<string, unknown>; after?: Record<string, unknown> };
}

export const AUDIT_ACTIONS = [
  'organization.created',
  'organization.updated',
  'ip-allowlist.updated',
  'key.created',
  'key.updated',
  'key.rotated',
  'key.revoked',
  'key.expired',
  'key.compromised',
  'key.leak-reported',
  'role.created',
  'role.updated',
  'role.deleted',
  'permission.created',
  'auth.throttled',
  'invitation.created',
  'invitation.revoked',
  'invitation.accepted',
  'member.added',
  'member.updated',
  'member.removed',
  'member.signed-in',
  'member.signed-out',
  'passkey.added',
  'passkey.removed',
  'organization.oidc-updated',
  'organization.oidc-removed',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** Key changes the change feed (GET /v1/events) carries: the audit records of these actions, in commit order. */
export const KEY_FEED_ACTIONS: readonly AuditAction[] = ['key.created', 'key.updated', 'key.rotated', 'key.revoked', 'key.compromised', 'key.leak-reported'];
export const isKeyFeedAction = (action: AuditAction): boolean => KEY_FEED_ACTIONS.includes(action);

/** Metadata the operator puts on the keys it issues: the ApiKey they belong to. */
export const OPERATOR_METADATA = { namespace: 'k8s/namespace', name: 'k8s/name', uid: 'k8s/uid' } as const;
export const isOperatorManaged = (key: Pick<KeyRecord, 'metadata'>): boolean => typeof key.metadata[OPERATOR_METADATA.uid] === 'string';

/** How a compromise or leak came to be known. */
export interface IncidentReporter {
  via: 'api' | 'github-secret-scanning';
  /** The key that reported it (api), or the member (signed in to the dashboard). */
  keyId: string | null;
  memberId?: string;
  /** The member's email as it was when they reported it. */
  memberEmail?: string;
  ip: string | null;
  /** Where the secret was found (github-secret-scanning): the URL, GitHub's token type and source (content, commit, …). */
  url?: string;
  tokenType?: string;
  source?: string;
}

export interface IncidentAction {
  at: string;
  /** revoked, replacement-issued, replacement-by-operator, notified, reported-again, kept (notify policy) … */
  action: string;
  detail: string;
  keyId?: string;
}

/** One attempt to deliver the incident's notification to the alert webhook. */
export interface NotificationAttempt {
  at: string;
  attempt: number;
  outcome: 'delivered' | 'refused' | 'unreachable' | 'not-configured';
  httpStatus: number | null;
}

/** A compromise or leak of one key: who reported it and how, what was done and when. Never holds a secret. */
export interface Incident {
  id: string;
  organizationId: string;
  keyId: string;
  keyName: string;
  reason: string;
  reportedAt: string;
  reportedBy: IncidentReporter;
  /** pending: accepted (a leak report), not yet acted on; handled: done. */
  state: 'pending' | 'handled';
  /** What was decided: the API's compromise, or the organization's leak policy. */
  response: 'compromise' | LeakPolicy;
  replacementKeyId: string | null;
  /** One incident per leaked key (github:<key id>): a report sent twice opens one. */
  dedupeKey: string | null;
  actions: IncidentAction[];
  notifications: NotificationAttempt[];
}

/** Requests seen for one key on one UTC day with one outcome (VALID or the error code). */
export interface UsageCount {
  organizationId: string;
  keyId: string;
  day: string;
  outcome: string;
  count: number;
}

/**
 * Uses of one key on one UTC day from one client address, with one outcome
 * and one requested permission (the verify body's; null when none was asked
 * for, or for a call the key itself made to this service): the
 * investigation view of an incident. Accepted and refused uses alike.
 */
export interface AddressUse {
  organizationId: string;
  keyId: string;
  day: string;
  /** The client's address (a verify call's `ip`, else the caller's); null when not known. */
  ip: string | null;
  outcome: string;
  permission: string | null;
  count: number;
  firstSeen: string;
  lastSeen: string;
}

/**
 * Most address rows kept per key and UTC day (each distinct address ×
 * outcome × permission is a row). Uses beyond it still count in the daily
 * totals (UsageCount); the investigation view says how many it could not
 * itemize. A key used from more addresses a day than this is a shared
 * service's, where one address more says little.
 */
export const MAX_ADDRESS_ROWS_PER_KEY_DAY = 200;
