/** Picks the store adapter from configuration: PostgreSQL when a database URL is set, else the lowdb file. */
import { LowdbStore } from './lowdb-store.ts';
import type { PostgresStoreOptions } from './postgres/postgres-store.ts';
import type { Store } from './store.ts';

export interface StoreConfig {
  file: string;
  databaseUrl?: string | undefined;
  /** Tuning of the PostgreSQL store (pool size, cache refresh); defaults otherwise. */
  postgres?: PostgresStoreOptions | undefined;
  /** Errors of work no request waits for (lowdb: background compaction; PostgreSQL: LISTEN connection, cache refresh). */
  onBackgroundError?: ((error: Error, what: string) => void) | undefined;
}

export async function openStore(config: StoreConfig): Promise<Store> {
  if (config.databaseUrl) {
    // Loaded only when selected: the default lowdb setup never loads pg.
    const { PostgresStore } = await import('./postgres/postgres-store.ts');
    return PostgresStore.open(config.databaseUrl, { onBackgroundError: config.onBackgroundError, ...config.postgres });
  }
  return LowdbStore.open(config.file, { onBackgroundError: config.onBackgroundError });
}

export type { Store } from './store.ts';
