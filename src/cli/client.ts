/**
 * The client commands' settings (`keyward keys …`, `audit export`,
 * `rotation due --service`), declared once: where the key service is and
 * the key to call it with. The key comes from the environment only (a flag
 * would show in `ps`); what it must be allowed comes from the route table.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { KeywardClient } from '../client/index.ts';
import { API, type OperationId } from '../core/api.ts';
import { KeyServiceApiKey, KeyServiceUrl } from '../core/settings.ts';
import { addSettings, requireApiKey, resolveCommandSettings } from './settings.ts';

export const ClientSettings = z.object({
  url: KeyServiceUrl,
  apiKey: KeyServiceApiKey.meta({ description: 'secret of the key to call the key service with' }),
});

/** Adds --url (and the KEYWARD_API_KEY help) to a client command. */
export const clientSettings = (command: Command): Command => addSettings(command, ClientSettings);

/** What a key needs for these operations, from the route table: "a key whose role grants api.key.view". */
function needs(operations: readonly OperationId[]): string {
  const permissions = [...new Set(operations.map((id) => API[id].permission).filter((p) => p !== null))];
  return permissions.length === 0 ? 'any valid key' : `a key whose role grants ${permissions.join(' and ')}`;
}

/** A client for a command that calls these operations, from its flags and the environment. */
export function clientFor(flags: Record<string, unknown>, operations: readonly OperationId[]): KeywardClient {
  const settings = resolveCommandSettings(ClientSettings, flags);
  return new KeywardClient({ url: settings.url, apiKey: requireApiKey(settings.apiKey, needs(operations)) });
}
