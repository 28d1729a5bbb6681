/** How a key stands, as badges: active / expired / revoked, expiring, rotation due, unused 30+ days. */
import { h } from 'preact';
import type { KeyView } from './api.ts';
import { formatDate, formatDateTime, relativeTime, rotationDue, unusedFor30Days } from './format.ts';
import { Badge } from './ui.ts';

export function StatusBadges({ apiKey, now }: { apiKey: KeyView; now: number }) {
  const badges = [];
  if (apiKey.status === 'active') badges.push(h(Badge, { key: 's', tone: 'success' }, 'Active'));
  else badges.push(h(Badge, { key: 's', tone: 'neutral' }, apiKey.status === 'expired' ? 'Expired' : 'Revoked'));
  if (apiKey.status === 'active' && apiKey.expiresAt) {
    badges.push(h(Badge, { key: 'e', tone: 'warning', title: formatDateTime(apiKey.expiresAt) }, `Expires ${relativeTime(apiKey.expiresAt, now)}`));
  }
  if (rotationDue(apiKey, now) && !apiKey.rotatedToId) badges.push(h(Badge, { key: 'r', tone: 'danger', title: `Due since ${formatDate(apiKey.rotationDueAt)}` }, 'Rotation due'));
  if (unusedFor30Days(apiKey, now)) badges.push(h(Badge, { key: 'u', tone: 'info' }, 'Unused 30+ days'));
  return h('span', { class: 'badges' }, badges);
}
