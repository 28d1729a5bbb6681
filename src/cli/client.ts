/**
 * Where a client command (`keyward keys …`, `roles`, `verify`, …) finds the
 * key service and the key to call it with, declared once. Precedence, first
 * that is set wins, per setting:
 *
 *   1. --url / --api-key
 *   2. the context named by --context or KEYWARD_CONTEXT (an explicit choice
 *      beats ambient variables, so `--context prod` never mixes in a dev key)
 *   3. KEYWARD_URL / KEYWARD_API_KEY
 *   4. the config file's current context (`keyward config use-context`)
 *   5. http://127.0.0.1:8080, and no key
 *
 * What the key must be allowed comes from the route table, for the message
 * a command without a key stops with.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { KeywardClient, type ClientOperationId } from '../client/index.ts';
import { API, type OperationId } from '../core/api.ts';
import { DEFAULT_KEY_SERVICE_URL, HttpUrl } from '../core/settings.ts';
import { configPath, readConfig, requireContext, findContext, type Context } from './config-file.ts';
import { addSettings, requireApiKey, resolveCommandSources } from './settings.ts';

export const ClientSettings = z.object({
  url: HttpUrl.optional().meta({ flag: '--url <url>', env: 'KEYWARD_URL', description: `key service URL; default: the context's, else ${DEFAULT_KEY_SERVICE_URL}` }),
  apiKey: z
    .string()
    .min(1)
    .optional()
    .meta({ flag: '--api-key <secret>', env: 'KEYWARD_API_KEY', description: 'secret of the key to call the service with (a flag shows in `ps`: prefer the variable or a context)' }),
  context: z
    .string()
    .min(1)
    .optional()
    .meta({ flag: '--context <name>', env: 'KEYWARD_CONTEXT', description: "the config file's context to use (default: its current context)" }),
  configFile: z.string().min(1).optional().meta({ env: 'KEYWARD_CONFIG', description: 'config file with the contexts (default: ~/.config/keyward/config.yaml)' }),
  xdgConfigHome: z.string().optional().meta({ env: 'XDG_CONFIG_HOME', description: 'base folder of the default config file', hidden: true }),
  home: z.string().optional().meta({ env: 'HOME', description: 'home folder', hidden: true }),
});

/** Adds --url, --api-key and --context (and the KEYWARD_CONFIG help) to a client command. */
export const clientSettings = (command: Command): Command => addSettings(command, ClientSettings);

/** Where the config file is, for the settings of this command (flags and environment). */
export function configFileOf(flags: Record<string, unknown>): string {
  const { env } = resolveCommandSources(ClientSettings, flags);
  return configPath({ KEYWARD_CONFIG: env.configFile, XDG_CONFIG_HOME: env.xdgConfigHome, HOME: env.home });
}

export interface Connection {
  url: string;
  apiKey: string | undefined;
  /** The context the URL or key came from, if any. */
  context: string | undefined;
}

/** The URL and key a client command uses (see the precedence above). */
export async function resolveConnection(flags: Record<string, unknown>): Promise<Connection> {
  const sources = resolveCommandSources(ClientSettings, flags);
  const file = configFileOf(flags);
  const named = sources.flags.context ?? sources.env.context;
  const config = await readConfig(file);
  const explicit: Context | undefined = named ? requireContext(config, named, file) : undefined;
  const current = !explicit && config.currentContext ? findContext(config, config.currentContext) : undefined;
  const url = sources.flags.url ?? explicit?.url ?? sources.env.url ?? current?.url ?? DEFAULT_KEY_SERVICE_URL;
  const apiKey = sources.flags.apiKey ?? explicit?.apiKey ?? sources.env.apiKey ?? current?.apiKey;
  const fromContext = explicit ?? (current && (url === current.url || apiKey === current.apiKey) ? current : undefined);
  return { url, apiKey, context: fromContext?.name };
}

/** What a key needs for these operations, from the route table: "a key whose role grants api.key.view". */
function needs(operations: readonly OperationId[]): string {
  const permissions = [...new Set(operations.map((id) => API[id].permission).filter((p) => p !== null))];
  return permissions.length === 0 ? 'any valid key' : `a key whose role grants ${permissions.join(' and ')}`;
}

/** The client's pagers, each standing for the operation it pages through. */
type Pagers = { allKeys: 'listKeys'; allAuditEvents: 'listAuditLog' };
/** A client that has only these operations (and their pagers): a call the command did not name is a type error. */
export type ClientFor<K extends ClientOperationId> = Pick<KeywardClient, K | 'url' | { [P in keyof Pagers]: Pagers[P] extends K ? P : never }[keyof Pagers]>;

/**
 * A client for a command that calls these operations, from its flags, the
 * environment and the config file. The operations say what the key needs
 * when there is none ("a key whose role grants …"), and the client has only
 * them, so that message cannot drift from the calls the command makes.
 */
export async function clientFor<const K extends ClientOperationId>(flags: Record<string, unknown>, operations: readonly K[]): Promise<ClientFor<K>> {
  const connection = await resolveConnection(flags);
  return new KeywardClient({ url: connection.url, apiKey: requireApiKey(connection.apiKey, needs(operations), '--api-key, or log in (`keyward login`)') });
}
