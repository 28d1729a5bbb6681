/**
 * The container image: its build context from the npm package tarball, then
 * the Containerfile built by the container engine (./containers.ts).
 *
 * The context (build/image/ by default):
 *   opt/keyward/                 the package, unpacked, with its production
 *                                dependencies at the versions package-lock.json locks
 *   usr/local/bin/keyward        -> /opt/keyward/dist/cli/bin.js (the entrypoint)
 *   var/lib/keyward/             the store's directory, owned by the image's user
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { containerEngine, type ContainerEngine } from './containers.ts';
import { REPO_ROOT, readPackageJson, sourceUrl, type PackageJson } from './package.ts';

/** The image's repository; deploy/, the chart and the release manifest name it with the version as tag. */
export const IMAGE_REPOSITORY = 'ghcr.io/keyward/keyward';

export function imageName(pkg: PackageJson = readPackageJson()): string {
  return `${IMAGE_REPOSITORY}:${pkg.version}`;
}

/** The build args the Containerfile's labels take, from package.json. */
export function imageBuildArgs(pkg: PackageJson, baseImage?: string): Record<string, string> {
  return {
    ...(baseImage ? { BASE_IMAGE: baseImage } : {}),
    VERSION: pkg.version,
    LICENSES: pkg.license ?? 'UNLICENSED',
    SOURCE: sourceUrl(pkg),
  };
}

function log(message: string): void {
  process.stderr.write(`[release] ${message}\n`);
}

/** Lay out the build context in `dir` from the package tarball. */
export function stageImageContext(tarball: string, dir: string, root: string = REPO_ROOT): void {
  rmSync(dir, { recursive: true, force: true });
  const app = path.join(dir, 'opt', 'keyward');
  mkdirSync(app, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', app, '--strip-components=1', '--no-same-owner']);
  // The checkout's lock: npm keeps its versions for the package's own dependencies and drops the rest.
  copyFileSync(path.join(root, 'package-lock.json'), path.join(app, 'package-lock.json'));
  log(`npm install --omit=dev in ${path.relative(root, app) || app}`);
  execFileSync('npm', ['install', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: app, stdio: ['ignore', 'inherit', 'inherit'] });
  // What `npm install -g` does for a bin: make it executable and link it onto PATH.
  chmodSync(path.join(app, 'dist', 'cli', 'bin.js'), 0o755);
  mkdirSync(path.join(dir, 'usr', 'local', 'bin'), { recursive: true });
  symlinkSync('/opt/keyward/dist/cli/bin.js', path.join(dir, 'usr', 'local', 'bin', 'keyward'));
  mkdirSync(path.join(dir, 'var', 'lib', 'keyward'), { recursive: true });
}

export interface ImageBuild {
  name: string;
  engine: ContainerEngine;
}

/** Build the image from a staged context; returns its name. */
export function buildImage(options: { context: string; baseImage?: string; root?: string; engine?: ContainerEngine; tag?: string; noCache?: boolean }): ImageBuild {
  const root = options.root ?? REPO_ROOT;
  const pkg = readPackageJson(root);
  const engine = options.engine ?? containerEngine();
  const name = options.tag ?? imageName(pkg);
  log(`${engine.command} build ${name}${options.baseImage ? ` on ${options.baseImage}` : ''}`);
  engine.build({
    containerfile: path.join(root, 'Containerfile'),
    context: options.context,
    tag: name,
    buildArgs: imageBuildArgs(pkg, options.baseImage),
    noCache: options.noCache,
  });
  return { name, engine };
}
