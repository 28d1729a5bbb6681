/**
 * How a rotated key ends, and who still uses it. With `afterGrace` the old
 * key simply expires when the grace period ends. With `whenUnused` the key
 * service revokes it once it has seen no accepted use of it for the quiet
 * period after the rotation, and only once the successor has been used; the
 * grace period stays the hard deadline. Pure decisions over records: the
 * service's sweeper (src/server/retirement.ts) gathers and acts, the views and
 * the operator read the same functions.
 */
import { parseDuration } from './duration.ts';
import { withoutHidden } from './text.ts';

export const REVOKE_OLD_MODES = ['afterGrace', 'whenUnused'] as const;
export type RevokeOld = (typeof REVOKE_OLD_MODES)[number];
export const DEFAULT_REVOKE_OLD: RevokeOld = 'afterGrace';

/** How long the old key must go unused before `whenUnused` revokes it, unless told otherwise. */
export const DEFAULT_QUIET_PERIOD = '10m';

/** Clients (address and user agent) remembered per key: the most recent ones. */
export const MAX_RECENT_CLIENTS = 10;

/** One client's latest accepted use of a key. */
export interface RecentClient {
  ip: string | null;
  userAgent: string | null;
  lastUsedAt: string;
}

/** How a rotated key's transition ended: revoked by the service once unused, or at the deadline. */
export type RetirementEnd = 'unused' | 'deadline';

/** Set on the old key by a rotation. */
export interface Retirement {
  revokeOld: RevokeOld;
  /** A duration (whenUnused only). */
  quietPeriod: string | null;
  rotatedAt: string;
  /** Set by the service when it ended a whenUnused transition (and why). */
  endedAt: string | null;
  endedBy: RetirementEnd | null;
}

interface KeyFacts {
  id: string;
  revokedAt: string | null;
  expiresAt: string | null;
  lastUsedAt: string | null;
  recentClients: readonly RecentClient[];
  retirement: Retirement | null;
}

/** Longest user agent kept (a header may be anything; the API's verify body allows as much). */
export const USER_AGENT_MAX_LENGTH = 200;

/** A user agent as it is stored and shown: cut to length, without control, bidi or invisible characters. */
export const storedUserAgent = (userAgent: string | null): string | null =>
  userAgent === null ? null : withoutHidden(userAgent).slice(0, USER_AGENT_MAX_LENGTH) || null;

const sameClient = (a: RecentClient, b: RecentClient): boolean => a.ip === b.ip && a.userAgent === b.userAgent;

/** The newest use per client of both lists, most recent first, at most `limit`. */
export function mergeRecentClients(stored: readonly RecentClient[], incoming: readonly RecentClient[], limit = MAX_RECENT_CLIENTS): RecentClient[] {
  const merged: RecentClient[] = [];
  for (const client of [...incoming, ...stored]) {
    const existing = merged.find((other) => sameClient(other, client));
    if (!existing) merged.push({ ip: client.ip, userAgent: client.userAgent, lastUsedAt: client.lastUsedAt });
    else if (existing.lastUsedAt < client.lastUsedAt) existing.lastUsedAt = client.lastUsedAt;
  }
  return merged.sort((a, b) => (a.lastUsedAt < b.lastUsedAt ? 1 : a.lastUsedAt > b.lastUsedAt ? -1 : 0)).slice(0, limit);
}

const durationMs = (text: string | undefined): number | undefined => {
  try {
    return text === undefined ? undefined : parseDuration(text);
  } catch {
    return undefined; // the field's own check names it
  }
};

/**
 * Why a quiet period cannot be used, if it cannot: only with whenUnused, more
 * than 0, shorter than the grace period (overlap) that stays the deadline.
 * One wording for the key service's rotate and the ApiKey spec.
 */
export function quietPeriodProblem(
  whenUnused: boolean,
  quietPeriod: string | undefined,
  gracePeriod: string,
  words: { grace: string; mode: string } = { grace: 'the grace period', mode: 'revokeOld whenUnused' },
): string | undefined {
  if (!whenUnused) return quietPeriod === undefined ? undefined : `applies only when the old key is revoked when unused (${words.mode})`;
  const quiet = durationMs(quietPeriod ?? DEFAULT_QUIET_PERIOD);
  const grace = durationMs(gracePeriod);
  if (quiet === undefined || grace === undefined) return undefined;
  if (quiet === 0) return 'must be more than 0 (the time the old key must go unused)';
  if (quiet >= grace) return `must be shorter than ${words.grace} (${gracePeriod}), the hard deadline; ${quietPeriod ?? `the default ${DEFAULT_QUIET_PERIOD}`} is not`;
  return undefined;
}

const quietMs = (retirement: Retirement): number => parseDuration(retirement.quietPeriod ?? DEFAULT_QUIET_PERIOD);

/**
 * The clients that used the old key since its rotation and within the quiet
 * period before `now` (or before the deadline, once it passed): the ones a
 * whenUnused transition waits for.
 */
export function stragglers(key: KeyFacts, now: number): RecentClient[] {
  if (!key.retirement) return [];
  const { rotatedAt } = key.retirement;
  const until = key.expiresAt !== null ? Math.min(now, Date.parse(key.expiresAt)) : now;
  const since = until - quietMs(key.retirement);
  return key.recentClients.filter((client) => client.lastUsedAt > rotatedAt && Date.parse(client.lastUsedAt) > since);
}

export type RetirementDecision =
  /** Revoke now: unused for the quiet period, successor in use. `lastUsedAt` is what the decision saw (the store checks it still holds). */
  | { do: 'revoke'; lastUsedAt: string | null }
  /** The deadline passed: the key expired; record it and who still used it. */
  | { do: 'record-deadline' }
  /** Not yet: what it waits for, and (for consumers) when it could end at the earliest. */
  | { do: 'wait'; for: 'successor' | 'consumers'; until: number };

/**
 * What the service does about a whenUnused transition now; undefined when
 * there is none to decide (another mode, already ended, or revoked). The old
 * key's and successor's usage must include what is not flushed yet.
 */
export function retirementDecision(old: KeyFacts, successor: KeyFacts | undefined, now: number): RetirementDecision | undefined {
  const retirement = old.retirement;
  if (!retirement || retirement.revokeOld !== 'whenUnused' || retirement.endedAt !== null || old.revokedAt !== null) return undefined;
  if (old.expiresAt !== null && Date.parse(old.expiresAt) <= now) return { do: 'record-deadline' };
  const lastUse = old.lastUsedAt !== null && old.lastUsedAt > retirement.rotatedAt ? old.lastUsedAt : retirement.rotatedAt;
  const quietUntil = Date.parse(lastUse) + quietMs(retirement);
  const successorWorks = successor !== undefined && successor.revokedAt === null && (successor.expiresAt === null || Date.parse(successor.expiresAt) > now);
  if (!successorWorks || successor.lastUsedAt === null) return { do: 'wait', for: 'successor', until: quietUntil };
  if (now < quietUntil) return { do: 'wait', for: 'consumers', until: quietUntil };
  return { do: 'revoke', lastUsedAt: old.lastUsedAt };
}

/** How a transition ended, as views show it: by the service, by a person revoking it, or by its expiry. */
export type TransitionEnd = RetirementEnd | 'revoked' | 'expired';

/** What a rotated key's view says about its transition. */
export function transitionView(key: KeyFacts, now: number) {
  const retirement = key.retirement;
  if (!retirement) return null;
  const expired = key.expiresAt !== null && Date.parse(key.expiresAt) <= now;
  let endedBy: TransitionEnd | null = retirement.endedBy;
  let endedAt = retirement.endedAt;
  if (endedBy === null && key.revokedAt !== null) [endedBy, endedAt] = ['revoked', key.revokedAt];
  else if (endedBy === null && expired) [endedBy, endedAt] = [retirement.revokeOld === 'whenUnused' ? 'deadline' : 'expired', key.expiresAt];
  return {
    revokeOld: retirement.revokeOld,
    quietPeriod: retirement.quietPeriod,
    rotatedAt: retirement.rotatedAt,
    deadline: key.expiresAt,
    endedAt,
    endedBy,
    stragglers: stragglers(key, now),
  };
}
