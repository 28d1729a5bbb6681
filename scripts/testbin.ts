// npm run testbin — build the pinned control-plane binaries (etcd,
// kube-apiserver, kube-controller-manager, kubectl) from the Go wrapper
// modules under testbin/ into ~/.cache/keyward/testbin/<key>/, once.
//
//   npm run testbin                 build what is missing, print progress
//   npm run -s testbin -- --print-dir   print only the cache directory
//
// If KUBEBUILDER_ASSETS / TEST_ASSET_* already point at all binaries, nothing
// is built. The list of binaries is TESTBIN_BINARIES in
// src/devcluster/binaries.ts (one entry per binary).

import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import {
  REPO_ROOT,
  TESTBIN_BINARIES,
  resolveBinaries,
  testbinCacheDir,
  type PinnedModule,
  type TestbinBinary,
} from '../src/devcluster/binaries.ts';

const args = process.argv.slice(2);
const printDirOnly = args.includes('--print-dir');
const force = args.includes('--force');

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

async function main(): Promise<void> {
  const usingEnv = Boolean(process.env.KUBEBUILDER_ASSETS) || TESTBIN_BINARIES.some((b) => process.env[b.env]);
  if (usingEnv && !force) {
    const { found, missing } = resolveBinaries();
    if (missing.length === 0) {
      log('KUBEBUILDER_ASSETS / TEST_ASSET_* point at all binaries; nothing to build:');
      for (const [name, file] of Object.entries(found)) log(`  ${name}: ${file}`);
      if (printDirOnly) console.log(process.env.KUBEBUILDER_ASSETS ?? path.dirname(Object.values(found)[0]!));
      return;
    }
    log(`KUBEBUILDER_ASSETS / TEST_ASSET_* are set but miss ${missing.map((m) => m.name).join(', ')}; building into the cache`);
  }

  const dir = testbinCacheDir();
  const todo = TESTBIN_BINARIES.filter((b) => force || !existsSync(path.join(dir, b.name)));
  if (todo.length === 0) {
    log(`all ${TESTBIN_BINARIES.length} binaries cached in ${dir}`);
    if (printDirOnly) console.log(dir);
    else log(`export KUBEBUILDER_ASSETS=${dir}`);
    return;
  }

  const go = spawnSync(GO, ['version'], { encoding: 'utf8', env: goEnv() });
  if (go.status !== 0) {
    throw new Error('Go is needed to build the control-plane binaries (or set KUBEBUILDER_ASSETS to existing ones)');
  }
  const jobs = Math.max(1, Math.min(2, Number(process.env.KEYWARD_TESTBIN_JOBS) || availableParallelism()));
  mkdirSync(dir, { recursive: true });
  log(`${go.stdout.trim()}; building ${todo.map((b) => b.name).join(', ')} into ${dir} (-p ${jobs})`);
  log('a cold build takes a while (see docs/testing.md); later runs reuse the cache');

  const started = Date.now();
  for (const [i, b] of todo.entries()) {
    const mod = pinnedModule(b);
    const t0 = Date.now();
    log(`[${i + 1}/${todo.length}] ${b.name} (${b.module}@${mod.version}) …`);
    const final = path.join(dir, b.name);
    const tmp = `${final}.tmp-${process.pid}`;
    try {
      await goBuild(b, mod, tmp, jobs);
      chmodSync(tmp, 0o755);
      renameSync(tmp, final);
    } finally {
      rmSync(tmp, { force: true });
    }
    log(`[${i + 1}/${todo.length}] ${b.name} built in ${fmt(Date.now() - t0)}`);
  }
  const manifest: Record<string, { module: string; version: string; pkg: string }> = {};
  for (const b of TESTBIN_BINARIES) manifest[b.name] = { module: b.module, version: pinnedModule(b).version, pkg: b.pkg };
  writeFileSync(path.join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  log(`done in ${fmt(Date.now() - started)}`);
  if (printDirOnly) console.log(dir);
  else log(`export KUBEBUILDER_ASSETS=${dir}`);
}

main().catch((err: unknown) => {
  console.error(`[testbin] ${(err as Error).message}`);
  process.exit(1);
});
