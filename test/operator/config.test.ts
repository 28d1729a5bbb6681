/**
 * The operator's settings come from one schema (src/operator/config.ts):
 * `keyward operator --help` shows each flag with the schema's default and
 * environment variable, values resolve flag > environment > default, and a
 * bad value is a usage error (exit 2) naming the flag or variable it came
 * from, before anything starts. No cluster needed: the errors come first.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeSettings, resolveSettings, SettingsError } from '../../src/core/settings.ts';
import { OperatorSettings } from '../../src/operator/config.ts';
import { run } from '../support/cli-process.ts';

describe('keyward operator settings', () => {
  it('--help lists every flag with the default and environment variable the schema declares', async () => {
    const help = await run(['operator', '--help']);
    expect(help.code).toBe(0);
    const text = help.stdout.replace(/\s+/g, ' ');
    expect(text).toContain('--url <url> key service URL (default: "http://127.0.0.1:8080", env: KEYWARD_URL)');
    expect(text).toContain('--workers <n> concurrent reconciles (default: 4)');
    expect(text).toContain('--kube-api-qps <n> requests per second to the Kubernetes API server, sustained (watches not counted) (default: 50)');
    expect(text).toContain('--key-service-burst <n> requests to the key service that may go at once, above the sustained rate (default: 100)');
    expect(text).toContain('--lease-namespace <ns> the operator\'s own namespace: its leader-election Lease and the ConfigMap keyward-roles (the organization\'s roles) (default: "keyward-system", env: POD_NAMESPACE)');
    expect(text).toContain('--log-level <level> fatal|error|warn|info|debug|trace|silent (default: "info", env: KEYWARD_LOG_LEVEL)');
    expect(text).toMatch(/Environment: KEYWARD_API_KEY API key of the key service/);
    // Every flag of the schema, and the test hook nowhere.
    for (const setting of describeSettings(OperatorSettings).filter((s) => s.flag && !s.hidden)) expect(text).toContain(setting.flag!);
    expect(text).not.toContain('KEYWARD_OPERATOR_CRASH_AT');
  });

  it('help follows the schema: a default or variable changed there is what --help says', () => {
    const Toy = z.object({ depth: z.coerce.number().default(7).meta({ flag: '--depth <n>', env: 'TOY_DEPTH', description: 'how deep' }) });
    expect(describeSettings(Toy)[0]!.help).toBe('how deep (default: 7, env: TOY_DEPTH)');
  });

  it('resolves flag > environment > default', () => {
    const env = { KEYWARD_URL: 'http://env.example:8080', POD_NAMESPACE: 'from-env' };
    expect(resolveSettings(OperatorSettings, { url: 'http://flag.example:8080' }, env)).toMatchObject({ url: 'http://flag.example:8080', leaseNamespace: 'from-env', workers: 4, resync: '10m' });
    expect(resolveSettings(OperatorSettings, {}, env).url).toBe('http://env.example:8080');
    expect(resolveSettings(OperatorSettings, {}, {})).toMatchObject({ url: 'http://127.0.0.1:8080', leaseNamespace: 'keyward-system', namespace: [], leaderElect: false, logLevel: 'info' });
    expect(resolveSettings(OperatorSettings, { namespace: ['a', 'b'], workers: '8', leaderElect: true }, { KEYWARD_LOG_LEVEL: 'warn' })).toMatchObject({
      namespace: ['a', 'b'],
      workers: 8,
      leaderElect: true,
      logLevel: 'warn',
    });
    expect(() => resolveSettings(OperatorSettings, {}, { KEYWARD_URL: 'ftp://x' })).toThrow(new SettingsError('KEYWARD_URL: must be an http(s) URL, e.g. http://127.0.0.1:8080'));
  });

  const usage: [string, string[], Record<string, string>, RegExp][] = [
    ['no API key', [], {}, /set KEYWARD_API_KEY or --api-key-file/],
    ['workers 0', ['--workers', '0'], { KEYWARD_API_KEY: 'kw_x' }, /^error: --workers: Too small/m],
    ['workers not a number', ['--workers', 'many'], { KEYWARD_API_KEY: 'kw_x' }, /^error: --workers: /m],
    ['a request budget of 0', ['--kube-api-qps', '0'], { KEYWARD_API_KEY: 'kw_x' }, /^error: --kube-api-qps: must be more than 0/m],
    ['a burst that is not whole', ['--key-service-burst', '1.5'], { KEYWARD_API_KEY: 'kw_x' }, /^error: --key-service-burst: must be a whole number/m],
    ['bad duration', ['--resync', '10 minutes'], { KEYWARD_API_KEY: 'kw_x' }, /^error: --resync: must be a duration/m],
    ['bad bind address', ['--metrics-bind-address', '8081'], { KEYWARD_API_KEY: 'kw_x' }, /^error: --metrics-bind-address: must look like 0\.0\.0\.0:8081/m],
    ['bad namespace', ['-n', 'Team_A'], { KEYWARD_API_KEY: 'kw_x' }, /^error: --namespace: must be a namespace name/m],
    ['bad log level from the environment', [], { KEYWARD_API_KEY: 'kw_x', KEYWARD_LOG_LEVEL: 'loud' }, /^error: KEYWARD_LOG_LEVEL: /m],
    ['bad crash point', [], { KEYWARD_API_KEY: 'kw_x', KEYWARD_OPERATOR_CRASH_AT: 'nowhere' }, /^error: KEYWARD_OPERATOR_CRASH_AT: /m],
  ];
  for (const [title, args, env, message] of usage) {
    it(`usage error (exit 2): ${title}`, async () => {
      const result = await run(['operator', ...args], env);
      expect(result.stderr).toMatch(message);
      expect(result.code).toBe(2);
    });
  }
});
