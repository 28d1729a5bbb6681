/**
 * The web dashboard at `/`: the assets scripts/build-dashboard.ts bundles
 * from src/dashboard into dist/dashboard, served from memory with a strict
 * Content-Security-Policy (no inline scripts or styles, same-origin only).
 *
 * A fresh clone needs no prior build: in a checkout (the sources and the
 * build script are there) the first request builds the assets when
 * dist/dashboard is missing or older than its sources (about half a second;
 * docs/benchmarks-dashboard.md).
 * An installed package serves the build it ships.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import express, { type Request, type Response } from 'express';
import helmet from 'helmet';

/** Bump when the build settings or the page template format change. */
export const DASHBOARD_FORMAT = 2;

function findRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return start;
  }
}

export const REPOSITORY_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));
export const DASHBOARD_SOURCE_DIR = join(REPOSITORY_ROOT, 'src', 'dashboard');
export const DASHBOARD_OUT_DIR = join(REPOSITORY_ROOT, 'dist', 'dashboard');
const BUILD_SCRIPT = join(REPOSITORY_ROOT, 'scripts', 'build-dashboard.ts');

/** What a build wrote (manifest.json), read here to serve it and to tell whether it is stale. */
export interface DashboardManifest {
  format: number;
  builtAt: number;
  /** Build inputs relative to the repository root (sources and node_modules files). */
  inputs: string[];
  script: string;
  style: string;
  /** Every other asset (relative to the build directory): the API reference page's scripts, stylesheets and images. */
  assets: string[];
}

const MIME: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.gif': 'image/gif',
  '.html': 'text/html; charset=utf-8',
};
const mimeOf = (file: string): string => MIME[file.slice(file.lastIndexOf('.'))] ?? 'application/octet-stream';

/** Runs the build script in this process (a checkout only: the script is not shipped). */
async function buildAssets(outDir: string): Promise<void> {
  if (!existsSync(BUILD_SCRIPT)) throw new Error(`no dashboard build in ${outDir}`);
  const script = (await import(pathToFileURL(BUILD_SCRIPT).href)) as { buildDashboard(options: { outDir: string }): Promise<unknown> };
  await script.buildDashboard({ outDir });
}

function readManifest(outDir: string): DashboardManifest | undefined {
  try {
    const manifest = JSON.parse(readFileSync(join(outDir, 'manifest.json'), 'utf8')) as DashboardManifest;
    return manifest.format === DASHBOARD_FORMAT ? manifest : undefined;
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
      if (statSync(join(REPOSITORY_ROOT, input)).mtimeMs > manifest.builtAt) return true;
    } catch {
      return true;
    }
  }
  return [manifest.script, manifest.style, ...manifest.assets, 'docs.html'].some((rel) => !existsSync(join(outDir, rel)));
}

interface Asset {
  body: Buffer;
  type: string;
}

interface LoadedDashboard {
  index: Buffer;
  /** The API reference page (/docs). */
  docs: Buffer;
  assets: Map<string, Asset>;
}

function loadDashboard(outDir: string): LoadedDashboard {
  const manifest = readManifest(outDir);
  if (!manifest) throw new Error(`no dashboard build in ${outDir}`);
  const assets = new Map<string, Asset>();
  for (const rel of [manifest.script, manifest.style, ...manifest.assets, 'assets/favicon.svg']) {
    assets.set(`/${rel}`, { body: readFileSync(join(outDir, rel)), type: mimeOf(rel) });
  }
  return { index: readFileSync(join(outDir, 'index.html')), docs: readFileSync(join(outDir, 'docs.html')), assets };
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
  /** Re-check sources for changes on page loads (default true; the server sets false under NODE_ENV=production). */
  watch?: boolean;
}

/**
 * Express router serving the dashboard: `GET /` (the page), `GET /docs` (the
 * API reference) and `GET /assets/*` (hashed, immutable). Security headers apply to these routes only; every
 * other request passes through untouched.
 */
export function dashboardRouter(options: DashboardOptions = {}): express.Router {
  const outDir = options.outDir ?? DASHBOARD_OUT_DIR;
  const build = options.build ?? true;
  const watch = options.watch ?? true;
  const router = express.Router();
  const security = dashboardSecurityHeaders();

  let loading: Promise<LoadedDashboard> | undefined;
  let checkedAt = 0;
  const ensure = async (): Promise<LoadedDashboard> => {
    if (build && dashboardIsStale(outDir)) await buildAssets(outDir);
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

  const page = (which: 'index' | 'docs') => async (_req: Request, res: Response) => {
    try {
      const loaded = await dashboard(true);
      res.status(200).set({ 'content-type': MIME['.html']!, 'cache-control': 'no-cache' }).send(loaded[which]);
    } catch (error) {
      unavailable(res, error);
    }
  };
  router.get(['/', '/index.html'], security, page('index'));
  // The rendered API reference (Swagger UI over /openapi.json), under the same policy.
  router.get('/docs', security, page('docs'));

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
