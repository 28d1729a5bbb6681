/**
 * `keyward verify`: what your API asks the key service about a key presented
 * to it, from a shell. The presented key comes from stdin or a prompt (never
 * argv). The exit code is the answer: 0 valid, 3 not valid (the output says
 * why), 1 the call itself was refused (the CLI's own key), 2 usage.
 */
import { Command } from 'commander';
import { withApi, type ApiFlags } from './command.ts';
import { clientFor } from './client.ts';
import { examples, summaryOf } from './commands.ts';
import { EXIT } from './errors.ts';
import { printResult, renderDescribe, tabular } from './output.ts';
import { readSecret } from './read-secret.ts';

export function verifyCommand(): Command {
  const command = withApi(new Command('verify').description(summaryOf('verify')), { quiet: 'print nothing: the exit code alone answers' })
    .option('--permission <name>', 'also require this permission, e.g. geo.read')
    .option('--ip <address>', "the client's address, checked against the allowlists")
    .addHelpText('after', '\nThe key to check is read from stdin (or asked for on a terminal), never from an argument.\nExit codes: 0 valid, 3 not valid, 1 the call was refused, 2 usage error.\n');
  command.action(async (o: ApiFlags & { permission?: string; ip?: string }) => {
    const client = await clientFor(o, ['verifyKey']);
    const key = await readSecret('Key to verify: ', 'key to verify');
    const result = await client.verifyKey({ key, ...(o.permission ? { permission: o.permission } : {}), ...(o.ip ? { ip: o.ip } : {}) });
    process.exitCode = result.valid ? EXIT.OK : EXIT.NOT_VALID;
    if (o.quiet) return;
    if (!tabular(o.output)) return printResult(result, o.output, result.keyId ? `key/${result.keyId}` : result.code);
    if (!result.valid) {
      process.stdout.write(renderDescribe([['Valid', 'no'], ['Code', result.code], ['Message', result.message], ['Hint', result.hint]]));
      return;
    }
    process.stdout.write(
      renderDescribe([
        ['Valid', 'yes'],
        ['Key', `${result.keyId} (${result.name})`],
        ['Role', result.role],
        ['Environment', result.environment],
        ['Expires', result.expiresAt ?? '<never>'],
        ['Permissions', result.permissions ?? []],
        ['Metadata', result.metadata ?? {}],
      ]),
    );
  });
  return examples(command, ['printf %s "$PRESENTED_KEY" | keyward verify', 'keyward verify --permission geo.read --ip 203.0.113.7 < key.txt', 'if keyward verify -q < key.txt; then echo valid; fi']);
}
