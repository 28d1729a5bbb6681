/**
 * `keyward login --name prod --url https://…`: checks the key with the
 * service (whoami), then saves it as a context of the config file and makes
 * it current, like `gh auth login --with-token` and `kubectl config
 * set-context`. The key comes from a prompt or stdin, never from argv.
 */
import { Command } from 'commander';
import { KeywardClient } from '../client/index.ts';
import { DEFAULT_KEY_SERVICE_URL } from '../core/settings.ts';
import { configFileOf } from './client.ts';
import { examples, summaryOf } from './commands.ts';
import { readConfig, withContext, withCurrent, writeConfig } from './config-file.ts';
import { readSecret } from './read-secret.ts';
import { addSettings, resolveCommandSources } from './settings.ts';
import { ClientSettings } from './client.ts';

export function loginCommand(): Command {
  const command = addSettings(new Command('login').description(summaryOf('login')), ClientSettings, ['url'])
    .requiredOption('--name <context>', 'name of the context, e.g. prod')
    .option('--no-use', 'save the context without making it the current one')
    .action(async (o: Record<string, unknown> & { name: string; use: boolean }) => {
      // Where to log in: --url, else KEYWARD_URL, else the default (never another context's URL).
      const sources = resolveCommandSources(ClientSettings, o);
      const url = sources.flags.url ?? sources.env.url ?? DEFAULT_KEY_SERVICE_URL;
      const apiKey = await readSecret(`API key for ${url}: `, 'API key');
      // A key that does not work is not saved: the refusal (code and hint) is the command's error.
      const me = await new KeywardClient({ url, apiKey }).whoami();
      const file = configFileOf(o);
      const saved = withContext(await readConfig(file), { name: o.name, url, apiKey });
      await writeConfig(file, o.use ? withCurrent(saved, o.name) : saved);
      process.stderr.write(
        `Logged in to ${url} as ${me.key.id} (${me.key.name}, role ${me.key.role}) of organization ${me.organization.name}.\n` +
          `Saved as context "${o.name}" in ${file}${o.use ? ', now the current context' : ''}.\n`,
      );
    });
  return examples(command, [
    'keyward login --name prod --url https://keys.example.com        # asks for the key',
    'pass show keyward/prod | keyward login --name prod --url https://keys.example.com',
    `keyward login --name local --url ${DEFAULT_KEY_SERVICE_URL} --no-use < admin-key.txt`,
  ]);
}
