/**
 * Applies pending schema migrations under a PostgreSQL advisory lock, so any
 * number of replicas may start at once: one migrates, the others wait for it
 * and then find nothing to do.
 */
import type { ClientBase } from 'pg';
import { MIGRATIONS, type Migration } from './migrations/index.ts';

/** pg_advisory_lock key: "keyward" in ASCII, so it does not collide with other applications by chance. */
export const MIGRATION_LOCK = '30229394876363364'; // 0x6b657977617264

export interface MigrationResult {
  applied: Migration[];
  current: number;
}

export async function migrate(client: ClientBase, migrations: readonly Migration[] = MIGRATIONS): Promise<MigrationResult> {
  await client.query('SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK]);
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version     integer PRIMARY KEY,
      name        text NOT NULL,
      applied_at  timestamptz NOT NULL DEFAULT now()
    )`);
    const done = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((row) => row.version));
    const known = Math.max(0, ...migrations.map((m) => m.version));
    const newest = Math.max(0, ...done);
    if (newest > known) {
      throw new Error(`the database schema is at version ${newest}, newer than this keyward knows (${known}): upgrade keyward`);
    }
    const applied: Migration[] = [];
    for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(migration.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw new Error(`migration ${migration.version} (${migration.name}) failed: ${(error as Error).message}`, { cause: error });
      }
      applied.push(migration);
    }
    return { applied, current: Math.max(newest, ...applied.map((m) => m.version)) };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1::bigint)', [MIGRATION_LOCK]).catch(() => {});
  }
}
