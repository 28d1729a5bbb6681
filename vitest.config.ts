import { defineConfig } from 'vitest/config';

/** Suites that are about the lowdb file itself (journal, file lock); test/postgres has their PostgreSQL counterparts. */
const LOWDB_ONLY = ['test/keyservice/crash.test.ts'];

export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Control-plane and browser suites start real processes; keep parallelism
    // within what a 2-core machine can carry.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'lowdb',
          include: ['test/**/*.test.ts'],
          exclude: ['test/postgres/**', '**/node_modules/**'],
          env: { KEYWARD_TEST_STORE: 'lowdb' },
        },
      },
      {
        // The key-service suite again, on PostgreSQL (a throwaway cluster unless KEYWARD_TEST_DATABASE_URL is set).
        extends: true,
        test: {
          name: 'postgres',
          include: ['test/keyservice/**/*.test.ts', 'test/postgres/**/*.test.ts'],
          exclude: [...LOWDB_ONLY, '**/node_modules/**'],
          env: { KEYWARD_TEST_STORE: 'postgres' },
          globalSetup: ['test/support/postgres-global-setup.ts'],
        },
      },
    ],
  },
});
