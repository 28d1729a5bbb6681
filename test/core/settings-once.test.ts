/**
 * Configuration one way (issue 17, item 6): each process reads its
 * environment in one place, and each default is named once. The schema's
 * defaults are what code that runs without a configuration (tests,
 * embedders, the OpenAPI document's `servers`) falls back to, so they cannot
 * drift apart.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_KEY_SERVICE_URL, resolveSettings } from '../../src/core/settings.ts';
import { configFromEnv, DEFAULT_PLAN, DEFAULT_PLANS, peopleSettings, resolveConfig, ServerConfig } from '../../src/server/config.ts';
import { openApiServers } from '../../src/server/openapi.ts';
import { DEFAULT_PEOPLE_SETTINGS } from '../../src/server/people/settings.ts';

const sources = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
/** The code of a source file, without its comments (a comment may name process.env or a default). */
const code = (file: string): string =>
  readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`])\/\/.*$/gm, '$1');

describe('each process reads its environment in one place', () => {
  // The keyward process (CLI, key service, operator): src/cli/settings.ts. Test support that the CLI does not
  // configure (src/devcluster) and the rotation Lambda (its own process, src/constructs/aws/rotation-config.ts's
  // configFromEnv) are outside.
  const ONE_PLACE = 'src/cli/settings.ts';
  const files = ['src/cli', 'src/server', 'src/operator', 'src/store', 'src/core', 'src/client', 'src/dashboard', 'src/gitops'].flatMap(sources);

  it.each(files.filter((f) => f !== ONE_PLACE))('%s reads no process.env', (file) => {
    expect(code(file)).not.toMatch(/process\.env/);
  });
});

describe('the environment is read one way', () => {
  it("embedders' configFromEnv reads the service's variables as keyward serve does (core/settings.ts)", () => {
    const env = { KEYWARD_PORT: '9123', KEYWARD_HOST: '', KEYWARD_STORE: '/tmp/x/db.json', KEYWARD_USAGE_FLUSH_MS: '250', KEYWARD_PLANS: 'free=3,team=50', KEYWARD_DEFAULT_PLAN: 'team', UNRELATED: 'x' };
    expect(resolveConfig(configFromEnv(env))).toEqual(resolveSettings(ServerConfig, {}, env));
    expect(resolveConfig(configFromEnv(env))).toMatchObject({ port: 9123, storeFile: '/tmp/x/db.json', usageFlushMs: 250, defaultPlan: 'team' });
  });
});

describe('each default is named once', () => {
  const server = resolveConfig();

  it("the people side's defaults are the service schema's", () => {
    expect(DEFAULT_PEOPLE_SETTINGS).toEqual(peopleSettings(server));
  });

  it("the plans a service context falls back to are the schema's", () => {
    expect(DEFAULT_PLANS).toEqual(server.plans);
    expect(DEFAULT_PLAN).toBe(server.defaultPlan);
  });

  it("the clients' default URL, and the OpenAPI document's, are where `keyward serve` listens by default", () => {
    expect(DEFAULT_KEY_SERVICE_URL).toBe(`http://${server.host}:${server.port}`);
    expect(openApiServers()[0]!.url).toBe(DEFAULT_KEY_SERVICE_URL);
  });

  it.each([
    ['the default key service URL', /['"`]http:\/\/127\.0\.0\.1:8080['"`]/],
    ['the default mail sender', /keyward@localhost/],
    ['the default plans', /enterprise=unlimited|enterprise: null/],
    ['the default session timeouts', /Duration\.default\('(1h|12h)'\)|session(Idle|Absolute)Ms: \d/],
  ])('%s is written in one place in src/ at most', (_what, pattern) => {
    const holding = sources('src').filter((file) => pattern.test(code(file)));
    expect(holding.length, holding.join(', ')).toBeLessThanOrEqual(1);
  });
});
