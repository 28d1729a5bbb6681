/**
 * `keyward org oidc get|set|remove`: the organization's own identity
 * provider (OpenID Connect) over the API. The client secret is read from a
 * prompt or stdin (never argv, where `ps` and shell history keep it) and is
 * never printed: the service never answers it.
 */
import type { Command } from 'commander';
import type { Result } from '../client/index.ts';
import { clientFor } from './client.ts';
import { apiCommand, collect, yesOption, type ApiFlags } from './command.ts';
import { examples } from './commands.ts';
import { confirm } from './confirm.ts';
import { CliUsageError } from './errors.ts';
import { printResult, renderDescribe, tabular, type OutputFormat } from './output.ts';
import { readSecret } from './read-secret.ts';

type Provider = Result<'getOrganizationOidc'>;

function describeProvider(provider: Provider): string {
  return renderDescribe([
    ['Source', provider.source === 'organization' ? 'organization (keyward org oidc set)' : 'service (KEYWARD_OIDC_ISSUER, used while the organization has none)'],
    ['Name', provider.name],
    ['Issuer', provider.issuer],
    ['Client ID', provider.clientId],
    ['Client secret', '<set, never shown>'],
    ['Allowed domains', provider.allowedDomains.length ? provider.allowedDomains : ['<any>']],
    ['Updated', provider.updatedAt],
  ]);
}

async function print(provider: Provider, output: OutputFormat): Promise<void> {
  if (tabular(output)) process.stdout.write(describeProvider(provider));
  else await printResult(provider, output, `oidc/${provider.issuer}`);
}

export function orgOidcCommands(org: Command): void {
  const oidc = org.command('oidc').description("the organization's own identity provider (OpenID Connect): get, set, remove");

  const get = apiCommand(oidc, 'get', "show the identity provider the organization's people sign in with (never its client secret)").action(async (o: ApiFlags) => {
    await print(await (await clientFor(o, ['getOrganizationOidc'])).getOrganizationOidc(), o.output);
  });
  examples(get, ['keyward org oidc get', 'keyward org oidc get -o yaml']);

  const set = apiCommand(oidc, 'set', 'set the identity provider: issuer, client id, allowed email domains; the client secret from a prompt or stdin')
    .requiredOption('--issuer <url>', 'the issuer (https://…; discovered from /.well-known/openid-configuration)')
    .requiredOption('--client-id <id>', "keyward's client id at the provider")
    .requiredOption('--allowed-domain <domain>', 'an email domain that may sign in (repeatable, or comma-separated)', collect)
    .option('--name <name>', 'shown on the sign-in button: "Sign in with <name>"')
    .option('--keep-client-secret', 'keep the client secret already set (nothing is read)')
    .action(async (o: ApiFlags & { issuer: string; clientId: string; allowedDomain: string[]; name?: string; keepClientSecret?: boolean }) => {
      const client = await clientFor(o, ['putOrganizationOidc']);
      const clientSecret = o.keepClientSecret ? undefined : await readSecret('Client secret: ', 'client secret');
      if (clientSecret !== undefined && /\s/.test(clientSecret)) throw new CliUsageError('the client secret holds whitespace: paste it alone');
      await print(
        await client.putOrganizationOidc({ issuer: o.issuer, clientId: o.clientId, allowedDomains: o.allowedDomain, ...(o.name !== undefined ? { name: o.name } : {}), ...(clientSecret !== undefined ? { clientSecret } : {}) }),
        o.output,
      );
    });
  examples(set, [
    'keyward org oidc set --issuer https://login.example.com --client-id keyward --allowed-domain example.com --name "Example SSO"',
    'pass show keyward/oidc | keyward org oidc set --issuer https://login.example.com --client-id keyward --allowed-domain example.com',
    'keyward org oidc set --issuer https://login.example.com --client-id keyward --allowed-domain example.com --keep-client-secret',
  ]);

  const remove = apiCommand(oidc, 'remove', "remove the organization's own identity provider (the service-wide one, if any, applies again)", { quiet: 'print nothing on success' })
    .addOption(yesOption())
    .action(async (o: ApiFlags) => {
      const client = await clientFor(o, ['getOrganizationOidc', 'deleteOrganizationOidc']);
      // What is removed, to name it (and print it with -o json|yaml, as `members remove` prints the member).
      const current = await client.getOrganizationOidc();
      if (current.source !== 'organization') throw new CliUsageError('the organization has no identity provider of its own (it signs in with the service-wide one)');
      await confirm(`Remove the identity provider ${current.name} (${current.issuer})? Members without a passkey can no longer sign in.`, o.yes);
      await client.deleteOrganizationOidc();
      if (o.quiet) return;
      if (tabular(o.output)) process.stdout.write(`identity provider ${current.issuer} removed\n`);
      else await printResult(current, o.output, `oidc/${current.issuer}`);
    });
  examples(remove, ['keyward org oidc remove', 'keyward org oidc remove --yes']);
}
