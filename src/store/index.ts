/** Picks the store adapter from configuration: PostgreSQL when a database URL is set, else the lowdb file. */
import { LowdbStore } from './lowdb-store.ts';
import type { PostgresStoreOptions } from './postgres/postgres-store.ts';
import type { Store } from './store.ts';

export interface StoreConfig {
  file: string;
  databaseUrl?: string | undefined;
  /** Tuning of the PostgreSQL store (pool size, cache refresh, a logger for background errors); defaults otherwise. */
  postgres?: PostgresStoreOptions | undefined;
}

export async function openStore(config: StoreConfig): Promise<Store> {
  if (config.databaseUrl) {
    // Loaded only when selected: the default lowdb setup never loads pg.
    const { PostgresStore } = await import('./postgres/postgres-store.ts');
    return PostgresStore.open(config.databaseUrl, config.postgres);
  }
  return LowdbStore.open(config.file);
}

export type { Store } from './store.ts';
