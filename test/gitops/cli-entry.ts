/**
 * Until src/cli/main.ts registers `rotate` and `rotation`, the GitOps tests run
 * this stand-in, which mirrors main.ts's error handling (exit codes 1 and 2).
 * `keyward()` in support.ts prefers the real main.ts once it has the commands.
 */
import { Command, CommanderError } from 'commander';
import { CliUsageError } from '../../src/cli/errors.ts';
import { rotateCommand, rotationCommand } from '../../src/cli/rotate.ts';
import { KeywardApiError, KeywardUnreachableError } from '../../src/client/index.ts';

const program = new Command('keyward').exitOverride();
program.addCommand(rotateCommand());
program.addCommand(rotationCommand());
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
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
  if (error instanceof CliUsageError) fail(error.message, 2);
  if (error instanceof KeywardApiError) fail(`${error.message} (${error.code})\nhint: ${error.hint}`, 1);
  if (error instanceof KeywardUnreachableError) fail(error.message, 1);
  fail(error instanceof Error ? error.message : String(error), 1);
}
