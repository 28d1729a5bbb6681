/** `keyward config …`: the contexts of the config file (src/cli/config-file.ts), like `kubectl config`. */
import { Command } from 'commander';
import { configFileOf } from './client.ts';
import { examples, summaryOf } from './commands.ts';
import { readConfig, requireContext, secretHint, withCurrent, withoutContext, writeConfig, type Context } from './config-file.ts';
import { outputOption, printList, type OutputFormat, type View } from './output.ts';
import { addSettings } from './settings.ts';
import { ClientSettings } from './client.ts';

type Flags = Record<string, unknown> & { output: OutputFormat };
type ContextRow = { name: string; url: string; key: string; current: boolean };

const CONTEXT_VIEW: View<ContextRow> = {
  kind: 'context',
  plural: 'contexts',
  id: (row) => row.name,
  columns: [
    { header: 'CURRENT', value: (row) => (row.current ? '*' : ' ') },
    { header: 'NAME', value: (row) => row.name },
    { header: 'URL', value: (row) => row.url },
    { header: 'KEY', value: (row) => row.key },
  ],
};

/** A context as listings show it: never its secret. */
const rowOf = (context: Context, current: string | null): ContextRow => ({ name: context.name, url: context.url, key: secretHint(context.apiKey), current: context.name === current });

/** The config file of these flags: KEYWARD_CONFIG (as every client command finds it). */
const fileCommand = (config: Command, nameAndArgs: string, description: string) => addSettings(config.command(nameAndArgs).description(description), ClientSettings, ['configFile']);

export function configCommand(): Command {
  const config = new Command('config').description(summaryOf('config'));

  const get = fileCommand(config, 'get-contexts', 'list the contexts (their keys as hints only)')
    .addOption(outputOption())
    .action(async (o: Flags) => {
      const file = await readConfig(configFileOf(o));
      await printList(
        file.contexts.map((c) => rowOf(c, file.currentContext)),
        CONTEXT_VIEW,
        o.output,
      );
    });
  examples(get, ['keyward config get-contexts', 'keyward config get-contexts -o name']);

  const use = fileCommand(config, 'use-context <name>', 'make a context the current one').action(async (name: string, o: Flags) => {
    const path = configFileOf(o);
    const file = await readConfig(path);
    requireContext(file, name, path);
    await writeConfig(path, withCurrent(file, name));
    process.stdout.write(`Switched to context "${name}".\n`);
  });
  examples(use, ['keyward config use-context prod']);

  const current = fileCommand(config, 'current-context', 'print the name of the current context').action(async (o: Flags) => {
    const path = configFileOf(o);
    const file = await readConfig(path);
    if (!file.currentContext) {
      process.stderr.write(`no current context in ${path}: \`keyward login\` or \`keyward config use-context\`\n`);
      process.exitCode = 1;
      return;
    }
    process.stdout.write(`${file.currentContext}\n`);
  });
  examples(current, ['keyward config current-context']);

  const remove = fileCommand(config, 'delete-context <name>', 'remove a context and its key from the config file').action(async (name: string, o: Flags) => {
    const path = configFileOf(o);
    const file = await readConfig(path);
    requireContext(file, name, path);
    await writeConfig(path, withoutContext(file, name));
    process.stdout.write(`Deleted context "${name}" from ${path}.\n`);
  });
  examples(remove, ['keyward config delete-context staging']);
  return config;
}
