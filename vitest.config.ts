import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Control-plane and browser suites start real processes; keep parallelism
    // within what a 2-core machine can carry.
    maxWorkers: 2,
  },
});
