/** `keyward serve` and `keyward bootstrap`: run the service, or seed its store directly. */
import { writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { formatDuration } from '../core/duration.ts';
import { BOOTSTRAP_INVITATION_MS } from '../core/api-defaults.ts';
import { checkServerConfig, ServeSettings, ServerConfig } from '../server/config.ts';
import { checkBootstrapSecret, parseSecretRef, writeBootstrapSecret as writeBootstrapSecretK8s } from './bootstrap-secret.ts';
import { examples, summaryOf } from './commands.ts';
import { CliError } from './errors.ts';
import { printJson, type OutputFormat } from './output.ts';
import { addSettings, resolveCommandSettings } from './settings.ts';

// The server stack loads only when a command needs it, so `keyward --help` and
// the client commands start fast.
const loadServer = async () => ({
  ...(await import('../server/server.ts')),
  ...(await import('../server/service.ts')),
  ...(await import('../store/index.ts')),
});

/** The store settings `keyward bootstrap` and `keyward org …` take, like `serve`. */
const STORE_SETTINGS = ['storeFile', 'databaseUrl', 'tokenPrefix', 'plans', 'defaultPlan'];

export type StoreFlags = Record<string, unknown>;

export const storeOptions = (command: Command): Command => addSettings(command, ServerConfig, STORE_SETTINGS);

/** The first admin's invitation link, for people (the dashboard signs in with passkeys, not keys). */
const invitationLines = (link: string | undefined): string =>
  link ? `The first admin signs in to the dashboard by opening this one-time link (it works once, for ${formatDuration(BOOTSTRAP_INVITATION_MS)}):\n  ${link}\n\n` : '';

function printBootstrapped(result: { organizationId: string; keyId: string; secret: string; invitationLink?: string }, organization: string): void {
  process.stderr.write(
    `\nCreated organization "${organization}" (${result.organizationId}) and its admin key ${result.keyId}.\n` +
      'Store this secret now: it is shown once and cannot be retrieved again.\n' +
      `  export KEYWARD_API_KEY=${result.secret}\n\n` +
      invitationLines(result.invitationLink),
  );
}

/**
 * Where a server writes its first admin secret instead of its output: under a
 * process manager (Kubernetes, systemd) the output is a log that is kept and
 * shipped, and a secret must never reach a log.
 */
function writeBootstrapSecret(file: string, result: { keyId: string; secret: string; invitationLink?: string }): void {
  writeFileSync(file, `${result.secret}\n`, { mode: 0o600, flag: 'wx' });
  // The link is a credential too: next to the secret, never in the output.
  if (result.invitationLink) writeFileSync(`${file}.invitation`, `${result.invitationLink}\n`, { mode: 0o600, flag: 'wx' });
  process.stderr.write(
    `\nCreated organization "default" and its admin key ${result.keyId}; its secret is in ${file} (mode 600).\n` +
      (result.invitationLink ? `The first admin's one-time dashboard link is in ${file}.invitation (mode 600).\n` : '') +
      'Read it once, store it safely, then delete the file.\n\n',
  );
}

export function serveCommand(): Command {
  const serve = new Command('serve').description(summaryOf('serve'));
  examples(serve, ['keyward serve', 'keyward serve --port 9000 --database-url postgres://keyward@db:5432/keyward', 'KEYWARD_BOOTSTRAP_SECRET_FILE=/run/keyward/admin keyward serve']);
  addSettings(serve, ServeSettings).action(async (flags: Record<string, unknown>) => {
    const settings = checkServerConfig(resolveCommandSettings(ServeSettings, flags, { bootstrapOrganization: 'default' }));
    const { bootstrapSecretFile: secretFile, bootstrapSecretK8s, ...config } = settings;
    const secretRef = bootstrapSecretK8s ? parseSecretRef(bootstrapSecretK8s) : undefined;
    if (secretRef) await checkBootstrapSecret(secretRef);
    const { startServer } = await loadServer();
    let bootstrapped: { keyId: string; secret: string; invitationLink?: string } | undefined;
    const running = await startServer(config, {
      onBootstrap: (result) => {
        if (secretRef) bootstrapped = result;
        else if (secretFile) writeBootstrapSecret(secretFile, result);
        else printBootstrapped(result, 'default');
      },
    });
    if (secretRef && bootstrapped) await writeBootstrapSecretK8s(secretRef, bootstrapped);
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      running.logger.info({ signal }, 'shutting down');
      running.close().then(
        () => process.exit(0),
        (error: unknown) => {
          running.logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
  return serve;
}

/**
 * Runs `work` on a key service over the configured store, opened directly (no
 * server): what `keyward bootstrap` and `keyward org …` do. The lowdb file
 * belongs to one process, so with it the service must be stopped first.
 */
export async function withStoreService<T>(flags: StoreFlags, work: (service: InstanceType<Awaited<ReturnType<typeof loadServer>>['KeyService']>) => Promise<T>): Promise<T> {
  const config = checkServerConfig(resolveCommandSettings(ServerConfig, flags));
  const { openStore, KeyService } = await loadServer();
  const store = await openStore({ file: config.storeFile, databaseUrl: config.databaseUrl });
  try {
    return await work(new KeyService(store, { tokenPrefix: config.tokenPrefix, plans: config.plans, defaultPlan: config.defaultPlan }));
  } finally {
    await store.close();
  }
}

export function bootstrapCommand(): Command {
  const bootstrap = new Command('bootstrap')
    .description(summaryOf('bootstrap'))
    .requiredOption('--org <name>', 'organization name')
    .option('--allow-duplicate-name', 'create it even if an organization of that name exists (names need not be unique; ids are)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'));
  examples(bootstrap, ['keyward bootstrap --org acme', 'keyward bootstrap --org acme --output json --database-url "$KEYWARD_DATABASE_URL"']);
  storeOptions(bootstrap).action(async (flags: StoreFlags & { org: string; output: OutputFormat; allowDuplicateName?: boolean }) => {
    const result = await withStoreService(flags, async (service) => {
      // Run twice by mistake (a retried script), bootstrap would make a second organization of the same name and a second admin key.
      const same = (await service.operator.list()).filter((org) => org.name === flags.org);
      if (same.length > 0 && !flags.allowDuplicateName) {
        throw new CliError(
          `an organization named "${flags.org}" exists already (${same.map((org) => org.id).join(', ')}); nothing was created`,
          'Use its admin key, pick another name, or pass --allow-duplicate-name to create a second one.',
        );
      }
      return service.bootstrapOrganization(flags.org);
    });
    if (flags.output === 'json') printJson(result);
    else printBootstrapped(result, flags.org);
  });
  return bootstrap;
}
