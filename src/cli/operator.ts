/**
 * `keyward operator`: runs the Kubernetes operator (in a cluster or against a
 * kubeconfig). Its flags, help and environment variables are derived from
 * the settings schema in src/operator/config.ts; this is where the operator
 * process reads its environment.
 */
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { describeSettings, resolveSettings, SettingsError } from '../core/settings.ts';
import { operatorConfig, OperatorSettings } from '../operator/config.ts';
import { CliUsageError } from './errors.ts';

const collect = (value: string, all: string[] = []): string[] => [...all, ...value.split(',').filter(Boolean)];

export function operatorCommand(): Command {
  const command = new Command('operator').description('run the Kubernetes operator: ApiKey resources become keys and Secrets, rotated without downtime');
  for (const setting of describeSettings(OperatorSettings)) {
    if (!setting.flag) continue;
    // No commander defaults: an absent flag is undefined, so the environment and then the schema's default apply.
    const option = new Option(setting.flag, setting.help);
    if (setting.list) option.argParser(collect);
    if (setting.hidden) option.hideHelp();
    command.addOption(option);
  }
  const envOnly = describeSettings(OperatorSettings).filter((s) => !s.flag && !s.hidden);
  command.addHelpText('after', `\nEnvironment:\n${envOnly.map((s) => `  ${s.env!.padEnd(22)}${s.description}`).join('\n')}\n`);

  return command.action(async (flags: Record<string, unknown>) => {
    let settings;
    try {
      settings = resolveSettings(OperatorSettings, flags, process.env);
    } catch (error) {
      if (error instanceof SettingsError) throw new CliUsageError(error.message);
      throw error;
    }
    const apiKey = settings.apiKeyFile ? readFileSync(settings.apiKeyFile, 'utf8').trim() : settings.apiKey;
    if (!apiKey) throw new CliUsageError('set KEYWARD_API_KEY or --api-key-file to a key of the key service with the key-manager role');

    const { KubeConfig } = await import('@kubernetes/client-node');
    const { Operator } = await import('../operator/operator.ts');
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromDefault();
    const operator = new Operator(operatorConfig(settings, kubeConfig, apiKey));
    await operator.start();
    const stop = (signal: string) => {
      operator.logger.info({ signal }, 'stopping the operator');
      operator.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
