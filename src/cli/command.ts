/**
 * The building blocks every client command shares, so names, flags and help
 * follow one scheme: the connection flags, -o, -q, --yes, repeatable list
 * flags and key=value flags.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { clientSettings } from './client.ts';
import { outputOption, type OutputFormat } from './output.ts';

/** Flags every client command receives from commander. */
export type ApiFlags = Record<string, unknown> & { output: OutputFormat; quiet?: boolean; yes?: boolean; dryRun?: boolean };

/** Makes a command one that calls the key service: --url, --api-key, --context and, unless `output` is false, -o (and -q when it says what quiet prints). */
export function withApi(command: Command, options: { output?: boolean; quiet?: string } = {}): Command {
  clientSettings(command);
  if (options.output !== false) command.addOption(outputOption());
  if (options.quiet) command.option('-q, --quiet', options.quiet);
  return command;
}

/** A subcommand of `parent` that calls the key service (see withApi). */
export const apiCommand = (parent: Command, nameAndArgs: string, description: string, options: { output?: boolean; quiet?: string } = {}): Command =>
  withApi(parent.command(nameAndArgs).description(description), options);

/** --yes: what a change that cannot be undone needs when there is no terminal to ask on. */
export const yesOption = () => new Option('-y, --yes', 'do not ask for confirmation (needed without a terminal)');

/** A repeatable flag that also takes comma-separated values: --ip-allowlist a,b --ip-allowlist c. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, ...value.split(',').map((s) => s.trim()).filter(Boolean)];

/** A repeatable key=value flag: --metadata team=payments --metadata tier=gold. */
export function collectPairs(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const at = value.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError(`"${value}" is not key=value`);
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
}

/** A positive whole number flag. */
export function integer(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`"${value}" is not a whole number`);
  return Number(value);
}
