// The control-plane binaries keyward tests and `keyward dev cluster` run, and
// where to find them.
//
// Each binary is built by `npm run testbin` into a cache outside the repo,
// from Go source of one of two kinds: a pinned Go wrapper module under
// testbin/ (one module per binary family, so dependency versions never mix),
// or an upstream source tarball checked against its sha256, for a module the
// Go module proxy does not serve (its own go.sum locks its dependencies).
// KUBEBUILDER_ASSETS or the envtest-style TEST_ASSET_* variables point at
// existing binaries instead.
//
// Adding a binary is one entry in TESTBIN_BINARIES. Binaries come in
// families (the control plane; OpenTofu and the Kubernetes provider for
// `cdktf deploy`), each with its own cache key and directory, so adding or
// bumping one family never rebuilds another.

import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
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
export type TestbinFamily = 'controlplane' | 'tofu' | 'kubernetes-provider' | 'prometheus' | 'helm';

/** Build order: the provider comes after OpenTofu, whose mirror links it. */
export const TESTBIN_FAMILIES: readonly TestbinFamily[] = ['controlplane', 'tofu', 'kubernetes-provider', 'prometheus', 'helm'];

/** A pinned module in a wrapper Go module (dependencies locked by the wrapper's go.sum). */
export interface ModuleSource {
  kind: 'module';
  /** Wrapper Go module directory, relative to the repo root. */
  wrapper: string;
  /** The module pinned in the wrapper's go.mod whose version names the binary. */
  module: string;
}

/**
 * An upstream source tarball (its go.mod is the main module; its go.sum locks
 * the dependencies, which come from the module proxy), for a module the proxy
 * does not serve. Found at `$<env>`, else in a `shared/third_party/` directory
 * (see thirdPartyDirs()); checked against `sha256` before anything is built.
 */
export interface TarballSource {
  kind: 'tarball';
  /** File name, e.g. "terraform-provider-kubernetes-v2.38.0-src.tar.gz". */
  file: string;
  sha256: string;
  /** The upstream tag the tarball is, e.g. "v2.38.0". */
  version: string;
  /** Env variable naming the tarball's path. */
  env: string;
}

export interface TestbinBinary {
  /** File name of the binary, e.g. "kube-apiserver". */
  name: string;
  /** Cache family; default "controlplane". */
  family?: TestbinFamily;
  /** Where the Go source comes from. */
  source: ModuleSource | TarballSource;
  /** Go package (main) to build, relative to the source's main module for a tarball ("."). */
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
  source: { kind: 'module', wrapper: 'testbin/kubernetes', module: 'k8s.io/kubernetes' },
  pkg: `k8s.io/kubernetes/cmd/${name}`,
  env,
  ldflags: kubeVersionLdflags,
});

/**
 * What Helm's Makefile stamps for a tagged build: the version (no "unreleased"
 * metadata), a clean tree, and the Kubernetes version its lint and template
 * assume, from the client-go it links (v0.37.x -> 1.37).
 */
function helmLdflags(mod: PinnedModule): string[] {
  const m = /^v0\.(\d+)\./.exec(pinnedVersion('testbin/helm', 'k8s.io/client-go'));
  if (!m) throw new Error('testbin/helm/go.mod: unexpected k8s.io/client-go version');
  const v = 'helm.sh/helm/v3/internal/version';
  const k8s = [`-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1`, `-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=${m[1]}`];
  k8s.push(`-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1`, `-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=${m[1]}`);
  return [`-X ${v}.version=${mod.version}`, `-X ${v}.metadata=`, `-X ${v}.gitCommit=`, `-X ${v}.gitTreeState=clean`, ...k8s];
}

/** The table. Order is build order. */
export const TESTBIN_BINARIES: readonly TestbinBinary[] = [
  {
    name: 'etcd',
    source: { kind: 'module', wrapper: 'testbin/etcd', module: 'go.etcd.io/etcd/server/v3' },
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
    source: { kind: 'module', wrapper: 'testbin/opentofu', module: 'github.com/opentofu/opentofu' },
    pkg: 'github.com/opentofu/opentofu/cmd/tofu',
    env: 'TEST_ASSET_TOFU',
    // The version is the embedded version/VERSION file; a release build only
    // turns off the "-dev" marker (as OpenTofu's release config does).
    ldflags: () => ['-X github.com/opentofu/opentofu/version.dev=no'],
  },
  {
    // hashicorp/kubernetes, the provider `cdktf deploy` of ApiKey constructs
    // installs (from the mirror OpenTofu's family lays out). Its module path has
    // no /v2, and the module proxy serves none of its v2 tags, so it is built
    // from upstream's source at the tag (MPL-2.0; one large test fixture left
    // out, which building does not need). The version must be the one
    // @cdktf/provider-kubernetes pins (kubernetesProviderPin()).
    name: 'terraform-provider-kubernetes',
    family: 'kubernetes-provider',
    source: {
      kind: 'tarball',
      file: 'terraform-provider-kubernetes-v2.38.0-src.tar.gz',
      sha256: 'fcb08400ab77e2aa6e6247c1ee70ad2cee02b2df57911f2d49550ae770baa573',
      version: 'v2.38.0',
      env: 'KEYWARD_TERRAFORM_PROVIDER_KUBERNETES_SRC',
    },
    pkg: '.',
    env: 'TEST_ASSET_TERRAFORM_PROVIDER_KUBERNETES',
    // main.Version is a constant ("dev") at this tag: upstream's release
    // build passes -X main.Version=…, which changes nothing, so none here.
    ldflags: () => [],
  },
  {
    // promtool, to lint the key service's /metrics exposition (`promtool check metrics`).
    name: 'promtool',
    family: 'prometheus',
    source: { kind: 'module', wrapper: 'testbin/prometheus', module: 'github.com/prometheus/prometheus' },
    pkg: 'github.com/prometheus/prometheus/cmd/promtool',
    env: 'TEST_ASSET_PROMTOOL',
    // Prometheus 3.x is published as Go module v0.3MM.P (v0.316.0 is 3.16.0).
    ldflags: (mod) => [`-X github.com/prometheus/common/version.Version=${mod.version.replace(/^v0\.(\d)(\d\d)\.(\d+)$/, (_, major: string, minor: string, patch: string) => `${major}.${Number(minor)}.${patch}`)}`],
  },
  {
    // Helm, for the chart's lint/template/install/upgrade/uninstall suite.
    name: 'helm',
    family: 'helm',
    source: { kind: 'module', wrapper: 'testbin/helm', module: 'helm.sh/helm/v3' },
    pkg: 'helm.sh/helm/v3/cmd/helm',
    env: 'TEST_ASSET_HELM',
    ldflags: helmLdflags,
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

/** The version a binary is built at: the wrapper's pin of its module, or the tarball's tag (no Go needed). */
export function sourceVersion(b: TestbinBinary): string {
  return b.source.kind === 'module' ? pinnedVersion(b.source.wrapper, b.source.module) : b.source.version;
}

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
 * wrappers' go.mod and go.sum (or the source tarballs' sha256) and the
 * recipe, so any bump builds into a fresh directory. e.g.
 * "etcd-v3.6.16_k8s-v1.37.2_e2b66ab4" (the control plane, the default),
 * "opentofu-v1.12.6_…", "terraform-provider-kubernetes-v2.38.0_…".
 */
export function testbinKey(binaries: readonly TestbinBinary[] = familyBinaries('controlplane')): string {
  const hash = createHash('sha256');
  hash.update(`recipe ${RECIPE}\n`);
  const parts: string[] = [];
  const seen = new Set<string>();
  for (const b of binaries) {
    hash.update(`${b.name} ${b.pkg} ${b.ldflags({ version: 'v0.0.0', time: '' }).join(' ')}\n`);
    const src = b.source;
    if (src.kind === 'tarball') {
      parts.push(`${b.name}-${src.version}`);
      hash.update(`tarball ${src.sha256}\n`);
      continue;
    }
    if (seen.has(src.wrapper)) continue;
    seen.add(src.wrapper);
    parts.push(`${path.basename(src.wrapper).replace(/^kubernetes$/, 'k8s')}-${pinnedVersion(src.wrapper, src.module)}`);
    for (const f of ['go.mod', 'go.sum']) hash.update(readFileSync(path.join(REPO_ROOT, src.wrapper, f)));
  }
  return `${parts.join('_')}_${hash.digest('hex').slice(0, 8)}`;
}

/** This project's machines keep third-party sources here (the last place looked). */
const MACHINE_THIRD_PARTY = '/work/shared/third_party';

/**
 * Where a source tarball is looked for when its env variable is unset:
 * `shared/third_party/` in the repo's parent and in each further ancestor
 * (a checkout at /work/main or a worktree at /work/wt/x both find
 * /work/shared), then /work/shared/third_party (a clone elsewhere on the
 * machine, as CI's). Nearest first.
 */
export function thirdPartyDirs(repoRoot: string = REPO_ROOT): string[] {
  const dirs: string[] = [];
  for (let dir = path.dirname(repoRoot); ; dir = path.dirname(dir)) {
    dirs.push(path.join(dir, 'shared', 'third_party'));
    if (path.dirname(dir) === dir) break;
  }
  if (!dirs.includes(MACHINE_THIRD_PARTY)) dirs.push(MACHINE_THIRD_PARTY);
  return dirs;
}

/** The tarball to build from: `$<env>` when set (it must exist), else the first default place that has it. */
export function findSourceTarball(src: TarballSource, env: NodeJS.ProcessEnv = process.env): { file?: string; looked: string[]; fromEnv: boolean } {
  const given = env[src.env];
  if (given) return { file: existsSync(given) ? path.resolve(given) : undefined, looked: [given], fromEnv: true };
  const looked = thirdPartyDirs().map((dir) => path.join(dir, src.file));
  return { file: looked.find((f) => existsSync(f)), looked, fromEnv: false };
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

/** True when `file` exists and may be executed. */
export function isExecutable(file: string): boolean {
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
        // An installed package has no testbin script: say what both kinds of user can do.
        'set KUBEBUILDER_ASSETS to a directory holding kube-apiserver, etcd, kube-controller-manager and kubectl (as envtest\'s setup-envtest installs them), or in a keyward checkout run `npm run testbin`',
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

/** The TESTBIN_BINARIES entry of the Kubernetes provider. */
export function kubernetesProviderEntry(): TestbinBinary & { source: TarballSource } {
  const entry = familyBinaries('kubernetes-provider').find((b) => b.name === 'terraform-provider-kubernetes');
  if (!entry || entry.source.kind !== 'tarball') throw new Error('TESTBIN_BINARIES has no tarball entry for terraform-provider-kubernetes');
  return entry as TestbinBinary & { source: TarballSource };
}

/** Env variable naming an existing hashicorp/kubernetes provider executable of the pinned version. */
export const KUBERNETES_PROVIDER_ENV = kubernetesProviderEntry().env;

/**
 * Why the provider the table builds cannot serve the pin (its tarball is
 * another version than @cdktf/provider-kubernetes pins), or undefined.
 */
export function providerPinMismatch(pin: ProviderPin = kubernetesProviderPin()): string | undefined {
  const built = kubernetesProviderEntry().source.version.replace(/^v/, '');
  if (built === pin.version) return undefined;
  return `@cdktf/provider-kubernetes pins hashicorp/kubernetes ${pin.version}, but TESTBIN_BINARIES builds ${built} (src/devcluster/binaries.ts): update the tarball entry`;
}

/**
 * Resolve OpenTofu and the Kubernetes provider:
 * - tofu: TEST_ASSET_TOFU, else the testbin cache (family "tofu");
 * - the provider: TEST_ASSET_TERRAFORM_PROVIDER_KUBERNETES, else the testbin
 *   cache (family "kubernetes-provider", built from its source tarball) when
 *   it is the pinned version.
 */
export function resolveTofu(env: NodeJS.ProcessEnv = process.env): ResolvedTofu {
  const pin = kubernetesProviderPin();
  const missing: ResolvedTofu['missing'] = [];
  const out: ResolvedTofu = { pin, missing };
  const inCache = (family: TestbinFamily, name: string): string => {
    try {
      return path.join(testbinCacheDir(family), name);
    } catch (err) {
      return `testbin cache (${(err as Error).message})`;
    }
  };
  const tofuEntry = familyBinaries('tofu').find((b) => b.name === 'tofu')!;
  const tofu = env[tofuEntry.env] || inCache('tofu', 'tofu');
  if (isExecutable(tofu)) out.tofu = tofu;
  else missing.push({ name: 'tofu', looked: tofu });
  const providerEntry = kubernetesProviderEntry();
  const mismatch = env[providerEntry.env] ? undefined : providerPinMismatch(pin);
  const provider = env[providerEntry.env] || inCache('kubernetes-provider', providerEntry.name);
  if (mismatch) missing.push({ name: 'terraform-provider-kubernetes', looked: mismatch });
  else if (isExecutable(provider)) out.kubernetesProvider = provider;
  else missing.push({ name: 'terraform-provider-kubernetes', looked: provider });
  return out;
}

/** Env variable naming a HashiCorp Terraform binary (else `terraform` on PATH). */
export const TERRAFORM_ENV = 'TEST_ASSET_TERRAFORM';

/**
 * HashiCorp Terraform, for running the deploy suite with it too: not built
 * here (BUSL-licensed since 1.6), used where installed. TEST_ASSET_TERRAFORM,
 * else the first `terraform` on PATH.
 */
export function resolveTerraform(env: NodeJS.ProcessEnv = process.env): { terraform?: string; looked: string } {
  const given = env[TERRAFORM_ENV];
  if (given) return isExecutable(given) ? { terraform: given, looked: given } : { looked: given };
  const dirs = (env.PATH ?? '').split(path.delimiter).filter(Boolean);
  const terraform = dirs.map((dir) => path.join(dir, 'terraform')).find(isExecutable);
  return terraform ? { terraform, looked: terraform } : { looked: `terraform on PATH (${dirs.join(path.delimiter)})` };
}

/** promtool (family "prometheus"): TEST_ASSET_PROMTOOL, else the testbin cache; `looked` says where it was sought. */
export function resolvePromtool(env: NodeJS.ProcessEnv = process.env): { promtool?: string; looked: string } {
  let looked: string;
  try {
    looked = env.TEST_ASSET_PROMTOOL || path.join(testbinCacheDir('prometheus'), 'promtool');
  } catch (err) {
    return { looked: `testbin cache (${(err as Error).message})` };
  }
  return isExecutable(looked) ? { promtool: looked, looked } : { looked };
}

/** Helm (family "helm"): TEST_ASSET_HELM, else the testbin cache; `looked` says where when it is missing. */
export function resolveHelm(env: NodeJS.ProcessEnv = process.env): { helm?: string; looked: string } {
  const entry = familyBinaries('helm')[0]!;
  let file = env[entry.env];
  if (!file) {
    try {
      file = path.join(testbinCacheDir('helm'), entry.name);
    } catch (err) {
      return { looked: `testbin cache (${(err as Error).message})` };
    }
  }
  return isExecutable(file) ? { helm: file, looked: file } : { looked: file };
}
