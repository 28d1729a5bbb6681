// npm run testbin — build the pinned test binaries into
// ~/.cache/keyward/testbin/<key>/, once per family: the control plane (etcd,
// kube-apiserver, kube-controller-manager, kubectl) and OpenTofu (tofu), from
// the Go wrapper modules under testbin/, Helm (helm) likewise, and the hashicorp/kubernetes
// provider (for `cdktf deploy` end to end), from its upstream source tarball.
// Each family has its own key and directory, so one family's bump never
// rebuilds another.
//
//   npm run testbin                          build what is missing, print progress
//   npm run testbin -- --only tofu           one family (controlplane | tofu | kubernetes-provider | helm)
//   npm run -s testbin -- --print-dir        print only the control-plane directory
//   npm run -s testbin -- --print-dir=tofu   print only the OpenTofu directory
//
// If KUBEBUILDER_ASSETS / TEST_ASSET_* already point at a family's binaries,
// that family is not built. The list of binaries is TESTBIN_BINARIES in
// src/devcluster/binaries.ts (one entry per binary). OpenTofu's family also
// gets a provider filesystem mirror and a CLI config using it (see
// layOutTofuExtras).

import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, createReadStream, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  KUBERNETES_PROVIDER_ENV,
  REPO_ROOT,
  TESTBIN_FAMILIES,
  familyBinaries,
  findSourceTarball,
  kubernetesProviderEntry,
  kubernetesProviderPin,
  providerExecutableName,
  providerMirrorSubdir,
  providerPinMismatch,
  resolveBinaries,
  testbinCacheDir,
  type PinnedModule,
  type TarballSource,
  type TestbinBinary,
  type TestbinFamily,
} from '../src/devcluster/binaries.ts';

const args = process.argv.slice(2);
const printDirArg = args.find((a) => a === '--print-dir' || a.startsWith('--print-dir='));
const printDirOnly = printDirArg !== undefined;
const printFamily = (printDirArg?.split('=')[1] ?? 'controlplane') as TestbinFamily;
const force = args.includes('--force');
const onlyIdx = args.indexOf('--only');
const only = onlyIdx >= 0 ? (args[onlyIdx + 1] as TestbinFamily) : undefined;
for (const f of [printFamily, only]) {
  if (f !== undefined && !TESTBIN_FAMILIES.includes(f)) {
    console.error(`[testbin] unknown family "${f}" (one of: ${TESTBIN_FAMILIES.join(', ')})`);
    process.exit(2);
  }
}

function log(msg: string): void {
  if (!printDirOnly) console.log(`[testbin] ${msg}`);
}

function fmt(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** `go` on PATH, else $GOROOT/bin/go or /usr/local/go/bin/go (CI shells may not source ~/.bashrc). */
function goBinary(): string {
  const onPath = spawnSync('go', ['version'], { stdio: 'ignore' });
  if (onPath.status === 0) return 'go';
  for (const dir of [process.env.GOROOT, '/usr/local/go']) {
    if (dir && existsSync(path.join(dir, 'bin', 'go'))) return path.join(dir, 'bin', 'go');
  }
  return 'go';
}
const GO = goBinary();

function goEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    CGO_ENABLED: '0',
    // Build with the installed Go; never fetch another toolchain.
    GOTOOLCHAIN: 'local',
    // go.sum is committed: builds must not change it.
    GOFLAGS: '-mod=readonly -buildvcs=false',
  };
}

/** The module's version and tag time (`go list -m`); a tarball's version is its tag (its time is not known). */
function pinnedModule(b: TestbinBinary): PinnedModule {
  const src = b.source;
  if (src.kind === 'tarball') return { version: src.version, time: '' };
  const res = spawnSync(GO, ['list', '-m', '-json', src.module], {
    cwd: path.join(REPO_ROOT, src.wrapper),
    env: goEnv(),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (res.status !== 0) throw new Error(`go list -m ${src.module} failed in ${src.wrapper}`);
  const info = JSON.parse(res.stdout) as { Version: string; Time?: string };
  return { version: info.Version, time: info.Time ?? '' };
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

/** Find the tarball, or undefined with lines saying where it was looked for. */
function locateTarball(b: TestbinBinary, src: TarballSource): { file?: string; why: string[] } {
  const found = findSourceTarball(src);
  if (found.file) return { file: found.file, why: [] };
  if (found.fromEnv) return { why: [`${src.env}=${found.looked[0]}: no such file`] };
  return {
    why: [
      `${b.name}: source tarball ${src.file} not found; looked in:`,
      ...found.looked.map((f) => `  ${f}`),
      `  set ${src.env}=/path/to/${src.file} (sha256 ${src.sha256}), or ${b.env}=/path/to/an/existing/binary`,
    ],
  };
}

/**
 * The directory to run `go build` in: the wrapper module, or the tarball
 * (checked against its sha256) unpacked into a temp dir under `dir`, which
 * `cleanup` removes.
 */
async function sourceDir(b: TestbinBinary, dir: string): Promise<{ cwd: string; cleanup: () => void }> {
  const src = b.source;
  if (src.kind === 'module') return { cwd: path.join(REPO_ROOT, src.wrapper), cleanup: () => {} };
  const { file, why } = locateTarball(b, src);
  if (!file) throw new Error(why.join('\n'));
  const actual = await sha256Of(file);
  if (actual !== src.sha256) throw new Error(`${file}: sha256 ${actual}, expected ${src.sha256} (src/devcluster/binaries.ts); not building from it`);
  log(`  ${path.basename(file)}: sha256 ${actual.slice(0, 16)}… as pinned (${file})`);
  const cwd = mkdtempSync(path.join(dir, `.src-${b.name}-`));
  const cleanup = () => rmSync(cwd, { recursive: true, force: true });
  const tar = spawnSync('tar', ['-xzf', file, '-C', cwd, '--no-same-owner'], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (tar.status !== 0) {
    cleanup();
    throw new Error(`tar -xzf ${file} failed (${tar.error?.message ?? `exit ${tar.status}`})`);
  }
  log(`  unpacked; its go.sum locks the dependencies, which come from the module proxy`);
  return { cwd, cleanup };
}

function goBuild(b: TestbinBinary, mod: PinnedModule, cwd: string, out: string, jobs: number): Promise<void> {
  const ldflags = ['-s', '-w', ...b.ldflags(mod)].join(' ');
  const argv = ['build', '-p', String(jobs), '-trimpath', '-ldflags', ldflags, '-o', out, b.pkg];
  return new Promise((resolve, reject) => {
    const child = spawn(GO, argv, {
      cwd,
      env: goEnv(),
      stdio: ['ignore', printDirOnly ? 'ignore' : 'inherit', 'inherit'],
    });
    const ticker = setInterval(() => log(`  … still building ${b.name}`), 60_000);
    child.on('error', (err) => {
      clearInterval(ticker);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      clearInterval(ticker);
      if (code === 0) resolve();
      else reject(new Error(`go build ${b.pkg} failed (${signal ?? `exit ${code}`})`));
    });
  });
}

/** Directory of a family's binaries when env variables point at all of them, else undefined. */
function fromEnv(family: TestbinFamily): string | undefined {
  const entries = familyBinaries(family);
  if (family === 'controlplane') {
    const usingEnv = Boolean(process.env.KUBEBUILDER_ASSETS) || entries.some((b) => process.env[b.env]);
    if (!usingEnv) return undefined;
    const { found, missing } = resolveBinaries();
    if (missing.length > 0) {
      log(`KUBEBUILDER_ASSETS / TEST_ASSET_* are set but miss ${missing.map((m) => m.name).join(', ')}; building into the cache`);
      return undefined;
    }
    log('KUBEBUILDER_ASSETS / TEST_ASSET_* point at all control-plane binaries; nothing to build:');
    for (const [name, file] of Object.entries(found)) log(`  ${name}: ${file}`);
    return process.env.KUBEBUILDER_ASSETS ?? path.dirname(Object.values(found)[0]!);
  }
  if (!entries.every((b) => process.env[b.env] && existsSync(process.env[b.env]!))) return undefined;
  for (const b of entries) log(`${b.env}=${process.env[b.env]}; not building ${b.name}`);
  return path.dirname(process.env[entries[0]!.env]!);
}

/** The provider executable to put in the mirror: TEST_ASSET_TERRAFORM_PROVIDER_KUBERNETES, else the built one. */
function mirroredProvider(): string | undefined {
  const given = process.env[KUBERNETES_PROVIDER_ENV];
  if (given) return existsSync(given) ? path.resolve(given) : undefined;
  const built = path.join(testbinCacheDir('kubernetes-provider'), kubernetesProviderEntry().name);
  return existsSync(built) && !providerPinMismatch() ? built : undefined;
}

/**
 * The OpenTofu family's extras: a provider filesystem mirror under
 * <dir>/providers, laid out for both OpenTofu's and Terraform's registry
 * hostnames, with the Kubernetes provider linked in (built by the
 * kubernetes-provider family, or TEST_ASSET_TERRAFORM_PROVIDER_KUBERNETES),
 * and a CLI config <dir>/tofurc that installs only from it.
 */
function layOutTofuExtras(dir: string): void {
  const pin = kubernetesProviderPin();
  const mirror = path.join(dir, 'providers');
  const provider = mirroredProvider();
  for (const hostname of pin.hostnames) {
    const sub = path.join(mirror, providerMirrorSubdir(pin, hostname));
    const target = path.join(sub, providerExecutableName(pin));
    rmSync(target, { force: true });
    if (!provider) continue;
    mkdirSync(sub, { recursive: true });
    symlinkSync(provider, target);
  }
  mkdirSync(mirror, { recursive: true });
  writeFileSync(
    path.join(dir, 'tofurc'),
    [
      '# CLI config for OpenTofu (or Terraform): install providers only from the local mirror.',
      `# export TF_CLI_CONFIG_FILE=${path.join(dir, 'tofurc')}`,
      'provider_installation {',
      '  filesystem_mirror {',
      `    path = ${JSON.stringify(mirror)}`,
      '  }',
      '  # no direct {} block: nothing is ever fetched from a registry',
      '}',
      '',
    ].join('\n'),
  );
  if (provider) log(`provider mirror: hashicorp/kubernetes ${pin.version} in ${mirror} (${pin.hostnames.join(', ')}) -> ${provider}`);
  else log(`provider mirror: hashicorp/kubernetes ${pin.version} missing (${providerPinMismatch() ?? 'run `npm run testbin -- --only kubernetes-provider`'})`);
}

/** Why a family cannot be built here (its source is not available), as lines to print; undefined when it can. */
function unbuildable(entries: readonly TestbinBinary[]): string[] | undefined {
  const why: string[] = [];
  for (const b of entries) {
    if (b.source.kind === 'tarball') why.push(...locateTarball(b, b.source).why);
  }
  if (entries.some((b) => b.name === kubernetesProviderEntry().name)) {
    const mismatch = providerPinMismatch();
    if (mismatch) why.push(mismatch);
  }
  return why.length > 0 ? why : undefined;
}

/** Build a family's missing binaries; returns its directory, or undefined when its source is not available (and `required` is false). */
async function buildFamily(family: TestbinFamily, jobs: () => number, required: boolean): Promise<string | undefined> {
  const entries = familyBinaries(family);
  if (!force) {
    const envDir = fromEnv(family);
    if (envDir) return envDir;
  }
  const dir = testbinCacheDir(family);
  const todo = entries.filter((b) => force || !existsSync(path.join(dir, b.name)));
  if (todo.length === 0) {
    log(`${family}: all ${entries.length} binaries cached in ${dir}`);
    return dir;
  }
  const why = unbuildable(todo);
  if (why) {
    if (required) throw new Error(why.join('\n'));
    for (const line of why) log(line);
    log(`${family}: not built; the suites that need it skip (or fail under CI's KEYWARD_REQUIRE_* switches)`);
    return undefined;
  }

  const go = spawnSync(GO, ['version'], { encoding: 'utf8', env: goEnv() });
  if (go.status !== 0) {
    throw new Error('Go is needed to build the test binaries (or set KUBEBUILDER_ASSETS / TEST_ASSET_* to existing ones)');
  }
  mkdirSync(dir, { recursive: true });
  log(`${family}: ${go.stdout.trim()}; building ${todo.map((b) => b.name).join(', ')} into ${dir} (-p ${jobs()})`);
  log('a cold build takes a while (see docs/testing.md); later runs reuse the cache');

  const started = Date.now();
  for (const [i, b] of todo.entries()) {
    const mod = pinnedModule(b);
    const t0 = Date.now();
    const from = b.source.kind === 'module' ? `${b.source.module}@${mod.version}` : `${b.source.file}`;
    log(`[${i + 1}/${todo.length}] ${b.name} (${from}) …`);
    const final = path.join(dir, b.name);
    const tmp = `${final}.tmp-${process.pid}`;
    const src = await sourceDir(b, dir);
    try {
      await goBuild(b, mod, src.cwd, tmp, jobs());
      chmodSync(tmp, 0o755);
      renameSync(tmp, final);
    } finally {
      rmSync(tmp, { force: true });
      src.cleanup();
    }
    log(`[${i + 1}/${todo.length}] ${b.name} built in ${fmt(Date.now() - t0)}`);
  }
  const manifest: Record<string, Record<string, string>> = {};
  for (const b of entries) {
    manifest[b.name] =
      b.source.kind === 'module'
        ? { module: b.source.module, version: pinnedModule(b).version, pkg: b.pkg }
        : { tarball: b.source.file, sha256: b.source.sha256, version: b.source.version, pkg: b.pkg };
  }
  writeFileSync(path.join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  log(`${family}: done in ${fmt(Date.now() - started)}`);
  return dir;
}

async function main(): Promise<void> {
  const jobs = () => Math.max(1, Math.min(2, Number(process.env.KEYWARD_TESTBIN_JOBS) || availableParallelism()));
  const families = printDirOnly ? [printFamily] : only ? [only] : [...TESTBIN_FAMILIES];
  const dirs = new Map<TestbinFamily, string>();
  for (const family of families) {
    const dir = await buildFamily(family, jobs, printDirOnly || only === family);
    if (dir) dirs.set(family, dir);
  }
  if (printDirOnly) {
    console.log(dirs.get(printFamily));
    return;
  }
  // The mirror lives with the cached OpenTofu and links the provider: refresh
  // it whenever either family was looked at (never in a TEST_ASSET_TOFU dir).
  const tofuCache = testbinCacheDir('tofu');
  const hasCachedTofu = existsSync(path.join(tofuCache, 'tofu'));
  if (hasCachedTofu && (families.includes('tofu') || families.includes('kubernetes-provider'))) layOutTofuExtras(tofuCache);
  const cp = dirs.get('controlplane');
  if (cp) log(`export KUBEBUILDER_ASSETS=${cp}`);
  const tofu = dirs.get('tofu');
  if (tofu) log(`OpenTofu: ${path.join(tofu, 'tofu')}${hasCachedTofu ? ` (CLI config: export TF_CLI_CONFIG_FILE=${path.join(tofuCache, 'tofurc')})` : ''}`);
}

main().catch((err: unknown) => {
  console.error(`[testbin] ${(err as Error).message}`);
  process.exit(1);
});
