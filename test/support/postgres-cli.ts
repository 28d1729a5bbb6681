#!/usr/bin/env node
/**
 * `keyward migrate` for tests, until src/cli/main.ts registers it: the same
 * command object (src/cli/migrate.ts) and the same exit codes as main.ts
 * (0 success, 1 failure, 2 usage error).
 */
import { Command, CommanderError } from 'commander';
import { CliUsageError } from '../../src/cli/errors.ts';
import { migrateCommand } from '../../src/cli/migrate.ts';

const program = new Command('keyward').exitOverride();
program.addCommand(migrateCommand().exitOverride());
try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
  process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(error instanceof CliUsageError ? 2 : 1);
}
