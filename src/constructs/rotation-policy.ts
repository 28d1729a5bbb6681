/**
 * How often a key rotates, as a value the constructs turn into the ApiKey
 * spec (Kubernetes) or Secrets Manager rotation rules (AWS).
 *
 * `manual()` means "no scheduled rotation": on Kubernetes it sets
 * `rotation.suspend: true` (the operator still rotates exactly once when the
 * rotation token changes, so a pull request can rotate the key); Secrets
 * Manager has no suspend, so on AWS it becomes the longest schedule AWS
 * accepts (1000 days) and rotations happen on demand
 * (`aws secretsmanager rotate-secret`) or by bumping the token.
 */
import { DEFAULT_ROTATION_DAYS } from '../core/rotation.ts';
import { formatDuration, isDuration, parseDuration } from '../core/duration.ts';

export type RotationPolicyKind = 'production' | 'development' | 'every' | 'manual';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** Secrets Manager's limits for rotation_rules. */
export const AWS_MAX_ROTATION_DAYS = 1000;
export const AWS_MIN_ROTATION_HOURS = 4;

export type AwsRotationRules = { automaticallyAfterDays: number } | { scheduleExpression: string };

export class RotationPolicy {
  readonly kind: RotationPolicyKind;
  /** The interval as written ("90d", "2160h"); null for manual. Checked by the construct that uses it, so errors name that construct. */
  readonly interval: string | null;

  private constructor(kind: RotationPolicyKind, interval: string | null) {
    this.kind = kind;
    this.interval = interval;
  }

  /** Every 90 days: the default for production (and staging) keys. */
  static production(): RotationPolicy {
    return new RotationPolicy('production', `${DEFAULT_ROTATION_DAYS.production}d`);
  }

  /** Every 180 days: the default for development keys. */
  static development(): RotationPolicy {
    return new RotationPolicy('development', `${DEFAULT_ROTATION_DAYS.development}d`);
  }

  /** A duration such as "30d", "2160h", "1w", or milliseconds. */
  static every(duration: string | number): RotationPolicy {
    return new RotationPolicy('every', typeof duration === 'number' ? formatDuration(duration) : duration);
  }

  /** No scheduled rotation; token bumps still rotate (see the module comment). */
  static manual(): RotationPolicy {
    return new RotationPolicy('manual', null);
  }

  /** The `spec.rotation` fields this policy sets. */
  toSpec(): { interval?: string; suspend?: boolean } {
    return this.interval === null ? { suspend: true } : { interval: this.interval };
  }

  /**
   * Secrets Manager rotation rules: whole days as `automatically_after_days`,
   * otherwise whole hours (at least 4) as `rate(N hours)`. Returns problems
   * instead of throwing so the construct can name itself.
   */
  toAwsRotationRules(): { ok: true; rules: AwsRotationRules } | { ok: false; problem: string } {
    if (this.interval === null) return { ok: true, rules: { automaticallyAfterDays: AWS_MAX_ROTATION_DAYS } };
    if (!isDuration(this.interval)) {
      return { ok: false, problem: `rotation.interval: "${this.interval}" is not a duration; use forms like 90d, 2160h or 1w` };
    }
    const ms = parseDuration(this.interval);
    if (ms % DAY_MS === 0 && ms > 0) {
      const days = ms / DAY_MS;
      if (days > AWS_MAX_ROTATION_DAYS) {
        return { ok: false, problem: `rotation.interval: Secrets Manager rotates at most every ${AWS_MAX_ROTATION_DAYS} days (got ${this.interval})` };
      }
      return { ok: true, rules: { automaticallyAfterDays: days } };
    }
    if (ms % HOUR_MS === 0 && ms / HOUR_MS >= AWS_MIN_ROTATION_HOURS) {
      return { ok: true, rules: { scheduleExpression: `rate(${ms / HOUR_MS} hours)` } };
    }
    return {
      ok: false,
      problem: `rotation.interval: Secrets Manager needs whole days, or whole hours of at least ${AWS_MIN_ROTATION_HOURS} (got ${this.interval})`,
    };
  }

  toString(): string {
    return this.kind === 'every' ? `every ${this.interval}` : this.kind;
  }
}
