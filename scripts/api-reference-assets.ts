/**
 * The rendered API reference (`/docs`): Swagger UI's prebuilt bundle and
 * stylesheet from swagger-ui-dist, served from this origin under the
 * dashboard's Content-Security-Policy. Chosen over Redoc, Scalar, RapiDoc and
 * Stoplight Elements because it is the one that renders with `style-src
 * 'self'` (the others inject <style> elements or style attributes, and Scalar
 * needs eval; measured in Chromium, see docs/internals.md). Its stylesheet
 * draws icons from data: URLs, which `img-src 'self'` refuses: each becomes
 * an asset file of its own here, so the policy stays as strict.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const SWAGGER_DIR = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
export const API_REFERENCE_INPUTS = [join(SWAGGER_DIR, 'swagger-ui-bundle.js'), join(SWAGGER_DIR, 'swagger-ui.css')];

const hashOf = (content: string | Buffer): string => createHash('sha256').update(content).digest('base64url').slice(0, 10);

const EXTENSIONS: Record<string, string> = { 'image/svg+xml': 'svg', 'image/png': 'png', 'image/jpeg': 'jpg', 'image/gif': 'gif' };

/**
 * `url("data:…")` and `url(data:…)` in a stylesheet replaced by `url(/assets/<name>)`, with
 * the files to write. CSS escapes (\") are undone and percent-encoding decoded; base64 decoded.
 */
export function externalizeDataUrls(css: string): { css: string; files: Map<string, Buffer> } {
  const files = new Map<string, Buffer>();
  const DATA_URL = /url\((?:"((?:\\.|[^"\\])*)"|'((?:\\.|[^'\\])*)'|(data:[^)'"]*))\)/g;
  const out = css.replace(DATA_URL, (whole, double?: string, single?: string, bare?: string) => {
    const text = (double ?? single ?? bare ?? '').replace(/\\(.)/g, '$1');
    const match = /^data:([a-z]+\/[a-z0-9.+-]+)((?:;[a-z-]+=[^;,]*)*)(;base64)?,(.*)$/is.exec(text);
    if (!match) return whole;
    const [, type, , base64, data] = match;
    const extension = EXTENSIONS[type!.toLowerCase()];
    if (!extension) return whole;
    const content = base64 ? Buffer.from(data!, 'base64') : Buffer.from(decodeURIComponent(data!), 'utf8');
    const name = `docs-img-${hashOf(content)}.${extension}`;
    files.set(name, content);
    return `url(/assets/${name})`;
  });
  return { css: out, files };
}

/** Swagger UI's files for assets/, named by content hash: the script, the stylesheet, and its images. */
export function apiReferenceAssets(): { script: string; style: string; files: Map<string, Buffer> } {
  const bundle = readFileSync(join(SWAGGER_DIR, 'swagger-ui-bundle.js'));
  const { css, files } = externalizeDataUrls(readFileSync(join(SWAGGER_DIR, 'swagger-ui.css'), 'utf8'));
  const script = `swagger-ui-bundle-${hashOf(bundle)}.js`;
  const style = `swagger-ui-${hashOf(css)}.css`;
  files.set(script, bundle);
  files.set(style, Buffer.from(css, 'utf8'));
  return { script, style, files };
}
