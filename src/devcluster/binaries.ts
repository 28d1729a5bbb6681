// The control-plane binaries keyward tests and `keyward dev cluster` run, and
// where to find them.
//
// Each binary is built from a pinned Go wrapper module under testbin/ (one
// module per binary family, so dependency versions never mix) by
// `npm run testbin` into a cache outside the repo. KUBEBUILDER_ASSETS or the
// envtest-style TEST_ASSET_* variables point at existing binaries instead.
//
// Adding a binary is one entry in TESTBIN_BINARIES. Binaries come in
// families (the control plane; OpenTofu for `cdktf deploy`), each with its own
// cache key and directory, so adding or bumping one family never rebuilds
// another.

import { createHash } from 'node:crypto';
import { accessSync, constants, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

/** Repo root (this file is src/devcluster/binaries.ts). */
export const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');

/** Information about the pinned module a binary is built from, as `go list -m -json` reports it. */
export interface PinnedModule {
  /** e.g. "v1.37.2" */
  version: string;
  /** Commit time of the tag, ISO 8601 (reproducible "build date"). */
  time: string;
}

/** A family of binaries that share a cache directory (and key). */
export type TestbinFamily = 'controlplane' | 'tofu';

export const TESTBIN_FAMILIES: readonly TestbinFamily[] = ['controlplane', 'tofu'];

export interface TestbinBinary {
  /** File name of the binary, e.g. "kube-apiserver". */
  name: string;
  /** Cache family; default "controlplane". */
  family?: TestbinFamily;
  /** Wrapper Go module directory, relative to the repo root. */
  wrapper: string;
  /** The module pinned in the wrapper's go.mod whose version names the binary. */
  module: string;
  /** Go package (main) to build. */
  pkg: string;
  /** Envtest-style variable that points at an existing binary. */
  env: string;
  /** Extra -ldflags (besides -s -w), e.g. -X version stamps. */
  ldflags(mod: PinnedModule): string[];
}

function kubeVersionLdflags(mod: PinnedModule): string[] {
  const m = /^v(\d+)\.(\d+)\./.exec(mod.version);
  if (!m) throw new Error(`unexpected Kubernetes version ${mod.version}`);
  const vars: Record<string, string> = {
    gitVersion: mod.version,
    gitMajor: m[1]!,
    gitMinor: m[2]!,
    // Built from the published, unmodified module source.
    gitTreeState: 'clean',
    // The Go module proxy does not tell us the tag's commit; say nothing
    // rather than something false.
    gitCommit: '',
    buildDate: mod.time,
  };
  const flags: string[] = [];
  for (const pkg of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
    for (const [k, v] of Object.entries(vars)) flags.push(`-X ${pkg}.${k}=${v}`);
  }
  return flags;
}

const kube = (name: string, env: string): TestbinBinary => ({
  name,
  wrapper: 'testbin/kubernetes',
  module: 'k8s.io/kubernetes',
  pkg: `k8s.io/kubernetes/cmd/${name}`,
  env,
  ldflags: kubeVersionLdflags,
});

/** The table. Order is build order. */
export const TESTBIN_BINARIES: readonly TestbinBinary[] = [
  {
    name: 'etcd',
    wrapper: 'testbin/etcd',
    module: 'go.etcd.io/etcd/server/v3',
    pkg: 'go.etcd.io/etcd/server/v3',
    env: 'TEST_ASSET_ETCD',
    // etcd's version is a constant in its source; only the git SHA is stamped
    // by its own build script. Leave it empty rather than false.
    ldflags: () => ['-X go.etcd.io/etcd/api/v3/version.GitSHA='],
  },
  kube('kube-apiserver', 'TEST_ASSET_KUBE_APISERVER'),
  kube('kube-controller-manager', 'TEST_ASSET_KUBE_CONTROLLER_MANAGER'),
  kube('kubectl', 'TEST_ASSET_KUBECTL'),
  {
    // OpenTofu, for `cdktf deploy` end to end (TERRAFORM_BINARY_NAME=tofu).
    // The wrapper repeats OpenTofu's replace of hashicorp/hcl/v2 by its fork.
    name: 'tofu',
    family: 'tofu',
    wrapper: 'testbin/opentofu',
    module: 'github.com/opentofu/opentofu',
    pkg: 'github.com/opentofu/opentofu/cmd/tofu',
    env: 'TEST_ASSET_TOFU',
    // The version is the embedded version/VERSION file; a release build only
    // turns off the "-dev" marker (as OpenTofu's release config does).
    ldflags: () => ['-X github.com/opentofu/opentofu/version.dev=no'],
  },
];

/** The family of a table entry. */
export function familyOf(b: TestbinBinary): TestbinFamily {
  return b.family ?? 'controlplane';
}

/** The entries of one family, in build order. */
export function familyBinaries(family: TestbinFamily): TestbinBinary[] {
  return TESTBIN_BINARIES.filter((b) => familyOf(b) === family);
}

export type BinaryName = 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kubectl';
export type ControlPlaneBinaries = Record<BinaryName, string>;

/** The version of `module` required by the wrapper's go.mod (no Go needed). */
export function pinnedVersion(wrapper: string, module: string): string {
  const gomod = readFileSync(path.join(REPO_ROOT, wrapper, 'go.mod'), 'utf8');
  const esc = module.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const m = new RegExp(`^\\s*(?:require\\s+)?${esc}\\s+(v\\S+)`, 'm').exec(gomod);
  if (!m) throw new Error(`${wrapper}/go.mod does not require ${module}`);
  return m[1]!;
}

/** Bump this when the build recipe (flags, layout) changes in a way that should rebuild. */
const RECIPE = 1;

/**
 * Cache key of one family: the pinned versions plus a short hash of the
 * wrappers' go.mod and go.sum and the recipe, so any bump builds into a fresh
 * directory. e.g. "etcd-v3.6.16_k8s-v1.37.2_e2b66ab4" (the control plane, the
 * default), "opentofu-v1.12.6_…".
 */
export function testbinKey(binaries: readonly TestbinBinary[] = familyBinaries('controlplane')): string {
  const hash = createHash('sha256');
  hash.update(`recipe ${RECIPE}\n`);
  const parts: string[] = [];
  const seen = new Set<string>();
  for (const b of binaries) {
    hash.update(`${b.name} ${b.pkg} ${b.ldflags({ version: 'v0.0.0', time: '' }).join(' ')}\n`);
    if (seen.has(b.wrapper)) continue;
    seen.add(b.wrapper);
    parts.push(`${path.basename(b.wrapper).replace(/^kubernetes$/, 'k8s')}-${pinnedVersion(b.wrapper, b.module)}`);
    for (const f of ['go.mod', 'go.sum']) hash.update(readFileSync(path.join(REPO_ROOT, b.wrapper, f)));
  }
  return `${parts.join('_')}_${hash.digest('hex').slice(0, 8)}`;
}

/** ~/.cache/keyward/testbin (honours XDG_CACHE_HOME). */
export function testbinCacheRoot(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache');
  return path.join(base, 'keyward', 'testbin');
}

/** The directory `npm run testbin` builds a family into for the current pins (default: the control plane). */
export function testbinCacheDir(family: TestbinFamily = 'controlplane'): string {
  return path.join(testbinCacheRoot(), testbinKey(familyBinaries(family)));
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface ResolvedBinaries {
  /** Paths of the binaries that were found. */
  found: Partial<ControlPlaneBinaries>;
  /** Names of binaries that were not found, with where we looked. */
  missing: { name: BinaryName; looked: string }[];
}

/**
 * Resolve each control-plane binary: its TEST_ASSET_* variable, else
 * KUBEBUILDER_ASSETS/<name>, else the testbin cache for the current pins.
 */
export function resolveBinaries(env: NodeJS.ProcessEnv = process.env): ResolvedBinaries {
  const found: Partial<ControlPlaneBinaries> = {};
  const missing: ResolvedBinaries['missing'] = [];
  let cacheDir: string | undefined;
  for (const b of familyBinaries('controlplane')) {
    const name = b.name as BinaryName;
    let file: string;
    const explicit = env[b.env];
    if (explicit) file = explicit;
    else if (env.KUBEBUILDER_ASSETS) file = path.join(env.KUBEBUILDER_ASSETS, name);
    else {
      try {
        cacheDir ??= testbinCacheDir();
        file = path.join(cacheDir, name);
      } catch (err) {
        missing.push({ name, looked: `testbin cache (${(err as Error).message})` });
        continue;
      }
    }
    if (isExecutable(file)) found[name] = file;
    else missing.push({ name, looked: file });
  }
  return { found, missing };
}

/** Resolve all binaries or throw one error that says how to get them. */
export function controlPlaneBinaries(env: NodeJS.ProcessEnv = process.env): ControlPlaneBinaries {
  const { found, missing } = resolveBinaries(env);
  if (missing.length > 0) {
    throw new Error(
      `control-plane binaries missing (${missing.map((m) => `${m.name}: ${m.looked}`).join('; ')}); ` +
        'run `npm run testbin` or set KUBEBUILDER_ASSETS',
    );
  }
  return found as ControlPlaneBinaries;
}

// --- OpenTofu and the Terraform Kubernetes provider (`cdktf deploy` end to end) ---

/** A Terraform provider as the synthesized JSON pins it. */
export interface ProviderPin {
  /** e.g. "hashicorp" */
  namespace: string;
  /** e.g. "kubernetes" */
  type: string;
  /** Exact version, e.g. "2.38.0" (cdktf's prebuilt providers pin one version). */
  version: string;
  /** Registry hostnames the mirror lays it out under: OpenTofu's default (for `source = "kubernetes"`) and Terraform's. */
  hostnames: string[];
}

/**
 * The hashicorp/kubernetes version @cdktf/provider-kubernetes pins in
 * synthesized JSON (`terraform.required_providers.kubernetes.version`), read
 * from its package.json so a bump of the npm package is noticed.
 */
export function kubernetesProviderPin(): ProviderPin {
  const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'node_modules', '@cdktf', 'provider-kubernetes', 'package.json'), 'utf8')) as {
    cdktf?: { provider?: { name?: string; version?: string } };
  };
  const name = pkg.cdktf?.provider?.name ?? '';
  const version = pkg.cdktf?.provider?.version ?? '';
  const m = /^(?:[^/]+\/)?([^/]+)\/([^/]+)$/.exec(name);
  if (!m || !/^\d+\.\d+\.\d+$/.test(version)) throw new Error(`@cdktf/provider-kubernetes/package.json: unexpected provider ${name}@${version}`);
  return { namespace: m[1]!, type: m[2]!, version, hostnames: ['registry.opentofu.org', 'registry.terraform.io'] };
}

/** File name of a provider executable inside an unpacked mirror directory. */
export function providerExecutableName(pin: ProviderPin): string {
  return `terraform-provider-${pin.type}_v${pin.version}`;
}

/** `<hostname>/<namespace>/<type>/<version>/linux_amd64`, the unpacked filesystem-mirror layout. */
export function providerMirrorSubdir(pin: ProviderPin, hostname: string, platform = 'linux_amd64'): string {
  return path.join(hostname, pin.namespace, pin.type, pin.version, platform);
}

export interface ResolvedTofu {
  /** The tofu binary, when found. */
  tofu?: string;
  /** The hashicorp/kubernetes provider executable of the pinned version, when found. */
  kubernetesProvider?: string;
  /** The pinned provider (from @cdktf/provider-kubernetes). */
  pin: ProviderPin;
  missing: { name: 'tofu' | 'terraform-provider-kubernetes'; looked: string }[];
}

/** Env variable naming an existing hashicorp/kubernetes provider executable of the pinned version. */
export const KUBERNETES_PROVIDER_ENV = 'TEST_ASSET_TERRAFORM_PROVIDER_KUBERNETES';

/**
 * Resolve OpenTofu and the Kubernetes provider:
 * - tofu: TEST_ASSET_TOFU, else the testbin cache (family "tofu");
 * - the provider: TEST_ASSET_TERRAFORM_PROVIDER_KUBERNETES, else the testbin
 *   cache's mirror, `<tofu cache>/providers/registry.opentofu.org/hashicorp/kubernetes/<ver>/linux_amd64/`.
 */
export function resolveTofu(env: NodeJS.ProcessEnv = process.env): ResolvedTofu {
  const pin = kubernetesProviderPin();
  const missing: ResolvedTofu['missing'] = [];
  let cacheDir: string | undefined;
  const cache = (): string => (cacheDir ??= testbinCacheDir('tofu'));
  const out: ResolvedTofu = { pin, missing };
  const tofuEntry = familyBinaries('tofu').find((b) => b.name === 'tofu')!;
  let tofu: string;
  try {
    tofu = env[tofuEntry.env] || path.join(cache(), 'tofu');
  } catch (err) {
    tofu = `testbin cache (${(err as Error).message})`;
  }
  if (isExecutable(tofu)) out.tofu = tofu;
  else missing.push({ name: 'tofu', looked: tofu });
  let provider: string;
  try {
    provider = env[KUBERNETES_PROVIDER_ENV] || path.join(cache(), 'providers', providerMirrorSubdir(pin, pin.hostnames[0]!), providerExecutableName(pin));
  } catch (err) {
    provider = `testbin cache (${(err as Error).message})`;
  }
  if (isExecutable(provider)) out.kubernetesProvider = provider;
  else missing.push({ name: 'terraform-provider-kubernetes', looked: provider });
  return out;
}
