/** Picks the store adapter from configuration. */
import { LowdbStore } from './lowdb-store.ts';
import type { Store } from './store.ts';

export interface StoreConfig {
  file: string;
  databaseUrl?: string | undefined;
}

export async function openStore(config: StoreConfig): Promise<Store> {
  if (config.databaseUrl) {
    throw new Error('The PostgreSQL store (KEYWARD_DATABASE_URL) is not available in this build yet; unset it to use the lowdb file store.');
  }
  return LowdbStore.open(config.file);
}

export type { Store } from './store.ts';
