/** Pure helpers: dates, key attention badges, filtering. No DOM. */
import type { ListKeysQuery } from '../client/index.ts';

export const DAY_MS = 86_400_000;
export const UNUSED_DAYS = 30;

export interface KeyLike {
  id: string;
  name: string;
  role: string;
  environment: string;
  status: string;
  createdAt: string;
  lastUsedAt: string | null;
  rotationDueAt: string;
  expiresAt: string | null;
}

/** Rotation is due once rotationDueAt has passed. */
export const rotationDue = (key: KeyLike, now: number): boolean => Date.parse(key.rotationDueAt) < now;

/** Not used for 30+ days: last use (or creation, if never used) is at least 30 days ago. */
export const unusedFor30Days = (key: KeyLike, now: number): boolean =>
  now - Date.parse(key.lastUsedAt ?? key.createdAt) >= UNUSED_DAYS * DAY_MS;

export type Attention = 'all' | 'rotation-due' | 'unused';

/** Which keys the service lists (the API's status filter). */
export type KeyStatusFilter = NonNullable<ListKeysQuery['status']>;

export interface KeyQuery {
  search: string;
  role: string;
  environment: string;
  attention: Attention;
  /** Applied by the service, not by filterKeys. */
  status: KeyStatusFilter;
}

export function filterKeys<K extends KeyLike>(keys: readonly K[], query: Omit<KeyQuery, 'status'>, now: number): K[] {
  const needle = query.search.trim().toLowerCase();
  return keys.filter(
    (key) =>
      (needle === '' || key.name.toLowerCase().includes(needle) || key.id.toLowerCase().includes(needle)) &&
      (query.role === '' || key.role === query.role) &&
      (query.environment === '' || key.environment === query.environment) &&
      (query.attention !== 'rotation-due' || rotationDue(key, now)) &&
      (query.attention !== 'unused' || unusedFor30Days(key, now)),
  );
}

const dateFormat = new Intl.DateTimeFormat('en', { year: 'numeric', month: 'short', day: 'numeric' });
const dateTimeFormat = new Intl.DateTimeFormat('en', { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });

export const formatDate = (iso: string): string => dateFormat.format(new Date(iso));
export const formatDateTime = (iso: string): string => dateTimeFormat.format(new Date(iso));

/** "just now", "5 minutes ago", "in 3 hours", "2 days ago". */
export function relativeTime(iso: string, now: number): string {
  const diff = Date.parse(iso) - now;
  const abs = Math.abs(diff);
  if (abs < 45_000) return diff < 0 ? 'just now' : 'in a few seconds';
  // Round step by step (59.9 minutes is "1 hour", not "60 minutes").
  let n = Math.max(1, Math.round(abs / 60_000));
  let unit = 'minute';
  for (const [factor, next] of [[60, 'hour'], [24, 'day'], [30, 'month'], [12, 'year']] as const) {
    if (n < factor) break;
    n = Math.round(n / factor);
    unit = next;
  }
  const label = `${n} ${unit}${n === 1 ? '' : 's'}`;
  return diff < 0 ? `${label} ago` : `in ${label}`;
}

/** "40 s ago" under a minute (a straggler's last use is watched closely), else as relativeTime. */
export function agoPrecise(iso: string, now: number): string {
  const seconds = Math.round((now - Date.parse(iso)) / 1000);
  return seconds >= 0 && seconds < 60 ? `${seconds} s ago` : relativeTime(iso, now);
}

/** UTC calendar day, YYYY-MM-DD. */
export const isoDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** The last `days` UTC days ending today, oldest first. */
export function lastDays(days: number, now: number): string[] {
  const out: string[] = [];
  for (let i = days - 1; i >= 0; i--) out.push(isoDay(now - i * DAY_MS));
  return out;
}

/** A role id a user might type from a name: "Read Only" -> "read-only". */
export const slugify = (name: string): string =>
  name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .replace(/^[^a-z]+/, '')
    .slice(0, 63);

/** Compact "field: before → after" lines for an audit entry. */
export function describeChanges(changes: { before?: Record<string, unknown>; after?: Record<string, unknown> } | undefined): string[] {
  if (!changes) return [];
  const before = changes.before ?? {};
  const after = changes.after ?? {};
  const fields = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  const show = (v: unknown): string => (v === undefined ? '—' : typeof v === 'string' ? v : JSON.stringify(v));
  return fields.map((field) => {
    if (!(field in before)) return `${field}: ${show(after[field])}`;
    if (!(field in after)) return `${field}: ${show(before[field])} → —`;
    return `${field}: ${show(before[field])} → ${show(after[field])}`;
  });
}
