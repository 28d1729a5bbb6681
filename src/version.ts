/**
 * keyward's version: package.json's, the one place it is set (the CLI's
 * --version, the service's /openapi.json, the image label, the chart and
 * the release manifest all follow it). package.json sits one level above
 * this module both in a checkout (src/) and in the installed package (dist/).
 */
import { readFileSync } from 'node:fs';

export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
