/** Rotation policy: how long a key may live per environment, how long its predecessor overlaps, and successor names. */
export const ENVIRONMENTS = ['production', 'staging', 'development'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/** The environment of a key (or ApiKey) that names none. */
export const DEFAULT_ENVIRONMENT: Environment = 'production';

/** How long a rotated key keeps working beside its successor unless told otherwise (grace period, overlap). */
export const DEFAULT_ROTATION_OVERLAP = '24h';

/** A rotation token (spec.rotation.token, a tokens file entry): any non-empty string up to this long. */
export const ROTATION_TOKEN_MAX_LENGTH = 253;

const DAY_MS = 86_400_000;

/** Production keys rotate every 90 days, development keys every 180; staging follows production. An organization may override them (RotationDays). */
export const DEFAULT_ROTATION_DAYS: Readonly<Record<Environment, number>> = {
  production: 90,
  staging: 90,
  development: 180,
};

export type RotationDays = Partial<Record<Environment, number>>;

/**
 * The longest grace period a rotation may give an organization's old key,
 * unless the service operator set another (`keyward org set-max-grace-period`).
 * An overlap key does not count against the plan, so this bounds how long it is free.
 */
export const DEFAULT_MAX_GRACE_PERIOD = '7d';

/** Days between rotations in an environment: the organization's setting, else the default. */
export function rotationDays(environment: Environment, overrides: RotationDays = {}): number {
  return overrides[environment] ?? DEFAULT_ROTATION_DAYS[environment];
}

export function rotationIntervalMs(environment: Environment, overrides: RotationDays = {}): number {
  return rotationDays(environment, overrides) * DAY_MS;
}

export function rotationDueAt(createdAt: Date, environment: Environment, overrides: RotationDays = {}): Date {
  return new Date(createdAt.getTime() + rotationIntervalMs(environment, overrides));
}

/** "Production Server" -> "Production Server v2"; "Production Server v2" -> "Production Server v3". */
export function successorName(name: string): string {
  const match = /^(.*) v(\d+)$/.exec(name);
  if (match?.[1] !== undefined && match[2] !== undefined) return `${match[1]} v${Number(match[2]) + 1}`;
  return `${name} v2`;
}
