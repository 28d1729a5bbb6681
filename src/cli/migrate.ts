/**
 * `keyward migrate`: bring a PostgreSQL database's schema up to date, or copy
 * a lowdb store into PostgreSQL (`--from lowdb:PATH --to postgres:URL`).
 */
import { Command, Option } from 'commander';
import { ServerConfig } from '../server/config.ts';
import { examples, summaryOf } from './commands.ts';
import { CliUsageError } from './errors.ts';
import { printJson, printTable, type OutputFormat } from './output.ts';
import { addSettings, resolveCommandSettings } from './settings.ts';

interface MigrateFlags {
  from?: string;
  to?: string;
  output: OutputFormat;
}

function parseEndpoint(text: string, scheme: 'lowdb' | 'postgres', flag: string): string {
  const prefix = `${scheme}:`;
  if (!text.startsWith(prefix) || text.length === prefix.length) {
    throw new CliUsageError(`${flag} must look like ${scheme === 'lowdb' ? 'lowdb:./.keyward/db.json' : 'postgres:postgres://user@host:5432/keyward'} (got "${text}")`);
  }
  const value = text.slice(prefix.length);
  // "postgres:postgres://…" and "postgres://…" both name a database.
  return value;
}

/** Hides the password of a database URL for printing. */
const redact = (url: string): string => {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<database url>';
  }
};

export function migrateCommand(): Command {
  return addSettings(
    examples(new Command('migrate').description(summaryOf('migrate')), [
      'keyward migrate --database-url postgres://keyward@db:5432/keyward',
      'keyward migrate --from lowdb:./.keyward/db.json --to postgres:postgres://keyward@db:5432/keyward',
    ]),
    ServerConfig,
    ['databaseUrl'],
  )
    .option('--from <source>', 'copy from this store: lowdb:PATH (stop the service that owns it first)')
    .option('--to <target>', 'copy into this database: postgres:URL')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
    .addHelpText(
      'after',
      '\nThe copy runs in one transaction, leaves rows already in the database as they are, and\n' +
        'checks that every source row arrived, so it is safe to run again.\n',
    )
    .action(async (flags: MigrateFlags & Record<string, unknown>) => {
      const pg = (await import('pg')).default;
      if (flags.from !== undefined || flags.to !== undefined) {
        if (flags.from === undefined || flags.to === undefined) throw new CliUsageError('--from and --to go together');
        const file = parseEndpoint(flags.from, 'lowdb', '--from');
        let url = parseEndpoint(flags.to, 'postgres', '--to');
        if (!/^postgres(ql)?:\/\//.test(url)) url = `postgres://${url.replace(/^\/\//, '')}`;
        const { LowdbStore } = await import('../store/lowdb-store.ts');
        const { copyStoreToPostgres } = await import('../store/postgres/copy.ts');
        const source = await LowdbStore.open(file);
        const client = new pg.Client({ connectionString: url, application_name: 'keyward migrate' });
        client.on('error', () => {}); // surfaces as the failing query's rejection
        try {
          await client.connect();
          const result = await copyStoreToPostgres(source, client);
          if (flags.output === 'json') printJson({ from: file, to: redact(url), ...result });
          else {
            printTable(
              ['TABLE', 'SOURCE', 'COPIED', 'VERIFIED'],
              result.tables.map((t) => [t.table, String(t.source), String(t.inserted), String(t.verified)]),
            );
            process.stderr.write(result.ok ? `\nEvery row of ${file} is in ${redact(url)}.\n` : '\nCounts differ: nothing was committed.\n');
          }
          if (!result.ok) process.exitCode = 1;
        } finally {
          await client.end().catch(() => {});
          await source.close();
        }
        return;
      }
      const url = resolveCommandSettings(ServerConfig, flags).databaseUrl;
      if (!url) throw new CliUsageError('set --database-url or KEYWARD_DATABASE_URL (or copy a store with --from lowdb:PATH --to postgres:URL)');
      const { migrate } = await import('../store/postgres/migrate.ts');
      const client = new pg.Client({ connectionString: url, application_name: 'keyward migrate' });
        client.on('error', () => {}); // surfaces as the failing query's rejection
      try {
        await client.connect();
        const result = await migrate(client);
        const applied = result.applied.map((m) => ({ version: m.version, name: m.name }));
        if (flags.output === 'json') printJson({ database: redact(url), version: result.current, applied });
        else if (applied.length === 0) process.stdout.write(`${redact(url)} is up to date (schema version ${result.current}).\n`);
        else {
          printTable(['VERSION', 'MIGRATION'], applied.map((m) => [String(m.version), m.name]));
          process.stderr.write(`\n${redact(url)} is at schema version ${result.current}.\n`);
        }
      } finally {
        await client.end().catch(() => {});
      }
    });
}
