#!/usr/bin/env node
/**
 * The `keyward` command. Only the module of the command being run is loaded
 * (src/cli/commands.ts lists them): `keyward --help` loads commander and the
 * catalog, nothing else. Exit codes: EXIT in src/cli/errors.ts (0 ok, 1 the
 * API refused, 2 usage, 3 and 4 answers of verify and rotation due).
 */
import { Command, CommanderError } from 'commander';
import { COMMANDS, GROUPS } from './commands.ts';
import { VERSION } from '../version.ts';

const HELP_AFTER = `
Connection: --url and --api-key, else the context of --context or KEYWARD_CONTEXT,
else KEYWARD_URL and KEYWARD_API_KEY, else the config file's current context
(\`keyward login\`, ~/.config/keyward/config.yaml).
Output: -o table|wide|json|yaml|name|jsonpath=TEMPLATE on every command that prints resources.
Exit codes: 0 success, 1 refused by the API or failed, 2 usage error, 3 a key that does not
verify (and keys due in \`rotation due\`), 4 keys due and bumped.

Run \`keyward help <command>\` or \`keyward <command> --help\` for a command's flags and examples.
`;

/** The command the arguments name (`keyward help keys` names keys), or undefined for the top level. */
function requested(args: string[]): string | undefined {
  const words = args.filter((arg) => !arg.startsWith('-'));
  return words[0] === 'help' ? words[1] : words[0];
}

const program = new Command('keyward')
  .description('API keys managed as infrastructure')
  .version(VERSION)
  .showHelpAfterError('(run with --help for usage)')
  .addHelpText('after', HELP_AFTER);

const wanted = requested(process.argv.slice(2));
for (const entry of COMMANDS) {
  if (entry.name === wanted) program.addCommand((await entry.load())(), {});
  // The others only as a line of the help: their modules stay unloaded.
  else program.command(entry.name).description(entry.summary).allowUnknownOption().helpOption(false);
  program.commands.at(-1)!.helpGroup(GROUPS[entry.group]);
}

// `help [command]` joins the last group.
program.commandsGroup(GROUPS.other).helpCommand('help [command]', 'show the help of a command');

const overrideExits = (command: Command): void => {
  command.exitOverride();
  command.commands.forEach(overrideExits);
};
overrideExits(program);
// The command whose action runs: a failure names its flags and arguments (and no flag it lacks).
let running: Command | undefined;
program.hook('preAction', (_program, action) => void (running = action));

try {
  await program.parseAsync(process.argv);
} catch (error) {
  // Help and version are successes; anything else commander reports (it printed it) is a usage error.
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
  const { describeFailure, shapeOf } = await import('./failure.ts');
  const failure = describeFailure(error, running && shapeOf(running));
  if (failure.text) process.stderr.write(`${failure.text}\n`);
  process.exit(failure.exitCode);
}
