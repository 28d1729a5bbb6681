/** The key service's settings: flags override environment variables, which override defaults. */
import { z } from 'zod';
import { parseDuration } from '../core/duration.ts';
import { Duration } from '../core/schemas.ts';
import type { PeopleSettings } from './people/settings.ts';
import { DEFAULT_HOST, DEFAULT_PORT, settingsFromEnv, LogLevel, SettingsError } from '../core/settings.ts';
import { DEFAULT_TOKEN_PREFIX, TOKEN_PREFIX_PATTERN } from '../core/token.ts';

/** Where GitHub publishes the keys that sign secret scanning reports. */
export const GITHUB_PUBLIC_KEYS_URL = 'https://api.github.com/meta/public_keys/secret_scanning';

/** Plans and their active-key limits (null: unlimited) when none are configured, and the plan of a new organization. */
export const DEFAULT_PLANS: Readonly<Record<string, number | null>> = { free: 3, team: 50, enterprise: null };
export const DEFAULT_PLAN = 'enterprise';

/** Plans as KEYWARD_PLANS writes them (parsePlans reads them back). */
export const formatPlans = (plans: Readonly<Record<string, number | null>>): string =>
  Object.entries(plans).map(([name, limit]) => `${name}=${limit ?? 'unlimited'}`).join(',');

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

/** A zod transform from a parser that throws the message to show. */
const parsedBy =
  <T>(parse: (text: string) => T) =>
  (text: string, ctx: z.RefinementCtx): T => {
    try {
      return parse(text);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  };

/**
 * The key service's settings, declared once: each field's flag (if any),
 * environment variable and help. `keyward serve --help` is generated from
 * it (src/cli/settings.ts); tests and embedders pass values to resolveConfig.
 */
export const ServerConfig = z.object({
  port: z.coerce.number().int().min(0).max(65_535).default(DEFAULT_PORT).meta({ flag: '-p, --port <port>', env: 'KEYWARD_PORT', description: 'listen port' }),
  host: z.string().min(1).default(DEFAULT_HOST).meta({ flag: '--host <host>', env: 'KEYWARD_HOST', description: 'listen address' }),
  storeFile: z.string().min(1).default('./.keyward/db.json').meta({ flag: '--store <file>', env: 'KEYWARD_STORE', description: 'lowdb store file' }),
  databaseUrl: z.string().min(1).optional().meta({ flag: '--database-url <url>', env: 'KEYWARD_DATABASE_URL', description: 'PostgreSQL URL; selects that store' }),
  tokenPrefix: z
    .string()
    .regex(TOKEN_PREFIX_PATTERN, 'must be lowercase letters/digits ending in "_", e.g. kw_')
    .default(DEFAULT_TOKEN_PREFIX)
    .meta({ flag: '--token-prefix <prefix>', env: 'KEYWARD_TOKEN_PREFIX', description: 'secret prefix' }),
  logLevel: LogLevel,
  usageFlushMs: z.coerce.number().int().min(10).max(600_000).default(5_000).meta({ env: 'KEYWARD_USAGE_FLUSH_MS', description: 'how often key usage is written to the store (ms)' }),
  retirementCheckMs: z.coerce
    .number()
    .int()
    .min(10)
    .max(600_000)
    .default(10_000)
    .meta({ env: 'KEYWARD_RETIREMENT_CHECK_MS', description: 'how often rotated keys with revokeOld whenUnused are checked for their end (ms)' }),
  bootstrapOrganization: z
    .string()
    .min(1)
    .optional()
    .meta({ description: 'on an empty store, create an organization of this name and its admin key, and hand over the secret once' }),
  bootstrapInvitation: z
    .enum(['on', 'off'])
    .default('on')
    .meta({ env: 'KEYWARD_BOOTSTRAP_INVITATION', description: 'with the first admin key, a one-time link that makes the first person an admin member (signs in with a passkey or the identity provider)' }),
  plans: z
    .string()
    .default(formatPlans(DEFAULT_PLANS))
    .transform(parsedBy(parsePlans))
    .meta({ env: 'KEYWARD_PLANS', description: 'plans and their active-key limits, name=N or name=unlimited, comma-separated' }),
  defaultPlan: z.string().min(1).default(DEFAULT_PLAN).meta({ env: 'KEYWARD_DEFAULT_PLAN', description: 'plan of a new organization' }),
  trustProxy: z
    .string()
    .default('false')
    .transform(parseTrustProxy)
    .meta({ env: 'KEYWARD_TRUST_PROXY', description: 'which proxies may set X-Forwarded-For: false, true, a hop count, or addresses/ranges' }),
  failedAuthThreshold: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .default(20)
    .meta({ env: 'KEYWARD_FAILED_AUTH_THRESHOLD', description: 'failed authentications from one address within the window before it is throttled' }),
  failedAuthWindow: Duration.default('1m').meta({ env: 'KEYWARD_FAILED_AUTH_WINDOW', description: 'window the failures are counted in' }),
  throttleDuration: Duration.default('5m').meta({ env: 'KEYWARD_THROTTLE_DURATION', description: 'how long a throttled address is refused' }),
  alertWebhookUrl: z
    .url({ protocol: /^https?$/ })
    .optional()
    .meta({ env: 'KEYWARD_ALERT_WEBHOOK_URL', description: 'where alerts (an address throttled, a key compromised or leaked) are POSTed' }),
  alertWebhookSecret: z
    .string()
    .min(16, 'must be at least 16 characters')
    .optional()
    .meta({ env: 'KEYWARD_ALERT_WEBHOOK_SECRET', description: 'signs each alert delivery (Keyward-Signature: HMAC-SHA256 of "<timestamp>.<body>")' }),
  secretScanning: z.enum(['on', 'off']).default('on').meta({ env: 'KEYWARD_SECRET_SCANNING', description: 'the GitHub secret scanning partner endpoint POST /v1/secret-scanning/github: on or off' }),
  secretScanningKeys: z
    .string()
    .min(1)
    .default(GITHUB_PUBLIC_KEYS_URL)
    .meta({ env: 'KEYWARD_SECRET_SCANNING_KEYS', description: "URL or file of GitHub's secret scanning public keys" }),
  secretScanningKeysRefresh: Duration.default('30s').meta({
    env: 'KEYWARD_SECRET_SCANNING_KEYS_REFRESH',
    description: 'shortest time between two fetches of those keys (an unknown key identifier fetches them again)',
  }),
  metrics: z.enum(['on', 'off']).default('on').meta({ env: 'KEYWARD_METRICS', description: 'Prometheus metrics at /metrics: on or off' }),
  metricsAddress: z
    .string()
    .transform(parsedBy(parseListenAddress))
    .optional()
    .meta({ env: 'KEYWARD_METRICS_ADDRESS', description: 'host:port of a listener of its own for /metrics (no key needed there; not on the main port then)' }),
  metricsOrganizationLabels: z
    .enum(['on', 'off'])
    .default('off')
    .meta({ env: 'KEYWARD_METRICS_ORGANIZATION_LABELS', description: "label active keys per organization (the tenants' ids; needs KEYWARD_METRICS_ADDRESS)" }),
  publicUrl: z
    .url({ protocol: /^https?$/ })
    .optional()
    .meta({ env: 'KEYWARD_PUBLIC_URL', description: "the dashboard's address as people reach it (invitation links, passkeys, the identity provider's redirect); default: each request's own" }),
  sessionIdleTimeout: Duration.default('1h').meta({ env: 'KEYWARD_SESSION_IDLE_TIMEOUT', description: "a dashboard session ends after this long without a request" }),
  sessionMaxAge: Duration.default('12h').meta({ env: 'KEYWARD_SESSION_MAX_AGE', description: 'a dashboard session ends this long after sign-in, used or not' }),
  smtpUrl: z
    .string()
    .regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL')
    .optional()
    .meta({ env: 'KEYWARD_SMTP_URL', description: 'where invitation mail is sent (smtp://user:pass@host:587); unset: links are only shown' }),
  mailFrom: z.string().min(3).default('keyward <keyward@localhost>').meta({ env: 'KEYWARD_MAIL_FROM', description: 'sender of invitation mail' }),
  oidcIssuer: z
    .url()
    .optional()
    .meta({ env: 'KEYWARD_OIDC_ISSUER', description: "service-wide OpenID Connect issuer people sign in with, for organizations without their own (PUT /v1/organization/oidc); discovered from /.well-known/openid-configuration" }),
  oidcClientId: z.string().min(1).optional().meta({ env: 'KEYWARD_OIDC_CLIENT_ID', description: "keyward's client id at the identity provider" }),
  oidcClientSecret: z.string().min(1).optional().meta({ env: 'KEYWARD_OIDC_CLIENT_SECRET', description: "keyward's client secret at the identity provider" }),
  oidcName: z.string().min(1).max(40).default('your identity provider').meta({ env: 'KEYWARD_OIDC_NAME', description: 'shown on the button: "Sign in with <name>"' }),
  oidcOrganization: z
    .string()
    .min(1)
    .optional()
    .meta({ env: 'KEYWARD_OIDC_ORGANIZATION', description: "the only organization the service-wide provider signs in to, and a sign-in's organization when the browser names none (default: every organization without its own provider; the only one)" }),
  oidcAllowedDomains: z
    .string()
    .default('')
    .transform((text) => text.split(',').map((d) => d.trim().toLowerCase()).filter(Boolean))
    .meta({ env: 'KEYWARD_OIDC_ALLOWED_DOMAINS', description: 'email domains that may sign in through the identity provider, comma-separated (empty: any)' }),
  dashboardKeySignIn: z
    .enum(['on', 'off'])
    .default('off')
    .meta({ env: 'KEYWARD_DASHBOARD_KEY_SIGNIN', description: 'break-glass: let the dashboard sign in with a pasted admin key (off: people sign in with passkeys or the identity provider)' }),
  nodeEnv: z.string().optional().meta({ env: 'NODE_ENV', hidden: true, description: 'production: the dashboard is not rebuilt when its sources change' }),
});
export type ServerConfig = z.output<typeof ServerConfig>;
export type ServerConfigInput = z.input<typeof ServerConfig>;

/** `keyward serve`: the service's settings, and where its first admin secret goes. */
export const ServeSettings = ServerConfig.extend({
  bootstrapSecretFile: z
    .string()
    .min(1)
    .optional()
    .meta({ flag: '--bootstrap-secret-file <path>', env: 'KEYWARD_BOOTSTRAP_SECRET_FILE', description: 'on an empty store, write the admin secret to this file (mode 600) instead of printing it' }),
  bootstrapSecretK8s: z
    .string()
    .min(1)
    .optional()
    .meta({
      flag: '--bootstrap-secret-k8s <namespace/name>',
      env: 'KEYWARD_BOOTSTRAP_SECRET_K8S',
      description: 'on an empty store, write the admin secret into this existing Kubernetes Secret (data key "secret")',
    }),
});

/** The people side's settings (sessions, mail, the identity provider) from the service's. */
export function peopleSettings(config: ServerConfig): PeopleSettings {
  return {
    publicOrigin: config.publicUrl === undefined ? undefined : new URL(config.publicUrl).origin,
    sessionIdleMs: parseDuration(config.sessionIdleTimeout),
    sessionAbsoluteMs: parseDuration(config.sessionMaxAge),
    smtpUrl: config.smtpUrl,
    mailFrom: config.mailFrom,
    oidc:
      config.oidcIssuer === undefined
        ? undefined
        : {
            issuer: config.oidcIssuer,
            clientId: config.oidcClientId!,
            clientSecret: config.oidcClientSecret!,
            name: config.oidcName,
            organizationId: config.oidcOrganization,
            allowedDomains: config.oidcAllowedDomains,
          },
    keySignIn: config.dashboardKeySignIn === 'on',
    ssoLookupThrottle: { threshold: config.failedAuthThreshold, windowMs: parseDuration(config.failedAuthWindow), throttleMs: parseDuration(config.throttleDuration) },
  };
}

/** What one setting cannot tell alone. */
export function checkServerConfig<C extends ServerConfig>(config: C): C {
  if (config.metricsOrganizationLabels === 'on' && config.metricsAddress === undefined) {
    throw new SettingsError(
      'KEYWARD_METRICS_ORGANIZATION_LABELS: per-organization labels (metricsOrganizationLabels) are served only on a metrics listener of its own; set KEYWARD_METRICS_ADDRESS too',
    );
  }
  if (config.oidcIssuer !== undefined && (config.oidcClientId === undefined || config.oidcClientSecret === undefined)) {
    throw new SettingsError('KEYWARD_OIDC_ISSUER: an identity provider also needs KEYWARD_OIDC_CLIENT_ID and KEYWARD_OIDC_CLIENT_SECRET');
  }
  if (!Object.hasOwn(config.plans, config.defaultPlan)) {
    throw new SettingsError(`KEYWARD_DEFAULT_PLAN: "${config.defaultPlan}" is not one of the plans (${Object.keys(config.plans).join(', ')})`);
  }
  return config;
}

/**
 * The settings the environment gives (the variables the schema names; empty
 * ones count as unset), for resolveConfig. The caller hands in the
 * environment (`process.env`), so reading it stays in one place.
 */
export function configFromEnv(env: Record<string, string | undefined>): ServerConfigInput {
  return settingsFromEnv(ServerConfig, env) as ServerConfigInput;
}

/** The settings from values given in code (tests, embedders): later sources win; undefined never overrides. */
export function resolveConfig(...sources: ServerConfigInput[]): ServerConfig {
  const merged: Record<string, unknown> = {};
  for (const source of sources) {
    for (const [name, value] of Object.entries(source)) if (value !== undefined) merged[name] = value;
  }
  const result = ServerConfig.safeParse(merged);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new SettingsError(`invalid configuration: ${issue.path.join('.')}: ${issue.message}`);
  }
  return checkServerConfig(result.data);
}
