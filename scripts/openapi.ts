/**
 * Writes the key service's OpenAPI document (what /openapi.json serves) to a
 * file, or to stdout, for client generators; `--lint` then runs `redocly lint`
 * on it with the project's ruleset (redocly.yaml), as CI does.
 *
 *   npm run -s openapi > openapi.json
 *   npm run lint:openapi
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildOpenApiDocument } from '../src/server/openapi.ts';
import { VERSION } from '../src/version.ts';

const ROOT = join(import.meta.dirname, '..');
const text = `${JSON.stringify(buildOpenApiDocument(VERSION), null, 2)}\n`;

if (process.argv.includes('--lint')) {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-openapi-'));
  try {
    const file = join(dir, 'openapi.json');
    writeFileSync(file, text);
    execFileSync(join(ROOT, 'node_modules', '.bin', 'redocly'), ['lint', file, '--config', join(ROOT, 'redocly.yaml')], {
      stdio: 'inherit',
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    });
  } catch {
    process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
} else {
  process.stdout.write(text);
}
