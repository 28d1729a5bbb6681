/**
 * The CLI's config file, like kubectl's kubeconfig and gh's hosts.yml: named
 * contexts (a key service URL and the key to call it with) and the current
 * one. Where: KEYWARD_CONFIG, else $XDG_CONFIG_HOME/keyward/config.yaml, else
 * ~/.config/keyward/config.yaml. It holds secrets, so it is written mode
 * 0600 (its folder 0700), whole, through a temporary file and a rename: a
 * crash leaves the old file or the new one, never half of one.
 *
 * The operations on its content are pure (`withContext`, `withCurrent`,
 * `withoutContext`); reading and writing are the only I/O.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliUsageError } from './errors.ts';

export interface Context {
  name: string;
  url: string;
  apiKey: string;
}

export interface ConfigFile {
  apiVersion: 'keyward.dev/v1';
  kind: 'Config';
  currentContext: string | null;
  contexts: Context[];
}

export const EMPTY_CONFIG: ConfigFile = { apiVersion: 'keyward.dev/v1', kind: 'Config', currentContext: null, contexts: [] };

export function configPath(env: Record<string, string | undefined>): string {
  if (env.KEYWARD_CONFIG) return env.KEYWARD_CONFIG;
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'keyward', 'config.yaml');
}

const isContext = (c: unknown): c is Context =>
  typeof c === 'object' && c !== null && ['name', 'url', 'apiKey'].every((k) => typeof (c as Record<string, unknown>)[k] === 'string');

/** The file's content; an absent file is an empty config. A file that is not a keyward config is a usage error naming it. */
export async function readConfig(path: string): Promise<ConfigFile> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return EMPTY_CONFIG;
    throw error;
  }
  const { parse } = await import('yaml');
  let doc: Record<string, unknown>;
  try {
    doc = (parse(text) ?? {}) as Record<string, unknown>;
  } catch (error) {
    throw new CliUsageError(`${path} is not YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  const contexts = doc.contexts ?? [];
  if (!Array.isArray(contexts) || !contexts.every(isContext)) throw new CliUsageError(`${path}: contexts must be a list of {name, url, apiKey}`);
  const current = doc['current-context'];
  return { ...EMPTY_CONFIG, currentContext: typeof current === 'string' ? current : null, contexts: contexts.map(({ name, url, apiKey }) => ({ name, url, apiKey })) };
}

export async function writeConfig(path: string, config: ConfigFile): Promise<void> {
  const { stringify } = await import('yaml');
  const text = stringify({ apiVersion: config.apiVersion, kind: config.kind, 'current-context': config.currentContext, contexts: config.contexts });
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, text, { mode: 0o600 });
  chmodSync(temporary, 0o600); // an existing file's mode is not changed by writeFileSync's
  renameSync(temporary, path);
}

export const findContext = (config: ConfigFile, name: string): Context | undefined => config.contexts.find((c) => c.name === name);

export function requireContext(config: ConfigFile, name: string, path: string): Context {
  const context = findContext(config, name);
  if (context) return context;
  const known = config.contexts.map((c) => c.name);
  throw new CliUsageError(`no context "${name}" in ${path}${known.length ? ` (there are: ${known.join(', ')})` : ''}: add it with \`keyward login --name ${name} --url …\``);
}

/** Adds or replaces a context by name. */
export const withContext = (config: ConfigFile, context: Context): ConfigFile => ({
  ...config,
  contexts: [...config.contexts.filter((c) => c.name !== context.name), context].sort((a, b) => a.name.localeCompare(b.name)),
});

export const withCurrent = (config: ConfigFile, name: string | null): ConfigFile => ({ ...config, currentContext: name });

export const withoutContext = (config: ConfigFile, name: string): ConfigFile => ({
  ...config,
  contexts: config.contexts.filter((c) => c.name !== name),
  currentContext: config.currentContext === name ? null : config.currentContext,
});

/** A secret as listings show it: its prefix and last four characters, like the API's key hint. */
export const secretHint = (secret: string): string => (secret.length > 8 ? `${secret.slice(0, secret.indexOf('_') + 1)}…${secret.slice(-4)}` : '…');
