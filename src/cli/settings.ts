/**
 * Where the `keyward` process reads its environment. Each command's settings
 * are a zod schema (see src/core/settings.ts): the command's flags and help
 * (defaults and variable names) are generated from it here, and its values
 * resolved flag > environment > default against process.env, here and
 * nowhere else. A bad value is a SettingsError naming its flag or variable,
 * which the command line reports as a usage error (exit 2).
 */
import { Option, type Command } from 'commander';
import type { z } from 'zod';
import { describeSettings, resolveSettings, type Setting } from '../core/settings.ts';
import { CliUsageError } from './errors.ts';

type Schema = z.ZodObject<Record<string, z.ZodType>>;

const collect = (value: string, all: string[] = []): string[] => [...all, ...value.split(',').filter(Boolean)];
const attributeOf = (setting: Setting): string => new Option(setting.flag!).attributeName();
const shown = (setting: Setting): string | undefined =>
  setting.default === undefined ? undefined : typeof setting.default === 'string' ? JSON.stringify(setting.default) : String(setting.default);

/**
 * Adds the schema's settings to a command: a flag for each setting that has
 * one (all of them, or those named in `only`), and an "Environment:" help
 * section for the settings read from the environment alone.
 */
export function addSettings(command: Command, schema: Schema, only?: readonly string[]): Command {
  const settings = describeSettings(schema).filter((s) => !only || only.includes(s.key));
  for (const setting of settings.filter((s) => s.flag)) {
    // No commander defaults: an absent flag is undefined, so the environment and then the schema's default apply.
    const option = new Option(setting.flag!, setting.help);
    if (setting.list) option.argParser(collect);
    if (setting.hidden) option.hideHelp();
    command.addOption(option);
  }
  const envOnly = settings.filter((s) => !s.flag && s.env && !s.hidden);
  if (envOnly.length > 0) {
    const width = Math.max(...envOnly.map((s) => s.env!.length)) + 2;
    const lines = envOnly.map((s) => `  ${s.env!.padEnd(width)}${s.description}${shown(s) ? ` (default: ${shown(s)})` : ''}`);
    command.addHelpText('after', `\nEnvironment:\n${lines.join('\n')}\n`);
  }
  return command;
}

/** The command's settings from its flags (commander's values) and this process's environment. */
export function resolveCommandSettings<S extends Schema>(schema: S, flags: Record<string, unknown>, fixed: Record<string, unknown> = {}): z.output<S> {
  const byKey: Record<string, unknown> = { ...fixed };
  for (const setting of describeSettings(schema)) if (setting.flag && flags[attributeOf(setting)] !== undefined) byKey[setting.key] = flags[attributeOf(setting)];
  // A SettingsError is a usage error (exit 2): main.ts says so.
  return resolveSettings(schema, byKey, process.env);
}

/**
 * The command's settings from its flags alone and from the environment alone,
 * for commands that put another source between the two (the client commands'
 * contexts: src/cli/client.ts).
 */
export function resolveCommandSources<S extends Schema>(schema: S, flags: Record<string, unknown>): { flags: z.output<S>; env: z.output<S> } {
  const byKey: Record<string, unknown> = {};
  for (const setting of describeSettings(schema)) if (setting.flag && flags[attributeOf(setting)] !== undefined) byKey[setting.key] = flags[attributeOf(setting)];
  return { flags: resolveSettings(schema, byKey, {}), env: resolveSettings(schema, {}, process.env) };
}

/** Whether the environment lets output be coloured (the NO_COLOR convention; TERM=dumb). Whether a stream is a terminal is output.ts's. */
export const terminalTakesColour = (): boolean => !process.env.NO_COLOR && process.env.TERM !== 'dumb';

/**
 * The key service API key a command needs, or the one usage error every
 * command gives without it: what to set, and what the key must be allowed.
 */
export function requireApiKey(apiKey: string | undefined, needs: string, alternative?: string): string {
  if (apiKey) return apiKey;
  throw new CliUsageError(
    `set KEYWARD_API_KEY${alternative ? ` or ${alternative}` : ''} to the secret of ${needs} (an admin key's secret is printed once when the service first starts on an empty store, by \`npm start\` or \`keyward serve\`, or by \`keyward bootstrap\`)`,
  );
}
