/**
 * Confirmation for changes that cannot be undone (revoke, delete, allowlist
 * changes), the way kubectl plugins and npm do it: on a terminal the command
 * asks; without one (a script, CI) it refuses unless --yes was given, so
 * nothing is changed by a command nobody confirmed.
 */
import { createInterface } from 'node:readline/promises';
import { CliError, CliUsageError } from './errors.ts';

export async function confirm(question: string, yes: boolean | undefined): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new CliUsageError(`${question.replace(/\?$/, '')}: refused without confirmation; there is no terminal to ask on, so pass --yes`);
  }
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = (await prompt.question(`${question} [y/N] `)).trim().toLowerCase();
    if (answer !== 'y' && answer !== 'yes') throw new CliError('aborted: nothing was changed');
  } finally {
    prompt.close();
  }
}
