/**
 * vitest globalSetup of the `postgres` project: one PostgreSQL server per run.
 * KEYWARD_TEST_DATABASE_URL (a role that may CREATE DATABASE) selects an
 * existing server; otherwise a throwaway cluster is started and stopped here.
 * Tests get the URL with inject('postgresUrl') and create their own databases.
 */
import type { TestProject } from 'vitest/node';
import { startPostgresCluster, type PostgresCluster } from './postgres.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let cluster: PostgresCluster | undefined;
  let url = process.env.KEYWARD_TEST_DATABASE_URL;
  if (!url) {
    cluster = await startPostgresCluster();
    url = cluster.url;
  }
  project.provide('postgresUrl', url);
  return async () => {
    await cluster?.stop();
  };
}
