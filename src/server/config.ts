/** Server settings: flags override environment variables, which override defaults (names fixed by DESIGN.md). */
import { z } from 'zod';
import { DEFAULT_TOKEN_PREFIX, TOKEN_PREFIX_PATTERN } from '../core/token.ts';

export const ServerConfig = z.object({
  port: z.coerce.number().int().min(0).max(65_535).default(8080),
  host: z.string().min(1).default('127.0.0.1'),
  storeFile: z.string().min(1).default('./.keyward/db.json'),
  databaseUrl: z.string().min(1).optional(),
  tokenPrefix: z.string().regex(TOKEN_PREFIX_PATTERN, 'must be lowercase letters/digits ending in "_", e.g. kw_').default(DEFAULT_TOKEN_PREFIX),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  usageFlushMs: z.coerce.number().int().min(10).max(600_000).default(5_000),
  /** On an empty store, create an organization and admin key and print the secret once. */
  bootstrapOrganization: z.string().min(1).optional(),
});
export type ServerConfig = z.output<typeof ServerConfig>;
export type ServerConfigInput = z.input<typeof ServerConfig>;

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): ServerConfigInput {
  const pick = (name: string) => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  return {
    port: pick('KEYWARD_PORT'),
    host: pick('KEYWARD_HOST'),
    storeFile: pick('KEYWARD_STORE'),
    databaseUrl: pick('KEYWARD_DATABASE_URL'),
    tokenPrefix: pick('KEYWARD_TOKEN_PREFIX'),
    logLevel: pick('KEYWARD_LOG_LEVEL') as ServerConfigInput['logLevel'],
    usageFlushMs: pick('KEYWARD_USAGE_FLUSH_MS'),
  } as ServerConfigInput;
}

/** Later sources win; undefined never overrides. */
export function resolveConfig(...sources: ServerConfigInput[]): ServerConfig {
  const merged: Record<string, unknown> = {};
  for (const source of sources) {
    for (const [name, value] of Object.entries(source)) if (value !== undefined) merged[name] = value;
  }
  const result = ServerConfig.safeParse(merged);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new Error(`invalid configuration: ${issue.path.join('.')}: ${issue.message}`);
  }
  return result.data;
}
