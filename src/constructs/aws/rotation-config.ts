/**
 * The rotation Lambda's settings and the environment variables that carry
 * them: one table, written by the ApiKeySecret construct
 * (`rotationEnvironment`) and read by the Lambda (`configFromEnv`), so the
 * two cannot name a variable differently. No zod here: the Lambda's bundle
 * stays small, and every value is a plain string or a list of them.
 */
import { DEFAULT_REVOKE_OLD, REVOKE_OLD_MODES, type RevokeOld } from '../../core/retirement.ts';
import { DEFAULT_ENVIRONMENT, DEFAULT_ROTATION_OVERLAP, ENVIRONMENTS, type Environment } from '../../core/rotation.ts';

export interface RotationConfig {
  url: string;
  adminKeySecretArn: string;
  keyName: string;
  role: string;
  environment: Environment;
  overlap: string;
  ipAllowlist: string[];
  /** How the old key ends; with whenUnused the key service revokes it once unused for quietPeriod (overlap stays the deadline). */
  revokeOld: RevokeOld;
  quietPeriod?: string;
}

/** The variable of each setting. The admin key itself is never a variable: the Lambda reads it from Secrets Manager at each invocation. */
export const ROTATION_ENV = {
  url: 'KEYWARD_URL',
  adminKeySecretArn: 'KEYWARD_ADMIN_KEY_SECRET_ARN',
  keyName: 'KEYWARD_KEY_NAME',
  role: 'KEYWARD_KEY_ROLE',
  environment: 'KEYWARD_KEY_ENVIRONMENT',
  overlap: 'KEYWARD_ROTATION_OVERLAP',
  revokeOld: 'KEYWARD_REVOKE_OLD',
  /** whenUnused only; empty: the key service's default. */
  quietPeriod: 'KEYWARD_QUIET_PERIOD',
  /** Comma-separated. */
  ipAllowlist: 'KEYWARD_KEY_IP_ALLOWLIST',
} as const satisfies Record<keyof RotationConfig, string>;

export class RotationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RotationError';
  }
}

/** The Lambda's environment for these settings (what the construct writes). */
export function rotationEnvironment(config: RotationConfig): Record<string, string> {
  return {
    [ROTATION_ENV.url]: config.url,
    [ROTATION_ENV.adminKeySecretArn]: config.adminKeySecretArn,
    [ROTATION_ENV.keyName]: config.keyName,
    [ROTATION_ENV.role]: config.role,
    [ROTATION_ENV.environment]: config.environment,
    [ROTATION_ENV.overlap]: config.overlap,
    [ROTATION_ENV.revokeOld]: config.revokeOld,
    [ROTATION_ENV.quietPeriod]: config.quietPeriod ?? '',
    [ROTATION_ENV.ipAllowlist]: config.ipAllowlist.join(','),
  };
}

/** The settings from the Lambda's environment; a missing or wrong variable is named. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): RotationConfig {
  const need = (name: string): string => {
    const value = env[name];
    if (!value) throw new RotationError(`${name} is not set (the ApiKeySecret construct sets it)`);
    return value;
  };
  const environment = env[ROTATION_ENV.environment] ?? DEFAULT_ENVIRONMENT;
  if (!(ENVIRONMENTS as readonly string[]).includes(environment)) {
    throw new RotationError(`${ROTATION_ENV.environment} must be ${ENVIRONMENTS.slice(0, -1).join(', ')} or ${ENVIRONMENTS.at(-1)}, not "${environment}"`);
  }
  const revokeOld = env[ROTATION_ENV.revokeOld] || DEFAULT_REVOKE_OLD;
  if (!(REVOKE_OLD_MODES as readonly string[]).includes(revokeOld)) {
    throw new RotationError(`${ROTATION_ENV.revokeOld} must be ${REVOKE_OLD_MODES.join(' or ')}, not "${revokeOld}"`);
  }
  const quietPeriod = env[ROTATION_ENV.quietPeriod] || undefined;
  return {
    url: need(ROTATION_ENV.url),
    adminKeySecretArn: need(ROTATION_ENV.adminKeySecretArn),
    keyName: need(ROTATION_ENV.keyName),
    role: need(ROTATION_ENV.role),
    environment: environment as Environment,
    overlap: env[ROTATION_ENV.overlap] || DEFAULT_ROTATION_OVERLAP,
    ipAllowlist: (env[ROTATION_ENV.ipAllowlist] ?? '').split(',').filter(Boolean),
    revokeOld: revokeOld as RevokeOld,
    ...(quietPeriod ? { quietPeriod } : {}),
  };
}
