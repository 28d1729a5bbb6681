/** Usage numbers for the charts (bar-chart.ts draws them): pure aggregation, no DOM. */
import type { UsageItem } from './api.ts';

export const PALETTE = ['#1f4fd1', '#0f8a5f', '#b35c00', '#8a3ffc', '#c0267d', '#00708a', '#5c6470'];
export const OTHER_KEYS = '__other__';
export const MAX_SERIES = 6;

export interface Series {
  keyId: string;
  total: number;
  perDay: number[];
  color: string;
}

export interface UsageSummary {
  days: string[];
  /** Requests (any outcome) per key per day; the busiest keys first, the rest folded into "other keys". */
  series: Series[];
  /** Failed authentications (outcome other than VALID) per day. */
  failedPerDay: number[];
  failures: { keyId: string; outcome: string; count: number }[];
  totalRequests: number;
  totalFailed: number;
}

export function summarizeUsage(items: readonly UsageItem[], days: readonly string[]): UsageSummary {
  const dayIndex = new Map(days.map((d, i) => [d, i]));
  const perKey = new Map<string, number[]>();
  const failedPerDay = days.map(() => 0);
  const failures = new Map<string, { keyId: string; outcome: string; count: number }>();
  let totalRequests = 0;
  let totalFailed = 0;
  for (const item of items) {
    const i = dayIndex.get(item.day);
    if (i === undefined || !(item.count > 0)) continue;
    const keyId = item.keyId ?? '(unknown key)';
    const row = perKey.get(keyId) ?? days.map(() => 0);
    row[i]! += item.count;
    perKey.set(keyId, row);
    totalRequests += item.count;
    if (item.outcome !== 'VALID') {
      failedPerDay[i]! += item.count;
      totalFailed += item.count;
      const id = `${keyId}\u0000${item.outcome}`;
      const entry = failures.get(id) ?? { keyId, outcome: item.outcome, count: 0 };
      entry.count += item.count;
      failures.set(id, entry);
    }
  }
  const ranked = [...perKey.entries()]
    .map(([keyId, perDay]) => ({ keyId, perDay, total: perDay.reduce((a, b) => a + b, 0) }))
    .sort((a, b) => b.total - a.total || a.keyId.localeCompare(b.keyId));
  const top = ranked.slice(0, MAX_SERIES);
  const rest = ranked.slice(MAX_SERIES);
  const series: Series[] = top.map((s, i) => ({ ...s, color: PALETTE[i % PALETTE.length]! }));
  if (rest.length > 0) {
    const perDay = days.map((_, i) => rest.reduce((sum, s) => sum + s.perDay[i]!, 0));
    series.push({ keyId: OTHER_KEYS, perDay, total: perDay.reduce((a, b) => a + b, 0), color: PALETTE[PALETTE.length - 1]! });
  }
  return {
    days: [...days],
    series,
    failedPerDay,
    failures: [...failures.values()].sort((a, b) => b.count - a.count || a.keyId.localeCompare(b.keyId)),
    totalRequests,
    totalFailed,
  };
}
