/**
 * How keys print: the table columns (`keys list`, `get`, `create`, …) and the
 * `keys describe` view. Pure: data in, text out.
 */
import type { KeyView } from '../client/index.ts';
import type { RecentClient } from '../core/retirement.ts';
import { age, colours, relative, renderDescribe, when, type DescribeValue, type View } from './output.ts';

/** What the STATUS column says: the API's status, and "rotating" for an old key in its grace period. */
export const keyStatus = (key: KeyView): string => (key.status === 'active' && key.rotatedToId ? 'rotating' : key.status);

const STATUS_COLOUR: Record<string, (text: string) => string> = { active: colours.green, rotating: colours.yellow, expired: colours.yellow, revoked: colours.red };

/** When rotation is due, for keys that can still be rotated. */
const rotationDue = (key: KeyView, now: number): string => (key.status !== 'active' || key.rotatedToId ? '-' : Date.parse(key.rotationDueAt) <= now ? 'now' : relative(key.rotationDueAt, now));

export const KEY_VIEW: View<KeyView> = {
  kind: 'key',
  plural: 'keys',
  id: (key) => key.id,
  columns: [
    { header: 'NAME', value: (key) => key.name },
    { header: 'KEY ID', value: (key) => key.id },
    { header: 'ROLE', value: (key) => key.role },
    { header: 'ENVIRONMENT', value: (key) => key.environment },
    { header: 'STATUS', value: keyStatus, colour: (text) => (STATUS_COLOUR[text] ?? String)(text) },
    { header: 'EXPIRES', value: (key, now) => relative(key.expiresAt, now) },
    { header: 'ROTATION DUE', value: rotationDue },
    { header: 'LAST USED', value: (key, now) => (key.lastUsedAt ? age(key.lastUsedAt, now) : '<never>') },
    { header: 'AGE', value: (key, now) => age(key.createdAt, now) },
    { header: 'HINT', value: (key) => key.hint, wide: true },
    { header: 'LAST IP', value: (key) => key.lastUsedIp, wide: true },
    { header: 'CREATED BY', value: (key) => key.createdBy, wide: true },
    { header: 'ROTATED TO', value: (key) => key.rotatedToId, wide: true },
    { header: 'IP ALLOWLIST', value: (key) => key.ipAllowlist.join(','), wide: true },
    { header: 'METADATA', value: (key) => Object.entries(key.metadata).map(([k, v]) => `${k}=${v}`).join(','), wide: true },
  ],
};

/** The fields of `keys describe`, in order; commands that know more about a key (a rotation in progress) add their own after these. */
export function keyDescription(key: KeyView, now = Date.now()): [string, DescribeValue][] {
  return [
    ['Name', key.name],
    ['Key ID', key.id],
    ['Organization', key.organizationId],
    ['Role', key.role],
    ['Environment', key.environment],
    ['Status', keyStatus(key)],
    ['Hint', key.hint],
    ['Created', `${key.createdAt} (${age(key.createdAt, now)} ago)${key.createdBy ? ` by ${key.createdBy}` : ''}`],
    ['Expires', when(key.expiresAt, now) ?? '<never>'],
    ['Revoked', when(key.revokedAt, now)],
    ['Rotation due', key.status === 'active' && !key.rotatedToId ? when(key.rotationDueAt, now) : '-'],
    ['Last used', key.lastUsedAt ? `${when(key.lastUsedAt, now)}${key.lastUsedIp ? ` from ${key.lastUsedIp}` : ''}` : '<never>'],
    ['Rotated from', key.rotatedFromId],
    ['Rotated to', key.rotatedToId],
    ['IP allowlist', key.ipAllowlist],
    ['Metadata', key.metadata],
    ...transitionOf(key, now),
    ['Recent clients', key.recentClients.map((c) => clientLine(c, now))],
  ];
}

const clientLine = (c: RecentClient, now: number): string => `${c.ip ?? '<unknown address>'}${c.userAgent ? ` (${c.userAgent})` : ''}, ${age(c.lastUsedAt, now)} ago`;

/** Once rotated: how the old key ends (its mode, deadline, end) and who still uses it. */
function transitionOf(key: KeyView, now: number): [string, DescribeValue][] {
  const t = key.transition;
  if (!t) return [];
  return [
    [
      'Transition',
      [
        `Revoke old:  ${t.revokeOld}${t.quietPeriod ? ` (quiet period ${t.quietPeriod})` : ''}`,
        `Rotated at:  ${t.rotatedAt}`,
        `Deadline:    ${t.deadline ?? '<none>'}`,
        `Ended:       ${t.endedBy ? `${t.endedBy} at ${t.endedAt}` : '<in transition>'}`,
        `Stragglers:  ${t.stragglers.length === 0 ? '<none>' : ''}`,
        ...t.stragglers.map((s) => `  ${clientLine(s, now)}`),
      ],
    ],
  ];
}

export const describeKey = (key: KeyView, now = Date.now()): string => renderDescribe(keyDescription(key, now));
