/**
 * The web dashboard at `/`: static assets built by esbuild from
 * src/dashboard into dist/dashboard, served from memory with a strict
 * Content-Security-Policy (no inline scripts or styles, same-origin only).
 *
 * A fresh clone needs no prior build: the first request builds the assets
 * when dist/dashboard is missing or older than its sources (well under a
 * second). Concurrent builders (parallel test workers) are safe: every file is
 * written to a temporary name and renamed into place, assets are named by
 * content hash, and the manifest is written last.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Request, type Response } from 'express';
import helmet from 'helmet';

/** Bump when the build settings or the page template format change. */
const BUILD_FORMAT = 1;

function findRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return start;
  }
}

const ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));
export const DASHBOARD_SOURCE_DIR = join(ROOT, 'src', 'dashboard');
export const DASHBOARD_OUT_DIR = join(ROOT, 'dist', 'dashboard');

export interface DashboardManifest {
  format: number;
  builtAt: number;
  /** Build inputs relative to the repository root (sources and node_modules files). */
  inputs: string[];
  script: string;
  style: string;
}

const MIME: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.html': 'text/html; charset=utf-8',
};
const mimeOf = (file: string): string => MIME[file.slice(file.lastIndexOf('.'))] ?? 'application/octet-stream';

function writeAtomic(file: string, content: string | Uint8Array): void {
  mkdirSync(dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temp, content);
  renameSync(temp, file);
}

const escapeAttr = (s: string): string => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

function renderIndex(template: string, manifest: Pick<DashboardManifest, 'script' | 'style'>): string {
  return template
    .replace('{{style}}', escapeAttr(`/${manifest.style}`))
    .replace('{{script}}', escapeAttr(`/${manifest.script}`));
}

/**
 * Bundles src/dashboard with esbuild into outDir: assets/main-HASH.js,
 * assets/styles-HASH.css, assets/favicon.svg, index.html, manifest.json.
 * `clean` removes assets of earlier builds (the build script does; the server does not,
 * since another process may still be serving them).
 */
export async function buildDashboard(options: { outDir?: string; clean?: boolean; minify?: boolean } = {}): Promise<DashboardManifest> {
  const outDir = options.outDir ?? DASHBOARD_OUT_DIR;
  const esbuild = await import('esbuild');
  const builtAt = Date.now();
  const result = await esbuild.build({
    absWorkingDir: ROOT,
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
    relative(ROOT, join(DASHBOARD_SOURCE_DIR, 'index.html')),
    relative(ROOT, join(DASHBOARD_SOURCE_DIR, 'favicon.svg')),
  ].map((p) => p.split('\\').join('/'));
  const manifest: DashboardManifest = { format: BUILD_FORMAT, builtAt, inputs, script, style };
  writeAtomic(join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  if (options.clean) {
    const keep = new Set([basename(script), basename(style), 'favicon.svg']);
    for (const name of readdirSync(join(outDir, 'assets'))) if (!keep.has(name)) rmSync(join(outDir, 'assets', name), { force: true });
  }
  return manifest;
}

function readManifest(outDir: string): DashboardManifest | undefined {
  try {
    const manifest = JSON.parse(readFileSync(join(outDir, 'manifest.json'), 'utf8')) as DashboardManifest;
    return manifest.format === BUILD_FORMAT ? manifest : undefined;
  } catch {
    return undefined;
  }
}

/** True when there is no build, or a source changed after it (only where the sources exist). */
export function dashboardIsStale(outDir = DASHBOARD_OUT_DIR): boolean {
  const manifest = readManifest(outDir);
  if (!manifest) return true;
  if (!existsSync(DASHBOARD_SOURCE_DIR)) return false;
  for (const input of manifest.inputs) {
    try {
      if (statSync(join(ROOT, input)).mtimeMs > manifest.builtAt) return true;
    } catch {
      return true;
    }
  }
  return !existsSync(join(outDir, manifest.script)) || !existsSync(join(outDir, manifest.style));
}

interface Asset {
  body: Buffer;
  type: string;
}

interface LoadedDashboard {
  index: Buffer;
  assets: Map<string, Asset>;
}

function loadDashboard(outDir: string): LoadedDashboard {
  const manifest = readManifest(outDir);
  if (!manifest) throw new Error(`no dashboard build in ${outDir}`);
  const assets = new Map<string, Asset>();
  for (const rel of [manifest.script, manifest.style, 'assets/favicon.svg']) {
    assets.set(`/${rel}`, { body: readFileSync(join(outDir, rel)), type: mimeOf(rel) });
  }
  return { index: readFileSync(join(outDir, 'index.html')), assets };
}

/**
 * The dashboard's security headers: helmet, with a CSP allowing nothing
 * inline and nothing off-origin. HSTS only on a request that came over HTTPS
 * (Express's req.secure: TLS, or X-Forwarded-Proto from a trusted proxy):
 * over plain HTTP it means nothing, and on a host also serving plain HTTP
 * elsewhere it would break that.
 */
export function dashboardSecurityHeaders() {
  const headers = helmetHeaders();
  const hsts = helmet.strictTransportSecurity();
  return (req: Request, res: Response, next: (error?: unknown) => void): void => {
    headers(req, res, (error?: unknown) => (error || !req.secure ? next(error) : hsts(req, res, next)));
  };
}

function helmetHeaders() {
  return helmet({
    strictTransportSecurity: false,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'"],
        fontSrc: ["'self'"],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    // Same-origin fetches only; nothing is embedded cross-origin.
    crossOriginResourcePolicy: { policy: 'same-origin' },
    referrerPolicy: { policy: 'no-referrer' },
  });
}

export interface DashboardOptions {
  /** Where the built assets live (default dist/dashboard at the repository root). */
  outDir?: string;
  /** Build when missing or stale (default true). Without esbuild installed, a missing build is an error page. */
  build?: boolean;
  /** Re-check sources for changes on page loads (default: unless NODE_ENV=production). */
  watch?: boolean;
}

/**
 * Express router serving the dashboard: `GET /` (the page) and `GET /assets/*`
 * (hashed, immutable). Security headers apply to these routes only; every
 * other request passes through untouched.
 */
export function dashboardRouter(options: DashboardOptions = {}): express.Router {
  const outDir = options.outDir ?? DASHBOARD_OUT_DIR;
  const build = options.build ?? true;
  const watch = options.watch ?? process.env.NODE_ENV !== 'production';
  const router = express.Router();
  const security = dashboardSecurityHeaders();

  let loading: Promise<LoadedDashboard> | undefined;
  let checkedAt = 0;
  const ensure = async (): Promise<LoadedDashboard> => {
    if (build && dashboardIsStale(outDir)) await buildDashboard({ outDir });
    return loadDashboard(outDir);
  };
  const dashboard = (recheck: boolean): Promise<LoadedDashboard> => {
    if (loading && recheck && watch && Date.now() - checkedAt > 1_000) {
      checkedAt = Date.now();
      if (build && dashboardIsStale(outDir)) loading = undefined;
    }
    loading ??= ensure().catch((error: unknown) => {
      loading = undefined;
      throw error;
    });
    checkedAt ||= Date.now();
    return loading;
  };

  const unavailable = (res: Response, error: unknown) => {
    res
      .status(503)
      .type('text/plain')
      .set('cache-control', 'no-store')
      .send(`The keyward dashboard is not built: ${(error as Error)?.message ?? String(error)}\nRun "npm run build" (or install dev dependencies so it can build itself).\n`);
  };

  router.get(['/', '/index.html'], security, async (_req: Request, res: Response) => {
    try {
      const loaded = await dashboard(true);
      res.status(200).set({ 'content-type': MIME['.html']!, 'cache-control': 'no-cache' }).send(loaded.index);
    } catch (error) {
      unavailable(res, error);
    }
  });

  router.get('/assets/:file', security, async (req: Request, res: Response, next) => {
    let loaded: LoadedDashboard;
    try {
      loaded = await dashboard(false);
    } catch (error) {
      unavailable(res, error);
      return;
    }
    const asset = loaded.assets.get(`/assets/${req.params.file}`);
    if (!asset) {
      next();
      return;
    }
    const immutable = req.params.file !== 'favicon.svg';
    res
      .status(200)
      .set({ 'content-type': asset.type, 'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'public, max-age=3600' })
      .send(asset.body);
  });

  return router;
}
