#!/usr/bin/env node
/**
 * The installed `keyward` command (the package's bin). It checks the Node
 * version against package.json's `engines` before loading anything: on an
 * older Node a dependency fails with an unrelated TypeError at import time,
 * which tells the user nothing. Keep this file free of imports that could
 * fail there.
 */
import { readFileSync } from 'node:fs';
import module from 'node:module';

// Compiled modules are cached between runs (in the OS temp folder), as npm does: a command starts in a fraction of the time.
module.enableCompileCache?.();

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { engines?: { node?: string } };
const floor = /^>=\s*(\d+)\.(\d+)(?:\.(\d+))?$/.exec(pkg.engines?.node ?? '');
const have = process.versions.node.split('.').map(Number);
if (floor) {
  const need = [Number(floor[1]), Number(floor[2]), Number(floor[3] ?? 0)];
  const i = need.findIndex((n, at) => have[at] !== n);
  if (i >= 0 && have[i]! < need[i]!) {
    process.stderr.write(`error: keyward needs Node.js ${pkg.engines!.node} (this is ${process.version} at ${process.execPath})\n`);
    process.exit(1);
  }
}
await import('./main.ts');
