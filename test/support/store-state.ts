/**
 * Everything a test service's store holds right now, as text, for "this
 * request changed nothing" checks: on lowdb the snapshot file and its
 * journals (every commit lands in the journal first, so db.json alone would
 * not change), on PostgreSQL every row.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { TestService } from './keyservice.ts';

export async function storeState(service: Pick<TestService, 'store'>): Promise<string> {
  const { store } = service;
  if (store.kind === 'postgres') return store.snapshot();
  return [store.storeFile, `${store.storeFile}.journal`, `${store.storeFile}.journal.old`]
    .map((file) => `${file}\n${existsSync(file) ? readFileSync(file, 'utf8') : '(none)'}`)
    .join('\n');
}
