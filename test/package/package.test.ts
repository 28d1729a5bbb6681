/**
 * The npm package as its users get it: `npm pack` of the staged package
 * (scripts/release/package.ts), installed into an empty project and globally
 * (a temp prefix), and used by a fresh CDKTF app, on every Node version the
 * package claims (`engines`' floor and the pinned Node: test/package/node.ts),
 * with only that Node and the machine's npm on PATH.
 *
 * npm installs the package's dependencies from its cache (~/.npm, filled by
 * `npm ci`) or the registry, as a user's npm does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../src/devcluster/binaries.ts';
import { freePort } from '../../src/devcluster/ports.ts';
import { CHECKOUT_ONLY_FIELDS, packPackage, readPackageJson, stagePackage } from '../../scripts/release/package.ts';
import { claimedNodeVersions, machineNetworkEnv, nodeBinDir, nodeBinary } from './node.ts';

const VERSION = readPackageJson().version;
const NODE_VERSIONS = claimedNodeVersions();
const log = (line: string) => console.log(`[package] ${line}`);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (stdin closed, as from a script), killing it after the timeout. */
function run(file: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c));
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 240_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr: signal ? `${stderr}\n(killed by ${signal})` : stderr });
    });
  });
}

const ok = (res: Run, what: string): Run => {
  expect(res.code, `${what}\n${res.stderr}\n${res.stdout}`).toBe(0);
  return res;
};

let work: string;
let tarball: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'keyward-package-'));
  const stage = path.join(work, 'stage');
  await stagePackage(stage);
  tarball = packPackage(stage, work);
  for (const version of NODE_VERSIONS) log(`Node ${version}: ${nodeBinary(version, log)}`);
}, 600_000);

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  // About 1.2 GB (the CDKTF app's providers, four installs of keyward's dependencies): minutes to delete on a busy disk.
  if (work) await rm(work, { recursive: true, force: true });
}, 300_000);

/** `tar -tzf`, without the leading package/. */
async function tarballFiles(): Promise<string[]> {
  const res = ok(await run('tar', ['-tzf', tarball], { cwd: work, env: process.env }), 'tar -tzf');
  return res.stdout
    .split('\n')
    .filter(Boolean)
    .map((f) => f.replace(/^package\//, ''));
}

it('the tarball: compiled JavaScript with declarations and the built dashboard; no sources, tests or checkout-only fields', async () => {
  expect(path.basename(tarball)).toBe(`keyward-${VERSION}.tgz`);
  const files = await tarballFiles();
  for (const f of ['package.json', 'README.md', 'LICENSE', 'dist/cli/bin.js', 'dist/cli/main.js', 'dist/constructs/index.js', 'dist/constructs/index.d.ts', 'dist/client/index.d.ts', 'dist/server/index.js', 'dist/operator/operator.d.ts']) {
    expect(files, f).toContain(f);
  }
  expect(files).toContain('dist/dashboard/index.html');
  expect(files).toContain('dist/dashboard/manifest.json');
  expect(files.filter((f) => /^dist\/dashboard\/assets\/main-\w+\.js$/.test(f))).toHaveLength(1);
  // Nothing but the manifest, the README and dist/; no TypeScript sources (declarations only), no source maps.
  expect(files.filter((f) => !['package.json', 'README.md', 'LICENSE'].includes(f) && !f.startsWith('dist/'))).toEqual([]);
  expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  expect(files.filter((f) => f.endsWith('.map') || /(^|\/)(test|bench|scripts|examples|testbin)\//.test(f))).toEqual([]);

  const extracted = path.join(work, 'extracted');
  mkdirSync(extracted);
  ok(await run('tar', ['-xzf', tarball, '-C', extracted, '--strip-components=1'], { cwd: work, env: process.env }), 'tar -xzf');
  const manifest = JSON.parse(readFileSync(path.join(extracted, 'package.json'), 'utf8'));
  for (const field of CHECKOUT_ONLY_FIELDS) expect(manifest, field).not.toHaveProperty(field);
  expect(manifest.version).toBe(VERSION);
  expect(manifest.bin).toEqual({ keyward: 'dist/cli/bin.js' });
  expect(manifest.engines).toEqual(readPackageJson().engines);
  expect(Object.keys(manifest.exports).sort()).toEqual(['./client', './constructs', './operator', './package.json', './server']);
  for (const [subpath, target] of Object.entries(manifest.exports as Record<string, { types: string; default: string } | string>)) {
    const targets = typeof target === 'string' ? [target] : [target.types, target.default];
    for (const t of targets) expect(files, `${subpath} -> ${t}`).toContain(t.replace(/^\.\//, ''));
  }
});

it('on a Node older than engines, the command says which Node it needs (before loading anything)', async () => {
  // The extracted package without its dependencies: a guard that let main.js load would fail on a missing import instead.
  const dir = path.join(work, 'old-node');
  mkdirSync(dir);
  ok(await run('tar', ['-xzf', tarball, '-C', dir, '--strip-components=1'], { cwd: work, env: process.env }), 'tar -xzf');
  const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  manifest.engines.node = '>=99.1';
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify(manifest));
  const node = nodeBinary(NODE_VERSIONS[0]!);
  const res = await run(node, [path.join(dir, 'dist', 'cli', 'bin.js'), '--help'], { cwd: dir, env: { PATH: '/usr/bin:/bin' } });
  expect(res.code).toBe(1);
  expect(res.stderr).toBe(`error: keyward needs Node.js >=99.1 (this is v${NODE_VERSIONS[0]} at ${node})\n`);
});

describe.each(NODE_VERSIONS)('installed with Node %s first on PATH', (nodeVersion) => {
  let home: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(() => {
    home = path.join(work, `node-${nodeVersion}`);
    const bin = nodeBinDir(path.join(home, 'bin'), nodeBinary(nodeVersion));
    // Only this Node and npm, then the system's tools (tar, sh); nothing of the checkout's node_modules.
    env = {
      ...machineNetworkEnv(),
      HOME: process.env.HOME,
      PATH: [bin, '/usr/bin', '/bin'].join(path.delimiter),
      npm_config_audit: 'false',
      npm_config_fund: 'false',
      npm_config_update_notifier: 'false',
      npm_config_prefer_offline: 'true',
      NO_COLOR: '1',
    };
  });

  const withPath = (first: string): NodeJS.ProcessEnv => ({ ...env, PATH: `${env.PATH}${path.delimiter}${first}` });

  /** `keyward serve` from `command`, on a free port: /healthz, the dashboard and /openapi.json answer. */
  async function serveAnswers(command: string, cwd: string): Promise<void> {
    const port = await freePort();
    const store = path.join(cwd, 'store', 'db.json');
    const child = spawn(command, ['serve', '--port', String(port), '--store', store, '--bootstrap-secret-file', path.join(cwd, 'admin-secret')], {
      cwd,
      env: { ...env, KEYWARD_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let output = '';
    child.stdout!.on('data', (c: Buffer) => (output += c));
    child.stderr!.on('data', (c: Buffer) => (output += c));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let gone = false;
    void exited.then(() => (gone = true));
    const url = `http://127.0.0.1:${port}`;
    try {
      for (;;) {
        if (gone) throw new Error(`keyward serve exited:\n${output}`);
        const res = await fetch(`${url}/healthz`).catch(() => undefined);
        if (res?.status === 200) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const openapi = (await (await fetch(`${url}/openapi.json`)).json()) as { info: { version: string } };
      expect(openapi.info.version).toBe(VERSION);
      const page = await fetch(`${url}/`);
      expect(page.status).toBe(200);
      const html = await page.text();
      const script = /src="(\/assets\/main-\w+\.js)"/.exec(html)?.[1];
      expect(script, html).toBeDefined();
      const asset = await fetch(`${url}${script}`);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('content-type')).toMatch(/^text\/javascript/);
      expect(readFileSync(path.join(cwd, 'admin-secret'), 'utf8')).toMatch(/^kw_\S+\n$/);
      expect(output).not.toMatch(/kw_/);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  }

  it('into an empty project: keyward --help and --version, serve answers /healthz with the dashboard, every export loads and nothing else does', async () => {
    const project = path.join(home, 'project');
    mkdirSync(project, { recursive: true });
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'empty-project', version: '1.0.0', private: true }));
    const install = ok(await run('npm', ['install', tarball], { cwd: project, env }), 'npm install <tarball>');
    expect(install.stderr).not.toMatch(/EBADENGINE/);
    // The optional peers (cdktf, constructs, the providers) are not installed for the CLI.
    expect(readdirSync(path.join(project, 'node_modules'))).not.toContain('cdktf');
    const keyward = path.join(project, 'node_modules', '.bin', 'keyward');

    const help = ok(await run(keyward, ['--help'], { cwd: project, env }), 'keyward --help');
    for (const command of ['serve', 'operator', 'keys', 'synth-manifests']) expect(help.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
    expect(ok(await run(keyward, ['--version'], { cwd: project, env }), 'keyward --version').stdout).toBe(`${VERSION}\n`);
    expect(ok(await run('npm', ['exec', '--no', '--', 'keyward', '--version'], { cwd: project, env }), 'npm exec keyward').stdout).toBe(`${VERSION}\n`);

    await serveAnswers(keyward, project);

    const probe = [
      "const c = await import('keyward/client'); const s = await import('keyward/server'); const o = await import('keyward/operator');",
      "const p = (await import('keyward/package.json', { with: { type: 'json' } })).default;",
      'console.log(JSON.stringify({ client: typeof c.KeywardClient, startServer: typeof s.startServer, resolveConfig: typeof s.resolveConfig, operator: typeof o.Operator, version: p.version }));',
      "await import('keyward/dist/cli/main.js').then(() => console.log('deep import loaded'), (e) => console.log(e.code));",
    ].join('\n');
    const res = ok(await run('node', ['--input-type=module', '-e', probe], { cwd: project, env }), 'import the exports');
    const [exportsLine, deepLine] = res.stdout.trim().split('\n');
    expect(JSON.parse(exportsLine!)).toEqual({ client: 'function', startServer: 'function', resolveConfig: 'function', operator: 'function', version: VERSION });
    expect(deepLine).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
  }, 600_000);

  it('globally (npm install -g into a temp prefix): keyward on PATH runs and serves', async () => {
    const prefix = path.join(home, 'global');
    ok(await run('npm', ['install', '--global', '--prefix', prefix, tarball], { cwd: home, env }), 'npm install -g');
    const globalEnv = withPath(path.join(prefix, 'bin'));
    const which = ok(await run('sh', ['-c', 'command -v keyward'], { cwd: home, env: globalEnv }), 'command -v keyward');
    expect(which.stdout.trim()).toBe(path.join(prefix, 'bin', 'keyward'));
    const help = ok(await run('keyward', ['--help'], { cwd: home, env: globalEnv }), 'keyward --help');
    expect(help.stdout).toMatch(/^Usage: keyward /m);
    expect(ok(await run('keyward', ['--version'], { cwd: home, env: globalEnv }), 'keyward --version').stdout).toBe(`${VERSION}\n`);
    const serveDir = path.join(home, 'global-serve');
    mkdirSync(serveDir);
    await serveAnswers(path.join(prefix, 'bin', 'keyward'), serveDir);
  }, 600_000);

  it('a fresh CDKTF app importing keyward/constructs type-checks against the declarations and synthesizes an ApiKey and an ApiKeySecret with its bundled Lambda', async () => {
    const app = await cdktfApp(env);
    const out = path.join(home, 'cdktf.out');
    const cdktf = path.join(REPO_ROOT, 'node_modules', 'cdktf-cli', 'bundle', 'bin', 'cdktf');
    const synth = ok(
      await run('node', [cdktf, 'synth', '--output', out], {
        cwd: app,
        env: { ...env, CHECKPOINT_DISABLE: '1', DISABLE_VERSION_CHECK: '1', CI: '1', CDKTF_HOME: path.join(home, 'cdktf-home') },
      }),
      'cdktf synth',
    );
    // (cdktf says at INFO level that no Terraform CLI is on PATH: synth needs none.)
    expect(synth.stdout).toMatch(/^Generated Terraform code for the stacks: fresh-app$/m);
    expect(synth.stdout + synth.stderr).not.toMatch(/ERR_[A-Z_]+/);
    const json = JSON.parse(readFileSync(path.join(out, 'stacks', 'fresh-app', 'cdk.tf.json'), 'utf8'));
    const manifests = Object.values(json.resource.kubernetes_manifest as Record<string, { manifest: { kind: string; metadata: { name: string; namespace: string }; spec: { role: string } } }>);
    expect(manifests.map((m) => [m.manifest.kind, m.manifest.metadata.namespace, m.manifest.metadata.name, m.manifest.spec.role])).toEqual([['ApiKey', 'shop', 'checkout-api', 'viewer']]);
    // ApiKeySecret: the secret, and the rotation Lambda whose archive holds the handler esbuild bundled.
    expect(Object.values(json.resource.aws_secretsmanager_secret as Record<string, { name: string }>).map((r) => r.name)).toEqual(['prod/billing/api-key']);
    const lambdas = Object.values(json.resource.aws_lambda_function as Record<string, { filename: string; handler: string }>);
    expect(lambdas.map((l) => l.handler)).toEqual(['index.handler']);
    const archives = readdirSync(path.join(out, 'stacks', 'fresh-app', 'assets'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.zip'));
    expect(archives).toHaveLength(1);
    const zip = readFileSync(path.join(out, 'stacks', 'fresh-app', 'assets', archives[0]!));
    expect(zip.includes('index.js'), 'the archive holds index.js').toBe(true);
    expect(zip.length).toBeGreaterThan(10_000);
  }, 600_000);
});

/**
 * The CDKTF app: its own package.json (cdktf, constructs, the providers and
 * keyward from the tarball), a TypeScript stack run by `node main.ts` (Node
 * >=22.18 strips types), and tsc against keyward's declarations. Installed
 * once (the providers are large), by the first Node's npm.
 */
let appReady: Promise<string> | undefined;
function cdktfApp(env: NodeJS.ProcessEnv): Promise<string> {
  appReady ??= (async () => {
    const app = path.join(work, 'fresh-cdktf-app');
    mkdirSync(app);
    const dev = readPackageJson().devDependencies as Record<string, string>;
    const deps = Object.fromEntries(['cdktf', 'constructs', '@cdktf/provider-kubernetes', '@cdktf/provider-aws'].map((name) => [name, dev[name]!]));
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'fresh-app', version: '1.0.0', private: true, type: 'module', dependencies: { ...deps, keyward: `file:${tarball}` } }, null, 2));
    writeFileSync(path.join(app, 'cdktf.json'), JSON.stringify({ language: 'typescript', app: 'node main.ts', terraformProviders: [], terraformModules: [], context: {} }));
    writeFileSync(
      path.join(app, 'main.ts'),
      [
        "import { AwsProvider } from '@cdktf/provider-aws/lib/provider/index.js';",
        "import { KubernetesProvider } from '@cdktf/provider-kubernetes/lib/provider/index.js';",
        "import { App, TerraformStack } from 'cdktf';",
        "import type { Construct } from 'constructs';",
        "import { ApiKey, ApiKeySecret, RotationPolicy, type ApiKeyProps } from 'keyward/constructs';",
        '',
        "const props: ApiKeyProps = { name: 'checkout-api', namespace: 'shop', role: 'viewer', rotation: { policy: RotationPolicy.production(), token: '1' } };",
        'class FreshStack extends TerraformStack {',
        '  constructor(scope: Construct, id: string) {',
        '    super(scope, id);',
        "    new KubernetesProvider(this, 'kubernetes', { configPath: '~/.kube/config' });",
        "    new ApiKey(this, 'checkout', props);",
        "    new AwsProvider(this, 'aws', { region: 'eu-west-1' });",
        // The AWS construct bundles its rotation Lambda with esbuild from the installed package's own files.
        "    new ApiKeySecret(this, 'billing', { name: 'prod/billing/api-key', role: 'viewer', keyService: { url: 'https://keys.example', adminKeySecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:keyward-admin-AbCdEf' } });",
        '  }',
        '}',
        'const app = new App();',
        "new FreshStack(app, 'fresh-app');",
        'app.synth();',
        '',
      ].join('\n'),
    );
    writeFileSync(
      path.join(app, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, allowImportingTsExtensions: true, skipLibCheck: true, types: [] }, include: ['main.ts'] }),
    );
    log('installing the CDKTF app (cdktf, constructs, both providers, keyward from the tarball)');
    ok(await run('npm', ['install'], { cwd: app, env, timeoutMs: 540_000 }), 'npm install (CDKTF app)');
    ok(await run('node', [path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app], { cwd: app, env }), 'tsc --noEmit (CDKTF app)');
    return app;
  })();
  return appReady;
}
