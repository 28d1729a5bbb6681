/**
 * The constructs' synthesized Kubernetes stack, checked by the real OpenTofu
 * (built by `npm run testbin`) with the real hashicorp/kubernetes provider
 * from a filesystem mirror, offline: `tofu init` in a network namespace with
 * no network, then `tofu validate`.
 *
 * Also, without the provider: the built tofu itself, and the offline install
 * path (the CLI config allows only the mirror; init installs from it under
 * `unshare -rn` and says so when the mirror lacks the provider).
 *
 * The AWS stack (ApiKeySecret) is not validated here: that needs
 * terraform-provider-aws, see docs/testing.md for why it is not built.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App, TerraformStack } from 'cdktf';
import { KubernetesProvider } from '@cdktf/provider-kubernetes/lib/provider/index.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ApiKey, RotationPolicy } from '../../src/constructs/index.ts';
import { createTofuToolchain, describeCliConfig, describeTofu, networkNamespace, offlineOrSay, type TofuToolchain } from '../support/tofu.ts';
import { controlPlaneRequired } from '../support/controlplane.ts';

const quiet = { quiet: true } as const;

/** Synthesize a Kubernetes stack the way `cdktf synth` does and return the stack's cdk.tf.json path. */
function synthKubernetesStack(outdir: string): string {
  const app = new App({ outdir });
  const stack = new TerraformStack(app, 'keys');
  new KubernetesProvider(stack, 'kubernetes', { configPath: '/nonexistent/kubeconfig' });
  new ApiKey(stack, 'payments', {
    name: 'payments-api',
    namespace: 'payments',
    displayName: 'Payments API (prod)',
    role: 'key-manager',
    environment: 'production',
    ipAllowlist: ['10.0.0.0/8'],
    secret: { name: 'payments-api-key', keys: { previous: 'API_KEY_PREVIOUS' } },
    rotation: { policy: RotationPolicy.production(), token: '2026-11-27-1', overlap: '24h' },
    consumers: { restartTargets: [{ kind: 'Deployment', name: 'payments' }] },
    waitForReady: true,
  });
  new ApiKey(stack, 'dev', { name: 'payments-api', namespace: 'payments-dev', role: 'viewer', environment: 'development', deletionPolicy: 'Retain' });
  app.synth();
  return path.join(outdir, 'stacks', 'keys', 'cdk.tf.json');
}

/** A fresh working dir holding only the synthesized JSON (no backend state, no .terraform). */
function workdirWith(json: unknown): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'keyward-tofu-validate-'));
  writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify(json, null, 2));
  return dir;
}

/** What OpenTofu's trace log shows when it would use the network for providers. */
const NETWORK_TRACE = /ProviderInstallationDirect|ProviderInstallationNetworkMirror|Service discovery for|\.well-known\/terraform\.json|GET https?:\/\//;

/**
 * The offline checks run init in a network namespace with no interface up
 * (`unshare -rn`). Where that is impossible they fail in CI, and elsewhere
 * run without it, saying so in one line (offlineOrSay()); the one test that
 * is about the namespace itself is skipped there.
 */
const netnsTestRuns = networkNamespace().works || controlPlaneRequired();

describeTofu('tofu validate of the synthesized Kubernetes stack', { provider: true }, () => {
  let tc: TofuToolchain;
  let out: string;
  let json: any;
  const dirs: string[] = [];
  beforeAll(() => {
    tc = createTofuToolchain();
    out = mkdtempSync(path.join(tmpdir(), 'keyward-synth-'));
    json = JSON.parse(readFileSync(synthKubernetesStack(out), 'utf8'));
  });
  afterAll(() => {
    tc?.cleanup();
    for (const d of [out, ...dirs]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('pins exactly the provider version in the mirror', () => {
    expect(json.terraform.required_providers.kubernetes).toEqual({ source: 'kubernetes', version: tc.pin.version });
  });

  it('init (offline, from the mirror) and validate accept it', async () => {
    const dir = workdirWith(json);
    dirs.push(dir);
    await tc.run(['init', '-input=false', '-backend=false'], { cwd: dir, ...offlineOrSay(), ...quiet });
    const lock = readFileSync(path.join(dir, '.terraform.lock.hcl'), 'utf8');
    expect(lock).toContain(`provider "registry.opentofu.org/hashicorp/kubernetes"`);
    expect(lock).toContain(`version     = "${tc.pin.version}"`);
    const res = await tc.run(['validate', '-json', '-no-color'], { cwd: dir, allowFailure: true, ...quiet });
    const verdict = JSON.parse(res.stdout);
    expect(verdict.diagnostics, res.stdout).toEqual([]);
    expect(verdict.valid).toBe(true);
    expect(res.exitCode).toBe(0);
  }, 120_000);

  // One break per run: OpenTofu reports a provider-config error and stops before validating resources.
  it.each([
    ['an unknown argument of a kubernetes_manifest', (j: any) => (j.resource.kubernetes_manifest[Object.keys(j.resource.kubernetes_manifest)[0]!].not_an_argument = true), /No argument or block type is named "not_an_argument"/],
    ['an unknown provider setting', (j: any) => (j.provider.kubernetes[0].no_such_setting = 'x'), /No argument or block type is named "no_such_setting"/],
  ])('and reject %s (validation really consults the provider schema)', async (_what, breakIt, message) => {
    const broken = structuredClone(json);
    breakIt(broken);
    const dir = workdirWith(broken);
    dirs.push(dir);
    await tc.run(['init', '-input=false', '-backend=false'], { cwd: dir, ...offlineOrSay(), ...quiet });
    const res = await tc.run(['validate', '-json', '-no-color'], { cwd: dir, allowFailure: true, ...quiet });
    const verdict = JSON.parse(res.stdout);
    expect(verdict.valid).toBe(false);
    const summaries = verdict.diagnostics.map((d: { summary: string; detail: string }) => `${d.summary}: ${d.detail}`).join('\n');
    expect(summaries).toMatch(message);
  }, 120_000);
});

describeTofu('OpenTofu and the offline provider mirror', { provider: false }, () => {
  let tc: TofuToolchain;
  let placeholder: TofuToolchain;
  let json: any;
  let out: string;
  const dirs: string[] = [];
  beforeAll(() => {
    // Install-only checks: `tofu init` links the provider from the mirror and
    // hashes it, but never runs it, so a placeholder executable stands in for
    // the real provider here. Nothing below runs a provider.
    const fake = path.join(mkdtempSync(path.join(tmpdir(), 'keyward-fake-provider-')), 'terraform-provider-kubernetes');
    writeFileSync(fake, '#!/bin/sh\necho "placeholder: not a provider" >&2\nexit 1\n');
    chmodSync(fake, 0o755);
    dirs.push(path.dirname(fake));
    placeholder = createTofuToolchain({ kubernetesProvider: fake });
    tc = createTofuToolchain({ kubernetesProvider: null });
    out = mkdtempSync(path.join(tmpdir(), 'keyward-synth-'));
    dirs.push(out);
    json = JSON.parse(readFileSync(synthKubernetesStack(out), 'utf8'));
  });
  afterAll(() => {
    tc?.cleanup();
    placeholder?.cleanup();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('the built tofu is the pinned OpenTofu release', async () => {
    const res = await tc.run(['version', '-json'], quiet);
    const v = JSON.parse(res.stdout);
    expect(v.terraform_version).toBe('1.12.6');
    expect(v.platform).toBe('linux_amd64');
  });

  it('the CLI config installs only from the filesystem mirror: no direct, no network mirror', () => {
    for (const t of [tc, placeholder]) {
      const cfg = describeCliConfig(readFileSync(t.cliConfigFile, 'utf8'));
      expect(cfg).toEqual({ filesystemMirrors: [t.mirrorDir], direct: false, networkMirror: false });
      expect(t.env().TF_CLI_CONFIG_FILE).toBe(t.cliConfigFile);
    }
  });

  it.runIf(netnsTestRuns)('with no network at all (unshare -rn), init installs hashicorp/kubernetes from the mirror', async () => {
    const dir = workdirWith(json);
    dirs.push(dir);
    const { offline } = offlineOrSay();
    expect(offline).toBe(true);
    const res = await placeholder.run(['init', '-input=false', '-backend=false', '-no-color'], { cwd: dir, offline, ...quiet });
    expect(res.stdout).toMatch(new RegExp(`Installing hashicorp/kubernetes v${placeholder.pin.version.replace(/\./g, '\\.')}`));
    expect(existsSync(path.join(dir, '.terraform', 'providers', 'registry.opentofu.org', 'hashicorp', 'kubernetes', placeholder.pin.version, 'linux_amd64'))).toBe(true);
    expect(readFileSync(path.join(dir, '.terraform.lock.hcl'), 'utf8')).toContain(`version     = "${placeholder.pin.version}"`);
    // OpenTofu's own log of the run: the mirror was the only installation method, and no registry was asked anything.
    expect(res.tofuLog).toContain(`Selected provider installation method cliconfig.ProviderInstallationFilesystemMirror(${JSON.stringify(placeholder.mirrorDir)})`);
    expect(res.tofuLog).toContain(`installing registry.opentofu.org/hashicorp/kubernetes v${placeholder.pin.version} from ${placeholder.mirrorDir}/`);
    expect(res.tofuLog).not.toMatch(NETWORK_TRACE);
  }, 120_000);

  it('with an empty mirror, init fails saying so, without trying the registry', async () => {
    const dir = workdirWith(json);
    dirs.push(dir);
    const res = await tc.run(['init', '-input=false', '-backend=false', '-no-color'], { cwd: dir, ...offlineOrSay(), allowFailure: true, ...quiet });
    expect(res.exitCode).not.toBe(0);
    expect(res.stderr + res.stdout).toMatch(/hashicorp\/kubernetes/);
    expect(res.tofuLog).not.toMatch(NETWORK_TRACE);
  }, 120_000);
});
