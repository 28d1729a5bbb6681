/**
 * Bundles the rotation Lambda handler (this project's own
 * `rotation-handler.ts`) with esbuild into a directory holding `index.js`,
 * ready for a TerraformAsset (ARCHIVE). Offline, deterministic, cached per
 * process and on disk by content hash, so several secrets share one bundle
 * and re-synth does not change the asset hash.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const HANDLER_ENTRY = 'index.handler';
/** What the bundle targets; also the default Lambda runtime. */
export const DEFAULT_LAMBDA_RUNTIME = 'nodejs22.x';
const TARGET = 'node22';

const cache = new Map<string, string>();

/** The handler's source next to this module: .ts in the repo, .js once compiled to dist/. */
export function rotationHandlerSource(): string {
  for (const name of ['rotation-handler.ts', 'rotation-handler.js']) {
    const path = fileURLToPath(new URL(`./${name}`, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error('keyward: cannot find the rotation handler source (rotation-handler.ts) next to the constructs');
}

/** Returns a directory holding the bundled handler as index.js. */
export function bundleRotationHandler(outRoot: string = join(tmpdir(), 'keyward-rotation-handler')): string {
  const entry = rotationHandlerSource();
  const cached = cache.get(`${entry}\u0000${outRoot}`);
  if (cached) return cached;
  // esbuild is loaded only when an AWS construct is synthesized.
  const require = createRequire(import.meta.url);
  let esbuild: typeof import('esbuild');
  try {
    esbuild = require('esbuild') as typeof import('esbuild');
  } catch (error) {
    throw new Error(`keyward: bundling the rotation Lambda needs the "esbuild" package (npm install esbuild): ${(error as Error).message}`);
  }
  const result = esbuild.buildSync({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    target: TARGET,
    format: 'cjs',
    minify: true,
    keepNames: true,
    legalComments: 'none',
    sourcemap: false,
    write: false,
    outfile: 'index.js',
    logLevel: 'silent',
  });
  const code = result.outputFiles.find((file) => file.path.endsWith('index.js'));
  if (!code) throw new Error('keyward: esbuild produced no index.js for the rotation handler');
  const hash = createHash('sha256').update(code.contents).digest('hex').slice(0, 16);
  const dir = join(outRoot, hash);
  if (!existsSync(join(dir, 'index.js'))) {
    mkdirSync(dir, { recursive: true });
    // Write then rename, so a concurrent synth never sees a half-written file.
    const temp = join(dir, `.index.js.${process.pid}`);
    writeFileSync(temp, code.contents);
    renameSync(temp, join(dir, 'index.js'));
  }
  cache.set(`${entry}\u0000${outRoot}`, dir);
  return dir;
}
