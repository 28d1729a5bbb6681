/**
 * `keyward operator`: runs the Kubernetes operator (in a cluster or against a
 * kubeconfig). Its flags, help and environment variables are derived from
 * the settings schema in src/operator/config.ts (read against the
 * environment by src/cli/settings.ts).
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { operatorConfig, OperatorSettings } from '../operator/config.ts';
import { examples, summaryOf } from './commands.ts';
import { addSettings, requireApiKey, resolveCommandSettings } from './settings.ts';

export function operatorCommand(): Command {
  const command = new Command('operator').description(summaryOf('operator'));
  examples(command, ['keyward operator', 'KEYWARD_API_KEY_FILE=/var/run/keyward/key keyward operator --namespace team-a --leader-elect']);
  return addSettings(command, OperatorSettings).action(async (flags: Record<string, unknown>) => {
    const settings = resolveCommandSettings(OperatorSettings, flags);
    const apiKey = requireApiKey(
      settings.apiKeyFile ? readFileSync(settings.apiKeyFile, 'utf8').trim() : settings.apiKey,
      'a key of the key service with the key-manager role',
      '--api-key-file',
    );

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
