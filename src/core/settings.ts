/**
 * The settings of a process kind (the operator, the server, a client
 * command), declared once: a zod object whose fields carry their flag,
 * environment variable and help in `.meta()`. The command's flags, its help
 * text (defaults and environment names included) and the resolved values are
 * derived from it. Precedence: flag > environment > default. Pure: the caller
 * hands in the environment, so process.env is read in one place per process.
 */
import { z } from 'zod';

/** What a settings field says of itself in `.meta()`. */
export interface SettingMeta {
  /** Commander flag syntax, e.g. "-n, --namespace <ns>" or "--leader-elect"; none: environment only. */
  flag?: string;
  env?: string;
  description: string;
  /** Left out of --help (test hooks). */
  hidden?: boolean;
}

export interface Setting {
  key: string;
  flag: string | undefined;
  env: string | undefined;
  description: string;
  hidden: boolean;
  /** Repeatable flag (an array field); a comma-separated list in the environment. */
  list: boolean;
  /** A flag without a value. */
  switch: boolean;
  default: unknown;
  /** "watch this namespace (default: 4, env: KEYWARD_X)": the description with its default and environment name. */
  help: string;
}

type Shape = Record<string, z.ZodType>;

/** Where `keyward serve` listens by default (ServerConfig), and so where its clients look for it by default. */
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 8080;
export const DEFAULT_KEY_SERVICE_URL = `http://${DEFAULT_HOST}:${DEFAULT_PORT}`;
export const HttpUrl = z.url({ protocol: /^https?$/, message: `must be an http(s) URL, e.g. ${DEFAULT_KEY_SERVICE_URL}` });

/** The key service URL, as every client of it (CLI, operator) takes it. */
export const KeyServiceUrl = HttpUrl.default(DEFAULT_KEY_SERVICE_URL)
  .meta({ flag: '--url <url>', env: 'KEYWARD_URL', description: 'key service URL' });

/** The key a client authenticates with: from the environment only, never a flag (flags show in `ps`). */
export const KeyServiceApiKey = z.string().min(1).optional().meta({ env: 'KEYWARD_API_KEY', description: 'API key for the key service' });

export const LogLevel = z
  .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  .default('info')
  .meta({ flag: '--log-level <level>', env: 'KEYWARD_LOG_LEVEL', description: 'fatal|error|warn|info|debug|trace|silent' });

const unwrap = (field: z.ZodType): z.ZodType => {
  let inner = field;
  while (inner instanceof z.ZodDefault || inner instanceof z.ZodOptional) inner = inner.def.innerType as z.ZodType;
  return inner;
};

const shown = (value: unknown): string | undefined =>
  value === undefined || value === false || (Array.isArray(value) && value.length === 0) ? undefined : typeof value === 'string' ? JSON.stringify(value) : String(value);

export function describeSettings(schema: z.ZodObject<Shape>): Setting[] {
  return Object.entries(schema.shape).map(([key, field]) => {
    const meta = (field.meta() ?? {}) as Partial<SettingMeta>;
    if (!meta.description) throw new Error(`setting ${key} has no description`);
    const fallback = (z.toJSONSchema(field, { io: 'input', unrepresentable: 'any' }) as { default?: unknown }).default;
    const notes = [shown(fallback) && `default: ${shown(fallback)}`, meta.env && `env: ${meta.env}`].filter(Boolean);
    return {
      key,
      flag: meta.flag,
      env: meta.env,
      description: meta.description,
      hidden: meta.hidden ?? false,
      list: unwrap(field) instanceof z.ZodArray,
      switch: unwrap(field) instanceof z.ZodBoolean,
      default: fallback,
      help: notes.length > 0 ? `${meta.description} (${notes.join(', ')})` : meta.description,
    };
  });
}

/** A setting with a bad value; the message names the flag or variable it came from. */
export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingsError';
  }
}

const fromEnv = (setting: Setting, text: string): unknown => {
  if (setting.list) return text.split(',').map((s) => s.trim()).filter(Boolean);
  if (setting.switch) return text === 'true' || text === '1' ? true : text === 'false' || text === '0' ? false : text;
  return text;
};

/**
 * What the environment gives for a schema's settings, keyed like the schema:
 * each setting's variable when it is set and not empty, read as the setting
 * reads it (a switch's true/false/1/0, a list's commas). Not validated:
 * the caller parses it with the schema, with anything else it merges in.
 */
export function settingsFromEnv<S extends z.ZodObject<Shape>>(schema: S, env: Record<string, string | undefined>): Record<string, unknown> {
  const given: Record<string, unknown> = {};
  for (const setting of describeSettings(schema)) {
    const text = setting.env ? env[setting.env] : undefined;
    if (text !== undefined && text !== '') given[setting.key] = fromEnv(setting, text);
  }
  return given;
}

/**
 * The settings' values: a flag given (not undefined) wins, then a non-empty
 * environment variable, then the field's default. `flags` is keyed like the
 * schema (commander's attribute names).
 */
export function resolveSettings<S extends z.ZodObject<Shape>>(schema: S, flags: Record<string, unknown>, env: Record<string, string | undefined>): z.output<S> {
  const settings = describeSettings(schema);
  const input: Record<string, unknown> = {};
  const source = new Map<string, string>();
  for (const setting of settings) {
    const flagged = flags[setting.key];
    const envText = setting.env ? env[setting.env] : undefined;
    if (flagged !== undefined && !(setting.list && Array.isArray(flagged) && flagged.length === 0)) {
      input[setting.key] = flagged;
      source.set(setting.key, setting.flag?.match(/--[a-z0-9-]+/)?.[0] ?? setting.key);
    } else if (envText !== undefined && envText !== '') {
      input[setting.key] = fromEnv(setting, envText);
      source.set(setting.key, setting.env!);
    }
  }
  const result = schema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const key = String(issue.path[0] ?? '');
    throw new SettingsError(`${source.get(key) ?? key}: ${issue.message}`);
  }
  return result.data;
}
