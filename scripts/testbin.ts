// npm run testbin — build the pinned test binaries from the Go wrapper
// modules under testbin/ into ~/.cache/keyward/testbin/<key>/, once per
// family: the control plane (etcd, kube-apiserver, kube-controller-manager,
// kubectl) and OpenTofu (tofu, for `cdktf deploy` end to end). Each family has
// its own key and directory, so one family's bump never rebuilds another.
//
//   npm run testbin                          build what is missing, print progress
//   npm run testbin -- --only tofu           one family (controlplane | tofu)
//   npm run -s testbin -- --print-dir        print only the control-plane directory
//   npm run -s testbin -- --print-dir=tofu   print only the OpenTofu directory
//
// If KUBEBUILDER_ASSETS / TEST_ASSET_* already point at a family's binaries,
// that family is not built. The list of binaries is TESTBIN_BINARIES in
// src/devcluster/binaries.ts (one entry per binary).

import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import {
  KUBERNETES_PROVIDER_ENV,
  REPO_ROOT,
  TESTBIN_FAMILIES,
  familyBinaries,
  kubernetesProviderPin,
  providerExecutableName,
  providerMirrorSubdir,
  resolveBinaries,
  testbinCacheDir,
  type PinnedModule,
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

function pinnedModule(b: TestbinBinary): PinnedModule {
  const res = spawnSync(GO, ['list', '-m', '-json', b.module], {
    cwd: path.join(REPO_ROOT, b.wrapper),
    env: goEnv(),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (res.status !== 0) throw new Error(`go list -m ${b.module} failed in ${b.wrapper}`);
  const info = JSON.parse(res.stdout) as { Version: string; Time?: string };
  return { version: info.Version, time: info.Time ?? '' };
}

function goBuild(b: TestbinBinary, mod: PinnedModule, out: string, jobs: number): Promise<void> {
  const ldflags = ['-s', '-w', ...b.ldflags(mod)].join(' ');
  const argv = ['build', '-p', String(jobs), '-trimpath', '-ldflags', ldflags, '-o', out, b.pkg];
  return new Promise((resolve, reject) => {
    const child = spawn(GO, argv, {
      cwd: path.join(REPO_ROOT, b.wrapper),
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

/**
 * The OpenTofu family's extras: a provider filesystem mirror under
 * <dir>/providers and a CLI config <dir>/tofurc that installs only from it.
 * The Kubernetes provider is linked into the mirror when
 * TEST_ASSET_TERRAFORM_PROVIDER_KUBERNETES names one (see docs/testing.md for
 * why it is not built here).
 */
function layOutTofuExtras(dir: string): void {
  const pin = kubernetesProviderPin();
  const mirror = path.join(dir, 'providers');
  const given = process.env[KUBERNETES_PROVIDER_ENV];
  for (const hostname of pin.hostnames) {
    const sub = path.join(mirror, providerMirrorSubdir(pin, hostname));
    const target = path.join(sub, providerExecutableName(pin));
    if (given && existsSync(given)) {
      mkdirSync(sub, { recursive: true });
      rmSync(target, { force: true });
      symlinkSync(path.resolve(given), target);
      log(`provider mirror: ${path.relative(dir, target)} -> ${given}`);
    }
  }
  mkdirSync(mirror, { recursive: true });
  writeFileSync(
    path.join(dir, 'tofurc'),
    [
      '# CLI config for OpenTofu: install providers only from the local mirror.',
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
  const inMirror = path.join(mirror, providerMirrorSubdir(pin, pin.hostnames[0]!), providerExecutableName(pin));
  if (!given && existsSync(inMirror)) log(`provider mirror: hashicorp/kubernetes ${pin.version} present (${inMirror})`);
  else if (!given) {
    log(`hashicorp/kubernetes ${pin.version} is not built here (the module proxy does not serve its source at that version);`);
    log(`  set ${KUBERNETES_PROVIDER_ENV}=/path/to/terraform-provider-kubernetes_v${pin.version} and rerun to add it to the mirror`);
  }
}

async function buildFamily(family: TestbinFamily, jobs: () => number): Promise<string> {
  const entries = familyBinaries(family);
  if (!force) {
    const envDir = fromEnv(family);
    if (envDir) return envDir;
  }
  const dir = testbinCacheDir(family);
  const todo = entries.filter((b) => force || !existsSync(path.join(dir, b.name)));
  if (todo.length === 0) {
    log(`${family}: all ${entries.length} binaries cached in ${dir}`);
    if (family === 'tofu') layOutTofuExtras(dir);
    return dir;
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
    log(`[${i + 1}/${todo.length}] ${b.name} (${b.module}@${mod.version}) …`);
    const final = path.join(dir, b.name);
    const tmp = `${final}.tmp-${process.pid}`;
    try {
      await goBuild(b, mod, tmp, jobs());
      chmodSync(tmp, 0o755);
      renameSync(tmp, final);
    } finally {
      rmSync(tmp, { force: true });
    }
    log(`[${i + 1}/${todo.length}] ${b.name} built in ${fmt(Date.now() - t0)}`);
  }
  const manifest: Record<string, { module: string; version: string; pkg: string }> = {};
  for (const b of entries) manifest[b.name] = { module: b.module, version: pinnedModule(b).version, pkg: b.pkg };
  writeFileSync(path.join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  if (family === 'tofu') layOutTofuExtras(dir);
  log(`${family}: done in ${fmt(Date.now() - started)}`);
  return dir;
}

async function main(): Promise<void> {
  const jobs = () => Math.max(1, Math.min(2, Number(process.env.KEYWARD_TESTBIN_JOBS) || availableParallelism()));
  const families = printDirOnly ? [printFamily] : only ? [only] : [...TESTBIN_FAMILIES];
  const dirs = new Map<TestbinFamily, string>();
  for (const family of families) dirs.set(family, await buildFamily(family, jobs));
  if (printDirOnly) {
    console.log(dirs.get(printFamily));
    return;
  }
  const cp = dirs.get('controlplane');
  if (cp) log(`export KUBEBUILDER_ASSETS=${cp}`);
  const tofu = dirs.get('tofu');
  if (tofu) log(`OpenTofu: ${path.join(tofu, 'tofu')} (CLI config: export TF_CLI_CONFIG_FILE=${path.join(tofu, 'tofurc')})`);
}

main().catch((err: unknown) => {
  console.error(`[testbin] ${(err as Error).message}`);
  process.exit(1);
});
