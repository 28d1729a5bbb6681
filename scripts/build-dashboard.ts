/**
 * The dashboard build: bundles src/dashboard with esbuild into
 * dist/dashboard (assets/main-HASH.js, assets/styles-HASH.css,
 * assets/favicon.svg, index.html; the API reference page docs.html with its
 * assets, api-reference-assets.ts; manifest.json). `npm run build:dashboard`
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
import { API_REFERENCE_INPUTS, apiReferenceAssets } from './api-reference-assets.ts';
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

/** A page template with each {{name}} replaced by the absolute path of that asset. */
function renderPage(template: string, assets: Record<string, string>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (whole, name: string) => (assets[name] === undefined ? whole : escapeAttr(`/${assets[name]}`)));
}

/** The bundles: the dashboard's script and stylesheet, then the API reference page's. */
const ENTRY_POINTS = ['main.ts', 'styles.css', 'docs.ts', 'docs.css'];

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
    entryPoints: ENTRY_POINTS.map((entry) => join(DASHBOARD_SOURCE_DIR, entry)),
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
  // Each output by the entry point it was built from.
  const built = new Map<string, string>();
  for (const [path, output] of Object.entries(result.metafile.outputs)) {
    if (output.entryPoint) built.set(basename(output.entryPoint), relative(outDir, join(REPOSITORY_ROOT, path)).split('\\').join('/'));
  }
  for (const file of result.outputFiles) writeAtomic(file.path, file.contents);
  const [script, style, docsScript, docsStyle] = ENTRY_POINTS.map((entry) => built.get(entry));
  if (!script || !style || !docsScript || !docsStyle) throw new Error(`esbuild did not build every entry point: ${ENTRY_POINTS.join(', ')}`);
  writeAtomic(join(outDir, 'assets', 'favicon.svg'), readFileSync(join(DASHBOARD_SOURCE_DIR, 'favicon.svg')));
  const swagger = apiReferenceAssets();
  for (const [name, content] of swagger.files) writeAtomic(join(outDir, 'assets', name), content);
  const template = readFileSync(join(DASHBOARD_SOURCE_DIR, 'index.html'), 'utf8');
  writeAtomic(join(outDir, 'index.html'), renderPage(template, { script, style }));
  const docsTemplate = readFileSync(join(DASHBOARD_SOURCE_DIR, 'docs.html'), 'utf8');
  writeAtomic(join(outDir, 'docs.html'), renderPage(docsTemplate, { script: docsScript, style: docsStyle, swaggerScript: `assets/${swagger.script}`, swaggerStyle: `assets/${swagger.style}` }));
  const inputs = [
    ...Object.keys(result.metafile.inputs),
    ...['index.html', 'docs.html', 'favicon.svg'].map((page) => relative(REPOSITORY_ROOT, join(DASHBOARD_SOURCE_DIR, page))),
    ...API_REFERENCE_INPUTS.map((file) => relative(REPOSITORY_ROOT, file)),
  ].map((p) => p.split('\\').join('/'));
  const assets = [docsScript, docsStyle, ...[...swagger.files.keys()].map((name) => `assets/${name}`)];
  const manifest: DashboardManifest = { format: DASHBOARD_FORMAT, builtAt, inputs, script, style, assets };
  writeAtomic(join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  if (options.clean) {
    const keep = new Set([basename(script), basename(style), ...assets.map((asset) => basename(asset)), 'favicon.svg']);
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
