/** Server settings: flags override environment variables, which override defaults (names fixed by DESIGN.md). */
import { z } from 'zod';
import { Duration } from '../core/schemas.ts';
import { DEFAULT_TOKEN_PREFIX, TOKEN_PREFIX_PATTERN } from '../core/token.ts';

/** "free=3,team=50,enterprise=unlimited" -> { free: 3, team: 50, enterprise: null } */
export function parsePlans(text: string): Record<string, number | null> {
  const plans: Record<string, number | null> = {};
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const match = /^([a-z][a-z0-9-]{0,63})=(\d+|unlimited)$/.exec(part);
    if (!match) throw new Error(`plan "${part}" must look like name=10 or name=unlimited`);
    plans[match[1]!] = match[2] === 'unlimited' ? null : Number(match[2]);
  }
  if (Object.keys(plans).length === 0) throw new Error('at least one plan is needed');
  return plans;
}

/** "host:port" (IPv6 in brackets, "[::1]:9464") -> { host, port }: where a listener of its own serves /metrics. */
export function parseListenAddress(text: string): { host: string; port: number } {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65_535) throw new Error(`"${text}" must be host:port, e.g. 127.0.0.1:9464 or [::1]:9464`);
  return { host: (match[1] ?? match[2])!, port };
}

/** Express "trust proxy" semantics: false, true, a hop count, or comma-separated addresses/CIDRs/names (loopback, uniquelocal…). */
export function parseTrustProxy(text: string): boolean | number | string {
  if (text === 'false' || text === '') return false;
  if (text === 'true') return true;
  if (/^\d+$/.test(text)) return Number(text);
  return text;
}

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
  plans: z.string().default('free=3,team=50,enterprise=unlimited').transform((text, ctx) => {
    try {
      return parsePlans(text);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  }),
  defaultPlan: z.string().min(1).default('enterprise'),
  trustProxy: z.string().default('false').transform(parseTrustProxy),
  failedAuthThreshold: z.coerce.number().int().min(1).max(1_000_000).default(20),
  failedAuthWindow: Duration.default('1m'),
  throttleDuration: Duration.default('5m'),
  alertWebhookUrl: z.url({ protocol: /^https?$/ }).optional(),
  metrics: z.enum(['on', 'off']).default('on'),
  /** A listen address of its own for /metrics (no key needed there; not served on the main port then). */
  metricsAddress: z
    .string()
    .transform((text, ctx) => {
      try {
        return parseListenAddress(text);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    })
    .optional(),
  /** Label active keys per organization (opt in: organization ids are the tenants' business). */
  metricsOrganizationLabels: z.enum(['on', 'off']).default('off'),
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
    plans: pick('KEYWARD_PLANS'),
    defaultPlan: pick('KEYWARD_DEFAULT_PLAN'),
    trustProxy: pick('KEYWARD_TRUST_PROXY'),
    failedAuthThreshold: pick('KEYWARD_FAILED_AUTH_THRESHOLD'),
    failedAuthWindow: pick('KEYWARD_FAILED_AUTH_WINDOW'),
    throttleDuration: pick('KEYWARD_THROTTLE_DURATION'),
    alertWebhookUrl: pick('KEYWARD_ALERT_WEBHOOK_URL'),
    metrics: pick('KEYWARD_METRICS'),
    metricsAddress: pick('KEYWARD_METRICS_ADDRESS'),
    metricsOrganizationLabels: pick('KEYWARD_METRICS_ORGANIZATION_LABELS'),
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
  if (result.data.metricsOrganizationLabels === 'on' && result.data.metricsAddress === undefined) {
    throw new Error(
      'invalid configuration: metricsOrganizationLabels: per-organization labels are served only on a metrics listener of its own; set KEYWARD_METRICS_ADDRESS too',
    );
  }
  if (!Object.hasOwn(result.data.plans, result.data.defaultPlan)) {
    throw new Error(`invalid configuration: defaultPlan: "${result.data.defaultPlan}" is not one of the plans (${Object.keys(result.data.plans).join(', ')})`);
  }
  return result.data;
}
