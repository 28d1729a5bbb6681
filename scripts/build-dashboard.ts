/**
 * The dashboard build: bundles src/dashboard with esbuild into
 * dist/dashboard (assets/main-HASH.js, assets/styles-HASH.css,
 * assets/favicon.svg, index.html, manifest.json). `npm run build:dashboard`
 * runs it; in a checkout the key service also imports it to build on demand
 * (src/server/dashboard.ts serves the result and knows when it is stale).
 *
 * Concurrent builders (parallel test workers) are safe: every file is written
 * to a temporary name and renamed into place, assets are named by content
 * hash, and the manifest is written last.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import type { Plugin } from 'esbuild';
import { DASHBOARD_FORMAT, DASHBOARD_OUT_DIR, DASHBOARD_SOURCE_DIR, REPOSITORY_ROOT, type DashboardManifest } from '../src/server/dashboard.ts';

function writeAtomic(file: string, content: string | Uint8Array): void {
  mkdirSync(dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temp, content);
  renameSync(temp, file);
}

/** src/core/ip.ts judges addresses with node:net; the bundle gets the same patterns (src/dashboard/net-browser.ts). */
const browserNet: Plugin = {
  name: 'node-net-for-the-browser',
  setup(build) {
    build.onResolve({ filter: /^(node:)?net$/ }, () => ({ path: join(DASHBOARD_SOURCE_DIR, 'net-browser.ts') }));
  },
};

const escapeAttr = (s: string): string => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

function renderIndex(template: string, manifest: Pick<DashboardManifest, 'script' | 'style'>): string {
  return template
    .replace('{{style}}', escapeAttr(`/${manifest.style}`))
    .replace('{{script}}', escapeAttr(`/${manifest.script}`));
}

/**
 * Builds into outDir. `clean` removes assets of earlier builds (the build
 * command does; the server does not, since another process may still be
 * serving them).
 */
export async function buildDashboard(options: { outDir?: string; clean?: boolean; minify?: boolean } = {}): Promise<DashboardManifest> {
  const outDir = options.outDir ?? DASHBOARD_OUT_DIR;
  const esbuild = await import('esbuild');
  const builtAt = Date.now();
  const result = await esbuild.build({
    absWorkingDir: REPOSITORY_ROOT,
    entryPoints: [join(DASHBOARD_SOURCE_DIR, 'main.ts'), join(DASHBOARD_SOURCE_DIR, 'styles.css')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome111', 'firefox115', 'safari16.4'],
    minify: options.minify ?? true,
    legalComments: 'none',
    charset: 'utf8',
    write: false,
    outdir: join(outDir, 'assets'),
    entryNames: '[name]-[hash]',
    metafile: true,
    logLevel: 'silent',
    plugins: [browserNet],
  });
  let script = '';
  let style = '';
  for (const file of result.outputFiles) {
    const rel = relative(outDir, file.path).split('\\').join('/');
    if (rel.endsWith('.js')) script = rel;
    if (rel.endsWith('.css')) style = rel;
    writeAtomic(file.path, file.contents);
  }
  if (!script || !style) throw new Error('esbuild produced no script or stylesheet for the dashboard');
  writeAtomic(join(outDir, 'assets', 'favicon.svg'), readFileSync(join(DASHBOARD_SOURCE_DIR, 'favicon.svg')));
  const template = readFileSync(join(DASHBOARD_SOURCE_DIR, 'index.html'), 'utf8');
  writeAtomic(join(outDir, 'index.html'), renderIndex(template, { script, style }));
  const inputs = [
    ...Object.keys(result.metafile.inputs),
    relative(REPOSITORY_ROOT, join(DASHBOARD_SOURCE_DIR, 'index.html')),
    relative(REPOSITORY_ROOT, join(DASHBOARD_SOURCE_DIR, 'favicon.svg')),
  ].map((p) => p.split('\\').join('/'));
  const manifest: DashboardManifest = { format: DASHBOARD_FORMAT, builtAt, inputs, script, style };
  writeAtomic(join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  if (options.clean) {
    const keep = new Set([basename(script), basename(style), 'favicon.svg']);
    for (const name of readdirSync(join(outDir, 'assets'))) if (!keep.has(name)) rmSync(join(outDir, 'assets', name), { force: true });
  }
  return manifest;
}

if (import.meta.main) {
  const started = performance.now();
  const manifest = await buildDashboard({ clean: true });
  const ms = Math.round(performance.now() - started);
  console.log(`dashboard built in ${ms} ms: ${relative(process.cwd(), DASHBOARD_OUT_DIR)}/{index.html,${manifest.script},${manifest.style}}`);
}
