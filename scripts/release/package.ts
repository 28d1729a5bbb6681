/**
 * The npm package: built from a checkout into a staging directory, then
 * `npm pack`ed there.
 *
 * The published package.json is the checkout's with what only a checkout
 * needs taken out (publishedManifest): its scripts (the postinstall that
 * rebuilds a dev-only native addon for the pinned Node), devDependencies,
 * the pinned Node binary (an optional dependency, so it installs only on
 * the platform it is for), npm's allowScripts list; and `bin` points at the
 * compiled command instead of the TypeScript source the checkout runs.
 * Everything else (name, version, engines, exports, files, dependencies,
 * peerDependencies) is the checkout's, so there is one place to change it.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildDashboard } from '../build-dashboard.ts';

export const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');

export interface PackageJson {
  name: string;
  version: string;
  license?: string;
  repository?: { url?: string } | string;
  engines?: { node?: string };
  bin?: Record<string, string>;
  [field: string]: unknown;
}

/** Fields of the checkout's package.json that the published one leaves out. */
export const CHECKOUT_ONLY_FIELDS = ['scripts', 'devDependencies', 'optionalDependencies', 'allowScripts'] as const;

/** The installed command: compiled JavaScript that checks the Node version, then runs the CLI. */
export const PUBLISHED_BIN = { keyward: 'dist/cli/bin.js' };

export function readPackageJson(root: string = REPO_ROOT): PackageJson {
  return JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as PackageJson;
}

/** The package.json that is published, from the checkout's. */
export function publishedManifest(checkout: PackageJson): PackageJson {
  const published: PackageJson = { ...checkout, bin: PUBLISHED_BIN };
  for (const field of CHECKOUT_ONLY_FIELDS) delete published[field];
  return published;
}

/** The source repository's URL without git+ and .git (for the image's org.opencontainers.image.source). */
export function sourceUrl(pkg: PackageJson): string {
  const url = typeof pkg.repository === 'string' ? pkg.repository : (pkg.repository?.url ?? '');
  return url.replace(/^git\+/, '').replace(/\.git$/, '');
}

function log(message: string): void {
  process.stderr.write(`[release] ${message}\n`);
}

/**
 * Compile src/ (tsconfig.build.json) and the dashboard straight into
 * `<dir>/dist`, next to the published package.json and the README. The
 * checkout's own dist/ is left alone (tests and a running service use it).
 */
export function stagePackage(dir: string, root: string = REPO_ROOT): Promise<PackageJson> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  log(`tsc -p tsconfig.build.json --outDir ${path.relative(root, path.join(dir, 'dist')) || dir}`);
  execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json'), '--outDir', path.join(dir, 'dist')], { cwd: root, stdio: 'inherit' });
  return (async () => {
    const dashboard = await buildDashboard({ outDir: path.join(dir, 'dist', 'dashboard'), clean: true });
    log(`dashboard: dist/dashboard/{index.html,${dashboard.script},${dashboard.style}}`);
    for (const file of ['README.md', 'LICENSE']) if (existsSync(path.join(root, file))) cpSync(path.join(root, file), path.join(dir, file));
    const manifest = publishedManifest(readPackageJson(root));
    writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    return manifest;
  })();
}

/** `npm pack` the staged package into outDir; returns the tarball's path. */
export function packPackage(stageDir: string, outDir: string): string {
  mkdirSync(outDir, { recursive: true });
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', outDir], { cwd: stageDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const [packed] = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
  if (!packed) throw new Error('npm pack reported no package');
  log(`${packed.filename}: ${packed.files.length} files`);
  return path.join(outDir, packed.filename);
}
