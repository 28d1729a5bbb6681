#!/usr/bin/env node
/**
 * The `keyward` command. Exit codes: 0 success, 1 failure, 2 usage error.
 */
import { Command, CommanderError } from 'commander';
import { KeywardApiError, KeywardUnreachableError } from '../client/index.ts';
import { KeywardError } from '../core/errors.ts';
import { SettingsError } from '../core/settings.ts';
import { registerDevCommands } from './dev-cluster.ts';
import { CliUsageError } from './errors.ts';
import { auditCommand } from './audit.ts';
import { keysCommand } from './keys.ts';
import { membersCommand } from './members.ts';
import { migrateCommand } from './migrate.ts';
import { operatorCommand } from './operator.ts';
import { orgCommand } from './org.ts';
import { rotateCommand, rotationCommand } from './rotate.ts';
import { synthManifestsCommand } from './synth-manifests.ts';
import { bootstrapCommand, serveCommand } from './serve.ts';
import { VERSION } from '../version.ts';

const program = new Command('keyward')
  .description('API keys managed as infrastructure')
  .version(VERSION)
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

program.addCommand(serveCommand());
program.addCommand(bootstrapCommand());
program.addCommand(orgCommand());
program.addCommand(keysCommand());
program.addCommand(membersCommand());
program.addCommand(auditCommand());
program.addCommand(operatorCommand());
program.addCommand(migrateCommand());
program.addCommand(synthManifestsCommand());
program.addCommand(rotateCommand());
program.addCommand(rotationCommand());
registerDevCommands(program);
const overrideExits = (command: Command): void => {
  command.exitOverride();
  command.commands.forEach(overrideExits);
};
overrideExits(program);

function fail(message: string, code: number): never {
  process.stderr.write(`error: ${message}\n`);
  process.exit(code);
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and version are successes; anything else commander reports is a usage error.
    process.exit(error.exitCode === 0 ? 0 : 2);
  }
  if (error instanceof CliUsageError || error instanceof SettingsError) fail(error.message, 2);
  if (error instanceof KeywardApiError || error instanceof KeywardError) fail(`${error.message} (${error.code})\nhint: ${error.hint}`, 1);
  if (error instanceof KeywardUnreachableError) fail(error.message, 1);
  fail(error instanceof Error ? error.message : String(error), 1);
}
