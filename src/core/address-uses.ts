/**
 * Uses by client address (model.ts, AddressUse): how two counts of one row
 * become one. The usage tracker, both stores and the incident view merge
 * rows the same way.
 */
import type { AddressUse } from './model.ts';

/** The identity of an address row: key, day, address, outcome, permission. */
export const addressRowKey = (row: Pick<AddressUse, 'keyId' | 'day' | 'ip' | 'outcome' | 'permission'>): string =>
  `${row.keyId}\u0000${row.day}\u0000${row.ip ?? ''}\u0000${row.outcome}\u0000${row.permission ?? ''}`;

/** Two counts of the same row as one: the counts added, first and last seen widened. */
export const mergedAddressUse = (a: AddressUse, b: AddressUse): AddressUse => ({
  ...a,
  count: a.count + b.count,
  firstSeen: a.firstSeen < b.firstSeen ? a.firstSeen : b.firstSeen,
  lastSeen: a.lastSeen > b.lastSeen ? a.lastSeen : b.lastSeen,
});

/** Rows of one flush with duplicates merged (a failed flush's rows come back with the next), in key order (the lock order across replicas). */
export function mergeAddressUses(rows: readonly AddressUse[]): AddressUse[] {
  const merged = new Map<string, AddressUse>();
  for (const row of rows) {
    const id = addressRowKey(row);
    const existing = merged.get(id);
    merged.set(id, existing ? mergedAddressUse(existing, row) : row);
  }
  return [...merged].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, row]) => row);
}
