/**
 * `npm run testbin -- --only kubernetes-provider` (scripts/testbin.ts), the
 * real script against a throwaway cache (XDG_CACHE_HOME in a temp dir, so the
 * shared ~/.cache/keyward/testbin is never touched and nothing 6-minute is
 * built):
 * - a tarball that is not the pinned one is refused before anything is
 *   unpacked or built (here one that would build in seconds if it were not);
 * - KEYWARD_TERRAFORM_PROVIDER_KUBERNETES_SRC naming no file fails, naming it;
 * - TEST_ASSET_TERRAFORM_PROVIDER_KUBERNETES is linked into the cached
 *   OpenTofu's filesystem mirror under both registry hostnames, and the
 *   `tofurc` written next to it (the one the README's walkthrough exports)
 *   makes the real tofu, and terraform where installed, install the provider
 *   from it with no network.
 * The build itself is CI's `npm run testbin -- --only kubernetes-provider`
 * (docs/testing.md has its cost); the cache key covering the tarball's sha256
 * is checked here on the key function.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  REPO_ROOT,
  familyBinaries,
  kubernetesProviderEntry,
  kubernetesProviderPin,
  providerExecutableName,
  providerMirrorSubdir,
  resolveTerraform,
  resolveTofu,
  testbinKey,
} from '../../src/devcluster/binaries.ts';
import { describeCliConfig, describeTerraform, describeTofu, offlineOrSay } from '../support/tofu.ts';

const SCRIPT = path.join(REPO_ROOT, 'scripts', 'testbin.ts');
const entry = kubernetesProviderEntry();
const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** The family's directory under a testbin cache root of our own. */
const familyDir = (cache: string, family: 'tofu' | 'kubernetes-provider') => path.join(cache, 'keyward', 'testbin', testbinKey(familyBinaries(family)));

/** Runs scripts/testbin.ts on the pinned Node, with its cache in `cache` and none of the caller's TEST_ASSET_* / KEYWARD_* settings. */
function testbin(args: string[], cache: string, extra: Record<string, string>): Promise<{ code: number; output: string }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TEST_ASSET_') && !k.startsWith('KEYWARD_') && k !== 'KUBEBUILDER_ASSETS' && !k.startsWith('VITEST')) env[k] = v;
  return new Promise((done) => {
    execFile(process.execPath, [SCRIPT, ...args], { cwd: REPO_ROOT, env: { ...env, XDG_CACHE_HOME: cache, ...extra }, timeout: 120_000 }, (error, stdout, stderr) =>
      done({ code: error ? Number(error.code ?? 1) : 0, output: `${stdout}\n${stderr}` }),
    );
  });
}

describe('npm run testbin: the hashicorp/kubernetes provider from its source tarball', () => {
  it('a tarball with another sha256 is refused, naming both hashes; nothing is built', async () => {
    // A Go main module that builds in seconds: were the hash not checked, testbin would build and cache it as the provider.
    const src = tempDir('keyward-testbin-src-');
    mkdirSync(path.join(src, 'tree'));
    writeFileSync(path.join(src, 'tree', 'go.mod'), 'module example.com/not-the-provider\n\ngo 1.22\n');
    writeFileSync(path.join(src, 'tree', 'main.go'), 'package main\n\nfunc main() {}\n');
    const tarball = path.join(src, entry.source.file);
    expect(spawnSync('tar', ['-czf', tarball, '-C', path.join(src, 'tree'), '.']).status).toBe(0);
    const cache = tempDir('keyward-testbin-cache-');

    const res = await testbin(['--only', 'kubernetes-provider'], cache, { [entry.source.env]: tarball });
    expect(res.code, res.output).toBe(1);
    expect(res.output).toMatch(new RegExp(`${tarball}: sha256 [0-9a-f]{64}, expected ${entry.source.sha256} \\(src/devcluster/binaries\\.ts\\); not building from it`));
    expect(existsSync(path.join(familyDir(cache, 'kubernetes-provider'), entry.name))).toBe(false);
  }, 120_000);

  it(`${entry.source.env} naming no file fails, saying so`, async () => {
    const cache = tempDir('keyward-testbin-cache-');
    const missing = path.join(cache, 'nowhere', entry.source.file);
    const res = await testbin(['--only', 'kubernetes-provider'], cache, { [entry.source.env]: missing });
    expect(res.code, res.output).toBe(1);
    expect(res.output).toContain(`[testbin] ${entry.source.env}=${missing}: no such file`);
  }, 120_000);

  it('the cache key covers the tarball\'s sha256 (another tarball builds into another directory)', () => {
    const key = testbinKey([entry]);
    expect(key).toMatch(new RegExp(`^${entry.name}-${entry.source.version}_[0-9a-f]{8}$`));
    expect(testbinKey([{ ...entry, source: { ...entry.source, sha256: '0'.repeat(64) } }])).not.toBe(key);
  });
});

describeTofu('npm run testbin: the provider mirror next to the cached OpenTofu', { provider: true }, () => {
  const pin = kubernetesProviderPin();
  const real = resolveTofu();
  let cache: string;
  let tofuDir: string;
  let output: string;

  beforeAll(async () => {
    cache = tempDir('keyward-testbin-cache-');
    tofuDir = familyDir(cache, 'tofu');
    mkdirSync(tofuDir, { recursive: true });
    // The OpenTofu family as cached (the real binary), so testbin lays out its mirror; the provider given by path, so nothing is built.
    symlinkSync(real.tofu!, path.join(tofuDir, 'tofu'));
    const res = await testbin(['--only', 'kubernetes-provider'], cache, { TEST_ASSET_TERRAFORM_PROVIDER_KUBERNETES: real.kubernetesProvider! });
    expect(res.code, res.output).toBe(0);
    output = res.output;
  }, 120_000);

  it('TEST_ASSET_TERRAFORM_PROVIDER_KUBERNETES: not built, linked under both registry hostnames; tofurc allows only that mirror', () => {
    expect(output).toContain(`TEST_ASSET_TERRAFORM_PROVIDER_KUBERNETES=${real.kubernetesProvider}; not building ${entry.name}`);
    expect(existsSync(path.join(familyDir(cache, 'kubernetes-provider'), entry.name))).toBe(false);
    for (const hostname of ['registry.opentofu.org', 'registry.terraform.io']) {
      const link = path.join(tofuDir, 'providers', providerMirrorSubdir(pin, hostname), providerExecutableName(pin));
      expect(lstatSync(link).isSymbolicLink(), link).toBe(true);
      expect(readlinkSync(link)).toBe(path.resolve(real.kubernetesProvider!));
    }
    expect(describeCliConfig(readFileSync(path.join(tofuDir, 'tofurc'), 'utf8'))).toEqual({ filesystemMirrors: [path.join(tofuDir, 'providers')], direct: false, networkMirror: false });
  });

  /** `<cli> init` of a config needing the pinned provider, with testbin's tofurc, in a network namespace with no interface up where one works. */
  const init = (binary: string) => {
    const work = tempDir('keyward-testbin-init-');
    writeFileSync(path.join(work, 'main.tf.json'), JSON.stringify({ terraform: { required_providers: { kubernetes: { source: 'kubernetes', version: pin.version } } } }));
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TF_')) env[k] = v;
    Object.assign(env, { TF_CLI_CONFIG_FILE: path.join(tofuDir, 'tofurc'), TF_IN_AUTOMATION: '1', CHECKPOINT_DISABLE: '1', TF_DATA_DIR: path.join(work, '.data') });
    const argv = [binary, 'init', '-input=false', '-backend=false', '-no-color'];
    const { offline } = offlineOrSay();
    const res = spawnSync(offline ? 'unshare' : argv[0]!, offline ? ['-rn', '--', ...argv] : argv.slice(1), { cwd: work, env, encoding: 'utf8', timeout: 120_000 });
    return `${res.stdout}\n${res.stderr}`;
  };

  it('tofu init with that tofurc installs hashicorp/kubernetes from the mirror, offline', () => {
    expect(init(path.join(tofuDir, 'tofu'))).toMatch(new RegExp(`Installed hashicorp/kubernetes v${pin.version.replace(/\./g, '\\.')}`));
  }, 120_000);

  describeTerraform('with HashiCorp Terraform', () => {
    it('terraform init with the same tofurc installs it too (registry.terraform.io in the mirror), offline', () => {
      expect(init(resolveTerraform().terraform!)).toMatch(new RegExp(`Installed hashicorp/kubernetes v${pin.version.replace(/\./g, '\\.')}`));
    }, 120_000);
  });
});
