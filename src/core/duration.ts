/**
 * Durations as people write them in manifests and flags: Go style ("2160h",
 * "1h30m", "90s", "500ms") plus days and weeks ("90d", "2w"). "0" is zero.
 * One parser for the API, the CRD, the constructs and the CLI.
 */
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

export const DURATION_PATTERN = /^(0|([0-9]+(ms|s|m|h|d|w))+)$/;
const PART = /([0-9]+)(ms|s|m|h|d|w)/g;

/** Largest accepted duration: ten years, far beyond any sane grace period or interval. */
export const MAX_DURATION_MS = 10 * 365 * UNIT_MS.d;

export function parseDuration(text: string): number {
  if (!DURATION_PATTERN.test(text)) {
    throw new RangeError(`"${text}" is not a duration; use forms like 30s, 15m, 24h, 90d or 1h30m`);
  }
  let total = 0;
  for (const [, amount, unit] of text.matchAll(PART)) {
    total += Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
  }
  if (total > MAX_DURATION_MS) throw new RangeError(`"${text}" is longer than ten years`);
  return total;
}

export function isDuration(text: string): boolean {
  try {
    parseDuration(text);
    return true;
  } catch {
    return false;
  }
}

/** Shortest readable form, e.g. 7776000000 -> "90d", 5400000 -> "1h30m". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  let rest = ms;
  let out = '';
  for (const unit of ['d', 'h', 'm', 's', 'ms'] as const) {
    const size = UNIT_MS[unit];
    const amount = Math.floor(rest / size);
    if (amount > 0) {
      out += `${amount}${unit}`;
      rest -= amount * size;
    }
  }
  return out;
}
